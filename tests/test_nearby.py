"""crunch_xl.nearby: splitting children over a fixed structure by flow, and searching near
known allocations (checked against the real CBC on the same questions)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_plan import tiny_scenarios

from crunch_xl import nearby as nearby_module
from crunch_xl.counting import BALANCE, LARGEST, SMALLEST, Allocation, CountingModel, Limits
from crunch_xl.model import Composite, Grade, Scenario
from crunch_xl.nearby import _ALL_RUNS_UP_TO as ALL_RUNS_UP_TO
from crunch_xl.nearby import _LONGEST_RUN as LONGEST_RUN
from crunch_xl.nearby import Neighbourhood


def school() -> Scenario:
    """Return a small school: K, 1, 2 with composites K/1 and 1/2."""
    grades = (Grade("K", 23, 10, 24), Grade("1", 24, 10, 24), Grade("2", 30, 10, 26))
    composites = (Composite(("K", "1")), Composite(("1", "2")))
    return Scenario("Plan A", grades, composites, teachers=4, composite_minimum=4)


def test_a_split_places_every_child_within_the_limits() -> None:
    s = school()
    classes = {("K",): 1, ("1",): 0, ("2",): 1, ("K", "1"): 1, ("1", "2"): 1}
    children = Neighbourhood(s).split(classes)
    assert children is not None
    allocation = Allocation(classes, children)
    assert CountingModel(s).obeys_rules(allocation)


def test_caps_and_the_composite_minimum_can_make_a_structure_impossible() -> None:
    s = school()
    nearby = Neighbourhood(s)
    classes = {("K",): 1, ("1",): 1, ("2",): 2}
    assert nearby.split(classes) is not None  # 23, 24 and 15 + 15
    assert nearby.split(classes, largest=23) is None  # grade 1's 24 in one class
    assert nearby.split(classes, smallest=16) is None  # 30 cannot make two classes of 16
    # Two K/1 classes with 12 of each grade in each need 24 of K, who are 23; one can take 12.
    strict = dataclasses.replace(s, composite_minimum=12)
    assert Neighbourhood(strict).split({("K", "1"): 2, ("1",): 1, ("2",): 2}) is None
    assert Neighbourhood(strict).split({("K", "1"): 1, ("K",): 1, ("1",): 1, ("2",): 2})


def test_a_run_of_grades_that_cannot_fit_turns_a_structure_down() -> None:
    grades = (Grade("K", 20, 10, 24), Grade("1", 20, 10, 24))
    s = Scenario("Plan A", grades, (Composite(("K", "1")),), teachers=2, composite_minimum=4)
    nearby = Neighbourhood(s)
    # One K/1 class could take either grade's 20 (24 less 4 of the other), not both: 40 > 24.
    one = {("K", "1"): 1}
    assert not nearby.runs.may_fit(one, None, None)
    assert nearby.split(one) is None
    two = {("K",): 1, ("1",): 1}
    assert nearby.runs.may_fit(two, None, None)
    assert nearby.split(two) == {("K",): {"K": 20}, ("1",): {"1": 20}, ("K", "1"): {"K": 0, "1": 0}}
    # Exactly full: 20 of K and grade 1's 4 (its composite minimum) in one class of 24.
    exact = dataclasses.replace(s, grades=(grades[0], Grade("1", 4, 1, 24)), teachers=1)
    assert Neighbourhood(exact).runs.may_fit(one, None, None)
    assert Neighbourhood(exact).split(one) == {
        ("K", "1"): {"K": 20, "1": 4},
        ("K",): {"K": 0},
        ("1",): {"1": 0},
    }


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(tiny_scenarios(), st.data())
def test_the_runs_check_never_turns_down_what_the_flow_splits(
    s: Scenario, data: st.DataObject
) -> None:
    classes = {kind: data.draw(st.integers(0, 3)) for kind in s.kinds}
    largest = data.draw(st.sampled_from([None, 8, 10, 12]))
    smallest = data.draw(st.sampled_from([None, 3, 5]))
    # Also as a school of very many grades is checked: single grades and the whole school.
    every_run = data.draw(st.booleans())
    try:
        if not every_run:
            nearby_module._ALL_RUNS_UP_TO, nearby_module._LONGEST_RUN = 1, 1
        nearby = Neighbourhood(s)
        nearby_module.CHECK_RUNS = False
        children = nearby.split(classes, largest, smallest)
    finally:
        nearby_module.CHECK_RUNS = True
        nearby_module._ALL_RUNS_UP_TO, nearby_module._LONGEST_RUN = ALL_RUNS_UP_TO, LONGEST_RUN
    if children is not None:
        assert nearby.runs.may_fit(classes, largest, smallest)
        assert nearby.split(classes, largest, smallest) == children


def test_a_school_of_very_many_grades_has_its_short_runs_and_the_whole_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grades = tuple(Grade(str(n), 20, 10, 24) for n in range(5))
    s = Scenario("Plan A", grades, (Composite(("0", "1")),), teachers=5, composite_minimum=4)
    assert len(Neighbourhood(s).runs.children) == 15  # every run of 5 grades
    monkeypatch.setattr(nearby_module, "_ALL_RUNS_UP_TO", 4)
    monkeypatch.setattr(nearby_module, "_LONGEST_RUN", 2)
    runs = Neighbourhood(s).runs
    assert sorted(runs.children) == [20] * 5 + [40] * 4 + [100]  # 1 and 2 grades, and all 5
    # Grades 0 and 1 fit one composite class of 24 one at a time, not as a run of two.
    one = {("0", "1"): 1, ("2",): 1, ("3",): 1, ("4",): 1}
    assert not runs.may_fit(one, None, None)
    assert runs.may_fit({**one, ("0", "1"): 2}, None, None)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(tiny_scenarios(), st.data())
def test_a_split_exists_exactly_when_the_solver_finds_one(s: Scenario, data: st.DataObject) -> None:
    classes = {}
    for kind in s.kinds:  # within the kind's fewest and most classes (the search keeps them)
        fewest, most = s.count_limits(kind)
        low, high = fewest or 0, 2 if most is None else min(2, most)
        assume(low <= high)  # a kind whose fewest classes exceed its most has no structure
        classes[kind] = data.draw(st.integers(low, high))
    if not any(classes.values()):
        classes[s.kinds[0]] = 1
    caps = data.draw(st.sampled_from([{}, {LARGEST: 9}, {SMALLEST: 4}, {LARGEST: 11, SMALLEST: 3}]))
    # The solver's fixed-structure question also counts teachers: give it exactly these classes.
    s = dataclasses.replace(s, teachers=sum(classes.values()), use_every_teacher=True)
    model = CountingModel(s)
    solve, _ = model.solve(None, Limits(dict(caps), fixed=classes), 10)
    children = Neighbourhood(s).split(classes, caps.get(LARGEST), caps.get(SMALLEST))
    assert (children is not None) == solve.found
    if children is not None:
        allocation = Allocation(classes, children)
        assert model.obeys_rules(allocation)
        assert allocation.measure(LARGEST) <= caps.get(LARGEST, 99)
        assert allocation.measure(SMALLEST) >= caps.get(SMALLEST, 0)


def test_the_search_moves_one_class_to_keep_a_cap() -> None:
    s = school()
    model = CountingModel(s)
    known = {("K",): 1, ("1",): 1, ("2",): 1, ("K", "1"): 0, ("1", "2"): 1}
    children = Neighbourhood(s).split(known)
    assert children is not None
    start = Allocation(known, children)
    assert start.measure(LARGEST) > 20
    steps = list(Neighbourhood(s).search([(known, children)], largest=20))
    found = steps[-1]
    assert found is not None and all(step is None for step in steps[:-1])
    allocation = Allocation(*found)
    assert model.obeys_rules(allocation)
    assert allocation.measure(LARGEST) <= 20
    moved = sum(abs(allocation.classes[k] - known.get(k, 0)) for k in s.kinds)
    assert moved == 2  # one class fewer of one kind, one more of another


def test_the_search_never_offers_an_excluded_structure() -> None:
    s = school()
    known = {("K",): 1, ("1",): 1, ("2",): 1, ("K", "1"): 0, ("1", "2"): 1}
    children = Neighbourhood(s).split(known)
    assert children is not None
    excluded: list[dict[tuple[str, ...], int]] = []
    while True:
        steps = list(Neighbourhood(s).search([(known, children)], excluded))
        if not steps or steps[-1] is None:
            break
        structure = steps[-1][0]
        assert structure not in excluded and structure != known
        excluded.append(structure)
    assert excluded  # some neighbours exist, and each was offered once


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(tiny_scenarios())
def test_the_flow_rebalance_finds_the_solvers_smallest_largest_class(s: Scenario) -> None:
    model = CountingModel(s)
    solve, _ = model.solve(None, Limits(), 10)
    assume(solve.allocation is not None)
    found = solve.allocation
    assert found is not None
    balanced = model.least_largest(found)
    assert balanced.structure == found.structure
    assert model.obeys_rules(balanced)
    # The solver, minimising the largest class of that structure, does no better.
    proven, _ = CountingModel(s).solve(BALANCE, Limits(fixed=dict(found.classes)), 10)
    assert proven.allocation is not None
    assert balanced.measure(LARGEST) == proven.allocation.measure(LARGEST)
