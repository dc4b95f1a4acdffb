"""The baseline: Class Cruncher's published method (SPEC appendix), implemented faithfully.

One 0/1 variable per *potential* class and one integer per (class, grade) "subclass"; classes of
the same kind are interchangeable, which is what makes the formulation slow to prove anything
with. The answer is any feasible allocation (all weights 1); alternatives come from raising one
kind's weights to 2 and solving again; every answer is then rebalanced by the appendix's local
moves. It is the benchmark's yardstick, not the product's method.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import pulp
from pulp.apis import coin_api

from crunch_xl.model import Kind, Option, Scenario, SchoolClass, Status

#: The appendix's "big number" for switching the composite minimum off in unused classes.
BIG_M = 10_000

#: Each composite kind gets this many potential classes (appendix, step 1).
COMPOSITE_POTENTIAL = 2

#: Safety net for rebalancing; the appendix's stopping rule ends far sooner in practice.
REBALANCE_PASSES = 1_000


@dataclass(frozen=True)
class PotentialClass:
    """One potential class j of the baseline model: its kind, letter index and size limits."""

    kind: Kind
    index: int
    smallest: int
    largest: int


@dataclass
class BaselineResult:
    """What the baseline produced for one scenario, and what it cost."""

    status: Status
    options: list[Option] = field(default_factory=list)
    seconds: float = 0.0
    #: Solver runs made (the all-ones answer plus one per kind tried).
    solves: int = 0
    #: Solver runs stopped by the time limit (with or without an answer).
    timed_out: int = 0
    #: Number of potential classes (y variables) in the model.
    potential_classes: int = 0
    #: Kinds not tried for an alternative because the scenario's budget ran out.
    skipped: int = 0


def potential_classes(scenario: Scenario) -> list[PotentialClass]:
    """Return the baseline's potential classes: straight ones per grade, two per composite.

    Each grade gets ceil(children / largest) straight classes, raised to its "fewest classes"
    and, where the teachers cannot all get a class otherwise, raised one at a time on the grade
    whose potential classes are fullest (never beyond what its smallest class allows).
    """
    straight: dict[str, int] = {}
    for grade in scenario.grades:
        count = math.ceil(grade.children / grade.largest) if grade.largest > 0 else 0
        straight[grade.label] = max(count, grade.fewest_classes or 0)
    composite_counts = {
        c.grades: max(COMPOSITE_POTENTIAL, c.fewest_classes or 0) for c in scenario.composites
    }
    if scenario.use_every_teacher:
        missing = scenario.teachers - sum(straight.values()) - sum(composite_counts.values())
        while missing > 0:
            fullest = _fullest_grade(scenario, straight)
            if fullest is None:
                break
            straight[fullest] += 1
            missing -= 1
    classes: list[PotentialClass] = []
    for grade in scenario.grades:
        for index in range(straight[grade.label]):
            classes.append(PotentialClass((grade.label,), index, grade.smallest, grade.largest))
    for kind, count in composite_counts.items():
        smallest, largest = scenario.size_limits(kind)
        classes.extend(PotentialClass(kind, index, smallest, largest) for index in range(count))
    return classes


def _fullest_grade(scenario: Scenario, straight: dict[str, int]) -> str | None:
    """Return the grade with most children per potential class that can still take one more."""
    best: tuple[float, str] | None = None
    for grade in scenario.grades:
        room = grade.children // grade.smallest if grade.smallest > 0 else grade.children
        if straight[grade.label] >= room:
            continue
        fullness = grade.children / (straight[grade.label] + 1)
        if best is None or fullness > best[0]:
            best = (fullness, grade.label)
    return None if best is None else best[1]


def _build_model(
    scenario: Scenario, classes: list[PotentialClass], heavy: Kind | None
) -> tuple[pulp.LpProblem, list[pulp.LpVariable], dict[tuple[int, str], pulp.LpVariable]]:
    """Return the appendix's model: y per potential class, x per subclass, weights 1 or 2."""
    problem = pulp.LpProblem("class_cruncher", pulp.LpMinimize)
    grade_number = {grade.label: n for n, grade in enumerate(scenario.grades)}
    y = [problem.add_variable(f"y_{j}", cat=pulp.LpBinary) for j in range(len(classes))]
    x: dict[tuple[int, str], pulp.LpVariable] = {}
    for j, potential in enumerate(classes):
        for label in potential.kind:
            x[j, label] = problem.add_variable(
                f"x_{j}_{grade_number[label]}", lowBound=0, cat=pulp.LpInteger
            )
    problem += pulp.lpSum(
        (2 if classes[j].kind == heavy else 1) * variable for (j, _), variable in x.items()
    )
    for grade in scenario.grades:
        n = grade_number[grade.label]
        problem += (
            pulp.lpSum(v for (_, label), v in x.items() if label == grade.label) == grade.children,
            f"children_of_grade_{n}",
        )
    for j, potential in enumerate(classes):
        size = pulp.lpSum(x[j, label] for label in potential.kind)
        problem += size - potential.smallest * y[j] >= 0, f"smallest_{j}"
        problem += size - potential.largest * y[j] <= 0, f"largest_{j}"
        if len(potential.kind) > 1:
            for label in potential.kind:
                problem += (
                    x[j, label] - scenario.composite_minimum >= BIG_M * (y[j] - 1),
                    f"composite_minimum_{j}_{grade_number[label]}",
                )
    classes_run = pulp.lpSum(y)
    if scenario.use_every_teacher:
        problem += classes_run == scenario.teachers, "teachers"
    else:
        problem += classes_run <= scenario.teachers, "teachers"
    for number, kind in enumerate(scenario.kinds):
        fewest, most = scenario.count_limits(kind)
        of_kind = pulp.lpSum(y[j] for j, c in enumerate(classes) if c.kind == kind)
        if fewest is not None:
            problem += of_kind >= fewest, f"fewest_of_kind_{number}"
        if most is not None:
            problem += of_kind <= most, f"most_of_kind_{number}"
    return problem, y, x


@dataclass
class _Solve:
    """One solver run: its outcome and, when there is one, the allocation found."""

    status: Status
    timed_out: bool
    classes: list[tuple[Kind, dict[str, int]]]


def _solve(
    scenario: Scenario, classes: list[PotentialClass], heavy: Kind | None, time_limit: float
) -> _Solve:
    """Return one run of the bundled CBC on the model with one kind's weights raised (or none)."""
    problem, y, x = _build_model(scenario, classes, heavy)
    problem.solve(bundled_cbc(time_limit))
    if problem.status == pulp.LpStatusInfeasible:
        return _Solve(Status.INFEASIBLE, False, [])
    if problem.status != pulp.LpStatusOptimal:
        # CBC stopped by the clock before it found any allocation.
        return _Solve(Status.TIMEOUT, True, [])
    timed_out = problem.sol_status == pulp.LpSolutionIntegerFeasible
    found: list[tuple[Kind, dict[str, int]]] = []
    for j, potential in enumerate(classes):
        if round(y[j].value() or 0) != 1:
            continue
        counts = {label: round(x[j, label].value() or 0) for label in potential.kind}
        found.append((potential.kind, counts))
    return _Solve(Status.SOLVED, timed_out, found)


def rebalance(scenario: Scenario, classes: list[tuple[Kind, dict[str, int]]]) -> None:
    """Even out class sizes in place, grade by grade, the way the appendix's step 5 does.

    For each grade, children move one at a time from the largest class containing the grade
    that may give one to the smallest that may take one, while they differ by two or more:
    that brings every class as close to the average as the limits allow. Passes over all
    grades repeat until no class changed by more than one child in a pass.
    """
    limits = [scenario.size_limits(kind) for kind, _ in classes]
    for _ in range(REBALANCE_PASSES):
        before = [sum(counts.values()) for _, counts in classes]
        for grade in scenario.grades:
            _even_out_grade(scenario, grade.label, classes, limits)
        after = [sum(counts.values()) for _, counts in classes]
        if all(abs(a - b) <= 1 for a, b in zip(after, before, strict=True)):
            return


def _even_out_grade(
    scenario: Scenario,
    label: str,
    classes: list[tuple[Kind, dict[str, int]]],
    limits: list[tuple[int, int]],
) -> None:
    """Move children of one grade between its classes until no allowed move evens them more."""
    members = [j for j, (_, counts) in enumerate(classes) if counts.get(label, 0) > 0]
    sizes = {j: sum(classes[j][1].values()) for j in members}
    while True:
        givers = [
            j
            for j in members
            if classes[j][1][label] - 1 >= _fewest_of_grade(scenario, classes[j][0])
            and sizes[j] - 1 >= limits[j][0]
        ]
        takers = [j for j in members if sizes[j] + 1 <= limits[j][1]]
        if not givers or not takers:
            return
        giver = max(givers, key=lambda j: sizes[j])
        taker = min(takers, key=lambda j: sizes[j])
        if sizes[giver] - sizes[taker] < 2:
            return
        classes[giver][1][label] -= 1
        classes[taker][1][label] += 1
        sizes[giver] -= 1
        sizes[taker] += 1


def _fewest_of_grade(scenario: Scenario, kind: Kind) -> int:
    """Return the fewest children of one grade a class of this kind may keep."""
    return scenario.composite_minimum if len(kind) > 1 else 0


def _as_option(
    scenario: Scenario, classes: list[tuple[Kind, dict[str, int]]], rank: int, reason: str
) -> Option:
    """Return the allocation as an Option with classes named ``K/1 A``, ``2 B``, ... in order."""
    order = {kind: n for n, kind in enumerate(scenario.kinds)}
    ordered = sorted(classes, key=lambda c: (order[c[0]], sorted(c[1].items())))
    named: list[SchoolClass] = []
    letters: dict[Kind, int] = {}
    for kind, counts in ordered:
        letter = _letter(letters.get(kind, 0))
        letters[kind] = letters.get(kind, 0) + 1
        largest = scenario.size_limits(kind)[1]
        named.append(SchoolClass(f"{'/'.join(kind)} {letter}", kind, dict(counts), largest))
    return Option(rank=rank, classes=named, proven=False, reason=reason)


def _letter(index: int) -> str:
    """Return the class letter for a 0-based index: A..Z, then AA, AB, ..."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _allocation_key(classes: list[tuple[Kind, dict[str, int]]]) -> tuple[object, ...]:
    """Return a key equal for two allocations that differ only in the order of their classes."""
    return tuple(sorted((kind, tuple(sorted(counts.items()))) for kind, counts in classes))


def baseline(
    scenario: Scenario, *, time_limit: float = 10.0, budget: float | None = None
) -> BaselineResult:
    """Return the baseline's answers for a scenario: the all-ones answer, then alternatives.

    ``time_limit`` bounds each solver run; ``budget`` (seconds, None: no bound) stops trying
    further kinds once the scenario has used that much time, so a benchmark stays bounded.
    """
    started = time.perf_counter()
    classes = potential_classes(scenario)
    result = BaselineResult(Status.SOLVED, potential_classes=len(classes))
    seen: set[tuple[object, ...]] = set()
    tries: list[Kind | None] = [None, *scenario.kinds]
    for number, heavy in enumerate(tries):
        if number > 0 and budget is not None and time.perf_counter() - started >= budget:
            result.skipped = len(tries) - number
            break
        run = _solve(scenario, classes, heavy, time_limit)
        result.solves += 1
        result.timed_out += run.timed_out
        if number == 0 and run.status is not Status.SOLVED:
            # The all-ones model is the baseline's feasibility test: no answer, no alternatives.
            result.status = run.status
            break
        if run.status is not Status.SOLVED:
            continue
        rebalance(scenario, run.classes)
        key = _allocation_key(run.classes)
        if key in seen:
            continue
        seen.add(key)
        reason = "All weights 1" if heavy is None else f"Weight 2 on {'/'.join(heavy)}"
        result.options.append(_as_option(scenario, run.classes, len(result.options) + 1, reason))
    result.seconds = time.perf_counter() - started
    return result


def bundled_cbc(time_limit: float) -> pulp.LpSolver:
    """Return the CBC program bundled with PuLP, silent, with a time limit per solve."""
    return pulp.COIN_CMD(path=coin_api.PULP_CBC_CMD.pulp_cbc_path, msg=False, timeLimit=time_limit)
