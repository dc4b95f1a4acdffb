"""How allocations are compared: the measures, each priority's ranking, and caps on measures.

A ranking is lexicographic (SPEC section 1): allocations compare on its first measure, then
on the next where they tie. Within one structure the split of the children is chosen by the
*split order*: the ranking's size measures first (so a structure's best split gives it its
best rank), then the rebalancing of SPEC section 1 (more spare, then smaller spread).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Protocol

from crunch_xl.model import Priority


class Measured(Protocol):
    """Anything with the measures of an allocation (Measures, an Option)."""

    @property
    def composites(self) -> int: ...
    @property
    def spare(self) -> int: ...
    @property
    def largest(self) -> int: ...
    @property
    def smallest(self) -> int: ...
    @property
    def spread(self) -> int: ...
    @property
    def range(self) -> int: ...


class Measure(StrEnum):
    """One measure of an allocation; `better` says which way is better."""

    COMPOSITES = "composites"
    SPARE = "spare"
    SPREAD = "spread"
    LARGEST = "largest"
    SMALLEST = "smallest"
    RANGE = "range"

    @property
    def larger_is_better(self) -> bool:
        """Return whether a larger value of this measure is better (spare, smallest)."""
        return self in (Measure.SPARE, Measure.SMALLEST)

    def of(self, measures: Measured) -> int:
        """Return this measure's value in a set of measures."""
        return int(getattr(measures, self.value))

    def key(self, value: int) -> int:
        """Return the value as a sort key: smaller sorts first, which is better."""
        return -value if self.larger_is_better else value

    def better(self, value: int) -> int:
        """Return the next value better than this one."""
        return value + 1 if self.larger_is_better else value - 1

    def keeps(self, value: int, cap: int) -> bool:
        """Return whether a value of this measure keeps a cap on it (at least it, or at most)."""
        return value >= cap if self.larger_is_better else value <= cap


#: The measures of each priority's ranking, most important first.
RANKINGS: dict[Priority, tuple[Measure, ...]] = {
    Priority.FEWEST_COMPOSITES: (
        Measure.COMPOSITES,
        Measure.SPARE,
        Measure.SPREAD,
        Measure.LARGEST,
    ),
    Priority.SMALLEST_CLASSES: (
        Measure.SPARE,
        Measure.COMPOSITES,
        Measure.SPREAD,
        Measure.LARGEST,
    ),
    Priority.EVEN_CLASSES: (Measure.RANGE, Measure.COMPOSITES, Measure.SPREAD),
}

#: How a structure's children are split, per priority: the ranking's size measures in its
#: order, then the rebalancing (more spare, then smaller spread), then the largest class.
SPLIT_ORDERS: dict[Priority, tuple[Measure, ...]] = {
    Priority.FEWEST_COMPOSITES: (Measure.SPARE, Measure.SPREAD, Measure.LARGEST),
    Priority.SMALLEST_CLASSES: (Measure.SPARE, Measure.SPREAD, Measure.LARGEST),
    Priority.EVEN_CLASSES: (Measure.RANGE, Measure.SPREAD, Measure.SPARE, Measure.LARGEST),
}


def ranking_key(measures: Measured, priority: Priority) -> tuple[int, ...]:
    """Return the measures in the priority's ranking order as a sort key (smaller is better)."""
    return tuple(measure.key(measure.of(measures)) for measure in RANKINGS[priority])


@dataclass(frozen=True)
class Caps:
    """Limits on measures an allocation must keep; None is no limit.

    Upper limits for composites, largest, spread and range; lower ones for spare and smallest.
    """

    composites: int | None = None
    spare: int | None = None
    largest: int | None = None
    smallest: int | None = None
    spread: int | None = None
    range: int | None = None

    def get(self, measure: Measure) -> int | None:
        """Return the limit on a measure (None: none)."""
        return getattr(self, measure.value)  # type: ignore[no-any-return]

    def at(self, measure: Measure, value: int) -> Caps:
        """Return these caps with the measure limited to at least as good as value."""
        current = self.get(measure)
        if current is not None:
            value = max(value, current) if measure.larger_is_better else min(value, current)
        return replace(self, **{measure.value: value})

    def kept_by(self, measures: Measured) -> bool:
        """Return whether measures keep every limit."""
        for field in fields(self):
            measure = Measure(field.name)
            cap = self.get(measure)
            if cap is None:
                continue
            if not measure.keeps(measure.of(measures), cap):
                return False
        return True

    def at_least_as_tight(self, other: Caps) -> bool:
        """Return whether every allocation keeping these caps keeps the other's too."""
        for field in fields(self):
            measure = Measure(field.name)
            theirs = other.get(measure)
            if theirs is None:
                continue
            mine = self.get(measure)
            if mine is None or not measure.keeps(mine, theirs):
                return False
        return True
