"""One direction of a channel's waiting calls (receives on empty, or sends on full) on one
strategy instance: waking the first live one, or all, and remembering whom it woke.

Rule: every method runs under the channel's lock (vts.channels.channel, Rule 1); the
strategy's own lock is taken inside, after it, never before.

Theory of operation. A waiting call registers through the strategy's `wait()` (the channel
calls it; the waiter it adds is the last in `strategy.waiters`, as `independent_waiters`
promises). A wake pops the first waiter that has not given up by itself (`gave_up`: a
cancelled Future, which `release_waiter` lets go) and hands it to the strategy's
`deliver` with no value: the woken call looks at the buffer itself. Nothing is ever
published, so the strategy's cache stays empty and every `wait()` waits.

The hand-over deque. `deliver` takes a deque of waiters. On the loop's thread one deque
(`_slot`) serves every wake, since every built-in `deliver` drains it before returning
there; a strategy that keeps it for later leaves it non-empty, and the line takes a new
one. Off the loop's thread a Future strategy drains it later, on the loop, so each wake
from another thread gets its own (2 allocations, beside the hop's own cost).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from vts.strategies.base import Strategy


class WaitingLine:
    """The waiting calls of one direction, in the order they came."""

    __slots__ = ("_gives_up", "_slot", "strategy", "woken")

    def __init__(self, strategy: Strategy[Any]) -> None:
        self.strategy = strategy
        # Whether a listed waiter can give up by itself (else no call to ask it).
        self._gives_up = type(strategy).gave_up is not Strategy.gave_up
        self._slot: deque[Any] = deque()
        # Waiters woken whose calls have not run since, in the order woken. A deque, not a
        # set: a set's table grows by where its keys' hashes (their addresses) fall, so
        # what it allocated moved with the memory layout; a deque's blocks follow its
        # appends and removals alone. Woken calls run mostly in the order woken, so the
        # one looked for is near the front.
        self.woken: deque[Any] = deque()

    def wake(self, everyone: bool, on_loop: bool) -> None:
        """Wake the first live waiter (or all of them); `on_loop`: the caller runs on the
        channel's loop, in its thread."""
        strategy = self.strategy
        slot = self._slot if on_loop and not everyone else deque()
        gives_up = self._gives_up
        strategy_lock = strategy.lock
        strategy_lock.acquire()  # after the channel's lock (Rule 1)
        try:
            waiters = strategy.waiters
            while waiters:
                waiter = waiters.popleft()
                if gives_up and strategy.gave_up(waiter):  # a cancelled Future
                    strategy.release_waiter(waiter)
                    continue
                slot.append(waiter)
                self.woken.append(waiter)
                if not everyone:
                    break
        finally:
            strategy_lock.release()
        if slot:
            strategy.deliver(slot, None, None)
            if slot and slot is self._slot:  # kept for later by the strategy
                self._slot = deque()

    def forget_wake(self, waiter: Any) -> bool:
        """Forget that `waiter` was woken (its call ran, or gave up); whether it was."""
        woken = self.woken
        if waiter not in woken:
            return False
        woken.remove(waiter)
        return True


__all__ = ["WaitingLine"]
