"""Every structure whose classes can keep some caps, listed without a solver.

Once the solver has proven the best values of a ranking's head (the fewest composites, the
most spare, the smallest range), the structures that reach them are few. Asking the solver
for them one by one, each found structure forbidden, grows slower with every one forbidden;
a search over class counts lists them faster, and proves the list complete by having looked
everywhere.

The search fixes the classes of one kind after another, in reading order, and drops a partial
choice as soon as it cannot work out: the classes left cannot make up the teachers or keep
the composites cap, or the children cannot all be placed even if the classes left go to the
kinds still to choose as freely as they like (flows.partly_fits: exact for the kinds chosen,
and the classes left hold between their fewest and most children in total). Structures are
returned in the order of the tie rule (School.tie_key).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from crunch_xl.model import Kind
from crunch_xl.planner.flows import partly_fits
from crunch_xl.planner.formulation import boxes
from crunch_xl.planner.ranking import Caps
from crunch_xl.planner.school import School, Structure

#: Partial choices the search may look at before it gives up (TooMany): past this, asking the
#: solver for the structures one by one is the quicker way to list them (each look is a
#: small flow, about a tenth of a millisecond; each question to the solver tens of them).
NODES = 1_000


class TooMany(Exception):
    """The listing would look at more partial choices than NODES."""


def worth_searching(school: School) -> bool:
    """Return whether the search can hope to finish within NODES: the ways to choose the
    teachers' classes among the kinds (repeats allowed) are few enough, as in small
    multi-age schools; past that the solver lists faster."""
    kinds, classes = len(school.usable), school.teachers
    return math.comb(kinds + classes - 1, classes) <= 50 * NODES


def structures(school: School, caps: Caps, keeps: Callable[[Structure], bool]) -> list[Structure]:
    """Return every structure within the caps (spread and range aside) that `keeps` accepts,
    in the order of the tie rule. Raises TooMany past NODES partial choices.

    `keeps` decides each complete structure (it checks the split exactly, and whatever the
    question adds: exclusions, estimates, a range).
    """
    sizes = boxes(school, caps)
    kinds = [k for k in school.kinds if k in sizes and sizes[k][0] <= sizes[k][1]]
    ranges = {kind: _count_range(school, kind, caps) for kind in kinds}
    kinds = [kind for kind in kinds if ranges[kind][0] <= ranges[kind][1]]
    if any(school.counts[kind][0] > 0 for kind in school.kinds if kind not in ranges):
        return []
    teachers = school.teachers
    lowest = teachers if school.every_teacher else 1
    fewest_after = [0] * (len(kinds) + 1)
    most_after = [0] * (len(kinds) + 1)
    for i in range(len(kinds) - 1, -1, -1):
        fewest_after[i] = fewest_after[i + 1] + ranges[kinds[i]][0]
        most_after[i] = most_after[i + 1] + ranges[kinds[i]][1]
    chosen: list[tuple[Kind, int]] = []
    found: list[Structure] = []
    nodes = 0

    def search(index: int, classes: int, composites: int) -> None:
        nonlocal nodes
        nodes += 1
        if nodes > NODES:
            raise TooMany
        later = [(kind, ranges[kind][1]) for kind in kinds[index:]]
        left = (max(lowest - classes, fewest_after[index]), teachers - classes)
        running = [(kind, count) for kind, count in chosen if count > 0]
        budget = None if caps.composites is None else caps.composites - composites
        if not partly_fits(school.children, running, later, sizes, school.minimum, left, budget):
            return
        if index == len(kinds):
            structure = school.structure(dict(chosen))
            if keeps(structure):
                found.append(structure)
            return
        kind = kinds[index]
        low, high = ranges[kind]
        for count in range(high, low - 1, -1):
            total = classes + count
            if total + fewest_after[index + 1] > teachers:
                continue
            if total + most_after[index + 1] < lowest:
                break  # fewer classes of this kind only make it worse
            made = composites + (count if len(kind) > 1 else 0)
            if caps.composites is not None and made > caps.composites:
                continue
            chosen.append((kind, count))
            search(index + 1, total, made)
            chosen.pop()

    search(0, 0, 0)
    return sorted(found, key=school.tie_key)


def _count_range(school: School, kind: Kind, caps: Caps) -> tuple[int, int]:
    """Return the fewest and most classes of a kind any structure within the caps can run."""
    fewest, most = school.counts[kind]
    if len(kind) > 1 and caps.composites is not None:
        most = min(most, caps.composites)
    return fewest, most
