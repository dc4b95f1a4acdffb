"""Scenario -> Result: option 1 proven best, the composites/largest trade-off, next-best options.

Each ranking is lexicographic, so option 1 comes from one solve per criterion, each capping the
criteria before it at their optimum (SPEC section 1). Every solve is proven optimal by the
solver, which makes option 1 proven best. Alternatives:

1. the trade-off between composites and the largest class: from option 1, "the fewest
   composites that buy a smaller largest class" (and, for rankings where that is possible,
   "the smallest largest class with fewer composites"), one step at a time;
2. then the next-best structures by the ranking, each new solve forbidding every structure
   already shown.

Option 1 and the next-best options are rebalanced by construction (no allocation of their
structure has a smaller largest class, or the same largest class and a smaller spread), because
their last two criteria are largest-then-spread or are capped at values no allocation of the
structure can beat. A trade-off step proves its composites and largest class only, then is
rebalanced within its own structure (the spread proof is the costliest solve). Under
"Even classes" the last criteria are range then spread, so each option is rebalanced explicitly
and the rebalanced allocation kept whenever it is not worse under the ranking.
"""

from __future__ import annotations

import string
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crunch_xl import words
from crunch_xl.counting import (
    BALANCE,
    COMPOSITES,
    LARGEST,
    RANGE,
    SMALLEST,
    SOLVERS,
    SPREAD,
    Allocation,
    CountingModel,
    Limits,
    Outcome,
    Solve,
    available_solvers,
)
from crunch_xl.model import Kind, Option, Priority, Result, Scenario, SchoolClass, Status

#: Structures tied on the criteria before the spread that are rebalanced one by one before
#: the planner asks, over every structure, for a smaller spread (see _least_spread) ...
_TIED_STRUCTURES = 3
#: ... or just one, on a school where a solve over every structure has taken this many
#: seconds: there proving that no tied structure is left took CBC 3-10 s, the window 1-4 s.
#: 0.1 rather than 0.25 (with the window raced as counting.CBC_RESTATES_SPREAD says): K-12
#: schools 12.73 s -> 11.12 s paired, the others unchanged.
_HARD_SOLVE = 0.1

__all__ = ["SOLVERS", "available_solvers", "is_feasible", "plan", "ranking_key"]

#: The criteria of each ranking, most important first (all minimised).
RANKINGS: dict[Priority, tuple[str, str, str]] = {
    Priority.FEWEST_COMPOSITES: (COMPOSITES, LARGEST, SPREAD),
    Priority.SMALLEST_CLASSES: (LARGEST, COMPOSITES, SPREAD),
    Priority.EVEN_CLASSES: (RANGE, COMPOSITES, SPREAD),
}


def ranking_key(option: Option, priority: Priority) -> tuple[int, int, int]:
    """Return the option's measures in ranking order: smaller sorts first."""
    values = {
        COMPOSITES: option.composites,
        LARGEST: option.largest,
        RANGE: option.range,
        SPREAD: option.spread,
    }
    first, second, third = RANKINGS[priority]
    return values[first], values[second], values[third]


def plan(scenario: Scenario, *, time_limit: float = 30.0, solver: str = "cbc") -> Result:
    """Return the ranked options of a scenario: solved, infeasible (proven) or timeout."""
    started = time.perf_counter()
    planner = _Planner(scenario, time_limit, solver)
    found = planner.options()
    seconds = time.perf_counter() - started
    if not found:
        if planner.timed_out:
            return Result(
                scenario.name,
                Status.TIMEOUT,
                f"No plan was found within the time limit of {time_limit:g} seconds; "
                "allow more time (--time-limit) or simplify the scenario.",
                seconds,
                scenario=scenario,
            )
        return Result(
            scenario.name,
            Status.INFEASIBLE,
            "No allocation of the children obeys every rule of this scenario.",
            seconds,
            scenario=scenario,
        )
    options = [
        Option(rank, _classes(scenario, allocation), proven, reason)
        for rank, (allocation, proven, reason) in enumerate(found, start=1)
    ]
    status, message = Status.SOLVED, ""
    if not options[0].proven:
        status = Status.TIMEOUT
        message = (
            f"The time limit of {time_limit:g} seconds ran out before option 1 was proven "
            "best; it is the best plan found."
        )
    elif planner.timed_out and len(options) < scenario.alternatives:
        message = "The time limit ran out while looking for more alternatives."
    return Result(scenario.name, status, message, seconds, options, scenario=scenario)


def is_feasible(scenario: Scenario, *, time_limit: float = 10.0, solver: str = "cbc") -> bool:
    """Return True when some allocation obeys every rule (False also when time runs out)."""
    solve, _ = CountingModel(scenario, solver).solve(None, Limits(), time_limit)
    return solve.found


@dataclass(frozen=True)
class _Found:
    """What a lexicographic search found."""

    allocation: Allocation | None
    proven: bool
    #: The structures tied with the allocation on the criteria before the spread, each
    #: rebalanced, when every one of them was (None otherwise; see _Planner._least_spread).
    tied: list[Allocation] | None = None


class _Planner:
    """Runs the solves of one scenario within one deadline."""

    def __init__(self, scenario: Scenario, time_limit: float, solver: str) -> None:
        self.scenario = scenario
        self.model = CountingModel(scenario, solver)
        self.deadline = time.perf_counter() + time_limit
        self.ranking = RANKINGS[scenario.priority]
        self.timed_out = False
        self.lower_largest = self.model.lower_largest()
        #: Seconds the slowest solve over every structure has taken so far.
        self.slowest = 0.0
        #: Each structure's allocation with its smallest largest class, then spread.
        self.balanced: dict[tuple[tuple[Kind, int], ...], Allocation | None] = {}

    def key(self, allocation: Allocation) -> tuple[int, ...]:
        """Return the allocation's measures in ranking order: smaller ranks first."""
        return tuple(allocation.measure(criterion) for criterion in self.ranking)

    def options(self) -> list[tuple[Allocation, bool, str]]:
        """Return (allocation, proven, reason) for option 1 and its alternatives, in order."""
        first = self.lexicographic(self.ranking, Limits())
        if first.allocation is None:
            return []
        tied = first.tied
        best, proven = self.rebalanced(first.allocation, first.proven)
        found = [(best, proven, f"Best for {self.scenario.priority.value.lower()}")]
        if not proven:
            return found
        wanted = self.scenario.alternatives
        seen = {best.structure}
        for allocation, ok, reason in self.trade_off(best, wanted - 1):
            if allocation.structure not in seen:
                seen.add(allocation.structure)
                found.append((allocation, ok, reason))
        key = self.key(best)
        while len(found) < wanted and not self.timed_out:
            spare = [a for a in tied or [] if a.structure not in seen]
            if spare:
                # Every structure tied with the last option on the criteria before the spread
                # was rebalanced; any other structure ranks below them (see _least_spread).
                pick: Allocation | None = min(spare, key=lambda a: (self.key(a), a.structure))
                ok = True
            else:
                # The next best ranks no better than the last; if its tied structures were
                # all rebalanced and shown, it is worse on the criteria before the spread.
                floors = key if tied is None else (*key[:-2], key[-2] + 1)
                exclude: list[Mapping[Kind, int]] = [dict(structure) for structure in seen]
                after = self.lexicographic(self.ranking, Limits(exclude=exclude), floors)
                pick, ok, tied = after.allocation, after.proven, after.tied
                if pick is None:
                    break
                key = self.key(pick)
            assert pick is not None
            allocation, ok = self.rebalanced(pick, ok)
            if allocation.structure in seen:  # a rebalance can only keep the structure
                break
            seen.add(allocation.structure)
            found.append((allocation, ok, f"Next best for {self.scenario.priority.value.lower()}"))
        return found[:wanted]

    def trade_off(self, best: Allocation, room: int) -> list[tuple[Allocation, bool, str]]:
        """Return the steps of the composites/largest-class trade-off next to option 1."""
        steps: list[tuple[Allocation, bool, str]] = []
        # Option 1 already has the fewest composites (or the smallest largest class) under
        # those rankings, so walking that way would only prove there is nothing there.
        more_composites = self.scenario.priority is not Priority.SMALLEST_CLASSES
        fewer_composites = self.scenario.priority is not Priority.FEWEST_COMPOSITES
        up = down = best
        # Below down's composites the largest class grows, once down is known to have the
        # smallest largest class for its composites (option 1 under "Smallest classes", and
        # every step this walk takes).
        down_is_least = self.scenario.priority is Priority.SMALLEST_CLASSES
        while len(steps) < room and not self.timed_out and (more_composites or fewer_composites):
            if more_composites:
                step = self._smaller_largest(up)
                if step is None:
                    more_composites = False
                else:
                    up = step[0]
                    steps.append(step)
            if fewer_composites and len(steps) < room:
                step = self._fewer_composites(down, down_is_least)
                if step is None:
                    fewer_composites = False
                else:
                    down, down_is_least = step[0], True
                    steps.append(step)
        return steps

    def _smaller_largest(self, start: Allocation) -> tuple[Allocation, bool, str] | None:
        """Return the fewest composites that buy a smaller largest class than start's."""
        largest = start.measure(LARGEST)
        if largest <= self.lower_largest:
            return None
        limits = Limits(caps={LARGEST: largest - 1})
        step = self.lexicographic((COMPOSITES, LARGEST), limits)
        allocation, ok = self.step_rebalanced(step.allocation, step.proven)
        if allocation is None:
            return None
        extra = allocation.measure(COMPOSITES) - start.measure(COMPOSITES)
        largest = allocation.measure(LARGEST)
        reason = f"{words.count(extra, 'composite')} more, for classes of at most {largest}"
        return allocation, ok, reason

    def _fewer_composites(
        self, start: Allocation, start_is_least: bool
    ) -> tuple[Allocation, bool, str] | None:
        """Return the smallest largest class possible with fewer composites than start.

        When start has the smallest largest class for its composites, fewer cost more.
        """
        composites = start.measure(COMPOSITES)
        if composites == 0:
            return None
        limits = Limits(caps={COMPOSITES: composites - 1})
        floors = (start.measure(LARGEST) + 1,) if start_is_least else ()
        step = self.lexicographic((LARGEST, COMPOSITES), limits, floors)
        allocation, ok = self.step_rebalanced(step.allocation, step.proven)
        if allocation is None:
            return None
        fewer = composites - allocation.measure(COMPOSITES)
        largest = allocation.measure(LARGEST)
        reason = f"{words.count(fewer, 'composite')} fewer, with classes of at most {largest}"
        return allocation, ok, reason

    def step_rebalanced(
        self, allocation: Allocation | None, proven: bool
    ) -> tuple[Allocation | None, bool]:
        """Return a trade-off step with its structure's smallest largest class, then spread.

        A step only has to show what a number of composites buys (both proven by the stages
        before); which structure shows it is free, so it is rebalanced within its own structure
        instead of searching every structure for the smallest spread, the costliest proof.
        Its composites and largest class cannot change: no allocation with that many
        composites has a smaller largest class.
        """
        if allocation is None or not proven:
            return allocation, proven
        balanced = self._balanced(allocation)
        return (allocation, False) if balanced is None else (balanced, True)

    def _balanced(self, allocation: Allocation) -> Allocation | None:
        """Return the structure's allocation with the smallest largest class, then spread.

        Remembered per structure: trade-off steps and options can share one. Caps need not
        be part of it: the structure is fixed (so are its composites), and its own
        allocation already keeps every cap.
        """
        if allocation.structure not in self.balanced:
            solve = self._solve(BALANCE, Limits(fixed=dict(allocation.structure)))
            if solve.outcome is not Outcome.OPTIMAL:
                return None
            self.balanced[allocation.structure] = solve.allocation
        return self.balanced[allocation.structure]

    def lexicographic(
        self, criteria: Sequence[str], limits: Limits, floors: Sequence[int] = ()
    ) -> _Found:
        """Return the allocation best by these criteria in order, whether it is proven, and
        the structures tied with it (see _Found).

        floors are proven lower bounds in ranking order, each holding while the criteria
        before it equal their floors (the next-best search knows its answer ranks no better
        than the option before it): a criterion at its floor needs no further solve.
        """
        caps = dict(limits.caps)
        best: Allocation | None = None
        tied: list[Allocation] | None = None
        at_floors = True
        for index, criterion in enumerate(criteria):
            floor = self._floor(criterion)
            known = at_floors and index < len(floors)  # the option before sets the floor
            if known:
                floor = max(floor, floors[index])
            if best is not None and best.measure(criterion) <= floor:
                caps[criterion] = best.measure(criterion)
                continue  # already at a bound nothing can beat: skip the solve
            if criterion in (LARGEST, RANGE):
                # Where the composites come next with no floor known, the question at the floor
                # asks for the fewest at once: the next solve would ask it anyway.
                after = criteria[index + 1] if index + 1 < len(criteria) else None
                unknown = criterion == LARGEST and index + 1 >= len(floors)
                then = COMPOSITES if after == COMPOSITES and unknown else None
                best, proven = self._least(
                    criterion, best, caps, limits.exclude, floor, known, then
                )
            elif criterion == SPREAD and best is not None:
                best, proven, tied = self._least_spread(best, caps, limits.exclude, floor)
            else:
                solve = self._solve(criterion, Limits(caps, limits.exclude))
                best = solve.allocation or best
                proven = solve.outcome is Outcome.OPTIMAL
            if best is None or not proven:
                return _Found(best, False)
            caps[criterion] = best.measure(criterion)
            at_floors = at_floors and index < len(floors) and caps[criterion] == floors[index]
        return _Found(best, True, tied)

    def _solve(self, minimise: str | None, limits: Limits) -> Solve:
        """Return one solve within what is left of the time limit (noting when it ran out).

        Over every structure a capped range is a window of sizes [a, a + range] holding every
        class, for some a: one plain solve per start a (smallest and largest caps), which the
        solver settles far faster than one model choosing the window itself.
        """
        if RANGE not in limits.caps or limits.fixed is not None:
            return self._solve_once(minimise, limits)
        caps = dict(limits.caps)
        width = caps.pop(RANGE)
        best: Allocation | None = None
        settled = True
        for low in self.model.window_starts(width, caps):
            window = {
                **caps,
                SMALLEST: max(low, caps.get(SMALLEST, low)),
                LARGEST: min(low + width, caps.get(LARGEST, low + width)),
            }
            if best is not None:
                if minimise is None or best.measure(minimise) == 0:
                    break  # nothing to improve on
                value = best.measure(minimise) - 1
                window[minimise] = min(window.get(minimise, value), value)
            solve = self._solve_once(minimise, Limits(window, limits.exclude))
            if solve.outcome is not Outcome.INFEASIBLE:
                settled = settled and solve.outcome is Outcome.OPTIMAL
                best = solve.allocation or best
            if self.timed_out:
                settled = False
                break
        if best is None:
            return Solve(Outcome.INFEASIBLE if settled else Outcome.UNKNOWN)
        return Solve(Outcome.OPTIMAL if settled else Outcome.FEASIBLE, best)

    def _solve_once(self, minimise: str | None, limits: Limits) -> Solve:
        """Return one solve of the counting model within what is left of the time limit."""
        remaining = self.deadline - time.perf_counter()
        if remaining <= 0:
            self.timed_out = True
            return Solve(Outcome.UNKNOWN)
        began = time.perf_counter()
        solve, _ = self.model.solve(minimise, limits, remaining)
        if limits.fixed is None:
            self.slowest = max(self.slowest, time.perf_counter() - began)
        if solve.outcome in (Outcome.UNKNOWN, Outcome.FEASIBLE):
            self.timed_out = True
        return solve

    def _least(
        self,
        measure: str,
        best: Allocation | None,
        caps: dict[str, int],
        exclude: list[Mapping[Kind, int]],
        floor: int,
        hopeful: bool = False,
        then: str | None = None,
    ) -> tuple[Allocation | None, bool]:
        """Return the allocation with the smallest largest class or range, and whether proven.

        A bisection between the floor and the best so far, where each found structure is
        first rebalanced for that measure (for the largest class a max-flow per size tried,
        for the range a linear model: the structure is fixed), which often lowers the top at
        once. Each question is a plain feasibility model ("every class at most L"), which the
        solver settles far faster than a model minimising the measure over every structure,
        and fastest when the answer is "none", the proof.

        When hopeful (the floor is the option before's value), the floor is tried first:
        options next to each other often share it, and then one solve settles it. That
        question minimises `then`, if given, rather than taking any allocation: where our own
        search answered it first (cbc.solve), a second solve minimised the composites under
        the same caps (a trade-off step on k12-04 T+1: 0.15 s, then 0.12 s).
        """
        if hopeful and (best is None or best.measure(measure) > floor):
            at_floor = self._solve(then, Limits({**caps, measure: floor}, exclude))
            if at_floor.allocation is not None and at_floor.outcome is Outcome.OPTIMAL:
                return at_floor.allocation, True
            if at_floor.outcome is not Outcome.INFEASIBLE:
                return best, False
            if best is None and floor >= self.model.highest(measure):
                return None, True  # that cap held every allocation: there is none at all
            floor += 1
        if best is None:
            solve = self._solve(None, Limits(caps, exclude))
            if solve.allocation is None or solve.outcome is not Outcome.OPTIMAL:
                return solve.allocation, False
            best = solve.allocation
        low = floor
        found: Allocation | None = best  # a structure not yet rebalanced
        while True:
            if found is not None and found.measure(measure) > low:
                if measure == LARGEST:
                    balanced = self.model.least_largest(found, caps.get(SMALLEST))
                else:
                    fixed = Limits(caps, fixed=dict(found.structure))
                    balanced = self._solve(measure, fixed).allocation or found
                if balanced.measure(measure) < best.measure(measure):
                    best = balanced
            found = None
            if best.measure(measure) <= low:
                return best, True
            middle = (low + best.measure(measure) - 1) // 2
            smaller = self._solve(None, Limits({**caps, measure: middle}, exclude))
            if smaller.outcome is Outcome.INFEASIBLE:
                low = middle + 1
            elif smaller.allocation is None or smaller.outcome is not Outcome.OPTIMAL:
                return best, False
            else:
                found = smaller.allocation
                if found.measure(measure) < best.measure(measure):
                    best = found

    def _least_spread(
        self,
        best: Allocation,
        caps: dict[str, int],
        exclude: list[Mapping[Kind, int]],
        floor: int,
    ) -> tuple[Allocation, bool, list[Allocation] | None]:
        """Return the allocation with the smallest spread within the caps, whether it is proven,
        and the structures tied with it, when every one of them was rebalanced (else None).

        The caps hold the criteria before the spread at their optimum, so few structures
        reach them (rarely more than a handful). Each round rebalances one of those structures
        for its smallest spread (a small linear model once the structure is fixed), then asks
        for a structure not yet rebalanced; "none left" proves the best. Asking that is far
        cheaper than asking for a smaller spread over every structure (one window of sizes
        per grade) on most schools, so that is asked only after _TIED_STRUCTURES of them; on
        a school where solves over every structure are slow (_HARD_SOLVE) it is the cheaper
        proof, and asked after the first. When every tied structure was rebalanced they are
        returned: the next-best options among them need no further solve.
        """
        examined: list[Allocation] = []
        candidate = best
        while True:
            fixed = dict(candidate.structure)
            rebalanced = self._solve(SPREAD, Limits(caps, fixed=fixed))
            if rebalanced.allocation is None or rebalanced.outcome is not Outcome.OPTIMAL:
                return best, False, None
            examined.append(rebalanced.allocation)
            if rebalanced.allocation.measure(SPREAD) < best.measure(SPREAD):
                best = rebalanced.allocation
            if best.measure(SPREAD) <= floor:
                return best, True, None
            windowed = len(examined) >= (1 if self.slowest > _HARD_SOLVE else _TIED_STRUCTURES)
            if windowed:
                # No structure examined can reach a smaller spread (each was rebalanced), so
                # they need not be forbidden: forbidding them made CBC's proof 2-3x slower.
                limits = Limits({**caps, SPREAD: best.measure(SPREAD) - 1}, exclude)
            else:
                limits = Limits(caps, [*exclude, *(dict(a.structure) for a in examined)])
            other = self._solve(None, limits)
            if other.outcome is Outcome.INFEASIBLE:
                return best, True, None if windowed else examined
            if other.allocation is None or other.outcome is not Outcome.OPTIMAL:
                return best, False, None
            candidate = other.allocation

    def _floor(self, criterion: str) -> int:
        """Return a value of the measure that is proven unbeatable (so no solve is needed)."""
        return self.lower_largest if criterion == LARGEST else 0

    def rebalanced(self, allocation: Allocation, proven: bool) -> tuple[Allocation, bool]:
        """Return the allocation with its structure's best balance where the ranking allows."""
        if self.scenario.priority is not Priority.EVEN_CLASSES or not proven:
            return allocation, proven
        balanced = self._balanced(allocation)
        if balanced is None:
            return allocation, proven
        before = [allocation.measure(m) for m in self.ranking]
        after = [balanced.measure(m) for m in self.ranking]
        return (balanced, True) if after <= before else (allocation, True)


def _classes(scenario: Scenario, allocation: Allocation) -> list[SchoolClass]:
    """Return the allocation's classes, each kind's children split evenly, named `K A`, ..."""
    classes: list[SchoolClass] = []
    for kind in kinds_in_order(scenario):
        count = allocation.classes.get(kind, 0)
        if count == 0:
            continue
        counts = [dict.fromkeys(kind, 0) for _ in range(count)]
        turn = 0  # remainders go round-robin across grades so class totals differ by <= 1
        for label in kind:
            base, extra = divmod(allocation.children[kind][label], count)
            for index in range(count):
                counts[index][label] += base
            for _ in range(extra):
                counts[turn % count][label] += 1
                turn += 1
        name = "/".join(kind)
        classes.extend(
            SchoolClass(f"{name} {_letters(index)}", kind, grade_counts)
            for index, grade_counts in enumerate(counts)
        )
    return classes


def _letters(index: int) -> str:
    """Return A, B, ..., Z, AA, AB, ... for 0, 1, 2, ..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = string.ascii_uppercase[rest] + letters
    return letters


def kinds_in_order(scenario: Scenario) -> list[Kind]:
    """Return the scenario's kinds in reading order: K, K/1, 1, 1/2, 2, ..."""
    order = {g.label: i for i, g in enumerate(scenario.grades)}
    return sorted(scenario.kinds, key=lambda k: (order[k[0]], len(k), k))
