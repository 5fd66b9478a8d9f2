"""vts.pool: a bounded pool, rent/give_back from several threads, double returns caught."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from vts.pool import DoubleReturnError, Pool


class Item:
    """A poolable object that notices when two threads hold it at once."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.in_pool = False
        self.held = threading.Lock()

    def __repr__(self) -> str:
        return f"<Item {self.number}>"


class Factory:
    def __init__(self) -> None:
        self.made: list[Item] = []

    def __call__(self) -> Item:
        item = Item(len(self.made))
        self.made.append(item)
        return item


@pytest.fixture
def fast_switching() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"^capacity must be >= 1$"):
        Pool(Factory(), capacity=0)


def test_rent_makes_an_item_only_when_the_pool_is_empty() -> None:
    factory = Factory()
    pool = Pool(factory, capacity=4)
    first = pool.rent()
    assert (pool.created, len(pool), first.in_pool) == (1, 0, False)
    pool.give_back(first)
    assert (len(pool), first.in_pool) == (1, True)
    assert pool.rent() is first  # reused, not made again
    assert pool.created == 1
    assert first.in_pool is False
    second = pool.rent()
    assert second is not first
    assert pool.created == 2


def test_the_pool_keeps_at_most_capacity_items_but_hands_out_any_number() -> None:
    pool = Pool(Factory(), capacity=4)
    burst = [pool.rent() for _ in range(10)]
    assert pool.created == 10
    for item in burst:
        pool.give_back(item)
    assert len(pool) == pool.capacity == 4
    kept = [pool.rent() for _ in range(4)]
    assert pool.created == 10  # the four kept ones came back
    assert len({id(item) for item in kept}) == 4
    pool.rent()
    assert pool.created == 11


def test_giving_an_item_back_twice_raises() -> None:
    pool = Pool(Factory(), capacity=4)
    item = pool.rent()
    pool.give_back(item)
    with pytest.raises(DoubleReturnError, match=r"^<Item 0> was given back to its pool twice$"):
        pool.give_back(item)
    assert len(pool) == 1
    assert pool.rent() is item
    assert len(pool) == 0


def test_an_item_rented_again_may_be_given_back_again() -> None:
    pool = Pool(Factory(), capacity=1)
    item = pool.rent()
    for _ in range(3):
        pool.give_back(item)
        assert pool.rent() is item
    assert pool.created == 1


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("fast_switching")
@pytest.mark.parametrize("capacity", [2, 16])
def test_rent_and_give_back_from_several_threads(capacity: int) -> None:
    threads_count, rounds = 8, 5000
    factory = Factory()
    pool = Pool(factory, capacity=capacity)
    barrier = threading.Barrier(threads_count)
    problems: list[str] = []
    sizes: list[int] = []

    def work() -> None:
        barrier.wait()
        for _ in range(rounds):
            item = pool.rent()
            if not item.held.acquire(blocking=False):
                problems.append(f"{item!r} rented by two threads at once")
                continue
            if item.in_pool:
                problems.append(f"{item!r} rented but still marked in_pool")
            sizes.append(len(pool))
            item.held.release()
            try:
                pool.give_back(item)
            except DoubleReturnError as error:
                problems.append(str(error))

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(50)
        assert not thread.is_alive()
    assert problems == []
    assert max(sizes) <= capacity
    assert len(pool) <= capacity
    # Each thread holds at most one item: with room for all of them nothing is dropped,
    # so no more than one item per thread is ever made.
    if capacity >= threads_count:
        assert pool.created <= threads_count
    assert len(factory.made) == pool.created
    assert all(item.in_pool for item in factory.made if not item.held.locked())
