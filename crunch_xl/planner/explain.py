"""Why an impossible scenario cannot be planned, and the smallest single changes that fix it.

An administrator whose plan is impossible needs the numbers that clash and what to change,
never a solver status. ``explain`` gives both:

- the reason: the simplest *proven* reason found, tried in this order — arithmetic on one
  grade's or composite's numbers, the class-count settings against the teachers, the smallest
  classes against the teachers, then the whole school's fewest and most classes worked out by
  asking the planner about relaxed scenarios (no teacher limit, fewer rules), and last a plain
  admission that no simple reason was found;
- suggestions: for each kind of single change (teachers up or down, "use every teacher" off,
  one grade's or composite's largest or smallest class, the composite minimum, an extra
  composite of neighbouring grades) the smallest change that makes the scenario solvable.
  Each change loosens the rules, so solvability only grows with its size: the smallest one is
  found by galloping then bisecting with ``plan.is_feasible``. Only the few shown are solved
  in full with ``plan.plan``, which proves they work and tells what option 1 would look like.

``warnings`` flags valid but suspicious input: composites that can never run and grades too
small to fill one class of their own.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

from crunch_xl import words
from crunch_xl.model import (
    Composite,
    Grade,
    Kind,
    Priority,
    Repair,
    Scenario,
    Suggestion,
)
from crunch_xl.planner.ranking import SPLIT_ORDERS
from crunch_xl.planner.school import School
from crunch_xl.planner.search import OutOfTime, Search
from crunch_xl.planner.solvers import backend

#: A grade or a composite: either has its own smallest and largest class.
_Sized = TypeVar("_Sized", Grade, Composite)

#: Suggestions shown at most, and at most this many changing the same field (variety helps).
MAX_SUGGESTIONS = 5
_PER_FIELD = 2

#: Every field a suggestion may change (SPEC section 3), in the order ties are shown.
FIELDS = (
    Repair.TEACHERS,
    Repair.LARGEST_CLASS,
    Repair.SMALLEST_CLASS,
    Repair.ALLOW_COMPOSITE,
    Repair.COMPOSITE_MINIMUM,
    Repair.USE_EVERY_TEACHER,
)

#: Class counts tried either side of the teachers before giving up on a teachers suggestion.
_TEACHER_STEPS = 8
#: A class size is changed by at most half its value (at least 3): past that a suggestion is no
#: longer a repair an administrator would consider.
_SIZE_CHANGE = 0.5
#: Share of the time limit the searches may use; the rest is kept for the final solves.
_SEARCH_SHARE = 0.7
#: Seconds one feasibility question may take at most.
_FEASIBILITY_SECONDS = 10.0
#: Repair searches run at once.
_THREADS = 2


class _OutOfTime(Exception):
    """The explanation's time budget ran out before the question could be asked."""


# -- words ----------------------------------------------------------------------------------


_grade = words.grade
_children = words.children
_classes = words.classes
_join = words.join


def _kind_classes(number: int, kind: Kind) -> str:
    """Return ``3 Grade 2 classes`` or ``1 K/1 composite class``."""
    what = _grade(kind[0]) if len(kind) == 1 else f"{'/'.join(kind)} composite"
    return words.count(number, f"{what} class")


# -- arithmetic facts about the input --------------------------------------------------------


def _never_runs(scenario: Scenario, composite: Composite) -> str | None:
    """Return why no class of this composite can ever be formed (None when one can).

    One class needs at least the composite minimum from each of its grades, in total between
    its smallest and largest size; these four checks are exactly that condition.
    """
    minimum = scenario.composite_minimum
    for label in composite.grades:
        children = scenario.grade(label).children
        if children < minimum:
            have = "no children" if children == 0 else f"only {_children(children)}"
            return (
                f"{_grade(label)} has {have}, fewer than the composite minimum of {minimum} "
                "children from each grade"
            )
    smallest, largest = scenario.size_limits(composite.grades)
    if smallest > largest:
        return f"its classes would need at least {smallest} and at most {largest} children"
    grades = len(composite.grades)
    if minimum * grades > largest:
        return (
            f"{grades} grades with at least {minimum} children each make {minimum * grades}, "
            f"more than its largest class of {largest}"
        )
    total = sum(scenario.grade(label).children for label in composite.grades)
    if total < smallest:
        names = _join(_grade(label) for label in composite.grades)
        return (
            f"{names} have {_children(total)} together, fewer than its smallest class of {smallest}"
        )
    return None


def _open(scenario: Scenario, kind: Kind) -> bool:
    """Return whether at least one class of this kind could be formed from the children."""
    fewest, most = scenario.count_limits(kind)
    if most == 0:
        return False
    if len(kind) > 1:
        return _never_runs(scenario, scenario.composite(kind)) is None
    grade = scenario.grade(kind[0])
    return grade.smallest <= grade.children and grade.smallest <= grade.largest


def _smallest_class(scenario: Scenario, kind: Kind) -> int:
    """Return the fewest children a class of this kind can hold under every rule."""
    smallest, _ = scenario.size_limits(kind)
    if len(kind) > 1:
        smallest = max(smallest, scenario.composite_minimum * len(kind))
    return smallest


def _most_of_grade(scenario: Scenario, kind: Kind, label: str) -> int:
    """Return the most children of one grade a single class of this kind can take."""
    _, largest = scenario.size_limits(kind)
    others = scenario.composite_minimum * (len(kind) - 1)
    return min(largest - others, scenario.grade(label).children)


def _fewest_of_grade(scenario: Scenario, kind: Kind) -> int:
    """Return the fewest children of each of its grades a single class of this kind takes."""
    return scenario.grade(kind[0]).smallest if len(kind) == 1 else scenario.composite_minimum


def _shut_composites(scenario: Scenario, label: str) -> str:
    """Return, in brackets, why the composites with this grade cannot take its children."""
    reasons = []
    for composite in scenario.composites:
        if label not in composite.grades:
            continue
        why = _never_runs(scenario, composite)
        if why is None and composite.most_classes == 0:
            why = "Most classes is 0"
        if why is not None:
            reasons.append(f"the {composite.name} composite can never run: {why}")
    return f" ({'; '.join(reasons)})" if reasons else ""


def _unsplittable(scenario: Scenario) -> str:
    """Return a sentence naming the grades whose children do not split into their own classes."""
    facts = []
    for grade in scenario.grades:
        smallest, largest, children = grade.smallest, grade.largest, grade.children
        fits = children // smallest if smallest > 0 else children
        if not children or math.ceil(children / largest) <= fits:
            continue
        whose = f"{_grade(grade.label)}'s {_children(children)}"
        if fits == 0:
            facts.append(f"{whose} cannot fill one class of {smallest}")
        else:
            sizes = f"exactly {smallest}" if smallest == largest else f"{smallest} to {largest}"
            facts.append(f"{whose} do not split into classes of {sizes}")
    return f" In classes of their own grade, {_join(facts)}." if facts else ""


def _grade_reason(scenario: Scenario, grade: Grade) -> str | None:
    """Return a clash within one grade's own numbers, proven by arithmetic alone."""
    label, children = grade.label, grade.children
    name = _grade(label)
    kinds = [kind for kind in scenario.kinds if label in kind]

    # The Fewest classes settings reserve children of this grade whatever else happens.
    need, parts = 0, []
    for kind in kinds:
        fewest = scenario.count_limits(kind)[0] or 0
        if fewest:
            each = _fewest_of_grade(scenario, kind)
            need += fewest * each
            each_class = f"of at least {each}" if len(kind) == 1 else f"with {each} {name} children"
            parts.append(f"{_kind_classes(fewest, kind)} {each_class}")
    if need > children:
        have = f"has {_children(children)}" if children else "has no children"
        return (
            f"{name} {have}, but the Fewest classes settings need at least {need} of them: "
            f"{_join(parts)}."
        )
    if children == 0:
        return None

    open_kinds = [kind for kind in kinds if _open(scenario, kind)]
    if not any(len(kind) > 1 for kind in open_kinds):
        # Only straight classes can take this grade, so its own counting bounds decide.
        shut = _shut_composites(scenario, label)
        smallest, largest = grade.smallest, grade.largest
        most = grade.most_classes
        if most == 0:
            return (
                f"{name} has {_children(children)}, but no {name} class is allowed (Most "
                f"classes is 0) and no composite can take them{shut}."
            )
        fits = children // smallest if smallest > 0 else children
        needed = math.ceil(children / largest)
        if needed > fits:
            if fits == 0:
                return (
                    f"{name} has {_children(children)}, fewer than its smallest class of "
                    f"{smallest}, and no composite can take them{shut}."
                )
            sizes = f"exactly {smallest}" if smallest == largest else f"{smallest} to {largest}"
            return (
                f"{name} has {_children(children)}, which cannot be split into classes of "
                f"{sizes}: {_classes(fits)} {words.agree(fits, 'holds', 'hold')} at most "
                f"{fits * largest} and "
                f"{_classes(fits + 1)} need at least {(fits + 1) * smallest}{shut}."
            )
        if most is not None and needed > most:
            return (
                f"{name} has {_children(children)}; classes of at most {largest} need at least "
                f"{_classes(needed)}, but at most {_kind_classes(most, (label,))} "
                f"{words.agree(most, 'is', 'are')} allowed (Most classes){shut}."
            )
        return None

    # Composites can take some of the grade; the Most classes settings may still leave no room.
    room, parts = 0, []
    for kind in open_kinds:
        most = scenario.count_limits(kind)[1]
        if most is None:
            return None
        each = _most_of_grade(scenario, kind, label)
        room += most * each
        parts.append(f"{_kind_classes(most, kind)} with at most {each} {name} children")
    if room < children:
        return (
            f"{name} has {_children(children)}, but the Most classes settings leave room for "
            f"at most {room}: {_join(parts)}."
        )
    return None


def _school_reason(scenario: Scenario) -> str | None:
    """Return a clash between the settings and the teachers, proven by arithmetic alone."""
    for composite in scenario.composites:
        fewest = composite.fewest_classes or 0
        why = _never_runs(scenario, composite)
        if fewest and why is not None:
            return (
                f"At least {_kind_classes(fewest, composite.grades)} "
                f"{words.agree(fewest, 'is', 'are')} asked for (Fewest classes), but the "
                f"{composite.name} composite can never run: {why}."
            )
    if scenario.children == 0:
        return "No grade has any children, so there are no classes to plan."
    teachers = scenario.teachers
    asked = sum(scenario.count_limits(kind)[0] or 0 for kind in scenario.kinds)
    if asked > teachers:
        return (
            f"The Fewest classes settings ask for at least {_classes(asked)}, but there "
            f"{words.agree(teachers, 'is', 'are')} only {words.count(teachers, 'teacher')}."
        )
    if scenario.use_every_teacher:
        sizes = [_smallest_class(scenario, k) for k in scenario.kinds if _open(scenario, k)]
        smallest = min(sizes, default=0)
        if smallest > 0 and teachers * smallest > scenario.children:
            return (
                f"With every teacher used, {_classes(teachers)} would need at least "
                f"{teachers * smallest} children (smallest class {smallest}); there are "
                f"{scenario.children}."
            )
    return None


def warnings(scenario: Scenario) -> list[str]:
    """Return warnings about valid but suspicious input (shown even when the plan works)."""
    found = []
    for grade in scenario.grades:
        if 0 < grade.children < grade.smallest:
            composite_takes_them = any(
                _open(scenario, c.grades) for c in scenario.composites if grade.label in c.grades
            )
            where = (
                "they can only go into a composite class"
                if composite_takes_them
                else "no class can hold them"
            )
            found.append(
                f"{_grade(grade.label)} has {_children(grade.children)}, fewer than its "
                f"smallest class of {grade.smallest}: {where}."
            )
    for composite in scenario.composites:
        why = _never_runs(scenario, composite)
        if why is not None:
            found.append(f"The {composite.name} composite can never run: {why}.")
    return found


# -- asking the planner ----------------------------------------------------------------------


def _without_counts(scenario: Scenario) -> Scenario:
    """Return the scenario with every Fewest/Most classes setting cleared."""
    return replace(
        scenario,
        grades=tuple(replace(g, fewest_classes=None, most_classes=None) for g in scenario.grades),
        composites=tuple(
            replace(c, fewest_classes=None, most_classes=None) for c in scenario.composites
        ),
    )


def _has_counts(scenario: Scenario) -> bool:
    """Return whether any class kind has a Fewest or Most classes setting."""
    return any(scenario.count_limits(kind) != (None, None) for kind in scenario.kinds)


def _free(scenario: Scenario) -> Scenario:
    """Return the scenario with teachers no limit at all: enough for a class per child."""
    enough = scenario.children + sum(scenario.count_limits(k)[0] or 0 for k in scenario.kinds)
    return replace(scenario, use_every_teacher=False, teachers=max(enough, scenario.teachers, 1))


def _part(scenario: Scenario, labels: set[str]) -> Scenario:
    """Return the free scenario of just these grades and the composites among them."""
    free = _free(scenario)
    return replace(
        free,
        grades=tuple(g for g in scenario.grades if g.label in labels),
        composites=tuple(c for c in scenario.composites if set(c.grades) <= labels),
    )


def _groups(scenario: Scenario) -> list[list[str]]:
    """Return the grades linked by composites, each group in teaching order.

    Without a teacher limit the groups are independent: no class mixes two groups.
    """
    leader = {g.label: g.label for g in scenario.grades}

    def find(label: str) -> str:
        while leader[label] != label:
            label = leader[label]
        return label

    for composite in scenario.composites:
        first = find(composite.grades[0])
        for label in composite.grades[1:]:
            leader[find(label)] = first
    groups: dict[str, list[str]] = {}
    for grade in scenario.grades:
        groups.setdefault(find(grade.label), []).append(grade.label)
    return list(groups.values())


class _Questions:
    """Feasibility answers for variants of one scenario, remembered, within a time budget."""

    def __init__(self, solver: str, time_limit: float) -> None:
        self.solver = backend(solver)
        self.start = time.perf_counter()
        self.end = self.start + time_limit
        self.search_end = self.start + _SEARCH_SHARE * time_limit
        self.known: dict[Scenario, bool] = {}
        #: The fewest composites of any plan of each scenario found to work.
        self.composites: dict[Scenario, int] = {}

    def remaining(self) -> float:
        """Return the seconds left of the whole explanation's time limit."""
        return self.end - time.perf_counter()

    def search(self, scenario: Scenario, seconds: float) -> Search:
        """Return a search of this scenario with `seconds` to answer."""
        order = SPLIT_ORDERS[scenario.priority]
        return Search(School(scenario), self.solver, order, time.perf_counter() + seconds)

    def feasible(self, scenario: Scenario) -> bool:
        """Return whether some allocation obeys every rule of this scenario."""
        key = _key(scenario)
        if key not in self.known:
            now = time.perf_counter()
            if now >= self.search_end:
                raise _OutOfTime
            seconds = min(_FEASIBILITY_SECONDS, max(1.0, self.end - now))
            try:
                found = self.search(key, seconds).exists(fewest=False)
            except OutOfTime:
                raise _OutOfTime from None
            self.known[key] = found is not None
        return self.known[key]

    def fewest_composites(self, scenario: Scenario) -> int | None:
        """Return the fewest composites of any plan of a scenario known to work (None: not
        worked out within the time limit)."""
        key = _key(scenario)
        if key not in self.composites:
            seconds = self.end - time.perf_counter()
            if seconds <= 0:
                return None
            try:
                found = self.search(key, seconds).exists()
            except OutOfTime:
                return None
            assert found is not None, "the scenario was found to work"
            self.composites[key] = sum(n for kind, n in found if len(kind) > 1)
        return self.composites[key]


def _key(scenario: Scenario) -> Scenario:
    """Return the scenario as far as whether a plan exists goes: its name, alternatives and
    priority never change that."""
    return replace(scenario, name="", alternatives=1, priority=Priority.FEWEST_COMPOSITES)


def _smallest_step(works: Callable[[int], bool], most: int) -> int | None:
    """Return the smallest step in 1..most that works, for a test that only grows with the step.

    Gallops (1, 2, 4, ...) then bisects, so small steps cost few questions.
    """
    if most < 1 or not works(most):
        return None
    failed, step = 0, 1
    while step < most:
        if works(step):
            break
        failed, step = step, step * 2
    step = min(step, most)
    while step - failed > 1:
        middle = (failed + step) // 2
        if works(middle):
            step = middle
        else:
            failed = middle
    return step


# -- the explanation -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    """One single change found to make the scenario solvable, not yet solved in full."""

    field: Repair
    target: str | None
    value: int | bool | None
    scenario: Scenario
    size: int
    text: str


@dataclass(frozen=True)
class _Steps:
    """One grade's or composite's class size, which a change moves by a step of 1 to most."""

    most: int
    #: The change by a given step.
    change: Callable[[int], _Change]


def _size_step(size: int) -> int:
    """Return the biggest change of a class size worth suggesting."""
    return max(3, int(size * _SIZE_CHANGE))


def _resized(item: _Sized, smallest: int | None, largest: int | None) -> _Sized:
    """Return a grade or composite with its smallest or largest class changed (None: kept)."""
    return replace(
        item,
        smallest=item.smallest if smallest is None else smallest,
        largest=item.largest if largest is None else largest,
    )


def _with_grade(
    scenario: Scenario, label: str, *, smallest: int | None = None, largest: int | None = None
) -> Scenario:
    """Return the scenario with one grade's smallest or largest class changed."""
    grades = tuple(
        _resized(g, smallest, largest) if g.label == label else g for g in scenario.grades
    )
    return replace(scenario, grades=grades)


def _with_composite(
    scenario: Scenario, kind: Kind, *, smallest: int | None = None, largest: int | None = None
) -> Scenario:
    """Return the scenario with one composite's own smallest or largest class set."""
    composites = tuple(
        _resized(c, smallest, largest) if c.grades == kind else c for c in scenario.composites
    )
    return replace(scenario, composites=composites)


class _Explainer:
    """Works out the reason and the repairs for one infeasible scenario."""

    def __init__(self, scenario: Scenario, questions: _Questions) -> None:
        self.scenario = scenario
        self.ask = questions
        self._fewest: int | None = None

    # facts worked out with the planner --------------------------------------------------

    def free_works(self) -> bool:
        """Return whether the scenario works once teachers are no limit."""
        return self.ask.feasible(_free(self.scenario))

    def broken_groups(self) -> list[list[str]]:
        """Return the groups of grades that cannot be planned even without a teacher limit."""
        broken = []
        for labels in _groups(self.scenario):
            if sum(self.scenario.grade(label).children for label in labels) == 0:
                continue
            if not self.ask.feasible(_part(self.scenario, set(labels))):
                broken.append(labels)
        return broken

    def at_most(self, teachers: int) -> bool:
        """Return whether a plan with at most this many classes exists."""
        return self.ask.feasible(replace(self.scenario, use_every_teacher=False, teachers=teachers))

    def exactly(self, classes: int) -> bool:
        """Return whether a plan with exactly this many classes exists."""
        return self.ask.feasible(replace(self.scenario, use_every_teacher=True, teachers=classes))

    def fewest_classes(self) -> int:
        """Return the fewest classes any plan needs (the free scenario must work)."""
        if self._fewest is None:
            teachers = self.scenario.teachers
            if self.at_most(teachers):
                self._fewest = self._first_at_most(1, teachers)
            else:
                most = _free(self.scenario).teachers
                step = _smallest_step(lambda s: self.at_most(teachers + s), most - teachers)
                self._fewest = teachers + (step or most - teachers)
        return self._fewest

    def _first_at_most(self, low: int, high: int) -> int:
        """Return the fewest classes in low..high, knowing high classes are enough."""
        while low < high:
            middle = (low + high) // 2
            if self.at_most(middle):
                high = middle
            else:
                low = middle + 1
        return low

    def most_classes_bound(self) -> int | None:
        """Return a proven upper bound on the classes any plan can run (None: no bound)."""
        s = self.scenario
        sizes = [_smallest_class(s, k) for k in s.kinds if _open(s, k)]
        smallest = min(sizes, default=0)
        return s.children // smallest if smallest > 0 else None

    # the reason --------------------------------------------------------------------------

    def reason(self) -> str | None:
        """Return the simplest proven reason found (None when none is proven)."""
        s = self.scenario
        for grade in s.grades:
            found = _grade_reason(s, grade)
            if found:
                return found
        found = _school_reason(s)
        if found:
            return found
        if not self.free_works():
            return self._group_reason()
        return self._teachers_reason()

    def _group_reason(self) -> str | None:
        s = self.scenario
        for labels in self.broken_groups():
            part = _part(s, set(labels))
            names = _join(_grade(label) for label in labels)
            if _has_counts(part) and self.ask.feasible(_without_counts(part)):
                return (
                    f"The Fewest and Most classes settings for {names} cannot all be met "
                    f"with {_children(part.children)}."
                )
            if len(labels) == 1:
                grade = s.grade(labels[0])
                return (
                    f"{names} has {_children(grade.children)}, which cannot be placed in "
                    f"classes of {grade.smallest} to {grade.largest}."
                )
            composites = [c.name for c in part.composites]
            minimum = s.composite_minimum
            if minimum > 1 and self.ask.feasible(replace(part, composite_minimum=1)):
                how = (
                    f"when a composite class needs at least {minimum} children from each "
                    "of its grades"
                )
            else:
                named = words.agree(len(composites), "composite", "composites")
                how = f"even with the {_join(composites)} {named}"
            return (
                f"The {_children(part.children)} of {names} cannot be placed in classes of "
                f"the allowed sizes {how}.{_unsplittable(part)}"
            )
        return None

    def _teachers_reason(self) -> str | None:
        s = self.scenario
        teachers = s.teachers
        counts = ""
        if _has_counts(s) and self.ask.feasible(_without_counts(s)):
            counts = (
                " Without the Fewest and Most classes settings, "
                f"{words.count(teachers, 'teacher', 'teachers')} would work."
            )
        if not self.at_most(teachers):
            fewest = self.fewest_classes()
            return (
                f"{words.count(teachers, 'teacher', 'teachers')} but at least {_classes(fewest)} "
                f"{words.agree(fewest, 'is', 'are')} needed.{self._busiest_grade()}{counts}"
            )
        # A plan with fewer classes exists; every teacher must be used and none has exactly T.
        below = self._nearest_exact(-1)
        above, looked_everywhere = self._nearest_exact_above()
        if above is None and looked_everywhere and below is not None:
            return (
                f"With every teacher used there must be {_classes(teachers)}, but these "
                f"children fill at most {_classes(below)} of the allowed sizes.{counts}"
            )
        if above is not None and below is not None:
            return (
                f"With every teacher used there must be exactly {_classes(teachers)}, and no "
                f"plan has exactly {teachers}: {below} or {above} classes would work.{counts}"
            )
        if below is not None:
            return (
                f"With every teacher used there must be exactly {_classes(teachers)}, and "
                f"these children cannot be placed in {teachers} classes of the allowed sizes; "
                f"{_classes(below)} would work.{counts}"
            )
        return None

    def _busiest_grade(self) -> str:
        """Return a sentence on the grade that needs the most classes by itself, if any."""
        s = self.scenario
        best: tuple[int, Grade] | None = None
        for grade in s.grades:
            kinds = [k for k in s.kinds if grade.label in k and len(k) > 1 and _open(s, k)]
            if kinds or grade.children == 0:
                continue
            needed = math.ceil(grade.children / grade.largest)
            if needed >= 2 and (best is None or needed > best[0]):
                best = (needed, grade)
        if best is None:
            return ""
        needed, grade = best
        return (
            f" {_grade(grade.label)} alone has {_children(grade.children)} and needs at least "
            f"{needed} classes of at most {grade.largest}."
        )

    def _nearest_exact(self, direction: int) -> int | None:
        """Return the nearest class count in this direction that a plan can have exactly."""
        teachers = self.scenario.teachers
        for step in range(1, _TEACHER_STEPS + 1):
            classes = teachers + direction * step
            if classes < 1:
                return None
            if self.exactly(classes):
                return classes
        return None

    def _nearest_exact_above(self) -> tuple[int | None, bool]:
        """Return the nearest larger exact class count, and whether every count was tried."""
        teachers = self.scenario.teachers
        bound = self.most_classes_bound()
        top = teachers + _TEACHER_STEPS
        if bound is not None:
            top = min(top, bound)
        for classes in range(teachers + 1, top + 1):
            if self.exactly(classes):
                return classes, True
        return None, bound is not None and bound <= teachers + _TEACHER_STEPS

    # the repairs -------------------------------------------------------------------------

    def changes(self) -> list[_Change]:
        """Return, for each kind of single change, the smallest one found that works."""
        s = self.scenario
        found: list[_Change] = []
        searches: list[Callable[[], Iterable[_Change]]] = []
        try:
            free = self.free_works()
            relevant = {g.label for g in s.grades}
            if free:
                searches += [self._teacher_changes, self._use_every_teacher_change]
            else:
                # Teachers cannot help, and a broken group is only mended from within.
                relevant = {label for group in self.broken_groups() for label in group}
        except _OutOfTime:
            return found
        searches.append(partial(self._composite_changes, relevant))
        for field in (Repair.LARGEST_CLASS, Repair.SMALLEST_CLASS):
            try:
                # One question settles a whole field when even changing all of it fails.
                if not self.ask.feasible(self.all_changed(field, relevant)):
                    continue
            except _OutOfTime:
                return found
            searches.append(partial(self._least_steps, self._size_steps(field, relevant)))
        searches.append(partial(self._minimum_change, relevant))
        # The searches ask independent questions: two at once use both of a school computer's
        # usual two cores (the solver lets go of Python while it solves). Their answers are
        # proofs, so the order they finish in changes nothing.
        with ThreadPoolExecutor(max_workers=_THREADS) as pool:
            running = [pool.submit(search) for search in searches]
            for future in running:
                try:
                    found.extend(future.result())
                except _OutOfTime:
                    continue
        return found

    def _teacher_changes(self) -> list[_Change]:
        s = self.scenario
        teachers = s.teachers
        found = []
        if not s.use_every_teacher:
            more = self.fewest_classes()
            if more > teachers:
                found.append(self._teachers(more))
            return found
        enough = self.at_most(teachers)
        bound = self.most_classes_bound()
        start = teachers + 1 if enough else max(teachers + 1, self.fewest_classes())
        stop = start + _TEACHER_STEPS
        if bound is not None:
            stop = min(stop, bound + 1)
        for classes in range(start, stop):
            if self.exactly(classes):
                found.append(self._teachers(classes))
                break
        if enough:
            below = self._nearest_exact(-1)
            if below is not None:
                found.append(self._teachers(below))
        return found

    def _teachers(self, classes: int) -> _Change:
        teachers = self.scenario.teachers
        step = abs(classes - teachers)
        if classes > teachers:
            why = words.count(step, "more teacher", single="one")
            text = f"Allow {_classes(classes)} instead of {teachers} ({why})"
        else:
            why = f"{words.count(step, 'teacher', single='one')} fewer"
            text = f"Plan {_classes(classes)} instead of {teachers} ({why})"
        changed = replace(self.scenario, teachers=classes)
        return _Change(Repair.TEACHERS, None, classes, changed, step, text)

    def _use_every_teacher_change(self) -> list[_Change]:
        s = self.scenario
        if not s.use_every_teacher or not self.at_most(s.teachers):
            return []
        text = "Let some teachers go without a class (Use every teacher: No)"
        changed = replace(s, use_every_teacher=False)
        return [_Change(Repair.USE_EVERY_TEACHER, None, False, changed, 1, text)]

    def _grade_raise(self, label: str) -> int:
        """Return the most a grade's largest class may be raised by (0: none worth trying)."""
        s = self.scenario
        grade = s.grade(label)
        # Past this size a raise changes nothing: no class holds more of the grade, and no
        # composite that takes its largest size from the grade holds more children.
        room = [grade.children] + [
            sum(s.grade(other).children for other in c.grades)
            for c in s.composites
            if label in c.grades and c.largest is None
        ]
        return max(0, min(max(room) - grade.largest, _size_step(grade.largest)))

    def _grade_lowering(self, label: str) -> int:
        """Return the most a grade's smallest class may be lowered by."""
        smallest = self.scenario.grade(label).smallest
        return max(0, min(smallest - 1, _size_step(smallest)))

    def _composite_raise(self, kind: Kind) -> int:
        """Return the most a composite's largest class may be raised by."""
        s = self.scenario
        largest = s.size_limits(kind)[1]
        room = sum(s.grade(label).children for label in kind)
        return max(0, min(room - largest, _size_step(largest)))

    def _composite_lowering(self, kind: Kind) -> int:
        """Return the most a composite's smallest class may be lowered by."""
        s = self.scenario
        smallest = s.size_limits(kind)[0]
        # Below the composite minimum times its grades a lower smallest class changes nothing.
        floor = max(1, s.composite_minimum * len(kind))
        return max(0, min(smallest - floor, _size_step(smallest)))

    def all_changed(self, field: Repair, labels: set[str]) -> Scenario:
        """Return the scenario with every grade and composite of the field changed at once,
        each as far as a single change of it may go: if that does not work, no single one
        of them does (each only loosens the rules)."""
        s = self.scenario
        raising = field is Repair.LARGEST_CLASS
        for grade in s.grades:
            if grade.label in labels:
                if raising:
                    top = grade.largest + self._grade_raise(grade.label)
                    s = _with_grade(s, grade.label, largest=top)
                else:
                    bottom = grade.smallest - self._grade_lowering(grade.label)
                    s = _with_grade(s, grade.label, smallest=bottom)
        for composite in self.scenario.composites:
            kind = composite.grades
            if labels & set(kind):
                smallest, largest = self.scenario.size_limits(kind)
                if raising:
                    s = _with_composite(s, kind, largest=largest + self._composite_raise(kind))
                else:
                    bottom = smallest - self._composite_lowering(kind)
                    s = _with_composite(s, kind, smallest=bottom)
        return s

    def _size_steps(self, field: Repair, labels: set[str]) -> list[_Steps]:
        """Return every grade's and composite's class size of the field a single change
        could be to, in the order ties are shown (grades in teaching order, then composites)."""
        s = self.scenario
        raising = field is Repair.LARGEST_CLASS
        found = []
        for grade in s.grades:
            if grade.label in labels:
                label = grade.label
                most = self._grade_raise(label) if raising else self._grade_lowering(label)
                found.append(_Steps(most, partial(self._grade_change, label, field)))
        for composite in s.composites:
            kind = composite.grades
            if labels & set(kind):
                most = self._composite_raise(kind) if raising else self._composite_lowering(kind)
                found.append(_Steps(most, partial(self._composite_size_change, kind, field)))
        return found

    def _least_steps(self, candidates: list[_Steps]) -> list[_Change]:
        """Return the changes with the smallest steps that work, at most _PER_FIELD of them,
        smallest first (ties in the candidates' order).

        Best first: the candidate whose smallest possible step is lowest is asked next,
        galloping (1, 2, 4, ...) until a step works, then bisecting; a candidate is taken once
        its step is known exactly and none other can beat it. Candidates that cannot make the
        shortlist are never settled.
        """
        # (lowest step still possible, candidate's place, highest step known to fail,
        #  lowest step known to work or None)
        queue: list[tuple[int, int, int, int | None]] = [
            (1, place, 0, None) for place, c in enumerate(candidates) if c.most >= 1
        ]
        heapq.heapify(queue)
        taken: list[_Change] = []
        while queue and len(taken) < _PER_FIELD:
            _, place, failed, works = heapq.heappop(queue)
            candidate = candidates[place]
            if works is not None and works == failed + 1:
                taken.append(candidate.change(works))
                continue
            if works is None:
                step = min(max(1, 2 * failed), candidate.most)
            else:
                step = (failed + works) // 2
            if self.ask.feasible(candidate.change(step).scenario):
                works = step
            else:
                failed = step
                if works is None and failed >= candidate.most:
                    continue  # no step this candidate may take works
            heapq.heappush(queue, (failed + 1, place, failed, works))
        return taken

    def _grade_change(self, label: str, field: Repair, step: int) -> _Change:
        """Return the change of one grade's largest (raised) or smallest (lowered) class."""
        grade = self.scenario.grade(label)
        name = _grade(label)
        if field is Repair.LARGEST_CLASS:
            value = grade.largest + step
            text = f"Raise {name}'s largest class from {grade.largest} to {value}"
            changed = _with_grade(self.scenario, label, largest=value)
        else:
            value = grade.smallest - step
            text = f"Lower {name}'s smallest class from {grade.smallest} to {value}"
            changed = _with_grade(self.scenario, label, smallest=value)
        return _Change(field, label, value, changed, step, text)

    def _composite_size_change(self, kind: Kind, field: Repair, step: int) -> _Change:
        """Return the change of one composite's largest (raised) or smallest (lowered) class."""
        name = "/".join(kind)
        smallest, largest = self.scenario.size_limits(kind)
        if field is Repair.LARGEST_CLASS:
            value = largest + step
            text = f"Raise the {name} composite's largest class from {largest} to {value}"
            changed = _with_composite(self.scenario, kind, largest=value)
        else:
            value = smallest - step
            text = f"Lower the {name} composite's smallest class from {smallest} to {value}"
            changed = _with_composite(self.scenario, kind, smallest=value)
        return _Change(field, name, value, changed, step, text)

    def _minimum_change(self, relevant: set[str]) -> list[_Change]:
        s = self.scenario
        minimum = s.composite_minimum
        if not any(relevant & set(c.grades) for c in s.composites):
            return []
        step = _smallest_step(
            lambda down: self.ask.feasible(replace(s, composite_minimum=minimum - down)),
            minimum - 1,
        )
        if step is None:
            return []
        value = minimum - step
        text = f"Lower the fewest children from one grade in a composite from {minimum} to {value}"
        changed = replace(s, composite_minimum=value)
        return [_Change(Repair.COMPOSITE_MINIMUM, None, value, changed, step, text)]

    def _composite_changes(self, relevant: set[str]) -> list[_Change]:
        s = self.scenario
        allowed = {c.grades for c in s.composites}
        found = []
        for first, second in zip(s.grades, s.grades[1:], strict=False):
            kind = (first.label, second.label)
            if kind in allowed or not relevant & set(kind):
                continue
            if min(first.children, second.children) < s.composite_minimum:
                continue  # such a composite could never run
            changed = replace(s, composites=s.composites + (Composite(kind),))
            if self.ask.feasible(changed):
                name = "/".join(kind)
                text = f"Allow a {name} composite class"
                found.append(_Change(Repair.ALLOW_COMPOSITE, name, None, changed, 1, text))
                if len(found) == _PER_FIELD:
                    break  # the shortlist takes no more of them
        return found


def _shortlist(changes: list[_Change]) -> list[_Change]:
    """Return the changes to solve in full: smallest first, a few of each field."""
    order = sorted(changes, key=lambda c: (c.size, FIELDS.index(c.field)))
    taken: dict[str, int] = {}
    shortlist = []
    for change in order:
        if taken.get(change.field, 0) < _PER_FIELD:
            taken[change.field] = taken.get(change.field, 0) + 1
            shortlist.append(change)
    return shortlist


def explain(
    scenario: Scenario, *, time_limit: float = 30.0, solver: str = "highs"
) -> tuple[str, list[Suggestion]]:
    """Return why the scenario cannot be planned and the best few single changes that fix it.

    The message is one or two sentences in the administrator's words ("" when the scenario
    can in fact be planned). Every suggestion was verified: its scenario was found to work,
    and its ``composites`` are the fewest any plan then needs. The searches keep to
    ``time_limit``.
    """
    questions = _Questions(solver, time_limit)
    work = _Explainer(scenario, questions)
    try:
        if questions.feasible(scenario):
            return "", []
        message = work.reason()
    except _OutOfTime:
        message = None
    # Every change was found by asking whether its scenario works: each is verified. The
    # fewest composites, which orders changes of one size and is shown with each, is worked
    # out only for those that can be shown.
    shortlist = _shortlist(work.changes())
    shown = sorted(change.size for change in shortlist)[:MAX_SUGGESTIONS]
    contenders = [change for change in shortlist if shown and change.size <= shown[-1]]
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        composites = list(
            pool.map(lambda change: questions.fewest_composites(change.scenario), contenders)
        )
    ranked = sorted(
        zip(contenders, composites, strict=True),
        key=lambda pair: (pair[0].size, pair[1] or 0, FIELDS.index(pair[0].field)),
    )[:MAX_SUGGESTIONS]
    suggestions = [
        Suggestion(
            text=change.text,
            field=change.field,
            target=change.target,
            value=change.value,
            composites=fewest,
        )
        for change, fewest in ranked
    ]
    if message is None:
        message = "No plan obeys every rule at once, and no single simple reason was found; " + (
            "each change below makes the plan possible."
            if suggestions
            else "no single change tried makes it possible."
        )
    return message, suggestions
