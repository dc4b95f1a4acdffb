"""Enrolments are estimates: each option's headroom, and what the estimates ask of a plan.

Headroom is exact: for each grade, the flow of flows.Transport.room moves that grade's number
up and down with the option's classes fixed (same classes of each kind), the children split
again under every rule. Coverage is two flows (see flows.py): one at the high estimates and
one at the low ones.
"""

from __future__ import annotations

from crunch_xl import words
from crunch_xl.model import Room, Scenario
from crunch_xl.planner.flows import Transport
from crunch_xl.planner.formulation import Estimates, Question
from crunch_xl.planner.school import Allocation, School
from crunch_xl.planner.search import Search


def estimates_of(scenario: Scenario) -> Estimates | None:
    """Return the scenario's estimates (None: no grade has one)."""
    if not scenario.has_estimates:
        return None
    low = {grade.label: grade.estimates[0] for grade in scenario.grades}
    high = {grade.label: grade.estimates[1] for grade in scenario.grades}
    return Estimates(low, high)


def headroom(school: School, allocation: Allocation) -> dict[str, Room]:
    """Return, for every grade, how many fewer or more children the option's classes hold."""
    transport = Transport(allocation.structure, school.minimum)
    totals = {
        kind: (school.limits[kind][0] * count, school.limits[kind][1] * count)
        for kind, count in allocation.structure
    }
    found = {}
    for label in school.labels:
        room = transport.room(school.children, totals, label)
        if room is None:  # cannot happen for a valid allocation; say "no room" rather than guess
            room = (0, 0)
        found[label] = Room(fewer=room[0], more=room[1])
    return found


def out_of_reach(search: Search, scenario: Scenario, estimates: Estimates) -> str:
    """Return, in words, which estimates no plan can cover (asked one grade at a time)."""
    expected = {grade.label: grade.children for grade in scenario.grades}
    reasons = []
    for grade in scenario.grades:
        if not grade.has_estimates:
            continue
        low, high = grade.estimates
        for end, value in (("high", high), ("low", low)):
            single = dict(expected)
            single[grade.label] = value
            cover = Estimates(single if end == "low" else expected,
                              single if end == "high" else expected)  # fmt: skip
            if search.ask(Question(cover=cover)) is None:
                reasons.append(
                    f"{words.grade(grade.label)}'s {end} estimate of {value} "
                    f"({words.children(value)})"
                )
    if not reasons:
        return (
            "No plan's classes hold every combination of enrolments within the estimates, "
            "though each estimate alone can be held; the options are planned for the expected "
            "numbers."
        )
    return (
        "No plan's classes hold every enrolment within the estimates: "
        f"{words.join(reasons)} {words.agree(len(reasons), 'is', 'are')} out of reach even "
        "with every other grade as expected. The options are planned for the expected numbers."
    )
