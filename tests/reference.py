"""An independent brute-force planner for tiny scenarios, written from SPEC section 1 alone.

It shares nothing with the planner but the input and output dataclasses: it enumerates every
allocation of every child to a class, class by class, and measures each one. Classes of one
kind are interchangeable, so within a kind the classes are enumerated in one canonical order
(their children per grade never increasing), which skips mere renumberings and nothing else.
Speed only matters for tiny scenarios (a few grades, about 30 children, at most 4 teachers).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from crunch_xl.model import Kind, Priority, Scenario, SchoolClass

#: A structure: how many classes of each kind run, as sorted (kind, classes) pairs, no zeros.
Structure = tuple[tuple[Kind, int], ...]
#: One class as the brute force sees it: its kind and the children of each of its grades.
Placed = tuple[Kind, tuple[int, ...]]


@dataclass(frozen=True, order=True)
class Measures:
    """The measures of one allocation (SPEC section 1)."""

    composites: int
    spare: int
    largest: int
    smallest: int
    spread: int

    @property
    def range(self) -> int:
        """Return largest minus smallest class size."""
        return self.largest - self.smallest


def ranking_key(measures: Measures, priority: Priority) -> tuple[int, ...]:
    """Return the measures in the order the priority ranks them (smaller is better)."""
    if priority is Priority.FEWEST_COMPOSITES:
        return measures.composites, -measures.spare, measures.spread, measures.largest
    if priority is Priority.SMALLEST_CLASSES:
        return -measures.spare, measures.composites, measures.spread, measures.largest
    return measures.range, measures.composites, measures.spread


def kinds(scenario: Scenario) -> list[Kind]:
    """Return every allowed class kind: each grade's straight class, then each composite."""
    return [(g.label,) for g in scenario.grades] + [c.grades for c in scenario.composites]


def size_limits(scenario: Scenario, kind: Kind) -> tuple[int, int]:
    """Return (smallest, largest) class size of a kind, deriving blank composite limits."""
    grades = {g.label: g for g in scenario.grades}
    if len(kind) == 1:
        return grades[kind[0]].smallest, grades[kind[0]].largest
    (composite,) = [c for c in scenario.composites if c.grades == kind]
    smallest = composite.smallest
    largest = composite.largest
    if smallest is None:
        smallest = max(grades[label].smallest for label in kind)
    if largest is None:
        largest = min(grades[label].largest for label in kind)
    return smallest, largest


def count_limits(scenario: Scenario, kind: Kind) -> tuple[int, int | None]:
    """Return (fewest, most) classes of a kind the scenario asks for (most None: no limit)."""
    if len(kind) == 1:
        (grade,) = [g for g in scenario.grades if g.label == kind[0]]
        return grade.fewest_classes or 0, grade.most_classes
    (composite,) = [c for c in scenario.composites if c.grades == kind]
    return composite.fewest_classes or 0, composite.most_classes


def measures_of(scenario: Scenario, classes: Iterable[Placed]) -> Measures:
    """Return the measures of an allocation given as (kind, children per grade) classes."""
    classes = list(classes)
    sizes = [sum(counts) for _, counts in classes]
    limits = [size_limits(scenario, kind)[1] for kind, _ in classes]
    holding: dict[str, list[int]] = {}
    for (kind, counts), size in zip(classes, sizes, strict=True):
        for label, count in zip(kind, counts, strict=True):
            if count > 0:
                holding.setdefault(label, []).append(size)
    return Measures(
        composites=sum(1 for kind, _ in classes if len(kind) > 1),
        spare=min(limit - size for limit, size in zip(limits, sizes, strict=True)),
        largest=max(sizes),
        smallest=min(sizes),
        spread=max((max(s) - min(s) for s in holding.values()), default=0),
    )


def placed(classes: Iterable[SchoolClass]) -> list[Placed]:
    """Return a planner option's classes as (kind, children per grade of the kind)."""
    return [(c.kind, tuple(c.counts.get(label, 0) for label in c.kind)) for c in classes]


def structure_of(classes: Iterable[Placed]) -> Structure:
    """Return the structure of an allocation."""
    return tuple(sorted(Counter(kind for kind, _ in classes).items()))


def broken_rules(scenario: Scenario, classes: Sequence[SchoolClass]) -> list[str]:
    """Return every SPEC rule the classes break, in words (empty: a valid allocation)."""
    broken: list[str] = []
    allowed = set(kinds(scenario))
    children = {g.label: 0 for g in scenario.grades}
    for school_class in classes:
        kind, counts = school_class.kind, school_class.counts
        if kind not in allowed:
            broken.append(f"{school_class.name}: kind {'/'.join(kind)} is not allowed")
            continue
        if set(counts) - set(kind):
            broken.append(f"{school_class.name}: children of grades outside its kind {counts}")
        if any(count < 0 for count in counts.values()):
            broken.append(f"{school_class.name}: a negative count {counts}")
        for label, count in counts.items():
            children[label] = children.get(label, 0) + count
        size = sum(counts.values())
        smallest, largest = size_limits(scenario, kind)
        if not smallest <= size <= largest:  # rules 2 and 3
            broken.append(f"{school_class.name}: {size} children, not within {smallest}-{largest}")
        if len(kind) > 1:  # rule 4
            for label in kind:
                if counts.get(label, 0) < scenario.composite_minimum:
                    broken.append(
                        f"{school_class.name}: {counts.get(label, 0)} of grade {label}, "
                        f"below the composite minimum {scenario.composite_minimum}"
                    )
    for grade in scenario.grades:  # rule 1
        if children.get(grade.label) != grade.children:
            broken.append(
                f"grade {grade.label}: {children.get(grade.label)} placed of {grade.children}"
            )
    total = len(classes)  # rule 5
    if scenario.use_every_teacher and total != scenario.teachers:
        broken.append(f"{total} classes for {scenario.teachers} teachers (all must be used)")
    if not 1 <= total <= scenario.teachers:
        broken.append(f"{total} classes for {scenario.teachers} teachers")
    running = Counter(c.kind for c in classes)
    for kind in kinds(scenario):  # rule 6
        fewest, most = count_limits(scenario, kind)
        if running[kind] < fewest or (most is not None and running[kind] > most):
            broken.append(f"{running[kind]} classes of {'/'.join(kind)}, not {fewest}-{most}")
    return broken


def structures(scenario: Scenario) -> Iterator[dict[Kind, int]]:
    """Yield every number of classes per kind that rules 5 and 6 allow."""
    all_kinds = kinds(scenario)
    teachers = scenario.teachers

    def extend(index: int, chosen: dict[Kind, int], used: int) -> Iterator[dict[Kind, int]]:
        if index == len(all_kinds):
            if used >= 1 and (used == teachers or not scenario.use_every_teacher):
                yield dict(chosen)
            return
        kind = all_kinds[index]
        fewest, most = count_limits(scenario, kind)
        top = teachers - used if most is None else min(most, teachers - used)
        for count in range(fewest, top + 1):
            chosen[kind] = count
            yield from extend(index + 1, chosen, used + count)
        chosen.pop(kind, None)

    yield from extend(0, {}, 0)


def allocations(scenario: Scenario, counts: dict[Kind, int]) -> Iterator[list[Placed]]:
    """Yield every allocation with these classes per kind (each once, up to renumbering)."""
    slots = [kind for kind, count in counts.items() for _ in range(count)]
    children = {g.label: g.children for g in scenario.grades}
    minimum = scenario.composite_minimum
    limits = {kind: size_limits(scenario, kind) for kind in counts}
    # need[i][g], room[i][g]: fewest and most children of g that slots i, i+1, ... can take.
    # They only prune branches that cannot end with every child placed.
    need = [dict.fromkeys(children, 0) for _ in range(len(slots) + 1)]
    room = [dict.fromkeys(children, 0) for _ in range(len(slots) + 1)]
    for i in range(len(slots) - 1, -1, -1):
        need[i] = dict(need[i + 1])
        room[i] = dict(room[i + 1])
        smallest, largest = limits[slots[i]]
        for label in slots[i]:
            if len(slots[i]) == 1:
                need[i][label] += smallest
                room[i][label] += largest
            else:
                need[i][label] += minimum
                room[i][label] += max(largest - minimum * (len(slots[i]) - 1), 0)

    def extend(
        i: int, left: dict[str, int], chosen: list[Placed], previous: tuple[int, ...] | None
    ) -> Iterator[list[Placed]]:
        if any(not need[i][g] <= left[g] <= room[i][g] for g in left):
            return
        if i == len(slots):
            yield list(chosen)
            return
        kind = slots[i]
        smallest, largest = limits[kind]
        low = minimum if len(kind) > 1 else 0
        ranges = [range(low, left[label] + 1) for label in kind]
        for class_counts in itertools.product(*ranges):
            if not smallest <= sum(class_counts) <= largest:
                continue
            # Canonical order within a kind: classes never increase (lexicographically).
            same_kind = i > 0 and slots[i - 1] == kind
            if same_kind and previous is not None and class_counts > previous:
                continue
            for label, count in zip(kind, class_counts, strict=True):
                left[label] -= count
            chosen.append((kind, class_counts))
            yield from extend(i + 1, left, chosen, class_counts)
            chosen.pop()
            for label, count in zip(kind, class_counts, strict=True):
                left[label] += count

    yield from extend(0, dict(children), [], None)


#: What some classes contribute to the measures: their largest and smallest size, the fewest
#: places left in any of them and, for each grade in scenario order, the largest and smallest
#: of them holding it (None: none does).
_Summary = tuple[int, int, int, tuple[tuple[int, int] | None, ...]]


def reachable(scenario: Scenario, counts: dict[Kind, int]) -> set[Measures]:
    """Return the measures of every allocation with these classes per kind.

    The same search as allocations(), without the canonical order, remembering what the
    classes from each slot on can contribute given the children still to place: that depends
    on nothing else, so the answer is the same set, found far faster.
    """
    slots = [kind for kind, count in counts.items() for _ in range(count)]
    labels = [g.label for g in scenario.grades]
    position = {label: i for i, label in enumerate(labels)}
    minimum = scenario.composite_minimum
    limits = {kind: size_limits(scenario, kind) for kind in counts}
    # need[i][g], room[i][g]: fewest and most children of g that slots i, i+1, ... can take.
    need = [[0] * len(labels) for _ in range(len(slots) + 1)]
    room = [[0] * len(labels) for _ in range(len(slots) + 1)]
    for i in range(len(slots) - 1, -1, -1):
        need[i] = list(need[i + 1])
        room[i] = list(room[i + 1])
        smallest, largest = limits[slots[i]]
        for label in slots[i]:
            g = position[label]
            if len(slots[i]) == 1:
                need[i][g] += smallest
                room[i][g] += largest
            else:
                need[i][g] += minimum
                room[i][g] += max(largest - minimum * (len(slots[i]) - 1), 0)
    memo: dict[tuple[int, tuple[int, ...]], frozenset[_Summary]] = {}

    def rest(i: int, left: tuple[int, ...]) -> frozenset[_Summary]:
        """Return what slots i, i+1, ... can contribute while placing exactly `left`."""
        if i == len(slots):
            empty = (0, 10**9, 10**9, (None,) * len(labels))
            return frozenset({empty}) if not any(left) else frozenset()
        if (i, left) in memo:
            return memo[i, left]
        kind = slots[i]
        where = [position[label] for label in kind]
        smallest, largest = limits[kind]
        low = minimum if len(kind) > 1 else 0
        # What this class leaves of a grade must still fit the later slots (need, room).
        ranges = [
            range(max(low, left[g] - room[i + 1][g]), left[g] - need[i + 1][g] + 1) for g in where
        ]
        found: set[_Summary] = set()
        for class_counts in itertools.product(*ranges):
            size = sum(class_counts)
            if not smallest <= size <= largest:
                continue
            after = list(left)
            for g, count in zip(where, class_counts, strict=True):
                after[g] -= count
            for big, small, spare, grades in rest(i + 1, tuple(after)):
                merged = list(grades)
                for g, count in zip(where, class_counts, strict=True):
                    if count > 0:
                        old = merged[g]
                        merged[g] = (
                            (size, size) if old is None else (max(old[0], size), min(old[1], size))
                        )
                found.add(
                    (max(big, size), min(small, size), min(spare, largest - size), tuple(merged))
                )
        memo[i, left] = frozenset(found)
        return memo[i, left]

    if not slots:
        return set()
    composites = sum(count for kind, count in counts.items() if len(kind) > 1)
    children = tuple(g.children for g in scenario.grades)
    return {
        Measures(
            composites,
            spare,
            big,
            small,
            max((most - least for most, least in filter(None, grades)), default=0),
        )
        for big, small, spare, grades in rest(0, children)
    }


@dataclass(frozen=True)
class Reference:
    """Everything the brute force found: the measures reachable with each structure."""

    outcomes: dict[Structure, frozenset[Measures]]

    @property
    def feasible(self) -> bool:
        """Return whether any allocation obeys every rule."""
        return bool(self.outcomes)

    @property
    def structures(self) -> set[Structure]:
        """Return every structure some valid allocation has."""
        return set(self.outcomes)

    @property
    def all_measures(self) -> set[Measures]:
        """Return the measures of every valid allocation."""
        return {m for found in self.outcomes.values() for m in found}

    def best_key(self, priority: Priority, structure: Structure | None = None) -> tuple[int, ...]:
        """Return the best ranking key of any allocation (of one structure, if given)."""
        found = self.all_measures if structure is None else self.outcomes[structure]
        return min(ranking_key(m, priority) for m in found)

    def best_balance(self, structure: Structure) -> tuple[int, int]:
        """Return the best (spare, spread) of the structure's allocations: the most spare,
        then the smallest spread (as (-spare, spread), smaller first)."""
        return min((-m.spare, m.spread) for m in self.outcomes[structure])

    def frontier(self) -> list[tuple[int, int]]:
        """Return the (composites, spare) pairs no allocation beats on both, by composites."""
        pairs = {(m.composites, m.spare) for m in self.all_measures}
        return sorted(
            (c, spare)
            for c, spare in pairs
            if not any((c2 <= c and s2 >= spare) and (c2, s2) != (c, spare) for c2, s2 in pairs)
        )


def brute_force(scenario: Scenario) -> Reference:
    """Return the measures of every valid allocation of a tiny scenario, by structure."""
    outcomes: dict[Structure, frozenset[Measures]] = {}
    for counts in structures(scenario):
        found = reachable(scenario, counts)
        if found:
            structure = tuple(sorted((kind, n) for kind, n in counts.items() if n > 0))
            outcomes[structure] = frozenset(found)
    return Reference(outcomes)


def brute_force_slowly(scenario: Scenario) -> Reference:
    """Return what brute_force() returns, measuring every allocation one by one."""
    outcomes: dict[Structure, set[Measures]] = {}
    for counts in structures(scenario):
        for allocation in allocations(scenario, counts):
            measures = measures_of(scenario, allocation)
            outcomes.setdefault(structure_of(allocation), set()).add(measures)
    return Reference({s: frozenset(found) for s, found in outcomes.items()})


def splits(totals: Sequence[int], classes: int) -> Iterator[tuple[tuple[int, ...], ...]]:
    """Yield every way to deal children (totals per grade) into interchangeable classes.

    No limits apply: each class gets any number, zero included, of each grade.
    """

    def deal(left: tuple[int, ...], count: int, previous: tuple[int, ...] | None) -> Iterator:
        if count == 1:
            if previous is None or left <= previous:
                yield (left,)
            return
        for first in itertools.product(*(range(t + 1) for t in left)):
            if previous is not None and first > previous:
                continue
            rest = tuple(t - f for t, f in zip(left, first, strict=True))
            for tail in deal(rest, count - 1, first):
                yield (first, *tail)

    yield from deal(tuple(totals), classes, None)


# -- a fixed structure's room, and estimates --------------------------------------------------


def holds(scenario: Scenario, counts: dict[Kind, int]) -> bool:
    """Return whether some allocation with these classes per kind obeys every rule."""
    return next(allocations(scenario, counts), None) is not None


def with_children(scenario: Scenario, children: dict[str, int]) -> Scenario:
    """Return the scenario with some grades' children changed (estimates dropped)."""
    grades = tuple(
        replace(
            g,
            children=children.get(g.label, g.children),
            low_estimate=None,
            high_estimate=None,
        )
        for g in scenario.grades
    )
    return replace(scenario, grades=grades)


def room(scenario: Scenario, counts: dict[Kind, int], label: str) -> tuple[int, int]:
    """Return how many fewer and how many more children of one grade these classes hold,
    every other grade as it is: each number tried in turn until one is not held."""
    children = scenario.grade(label).children
    fewer = 0
    while children - fewer > 0 and holds(
        with_children(scenario, {label: children - fewer - 1}), counts
    ):
        fewer += 1
    more = 0
    while holds(with_children(scenario, {label: children + more + 1}), counts):
        more += 1
    return fewer, more


def covers(scenario: Scenario, counts: dict[Kind, int]) -> bool:
    """Return whether these classes hold every combination of enrolments within the
    estimates, each combination tried."""
    labels = [g.label for g in scenario.grades]
    ranges = [range(g.estimates[0], g.estimates[1] + 1) for g in scenario.grades]
    return all(
        holds(with_children(scenario, dict(zip(labels, combination, strict=True))), counts)
        for combination in itertools.product(*ranges)
    )
