"""The first-change search (vts.suite.bisection): its answer and its bound, for every place
a step can be, with and without skipped commits."""

from __future__ import annotations

import math

import pytest

from vts.suite.bisection import Search, first_change


def commits(n: int) -> list[str]:
    return [f"c{i}" for i in range(n)]


@pytest.mark.parametrize("n", range(2, 40))
def test_every_step_is_found_within_the_bound(n: int) -> None:
    for step in range(1, n + 1):  # step == n: no change up to BAD
        asked: list[int] = []

        def changed(index: int, step: int = step, asked: list[int] = asked) -> bool:
            asked.append(index)
            return index >= step

        search = first_change(commits(n), changed)
        assert search.first_changed == (step if step < n else None)
        assert search.last_same == step - 1
        assert len(asked) + 1 <= math.ceil(math.log2(n)) + 1 == search.bound
        assert search.measured == asked and search.skipped == []


def test_the_bound_counts_good_and_bad() -> None:
    assert Search(commits(4)).bound == 3  # GOOD and three commits: GOOD, then two
    assert Search(commits(87)).bound == 8


def test_a_skipped_commit_is_stepped_around() -> None:
    # c2 does not build; the change is at c3
    search = first_change(commits(6), lambda i: None if i == 2 else i >= 3)
    assert (search.first_changed, search.last_same) == (3, 1)
    assert search.skipped == [2]
    assert search.undecided == [2]  # the change may be in c2: it could not be measured


def test_a_skipped_commit_outside_the_answer_is_not_undecided() -> None:
    search = first_change(commits(6), lambda i: None if i == 4 else i >= 2)
    assert (search.first_changed, search.last_same, search.undecided) == (2, 1, [])


def test_only_skipped_commits_left_before_bad() -> None:
    search = first_change(commits(5), lambda i: None if i in (2, 3, 4) else False)
    assert search.first_changed is None and search.last_same == 1
    assert search.undecided == [2, 3, 4]


def test_skipped_commits_are_not_counted_as_measurements() -> None:
    search = first_change(commits(9), lambda i: None if i % 2 else i >= 6)
    assert search.first_changed == 6
    assert search.undecided == [5]
    assert len(search.measured) + 1 <= search.bound
