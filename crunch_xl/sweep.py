"""A plan for the solver to start from: one sweep over the grades in teaching order.

On K-12 schools at their fewest teachers CBC spends seconds *finding* the plan with the
fewest composites, which its bound then proves best in a fraction of that (started from the
plan it later found, every such question took 0.02-0.9 s instead of 0.3-2.7 s). This module
looks for that plan without a solver, as a dynamic programme over the grades.

Where every composite is a run of consecutive grades, the grades can be taken one at a time.
At each grade the composites starting there get their class counts; the grade's children go
to the composites over it (each at least the composite minimum per class) and the rest to its
straight classes, whose number can be anything from ceil(rest / largest) to
floor(rest / smallest). What a composite still running carries to the next grade is the range
of children it may already hold. Per set of composites running on (with their classes and
ranges) the sweep keeps the ways there that no other way beats on both composite classes and
classes in all; at the end, the way with the fewest composite classes whose classes can number
the teachers.

The sweep is a search for a good start, not a proof. It keeps only choices it can carry
exactly (with two composites running on past one grade, one of them takes its least or its
most), considers at most _MOST_PER_COMPOSITE classes of one composite, keeps the _BEAM most
promising states per set of composites running on, and says nothing when it finds nothing.
Its answer is a count of classes per kind; the caller splits the children with a max-flow
(nearby.Neighbourhood.split), checks every rule, and still lets the solver prove. On the
benchmark's K-12 schools, every class capped at 29-32, it found the fewest composites CBC
proves in 30 of 32 questions (nothing in the other two), in 9-76 ms each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crunch_xl.model import Kind, Scenario

#: Classes of one composite the sweep considers (a search bound, not a rule).
_MOST_PER_COMPOSITE = 2
#: States kept per set of composites running on (with their classes), the most promising.
_BEAM = 4


#: A composite running past a grade: (composite index, classes, least held, most held).
_Open = tuple[int, int, int, int]


@dataclass(frozen=True)
class _Step:
    """One grade's choice on the way to a state: new composites' classes, straight classes."""

    before: _Step | None
    grade: int
    started: tuple[tuple[int, int], ...]  # (composite index, classes)
    fewest: int  # straight classes of the grade, at least ...
    most: int  # ... and at most, whatever the number of children the choice leaves it


#: One way to a state: (composite classes, fewest classes in all so far, its last step).
_Way = tuple[int, int, _Step | None]
#: States after a grade, by the composites running on: the ways no other way beats on both
#: composite classes and fewest classes.
_States = dict[tuple[_Open, ...], list[_Way]]
#: What one grade's choice leads to: (composites running on, fewest, most straight classes).
_Move = tuple[tuple[_Open, ...], int, int]


class Sweep:
    """Finds class counts per kind with few composites for one scenario (see the module)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.labels = [g.label for g in scenario.grades]
        self.children = [g.children for g in scenario.grades]
        index = {label: i for i, label in enumerate(self.labels)}
        self.composites: list[Kind] = [c.grades for c in scenario.composites]
        self.spans = [(index[k[0]], index[k[-1]]) for k in self.composites]
        #: Whether every composite is a run of consecutive grades (else the sweep cannot run).
        self.applies = all(
            [index[label] for label in kind] == list(range(first, last + 1))
            for kind, (first, last) in zip(self.composites, self.spans, strict=True)
        )
        #: Each kind's (smallest, largest, fewest classes, most classes), before any caps.
        self.limits: dict[Kind, tuple[int, int, int, int]] = {
            kind: (*scenario.size_limits(kind), *scenario.class_range(kind))
            for kind in scenario.kinds
        }
        #: Each sweep's answer by its caps: a planner asks the same caps again (k12-02 T+1
        #: asks "classes of at most 29" three times, 20 ms each).
        self._answers: dict[tuple[int | None, ...], dict[Kind, int] | None] = {}

    def classes(
        self,
        largest: int | None = None,
        smallest: int | None = None,
        composites: int | None = None,
    ) -> dict[Kind, int] | None:
        """Return classes per kind with the fewest composites the sweep finds (None: none).

        largest and smallest cap every class on top of each kind's own limits; composites
        caps the composite classes.
        """
        if not self.applies:
            return None
        caps = (largest, smallest, composites)
        if caps not in self._answers:
            self._answers[caps] = self._classes(largest, smallest, composites)
        found = self._answers[caps]
        return None if found is None else dict(found)

    def _classes(
        self, largest: int | None, smallest: int | None, composites: int | None
    ) -> dict[Kind, int] | None:
        """Return what `classes` returns, swept anew."""
        limits: dict[Kind, tuple[int, int, int, int]] = {}
        for kind, (low, high, fewest, most) in self.limits.items():
            low = max(low, smallest or 0)
            high = high if largest is None else min(high, largest)
            if low > high or high < 1:
                most = 0
            if fewest > most:
                return None
            limits[kind] = (low, high, fewest, most)
        cap = self.scenario.teachers if composites is None else composites
        found = self._sweep(limits, cap)
        return None if found is None else self._counts(*found, limits)

    def _sweep(
        self, limits: Mapping[Kind, tuple[int, int, int, int]], cap: int
    ) -> tuple[int, _Step] | None:
        """Return the number of classes and the last step of the best plan found."""
        s = self.scenario
        top = max((high for _, high, _, most in limits.values() if most > 0), default=0)
        if top == 0 or not self.children:
            return None
        states: _States = {(): [(0, 0, None)]}
        left = sum(self.children)
        for grade, children in enumerate(self.children):
            left -= children
            starting = [i for i, (first, _) in enumerate(self.spans) if first == grade]
            after: _States = {}
            for running, ways in states.items():
                fewest_used = min(used for used, _, _ in ways)
                for started in self._starts(starting, limits, cap - fewest_used, children):
                    taken = sum(n for _, n in started)
                    for carried, fewest, most in self._moves(
                        grade, children, running, started, limits
                    ):
                        for used, classes, step in ways:
                            if used + taken <= cap:
                                new = (used + taken, classes + taken + fewest)
                                _keep(after, carried, new, step, grade, started, fewest, most)
            states = {}
            for running, ways in after.items():
                # Children of later grades the running composites can still take.
                room = sum(limits[self.composites[i]][1] * n - held for i, n, held, _ in running)
                floor = -(-max(0, left - room) // top)
                kept = [way for way in ways if way[1] + floor <= s.teachers]
                if kept:
                    states[running] = kept
            states = _narrowed(states)
        least = s.teachers if s.use_every_teacher else 1
        for _, classes, step in sorted(states.get((), []), key=lambda way: way[:2]):
            if step is None or classes > s.teachers:
                continue
            most = 0  # the most classes along the way, to reach `least`
            walk: _Step | None = step
            while walk is not None:
                most += walk.most + sum(n for _, n in walk.started)
                walk = walk.before
            if most >= least:
                return max(classes, least), step
        return None

    def _starts(
        self,
        starting: list[int],
        limits: Mapping[Kind, tuple[int, int, int, int]],
        cap: int,
        children: int,
    ) -> list[tuple[tuple[int, int], ...]]:
        """Return the class counts the composites starting at a grade may take together."""
        minimum = self.scenario.composite_minimum
        choices: list[tuple[tuple[int, int], ...]] = [()]
        for i in starting:
            _, _, fewest, most = limits[self.composites[i]]
            most = min(most, _MOST_PER_COMPOSITE, children // max(minimum, 1))
            choices = [
                (*choice, (i, n))
                for choice in choices
                for n in range(fewest, most + 1)
                if sum(m for _, m in choice) + n <= cap
            ]
        return choices

    def _moves(
        self,
        grade: int,
        children: int,
        running: tuple[_Open, ...],
        started: tuple[tuple[int, int], ...],
        limits: Mapping[Kind, tuple[int, int, int, int]],
    ) -> list[_Move]:
        """Return where a grade's children can go, given the composites over it."""
        minimum = self.scenario.composite_minimum
        closing: list[tuple[int, int]] = []  # children ranges of composites ending here
        # (index, classes, held least, held most, most it may hold, share least, share most)
        going: list[tuple[int, int, int, int, int, int, int]] = []
        for i, n, held_low, held_high in (*running, *((i, n, 0, 0) for i, n in started if n)):
            low, high = limits[self.composites[i]][:2]
            last = self.spans[i][1]
            if last == grade:
                share = (max(minimum * n, low * n - held_high), high * n - held_low)
                if share[0] > share[1]:
                    return []
                closing.append(share)
            else:
                # Each later grade of the composite needs room for its minimum.
                most_held = high * n - minimum * n * (last - grade)
                share = (minimum * n, most_held - held_low)
                if share[0] > share[1]:
                    return []
                going.append((i, n, held_low, held_high, most_held, *share))
        spare_low = sum(a for a, _ in closing)
        spare_high = sum(b for _, b in closing)
        straight = limits[(self.labels[grade],)]
        moves: list[_Move] = []
        for shares in self._shares(going):
            fixed = sum(a for a, _ in shares[:-1])  # the shares before the last are single
            last_low, last_high = shares[-1] if shares else (0, 0)
            most_taken = spare_high + fixed + last_high
            least_taken = spare_low + fixed + last_low
            for rest_low, rest_high, fewest, most in _straight(
                max(0, children - most_taken), children - least_taken, straight
            ):
                # The composites take children - rest, for any rest in [rest_low, rest_high].
                want_low, want_high = children - rest_high, children - rest_low
                ranges: list[tuple[int, int]] = []
                if shares:
                    # The last composite running on takes what the others leave, in its range.
                    low = max(last_low, want_low - spare_high - fixed)
                    high = min(last_high, want_high - spare_low - fixed)
                    if low > high:
                        continue
                    ranges = [*shares[:-1], (low, high)]
                elif spare_low > want_high or spare_high < want_low:
                    continue
                carried = tuple(
                    sorted(
                        (i, n, held_low + a, min(held_high + b, most_held))
                        for (i, n, held_low, held_high, most_held, _, _), (a, b) in zip(
                            going, ranges, strict=True
                        )
                    )
                )
                moves.append((carried, fewest, most))
        return moves

    def _shares(
        self, going: list[tuple[int, int, int, int, int, int, int]]
    ) -> list[list[tuple[int, int]]]:
        """Return the children ranges tried for the composites running past a grade.

        The last takes its whole range; each other one a single share (its least or its
        most), so any choice in the ranges can be carried on exactly.
        """
        options: list[list[tuple[int, int]]] = [[]]
        for position, (*_, low, high) in enumerate(going):
            if position == len(going) - 1:
                options = [[*o, (low, high)] for o in options]
            else:
                options = [[*o, (p, p)] for o in options for p in sorted({low, high})]
        return options

    def _counts(
        self, target: int, step: _Step | None, limits: Mapping[Kind, tuple[int, int, int, int]]
    ) -> dict[Kind, int]:
        """Return classes per kind along the best plan's steps, `target` classes in all."""
        classes: dict[Kind, int] = dict.fromkeys(limits, 0)
        ranges: dict[Kind, tuple[int, int]] = {}
        while step is not None:
            for i, n in step.started:
                classes[self.composites[i]] = n
            ranges[(self.labels[step.grade],)] = (step.fewest, step.most)
            step = step.before
        for kind, (fewest, _) in ranges.items():
            classes[kind] = fewest
        missing = target - sum(classes.values())
        for kind, (fewest, most) in ranges.items():
            extra = min(missing, most - fewest)
            classes[kind] += extra
            missing -= extra
        return classes


def _straight(
    rest_low: int, rest_high: int, straight: tuple[int, int, int, int]
) -> list[tuple[int, int, int, int]]:
    """Return (rest low, rest high, fewest, most): ranges of a grade's children left for its
    straight classes, each with the fewest classes they need and the most every rest allows.
    """
    low, high, fewest_allowed, most_allowed = straight
    found: list[tuple[int, int, int, int]] = []
    rest = max(rest_low, 0)
    if most_allowed == 0:  # no straight class: nothing may be left
        return [(0, 0, 0, 0)] if rest == 0 <= rest_high else []
    while rest <= rest_high:
        fewest = max(fewest_allowed, -(-rest // high))
        end = min(rest_high, fewest * high)  # the same number of classes up to there
        start = max(rest, fewest * low)  # fewer children cannot fill that many classes
        if start <= end:
            most = most_allowed if low == 0 else min(most_allowed, start // low)
            if fewest <= most:
                found.append((start, end, fewest, most))
        rest = end + 1
    return found


def _keep(
    after: _States,
    running: tuple[_Open, ...],
    new: tuple[int, int],
    before: _Step | None,
    grade: int,
    started: tuple[tuple[int, int], ...],
    fewest: int,
    most: int,
) -> None:
    """Add a way to a state unless one there has as few composite classes and classes."""
    ways = after.setdefault(running, [])
    used, classes = new
    for other_used, other_classes, _ in ways:
        if other_used <= used and other_classes <= classes:
            return
    ways[:] = [w for w in ways if not (used <= w[0] and classes <= w[1])]
    ways.append((used, classes, _Step(before, grade, started, fewest, most)))


def _narrowed(states: _States) -> _States:
    """Return the states, at most _BEAM per set of composites running on and their classes.

    Kept are those with the fewest classes, then fewest composite classes, then the widest
    ranges of children held (the most freedom for the grades to come).
    """
    groups: dict[tuple[tuple[int, int], ...], list[tuple[_Open, ...]]] = {}
    for running in states:
        groups.setdefault(tuple((i, n) for i, n, _, _ in running), []).append(running)
    narrowed: _States = {}
    for members in groups.values():
        if len(members) > _BEAM:
            members.sort(
                key=lambda running: (
                    min(classes for _, classes, _ in states[running]),
                    min(used for used, _, _ in states[running]),
                    -sum(high - low for _, _, low, high in running),
                )
            )
        for running in members[:_BEAM]:
            narrowed[running] = states[running]
    return narrowed
