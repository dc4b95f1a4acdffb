"""Splitting children among a fixed structure's kinds, exactly, as a network flow.

With the class counts fixed, placing the children is a flow: each grade sends its children to
the kinds that hold it (at least the composite minimum times the classes into each composite),
and each kind takes a total within its size limits times its classes. A flow with whole-number
limits has a whole-number answer whenever it has any, so these answers are exact.

The same network answers how much an option's classes can absorb (headroom) and whether they
hold every enrolment within the estimates (coverage): for fixed classes the enrolments they can
hold are the whole points of a polyhedron described by inequalities of the form "these grades
together at most b" and "at least p" (Hoffman's circulation theorem: the only limits that meet
the children are on the source arcs, and a cut crosses all of them the same way). A box of
enrolments lies inside exactly when its top corner keeps every "at most" and its bottom corner
every "at least", which is: some holdable enrolment is at least the high estimates everywhere,
and some is at most the low estimates everywhere. Two flows, not one per corner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crunch_xl.model import Kind

#: A capacity no flow here reaches (more children than any school has).
_UNLIMITED = 10**9


class _Network:
    """A tiny max-flow network with lower bounds on arcs (adjacency lists, BFS augmenting)."""

    def __init__(self, nodes: int) -> None:
        self.size = nodes + 2  # two more: the super source and sink of the lower bounds
        self.head: list[list[int]] = [[] for _ in range(self.size)]
        self.to: list[int] = []
        self.cap: list[int] = []
        self.lower: list[int] = []
        self.excess = [0] * self.size

    def arc(self, tail: int, head: int, low: int, high: int) -> int:
        """Add an arc carrying between low and high; return its index.

        Its reverse (index + 1) holds, as capacity, what was pushed above the lower bound.
        """
        index = len(self.to)
        self.head[tail].append(index)
        self.to.append(head)
        self.cap.append(high - low)
        self.head[head].append(index + 1)
        self.to.append(tail)
        self.cap.append(0)
        self.lower.extend((low, 0))
        self.excess[head] += low
        self.excess[tail] -= low
        return index

    def flow(self, index: int) -> int:
        """Return the flow on an arc."""
        return self.lower[index] + self.cap[index + 1]

    def max_flow(self, source: int, sink: int) -> int:
        """Push as much as possible from source to sink along residual paths; return it."""
        # Local names: this loop is where the search over class counts spends its time.
        head, to, cap, size = self.head, self.to, self.cap, self.size
        pushed = 0
        while True:
            parent = [-1] * size
            parent[source] = -2
            queue = [source]
            push = queue.append
            for node in queue:  # breadth first: the list grows as it is read
                for index in head[node]:
                    nxt = to[index]
                    if cap[index] > 0 and parent[nxt] == -1:
                        parent[nxt] = index
                        push(nxt)
                if parent[sink] != -1:
                    break
            if parent[sink] == -1:
                return pushed
            amount, node = _UNLIMITED, sink
            while node != source:
                index = parent[node]
                if cap[index] < amount:
                    amount = cap[index]
                node = to[index ^ 1]
            node = sink
            while node != source:
                index = parent[node]
                cap[index] -= amount
                cap[index ^ 1] += amount
                node = to[index ^ 1]
            pushed += amount

    def settle(self) -> bool:
        """Return whether a flow keeps every lower and upper bound; if so, leave one in place.

        The lower bounds are met through a super source and sink (circulation), whose arcs are
        closed afterwards so that later pushes keep every bound.
        """
        source, sink = self.size - 2, self.size - 1
        need = 0
        extra = []
        for node, excess in enumerate(self.excess[:source]):
            if excess > 0:
                extra.append(self.arc(source, node, 0, excess))
                need += excess
            elif excess < 0:
                extra.append(self.arc(node, sink, 0, -excess))
        settled = self.max_flow(source, sink) == need
        for index in extra:
            self.cap[index] = self.cap[index + 1] = 0
        return settled

    def arc_range(self, index: int) -> tuple[int, int]:
        """Return the least and most an arc can carry over every flow that keeps the bounds.

        The network must be settled. The flow on an arc u -> v rises along a path v -> u
        and falls along a path u -> v, neither using the arc itself.
        """
        tail, head = self.to[index ^ 1], self.to[index]
        saved = self.cap[:]
        room_up, room_down = self.cap[index], self.cap[index + 1]
        self.cap[index] = self.cap[index + 1] = 0
        up = self.max_flow(head, tail)
        self.cap[:] = saved
        self.cap[index] = self.cap[index + 1] = 0
        down = self.max_flow(tail, head)
        self.cap[:] = saved
        flow = self.flow(index)
        return flow - min(down, room_down), flow + min(up, room_up)


#: Node numbers of the transport network: the source, the sink, then grades, then kinds.
_SOURCE, _SINK = 0, 1


@dataclass(frozen=True)
class Transport:
    """Children of grades into the kinds of one fixed structure, each kind's total in a box."""

    #: (kind, classes) for every kind that runs.
    structure: tuple[tuple[Kind, int], ...]
    #: Fewest children of one grade in each class of a composite.
    minimum: int

    def _network(
        self,
        supplies: Mapping[str, tuple[int, int]],
        boxes: Mapping[Kind, tuple[int, int]],
    ) -> tuple[_Network, dict[str, int], dict[tuple[Kind, str], int]]:
        """Return the network, the arc of each grade's supply and of each (kind, grade) pair."""
        grade_node = {label: 2 + i for i, label in enumerate(supplies)}
        kinds = [kind for kind, _ in self.structure]
        kind_node = {kind: 2 + len(grade_node) + i for i, kind in enumerate(kinds)}
        network = _Network(2 + len(grade_node) + len(kinds))
        supply_arc = {
            label: network.arc(_SOURCE, grade_node[label], low, high)
            for label, (low, high) in supplies.items()
        }
        arcs: dict[tuple[Kind, str], int] = {}
        for kind, classes in self.structure:
            low_total, high_total = boxes[kind]
            network.arc(kind_node[kind], _SINK, low_total, high_total)
            least = self.minimum * classes if len(kind) > 1 else 0
            for label in kind:
                node = grade_node[label]
                arcs[kind, label] = network.arc(node, kind_node[kind], least, _UNLIMITED)
        network.arc(_SINK, _SOURCE, 0, _UNLIMITED)
        return network, supply_arc, arcs

    def split(
        self,
        supplies: Mapping[str, tuple[int, int]],
        boxes: Mapping[Kind, tuple[int, int]],
    ) -> dict[Kind, dict[str, int]] | None:
        """Return children of each grade in each kind, every grade's children within its
        supply range and every kind's total within its box (None: no such split)."""
        if any(high < low for low, high in boxes.values()):
            return None
        network, _, arcs = self._network(supplies, boxes)
        if not network.settle():
            return None
        found: dict[Kind, dict[str, int]] = {kind: {} for kind, _ in self.structure}
        for (kind, label), index in arcs.items():
            found[kind][label] = network.flow(index)
        return found

    def intake_ranges(
        self,
        children: Mapping[str, int],
        boxes: Mapping[Kind, tuple[int, int]],
    ) -> dict[tuple[Kind, str], tuple[int, int]] | None:
        """Return, for each (composite, grade), the fewest and most children of the grade the
        composite can take in some split with every kind's total in its box (None: no split)."""
        if any(high < low for low, high in boxes.values()):
            return None
        supplies = {label: (count, count) for label, count in children.items()}
        network, _, arcs = self._network(supplies, boxes)
        if not network.settle():
            return None
        return {
            (kind, label): network.arc_range(index)
            for (kind, label), index in arcs.items()
            if len(kind) > 1
        }

    def room(
        self,
        children: Mapping[str, int],
        boxes: Mapping[Kind, tuple[int, int]],
        label: str,
    ) -> tuple[int, int] | None:
        """Return (fewer, more): how many children this grade could lose or gain, every other
        grade unchanged, the children split again (None: the children do not fit at all).

        From a split of the children as they are, the grade's number moves along cycles
        through its supply arc: a path from the grade back to the source raises it, one from
        the source to the grade lowers it; the largest such flow is the exact room.
        """
        if any(high < low for low, high in boxes.values()):
            return None
        found = []
        for direction in ("fewer", "more"):
            supplies = {grade: (count, count) for grade, count in children.items()}
            network, supply_arc, _ = self._network(supplies, boxes)
            if not network.settle():
                return None
            index = supply_arc[label]
            grade = network.to[index]
            if direction == "more":
                network.cap[index] = _UNLIMITED
                found.append(network.max_flow(grade, _SOURCE))
            else:
                network.cap[index + 1] = children[label]
                found.append(min(network.max_flow(_SOURCE, grade), children[label]))
        return found[0], found[1]


@dataclass(frozen=True)
class Placed:
    """A placement `partly_fits` found: the children each kind takes of each of its grades."""

    taken: dict[Kind, dict[str, int]]

    def total(self, kind: Kind) -> int:
        """Return the children the kind takes in all."""
        return sum(self.taken[kind].values())


def partly_fits(
    children: Mapping[str, int],
    chosen: Sequence[tuple[Kind, int]],
    later: Sequence[tuple[Kind, int]],
    sizes: Mapping[Kind, tuple[int, int]],
    minimum: int,
    classes_left: tuple[int, int],
    composites_left: int | None = None,
) -> Placed | None:
    """Return a placement of every child by some structure that runs the chosen kinds'
    classes and, from the later kinds, between classes_left[0] and classes_left[1] classes
    more (each kind at most its own most, composites at most composites_left); None: there is
    none. A relaxation, exact for the chosen kinds.

    The later kinds' classes are not fixed: together they take what one of their classes can
    hold at least and at most, times the classes left; the later composites at most what
    composites_left of their classes hold.
    """
    labels = list(children)
    grade_node = {label: 2 + i for i, label in enumerate(labels)}
    kinds = [kind for kind, _ in chosen] + [kind for kind, _ in later]
    kind_node = {kind: 2 + len(labels) + i for i, kind in enumerate(kinds)}
    rest = 2 + len(labels) + len(kinds)
    mixed = rest + 1
    network = _Network(mixed + 1)
    for label, count in children.items():
        network.arc(_SOURCE, grade_node[label], count, count)
    arcs: dict[Kind, dict[str, int]] = {}
    for kind, classes in chosen:
        smallest, largest = sizes[kind]
        network.arc(kind_node[kind], _SINK, smallest * classes, largest * classes)
        least = minimum * classes if len(kind) > 1 else 0
        arcs[kind] = {
            label: network.arc(grade_node[label], kind_node[kind], least, _UNLIMITED)
            for label in kind
        }
    fewest, most = classes_left
    if later and most > 0:
        smallest, largest, widest = _later_limits(later, sizes)
        network.arc(rest, _SINK, smallest * fewest, largest * most)
        if widest is not None and composites_left is not None:
            network.arc(mixed, rest, 0, widest * composites_left)
        for kind, classes in later:
            into = mixed if len(kind) > 1 and composites_left is not None else rest
            network.arc(kind_node[kind], into, 0, sizes[kind][1] * classes)
            arcs[kind] = {
                label: network.arc(grade_node[label], kind_node[kind], 0, _UNLIMITED)
                for label in kind
            }
    elif fewest > 0:
        return None
    network.arc(_SINK, _SOURCE, 0, _UNLIMITED)
    if not network.settle():
        return None
    return Placed(
        {
            kind: {label: network.flow(index) for label, index in by_grade.items()}
            for kind, by_grade in arcs.items()
        }
    )


def still_placed(
    placed: Placed,
    kind: Kind,
    classes: int,
    later: Sequence[tuple[Kind, int]],
    sizes: Mapping[Kind, tuple[int, int]],
    minimum: int,
    classes_left: tuple[int, int],
    composites_left: int | None = None,
) -> bool:
    """Return whether a placement `partly_fits` found with `kind` still among the later kinds
    is also one once the kind runs `classes` classes (so partly_fits would find one too).

    `later`, `classes_left` and `composites_left` are those after the kind is chosen. Checking
    the one placement against the new bounds takes a few sums, not a flow.
    """
    taken = placed.taken.get(kind)
    if taken is None:
        return False
    total = placed.total(kind)
    smallest, largest = sizes[kind]
    if classes == 0:
        kept = total == 0
    else:
        least = minimum * classes if len(kind) > 1 else 0
        kept = smallest * classes <= total <= largest * classes and all(
            count >= least for count in taken.values()
        )
    if not kept:
        return False
    fewest, most = classes_left
    rest = sum(placed.total(other) for other, _ in later)
    if not later or most <= 0:
        return rest == 0 and fewest <= 0
    low, high, widest = _later_limits(later, sizes)
    if not low * fewest <= rest <= high * most:
        return False
    if widest is not None and composites_left is not None:
        mixed = sum(placed.total(other) for other, _ in later if len(other) > 1)
        if mixed > widest * composites_left:
            return False
    return True


def _later_limits(
    later: Sequence[tuple[Kind, int]], sizes: Mapping[Kind, tuple[int, int]]
) -> tuple[int, int, int | None]:
    """Return what one class of the later kinds holds at least and at most, and one of their
    composites at most (None: no composite among them): the bounds of partly_fits'
    relaxation."""
    composites = [sizes[kind][1] for kind, _ in later if len(kind) > 1]
    return (
        min(sizes[kind][0] for kind, _ in later),
        max(sizes[kind][1] for kind, _ in later),
        max(composites) if composites else None,
    )
