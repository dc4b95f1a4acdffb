"""Allocations one class move away from known ones, split by a max-flow: no solver needed.

On the hardest schools (K-12 at the fewest teachers) CBC can take seconds to *find* an
allocation (its bound then proves the answer at once), while the planner's questions often
have answers next to an allocation it already knows: "every class at most 31" next to a plan
whose one kind has classes of 32, "a structure not yet shown" next to the option before. Half
the allocations CBC found in the benchmark suite were one class move away from a known one.

For a fixed structure (classes per kind), whether the children can be split is a flow problem
with lower bounds: each grade sends all its children; a kind with n classes takes between n
times its smallest and n times its largest size; each grade of a composite sends it at least n
times the composite minimum. A max-flow settles that exactly and in whole children. The
search runs while CBC works on the same question (see cbc.solve) and whichever answers first
wins; an allocation it finds is checked against every rule before it is used.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy

from crunch_xl.model import Kind, Scenario, composites_of, structure_of

Classes = Mapping[Kind, int]
Children = dict[Kind, dict[str, int]]
Known = tuple[Classes, Mapping[Kind, Mapping[str, int]]]


class _Network:
    """A small flow network for Dinic's algorithm; each arc is [head, capacity left, reverse]."""

    def __init__(self, nodes: int) -> None:
        self.arcs: list[list[list[int]]] = [[] for _ in range(nodes)]

    def add(self, tail: int, head: int, capacity: int) -> tuple[int, int]:
        """Add an arc; return where it is kept, to read its flow afterwards."""
        self.arcs[tail].append([head, capacity, len(self.arcs[head])])
        self.arcs[head].append([tail, 0, len(self.arcs[tail]) - 1])
        return tail, len(self.arcs[tail]) - 1

    def flow(self, tail: int, index: int) -> int:
        """Return the flow on an arc (what its reverse arc can send back)."""
        head, _, back = self.arcs[tail][index]
        return self.arcs[head][back][1]

    def max_flow(self, source: int, sink: int) -> int:
        """Return the most flow from source to sink, leaving it on the arcs."""
        total = 0
        while True:
            level = [-1] * len(self.arcs)
            level[source] = 0
            queue = deque([source])
            while queue:
                node = queue.popleft()
                for head, left, _ in self.arcs[node]:
                    if left > 0 and level[head] < 0:
                        level[head] = level[node] + 1
                        queue.append(head)
            if level[sink] < 0:
                return total
            tried = [0] * len(self.arcs)
            while pushed := self._push(source, sink, 1 << 60, level, tried):
                total += pushed

    def _push(self, node: int, sink: int, amount: int, level: list[int], tried: list[int]) -> int:
        if node == sink:
            return amount
        arcs = self.arcs[node]
        while tried[node] < len(arcs):
            arc = arcs[tried[node]]
            head, left, back = arc
            if left > 0 and level[head] == level[node] + 1:
                pushed = self._push(head, sink, min(amount, left), level, tried)
                if pushed:
                    arc[1] -= pushed
                    self.arcs[head][back][1] += pushed
                    return pushed
            tried[node] += 1
        return 0


#: Whether split first checks that every run of grades can fit (see _Runs).
CHECK_RUNS = True
#: Schools of up to this many grades have every run checked (435 runs at 29 grades) ...
_ALL_RUNS_UP_TO = 29
#: ... larger ones every run of up to this many grades, and the whole school.
_LONGEST_RUN = 8


class _Runs:
    """Hall's condition on every run of consecutive grades, a quick test before the flow.

    A run's children go to the kinds holding one of its grades, each taking at most its
    largest size per class less the composite minimum of each grade outside the run; and the
    kinds within the run take at least their smallest size per class from it, the kinds
    partly in it at least the composite minimum of each grade in it. Both are linear in the
    class counts, so each is one matrix (runs by kinds) per pair of caps, and a structure is
    checked by two products. Necessary conditions only (the max-flow decides), but they
    turned down every structure the flow did in the benchmark's K-12 searches, at a tenth of
    its cost and less. Any runs give necessary conditions, so a school of very many grades
    has only its shorter runs checked, and the whole school, to keep the matrices small.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.kinds = list(scenario.kinds)
        grades = len(scenario.grades)
        longest = grades if grades <= _ALL_RUNS_UP_TO else _LONGEST_RUN
        #: Each run as (first grade, last grade + 1), and then the whole school.
        runs = [
            (first, last)
            for first in range(grades)
            for last in range(first + 1, min(first + longest, grades) + 1)
        ]
        if longest < grades:
            runs.append((0, grades))
        index = {g.label: i for i, g in enumerate(scenario.grades)}
        holds = numpy.zeros((grades + 1, len(self.kinds)), dtype=numpy.int64)
        for column, kind in enumerate(self.kinds):
            for label in kind:
                holds[index[label] + 1, column] = 1
        before = holds.cumsum(axis=0)  # grades of each kind before each grade
        children = numpy.array([0, *(g.children for g in scenario.grades)]).cumsum()
        firsts = numpy.array([first for first, _ in runs], dtype=numpy.int64)
        lasts = numpy.array([last for _, last in runs], dtype=numpy.int64)
        #: Each run's children, and how many of each kind's grades are inside it and outside.
        self.children = children[lasts] - children[firsts]
        self.inside = before[lasts] - before[firsts]
        self.outside = numpy.array([len(kind) for kind in self.kinds]) - self.inside
        limits = [scenario.size_limits(kind) for kind in self.kinds]
        #: Each kind's own smallest and largest class, before any caps.
        self.low = numpy.array([low for low, _ in limits])
        self.high = numpy.array([high for _, high in limits])
        self._by_caps: dict[tuple[int | None, int | None], tuple[Any, Any, Any]] = {}

    def may_fit(self, classes: Classes, largest: int | None, smallest: int | None) -> bool:
        """Return False where some run of grades cannot fit in these classes."""
        room, need, broken = self._matrices(largest, smallest)
        counts = numpy.array([classes.get(kind, 0) for kind in self.kinds])
        if (counts[broken] > 0).any():
            return False
        return bool(
            (room @ counts >= self.children).all() and (need @ counts <= self.children).all()
        )

    def _matrices(self, largest: int | None, smallest: int | None) -> tuple[Any, Any, Any]:
        """Return room and need per class (runs by kinds), and the kinds no class can be of."""
        key = (largest, smallest)
        if key not in self._by_caps:
            low, high = self.low, self.high
            if smallest is not None:
                low = numpy.maximum(low, smallest)
            if largest is not None:
                high = numpy.minimum(high, largest)
            minimum = self.scenario.composite_minimum
            inside, outside = self.inside, self.outside
            touched = inside > 0
            room = numpy.where(touched, high - minimum * outside, 0)
            # A composite partly inside: its minimum from each grade in the run; a kind wholly
            # inside: its smallest classes, and a composite's minimum from each grade.
            within = numpy.maximum(low, numpy.where(inside > 1, minimum * inside, 0))
            need = numpy.where(touched, numpy.where(outside > 0, minimum * inside, within), 0)
            self._by_caps[key] = (room, need, low > high)
        return self._by_caps[key]


class Neighbourhood:
    """Splits a school's children over given structures, and searches next to known ones."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.labels = [g.label for g in scenario.grades]
        self.children = {g.label: g.children for g in scenario.grades}
        self.kinds = scenario.kinds
        self.limits = {k: scenario.size_limits(k) for k in self.kinds}
        self.counts = {k: scenario.class_range(k) for k in self.kinds}
        self.runs = _Runs(scenario)

    def split(
        self, classes: Classes, largest: int | None = None, smallest: int | None = None
    ) -> Children | None:
        """Return the children of each grade per kind for this structure (None: impossible).

        largest and smallest cap every class on top of each kind's own limits.
        """
        if CHECK_RUNS and not self.runs.may_fit(classes, largest, smallest):
            return None
        minimum = self.scenario.composite_minimum
        used = [k for k in self.kinds if classes.get(k, 0) > 0]
        grade_node = {label: 4 + i for i, label in enumerate(self.labels)}
        kind_node = {k: 4 + len(self.labels) + i for i, k in enumerate(used)}
        source, sink, extra_source, extra_sink = 0, 1, 2, 3
        network = _Network(4 + len(self.labels) + len(used))
        excess = [0] * len(network.arcs)

        def arc(tail: int, head: int, low: int, high: int) -> tuple[int, int]:
            # A lower bound becomes a demand at the head and a supply at the tail.
            excess[head] += low
            excess[tail] -= low
            return network.add(tail, head, high - low)

        for label in self.labels:
            arc(source, grade_node[label], self.children[label], self.children[label])
        parts: dict[tuple[Kind, str], tuple[tuple[int, int], int]] = {}
        for kind in used:
            count = classes[kind]
            low, high = self.limits[kind]
            if smallest is not None:
                low = max(low, smallest)
            if largest is not None:
                high = min(high, largest)
            floor = minimum * count if len(kind) > 1 else 0
            if low > high or any(self.children[g] < floor for g in kind):
                return None
            for label in kind:
                where = arc(grade_node[label], kind_node[kind], floor, self.children[label])
                parts[kind, label] = (where, floor)
            arc(kind_node[kind], sink, low * count, high * count)
        arc(sink, source, 0, sum(self.children.values()))
        needed = 0
        for node, amount in enumerate(excess):
            if amount > 0:
                network.add(extra_source, node, amount)
                needed += amount
            elif amount < 0:
                network.add(node, extra_sink, -amount)
        if network.max_flow(extra_source, extra_sink) < needed:
            return None
        children: Children = {k: dict.fromkeys(k, 0) for k in self.kinds}
        for (kind, label), ((tail, index), floor) in parts.items():
            children[kind][label] = floor + network.flow(tail, index)
        return children

    def search(
        self,
        starts: Sequence[Known],
        excluded: Sequence[Classes] = (),
        *,
        largest: int | None = None,
        smallest: int | None = None,
        composites: int | None = None,
    ) -> Iterator[tuple[dict[Kind, int], Children] | None]:
        """Yield None after each structure tried, then the first that fits (if any) and stop.

        The structures tried are one class move from a start (one kind runs a class fewer,
        another one more; or, where not every teacher must be used, one class fewer or
        more), keep every count limit, the composites cap and the exclusions, and are tried
        moving classes to the kinds too big or too small for the caps first.
        """
        seen = {structure_of(s) for s in excluded} | {structure_of(start) for start, _ in starts}
        for start in starts:
            for moved in self._moves(start, largest, smallest):
                key = structure_of(moved)
                if key in seen:
                    continue
                seen.add(key)
                if composites is not None and composites_of(moved) > composites:
                    continue
                children = self.split(moved, largest, smallest)
                yield None if children is None else (moved, children)
                if children is not None:
                    return

    def _moves(
        self, start: Known, largest: int | None, smallest: int | None
    ) -> Iterator[dict[Kind, int]]:
        """Yield the structures one class move from start, most promising first."""
        classes = {k: start[0].get(k, 0) for k in self.kinds}

        def strain(kind: Kind) -> int:
            """Return by how much the kind's classes in start break the caps (0: they keep them)."""
            if classes[kind] == 0:
                return 0
            total = sum(start[1].get(kind, {}).values())
            high, low = -(-total // classes[kind]), total // classes[kind]
            return max(0, high - (largest or high)) + max(0, (smallest or low) - low)

        fewer = [k for k in self.kinds if classes[k] > self.counts[k][0]]
        more = sorted(
            (k for k in self.kinds if classes[k] < self.counts[k][1]), key=strain, reverse=True
        )
        for b in more:
            for a in fewer:
                if a != b:
                    yield {**classes, a: classes[a] - 1, b: classes[b] + 1}
        if not self.scenario.use_every_teacher:
            total = sum(classes.values())
            if total < self.scenario.teachers:
                yield from ({**classes, b: classes[b] + 1} for b in more)
            if total > 1:
                yield from ({**classes, a: classes[a] - 1} for a in fewer)
