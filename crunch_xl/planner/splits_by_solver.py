"""A fixed structure's best split found by the solver, by the same rule as splits.py.

Used for parts too large to list. With the class counts fixed every measure is linear in the
children each composite takes ("every class of kind k at most u" is total_k <= u * classes_k,
classes_k a number). Each step of the rule is one small model whose objective weighs the
step's measures so that the first always outweighs the rest (their ranges are small); what
the step reaches is kept as a limit for the next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pulp

from crunch_xl.model import Kind
from crunch_xl.planner.formulation import boxes
from crunch_xl.planner.ranking import Caps, Measure
from crunch_xl.planner.school import Allocation, School, Structure
from crunch_xl.planner.solvers.base import Answer, Outcome

#: The largest weight one objective may carry: beyond it, a solver's tolerances could blur
#: a difference of one child.
_HEAVIEST = 2**40

Solve = Callable[[pulp.LpProblem], Answer]


class _Split:
    """The model of one structure's split: what each composite takes, and measure variables."""

    def __init__(self, school: School, structure: Structure, caps: Caps) -> None:
        self.school = school
        self.counts = dict(structure)
        self.problem = pulp.LpProblem("split", pulp.LpMinimize)
        self.top = max(school.limits[kind][1] for kind, _ in structure)
        self.variables: dict[tuple[str, Measure], pulp.LpVariable] = {}
        self.intakes: dict[tuple[Kind, str], pulp.LpVariable] = {}
        position = {label: g for g, label in enumerate(school.labels)}
        for k, (kind, classes) in enumerate(structure):
            for label in kind if len(kind) > 1 else ():
                self.intakes[kind, label] = self.problem.add_variable(
                    f"intake_{k}_{position[label]}",
                    school.minimum * classes,
                    school.children[label],
                    pulp.LpInteger,
                )
        self.totals: dict[Kind, pulp.LpAffineExpression] = {}
        sizes = boxes(school, caps)
        for k, (kind, classes) in enumerate(structure):
            if len(kind) > 1:
                total = pulp.lpSum(self.intakes[kind, label] for label in kind)
            else:
                total = school.children[kind[0]] - pulp.lpSum(self.taken(kind[0]))
            self.totals[kind] = total
            smallest, largest = sizes[kind]
            self.problem += total >= smallest * classes, f"smallest_class_{k}"
            self.problem += total <= largest * classes, f"largest_class_{k}"
        straight = {kind[0] for kind, _ in structure if len(kind) == 1}
        for label in school.labels:
            if label not in straight and school.children[label] > 0:
                placed = pulp.lpSum(self.taken(label)) == school.children[label]
                self.problem += placed, f"every_child_placed_{position[label]}"
        for measure in (Measure.SPREAD, Measure.RANGE):
            cap = caps.get(measure)
            if cap is not None:
                self.measure(measure, structure, "cap").upBound = cap

    def taken(self, label: str) -> list[pulp.LpVariable]:
        """Return what the composites take of a grade."""
        return [var for (_, grade), var in self.intakes.items() if grade == label]

    def measure(self, measure: Measure, part: Structure, tag: str) -> pulp.LpVariable:
        """Return a variable that bounds a measure of these kinds (one per tag and measure)."""
        key = (tag, measure)
        if key in self.variables:
            return self.variables[key]
        name = f"{measure.value}_{tag}"
        value = self.problem.add_variable(name, 0, self.top, pulp.LpInteger)
        self.variables[key] = value
        for k, (kind, classes) in enumerate(part):
            total = self.totals[kind]
            if measure is Measure.SPARE:
                largest = self.school.limits[kind][1]
                self.problem += total + classes * value <= largest * classes, f"{name}_{k}"
            elif measure is Measure.LARGEST:
                self.problem += total <= classes * value, f"{name}_{k}"
        if measure in (Measure.SPREAD, Measure.RANGE):
            if measure is Measure.RANGE:
                groups = [[kind for kind, _ in part]]
            else:
                labels = sorted({g for kind, _ in part for g in kind}, key=self.school.labels.index)
                groups = [[kind for kind, _ in part if label in kind] for label in labels]
            for g, kinds in enumerate(groups):
                start = self.problem.add_variable(f"{name}_from_{g}", 0, self.top, pulp.LpInteger)
                for k, kind in enumerate(kinds):
                    classes, total = self.counts[kind], self.totals[kind]
                    self.problem += total >= classes * start, f"{name}_floor_{g}_{k}"
                    self.problem += total <= classes * (start + value), f"{name}_ceiling_{g}_{k}"
        return value

    def optimise(self, weighted: list[tuple[int, pulp.LpVariable, bool]], solve: Solve) -> bool:
        """Minimise the weighted sum (weight, variable, larger is better); fix what it
        reaches: a bound on each measure, the value of each intake."""
        self.problem.setObjective(
            pulp.lpSum((-w if larger else w) * var for w, var, larger in weighted)
        )
        answer = solve(self.problem)
        if answer.outcome is not Outcome.OPTIMAL:
            return False
        for _, var, larger in weighted:
            value = round(answer.values[var.name])
            if var.name.startswith("intake_"):
                var.lowBound = var.upBound = value
            elif larger:
                var.lowBound = value
            else:
                var.upBound = value
        return True


def best_split_by_solver(
    school: School,
    structure: Structure,
    caps: Caps,
    order: Sequence[Measure],
    solve: Solve,
    *,
    full: bool = True,
) -> tuple[dict[Measure, int], Allocation | None] | None:
    """Return rule 1's values and, when full, the split of the whole rule (None: no split
    keeps the caps), each step solved."""
    model = _Split(school, structure, caps)
    scale = model.top + 1
    whole = [
        (scale ** (len(order) - 1 - i), model.measure(m, structure, "whole"), m.larger_is_better)
        for i, m in enumerate(order)
    ]
    if not model.optimise(whole, solve):
        return None
    values = {
        m: int(var.lowBound if larger else var.upBound)
        for (_, var, larger), m in zip(whole, order, strict=True)
    }
    if not full:
        return values, None
    # Rule 2: parts share nothing, so one objective summing each part's own weighted
    # measures gives every part its own best.
    per_part = [m for m in order if m is not Measure.RANGE]
    part_terms = [
        (scale ** (len(per_part) - 1 - i), model.measure(m, part, f"part{p}"), m.larger_is_better)
        for p, part in enumerate(school.components(structure))
        for i, m in enumerate(per_part)
    ]
    if part_terms and not model.optimise(part_terms, solve):
        return None
    # Rule 3: the intakes lexicographically, as many at once as the weights allow.
    intakes = list(model.intakes.values())
    while intakes:
        chunk: list[pulp.LpVariable] = [intakes.pop(0)]
        weight = _span(chunk[0])
        while intakes and weight * _span(intakes[0]) <= _HEAVIEST:
            weight *= _span(intakes[0])
            chunk.append(intakes.pop(0))
        terms, w = [], 1
        for var in reversed(chunk):
            terms.append((w, var, False))
            w *= _span(var)
        if not model.optimise(terms, solve):
            return None
    children: dict[Kind, dict[str, int]] = {}
    for kind, _ in structure:
        if len(kind) > 1:
            children[kind] = {label: int(model.intakes[kind, label].lowBound) for label in kind}
        else:
            taken = sum(int(var.lowBound) for var in model.taken(kind[0]))
            children[kind] = {kind[0]: school.children[kind[0]] - taken}
    return values, Allocation(structure, children)


def _span(var: pulp.LpVariable) -> int:
    """Return how many values an integer variable can take."""
    return int(var.upBound - var.lowBound + 1)
