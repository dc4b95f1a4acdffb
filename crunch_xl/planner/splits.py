"""A fixed structure's best split of the children: exact, and the same every time.

With the classes of each kind fixed, what is left to choose is how many children of each grade
go into each composite (a straight class takes the rest of its grade). The structure falls
apart into parts that share no grade; the measures of the whole are the worst of its parts'.
The split is chosen by a fixed rule, given the split order of the priority (ranking.py):

1. the order's measures for the whole structure, one after the other (the smallest spread is
   the smallest *given* the most spare, and so on);
2. then, part by part, the same measures for the part itself, so that a part which does not
   decide the whole still gets as much room as it can;
3. then the composites in reading order, each taking as few children of each of its grades
   (youngest first) as the rest allows.

The first measure (the most spare, or the smallest range) is settled with flows, which narrows
what is left; then each part is solved exactly by listing all its splits at once with numpy.
A part with too many splits to list goes to the solver instead (splits_by_solver.py), which
follows the same rule and gives the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crunch_xl.model import Kind
from crunch_xl.planner.flows import Transport
from crunch_xl.planner.formulation import boxes
from crunch_xl.planner.ranking import Caps, Measure
from crunch_xl.planner.school import Allocation, School, Structure
from crunch_xl.planner.splits_by_solver import Solve, best_split_by_solver

#: A part with more splits than this goes to the solver: numpy measures 50,000 splits in
#: about the time one small solve takes.
LISTED_SPLITS = 50_000

#: The values of the split order's measures for a whole structure (rule 1).
Values = dict[Measure, int]


# -- flows: what a structure can reach, spread aside ------------------------------------------


def fits(school: School, structure: Structure, caps: Caps) -> bool:
    """Return whether some split of the structure keeps the caps (spread and range aside)."""
    key = (structure, boxes_key(caps))
    known = school.fitted.get(key)
    if known is None:
        known = school.fitted[key] = _fits(school, structure, caps)
    return known


def boxes_key(caps: Caps) -> tuple[int | None, ...]:
    """Return what of the caps bounds class sizes (all that `fits` looks at)."""
    return caps.spare, caps.largest, caps.smallest


def _fits(school: School, structure: Structure, caps: Caps) -> bool:
    if not _covers_every_grade(school, structure):
        return False
    sizes = boxes(school, caps)
    for part in school.components(structure):
        if any(kind not in sizes for kind, _ in part):
            return False
        totals = _totals(part, sizes)
        supplies = {label: (count, count) for label, count in _children(school, part).items()}
        if Transport(part, school.minimum).split(supplies, totals) is None:
            return False
    return True


def most_spare(school: School, structure: Structure, caps: Caps) -> int | None:
    """Return the most spare places in the fullest class of any split within the caps
    (spread and range aside; None: no split keeps them)."""
    low = caps.spare if caps.spare is not None else 0
    if not fits(school, structure, caps.at(Measure.SPARE, low)):
        return None
    high = max(school.limits[kind][1] for kind, _ in structure)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(school, structure, caps.at(Measure.SPARE, middle)):
            low = middle
        else:
            high = middle - 1
    return low


def least_range(school: School, structure: Structure, caps: Caps) -> tuple[int, list[int]] | None:
    """Return the smallest range of any split within the caps (spread aside) and every
    smallest class size a window of that range can start at (None: no split keeps them).

    Every window holds the structure's average class size, which leaves few starts.
    """
    classes = sum(count for _, count in structure)
    total = sum(school.children.values())
    low = min(school.limits[kind][0] for kind, _ in structure)
    high = max(school.limits[kind][1] for kind, _ in structure)
    # A window holds the largest class, at least the least largest any split has, and the
    # smallest, at most the most smallest any split has: that bounds the range from below.
    least_largest = _extreme(school, structure, caps, Measure.LARGEST, low, high)
    most_smallest = _extreme(school, structure, caps, Measure.SMALLEST, low, high)
    if least_largest is None or most_smallest is None:
        return None
    for width in range(max(0, least_largest - most_smallest), high - low + 1):
        if caps.range is not None and width > caps.range:
            break
        first = max(low, -(-total // classes) - width)
        starts = [
            start
            for start in range(first, total // classes + 1)
            if fits(school, structure, _window(caps, start, width))
        ]
        if starts:
            return width, starts
    return None


# -- the rule -------------------------------------------------------------------------------


def whole_values(
    school: School, structure: Structure, caps: Caps, order: Sequence[Measure], solve: Solve
) -> Values | None:
    """Return the values rule 1 reaches for the whole structure (None: no split keeps the caps)."""
    found = _apply(school, structure, caps, order, solve, full=False)
    return None if found is None else found[0]


def best_split(
    school: School, structure: Structure, caps: Caps, order: Sequence[Measure], solve: Solve
) -> Allocation | None:
    """Return the structure's split by the whole rule (None: no split keeps the caps)."""
    found = _apply(school, structure, caps, order, solve, full=True)
    return None if found is None else found[1]


def _apply(
    school: School,
    structure: Structure,
    caps: Caps,
    order: Sequence[Measure],
    solve: Solve,
    *,
    full: bool,
) -> tuple[Values, Allocation | None] | None:
    """Return rule 1's values and, when full, the split of the whole rule."""
    if not fits(school, structure, caps):
        return None
    if order and order[0] is Measure.SPARE:
        spare = most_spare(school, structure, caps)
        if spare is None:
            return None
        caps = caps.at(Measure.SPARE, spare)
    elif order and order[0] is Measure.RANGE:
        reached = least_range(school, structure, caps)
        if reached is None:
            return None
        width, starts = reached
        caps = _window(caps, min(starts), max(starts) + width - min(starts))
        caps = caps.at(Measure.RANGE, width)
    parts = []
    for part in school.components(structure):
        listed = _list(school, part, caps)
        if listed is None:
            return best_split_by_solver(school, structure, caps, order, solve, full=full)
        if listed.empty:
            return None
        parts.append(listed)
    if order and order[0] is Measure.RANGE:
        return _over_windows(school, structure, parts, order, full)
    return _choose(structure, parts, order, full)


@dataclass
class _Part:
    """Every split of one part that keeps the caps, with its measures (numpy arrays)."""

    structure: Structure
    #: (kind, grade) of every composite's intake, in the order rule 3 compares them.
    intakes: list[tuple[Kind, str]]
    #: One row per split: what each composite takes of each of its grades.
    taken: np.ndarray
    #: One row per split: the total children of each kind.
    totals: np.ndarray
    measures: dict[Measure, np.ndarray]

    def keep(self, mask: np.ndarray) -> _Part:
        """Return the splits where mask is true."""
        kept = {measure: values[mask] for measure, values in self.measures.items()}
        return _Part(self.structure, self.intakes, self.taken[mask], self.totals[mask], kept)

    @property
    def empty(self) -> bool:
        """Return whether no split is left."""
        return len(self.totals) == 0

    def best(self, measure: Measure) -> int:
        """Return the part's best value of a measure."""
        values = self.measures[measure]
        return int(values.max() if measure.larger_is_better else values.min())

    def at_least(self, measure: Measure, value: int) -> _Part:
        """Return the splits at least as good as value on the measure."""
        values = self.measures[measure]
        return self.keep(values >= value if measure.larger_is_better else values <= value)


def _covers_every_grade(school: School, structure: Structure) -> bool:
    """Return whether every grade with children has some kind of the structure to go to."""
    held = {label for kind, _ in structure for label in kind}
    return all(label in held for label, count in school.children.items() if count > 0)


def _children(school: School, part: Structure) -> dict[str, int]:
    """Return the children of each grade of a part, in teaching order."""
    labels = {label for kind, _ in part for label in kind}
    return {label: school.children[label] for label in school.labels if label in labels}


def _totals(part: Structure, sizes: Mapping[Kind, tuple[int, int]]) -> dict[Kind, tuple[int, int]]:
    """Return each kind's (fewest, most) children in total: its class sizes times classes."""
    return {kind: (sizes[kind][0] * count, sizes[kind][1] * count) for kind, count in part}


def _extreme(
    school: School, structure: Structure, caps: Caps, measure: Measure, low: int, high: int
) -> int | None:
    """Return the best value of the largest or smallest class any split reaches (bisection)."""
    if not fits(school, structure, caps):
        return None
    while low < high:
        if measure.larger_is_better:
            middle = (low + high + 1) // 2
            if fits(school, structure, caps.at(measure, middle)):
                low = middle
            else:
                high = middle - 1
        else:
            middle = (low + high) // 2
            if fits(school, structure, caps.at(measure, middle)):
                high = middle
            else:
                low = middle + 1
    return low


def _window(caps: Caps, start: int, width: int) -> Caps:
    """Return the caps with every class within [start, start + width]."""
    return caps.at(Measure.SMALLEST, start).at(Measure.LARGEST, start + width)


def _nothing(part: Structure) -> _Part:
    return _Part(part, [], np.zeros((0, 0), dtype=np.int64), np.zeros((0, 0)), {})


def _list(school: School, part: Structure, caps: Caps) -> _Part | None:
    """Return every split of one part within the caps (None: too many to list)."""
    sizes = boxes(school, caps)
    counts = dict(part)
    children = _children(school, part)
    transport = Transport(part, school.minimum)
    reach = transport.intake_ranges(children, _totals(part, sizes))
    if reach is None:
        return _nothing(part)
    intakes = [(kind, label) for kind, _ in part if len(kind) > 1 for label in kind]
    straight = {kind[0] for kind, _ in part if len(kind) == 1}
    # A grade without a straight class of its own sends all its children to composites:
    # its last intake is what the others leave.
    settled = {}
    for label in children:
        if label not in straight:
            settled[[i for i in intakes if i[1] == label][-1]] = label
    free = [intake for intake in intakes if intake not in settled]
    ranges = [range(reach[intake][0], reach[intake][1] + 1) for intake in free]
    if math.prod(len(r) for r in ranges) > LISTED_SPLITS:
        return None
    if ranges:
        grid = np.array(np.meshgrid(*ranges, indexing="ij"), dtype=np.int64)
        grid = grid.reshape(len(ranges), -1)
    else:
        grid = np.zeros((0, 1), dtype=np.int64)
    points = grid.shape[1]
    column = {intake: grid[i] for i, intake in enumerate(free)}
    ok = np.ones(points, dtype=bool)
    for intake, label in settled.items():
        others = [column[i] for i in intakes if i[1] == label and i in column]
        taken = np.sum(others, axis=0, dtype=np.int64) if others else 0
        value = np.broadcast_to(np.asarray(children[label] - taken, dtype=np.int64), (points,))
        ok &= value >= school.minimum * counts[intake[0]]
        column[intake] = value
    totals = []
    for kind, count in part:
        if len(kind) == 1:
            used = [column[i] for i in intakes if i[1] == kind[0]]
            taken = np.sum(used, axis=0, dtype=np.int64) if used else 0
            total = np.broadcast_to(
                np.asarray(children[kind[0]] - taken, dtype=np.int64), (points,)
            )
        else:
            total = np.sum([column[kind, label] for label in kind], axis=0, dtype=np.int64)
        smallest, largest = sizes[kind]
        ok &= (total >= smallest * count) & (total <= largest * count)
        totals.append(total)
    if intakes:
        intake_table = np.stack([column[i] for i in intakes], axis=1)
    else:
        intake_table = np.zeros((points, 0), dtype=np.int64)
    stacked = np.stack(totals, axis=1)
    listed = _Part(part, intakes, intake_table[ok], stacked[ok], {})
    listed.measures = _measures(school, part, listed.totals)
    if caps.spread is not None:
        listed = listed.at_least(Measure.SPREAD, caps.spread)
    if caps.range is not None:
        listed = listed.at_least(Measure.RANGE, caps.range)
    return listed


def _measures(school: School, part: Structure, totals: np.ndarray) -> dict[Measure, np.ndarray]:
    """Return each split's measures of this part (one value per row of totals)."""
    counts = np.array([count for _, count in part], dtype=np.int64)
    low = totals // counts
    high = -(-totals // counts)
    limits = np.array([school.limits[kind][1] for kind, _ in part], dtype=np.int64)
    spread = np.zeros(len(totals), dtype=np.int64)
    for label in {label for kind, _ in part for label in kind}:
        columns = [i for i, (kind, _) in enumerate(part) if label in kind]
        spread = np.maximum(spread, high[:, columns].max(axis=1) - low[:, columns].min(axis=1))
    largest = high.max(axis=1)
    smallest = low.min(axis=1)
    return {
        Measure.SPARE: (limits - high).min(axis=1),
        Measure.LARGEST: largest,
        Measure.SMALLEST: smallest,
        Measure.SPREAD: spread,
        Measure.RANGE: largest - smallest,
    }


def _choose(
    structure: Structure, parts: list[_Part], order: Sequence[Measure], full: bool
) -> tuple[Values, Allocation | None]:
    """Return rule 1's values and, when full, the split of rules 2 and 3."""
    values: Values = {}
    for measure in order:
        if measure is Measure.RANGE:
            values[measure] = _whole_range(parts)
            continue
        best = [part.best(measure) for part in parts]
        values[measure] = min(best) if measure.larger_is_better else max(best)
        parts = [part.at_least(measure, values[measure]) for part in parts]
    if not full:
        return values, None
    children: dict[Kind, dict[str, int]] = {}
    for part in parts:
        for measure in order:
            if measure is not Measure.RANGE:
                part = part.at_least(measure, part.best(measure))
        row = _first(part.taken)
        taken = dict(zip(part.intakes, (int(v) for v in part.taken[row]), strict=True))
        for (kind, _), total in zip(part.structure, part.totals[row], strict=True):
            if len(kind) == 1:
                children[kind] = {kind[0]: int(total)}
            else:
                children[kind] = {label: taken[kind, label] for label in kind}
    return values, Allocation(structure, {kind: children[kind] for kind, _ in structure})


def _whole_range(parts: list[_Part]) -> int:
    """Return the range of the whole, for parts already within one window."""
    largest = max(int(part.measures[Measure.LARGEST].max()) for part in parts)
    smallest = min(int(part.measures[Measure.SMALLEST].min()) for part in parts)
    return largest - smallest


def _first(taken: np.ndarray) -> int:
    """Return the row that is lexicographically smallest (column 0 compared first)."""
    if taken.shape[1] == 0:
        return 0
    return int(np.lexsort(taken.T[::-1])[0])


def _over_windows(
    school: School, structure: Structure, parts: list[_Part], order: Sequence[Measure], full: bool
) -> tuple[Values, Allocation | None] | None:
    """Return the rule's result when the range comes first.

    The range couples the parts: every class must lie within one window of sizes [a, a + r].
    For each start a, each part keeps its splits within the window with the smallest r that
    every part can reach; the rest of the rule runs per window, and the best result is kept
    (by the order's measures, then, across windows, the lower window).
    """
    starts = sorted({int(v) for part in parts for v in part.measures[Measure.SMALLEST]})
    reach = {}
    for start in starts:
        tops = []
        for part in parts:
            inside = part.measures[Measure.LARGEST][part.measures[Measure.SMALLEST] >= start]
            if not len(inside):
                break
            tops.append(int(inside.min()))
        else:
            reach[start] = max(tops) - start
    if not reach:
        return None
    width = min(reach.values())
    results = []
    for start in sorted(s for s, r in reach.items() if r == width):
        window = [
            part.keep(
                (part.measures[Measure.SMALLEST] >= start)
                & (part.measures[Measure.LARGEST] <= start + width)
            )
            for part in parts
        ]
        values, allocation = _choose(structure, window, order, full)
        values[Measure.RANGE] = width
        key = tuple(m.key(values[m]) for m in order)
        results.append((key, start, values, allocation))
    _, _, values, allocation = min(results, key=lambda r: (r[0], r[1]))
    return values, allocation
