"""Questions about a school whose grades fall into parts no class spans, asked part by part.

A K-12 school whose primary and secondary grades never share a class is two schools tied only
by the number of teachers. Its model counts the classes of its first parts (`Model.part`,
School.halves). The linear relaxation lets classes move between the parts by fractions,
which leaves the solver a large tree to search; with that count fixed, the parts are
independent. So where the relaxation leaves the count at most the two whole values either side
of its own (two more relaxations check), each is tried in turn (`answer`); where it allows
more, the question is loose, quick to settle, and asked whole.

With the count fixed, a question for the fewest composites that excludes no structure is asked
of each part's own model (`own_model`), and the answers added up: each part's fewest
composites at its classes make the fewest of the whole (`fewest`). Any other question (the
fewest classes; excluded structures, which are the whole school's) is asked of the whole model
with the count fixed. A level is listed the same way, each part's structures on their own and
then paired (Search._boxes_apart). On a K-12 school of two parts a question takes a few
milliseconds this way, against tenths of a second asked whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pulp

from crunch_xl.planner.formulation import (
    Model,
    Objective,
    Question,
    build,
    classes_allowed,
)
from crunch_xl.planner.school import School
from crunch_xl.planner.solvers.base import Answer, Outcome

#: How far a relaxed solution's value may lie from a whole number and count as it.
_TOLERANCE = 1e-6

#: Search._solve: a model's answer (keywords `relaxed`, `first` as in Backend.solve).
Solve = Callable[..., Answer]


def answer(
    school: School,
    question: Question,
    model: Model,
    solve: Solve,
    *,
    first: bool,
    relaxed: Answer | None = None,
) -> Answer:
    """Return the answer to the question's model (with first, any solution will do);
    `relaxed` is its linear relaxation's answer, where already asked.

    Asked part by part where the model counts the classes of first parts and the relaxation
    leaves that count at most two whole values; otherwise whole.
    """
    problem, part = model.problem, model.part
    counts = None if part is None else values(model, solve, relaxed)
    if part is None or counts is None:
        return solve(problem, first=first)
    apart = question.objective is Objective.COMPOSITES and not question.exclude
    low, high = part.lowBound, part.upBound
    best: Answer | None = None
    try:
        for value in counts:
            part.lowBound = part.upBound = value
            if len(counts) > 1 and not solve(problem, relaxed=True).found:
                continue
            if apart:
                found = _apart(school, question, model, value, solve)
            else:
                found = solve(problem, first=first)
            if found.outcome is Outcome.INFEASIBLE:
                continue
            if first or found.outcome is not Outcome.OPTIMAL:
                return found
            if best is None or _objective(model, found) < _objective(model, best):
                best = found
    finally:
        part.lowBound, part.upBound = low, high
    return best or Answer(Outcome.INFEASIBLE)


def _objective(model: Model, found: Answer) -> float:
    """Return a model's objective at a solution, as a value to minimise."""
    terms = model.problem.objective
    if terms is None:
        return 0.0
    value = terms.constant + sum(
        coefficient * found.values.get(var.name, 0.0) for var, coefficient in terms.items()
    )
    return -value if model.problem.sense == pulp.LpMaximize else value


def values(model: Model, solve: Solve, relaxed: Answer | None = None) -> range | None:
    """Return the whole values of the first parts' classes that the linear relaxation
    allows, where they are at most the two either side of its own (empty: it has no solution;
    None: more values, or the relaxation was not settled)."""
    problem, part = model.problem, model.part
    assert part is not None
    if relaxed is None:
        relaxed = solve(problem, relaxed=True)
    if relaxed.outcome is Outcome.INFEASIBLE:
        return range(0)
    if not relaxed.found:
        return None
    at = relaxed.values[part.name]
    below, above = math.floor(at + _TOLERANCE), math.ceil(at - _TOLERANCE)
    low, high = part.lowBound, part.upBound
    try:
        for fewer, more in ((low, below - 1), (above + 1, high)):
            part.lowBound, part.upBound = fewer, more
            if fewer <= more and solve(problem, relaxed=True).outcome is not Outcome.INFEASIBLE:
                return None
    finally:
        part.lowBound, part.upBound = low, high
    return range(below, above + 1)


def totals(
    school: School, question: Question, value: int
) -> list[tuple[frozenset[str], tuple[int, int | None]]]:
    """Return the grades of the first parts and of the rest, each with the fewest and most
    classes it may have (None: no most) when the first parts have `value` classes."""
    split = school.halves
    assert split is not None
    fewest, most = classes_allowed(school, question.teachers)
    rest = (max(fewest - value, 0), None if most is None else most - value)
    return [(split[0], (value, value)), (split[1], rest)]


def own_model(
    school: School,
    question: Question,
    model: Model,
    grades: frozenset[str],
    classes: tuple[int, int | None],
) -> Model:
    """Return the model of a part alone, its classes within these bounds in all, any number
    of composites, and each kind's classes within the bounds the whole model has on them now
    (a box of the listing narrows them). Made once per whole model, for the question without
    its exclusions (they are structures of the whole school)."""
    if grades not in model.parts:
        own = Question(question.caps, cover=question.cover)
        side = build(school, own, grades)
        # The whole school's model exists, so every kind can run its fewest classes, and
        # the part has kinds: it has a model too.
        assert side is not None
        model.parts[grades] = side
    side = model.parts[grades]
    assert side.part is not None and side.composites is not None
    side.part.lowBound, side.part.upBound = classes
    side.composites.lowBound, side.composites.upBound = 0, None
    for kind, var in side.classes.items():
        var.lowBound, var.upBound = model.classes[kind].lowBound, model.classes[kind].upBound
    return side


@dataclass(frozen=True)
class Fewest:
    """A part's own model for one count of the first parts' classes, the fewest and most
    classes the part may then have, and its answer for its fewest composites."""

    model: Model
    classes: tuple[int, int | None]
    answer: Answer

    @property
    def composites(self) -> int:
        """Return the part's fewest composites (its answer found one)."""
        assert self.model.composites is not None
        return round(self.answer.values[self.model.composites.name])


def fewest(
    school: School, question: Question, model: Model, value: int, solve: Solve
) -> list[Fewest]:
    """Return each part's fewest composites with `value` classes in the first parts, asked
    of its own model; the list stops at the first part without an optimal answer (the last
    answer then says why: INFEASIBLE, or out of time)."""
    found = []
    for grades, classes in totals(school, question, value):
        side = own_model(school, question, model, grades, classes)
        answer = solve(side.problem)
        found.append(Fewest(side, classes, answer))
        if answer.outcome is not Outcome.OPTIMAL:
            break
    return found


def _apart(school: School, question: Question, model: Model, value: int, solve: Solve) -> Answer:
    """Return the answer to a question for the fewest composites with `value` classes in the
    first parts: each part's fewest composites, asked of its own model."""
    assert model.part is not None
    sides = fewest(school, question, model, value, solve)
    last = sides[-1].answer
    if last.outcome is not Outcome.OPTIMAL:
        return last if last.outcome is Outcome.INFEASIBLE else Answer(Outcome.UNKNOWN)
    cap = question.caps.composites
    if cap is not None and sum(side.composites for side in sides) > cap:
        return Answer(Outcome.INFEASIBLE)
    solution = {model.part.name: float(value)}
    for side in sides:
        for kind, var in side.model.classes.items():
            solution[model.classes[kind].name] = float(round(side.answer.values.get(var.name, 0.0)))
    return Answer(Outcome.OPTIMAL, solution)
