"""Every structure whose classes can keep some caps, listed without a solver.

Once the solver has proven the best values of a ranking's head (the fewest composites, the
most spare, the smallest range), the structures that reach them are to be listed. A search
over class counts lists them and proves the list complete by having looked everywhere; the
solver lists them too, box by box (Search._boxes). Which is quicker depends on the school:
the search on small multi-age schools, whose few teachers leave few choices but whose best
structures are many; the solver on large schools, whose best structures are few. So the two
run at once, the search in a worker process (listing_worker.py) or, with none ready, the
solver's listing in a thread of its own (the solver lets go of Python while it solves); the
first to finish gives the list (`first_to_finish`). Both are exact, so the answer is the same
whichever finishes, and with two cores free the time is about the quicker one's.

The search fixes the classes of one kind after another, in reading order, and drops a partial
choice as soon as it cannot work out: the classes left cannot make up the teachers or keep
the composites cap, or the children cannot all be placed even if the classes left go to the
kinds still to choose as freely as they like (flows.partly_fits: exact for the kinds chosen,
and the classes left hold between their fewest and most children in total). The placement
that flow finds is carried down: where it still places every child once the next kind's
classes are fixed (flows.still_placed, a few sums), no new flow is needed. Structures are
returned in the order of the tie rule (School.tie_key).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from crunch_xl.model import Kind
from crunch_xl.planner.flows import Placed, partly_fits, still_placed
from crunch_xl.planner.formulation import boxes
from crunch_xl.planner.ranking import Caps
from crunch_xl.planner.school import School, Structure

if TYPE_CHECKING:
    from crunch_xl.planner.listing_worker import Listing

T = TypeVar("T")

#: A listing in steps: it yields after each step and returns its list.
Steps = Generator[None, None, T]


def first_to_finish(runs: Sequence[Steps[T]], elsewhere: Listing | None = None) -> T:
    """Return the answer of whichever run finishes first; the others are then stopped.

    The first run steps in this thread, every other one in a thread of its own; `elsewhere`
    is a listing already running in a worker process (listing_worker.py), which counts only
    if it answers. A run stops only between its steps, so a stopped one ends its current
    step first. An error in any run before an answer is raised here.
    """
    here, *rest = runs
    # One event stops them all, so an interruption while one is starting stops it too.
    stopping = threading.Event()
    others: list[_Background[T]] = []
    try:
        for run in rest:
            others.append(_Background(run, stopping))
        while True:
            for other in others:
                if other.finished.is_set():
                    return other.answer()
            if elsewhere is not None and elsewhere.finished.is_set() and elsewhere.answered:
                return elsewhere.answer()  # type: ignore[return-value]
            try:
                next(here)
            except StopIteration as done:
                return done.value
            if others:
                # Let a thread waiting for Python take it now, not when this one's turn ends:
                # the solver's thread needs it only briefly between solves.
                time.sleep(0)
    finally:
        stopping.set()
        here.close()
        if elsewhere is not None:
            elsewhere.stop()


class _Background(Generic[T]):
    """A run stepping in a thread of its own until it finishes or `stopping` is set."""

    def __init__(self, run: Steps[T], stopping: threading.Event) -> None:
        self._run = run
        self._stopping = stopping
        self.finished = threading.Event()
        self._answer: T | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._steps, name="crunch-xl listing", daemon=True).start()

    def _steps(self) -> None:
        try:
            while not self._stopping.is_set():
                next(self._run)
        except StopIteration as done:
            self._answer = done.value
        except BaseException as error:  # noqa: BLE001 - handed to the thread that waits
            self._error = error
        finally:
            self._run.close()
            self.finished.set()

    def answer(self) -> T:
        """Return the run's answer, or raise its error (call once finished)."""
        if self._error is not None:
            raise self._error
        return self._answer  # type: ignore[return-value]


def structures(
    school: School, caps: Caps, keeps: Callable[[Structure], bool]
) -> Steps[list[Structure]]:
    """List every structure within the caps (spread and range aside) that `keeps` accepts,
    in the order of the tie rule, one partial choice a step.

    `keeps` decides each complete structure (it checks the split exactly, and whatever the
    question adds: exclusions, estimates, a range).
    """
    sizes = boxes(school, caps)
    # A kind runs no class where its sizes leave none, or where a composite's largest size
    # cannot take the composite minimum from each of its grades.
    kinds = [
        k
        for k in school.kinds
        if k in sizes
        and sizes[k][0] <= sizes[k][1]
        and (len(k) == 1 or school.minimum * len(k) <= sizes[k][1])
    ]
    ranges = {kind: _count_range(school, kind, caps) for kind in kinds}
    kinds = [kind for kind in kinds if ranges[kind][0] <= ranges[kind][1]]
    # A kind that must run classes but cannot (no class size or count left under the caps):
    # no structure at all.
    if any(school.counts[kind][0] > 0 for kind in school.kinds if kind not in kinds):
        return []
    teachers = school.teachers
    lowest = teachers if school.every_teacher else 1
    fewest_after = [0] * (len(kinds) + 1)
    most_after = [0] * (len(kinds) + 1)
    for i in range(len(kinds) - 1, -1, -1):
        fewest_after[i] = fewest_after[i + 1] + ranges[kinds[i]][0]
        most_after[i] = most_after[i + 1] + ranges[kinds[i]][1]
    # What one class of each kind can hold of each of its grades, at least and at most: a
    # grade outside what its chosen classes hold, plus what the later ones could, is dropped
    # without a flow.
    minimum = school.minimum
    share = {
        kind: (
            (sizes[kind][0], sizes[kind][1])
            if len(kind) == 1
            else (minimum, sizes[kind][1] - minimum * (len(kind) - 1))
        )
        for kind in kinds
    }
    later_most: list[dict[str, int]] = [{} for _ in range(len(kinds) + 1)]
    for i in range(len(kinds) - 1, -1, -1):
        later_most[i] = dict(later_most[i + 1])
        for label in kinds[i]:
            later_most[i][label] = (
                later_most[i].get(label, 0) + share[kinds[i]][1] * ranges[kinds[i]][1]
            )
    held = {label: [0, 0] for label in school.children}

    def holds(kind: Kind, index: int) -> bool:
        """Return whether each grade of the kind can still have all its children placed."""
        return all(
            held[label][0]
            <= school.children[label]
            <= held[label][1] + later_most[index].get(label, 0)
            for label in kind
        )

    widest_after = [0] * (len(kinds) + 1)
    for i in range(len(kinds) - 1, -1, -1):
        widest_after[i] = max(widest_after[i + 1], sizes[kinds[i]][1])

    def room(index: int, classes: int) -> bool:
        """Return whether the classes left can hold the children the chosen ones cannot."""
        over = sum(max(0, school.children[label] - held[label][1]) for label in held)
        return over <= (teachers - classes) * widest_after[index]

    chosen: list[tuple[Kind, int]] = []
    found: list[Structure] = []

    def search(index: int, classes: int, composites: int, placed: Placed | None) -> Steps[None]:
        yield
        later = [(kind, ranges[kind][1]) for kind in kinds[index:]]
        left = (max(lowest - classes, fewest_after[index]), teachers - classes)
        budget = None if caps.composites is None else caps.composites - composites
        # The placement found a step up most often still works with the kind just chosen.
        if placed is None or not still_placed(
            placed, *chosen[-1], later, sizes, school.minimum, left, budget
        ):
            running = [(kind, count) for kind, count in chosen if count > 0]
            placed = partly_fits(
                school.children, running, later, sizes, school.minimum, left, budget
            )
            if placed is None:
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
            least, most = share[kind]
            for label in kind:
                held[label][0] += least * count
                held[label][1] += most * count
            if holds(kind, index + 1) and room(index + 1, total):
                chosen.append((kind, count))
                yield from search(index + 1, total, made, placed)
                chosen.pop()
            for label in kind:
                held[label][0] -= least * count
                held[label][1] -= most * count

    yield from search(0, 0, 0, None)
    return sorted(found, key=school.tie_key)


def _count_range(school: School, kind: Kind, caps: Caps) -> tuple[int, int]:
    """Return the fewest and most classes of a kind any structure within the caps can run."""
    fewest, most = school.counts[kind]
    if len(kind) > 1 and caps.composites is not None:
        most = min(most, caps.composites)
    return fewest, most
