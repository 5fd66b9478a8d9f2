"""CpuSlots: a cell that needs every CPU runs alone, and is not passed by later cells."""

from __future__ import annotations

import threading
import time

import pytest

from vts.suite.measure.cpus import CpuSlots


def test_a_request_for_every_slot_waits_for_the_cells_under_way() -> None:
    slots = CpuSlots(2)
    events: list[str] = []
    one_started = threading.Event()
    release_one = threading.Event()

    def one() -> None:
        with slots.held(1):
            events.append("one in")
            one_started.set()
            release_one.wait(5)
            events.append("one out")

    def whole() -> None:
        with slots.held(2):
            events.append("whole in")

    first = threading.Thread(target=one)
    first.start()
    assert one_started.wait(5)
    second = threading.Thread(target=whole)
    second.start()
    time.sleep(0.05)  # given the chance, it must still wait: one slot is taken
    assert events == ["one in"]
    release_one.set()
    first.join(5)
    second.join(5)
    assert events == ["one in", "one out", "whole in"]


def test_later_requests_for_one_slot_do_not_pass_a_waiting_request_for_two() -> None:
    slots = CpuSlots(2)
    order: list[str] = []
    holder = slots.held(1)
    holder.__enter__()  # one slot taken: the request for two must queue

    def take(name: str, count: int) -> None:
        with slots.held(count):
            order.append(name)

    whole = threading.Thread(target=take, args=("whole", 2))
    whole.start()
    time.sleep(0.05)
    late = threading.Thread(target=take, args=("late", 1))  # one slot is free, but it queues
    late.start()
    time.sleep(0.05)
    assert order == []
    holder.__exit__(None, None, None)
    whole.join(5)
    late.join(5)
    assert order == ["whole", "late"]


def test_a_request_is_capped_at_the_slots_there_are() -> None:
    slots = CpuSlots(1)
    with slots.held(2) as count:
        assert count == 1
    with pytest.raises(ValueError):
        CpuSlots(0)


def test_two_holders_widening_at_once_take_turns() -> None:
    slots = CpuSlots(2)
    inside: list[str] = []
    both_hold = threading.Barrier(2)

    def cell(name: str) -> None:
        with slots.held(1) as holding:
            both_hold.wait(5)  # each holds one slot: neither can have two without giving back
            with slots.widened(holding, 2) as count:
                inside.append(f"{name} {count} {slots.free}")
            inside.append(f"{name} back")

    threads = [threading.Thread(target=cell, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)  # no deadlock
    alone = sorted(entry for entry in inside if not entry.endswith("back"))
    assert alone == ["a 2 0", "b 2 0"]  # each had both slots, the other none
    assert slots.free == 2


def test_widening_to_no_more_than_held_changes_nothing() -> None:
    slots = CpuSlots(2)
    with slots.held(1) as holding, slots.widened(holding, 1) as count:
        assert (count, slots.free) == (1, 1)
