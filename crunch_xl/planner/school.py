"""A scenario prepared for planning, and the allocations of its children to classes.

The planner counts classes: an allocation says how many classes of each kind run (its
*structure*) and how many children of each grade go into each kind. That is exact, because a
kind's children can always be dealt out evenly over its classes: each grade's children as
evenly as possible, remainders round-robin across grades, so class sizes are the floor or
the ceiling of the kind's total over its classes. Then

- every class keeps its kind's size limits exactly when the kind's total lies within
  [smallest · classes, largest · classes];
- each grade of a composite has at least the composite minimum in every class exactly when
  it has at least that many times the classes in the kind;
- no other split of the same totals has a smaller largest class or a larger smallest one, so
  every measure of SPEC section 1 follows from the totals alone.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from crunch_xl.model import Kind, Scenario, SchoolClass

#: A structure: how many classes of each kind run, as (kind, classes) pairs in reading order,
#: kinds with no class left out.
Structure = tuple[tuple[Kind, int], ...]


@dataclass(frozen=True)
class Measures:
    """The measures of an allocation (SPEC section 1)."""

    composites: int
    spare: int
    largest: int
    smallest: int
    spread: int

    @property
    def range(self) -> int:
        """Return the largest minus the smallest class size."""
        return self.largest - self.smallest


@dataclass(frozen=True)
class Allocation:
    """Classes per kind and children of each grade per kind (split evenly within a kind)."""

    structure: Structure
    children: Mapping[Kind, Mapping[str, int]]

    @property
    def classes(self) -> dict[Kind, int]:
        """Return the classes of each kind that runs."""
        return dict(self.structure)

    def total(self, kind: Kind) -> int:
        """Return the children of every grade in this kind's classes together."""
        return sum(self.children[kind].values())

    def sizes(self, kind: Kind) -> tuple[int, int]:
        """Return the (smallest, largest) class size of a kind under the even split."""
        classes = self.classes[kind]
        total = self.total(kind)
        return total // classes, -(-total // classes)


@dataclass(frozen=True)
class School:
    """A scenario prepared for planning: its kinds, their limits and the children to place."""

    scenario: Scenario
    #: Every kind allowed, in reading order (see reading_order).
    kinds: tuple[Kind, ...] = field(init=False)
    #: Whether a structure's classes can keep some class sizes, by structure and sizes
    #: (splits.fits): the same few questions come back many times in one search.
    fitted: dict[tuple[Structure, tuple[int | None, ...]], bool] = field(
        init=False, default_factory=dict, compare=False, repr=False
    )
    _parts: dict[Structure, list[Structure]] = field(
        init=False, default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(reading_order(self.scenario)))

    def components(self, structure: Structure) -> list[Structure]:
        """Return the structure's parts that share no grade (remembered)."""
        if structure not in self._parts:
            self._parts[structure] = list(components(structure))
        return self._parts[structure]

    @cached_property
    def labels(self) -> tuple[str, ...]:
        """Return the grade labels in teaching order."""
        return tuple(grade.label for grade in self.scenario.grades)

    @cached_property
    def children(self) -> dict[str, int]:
        """Return the children of each grade."""
        return {grade.label: grade.children for grade in self.scenario.grades}

    @cached_property
    def limits(self) -> dict[Kind, tuple[int, int]]:
        """Return each kind's (smallest, largest) class size (SPEC rules 2-3)."""
        return {kind: self.scenario.size_limits(kind) for kind in self.kinds}

    @property
    def minimum(self) -> int:
        """Return the fewest children of one grade a composite class must have."""
        return self.scenario.composite_minimum

    @cached_property
    def counts(self) -> dict[Kind, tuple[int, int]]:
        """Return the (fewest, most) classes of each kind any valid allocation can run.

        The most is the scenario's own, the teachers, and what the children allow: classes of
        at least the kind's smallest size (and, in a composite, at least the composite minimum
        from each grade) cannot outnumber what the children fill.
        """
        found = {}
        for kind in self.kinds:
            fewest, most = self.scenario.class_range(kind)
            smallest, largest = self.limits[kind]
            have = [self.children[label] for label in kind]
            least_size = max(smallest, self.minimum * len(kind) if len(kind) > 1 else 0, 1)
            most = min(most, sum(have) // least_size)
            if len(kind) > 1:
                most = min(most, min(have) // self.minimum)
            if smallest > largest or largest < 1 or self.minimum * (len(kind) > 1) > largest:
                most = 0
            found[kind] = (fewest, max(most, 0))
        return found

    @cached_property
    def usable(self) -> tuple[Kind, ...]:
        """Return the kinds some valid allocation could run a class of."""
        return tuple(kind for kind in self.kinds if self.counts[kind][1] > 0)

    @cached_property
    def halves(self) -> tuple[frozenset[str], frozenset[str]] | None:
        """Return the grades of the school's first parts and of the rest, where its grades
        fall into parts that no class spans (None: one part). The first parts are those, in
        reading order, that hold nearest half the children (parts.py)."""
        found = [
            frozenset(label for kind, _ in part for label in kind)
            for part in components(tuple((kind, 1) for kind in self.usable))
        ]
        if len(found) < 2:
            return None
        total = sum(self.children.values())
        before, best, cut = 0, total, 1
        for index, grades in enumerate(found[:-1], start=1):
            before += sum(self.children[label] for label in grades)
            if abs(total - 2 * before) < best:
                best, cut = abs(total - 2 * before), index
        return frozenset().union(*found[:cut]), frozenset().union(*found[cut:])

    @property
    def teachers(self) -> int:
        """Return the teachers (classes when every teacher is used, else at most)."""
        return self.scenario.teachers

    @property
    def every_teacher(self) -> bool:
        """Return whether every teacher must have a class."""
        return self.scenario.use_every_teacher

    def structure(self, classes: Mapping[Kind, int]) -> Structure:
        """Return the structure of these class counts, in reading order, no zeros."""
        return tuple((kind, classes[kind]) for kind in self.kinds if classes.get(kind, 0) > 0)

    def tie_key(self, structure: Structure) -> tuple[int, ...]:
        """Return the key that orders structures tied on every measure (smaller first).

        More classes of the kinds the sheet lists first: the younger grades get more, so
        smaller, classes (README, "When plans tie").
        """
        classes = dict(structure)
        return tuple(-classes.get(kind, 0) for kind in self.kinds)

    def measures(self, allocation: Allocation) -> Measures:
        """Return the measures of an allocation (SPEC section 1)."""
        sizes = {kind: allocation.sizes(kind) for kind, _ in allocation.structure}
        holding: dict[str, list[Kind]] = {}
        for kind in sizes:
            for label in kind:
                if allocation.children[kind].get(label, 0) > 0:
                    holding.setdefault(label, []).append(kind)
        spread = max(
            (
                max(sizes[k][1] for k in kinds) - min(sizes[k][0] for k in kinds)
                for kinds in holding.values()
            ),
            default=0,
        )
        return Measures(
            composites=sum(count for kind, count in allocation.structure if len(kind) > 1),
            spare=min(self.limits[kind][1] - high for kind, (_, high) in sizes.items()),
            largest=max(high for _, high in sizes.values()),
            smallest=min(low for low, _ in sizes.values()),
            spread=spread,
        )

    def obeys_rules(self, allocation: Allocation) -> bool:
        """Return whether an allocation obeys every rule of SPEC section 1."""
        placed = dict.fromkeys(self.labels, 0)
        classes = 0
        counts = allocation.classes
        for kind in self.kinds:
            count = counts.get(kind, 0)
            fewest, most = self.scenario.class_range(kind)
            if not fewest <= count <= most:
                return False
        for kind, count in allocation.structure:
            grades = allocation.children[kind]
            if set(grades) - set(kind) or any(number < 0 for number in grades.values()):
                return False
            for label, number in grades.items():
                placed[label] += number
            classes += count
            smallest, largest = self.limits[kind]
            low, high = allocation.sizes(kind)
            if low < smallest or high > largest:
                return False
            if len(kind) > 1 and min(grades.get(g, 0) for g in kind) < self.minimum * count:
                return False
        if set(allocation.children) - set(counts) or placed != self.children:
            return False
        return classes == self.teachers if self.every_teacher else 1 <= classes <= self.teachers

    def school_classes(self, allocation: Allocation) -> list[SchoolClass]:
        """Return the allocation's classes, each kind's children dealt out evenly.

        Named `K A`, `K B`, `K/1 A`, ... in reading order; remainders go round-robin across
        grades so that class sizes within a kind differ by at most one.
        """
        found: list[SchoolClass] = []
        for kind, count in allocation.structure:
            counts = [dict.fromkeys(kind, 0) for _ in range(count)]
            turn = 0
            for label in kind:
                base, extra = divmod(allocation.children[kind].get(label, 0), count)
                for grades in counts:
                    grades[label] += base
                for _ in range(extra):
                    counts[turn % count][label] += 1
                    turn += 1
            name = "/".join(kind)
            largest = self.limits[kind][1]
            found.extend(
                SchoolClass(f"{name} {letters(index)}", kind, grades, largest)
                for index, grades in enumerate(counts)
            )
        return found


def reading_order(scenario: Scenario) -> list[Kind]:
    """Return the scenario's kinds in the order the result sheet lists classes.

    By first grade in teaching order, a straight class before the composites starting at
    the same grade, shorter composites first: K, K/1, K/1/2, 1, 1/2, 2, ...
    """
    position = {grade.label: index for index, grade in enumerate(scenario.grades)}
    return sorted(scenario.kinds, key=lambda kind: [position[label] for label in kind])


def letters(index: int) -> str:
    """Return A, B, ..., Z, AA, AB, ... for 0, 1, 2, ..."""
    word = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        word = string.ascii_uppercase[rest] + word
    return word


def components(structure: Structure) -> Iterator[Structure]:
    """Yield the structure's parts that share no grade, each in reading order.

    Grades are linked when a composite of the structure holds both; parts are independent,
    so each is split on its own. Yielded in reading order of their first kind.
    """
    leader: dict[str, str] = {}

    def find(label: str) -> str:
        while leader.setdefault(label, label) != label:
            label = leader[label]
        return label

    for kind, _ in structure:
        first = find(kind[0])
        for label in kind[1:]:
            leader[find(label)] = first
    parts: dict[str, list[tuple[Kind, int]]] = {}
    for kind, count in structure:
        parts.setdefault(find(kind[0]), []).append((kind, count))
    for part in parts.values():
        yield tuple(part)
