"""Which allocations a scenario shows, in order (SPEC section 1, alternatives).

1. Option 1: best by the ranking, proven.
2. Where estimates are given and option 1 does not cover them, the best structure that does
   (shown even when only one option is asked for).
3. The trade-off between composites and spare places in the fullest class: each number of
   composites that buys more spare (under "Smallest classes": that fewer composites cost),
   one option each, as far as the alternatives allow.
4. Then the next-best structures by the ranking (those tied with option 1 on every measure
   are "equally good"), each structure shown once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from crunch_xl.model import Priority
from crunch_xl.planner.formulation import Estimates
from crunch_xl.planner.ranking import RANKINGS, Caps, Measure
from crunch_xl.planner.school import Allocation, Structure
from crunch_xl.planner.search import OutOfTime, Ranked, Search


class Why(Enum):
    """Why an allocation is shown."""

    BEST = "best"
    COVERING = "covers the estimates"
    TRADE_OFF = "trade-off"
    EQUALLY_GOOD = "equally good"
    NEXT_BEST = "next best"


@dataclass(frozen=True)
class Chosen:
    """An allocation to show, why, and whether the search proved it best for that purpose."""

    allocation: Allocation
    why: Why
    proven: bool


@dataclass
class Choice:
    """The allocations a scenario shows, and what the search could not finish."""

    chosen: list[Chosen]
    #: The time limit ran out before every alternative was found.
    cut_short: bool = False
    #: Whether some structure covers the estimates (None: none given).
    coverable: bool | None = None


class _Shown:
    """The options chosen so far, each structure at most once."""

    def __init__(self, search: Search, wanted: int) -> None:
        self.search = search
        self.wanted = wanted
        self.choice = Choice([])
        self.structures: set[Structure] = set()

    @property
    def full(self) -> bool:
        return len(self.choice.chosen) >= self.wanted

    def add(self, structure: Structure, caps: Caps, why: Why, proven: bool) -> None:
        """Show a structure, split at its best within the caps it was found under.

        The best structure covering the estimates is shown even when option 1 alone was
        asked for: it is what estimates are given for.
        """
        if structure in self.structures or (self.full and why is not Why.COVERING):
            return
        allocation = self.search.split(structure, caps)
        assert allocation is not None, "a structure found keeps its caps"
        self.structures.add(structure)
        self.choice.chosen.append(Chosen(allocation, why, proven))


def choose(search: Search, priority: Priority, wanted: int, estimates: Estimates | None) -> Choice:
    """Return the allocations to show (none: no allocation exists), at most `wanted`."""
    ranking = RANKINGS[priority]
    first = search.best(ranking)
    if first is None:
        return Choice([])
    shown = _Shown(search, wanted)
    shown.add(first.first, first.caps, Why.BEST, first.proven)
    if not first.proven:
        return shown.choice
    try:
        if estimates is not None:
            shown.choice.coverable = _covering(search, ranking, estimates, first, shown)
        _trade_off(search, priority, first, shown)
        _next_best(search, ranking, first, shown)
    except OutOfTime:
        shown.choice.cut_short = True
    return shown.choice


def _covering(
    search: Search,
    ranking: tuple[Measure, ...],
    estimates: Estimates,
    first: Ranked,
    shown: _Shown,
) -> bool:
    """Show the best structure covering the estimates; return whether there is one."""
    if search.covers(first.first, estimates):
        return True
    covering = search.best(ranking, cover=estimates)
    if covering is None:
        return False
    shown.add(covering.first, covering.caps, Why.COVERING, covering.proven)
    return True


def _trade_off(search: Search, priority: Priority, first: Ranked, shown: _Shown) -> None:
    """Show the trade-off options (see the module docstring)."""
    ranking = RANKINGS[priority]
    values = first.structures[0][1]
    if priority is Priority.SMALLEST_CLASSES:
        # Option 1 has the most spare; each step gives up some for fewer composites.
        composites = values[Measure.COMPOSITES]
        while composites > 0 and not shown.full:
            step = search.best(ranking, Caps(composites=composites - 1))
            if step is None or not step.proven:
                return
            shown.add(step.first, step.caps, Why.TRADE_OFF, True)
            composites = step.structures[0][1][Measure.COMPOSITES]
        return
    # Under "Fewest composites" option 1 is the first point of the trade-off; the most even
    # plan need not lie on it, so there it is walked from its start, showing at each point
    # the most even plan there.
    spare = values[Measure.SPARE] if priority is Priority.FEWEST_COMPOSITES else -1
    front = (Measure.COMPOSITES, Measure.SPARE)
    while not shown.full:
        if priority is Priority.FEWEST_COMPOSITES:
            point = search.best(ranking, Caps(spare=spare + 1))
        else:
            step = search.best(front, Caps(spare=spare + 1), complete=False)
            if step is None or not step.proven:
                return
            most = search.head(step.first, step.caps, Measure.SPARE)
            assert most is not None
            caps = Caps(composites=search.composites(step.first), spare=most)
            point = search.best(ranking, caps)
        if point is None or not point.proven:
            return
        shown.add(point.first, point.caps, Why.TRADE_OFF, True)
        spare = max(point.caps.spare or 0, point.structures[0][1][Measure.SPARE])


def _next_best(search: Search, ranking: tuple[Measure, ...], first: Ranked, shown: _Shown) -> None:
    """Show next-best options in ranking order until the alternatives are full.

    The structures listed with option 1 come first (they reach the same head values); once
    they are shown, the search asks again with every shown structure excluded.
    """
    best = first.structures[0][1]
    listed = first
    pending = list(first.structures[1:])
    while not shown.full:
        pending = [entry for entry in pending if entry[0] not in shown.structures]
        if not pending:
            if not listed.proven:
                raise OutOfTime
            after = search.best(ranking, exclude=frozenset(shown.structures))
            if after is None:
                return
            listed, pending = after, list(after.structures)
            continue
        structure, values = pending.pop(0)
        tied = all(values[m] == best[m] for m in ranking)
        why = Why.EQUALLY_GOOD if tied else Why.NEXT_BEST
        shown.add(structure, listed.caps, why, listed.proven)
