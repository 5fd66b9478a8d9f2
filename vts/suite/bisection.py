"""The first commit where an exact figure changed: a binary search with no statistics.

Rule 1: the figure at GOOD is the reference. A commit has *changed* when its figure
differs from GOOD's by more than the figure's resolution (allocations per op: counts are
exact, `vts.suite.schema.resolution`) or by more than the gate's threshold (instructions
per op, relative). So a commit is a yes or a no, and one measurement per commit is all a
search needs: no repeats, no confidence intervals (asv's `asv find` needs both for times).
Rule 2: it assumes one step between GOOD and BAD, as `git bisect` does. Where the figure
changes and changes back, it finds one of the changes, not necessarily the first.
Rule 3: a commit that cannot be measured (it does not build, or the cell does not exist
there) is skipped, as `git bisect skip` does: the search asks its nearest neighbour in the
same interval instead. Where only skipped commits are left between the last unchanged
commit and the first changed one, the answer is that set.

Bound: with N commits from GOOD to BAD (both counted), the outcomes are "commit i is the
first change" for each of the N - 1 after GOOD, or "no change": N outcomes, so halving
them takes ceil(log2 N) measurements, plus GOOD's own: at most ceil(log2 N) + 1, skipped
commits not counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Search:
    """A search's state and answer, as indices into `commits` (0 is GOOD)."""

    commits: Sequence[str]
    last_same: int = 0  # the last commit known to have GOOD's figure
    first_changed: int | None = None  # None: no changed commit found up to BAD
    skipped: list[int] = field(default_factory=list)  # in the order they were met
    measured: list[int] = field(default_factory=list)  # asked and answered, GOOD excluded

    @property
    def bound(self) -> int:
        """The most measurements this search may take, GOOD's included."""
        return math.ceil(math.log2(len(self.commits))) + 1

    @property
    def undecided(self) -> list[int]:
        """Skipped commits between the last unchanged commit and the first changed one (or
        BAD): the change may be in any of them."""
        end = len(self.commits) if self.first_changed is None else self.first_changed
        return sorted(i for i in self.skipped if self.last_same < i < end)


def first_change(commits: Sequence[str], changed: Callable[[int], bool | None]) -> Search:
    """Search `commits` (GOOD first, BAD last; GOOD's figure already taken) for the first
    whose figure changed. `changed(i)` measures commit i: True, False, or None to skip it."""
    search = Search(commits)
    end = len(commits)  # one past the last candidate; len(commits) stands for "no change"
    while True:
        open_ = [i for i in range(search.last_same + 1, end) if i not in search.skipped]
        if not open_:
            break
        middle = (search.last_same + end) // 2  # halves the outcomes left
        index = min(open_, key=lambda i: (abs(i - middle), i))
        answer = changed(index)
        if answer is None:
            search.skipped.append(index)
            continue
        search.measured.append(index)
        if answer:
            end = index
        else:
            search.last_same = index
    search.first_changed = end if end < len(commits) else None
    return search


__all__ = ["Search", "first_change"]
