"""Channels: a bounded or unbounded FIFO from producers on any thread to readers on one
event loop, whose waiting calls await a strategy (docs/channels.md).

`channel` is the Channel and its rules; `waiting` one direction's waiting calls on a
strategy instance; `errors` the exceptions and their messages.
"""

from __future__ import annotations

from vts.channels.channel import DEFAULT_STRATEGY, Channel
from vts.channels.errors import ChannelClosed, ChannelEmpty

__all__ = ["DEFAULT_STRATEGY", "Channel", "ChannelClosed", "ChannelEmpty"]
