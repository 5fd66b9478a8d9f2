"""What a Channel raises, and every message it raises with (the tests pin them)."""

from __future__ import annotations

SEND_CLOSED = "send on a completed channel"
RECEIVE_CLOSED = "the channel is completed and drained"
COMPLETED_TWICE = "the channel is already completed"
EMPTY = "no item is ready; await receive() to wait for one"
CAPACITY = "capacity must be an int >= 1, or None for an unbounded channel"
OTHER_LOOP = "this channel waits on another event loop; await it on that loop"
SECOND_READER = ("a second receive waits on a single_reader channel; make it with "
                 "single_reader=False to read from several tasks")
BLOCKING_ON_LOOP = "send_blocking() would block the channel's own loop; await send() there"
BLOCKING_NO_LOOP = ("send_blocking() needs the channel's loop: pass loop= to Channel, or "
                    "let a receive wait on it first")


def not_a_strategy(value: object) -> str:
    return f"strategy must be a name or a vts.Strategy subclass, not {value!r}"


def not_independent(name: str) -> str:
    return (f"strategy {name!r} cannot serve a channel: its waiting calls share a waiter "
            "(independent_waiters = False)")


def not_an_exception(value: object) -> str:
    return f"error must be an exception or None, not {value!r}"


class ChannelClosed(Exception):
    """A send on a completed channel, or a receive on a completed and drained one; its
    `__cause__` is the error the channel was completed with, if any."""


class ChannelEmpty(Exception):
    """`try_receive()` found no item ready (the channel is not completed)."""


__all__ = ["BLOCKING_NO_LOOP", "BLOCKING_ON_LOOP", "CAPACITY", "COMPLETED_TWICE", "EMPTY",
           "OTHER_LOOP", "RECEIVE_CLOSED", "SECOND_READER", "SEND_CLOSED", "ChannelClosed",
           "ChannelEmpty", "not_a_strategy", "not_an_exception", "not_independent"]
