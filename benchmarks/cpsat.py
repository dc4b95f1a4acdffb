"""An independent reference for the benchmark: the same problem as a CP-SAT model (OR-Tools).

It shares nothing with crunch-xl's planner but the scenario: classes per kind and children of
each grade per kind, every rule of SPEC section 1, and each measure as CP-SAT writes it
naturally, with products ("every class of kind k at most U" is total_k <= U * classes_k).
It answers what the planner answers, the way a competent user of CP-SAT would:

- option 1: the ranking's measures optimised one after the other, each fixed before the next;
- then, up to the alternatives asked: the trade-off between composites and spare places
  (the planner's definition), then the next-best structures, each found by forbidding the
  structures shown and optimising again;
- an impossible scenario: the proof, and the fewest and most classes any plan could have
  (what the planner's explanation starts from; the planner does more: it finds and verifies
  repairs, so this part of the comparison flatters the reference).

It does not pick among equally good structures by a rule (the planner lists them all to do
so): whichever CP-SAT returns is kept. OR-Tools is a benchmark-only extra
(`pip install -e ".[benchmark]"`), never a dependency of crunch-xl.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from benchmarks.checks import RANKINGS
from crunch_xl.model import Kind, Priority, Scenario


@dataclass
class ReferenceResult:
    """What the reference found: a status, the options' measures and structures, the time."""

    status: str
    options: list[dict[str, int]] = field(default_factory=list)
    structures: list[dict[Kind, int]] = field(default_factory=list)
    seconds: float = 0.0


class _Model:
    """One scenario as a CP-SAT model, with a variable for every measure."""

    def __init__(self, scenario: Scenario, caps: dict[str, tuple[str, int]]) -> None:
        self.scenario = scenario
        model = cp_model.CpModel()
        self.model = model
        children = {g.label: g.children for g in scenario.grades}
        top = max(max(scenario.size_limits(kind)) for kind in scenario.kinds)
        self.classes: dict[Kind, cp_model.IntVar] = {}
        totals: dict[Kind, cp_model.LinearExpr] = {}
        placed: dict[str, list[cp_model.IntVar]] = {label: [] for label in children}
        for index, kind in enumerate(scenario.kinds):
            fewest, most = scenario.count_limits(kind)
            bound = scenario.teachers if most is None else min(most, scenario.teachers)
            y = model.NewIntVar(fewest or 0, max(bound, fewest or 0), f"y{index}")
            parts = [model.NewIntVar(0, children[label], f"x{index}_{label}") for label in kind]
            total = sum(parts)
            smallest, largest = scenario.size_limits(kind)
            model.Add(total >= smallest * y)
            model.Add(total <= largest * y)
            if len(kind) > 1:
                for part in parts:
                    model.Add(part >= scenario.composite_minimum * y)
            self.classes[kind] = y
            totals[kind] = total
            for label, part in zip(kind, parts, strict=True):
                placed[label].append(part)
        for grade in scenario.grades:
            model.Add(sum(placed[grade.label]) == grade.children)
        count = sum(self.classes.values())
        if scenario.use_every_teacher:
            model.Add(count == scenario.teachers)
        else:
            model.Add(count <= scenario.teachers)
            model.Add(count >= 1)
        self.count = count
        self.measures: dict[str, cp_model.IntVar] = {}
        composites = model.NewIntVar(0, scenario.teachers, "composites")
        model.Add(composites == sum(y for kind, y in self.classes.items() if len(kind) > 1))
        self.measures["composites"] = composites
        spare = model.NewIntVar(0, top, "spare")
        largest_var = model.NewIntVar(0, top, "largest")
        low = model.NewIntVar(0, top, "smallest")
        for index, (kind, y) in enumerate(self.classes.items()):
            limit = scenario.size_limits(kind)[1]
            teachers = scenario.teachers
            room = model.NewIntVar(0, top * teachers, f"spare_y{index}")
            model.AddMultiplicationEquality(room, [spare, y])
            model.Add(totals[kind] + room <= limit * y)
            cap = model.NewIntVar(0, top * teachers, f"largest_y{index}")
            model.AddMultiplicationEquality(cap, [largest_var, y])
            model.Add(totals[kind] <= cap)
            floor = model.NewIntVar(0, top * teachers, f"smallest_y{index}")
            model.AddMultiplicationEquality(floor, [low, y])
            model.Add(totals[kind] >= floor)
        self.measures["spare"] = spare
        self.measures["largest"] = largest_var
        rng = model.NewIntVar(0, top, "range")
        model.Add(rng >= largest_var - low)
        self.measures["range"] = rng
        spread = model.NewIntVar(0, top, "spread")
        for g, grade in enumerate(scenario.grades):
            kinds = [kind for kind in self.classes if grade.label in kind]
            if grade.children == 0 or not kinds:
                continue
            high = model.NewIntVar(0, top, f"top{g}")
            bottom = model.NewIntVar(0, top, f"bottom{g}")
            for index, kind in enumerate(kinds):
                y = self.classes[kind]
                upper = model.NewIntVar(0, top * scenario.teachers, f"top{g}_{index}")
                model.AddMultiplicationEquality(upper, [high, y])
                model.Add(totals[kind] <= upper)
                lower = model.NewIntVar(0, top * scenario.teachers, f"bottom{g}_{index}")
                model.AddMultiplicationEquality(lower, [bottom, y])
                model.Add(totals[kind] >= lower)
            model.Add(spread >= high - bottom)
        self.measures["spread"] = spread
        for name, (how, value) in caps.items():
            if how == ">=":
                model.Add(self.measures[name] >= value)
            else:
                model.Add(self.measures[name] <= value)

    def forbid(self, structure: dict[Kind, int]) -> None:
        """Add: the structure differs from this one in some kind's classes."""
        different = []
        for kind, y in self.classes.items():
            flag = self.model.NewBoolVar("")
            self.model.Add(y != structure.get(kind, 0)).OnlyEnforceIf(flag)
            self.model.Add(y == structure.get(kind, 0)).OnlyEnforceIf(flag.Not())
            different.append(flag)
        self.model.AddBoolOr(different)


def _lexicographic(
    scenario: Scenario,
    ranking: tuple[tuple[str, bool], ...],
    caps: dict[str, tuple[str, int]],
    forbidden: list[dict[Kind, int]],
    deadline: float,
) -> tuple[str, dict[str, int], dict[Kind, int]]:
    """Return the status, the measures and the structure best by the ranking."""
    model = _Model(scenario, caps)
    for structure in forbidden:
        model.forbid(structure)
    values: dict[str, int] = {}
    structure: dict[Kind, int] = {}
    for name, larger in ranking:
        variable = model.measures[name]
        if larger:
            model.model.Maximize(variable)
        else:
            model.model.Minimize(variable)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(deadline - time.perf_counter(), 0.01)
        status = solver.Solve(model.model)
        if status == cp_model.INFEASIBLE:
            return "infeasible", {}, {}
        if status != cp_model.OPTIMAL:
            return "timeout", {}, {}
        value = int(solver.Value(variable))
        values[name] = value
        structure = {kind: int(solver.Value(y)) for kind, y in model.classes.items()}
        model.model.Add(variable == value)
        model.model.ClearHints()
        for other, y in model.classes.items():
            model.model.AddHint(y, structure[other])
    return "solved", values, {k: n for k, n in structure.items() if n}


def reference(
    scenario: Scenario, *, alternatives: int = 3, time_limit: float = 60.0
) -> ReferenceResult:
    """Return the reference's answer to a scenario (see the module docstring)."""
    started = time.perf_counter()
    deadline = started + time_limit
    ranking = RANKINGS[scenario.priority]
    status, values, structure = _lexicographic(scenario, ranking, {}, [], deadline)
    result = ReferenceResult(status)
    if status != "solved":
        if status == "infeasible":
            _class_counts(scenario, deadline)
        result.seconds = time.perf_counter() - started
        return result
    result.options.append(values)
    result.structures.append(structure)
    # The trade-off, as the planner defines it.
    if scenario.priority is Priority.SMALLEST_CLASSES:
        composites = values["composites"]
        while len(result.options) < alternatives and composites > 0:
            caps = {"composites": ("<=", composites - 1)}
            status, step, shape = _lexicographic(scenario, ranking, caps, [], deadline)
            if status != "solved":
                break
            result.options.append(step)
            result.structures.append(shape)
            composites = step["composites"]
    elif scenario.priority is Priority.FEWEST_COMPOSITES:
        spare = values["spare"]
        while len(result.options) < alternatives:
            caps = {"spare": (">=", spare + 1)}
            status, step, shape = _lexicographic(scenario, ranking, caps, [], deadline)
            if status != "solved":
                break
            result.options.append(step)
            result.structures.append(shape)
            spare = step["spare"]
    # Then the next best, every shown structure forbidden.
    while len(result.options) < alternatives:
        status, step, shape = _lexicographic(scenario, ranking, {}, result.structures, deadline)
        if status != "solved":
            break
        result.options.append(step)
        result.structures.append(shape)
    result.seconds = time.perf_counter() - started
    return result


def _class_counts(scenario: Scenario, deadline: float) -> None:
    """Work out the fewest and most classes any plan could have, the teachers aside."""
    free = Scenario(
        scenario.name,
        scenario.grades,
        scenario.composites,
        teachers=max(scenario.children, scenario.teachers, 1),
        use_every_teacher=False,
        composite_minimum=scenario.composite_minimum,
    )
    for larger in (False, True):
        model = _Model(free, {})
        if larger:
            model.model.Maximize(model.count)
        else:
            model.model.Minimize(model.count)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(deadline - time.perf_counter(), 0.01)
        solver.Solve(model.model)
