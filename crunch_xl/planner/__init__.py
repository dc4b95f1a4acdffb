"""Scenario -> Result: options proven best and ranked, alternatives, headroom, explanations.

The planner counts classes of each kind and children of each grade per kind (school.py), asks
a MIP solver lexicographic questions about them (formulation.py, search.py), splits each
structure it shows by a fixed rule (splits.py), and explains impossible scenarios
(explain.py). Planning the same scenario again gives the same options, whichever solver runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from crunch_xl.model import Option, Result, Scenario, Status
from crunch_xl.planner import explain, listing_worker
from crunch_xl.planner.estimates import estimates_of, headroom, out_of_reach
from crunch_xl.planner.formulation import Estimates, Question
from crunch_xl.planner.options import Choice, Why, choose
from crunch_xl.planner.ranking import SPLIT_ORDERS, ranking_key
from crunch_xl.planner.reasons import reason
from crunch_xl.planner.school import School
from crunch_xl.planner.search import OutOfTime, Search
from crunch_xl.planner.solvers import DEFAULT_SOLVER, SOLVERS, available_solvers, backend

__all__ = [
    "DEFAULT_SOLVER",
    "SOLVERS",
    "available_solvers",
    "is_feasible",
    "plan",
    "ranking_key",
]


def plan(
    scenario: Scenario,
    *,
    time_limit: float = 30.0,
    solver: str = DEFAULT_SOLVER,
    models: Path | None = None,
) -> Result:
    """Return the scenario's result: its options, or why it cannot work and what would fix it.

    `seconds` covers all of it, the explanation of an impossible scenario included. models,
    if given, is a folder that receives every model the solver was asked, as an LP file.
    """
    started = time.perf_counter()
    listing_worker.warm()
    school = School(scenario)
    search = Search(
        school,
        backend(solver),
        SPLIT_ORDERS[scenario.priority],
        started + time_limit,
        models,
    )
    estimates = estimates_of(scenario)
    warnings = explain.warnings(scenario)

    def result(status: Status, message: str = "", **found: Any) -> Result:
        return Result(
            scenario.name,
            status,
            message,
            seconds=time.perf_counter() - started,
            warnings=warnings,
            scenario=scenario,
            **found,
        )

    try:
        choice = choose(search, scenario.priority, scenario.alternatives, estimates)
    except OutOfTime:
        return result(
            Status.TIMEOUT,
            f"No plan was found within the time limit of {time_limit:g} seconds; "
            "allow more time (--time-limit) or simplify the scenario.",
        )
    if not choice.chosen:
        left = started + time_limit - time.perf_counter()
        message, suggestions = explain.explain(scenario, time_limit=max(left, 1.0), solver=solver)
        return result(Status.INFEASIBLE, message, suggestions=suggestions)
    options = _options(school, search, scenario, choice, estimates)
    estimates_message = ""
    if choice.coverable is False and estimates is not None:
        try:
            estimates_message = out_of_reach(search, scenario, estimates)
        except OutOfTime:
            estimates_message = (
                "No plan's classes hold every enrolment within the estimates; the options "
                "are planned for the expected numbers."
            )
    status, message = Status.SOLVED, ""
    if not options[0].proven:
        status = Status.TIMEOUT
        message = (
            f"The time limit of {time_limit:g} seconds ran out before option 1 was proven "
            "best; it is the best plan found."
        )
    elif choice.cut_short and len(options) < scenario.alternatives:
        message = "The time limit ran out while looking for more alternatives."
    return result(status, message, options=options, estimates_message=estimates_message)


def _options(
    school: School,
    search: Search,
    scenario: Scenario,
    choice: Choice,
    estimates: Estimates | None,
) -> list[Option]:
    """Return the chosen allocations as options: classes, reasons, headroom, coverage."""
    first = school.school_classes(choice.chosen[0].allocation)
    best = ranking_key(school.measures(choice.chosen[0].allocation), scenario.priority)
    options = []
    for rank, chosen in enumerate(choice.chosen, start=1):
        classes = school.school_classes(chosen.allocation)
        tied = (
            rank > 1 and ranking_key(school.measures(chosen.allocation), scenario.priority) == best
        )
        covers = (
            None if estimates is None else search.covers(chosen.allocation.structure, estimates)
        )
        options.append(
            Option(
                rank,
                classes,
                proven=chosen.proven,
                reason=reason(chosen.why, scenario.priority, classes, first, tied=tied),
                equally_good=tied,
                headroom=headroom(school, chosen.allocation),
                covers_estimates=covers,
                best_covering=chosen.why is Why.COVERING or (rank == 1 and bool(covers)),
            )
        )
    return options


def is_feasible(
    scenario: Scenario, *, time_limit: float = 10.0, solver: str = DEFAULT_SOLVER
) -> bool:
    """Return True when some allocation obeys every rule (False also when time runs out)."""
    search = Search(
        School(scenario), backend(solver), SPLIT_ORDERS[scenario.priority],
        time.perf_counter() + time_limit,
    )  # fmt: skip
    try:
        return search.ask(Question()) is not None
    except OutOfTime:
        return False
