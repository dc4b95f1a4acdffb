"""The benchmark suite: generated schools (fixed seeds), each at T, T+1 and T-1 teachers,
each under every priority.

T is the fewest teachers that fit with every teacher used, found with a small counting model
of our own (independent of the planner), so the T-1 scenarios are impossible by construction
(and time the explanation). Families:

- rural: multi-age schools of 2-4 teachers and 15-60 children in 3-7 grades, where every run
  of neighbouring grades may form a composite, up to the whole school;
- tiny: 2-4 grades, adjacent pairs and runs of three;
- composite-heavy: K-6 schools of 120-240 children whose limits call for composites, with
  every adjacent pair and a few runs of three allowed;
- small / medium / large: K-6 primary schools of 150-1,200 children;
- k12: 13 grades, about 1,500 children, most adjacent pairs and three runs of three: some
  fall into parts no class spans (a K-6 and a 7-12), some hold a part of ten or twelve
  neighbouring grades that composites link.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

import pulp

from crunch_xl.model import Composite, Grade, Kind, Priority, Scenario
from crunch_xl.planner.solvers import Outcome
from crunch_xl.planner.solvers.highs import Highs

#: Schools generated per family (each gives three scenarios under each priority).
SCHOOLS = {
    "rural": 6,
    "tiny": 4,
    "composite-heavy": 4,
    "small": 4,
    "medium": 4,
    "large": 4,
    "k12": 8,
}

#: Seed of family ``f`` school ``n`` is BASE_SEED + 1000 * family number + n.
BASE_SEED = 20_240_601

#: A safety net only: the counting model settles every suite question in about a second.
SOLVER_SECONDS = 60.0

FAMILIES = tuple(SCHOOLS)
#: The families of primary schools (up to seven grades), whose targets differ from K-12's.
PRIMARY_FAMILIES = tuple(family for family in FAMILIES if family != "k12")
PRIMARY = ("K", "1", "2", "3", "4", "5", "6")
K_TO_12 = ("K", *(str(n) for n in range(1, 13)))
RURAL_LABELS = (
    ("K", "1", "2", "3"),
    ("Prep", "Year 1", "Year 2", "Year 3"),
    ("1", "2", "3", "4"),
)
#: Children in the whole school, per family.
CHILDREN = {
    "composite-heavy": (120, 240),
    "small": (150, 300),
    "medium": (320, 600),
    "large": (650, 1200),
    "k12": (1400, 1600),
}


@dataclass(frozen=True)
class Case:
    """One benchmark scenario and what the suite knows about it."""

    family: str
    school: str
    #: "T" (fewest teachers that fit), "T+1" or "T-1".
    variant: str
    priority: Priority
    scenario: Scenario
    #: Whether an allocation exists (T-1 never has one).
    feasible: bool

    @property
    def name(self) -> str:
        """Return the scenario's name, e.g. ``medium-02 T+1 even``."""
        return self.scenario.name


def fewest_classes(scenario: Scenario, *, at_least: int = 0) -> int | None:
    """Return the fewest classes, at least ``at_least``, of any allocation (None: there is none).

    The teachers setting is ignored. Classes of one kind are counted (n) and children of each
    grade per kind summed (z): dealing a kind's children round-robin over its n classes turns
    any answer into classes whose sizes and per-grade counts differ by at most one, so this
    counting model is exact. Minimising the count gives the solver a bound to prove against,
    which settles these questions far faster than asking "is T feasible?" directly.
    """
    problem = pulp.LpProblem("fewest_classes", pulp.LpMinimize)
    counts: dict[Kind, pulp.LpVariable] = {}
    children: dict[tuple[Kind, str], pulp.LpVariable] = {}
    for k, kind in enumerate(scenario.kinds):
        fewest, most = scenario.count_limits(kind)
        counts[kind] = problem.add_variable(
            f"n_{k}", lowBound=fewest or 0, upBound=most, cat=pulp.LpInteger
        )
        for g, label in enumerate(kind):
            children[kind, label] = problem.add_variable(
                f"z_{k}_{g}", lowBound=0, cat=pulp.LpInteger
            )
    classes = pulp.lpSum(counts.values())
    problem += classes
    for g, grade in enumerate(scenario.grades):
        problem += (
            pulp.lpSum(v for (_, label), v in children.items() if label == grade.label)
            == grade.children,
            f"children_{g}",
        )
    for k, kind in enumerate(scenario.kinds):
        smallest, largest = scenario.size_limits(kind)
        size = pulp.lpSum(children[kind, label] for label in kind)
        problem += size >= smallest * counts[kind], f"smallest_{k}"
        problem += size <= largest * counts[kind], f"largest_{k}"
        if len(kind) > 1:
            for g, label in enumerate(kind):
                problem += (
                    children[kind, label] >= scenario.composite_minimum * counts[kind],
                    f"composite_minimum_{k}_{g}",
                )
    problem += classes >= at_least, "at_least"
    answer = Highs().solve(problem, SOLVER_SECONDS)
    if answer.outcome is Outcome.INFEASIBLE:
        return None
    if answer.outcome is not Outcome.OPTIMAL:
        raise RuntimeError(f"the counting model of {scenario.name} did not finish")
    return round(sum(answer.values[var.name] for var in counts.values()))


def fits(scenario: Scenario) -> bool:
    """Return whether some allocation obeys every rule of the scenario, teachers included."""
    if scenario.use_every_teacher:
        return fewest_classes(scenario, at_least=scenario.teachers) == scenario.teachers
    fewest = fewest_classes(scenario)
    return fewest is not None and fewest <= scenario.teachers


def _split(rng: random.Random, total: int, parts: int, wobble: float) -> list[int]:
    """Return ``parts`` whole numbers summing to ``total``, each about total/parts ± wobble."""
    weights = [rng.uniform(1 - wobble, 1 + wobble) for _ in range(parts)]
    shares = [total * w / sum(weights) for w in weights]
    counts = [math.floor(s) for s in shares]
    # Hand the rounding leftovers to the largest remainders, so the total is exact.
    leftovers = sorted(range(parts), key=lambda n: shares[n] - counts[n], reverse=True)
    for n in leftovers[: total - sum(counts)]:
        counts[n] += 1
    return counts


def _adjacent(labels: tuple[str, ...], size: int) -> list[Kind]:
    """Return every run of ``size`` consecutive grades."""
    return [labels[n : n + size] for n in range(len(labels) - size + 1)]


#: Short names of the priorities in case names.
PRIORITY_NAMES = {
    Priority.FEWEST_COMPOSITES: "fewest",
    Priority.SMALLEST_CLASSES: "smallest",
    Priority.EVEN_CLASSES: "even",
}


def _rural_school(rng: random.Random, name: str) -> Scenario:
    """Return a multi-age school: 3-7 grades, 15-60 children, every run of neighbouring
    grades allowed as a composite, up to the whole school."""
    size = rng.randint(3, 7)
    labels = PRIMARY[:size] if rng.random() < 0.7 else PRIMARY[7 - size :]
    children = _split(rng, rng.randint(15, 60), size, 0.6)
    largest = rng.randint(20, 28)
    grades = tuple(
        Grade(label, count, rng.randint(4, 8), largest + rng.choice([-2, 0, 0, 2]))
        for label, count in zip(labels, children, strict=True)
    )
    composites = [
        Composite(run) for length in range(2, size + 1) for run in _adjacent(labels, length)
    ]
    return Scenario(
        name=name,
        grades=grades,
        composites=tuple(composites),
        composite_minimum=rng.randint(1, 3),
    )


def _composite_heavy_school(rng: random.Random, name: str) -> Scenario:
    """Return a K-6 school of 120-240 children, limits that call for composites, every adjacent
    pair and a few runs of three allowed."""
    low, high = CHILDREN["composite-heavy"]
    children = _split(rng, rng.randint(low, high), len(PRIMARY), 0.5)
    grades = tuple(
        Grade(label, count, rng.randint(10, 14), _largest_in_primary(rng, label) - 2)
        for label, count in zip(PRIMARY, children, strict=True)
    )
    triples = rng.sample(_adjacent(PRIMARY, 3), rng.randint(1, 3))
    order = {kind: n for n, kind in enumerate(_adjacent(PRIMARY, 2) + _adjacent(PRIMARY, 3))}
    kinds = sorted(_adjacent(PRIMARY, 2) + triples, key=order.__getitem__)
    return Scenario(
        name=name,
        grades=grades,
        composites=tuple(Composite(kind) for kind in kinds),
        composite_minimum=rng.choice([1, 2, 3, 4]),
    )


def _tiny_school(rng: random.Random, name: str) -> Scenario:
    """Return a rural school: 2-4 grades, 15-60 children, multi-age composites."""
    size = rng.choice([2, 3, 3, 4])
    labels = rng.choice(RURAL_LABELS)[:size]
    children = _split(rng, rng.randint(15, 60), size, 0.45)
    largest = rng.randint(20, 26)
    grades = tuple(
        Grade(label, count, rng.randint(5, 10), largest + rng.choice([-2, 0, 0, 2]))
        for label, count in zip(labels, children, strict=True)
    )
    kinds = [k for k in _adjacent(labels, 2) if rng.random() < 0.8]
    kinds += _adjacent(labels, 3)
    if size == 4 and rng.random() < 0.5:
        kinds.append(labels)
    composites = []
    for kind in kinds:
        if rng.random() < 0.4:
            composites.append(Composite(kind, rng.randint(6, 10), rng.randint(22, 26)))
        else:
            composites.append(Composite(kind))
    return Scenario(
        name=name,
        grades=grades,
        composites=tuple(composites),
        composite_minimum=rng.randint(1, 4),
    )


def _largest_in_primary(rng: random.Random, label: str) -> int:
    """Return a realistic largest class: K 20-22, 1-2 24-26, 3 and up 28-30 (7+ up to 32)."""
    if label == "K":
        return rng.randint(20, 22)
    if int(label) <= 2:
        return rng.randint(24, 26)
    if int(label) <= 6:
        return rng.randint(28, 30)
    return rng.randint(28, 32)


def _graded_school(rng: random.Random, name: str, family: str) -> Scenario:
    """Return a primary (K..6) or K-12 school of the family's size with adjacent composites."""
    labels = K_TO_12 if family == "k12" else PRIMARY
    low, high = CHILDREN[family]
    children = _split(rng, rng.randint(low, high), len(labels), 0.2)
    smallest = rng.randint(12, 16)
    grades = []
    for label, count in zip(labels, children, strict=True):
        grade = Grade(label, count, smallest + rng.randint(0, 2), _largest_in_primary(rng, label))
        if rng.random() < 0.08:
            # Some schools cap a grade's straight classes (e.g. one fewer room of that size).
            most = math.ceil(count / grade.largest) + rng.randint(0, 1)
            grade = replace(grade, most_classes=most)
        grades.append(grade)
    pairs = [k for k in _adjacent(labels, 2) if rng.random() < (0.7 if family == "k12" else 0.6)]
    if not pairs:
        pairs = [rng.choice(_adjacent(labels, 2))]
    triples: list[Kind] = []
    if family == "k12":
        triples = rng.sample(_adjacent(labels, 3), 3)
    elif family != "small" and rng.random() < 0.4:
        triples = [rng.choice(_adjacent(labels, 3))]
    composites = []
    for kind in pairs + triples:
        composite = Composite(kind)
        roll = rng.random()
        if roll < 0.2:
            composite = replace(composite, largest=rng.randint(22, 26))
        elif roll < 0.3:
            composite = replace(composite, most_classes=1)
        composites.append(composite)
    order = {kind: n for n, kind in enumerate(_adjacent(labels, 2) + _adjacent(labels, 3))}
    composites.sort(key=lambda c: order[c.grades])
    return Scenario(
        name=name,
        grades=tuple(grades),
        composites=tuple(composites),
        composite_minimum=rng.choice([1, 2, 3, 4, 5, 6, 8]),
    )


def generate_school(family: str, number: int) -> tuple[Scenario, int]:
    """Return one school (teachers unset) and its T; schools whose T or T+1 fail are redrawn."""
    rng = random.Random(BASE_SEED + 1000 * FAMILIES.index(family) + number)
    name = f"{family}-{number:02d}"
    makers = {
        "rural": _rural_school,
        "tiny": _tiny_school,
        "composite-heavy": _composite_heavy_school,
    }
    while True:
        if family in makers:
            school = makers[family](rng, name)
        else:
            school = _graded_school(rng, name, family)
        teachers = fewest_classes(school)
        # T-1 must still be a valid sheet (teachers >= 1), and T+1 should be solvable too.
        if teachers is None or teachers < 2:
            continue
        if fits(replace(school, teachers=teachers + 1, use_every_teacher=True)):
            return school, teachers


def suite(*, quick: bool = False) -> list[Case]:
    """Return the benchmark cases: every school at T, T+1 and T-1 teachers, each under every
    priority, in a fixed order.

    ``quick`` keeps the first school of each family for a fast look.
    """
    cases: list[Case] = []
    for family in FAMILIES:
        for number in range(1, (1 if quick else SCHOOLS[family]) + 1):
            school, teachers = generate_school(family, number)
            # Every third school lets teachers go without a class at T+1, as some schools do.
            plus_one_every = number % 3 != 0
            variants = [
                ("T", teachers, True, True),
                ("T+1", teachers + 1, plus_one_every, True),
                ("T-1", teachers - 1, True, False),
            ]
            for variant, count, every, feasible in variants:
                for priority in Priority:
                    scenario = replace(
                        school,
                        name=f"{school.name} {variant} {PRIORITY_NAMES[priority]}",
                        teachers=count,
                        use_every_teacher=every,
                        priority=priority,
                    )
                    case = Case(family, school.name, variant, priority, scenario, feasible)
                    cases.append(case)
    return cases
