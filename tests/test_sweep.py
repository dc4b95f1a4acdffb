"""crunch_xl.sweep: a first plan with few composites, found without a solver (checked against
the real CBC's proven fewest composites on the same questions)."""

from __future__ import annotations

import random
import subprocess
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_plan import NEWSLETTER, tiny_scenarios

from crunch_xl import cbc, counting
from crunch_xl.counting import COMPOSITES, LARGEST, SMALLEST, Allocation, CountingModel, Limits
from crunch_xl.model import Composite, Grade, Scenario
from crunch_xl.nearby import Neighbourhood
from crunch_xl.sweep import Sweep


def checked(s: Scenario, caps: dict[str, int]) -> Allocation | None:
    """Return the sweep's plan for the caps, split by max-flow, after checking every rule."""
    classes = Sweep(s).classes(caps.get(LARGEST), caps.get(SMALLEST), caps.get(COMPOSITES))
    if classes is None:
        return None
    children = Neighbourhood(s).split(classes, caps.get(LARGEST), caps.get(SMALLEST))
    assert children is not None, classes  # the sweep only keeps choices it can carry out
    allocation = Allocation(classes, children)
    assert CountingModel(s).obeys_rules(allocation)
    assert allocation.measure(LARGEST) <= caps.get(LARGEST, 10**6)
    assert allocation.measure(SMALLEST) >= caps.get(SMALLEST, 0)
    assert allocation.measure(COMPOSITES) <= caps.get(COMPOSITES, 10**6)
    return allocation


def fewest_composites(s: Scenario, caps: dict[str, int]) -> int | None:
    """Return CBC's proven fewest composites within the caps (None: no plan at all)."""
    solve, value = CountingModel(s).solve(COMPOSITES, Limits(dict(caps)), 30)
    assert solve.outcome.value in ("optimal", "infeasible")
    return value if solve.found else None


def test_the_newsletter_school_needs_one_composite_for_classes_of_24() -> None:
    assert (plan := checked(NEWSLETTER, {})) is not None
    assert plan.measure(COMPOSITES) == 0
    assert (plan := checked(NEWSLETTER, {LARGEST: 24})) is not None
    assert plan.measure(COMPOSITES) == 1
    assert plan.measure(LARGEST) <= 24
    assert checked(NEWSLETTER, {LARGEST: 23}) is None  # eight classes for seven teachers


def test_a_triple_beside_pairs_is_carried_through_its_middle_grade() -> None:
    # 56 children in 3 classes of at most 20: K fills one, and grades 1-3 (36) two; one
    # composite does it, and only 1/2/3 can hold all of 1 and 2 with some of 3.
    grades = (Grade("K", 20, 5, 20), Grade("1", 9, 5, 20), Grade("2", 9, 5, 20))
    grades += (Grade("3", 18, 5, 20),)
    composites = (Composite(("K", "1")), Composite(("1", "2", "3")), Composite(("2", "3")))
    s = Scenario("Plan A", grades, composites, teachers=3, composite_minimum=2)
    plan = checked(s, {})
    assert plan is not None
    assert plan.measure(COMPOSITES) == fewest_composites(s, {})


def test_the_same_caps_asked_again_give_the_same_plan_which_the_caller_may_change() -> None:
    sweep = Sweep(NEWSLETTER)
    first = sweep.classes(24)
    assert first is not None
    assert sum(n for kind, n in first.items() if len(kind) > 1) == 1
    first.clear()  # the caller's copy: the remembered answer is untouched
    again = sweep.classes(24)
    assert again == Sweep(NEWSLETTER).classes(24)
    assert again is not None and sum(again.values()) == NEWSLETTER.teachers
    assert sweep.classes(23) is None and sweep.classes(23) is None


def test_composites_of_grades_apart_leave_the_sweep_out() -> None:
    grades = (Grade("K", 20, 5, 20), Grade("1", 9, 5, 20), Grade("2", 9, 5, 20))
    s = Scenario("Plan A", grades, (Composite(("K", "2")),), teachers=3)
    assert not Sweep(s).applies
    assert Sweep(s).classes() is None


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(tiny_scenarios(), st.sampled_from([{}, {LARGEST: 9}, {SMALLEST: 4}, {COMPOSITES: 1}]))
def test_a_sweep_plan_obeys_every_rule_and_never_beats_the_proven_fewest(
    s: Scenario, caps: dict[str, int]
) -> None:
    plan = checked(s, caps)
    best = fewest_composites(s, caps)
    if plan is not None:
        assert best is not None and plan.measure(COMPOSITES) >= best


def test_the_sweep_finds_the_fewest_composites_on_most_tiny_schools() -> None:
    # A search, not a proof; on small schools it should still find what CBC proves best.
    found = matched = 0
    for seed in range(40):
        s = _seeded(seed)
        best = fewest_composites(s, {})
        plan = checked(s, {})
        found += best is not None
        matched += plan is not None and plan.measure(COMPOSITES) == best
    assert found >= 20 and matched >= 0.9 * found, (found, matched)


def _seeded(seed: int) -> Scenario:
    """Return a tiny school from a seed: 3-5 grades, each pair of neighbours a composite."""
    rng = random.Random(seed)
    labels = ["K", "1", "2", "3", "4"][: rng.randint(3, 5)]
    grades = tuple(Grade(label, rng.randint(8, 30), 8, rng.randint(18, 26)) for label in labels)
    composites = tuple(Composite(pair) for pair in zip(labels, labels[1:], strict=False))
    if len(labels) >= 4:
        composites += (Composite(tuple(labels[1:4])),)
    straight = sum(-(-g.children // g.largest) for g in grades)
    teachers = max(1, straight - rng.randint(0, 1))
    return Scenario("Plan A", grades, composites, teachers, composite_minimum=rng.randint(2, 4))


@pytest.mark.parametrize("sweep", [True, False])
def test_a_cbc_begun_from_the_sweep_joins_and_the_answer_is_still_proven(
    sweep: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sweep's start is worked out once CBC has run SEARCH_AFTER: at once here.
    monkeypatch.setattr(counting, "SWEEP", sweep)
    monkeypatch.setattr(cbc, "SEARCH_AFTER", 0.0)
    commands: list[list[str]] = []
    real = cbc._start

    def record(path: str, words: list[str], exited: threading.Event) -> subprocess.Popen[bytes]:
        commands.append(words)
        return real(path, words, exited)

    monkeypatch.setattr(cbc, "_start", record)
    # Classes of at most 24 need one composite (3/4), as in the newsletter test of test_plan.
    solve, value = CountingModel(NEWSLETTER).solve(COMPOSITES, Limits({LARGEST: 24}), 30)
    assert solve.outcome.value == "optimal"
    monkeypatch.setattr(counting, "SWEEP", False)
    assert value == fewest_composites(NEWSLETTER, {LARGEST: 24}) == 1
    begun_from_a_start = ["-mips" in words for words in commands]
    if sweep and len(commands) > 1:  # unless the first CBC answered before the sweep ran
        assert begun_from_a_start[:2] == [False, True]
    if not sweep:
        assert not any(begun_from_a_start)
