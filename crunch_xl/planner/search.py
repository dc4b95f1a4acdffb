"""The lexicographic search: questions to the solver, answered, remembered, within a deadline.

Every question the solver gets is "is there an allocation whose classes keep these sizes, with
at most so many composites, of a structure not excluded?" (the solver also minimises the
composites, which makes impossible questions quick to prove). A range cap is asked as one such
question per window of sizes [a, a + range]. The solver only ever names a structure; what a
structure can reach is worked out here, exactly, with flows and splits.py.

`Search.best` ranks allocations by a ranking in two parts:
- its *head* (every measure before the spread: composites, spare, range) is settled by the
  solver, one measure after the other. Each improves step by step, asking for a structure
  better than the best so far (each found is measured at its best, which often jumps
  further) until the answer is "none"; the fewest composites starts from the best structure
  already found, or, with none found, is asked of the solver directly;
- its *tail* (the spread and what follows) is settled by listing every structure that
  reaches the head's best values (listing.py) and measuring each exactly: a spread is far
  quicker to measure for one structure than to prove over all of them.
So the result never depends on which structure a solver happened to name: every structure
that could be best is known, and equals are ordered by the school's tie rule
(School.tie_key).

Answers are remembered for the scenario: a question a structure already found answers needs no
solver, and one whose caps are at least as tight as a question proven impossible is impossible
too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pulp

from crunch_xl.model import Kind
from crunch_xl.planner import listing_worker, parts
from crunch_xl.planner.flows import Transport
from crunch_xl.planner.formulation import Estimates, Model, Objective, Question, Teachers, build
from crunch_xl.planner.listing import Steps, first_to_finish, structures
from crunch_xl.planner.ranking import Caps, Measure
from crunch_xl.planner.school import Allocation, Measures, School, Structure
from crunch_xl.planner.solvers.base import Answer, Backend, Outcome
from crunch_xl.planner.splits import Values, best_split, fits, least_range, most_spare, whole_values


class OutOfTime(Exception):
    """The time limit ran out before a question was settled."""


@dataclass(frozen=True)
class Ranked:
    """What `Search.best` found: every structure reaching the best values of the ranking's
    head, with rule 1's values, ranked (the first is the best); and whether it is proven.

    `caps` are the caps asked for: each structure is shown split at its best within them.
    """

    structures: list[tuple[Structure, Values]]
    caps: Caps
    proven: bool

    @property
    def first(self) -> Structure:
        """Return the best structure."""
        return self.structures[0][0]


@dataclass(frozen=True)
class _Proven:
    """A question proven to have no answer."""

    caps: Caps
    exclude: frozenset[Structure]
    cover: Estimates | None


@dataclass
class Search:
    """Answers questions about one school within one deadline."""

    school: School
    solver: Backend
    order: tuple[Measure, ...]
    deadline: float
    #: Where to write each model asked, as an LP file (None: nowhere).
    models: Path | None = None
    solves: int = 0
    _known: list[Structure] = field(default_factory=list)
    _impossible: list[_Proven] = field(default_factory=list)
    _splits: dict[tuple[Structure, Caps], Allocation | None] = field(default_factory=dict)
    _values: dict[Structure, dict[Caps, Values | None]] = field(default_factory=dict)
    _levels: dict[tuple[Caps, Estimates | None], list[Structure]] = field(default_factory=dict)

    # -- what one structure can reach -------------------------------------------------------

    def split(self, structure: Structure, caps: Caps) -> Allocation | None:
        """Return the structure's split by the rule of splits.py within the caps."""
        key = (structure, caps)
        if key not in self._splits:
            self._splits[key] = best_split(self.school, structure, caps, self.order, self._solve)
        return self._splits[key]

    def values(self, structure: Structure, caps: Caps) -> Values | None:
        """Return the best values of the split order's measures the structure reaches.

        Where its best split within looser caps keeps these caps too, that split is the best
        within these: its values are these caps' values, with no split measured again.
        """
        known = self._values.setdefault(structure, {})
        if caps not in known:
            looser = (
                found
                for other, found in known.items()
                if found is not None and _still_best(found, other, caps)
            )
            known[caps] = next(looser, None) or whole_values(
                self.school, structure, caps, self.order, self._solve
            )
        return known[caps]

    def measures(self, allocation: Allocation) -> Measures:
        """Return an allocation's measures."""
        return self.school.measures(allocation)

    def composites(self, structure: Structure) -> int:
        """Return the composite classes of a structure."""
        return _composites(structure)

    def head(self, structure: Structure, caps: Caps, measure: Measure) -> int | None:
        """Return the best value of a head measure the structure reaches within the caps."""
        if measure is Measure.COMPOSITES:
            return self.composites(structure)
        if measure is Measure.SPARE:
            return most_spare(self.school, structure, caps)
        if measure is Measure.RANGE:
            reached = least_range(self.school, structure, caps)
            return None if reached is None else reached[0]
        raise ValueError(f"{measure} is not settled by the solver")

    def keeps(self, structure: Structure, question: Question) -> bool:
        """Return whether some split of the structure answers the question (the best splits
        already measured spare a range cap its least range where one keeps the caps)."""
        measured = self._values.get(structure, {}).values()
        return answers(self.school, structure, question, measured)

    def covers(self, structure: Structure, estimates: Estimates) -> bool:
        """Return whether the structure's classes hold every enrolment within the estimates."""
        return covers(self.school, structure, estimates)

    # -- single questions -------------------------------------------------------------------

    def ask(self, question: Question, *, fewest: bool = False) -> Structure | None:
        """Return a structure answering the question (None: proven that none exists).

        With fewest, the structure has the fewest composites within the caps (the solver
        proves it); otherwise any will do, and one already found is used when it keeps the
        caps. Raises OutOfTime when the deadline passes first.
        """
        # An excluded structure that cannot keep the caps anyway needs no exclusion: each one
        # the solver must rule out costs it time (binaries that relax poorly).
        relevant = frozenset(
            s for s in question.exclude if self.keeps(s, replace(question, exclude=frozenset()))
        )
        question = replace(question, exclude=relevant)
        if self._proven_impossible(question):
            return None
        if not fewest:
            for structure in self._known:
                if self.keeps(structure, question):
                    return structure
        caps = question.caps
        if caps.range is None:
            if fewest:
                return self._fewest(question)
            return self._solve_question(question, first=True)
        found: Structure | None = None
        for window in self._windows(caps):
            if found is not None:
                # Only fewer composites than the best so far would change the answer.
                if self.composites(found) == 0:
                    break
                window = window.at(Measure.COMPOSITES, self.composites(found) - 1)
            answer = self.ask(
                Question(window, question.exclude, cover=question.cover), fewest=fewest
            )
            if answer is None:
                continue
            if not fewest:
                return answer
            if found is None or self.composites(answer) < self.composites(found):
                found = answer
        if found is None:
            self._remember_impossible(question)
        return found

    def _fewest(self, question: Question) -> Structure | None:
        """Return a structure with the fewest composites answering a question without a range
        cap (None: there is none).

        Where a structure already found answers it, that one is improved on step by step: the
        solver is asked for any answer with fewer composites until there is none, which its
        linear relaxation often settles at once. Otherwise the solver is asked for the fewest.
        """
        known = [s for s in self._known if self.keeps(s, question)]
        if not known:
            return self._solve_question(question)
        best = min(known, key=self.composites)
        while self.composites(best) > 0:
            fewer = question.caps.at(Measure.COMPOSITES, self.composites(best) - 1)
            found = self.ask(replace(question, caps=fewer))
            if found is None:
                break
            best = found
        return best

    def exists(self, *, fewest: bool = True) -> Structure | None:
        """Return a structure of some allocation (None: there is none); with fewest, one with
        the fewest composites of any. Asked first as the fewest classes with at most one per
        teacher.

        Where every teacher must be used and some allocation has exactly as many classes as
        teachers but none fewer, that question has the same answer, and the solver proves
        "too few teachers" there far faster than with exactly that many classes (on a K-12
        school one raised class limit: a few hundredths of a second against several seconds).
        Otherwise the question is asked as it is.
        """
        question = Question()
        if self.school.every_teacher:
            restated = Question(objective=Objective.FEWEST_CLASSES, teachers=Teachers.AT_MOST)
            before = set(self._known)
            found = self._solve_question(restated, first=not fewest)
            if found is None:
                self._remember_impossible(question)
                return None
            if sum(count for _, count in found) == self.school.teachers:
                return found
            if found not in before:
                # Fewer classes than teachers: no answer to the question as it is.
                self._known.remove(found)
        return self.ask(question, fewest=fewest)

    def _windows(self, caps: Caps) -> list[Caps]:
        """Return a range cap as windows of sizes [a, a + range], one per start a."""
        assert caps.range is not None
        return [
            Caps(
                composites=caps.composites,
                spare=caps.spare,
                largest=min(start + caps.range, caps.largest or start + caps.range),
                smallest=max(start, caps.smallest or start),
            )
            for start in self._window_starts(caps)
        ]

    def _window_starts(self, caps: Caps) -> list[int]:
        """Return the smallest class sizes a window [a, a + range] holding every class can
        start at, given the caps.

        Some number of classes (the teachers, or up to them where not every teacher must be
        used) has its average class size within the window, which leaves few starts.
        """
        assert caps.range is not None
        usable = self.school.usable
        if not usable:
            return []
        low = min(self.school.limits[kind][0] for kind in usable)
        high = max(self.school.limits[kind][1] for kind in usable)
        if caps.smallest is not None:
            low = max(low, caps.smallest)
        if caps.largest is not None:
            high = min(high, caps.largest)
        total = sum(self.school.children.values())
        teachers = self.school.teachers
        counts = [teachers] if self.school.every_teacher else range(1, teachers + 1)
        # A range wider than every size allowed leaves one window, from the smallest.
        return [
            start
            for start in range(low, max(low, high - caps.range) + 1)
            if any(start * count <= total <= (start + caps.range) * count for count in counts)
        ]

    def _solve_question(self, question: Question, *, first: bool = False) -> Structure | None:
        """Return the solver's answer to a question without a range cap (with first, any
        structure within its caps; else the one that is best for its objective)."""
        model = build(self.school, question)
        if model is None:
            self._remember_impossible(question)
            return None
        # Asked for any answer, the question is often impossible (a variant an explanation
        # tries, a better value of a measure), and the linear relaxation often proves so in a
        # fraction of the time the whole question takes.
        relaxed = self._solve(model.problem, relaxed=True) if first else None
        if relaxed is not None and relaxed.outcome is Outcome.INFEASIBLE:
            self._remember_impossible(question)
            return None
        answer = parts.answer(
            self.school, question, model, self._solve, first=first, relaxed=relaxed
        )
        if answer.outcome is Outcome.INFEASIBLE:
            self._remember_impossible(question)
            return None
        if answer.outcome is not Outcome.OPTIMAL:
            raise OutOfTime
        structure = model.structure(self.school, answer.values)
        if question.teachers is Teachers.AS_SET and not self.keeps(structure, question):
            raise RuntimeError(f"the solver named {structure}, which does not keep its caps")
        if structure not in self._known:
            self._known.append(structure)
        return structure

    def _solve(
        self, problem: pulp.LpProblem, *, relaxed: bool = False, first: bool = False
    ) -> Answer:
        """Return the solver's answer within what is left of the time limit."""
        remaining = self.deadline - time.perf_counter()
        if remaining <= 0:
            raise OutOfTime
        self.solves += 1
        if self.models is not None:
            self.models.mkdir(parents=True, exist_ok=True)
            problem.writeLP(str(self.models / f"{self.solves:03d}-{problem.name}.lp"))
        return self.solver.solve(problem, remaining, relaxed=relaxed, first=first)

    def _proven_impossible(self, question: Question) -> bool:
        return any(
            proven.cover == question.cover
            and question.exclude >= proven.exclude
            and question.caps.at_least_as_tight(proven.caps)
            for proven in self._impossible
        )

    def _remember_impossible(self, question: Question) -> None:
        self._impossible.append(_Proven(question.caps, question.exclude, question.cover))

    # -- lexicographic search ---------------------------------------------------------------

    def best(
        self,
        ranking: Sequence[Measure],
        caps: Caps | None = None,
        exclude: frozenset[Structure] = frozenset(),
        cover: Estimates | None = None,
        *,
        complete: bool = True,
    ) -> Ranked | None:
        """Return the structures best by the ranking within the caps (None: there is none).

        Every structure reaching the best values of the ranking's head is returned, ranked by
        the whole ranking (each measured at its best within the caps given), then the tie
        rule; so the result is the same however the search got there. Without complete, only
        the head is proven, and one structure reaching it returned.
        """
        base = caps or Caps()
        caps = base
        incumbent: Structure | None = None
        try:
            for measure in _head(ranking):
                if measure is Measure.COMPOSITES or incumbent is None:
                    fewest = measure is Measure.COMPOSITES
                    incumbent = self.ask(Question(caps, exclude, cover=cover), fewest=fewest)
                    if incumbent is None:
                        return None
                value = self.head(incumbent, caps, measure)
                assert value is not None
                if measure is not Measure.COMPOSITES:
                    while True:
                        better = caps.at(measure, measure.better(value))
                        found = self.ask(Question(better, exclude, cover=cover))
                        if found is None:
                            break
                        incumbent = found
                        value = self.head(found, better, measure)
                        assert value is not None
                caps = caps.at(measure, value)
        except OutOfTime:
            if incumbent is None:
                raise
            return self._ranked([incumbent], ranking, base, proven=False)
        assert incumbent is not None, "a ranking has at least one measure"
        if not complete:
            return self._ranked([incumbent], ranking, base, proven=True)
        try:
            listed = self.level(caps, exclude, cover)
        except OutOfTime:
            return self._ranked([incumbent], ranking, base, proven=False)
        if incumbent not in listed:
            raise RuntimeError(f"the structure {incumbent} keeps {caps} but was not listed")
        return self._ranked(listed, ranking, base, proven=True)

    def level(
        self, caps: Caps, exclude: frozenset[Structure], cover: Estimates | None
    ) -> list[Structure]:
        """Return every structure within the caps, not excluded (listing.py), in tie order."""
        question = Question(caps, exclude, cover=cover)
        bounds = caps
        if caps.range is not None:
            # Every class lies within one of the windows a range allows: their hull bounds
            # every class size.
            starts = self._window_starts(caps)
            if not starts:
                return []
            bounds = Caps(
                composites=caps.composites,
                spare=caps.spare,
                largest=min(max(starts) + caps.range, caps.largest or max(starts) + caps.range),
                smallest=max(min(starts), caps.smallest or min(starts)),
            )
        key = (caps, cover)
        if key not in self._levels:
            # A level listed for looser caps holds every structure of this one.
            looser = [
                listed
                for (other, covered), listed in self._levels.items()
                if covered == cover and caps.at_least_as_tight(other)
            ]
            if looser:
                within = Question(caps, cover=cover)
                self._levels[key] = [s for s in min(looser, key=len) if self.keeps(s, within)]
            else:
                self._levels[key] = self._list(bounds, Question(caps, cover=cover))
        return [s for s in self._levels[key] if s not in exclude and self.keeps(s, question)]

    def _list(self, bounds: Caps, question: Question) -> list[Structure]:
        """Return every structure keeping the question (no exclusions), in tie order: listed
        by the search over class counts and by the solver in turns (listing.py), the first
        to finish giving the list. Where every model asked is written out, the solver lists
        alone, so the same models are written on every run."""
        by_solver = self._listed_by_solver(question)
        if self.models is not None:
            return first_to_finish([by_solver])
        elsewhere = listing_worker.start(self.school.scenario, bounds, question)
        if elsewhere is not None:
            return first_to_finish([by_solver], elsewhere=elsewhere)
        by_search = structures(self.school, bounds, lambda s: self.keeps(s, question))
        return first_to_finish([by_search, by_solver])

    def _listed_by_solver(self, question: Question) -> Steps[list[Structure]]:
        """List every structure keeping the question, box by box, one solve a step."""
        caps = question.caps
        windows = [caps] if caps.range is None else self._windows(caps)
        found: set[Structure] = set()
        for window in windows:
            found.update((yield from self._boxes(Question(window, cover=question.cover))))
        return sorted((s for s in found if self.keeps(s, question)), key=self.school.tie_key)

    def _boxes(self, question: Question) -> Steps[list[Structure]]:
        """List every structure answering a question without a range cap, box by box, one
        solve a step; a school in parts part by part, where the relaxation leaves the first
        parts few class counts (parts.py): each part's structures are listed on their own
        and paired."""
        model = build(self.school, question)
        if model is None:
            return []
        if model.part is not None:
            yield
            values = parts.values(model, self._solve)
            if values is not None:
                return (yield from self._boxes_apart(question, model, values))
        every = self.school.every_teacher
        known = [s for s in self._known if self.keeps(s, question)]
        return (yield from self._boxes_of(model, question, self.school.teachers, every, known))

    def _boxes_apart(
        self, question: Question, model: Model, values: range
    ) -> Steps[list[Structure]]:
        """List every structure answering a question for a school in parts, with each of
        these counts of classes in its first parts: each part's structures listed box by box
        in its own model, within what the others' fewest composites leave of the cap, then
        paired."""
        cap = question.caps.composites
        found: list[Structure] = []
        for value in values:
            yield
            sides = parts.fewest(self.school, question, model, value, self._solve)
            last = sides[-1].answer
            if last.outcome is Outcome.INFEASIBLE:
                continue
            if last.outcome is not Outcome.OPTIMAL:
                raise OutOfTime
            least = sum(side.composites for side in sides)
            if cap is not None and least > cap:
                continue
            listed: list[list[Structure]] = []
            for side in sides:
                assert side.model.composites is not None
                if cap is not None:
                    side.model.composites.upBound = cap - least + side.composites
                fewest, most = side.classes
                if most is None:  # no most in all: at most what its kinds can run
                    most = sum(int(var.upBound) for var in side.model.classes.values())
                known = [side.model.structure(self.school, side.answer.values)]
                listed.append(
                    (yield from self._boxes_of(side.model, None, most, fewest == most, known))
                )
            first, rest = listed
            found.extend(
                self.school.structure({**dict(one), **dict(other)})
                for one in first
                for other in rest
                if cap is None or _composites(one) + _composites(other) <= cap
            )
        return found

    def _boxes_of(
        self,
        model: Model,
        question: Question | None,
        most: int,
        every: bool,
        known: list[Structure],
    ) -> Steps[list[Structure]]:
        """List every structure of a model, box by box, one solve a step: a whole school's
        model where the question is given (its questions may be asked part by part), else a
        part's own. Its classes number at most `most`, exactly that where `every`; `known`
        are structures of the model already found, which answer any box holding them with
        no solve.

        Each structure found splits what is left into boxes of class counts that do not
        overlap and together miss only that structure (by the first kind, in a fixed order,
        where another structure runs more classes, or fewer). A box is a plain question with
        tighter bounds: the solver settles it far faster than the same question with every
        structure found so far forbidden.
        """
        kinds = list(model.classes)
        fixed = {kind: (var.lowBound or 0, var.upBound) for kind, var in model.classes.items()}
        found: list[Structure] = []
        boxes: list[dict[Kind, tuple[int, int]]] = [dict(fixed)]
        while boxes:
            box = boxes.pop()
            if sum(low for low, _ in box.values()) > most:
                continue
            for kind, (low, high) in box.items():
                model.classes[kind].lowBound, model.classes[kind].upBound = low, high
            # Boxes do not overlap and none holds a structure found before: one already
            # known that lies in this box is a new answer.
            held = next((s for s in known if _within(s, box)), None)
            if held is not None:
                structure = held
            else:
                # Most boxes hold nothing, and their linear relaxation says so in a fraction
                # of the time the whole question takes.
                yield
                relaxed = self._solve(model.problem, relaxed=True)
                if relaxed.outcome is Outcome.INFEASIBLE:
                    continue
                yield
                if question is None:
                    answer = self._solve(model.problem, first=True)
                else:
                    answer = parts.answer(
                        self.school, question, model, self._solve, first=True, relaxed=relaxed
                    )
                if answer.outcome is Outcome.INFEASIBLE:
                    continue
                if answer.outcome is not Outcome.OPTIMAL:
                    raise OutOfTime
                structure = model.structure(self.school, answer.values)
            found.append(structure)
            counts = dict(structure)
            for index, kind in enumerate(kinds):
                low, high = box[kind]
                count = counts.get(kind, 0)
                # Where the classes add up to the teachers, another structure runs more of
                # some kind: the first such kind, the ones before it at most as many as
                # here. Otherwise the first kind that differs, the ones before it the same.
                before = {
                    k: (lo, min(hi, counts.get(k, 0))) if every else (counts.get(k, 0),) * 2
                    for k, (lo, hi) in ((k, box[k]) for k in kinds[:index])
                }
                if count < high:
                    boxes.append({**box, **before, kind: (count + 1, high)})
                if not every and count > low:
                    boxes.append({**box, **before, kind: (low, count - 1)})
        return found

    def _ranked(
        self, found: list[Structure], ranking: Sequence[Measure], caps: Caps, proven: bool
    ) -> Ranked:
        """Return the structures ranked by the whole ranking, then the tie rule."""
        entries = []
        for structure in found:
            values = self.values(structure, caps)
            assert values is not None, "a structure found keeps the caps"
            values = {**values, Measure.COMPOSITES: self.composites(structure)}
            key = tuple(measure.key(values[measure]) for measure in ranking)
            entries.append((key, self.school.tie_key(structure), structure, values))
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        return Ranked([(structure, values) for _, _, structure, values in entries], caps, proven)


def _within(structure: Structure, box: dict[Kind, tuple[int, int]]) -> bool:
    """Return whether a structure's class counts lie within a box of them."""
    counts = dict(structure)
    return all(low <= counts.get(kind, 0) <= high for kind, (low, high) in box.items()) and all(
        kind in box for kind in counts
    )


def _head(ranking: Sequence[Measure]) -> tuple[Measure, ...]:
    """Return the measures of a ranking the solver settles: those before the spread."""
    head = []
    for measure in ranking:
        if measure is Measure.SPREAD:
            break
        head.append(measure)
    return tuple(head)


def answers(
    school: School,
    structure: Structure,
    question: Question,
    measured: Iterable[Values | None] = (),
) -> bool:
    """Return whether some split of the structure answers the question.

    `measured` are the values of best splits of the structure already measured (within any
    caps; None where none kept them). A range cap is otherwise checked by working out the
    structure's least range, a bisection of flows: where one of those splits keeps the caps,
    it answers the question. For other caps the check is a flow already remembered, cheaper
    than looking.
    """
    caps = question.caps
    if structure in question.exclude:
        return False
    if caps.composites is not None and _composites(structure) > caps.composites:
        return False
    if caps.range is not None:
        if not any(values is not None and _kept(values, caps) for values in measured):
            reached = least_range(school, structure, caps)
            if reached is None or reached[0] > caps.range:
                return False
    elif not fits(school, structure, caps):
        return False
    return question.cover is None or covers(school, structure, question.cover)


def _composites(structure: Structure) -> int:
    """Return the composite classes of a structure."""
    return sum(count for kind, count in structure if len(kind) > 1)


def covers(school: School, structure: Structure, estimates: Estimates) -> bool:
    """Return whether the structure's classes hold every enrolment within the estimates."""
    transport = Transport(structure, school.minimum)
    totals = {
        kind: (school.limits[kind][0] * n, school.limits[kind][1] * n) for kind, n in structure
    }
    top = {label: (count, 10**9) for label, count in estimates.high.items()}
    bottom = {label: (0, count) for label, count in estimates.low.items()}
    return transport.split(top, totals) is not None and (
        transport.split(bottom, totals) is not None
    )


def _kept(values: Values, caps: Caps, given: Caps | None = None) -> bool:
    """Return whether the split with these values keeps the caps; False where the values do
    not say. Left aside: a cap on composites (it limits the structure, not its split), and
    caps equal to those `given`, within which the split was found."""
    for measure in Measure:
        cap = caps.get(measure)
        if measure is Measure.COMPOSITES or cap is None:
            continue
        if given is not None and cap == given.get(measure):
            continue
        if measure not in values or not measure.keeps(values[measure], cap):
            return False
    return True


def _still_best(values: Values, looser: Caps, caps: Caps) -> bool:
    """Return whether the best split within the looser caps, with these values, keeps the
    caps (and so is the best within them too)."""
    return caps.at_least_as_tight(looser) and _kept(values, caps, looser)
