"""The counting model: how many classes of each kind, and children of each grade per kind.

This module and cbc.py (which runs CBC) are the only ones that import pulp. Classes of one kind
are interchangeable, so the model never numbers them: it counts classes per kind (``n``) and
children of each grade per kind (``c``). That is exact, because children of one kind can always
be split evenly — each grade's children dealt out as evenly as possible, remainders round-robin
across grades — and the even split is also the most balanced split of that kind:

- class sizes are the floor or the ceiling of kind total / classes, so if the kind's total lies
  within [smallest·n, largest·n] every class is within its limits;
- each grade gets at least floor(c / n) ≥ composite minimum in every class of a composite
  when c ≥ composite minimum · n;
- no split of the same totals has a smaller largest or a larger smallest class.

So the largest class of kind k is ceil(T/n) and "largest ≤ L" is the linear T ≤ L·n; likewise
"smallest ≥ S". Over every structure the model minimises only the composites; the other
measures are capped: largest and smallest as bounds on every kind, the range as one window
of sizes [a, a + range] given by those two caps (the planner tries each start a), the spread
as one window per grade. For one fixed structure, class counts are constants and every
measure is linear, so there they are minimised directly.

A model remembers every allocation its solves found. A feasibility question that one of them
answers needs no solve; a minimisation starts CBC from the best of them within its limits;
while CBC works on a feasibility question, structures one class move from them are tried
(nearby.py); a fewest-composites question CBC has not settled in cbc.SEARCH_AFTER gets one
more CBC, begun from the sweep's allocation (sweep.py: few composites found grade by grade,
without a solver); and HiGHS, racing CBC, first asks for the fewest classes, then composites,
which settles the same question where the teachers are as few as the classes can be (see
_fewest_classes_first). Every proof of best or impossible still comes from a solver's status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum

import pulp

from crunch_xl import cbc, highs
from crunch_xl.model import Kind, Scenario, composites_of, structure_of
from crunch_xl.nearby import Neighbourhood
from crunch_xl.sweep import Sweep

#: Measures the model can minimise or cap.
COMPOSITES = "composites"
LARGEST = "largest"
SMALLEST = "smallest"  # capped from below ("smallest >= value"); minimised as -smallest
RANGE = "range"
SPREAD = "spread"
#: Largest class, then spread, for a fixed structure (the rebalancing order of SPEC section 1).
BALANCE = "balance"

SOLVERS = ("cbc", "highs")

#: A model whose every CBC run so far (one at least) took less than this many seconds is
#: solved without CBC's preprocessing (cbc.QUICK).
QUICK_BELOW = 0.1
#: A model one of whose solver runs took this many seconds or more is raced by HiGHS from the
#: start (cbc.HARD_HEAD_START). 0.1 rather than 0.25 since HiGHS asks for the fewest classes
#: first: K-12 schools 9% faster in two of three paired runs, 4% in the third.
HARD_FROM = 0.1
#: Known allocations the search beside CBC starts from (the nearest to the caps).
_STARTS = 4
#: Whether a fewest-composites question CBC has not settled at once gets one more CBC, begun
#: from the sweep's allocation (sweep.py).
SWEEP = True
#: Whether HiGHS first tries a question over every structure with the fewest classes first
#: (see CountingModel._fewest_classes_first).
FEWEST_CLASSES_FIRST = True
#: Whether solves reuse what earlier ones proved (see CountingModel.solve).
REUSE_PROOFS = True
#: Whether CBC, too, first tries a question with a spread cap with the fewest classes first,
#: on a model that has been slow (HARD_FROM). It proved K-12 schools' spread windows
#: impossible in 2.1 s where it took 4.5 s as asked (seven questions, CBC alone); the
#: question as asked is then left to HiGHS. Other questions it settles far slower so.
CBC_RESTATES_SPREAD = True

_Classes = dict[Kind, pulp.LpVariable]
_Children = dict[Kind, dict[str, pulp.LpVariable]]


class Outcome(Enum):
    """How a single solve ended."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # stopped by the time limit with an allocation, not proven best
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"  # stopped by the time limit with nothing found


@dataclass(frozen=True)
class Allocation:
    """Classes per kind and children of each grade per kind (evenly split within a kind)."""

    classes: Mapping[Kind, int]
    children: Mapping[Kind, Mapping[str, int]]

    @property
    def structure(self) -> tuple[tuple[Kind, int], ...]:
        """Return the structure as sorted (kind, classes) pairs, kinds with no class left out."""
        return structure_of(self.classes)

    def sizes(self, kind: Kind) -> tuple[int, int]:
        """Return (smallest, largest) class size of a kind under the even split."""
        n = self.classes[kind]
        total = sum(self.children[kind].values())
        return total // n, -(-total // n)

    def measure(self, name: str) -> int:
        """Return one measure of the allocation (composites, largest, smallest, range, spread)."""
        used = [k for k, n in self.classes.items() if n > 0]
        if name == COMPOSITES:
            return composites_of(self.classes)
        if name == LARGEST:
            return max(self.sizes(k)[1] for k in used)
        if name == SMALLEST:
            return min(self.sizes(k)[0] for k in used)
        if name == RANGE:
            return self.measure(LARGEST) - self.measure(SMALLEST)
        if name == SPREAD:
            spreads = []
            for label in {g for k in used for g in k}:
                kinds = [k for k in used if label in k]
                spreads.append(
                    max(self.sizes(k)[1] for k in kinds) - min(self.sizes(k)[0] for k in kinds)
                )
            return max(spreads, default=0)
        raise ValueError(name)


@dataclass
class Solve:
    """The outcome of one solve and the allocation it found (if any)."""

    outcome: Outcome
    allocation: Allocation | None = None

    @property
    def found(self) -> bool:
        """Return whether the solve produced an allocation."""
        return self.allocation is not None


@dataclass
class _Base:
    """The variables and rules every solve of one scenario shares, and constraints per cap.

    `rules` is a model holding only the rules; each solve starts from a copy of it.
    """

    n: _Classes
    c: _Children
    totals: dict[Kind, pulp.LpAffineExpression]
    rules: pulp.LpProblem
    capped: dict[tuple[str, int], list[tuple[str, pulp.LpConstraint]]] = field(default_factory=dict)


@dataclass
class Limits:
    """Extra limits for one solve: measure caps, excluded structures, a fixed structure."""

    caps: dict[str, int] = field(default_factory=dict)
    exclude: list[Mapping[Kind, int]] = field(default_factory=list)
    fixed: Mapping[Kind, int] | None = None


class CountingModel:
    """Builds and solves counting models of one scenario; the solver is chosen by name."""

    def __init__(self, scenario: Scenario, solver: str = "cbc") -> None:
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
        self.scenario = scenario
        self.solver = solver
        self.kinds = scenario.kinds
        self.limits = {k: scenario.size_limits(k) for k in self.kinds}
        self.most = {k: self._most_classes(k) for k in self.kinds}
        #: The kinds any valid allocation can run a class of.
        self.usable = [k for k in self.kinds if self.most[k] > 0]
        self.fewest = {k: scenario.class_range(k)[0] for k in self.kinds}
        self.children = {g.label: g.children for g in scenario.grades}
        self.labels = [g.label for g in scenario.grades]
        # Index-based names: grade labels may hold any character, and LP names must be unique.
        self.names = {k: f"k{i}_{_safe(k)}" for i, k in enumerate(self.kinds)}
        self.names.update({(g,): f"g{i}_{_safe((g,))}" for i, g in enumerate(self.labels)})
        self._shared: _Base | None = None
        #: Every allocation a solve found: answers and starts for later solves.
        self.known: list[Allocation] = []
        #: Allocations the solver proved to have the fewest composites within some limits
        #: (a feasibility question minimises them too), by the limits.
        self.fewest_composites: dict[_Key, Allocation] = {}
        #: Limits the solver proved no allocation keeps (as caps, forbidden structures and
        #: fixed structure): limits at least as tight need no solve. An answer proven best
        #: adds one: its limits with the measure it minimised one better.
        self.impossible: list[_Key] = []
        self.neighbourhood = Neighbourhood(scenario)
        self.sweep = Sweep(scenario)
        #: Limits the sweep found nothing within: it is not asked again for tighter ones.
        self.unswept: list[_Key] = []
        #: Seconds the slowest solver run took (None: no run yet; see QUICK_BELOW, HARD_FROM).
        self.slowest: float | None = None

    def _most_classes(self, kind: Kind) -> int:
        """Return an upper bound on the classes of a kind that any valid allocation can run."""
        s = self.scenario
        smallest, largest = s.size_limits(kind)
        if smallest > largest or largest < 1:
            return 0
        counts = [s.grade(label).children for label in kind]
        bound = min(s.class_range(kind)[1], sum(counts) // max(smallest, 1))
        if len(kind) > 1:
            bound = min(bound, min(counts) // s.composite_minimum)
        return max(bound, 0)

    # -- model building -------------------------------------------------------------------

    def solve(self, minimise: str | None, limits: Limits, seconds: float) -> tuple[Solve, int]:
        """Return the solve minimising a measure (None: any valid allocation) and its value.

        What earlier solves proved is used first (REUSE_PROOFS): limits no allocation keeps
        are answered "infeasible", a known allocation nothing within the limits can beat is
        the answer, and a forbidden structure proven unable to keep the caps is not forbidden
        (the question is the same, and the solver faster). On the benchmark's K-12 schools
        this left out a trade-off step's proofs (fewer composites than the fewest proven at
        the start) and both structures forbidden in a spread proof: 14.20 s -> 12.87 s.
        """
        if limits.fixed is None and any(self.fewest[k] > self.most[k] for k in self.kinds):
            # A kind must run more classes than its children or teachers can ever form
            # (most is a proven bound), so nothing obeys the rules; no solver needed.
            return Solve(Outcome.INFEASIBLE), 0
        limits = self._pruned(limits)
        key = _key(limits)
        if self._proven_impossible(key):
            return Solve(Outcome.INFEASIBLE), 0
        if minimise == COMPOSITES and key in self.fewest_composites:
            found = self.fewest_composites[key]
            return Solve(Outcome.OPTIMAL, found), found.measure(COMPOSITES)
        known = [a for a in self.known if self._within(a, key)]
        if minimise is None and known:
            # Any allocation within the limits answers a feasibility question, and the one
            # with the fewest composites is what the solver would have looked for.
            return Solve(Outcome.OPTIMAL, min(known, key=_by(COMPOSITES))), 0
        if REUSE_PROOFS and minimise in _CAPPED and known:
            # The best allocation known is the answer where earlier solves proved that
            # nothing within the limits beats it.
            best = min(known, key=_by(minimise))
            if self._proven_impossible(_beaten(key, minimise, best)):
                return Solve(Outcome.OPTIMAL, best), best.measure(minimise)
        problem, n, c, totals = self._counting(limits)
        measures = self._measures(problem, n, totals, limits, minimise)
        # A plain feasibility question still gets an objective: with none (or the number of
        # classes, constant when every teacher is used) CBC took seconds to minutes to prove
        # K-12 schools impossible that it settles in a tenth of a second this way.
        objective = measures[minimise or COMPOSITES]
        problem += objective
        start = None
        if known:  # the best allocation known within the limits is where the solver begins
            start = min(known, key=_by(minimise or COMPOSITES))
        search = self._nearby(limits, key) if minimise is None and limits.fixed is None else None
        later = self._later(minimise, limits, key, start)
        restated = None
        if FEWEST_CLASSES_FIRST and limits.fixed is None:
            restated = self._fewest_classes_first(n)
        for_cbc = CBC_RESTATES_SPREAD and self._hard and SPREAD in limits.caps
        solve = self._run(problem, n, c, seconds, start, search, later, restated, for_cbc)
        if solve.outcome is Outcome.INFEASIBLE:
            self.impossible.append(key)
        if solve.allocation is not None:
            self.known.append(solve.allocation)
            if solve.outcome is Outcome.OPTIMAL:
                # The solver proved nothing within these limits beats it on what it minimised
                # (a feasibility question minimises the composites): within the limits, the
                # next value of that measure is impossible.
                measure = minimise or COMPOSITES
                if measure == COMPOSITES:
                    self.fewest_composites[key] = solve.allocation
                beaten = _beaten(key, LARGEST if measure == BALANCE else measure, solve.allocation)
                if REUSE_PROOFS and beaten is not None:
                    self.impossible.append(beaten)
        if minimise is None and solve.outcome is Outcome.FEASIBLE:
            # Any allocation within the limits answers a feasibility question.
            solve = Solve(Outcome.OPTIMAL, solve.allocation)
        value = 0
        if solve.allocation is not None and minimise is not None:
            if minimise == BALANCE:
                value = solve.allocation.measure(LARGEST)
            else:
                value = solve.allocation.measure(minimise)
        return solve, value

    @property
    def _hard(self) -> bool:
        """Return whether one of the model's solver runs has taken HARD_FROM or more."""
        return self.slowest is not None and self.slowest >= HARD_FROM

    def _proven_impossible(self, key: _Key | None) -> bool:
        """Return whether earlier solves proved that nothing keeps these limits (None: a
        limit nothing can keep, such as fewer than no composites)."""
        return key is None or any(_at_least_as_tight(key, proven) for proven in self.impossible)

    def _pruned(self, limits: Limits) -> Limits:
        """Return the limits without the forbidden structures that cannot keep their caps
        anyway (proven by earlier solves): forbidding a structure costs the solver time
        (k12-02 T+1's last spread proof took 1.4 times as long with two forbidden)."""
        if not REUSE_PROOFS or limits.fixed is not None or not limits.exclude:
            return limits
        kept = [
            structure
            for structure in limits.exclude
            if not self._proven_impossible(_key(Limits(dict(limits.caps), fixed=structure)))
        ]
        if len(kept) == len(limits.exclude):
            return limits
        return Limits(dict(limits.caps), kept)

    def _fewest_classes_first(self, n: _Classes) -> highs.Restated:
        """Return the fewest-composites question put another way, for HiGHS to try first.

        Drop "one class per teacher" to "at most one" (where every teacher must be used) and
        minimise the classes first, then the composites (weights teachers + 1 and 1: the
        composites never outweigh a class). Where that answers with as many classes as
        teachers, no allocation within the limits has fewer, so the restated model allows
        exactly the question's allocations and its answer has the question's fewest
        composites; where it has none, neither has the question. Otherwise (fewer classes than
        teachers) it settles nothing and HiGHS solves the question as asked. The linear
        relaxation's fewest classes (56.95 for 57 teachers on k12-02 T) is a bound HiGHS
        rounds at once, where its fewest composites (5.9 for 18) is far from the answer.
        """
        s = self.scenario
        weight = s.teachers + 1
        costs = {var.name: weight + (1 if len(kind) > 1 else 0) for kind, var in n.items()}
        return highs.Restated(
            costs, self._teachers_rule, None, s.teachers, (s.teachers, s.teachers)
        )

    @property
    def _teachers_rule(self) -> str:
        """Return the name of the rule on the number of classes (the teachers)."""
        if self.scenario.use_every_teacher:
            return "one_class_per_teacher"
        return "at_most_one_class_per_teacher"

    def _later(
        self, minimise: str | None, limits: Limits, key: _Key, start: Allocation | None
    ) -> Callable[[], Allocation | None] | None:
        """Return, for a fewest-composites question, the sweep's start for one more CBC.

        cbc.solve works it out only once CBC has run a while without answering: a start costs
        CBC time on the questions it settles in milliseconds (+22% over the 100-sheet
        workbook of benchmarks/limits.py when every such question began from one), and
        saves seconds on the ones it does not (see sweep.py). It is used only when it ranks
        before the start CBC already has (fewer composites; or as few, and a larger smallest
        class: _by's order).
        """
        if not SWEEP or minimise not in (None, COMPOSITES) or limits.fixed is not None:
            return None
        if SPREAD in limits.caps or any(_at_least_as_tight(key, f) for f in self.unswept):
            return None

        def swept() -> Allocation | None:
            caps = limits.caps
            largest, smallest = caps.get(LARGEST), caps.get(SMALLEST)
            classes = self.sweep.classes(largest, smallest, caps.get(COMPOSITES))
            split = self.neighbourhood.split
            children = None if classes is None else split(classes, largest, smallest)
            if classes is None or children is None:
                self.unswept.append(key)
                return None
            allocation = Allocation(classes, children)
            if not (self.obeys_rules(allocation) and self._within(allocation, key)):
                return None
            if start is not None and _by(COMPOSITES)(allocation) >= _by(COMPOSITES)(start):
                return None
            return allocation

        return swept

    def _nearby(self, limits: Limits, key: _Key) -> Iterator[Allocation | None] | None:
        """Return a search next to known allocations for one within the limits (see nearby).

        Its flows hold the largest, smallest and composites caps, not a spread cap.
        """
        if SPREAD in limits.caps or not self.known:
            return None
        caps = limits.caps
        starts = sorted(reversed(self.known), key=lambda a: _beyond(a, key.caps))[:_STARTS]
        steps = self.neighbourhood.search(
            [(a.classes, a.children) for a in starts],
            limits.exclude,
            largest=caps.get(LARGEST),
            smallest=caps.get(SMALLEST),
            composites=caps.get(COMPOSITES),
        )
        return self._checked(steps, key)

    def _checked(
        self,
        steps: Iterator[tuple[dict[Kind, int], dict[Kind, dict[str, int]]] | None],
        key: _Key,
    ) -> Iterator[Allocation | None]:
        """Yield the search's steps, its answer only once it obeys every rule and limit."""
        for found in steps:
            if found is None:
                yield None
                continue
            allocation = Allocation(*found)
            if self.obeys_rules(allocation) and self._within(allocation, key):
                yield allocation

    def _within(self, allocation: Allocation, key: _Key) -> bool:
        """Return whether a (valid) allocation keeps the limits of a solve (given as its key)."""
        structure = allocation.structure
        if key.fixed is not None:
            if structure != key.fixed:
                return False
        elif structure in key.exclude:
            return False
        return _beyond(allocation, key.caps) == 0

    def _counting(
        self, limits: Limits
    ) -> tuple[pulp.LpProblem, _Classes, _Children, dict[Kind, pulp.LpAffineExpression]]:
        """Return a model of the rules of SPEC section 1 and this solve's limits; and n, c, totals.

        The rules are built once per scenario and each solve copies them (building them was a
        third of each solve's time, adding them one by one still a tenth); only the limits of
        a solve are added to the copy.
        """
        base = self._base()
        for kind, var in base.n.items():
            var.lowBound, var.upBound = self.fewest[kind], self.most[kind]
            if limits.fixed is not None:
                var.lowBound = var.upBound = limits.fixed.get(kind, 0)
        problem = base.rules.copy()
        for measure in (LARGEST, SMALLEST, COMPOSITES):
            if measure in limits.caps:
                for name, constraint in self._capped(measure, limits.caps[measure]):
                    problem.addConstraint(constraint, name)
        if limits.exclude:
            self._exclude(problem, base.n, limits.exclude)
        return problem, base.n, base.c, base.totals

    def _base(self) -> _Base:
        """Return the variables and rules every solve shares (built on first use)."""
        if self._shared is not None:
            return self._shared
        s = self.scenario
        builder = pulp.LpProblem("classes", pulp.LpMinimize)
        n: _Classes = {}
        c: _Children = {}
        totals: dict[Kind, pulp.LpAffineExpression] = {}
        rules: list[tuple[str, pulp.LpConstraint]] = []
        for kind in self.kinds:
            name = self.names[kind]
            n[kind] = builder.add_variable(f"classes_{name}", 0, None, cat=pulp.LpInteger)
            c[kind] = {
                label: builder.add_variable(
                    f"children_{name}_{self.names[(label,)]}",
                    0,
                    self.children[label],
                    pulp.LpInteger,
                )
                for label in kind
            }
            totals[kind] = pulp.lpSum(c[kind].values())
            smallest, largest = self.limits[kind]
            rules.append((f"largest_class_{name}", totals[kind] <= largest * n[kind]))
            rules.append((f"smallest_class_{name}", totals[kind] >= smallest * n[kind]))
            if len(kind) > 1:
                for label, var in c[kind].items():
                    rules.append(
                        (
                            f"composite_minimum_{name}_{self.names[(label,)]}",
                            var >= s.composite_minimum * n[kind],
                        )
                    )
        for label in self.labels:
            rules.append(
                (
                    f"every_child_placed_{self.names[(label,)]}",
                    pulp.lpSum(c[k][label] for k in self.kinds if label in k)
                    == self.children[label],
                )
            )
        for name, (kinds, least) in self._class_count_cuts(None).items():
            rules.append((f"classes_for_grades_{name}", pulp.lpSum(n[k] for k in kinds) >= least))
        classes = pulp.lpSum(n.values())
        if s.use_every_teacher:
            rules.append((self._teachers_rule, classes == s.teachers))
        else:
            rules.append((self._teachers_rule, classes <= s.teachers))
        rules.append(("at_least_one_class", classes >= 1))
        for name, constraint in rules:
            builder.addConstraint(constraint, name)
        self._shared = _Base(n, c, totals, builder)
        return self._shared

    def _capped(self, measure: str, value: int) -> list[tuple[str, pulp.LpConstraint]]:
        """Return the constraints one cap adds to the rules (built once per cap)."""
        key = (measure, value)
        base = self._base()
        if key in base.capped:
            return base.capped[key]
        added: list[tuple[str, pulp.LpConstraint]] = []
        if measure == COMPOSITES:
            added.append(("composites_cap", self._composites(base.n) <= value))
        for kind in self.kinds:
            name, total, count = self.names[kind], base.totals[kind], base.n[kind]
            smallest, largest = self.limits[kind]
            if measure == LARGEST and value < largest:
                added.append((f"largest_cap_{name}", total <= value * count))
            if measure == SMALLEST and value > smallest:
                added.append((f"smallest_cap_{name}", total >= value * count))
        if measure == LARGEST:
            loose = self._class_count_cuts(None)
            for name, (kinds, least) in self._class_count_cuts(value).items():
                if least > loose[name][1]:
                    added.append(
                        (
                            f"classes_for_grades_{name}_capped",
                            pulp.lpSum(base.n[k] for k in kinds) >= least,
                        )
                    )
        base.capped[key] = added
        return added

    def _class_count_cuts(self, cap: int | None) -> dict[str, tuple[list[Kind], int]]:
        """Return valid bounds on the classes holding each run of consecutive grades.

        A class holds at most its largest size of a run's children (for one grade: at most its
        largest share), so the classes holding a run number at least the run's children over
        that, rounded up. Summed over grades these say what the solver's relaxation misses: a
        composite counts once but serves two grades, so a tight teacher count forces composites.
        Without them CBC needs seconds to tens of seconds on K-12 schools at the fewest teachers.
        """
        minimum = self.scenario.composite_minimum

        def largest(kind: Kind) -> int:
            size = self.limits[kind][1]
            return size if cap is None else min(size, cap)

        cuts: dict[str, tuple[list[Kind], int]] = {}
        for first in range(len(self.labels)):
            for last in range(first, len(self.labels)):
                run = set(self.labels[first : last + 1])
                children = sum(self.children[g] for g in run)
                kinds = [k for k in self.usable if run & set(k)]
                if children == 0 or not kinds:
                    continue
                # A class shares at most (largest - minimum * grades outside the run).
                share = max(
                    largest(k) - minimum * len([g for g in k if g not in run]) for k in kinds
                )
                if share <= 0:
                    continue
                name = f"{self.names[(self.labels[first],)]}_to_{self.names[(self.labels[last],)]}"
                cuts[name] = (kinds, -(-children // share))
        return cuts

    def _composites(self, n: Mapping[Kind, pulp.LpVariable]) -> pulp.LpAffineExpression:
        return pulp.lpSum(v for k, v in n.items() if len(k) > 1)

    def _exclude(
        self,
        problem: pulp.LpProblem,
        n: Mapping[Kind, pulp.LpVariable],
        structures: list[Mapping[Kind, int]],
    ) -> None:
        """Forbid structures: for each, some kind must run more classes than it does there.

        Classes are as many as teachers where every teacher is used, so an allocation of
        another structure runs more classes of some kind (and fewer of another): one binary
        per kind ("runs more", n >= (count + 1) * binary), at least one of them set. Where
        not every teacher must be used, fewer classes in all is the other way to differ. A
        structure no valid allocation has (counts out of reach, or too many classes) needs
        nothing. One binary per possible count of each kind, shared by every structure
        forbidden, made the model several times larger and the next-best questions of K-12
        schools about twice as slow (benchmarks/README.md, item 28).
        """
        every = self.scenario.use_every_teacher
        teachers = self.scenario.teachers
        classes = pulp.lpSum(n.values())
        for index, structure in enumerate(structures):
            counts = {kind: structure.get(kind, 0) for kind in n}
            total = sum(counts.values())
            if total > teachers or (every and total < teachers):
                continue  # no valid allocation has this many classes
            if any(not self.fewest[k] <= count <= self.most[k] for k, count in counts.items()):
                continue  # some kind cannot run that many classes
            ways = []
            for kind, count in counts.items():
                if count < self.most[kind]:
                    more = problem.add_variable(
                        f"more_than_{index}_{self.names[kind]}", cat=pulp.LpBinary
                    )
                    problem += n[kind] >= (count + 1) * more, f"more_{index}_{self.names[kind]}"
                    ways.append(more)
            if not every:
                fewer = problem.add_variable(f"fewer_than_{index}", cat=pulp.LpBinary)
                problem += classes + (teachers - total + 1) * fewer <= teachers, f"fewer_{index}"
                ways.append(fewer)
            if ways:
                problem += pulp.lpSum(ways) >= 1, f"other_structure_than_{index}"
            else:  # every valid allocation has this structure
                problem += classes <= total - 1, f"other_structure_than_{index}"

    def _measures(
        self,
        problem: pulp.LpProblem,
        n: Mapping[Kind, pulp.LpVariable],
        totals: Mapping[Kind, pulp.LpAffineExpression],
        limits: Limits,
        minimise: str | None,
    ) -> dict[str, pulp.LpAffineExpression]:
        """Return expressions for the measures this solve minimises or caps.

        Over every structure only the composites are minimised; the largest and smallest
        class are capped (bounds on each kind), the range is capped as a window of sizes
        (smallest and largest caps, one solve per window: see `window_starts`) and the
        spread as a window per grade. For one fixed structure every measure is linear.
        """
        caps = limits.caps
        if limits.fixed is not None:
            wanted = {minimise} | {m for m in caps if m in (RANGE, SPREAD)}
            return self._fixed_measures(problem, limits.fixed, totals, caps, wanted)
        if minimise not in (None, COMPOSITES) or RANGE in caps:
            raise ValueError(f"over every structure {minimise or RANGE} is only capped")
        if SPREAD in caps:
            self._spread_windows(problem, n, totals, caps)
        return {COMPOSITES: self._composites(n)}

    def window_starts(self, width: int, caps: Mapping[str, int]) -> list[int]:
        """Return the smallest sizes a window [a, a + width] holding every class can start at.

        Nearest the average class size first (the likeliest). The average lies in the window,
        so some number of classes (the teachers, or up to them when not every teacher must
        be used) has children / classes within it; starts no number of classes allows are
        left out (48 children in at most three classes average 48, 24 or 16: of the windows
        of width 0, only those at 16, 24 and 48 can hold every class).
        """
        if not self.usable:
            return []
        low = max(min(self.limits[k][0] for k in self.usable), caps.get(SMALLEST, 0))
        high = min(max(self.limits[k][1] for k in self.usable), caps.get(LARGEST, 10**9)) - width
        total, teachers = sum(self.children.values()), max(self.scenario.teachers, 1)
        fewest = teachers if self.scenario.use_every_teacher else 1

        def some_classes_fit(a: int) -> bool:
            most = teachers if a == 0 else min(teachers, total // a)
            return max(fewest, -(-total // max(a + width, 1))) <= most

        average = total / teachers
        starts = [a for a in range(max(low, 0), high + 1) if some_classes_fit(a)]
        return sorted(starts, key=lambda a: (abs(a + width / 2 - average), a))

    def _spread_windows(
        self,
        problem: pulp.LpProblem,
        n: Mapping[Kind, pulp.LpVariable],
        totals: Mapping[Kind, pulp.LpAffineExpression],
        caps: Mapping[str, int],
    ) -> None:
        """Keep every grade's classes within a window of sizes [a, a + spread].

        The window start is one binary per size; each kind's classes are split among the
        starts (continuous parts adding up to its classes), so "a·n <= total <= (a+spread)·n"
        stays linear and exact. This disaggregated form gives the solver a far tighter
        relaxation than switching the bounds on and off with large constants.
        """
        spread = caps[SPREAD]
        for label in self.labels:
            kinds = [k for k in self.usable if label in k]
            if not kinds or self.children[label] == 0:
                continue
            name = self.names[(label,)]
            low = max(min(self.limits[k][0] for k in kinds), caps.get(SMALLEST, 0))
            high = min(caps.get(LARGEST, 10**9), max(self.limits[k][1] for k in kinds))
            if high - low <= spread:
                continue  # every size this grade's classes can have already fits one window
            starts = {
                a: problem.add_variable(f"window_{name}_from_{a}", cat=pulp.LpBinary)
                for a in range(low, high - spread + 1)
            }
            problem += pulp.lpSum(starts.values()) == 1, f"one_window_{name}"
            for kind in kinds:
                part = {
                    a: problem.add_variable(
                        f"part_{name}_{self.names[kind]}_{a}", 0, self.most[kind]
                    )
                    for a in starts
                }
                where = f"{name}_{self.names[kind]}"
                problem += pulp.lpSum(part.values()) == n[kind], f"parts_{where}"
                for a, start in starts.items():
                    problem += part[a] <= self.most[kind] * start, f"part_{where}_{a}"
                problem += (
                    totals[kind] >= pulp.lpSum(a * p for a, p in part.items()),
                    f"window_floor_{where}",
                )
                problem += (
                    totals[kind] <= pulp.lpSum((a + spread) * p for a, p in part.items()),
                    f"window_ceiling_{where}",
                )

    def _fixed_measures(
        self,
        problem: pulp.LpProblem,
        fixed: Mapping[Kind, int],
        totals: Mapping[Kind, pulp.LpAffineExpression],
        caps: Mapping[str, int],
        wanted: set[str | None],
    ) -> dict[str, pulp.LpAffineExpression]:
        """Return the measures of a fixed structure: with counts known, all of them are linear.

        "Largest" is lexicographically first and "spread" second in one objective (weights);
        the largest class a structure can have is below the weight, so order is kept.
        """
        used = {k: count for k, count in fixed.items() if count > 0}
        top = max((self.limits[k][1] for k in used), default=1)
        measures: dict[str, pulp.LpAffineExpression] = {
            COMPOSITES: pulp.lpSum(count for k, count in used.items() if len(k) > 1)
        }
        largest = problem.add_variable("largest", 0, top, pulp.LpInteger)
        smallest = problem.add_variable("smallest", 0, top, pulp.LpInteger)
        for kind, count in used.items():
            name = self.names[kind]
            problem += totals[kind] <= count * largest, f"largest_{name}"
            problem += totals[kind] >= count * smallest, f"smallest_{name}"
        measures[LARGEST] = largest
        measures[SMALLEST] = -smallest
        measures[RANGE] = largest - smallest
        spread = problem.add_variable("spread", 0, top, pulp.LpInteger)
        if wanted & {SPREAD, BALANCE}:
            for label in self.labels:
                kinds = [k for k in used if label in k]
                if not kinds:
                    continue
                name = self.names[(label,)]
                most = problem.add_variable(f"largest_{name}", 0, top, pulp.LpInteger)
                least = problem.add_variable(f"smallest_{name}", 0, top, pulp.LpInteger)
                for kind in kinds:
                    problem += (
                        totals[kind] <= used[kind] * most,
                        f"{name}_in_{self.names[kind]}_at_most",
                    )
                    problem += (
                        totals[kind] >= used[kind] * least,
                        f"{name}_in_{self.names[kind]}_at_least",
                    )
                problem += spread >= most - least, f"spread_{name}"
        measures[SPREAD] = spread
        measures[BALANCE] = (top + 1) * largest + spread
        if RANGE in caps:
            problem += measures[RANGE] <= caps[RANGE], "range_cap"
        if SPREAD in caps:
            problem += spread <= caps[SPREAD], "spread_cap"
        return measures

    def least_largest(self, allocation: Allocation, smallest: int | None = None) -> Allocation:
        """Return an allocation of the same structure with its smallest largest class.

        With the class counts fixed, whether every class can have at most L children (and at
        least `smallest`) is a max-flow (nearby.Neighbourhood.split): a bisection over L
        settles the smallest exactly, in a few milliseconds and without a solver.
        """
        classes = dict(allocation.classes)
        best = allocation
        low = -(-sum(self.children.values()) // max(sum(classes.values()), 1))
        high = allocation.measure(LARGEST) - 1
        while low <= high:
            middle = (low + high) // 2
            children = self.neighbourhood.split(classes, largest=middle, smallest=smallest)
            found = None if children is None else Allocation(classes, children)
            if found is None or not self.obeys_rules(found):
                low = middle + 1
            else:
                best, high = found, found.measure(LARGEST) - 1
        return best

    def highest(self, measure: str) -> int:
        """Return a value of the largest class (or the range) no allocation can exceed."""
        if not self.usable:
            return 0
        top = max(self.limits[k][1] for k in self.usable)
        return top - min(self.limits[k][0] for k in self.usable) if measure == RANGE else top

    def lower_largest(self) -> int:
        """Return a proven lower bound on the largest class: the average over the most classes."""
        total = sum(self.children.values())
        return max(1, -(-total // max(self.scenario.teachers, 1)))

    # -- solving --------------------------------------------------------------------------

    def _run(
        self,
        problem: pulp.LpProblem,
        n: _Classes,
        c: _Children,
        seconds: float,
        start: Allocation | None = None,
        search: Iterator[Allocation | None] | None = None,
        later: Callable[[], Allocation | None] | None = None,
        restated: highs.Restated | None = None,
        restated_for_cbc: bool = False,
    ) -> Solve:
        """Return what the solver (or, for CBC, the search beside it) found.

        later, for CBC, works out a start for one more CBC while CBC works (see cbc.solve).
        The solver "highs" is HiGHS alone, run as HiGHS racing CBC is (cbc.solve). restated
        is the question put another way, for HiGHS and, where restated_for_cbc, for CBC too.
        """
        seconds = max(seconds, 0.05)

        def values(allocation: Allocation | None) -> dict[pulp.LpVariable, float]:
            if allocation is None:
                return {}
            found: dict[pulp.LpVariable, float] = {}
            for kind, var in n.items():
                found[var] = allocation.classes.get(kind, 0)
                for label, part in c[kind].items():
                    found[part] = allocation.children.get(kind, {}).get(label, 0)
            return found

        only_highs = self.solver == "highs"
        try:
            began = time.perf_counter()
            found = cbc.solve(
                problem,
                seconds,
                values(start),
                None if only_highs else search,
                quick=self.slowest is not None and self.slowest < QUICK_BELOW,
                later=None if later is None or only_highs else lambda: values(later()),
                hard=self._hard,
                # With the class counts (and every other integer) fixed, children per grade
                # and kind are a network flow with whole-number limits.
                whole_by_flow=[v for grades in c.values() for v in grades.values()],
                only_highs=only_highs,
                restated=restated,
                restated_for_cbc=restated_for_cbc,
            )
            took = time.perf_counter() - began
            self.slowest = took if self.slowest is None else max(self.slowest, took)
            if found is not None:  # valid, but not proven best for the objective
                return Solve(Outcome.FEASIBLE, found)
        except pulp.PulpSolverError:
            return Solve(Outcome.UNKNOWN)
        status, solution = problem.status, problem.sol_status
        if status == pulp.LpStatusInfeasible:
            return Solve(Outcome.INFEASIBLE)
        if status != pulp.LpStatusOptimal or solution not in (
            pulp.LpSolutionOptimal,
            pulp.LpSolutionIntegerFeasible,
        ):
            return Solve(Outcome.UNKNOWN)
        allocation = Allocation(
            {k: _integer(v) for k, v in n.items()},
            {k: {g: _integer(v) for g, v in c[k].items()} for k in n},
        )
        if not self.obeys_rules(allocation):
            # A solver that stops early can hand back an inexact point; never pass it on.
            return Solve(Outcome.UNKNOWN)
        proven = solution == pulp.LpSolutionOptimal
        return Solve(Outcome.OPTIMAL if proven else Outcome.FEASIBLE, allocation)

    def obeys_rules(self, allocation: Allocation) -> bool:
        """Return whether an allocation obeys every rule of the scenario (SPEC section 1)."""
        s = self.scenario
        placed = dict.fromkeys(self.labels, 0)
        classes = 0
        for kind, count in allocation.classes.items():
            fewest, most = s.count_limits(kind)
            if count < (fewest or 0) or (most is not None and count > most):
                return False
            grades = allocation.children[kind]
            for label, number in grades.items():
                placed[label] += number
            if count == 0:
                if any(grades.values()):
                    return False
                continue
            classes += count
            smallest, largest = self.limits[kind]
            low, high = allocation.sizes(kind)
            if low < smallest or high > largest:
                return False
            if len(kind) > 1 and min(grades.values()) < s.composite_minimum * count:
                return False
        if placed != self.children:
            return False
        return classes == s.teachers if s.use_every_teacher else 1 <= classes <= s.teachers


def _by(minimise: str) -> Callable[[Allocation], tuple[object, ...]]:
    """Return a sort key putting the allocation best for what a solve minimises first."""
    order = {BALANCE: (LARGEST, SPREAD), SMALLEST: ()}.get(minimise, (minimise,))
    return lambda allocation: (
        *(allocation.measure(m) for m in order),
        -allocation.measure(SMALLEST),
        allocation.structure,
    )


def _past(measure: str, value: int, cap: int) -> int:
    """Return by how much a value of a measure passes its cap (0: within it).

    Every cap is an upper bound but the smallest class's, which is a lower one.
    """
    return max(0, (cap - value) if measure == SMALLEST else (value - cap))


def _beyond(allocation: Allocation, caps: Iterable[tuple[str, int]]) -> int:
    """Return by how much the allocation's measures pass the caps, summed (0: within them)."""
    return sum(_past(measure, allocation.measure(measure), cap) for measure, cap in caps)


@dataclass(frozen=True)
class _Key:
    """The limits of a solve as a key, as they were when asked.

    Callers may change their caps afterwards; structures are spelled as structure_of does,
    and the order of caps and exclusions does not matter.
    """

    caps: tuple[tuple[str, int], ...]
    exclude: frozenset[tuple[tuple[Kind, int], ...]]
    fixed: tuple[tuple[Kind, int], ...] | None


def _key(limits: Limits) -> _Key:
    caps = dict(limits.caps)
    fixed = None if limits.fixed is None else structure_of(limits.fixed)
    if fixed is not None and composites_of(dict(fixed)) <= caps.get(COMPOSITES, -1):
        # A fixed structure's composites are fixed: a cap they keep limits nothing.
        del caps[COMPOSITES]
    excluded = frozenset(structure_of(e) for e in limits.exclude)
    return _Key(tuple(sorted(caps.items())), excluded, fixed)


#: Measures a solve can both minimise and cap (the smallest class is capped from below).
_CAPPED = (COMPOSITES, LARGEST, SMALLEST, RANGE, SPREAD)


def _beaten(key: _Key, measure: str, allocation: Allocation) -> _Key | None:
    """Return the limits of key with the measure capped just better than the allocation's
    (None: no value is better, such as no composites)."""
    value = allocation.measure(measure)
    if measure == SMALLEST:
        better = value + 1
    elif value > 0:
        better = value - 1
    else:
        return None
    # The allocation keeps the key's own cap on the measure, if any: this one is tighter.
    caps = {**dict(key.caps), measure: better}
    return _Key(tuple(sorted(caps.items())), key.exclude, key.fixed)


def _at_least_as_tight(key: _Key, proven: _Key) -> bool:
    """Return whether every allocation within the limits of key is within the proven ones too.

    So it is when the fixed structure is the same, every structure forbidden there is
    forbidden here, and every cap there is here, as tight or tighter.
    """
    if key.fixed != proven.fixed or not proven.exclude <= key.exclude:
        return False
    caps = dict(key.caps)
    return all(m in caps and _past(m, caps[m], cap) == 0 for m, cap in proven.caps)


def _integer(var: pulp.LpVariable) -> int:
    value = var.value()
    return 0 if value is None else int(round(value))


def _safe(kind: Kind) -> str:
    """Return a readable, solver-safe spelling of a kind (LP files allow few characters)."""
    return "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in "_".join(kind))


def available_solvers() -> list[str]:
    """Return the solvers that can run here (CBC is bundled with pulp; HiGHS runs through
    highs.Run wherever highspy imports, as cbc.solve checks)."""
    found = ["cbc"] if cbc.bundled_cbc().available() else []
    if highs.available():
        found.append("highs")
    return found
