"""The counting model in PuLP: the rules of SPEC section 1, one named row family each.

Variables: `classes[kind]`, the classes of each kind (whole), and `children[kind][grade]`, the
children of a grade in that kind (continuous: once the class counts are whole, placing the
children is a flow with whole-number limits, whose answer is whole whenever there is one; the
planner splits the children itself, flows.py). Rows, each family named after its rule:

- every_child_placed_G:        each grade's children add up to its number;
- smallest_class_K, largest_class_K: a kind's total lies within its sizes times its classes;
- composite_minimum_K_G:       each grade of a composite has the minimum in every class;
- teachers / at_least_one_class: classes equal the teachers (or at most, and at least one);
- classes_for_grades_I_J:      the classes holding a run of grades can hold its children,
                               rounded up (implied by the rest; it makes the solver faster);
- first_part:                  where the grades fall into parts no class spans, the classes
                               of the first parts, counted as `classes_of_first_part`.

A part's own model (parts.py) holds only its grades and kinds: its classes are counted as
`classes_of_part` (row part) and its composites as `composites_of_part` (row part_composites),
whose bounds the caller sets, in place of the teachers rows.

A question adds its caps: fewer composites, more spare, a smaller largest or larger smallest
class (bounds on every kind's total), structures that are excluded, and copies of the children
at the high and low estimates (see flows.py on why two copies decide it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pulp

from crunch_xl.model import Kind
from crunch_xl.planner.ranking import Caps
from crunch_xl.planner.school import School, Structure


class Objective(StrEnum):
    """What a question optimises."""

    #: The fewest composites: also asked when any allocation will do (a bound to prove
    #: against settles impossible questions far faster than no objective: CBC took tens of
    #: seconds on a K-12 school without one, a second with it).
    COMPOSITES = "composites"
    #: The fewest classes, then the fewest composites.
    FEWEST_CLASSES = "fewest classes"
    #: The most classes, then the fewest composites.
    MOST_CLASSES = "most classes"


class Teachers(StrEnum):
    """How the number of classes is held to the teachers."""

    #: As the scenario says: equal when every teacher is used, else at most.
    AS_SET = "as set"
    #: At most one class per teacher.
    AT_MOST = "at most"
    #: Any number of classes (at least one).
    ANY = "any"


@dataclass(frozen=True)
class Estimates:
    """The low and high enrolment of each grade (equal to its children where none is given)."""

    low: Mapping[str, int]
    high: Mapping[str, int]

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.low.items())), tuple(sorted(self.high.items()))))


@dataclass(frozen=True)
class Question:
    """One question about the allocations of a school: caps, exclusions, what to minimise."""

    caps: Caps = field(default_factory=Caps)
    exclude: frozenset[Structure] = frozenset()
    objective: Objective = Objective.COMPOSITES
    teachers: Teachers = Teachers.AS_SET
    #: The allocation's classes must also hold every enrolment within these estimates.
    cover: Estimates | None = None


@dataclass(frozen=True)
class Model:
    """A question's model: the PuLP problem, the variable counting each kind's classes, and
    the one counting the classes of a part of the grades (parts.py): in a whole school's
    model, of its first parts, where its grades fall into parts no class spans; in a part's
    own model, all of its classes (None: neither)."""

    problem: pulp.LpProblem
    classes: dict[Kind, pulp.LpVariable]
    part: pulp.LpVariable | None = None
    #: In a part's own model, the variable counting its composite classes (None otherwise).
    composites: pulp.LpVariable | None = None
    #: The models of the school's parts, by their grades, made when first asked (parts.py).
    parts: dict[frozenset[str], Model] = field(default_factory=dict, compare=False, repr=False)

    def structure(self, school: School, values: Mapping[str, float]) -> Structure:
        """Return the structure in a solver's answer."""
        counts = {kind: round(values.get(var.name, 0.0)) for kind, var in self.classes.items()}
        return school.structure(counts)

    def write(self, path: Path) -> None:
        """Write the model as an LP file, to be read by anyone who wants to see it."""
        self.problem.writeLP(str(path))


def boxes(school: School, caps: Caps) -> dict[Kind, tuple[int, int]]:
    """Return each usable kind's class sizes (smallest, largest) under the caps."""
    found = {}
    for kind in school.usable:
        smallest, largest = school.limits[kind]
        if caps.spare is not None:
            largest -= caps.spare
        if caps.largest is not None:
            largest = min(largest, caps.largest)
        if caps.smallest is not None:
            smallest = max(smallest, caps.smallest)
        found[kind] = (smallest, largest)
    return found


def build(school: School, question: Question, grades: frozenset[str] | None = None) -> Model | None:
    """Return the model of a question (None: some kind must run more classes than it can).

    Spread and range caps are not rows of the model: the search asks a range as one window of
    sizes at a time, and measures spreads itself (search.py). With grades, the model of that
    part of the school alone (School.halves): its classes counted by `Model.part`, whose bounds
    the caller sets, instead of held to the teachers.
    """
    if question.caps.range is not None:
        raise ValueError("a range cap is asked as one window of sizes at a time")
    for kind in school.kinds:
        fewest, most = school.counts[kind]
        if fewest > most:
            return None
    if not school.usable:
        return None  # no class of any kind can be formed, and a plan has at least one
    problem = pulp.LpProblem("classes", pulp.LpMinimize)
    names = _Names(school)
    sizes = boxes(school, question.caps)
    labels = school.labels if grades is None else tuple(g for g in school.labels if g in grades)
    classes = {
        kind: problem.add_variable(
            f"classes_{names.kind(kind)}", *school.counts[kind], cat=pulp.LpInteger
        )
        for kind in school.usable
        if grades is None or grades.issuperset(kind)
    }
    totals = _placement(problem, school, names, classes, sizes, "", school.children, labels)
    if grades is None:
        _teachers(problem, school, classes, question.teachers)
        part = None
        if school.halves is not None:
            first = school.halves[0]
            within = [var for kind, var in classes.items() if first.issuperset(kind)]
            part = _counted(problem, within, "classes_of_first_part", "first_part")
    else:
        part = _counted(problem, list(classes.values()), "classes_of_part", "part")
    _runs(problem, school, names, classes, sizes, labels)
    caps = question.caps
    composites = pulp.lpSum(var for kind, var in classes.items() if len(kind) > 1)
    if caps.composites is not None:
        problem += composites <= caps.composites, "composites_cap"
    counted = None
    if grades is not None:
        # A part's composites are counted: the rest of the school's leave it a share of the
        # cap, set as this variable's bounds (parts.py).
        mixed = [var for kind, var in classes.items() if len(kind) > 1]
        counted = _counted(problem, mixed, "composites_of_part", "part_composites")
    if caps.spread is not None:
        for label in labels:
            kinds = [kind for kind in classes if label in kind]
            if kinds and school.children[label] > 0:
                _window(
                    problem, names.grade(label), kinds, caps.spread, classes, totals, sizes, school
                )
    for index, structure in enumerate(sorted(question.exclude)):
        _exclude(problem, school, names, classes, structure, index)
    if question.cover is not None:
        limits = {kind: school.limits[kind] for kind in classes}
        high = {label: (count, None) for label, count in question.cover.high.items()}
        low = {label: (0, count) for label, count in question.cover.low.items()}
        _placement(problem, school, names, classes, limits, "high_", high, labels)
        _placement(problem, school, names, classes, limits, "low_", low, labels)
    if question.objective is Objective.COMPOSITES:
        problem += composites
    elif question.objective is Objective.FEWEST_CLASSES:
        # A class outweighs every composite there can be: the fewest classes come first.
        weight = sum(school.counts[kind][1] for kind in classes) + 1
        problem += weight * pulp.lpSum(classes.values()) + composites
    else:
        problem.sense = pulp.LpMaximize
        weight = sum(school.counts[kind][1] for kind in classes) + 1
        problem += weight * pulp.lpSum(classes.values()) - composites
    return Model(problem, classes, part, counted)


class _Names:
    """Readable, solver-safe names: grade labels may hold any character."""

    def __init__(self, school: School) -> None:
        self._grades = {label: f"g{i}_{_safe(label)}" for i, label in enumerate(school.labels)}
        self._kinds = {kind: f"k{i}_{_safe('_'.join(kind))}" for i, kind in enumerate(school.kinds)}

    def grade(self, label: str) -> str:
        return self._grades[label]

    def kind(self, kind: Kind) -> str:
        return self._kinds[kind]


def _safe(text: str) -> str:
    return "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in text)


def _placement(
    problem: pulp.LpProblem,
    school: School,
    names: _Names,
    classes: Mapping[Kind, pulp.LpVariable],
    sizes: Mapping[Kind, tuple[int, int]],
    prefix: str,
    children: Mapping[str, int] | Mapping[str, tuple[int, int | None]],
    labels: tuple[str, ...],
) -> dict[Kind, pulp.LpAffineExpression]:
    """Add one placement of the children of the grades with these labels into the classes;
    return each kind's total.

    children is each grade's number, or (at least, at most) for the estimate copies.
    """
    parts: dict[Kind, dict[str, pulp.LpVariable]] = {}
    totals: dict[Kind, pulp.LpAffineExpression] = {}
    add = problem.addConstraint
    at_least, at_most, equal = pulp.LpConstraintGE, pulp.LpConstraintLE, pulp.LpConstraintEQ
    for kind, count in classes.items():
        name = names.kind(kind)
        parts[kind] = {
            label: problem.add_variable(f"{prefix}children_{name}_{names.grade(label)}", 0)
            for label in kind
        }
        terms = [(var, 1) for var in parts[kind].values()]
        totals[kind] = pulp.LpAffineExpression(terms)
        smallest, largest = sizes[kind]
        add(_row([*terms, (count, -smallest)], at_least, 0), f"{prefix}smallest_class_{name}")
        add(_row([*terms, (count, -largest)], at_most, 0), f"{prefix}largest_class_{name}")
        if len(kind) > 1:
            for label, var in parts[kind].items():
                row = f"{prefix}composite_minimum_{name}_{names.grade(label)}"
                add(_row([(var, 1), (count, -school.minimum)], at_least, 0), row)
    for label in labels:
        placed = [(parts[kind][label], 1) for kind in classes if label in kind]
        wanted = children[label]
        row = f"{prefix}every_child_placed_{names.grade(label)}"
        if isinstance(wanted, int):
            add(_row(placed, equal, wanted), row)
        else:
            low, high = wanted
            if low:
                add(_row(placed, at_least, low), row)
            if high is not None:
                add(_row(placed, at_most, high), f"{row}_at_most")
    return totals


def classes_allowed(school: School, teachers: Teachers) -> tuple[int, int | None]:
    """Return the fewest and most classes a plan may have in all (None: no most)."""
    if teachers is Teachers.AS_SET and school.every_teacher:
        return school.teachers, school.teachers
    return 1, None if teachers is Teachers.ANY else school.teachers


def _teachers(
    problem: pulp.LpProblem,
    school: School,
    classes: Mapping[Kind, pulp.LpVariable],
    teachers: Teachers,
) -> None:
    total = pulp.lpSum(classes.values())
    fewest, most = classes_allowed(school, teachers)
    if fewest == most:
        problem += total == most, "teachers"
        return
    if most is not None:
        problem += total <= most, "teachers"
    problem += total >= fewest, "at_least_one_class"


def _counted(
    problem: pulp.LpProblem, counted: list[pulp.LpVariable], variable: str, row: str
) -> pulp.LpVariable:
    """Add a whole-number variable (named `variable`) equal to the sum of these (row `row`);
    return it."""
    most = sum(var.upBound for var in counted)
    var = problem.add_variable(variable, 0, most, pulp.LpInteger)
    problem.addConstraint(
        _row([*((v, 1) for v in counted), (var, -1)], pulp.LpConstraintEQ, 0), row
    )
    return var


def _runs(
    problem: pulp.LpProblem,
    school: School,
    names: _Names,
    classes: Mapping[Kind, pulp.LpVariable],
    sizes: Mapping[Kind, tuple[int, int]],
    labels: tuple[str, ...],
) -> None:
    """Add: the classes holding a run of consecutive grades number at least its children over
    the most of them one class can take, rounded up.

    A class takes at most its largest size of the run's children, less the composite minimum
    for each of its grades outside the run. The solver's relaxation lets a composite serve
    two grades with a fraction of a class each; these rows say what it misses.
    """
    minimum = school.minimum
    kinds = list(classes)
    # The kinds holding each grade, by their place in `classes`.
    holding: dict[str, list[int]] = {label: [] for label in labels}
    for index, kind in enumerate(kinds):
        for label in kind:
            holding[label].append(index)
    for first in range(len(labels)):
        children = 0
        inside = [0] * len(kinds)  # each kind's grades within the run
        for last in range(first, len(labels)):
            children += school.children[labels[last]]
            for index in holding[labels[last]]:
                inside[index] += 1
            if children == 0:
                continue
            terms, most = [], 0
            for index, kind in enumerate(kinds):
                share = sizes[kind][1] - minimum * (len(kind) - inside[index])
                if inside[index] and share > 0:
                    terms.append((classes[kind], 1))
                    most = max(most, share)
            if not terms:
                continue
            name = f"classes_for_grades_{names.grade(labels[first])}_{names.grade(labels[last])}"
            problem.addConstraint(_row(terms, pulp.LpConstraintGE, -(-children // most)), name)


def _row(terms: list[tuple[pulp.LpVariable, int]], sense: int, bound: float) -> pulp.LpConstraint:
    """Return the row sum(coefficient * variable) <=, = or >= bound, built directly: PuLP's
    operators make a new expression per term, and on a 13-grade school that is most of the
    time of writing a model."""
    return pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, rhs=bound)


def _window(
    problem: pulp.LpProblem,
    name: str,
    kinds: list[Kind],
    width: int,
    classes: Mapping[Kind, pulp.LpVariable],
    totals: Mapping[Kind, pulp.LpAffineExpression],
    sizes: Mapping[Kind, tuple[int, int]],
    school: School,
) -> None:
    """Keep a grade's classes within one window of sizes [a, a + width] (its spread).

    One binary per start a; each kind's classes are split among the starts (continuous parts
    adding up to its classes), so "a · classes <= total <= (a + width) · classes" stays linear
    and exact. This disaggregated form relaxes far tighter than switching bounds on and off
    with large constants.
    """
    low = min(sizes[kind][0] for kind in kinds)
    high = max(sizes[kind][1] for kind in kinds)
    if high - low <= width:
        return  # every size these classes can have fits one window already
    starts = {
        a: problem.add_variable(f"spread_{name}_from_{a}", cat=pulp.LpBinary)
        for a in range(low, high - width + 1)
    }
    problem += pulp.lpSum(starts.values()) == 1, f"spread_{name}_one_window"
    for kind in kinds:
        most = school.counts[kind][1]
        where = f"spread_{name}_{_safe('_'.join(kind))}"
        part = {a: problem.add_variable(f"{where}_from_{a}", 0, most) for a in starts}
        problem += pulp.lpSum(part.values()) == classes[kind], f"{where}_parts"
        for a, start in starts.items():
            problem += part[a] <= most * start, f"{where}_from_{a}_chosen"
        problem += totals[kind] >= pulp.lpSum(a * p for a, p in part.items()), f"{where}_floor"
        problem += (
            totals[kind] <= pulp.lpSum((a + width) * p for a, p in part.items()),
            f"{where}_ceiling",
        )


def _exclude(
    problem: pulp.LpProblem,
    school: School,
    names: _Names,
    classes: Mapping[Kind, pulp.LpVariable],
    structure: Structure,
    index: int,
) -> None:
    """Forbid a structure: some kind runs more classes than it does there, or fewer.

    Where every teacher is used, the classes add up to the teachers either way, so an
    allocation of another structure runs more classes of some kind: one binary per kind.
    Otherwise a kind may also run fewer. A structure no allocation can have needs nothing.
    """
    counts = dict(structure)
    if any(kind not in classes for kind in counts):
        return
    ways = []
    for kind, var in classes.items():
        count = counts.get(kind, 0)
        fewest, most = school.counts[kind]
        tag = f"{index}_{names.kind(kind)}"
        if count < most:
            more = problem.add_variable(f"other_than_{tag}_more", cat=pulp.LpBinary)
            problem += var >= (count + 1) * more, f"other_than_{tag}_more_classes"
            ways.append(more)
        if not school.every_teacher and count > fewest:
            fewer = problem.add_variable(f"other_than_{tag}_fewer", cat=pulp.LpBinary)
            problem += (
                var <= count - 1 + (most - count + 1) * (1 - fewer),
                (f"other_than_{tag}_fewer_classes"),
            )
            ways.append(fewer)
    problem += pulp.lpSum(ways) >= 1, f"other_than_{index}"
