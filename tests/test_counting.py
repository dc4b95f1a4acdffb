"""crunch_xl.counting: the windows of sizes the range questions try (real CBC)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reference import brute_force
from test_plan import tiny_scenarios

from crunch_xl import counting, highs
from crunch_xl.counting import COMPOSITES, LARGEST, SMALLEST, CountingModel, Limits, Outcome
from crunch_xl.model import Composite, Grade, Scenario, structure_of


def test_a_window_no_number_of_classes_can_average_into_is_not_tried() -> None:
    # 48 children, classes of 10 to 30, at most three teachers: 48, 24 or 16 on average.
    s = Scenario("Plan A", (Grade("K", 48, 10, 30),), (), 3, use_every_teacher=False)
    assert sorted(CountingModel(s).window_starts(0, {})) == [16, 24]
    assert sorted(CountingModel(s).window_starts(2, {})) == [14, 15, 16, 22, 23, 24]
    every = dataclasses.replace(s, use_every_teacher=True)
    assert CountingModel(every).window_starts(0, {}) == [16]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(tiny_scenarios(), st.integers(0, 3))
def test_every_allocation_within_the_range_lies_in_a_window_tried(s: Scenario, width: int) -> None:
    model = CountingModel(s)
    tried = model.window_starts(width, {})
    top = max((g.largest for g in s.grades), default=0)
    for low in range(0, top + 1):
        caps = {SMALLEST: low, LARGEST: low + width}
        solve, _ = CountingModel(s).solve(None, Limits(caps), 10)
        if solve.allocation is not None:
            smallest, largest = (solve.allocation.measure(m) for m in (SMALLEST, LARGEST))
            assert any(a <= smallest and largest <= a + width for a in tried), (low, width)


def test_class_range_takes_the_scenario_counts_and_never_exceeds_the_teachers() -> None:
    s = Scenario(
        "counts",
        (Grade("K", 40, 10, 20, fewest_classes=2), Grade("1", 40, 10, 20, most_classes=9)),
        (Composite(("K", "1"), most_classes=1),),
        teachers=4,
    )
    assert s.class_range(("K",)) == (2, 4)  # no most given: one class per teacher at most
    assert s.class_range(("1",)) == (0, 4)  # 9 asked for, but only 4 teachers
    assert s.class_range(("K", "1")) == (0, 1)
    assert CountingModel(s).fewest[("K",)] == 2


@pytest.mark.skipif(not highs.available(), reason="highspy is not installed")
def test_fewest_classes_first_settles_a_tight_school_and_not_one_with_a_teacher_spare(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settled: list[bool] = []
    real = highs.Run._restated_answer

    def recorded(run: highs.Run, *args: object) -> object:
        answer = real(run, *args)  # type: ignore[arg-type]
        settled.append(answer is not None)
        return answer

    monkeypatch.setattr(highs.Run, "_restated_answer", recorded)
    grades = (Grade("K", 38, 10, 20), Grade("1", 41, 10, 20), Grade("2", 39, 10, 20))
    composites = (Composite(("K", "1")), Composite(("1", "2")))
    # 118 children in classes of at most 20 need 6 classes: with 6 teachers, the fewest
    # classes are as many as the teachers; with 7, they are fewer, and settle nothing.
    for teachers, restated_settles in ((6, True), (7, False)):
        s = Scenario("Plan A", grades, composites, teachers)
        settled.clear()
        solve, fewest = CountingModel(s, solver="highs").solve(COMPOSITES, Limits(), 10)
        assert settled == [restated_settles]
        monkeypatch.setattr(counting, "FEWEST_CLASSES_FIRST", False)
        asked, as_asked = CountingModel(s, solver="highs").solve(COMPOSITES, Limits(), 10)
        monkeypatch.setattr(counting, "FEWEST_CLASSES_FIRST", True)
        assert solve.outcome is asked.outcome is Outcome.OPTIMAL
        assert solve.allocation is not None and sum(solve.allocation.classes.values()) == teachers
        assert fewest == as_asked == (1 if teachers == 6 else 0)


def _fresh(s: Scenario, minimise: str | None, limits: Limits) -> tuple[Outcome, int]:
    """Return a question's outcome and value from a model that has solved nothing before."""
    solve, value = CountingModel(s).solve(minimise, limits, 10)
    return solve.outcome, value


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(tiny_scenarios())
def test_answers_reusing_earlier_proofs_match_fresh_solves(s: Scenario) -> None:
    model = CountingModel(s)
    first, composites = model.solve(COMPOSITES, Limits(), 10)
    if first.allocation is None:
        return
    largest = first.allocation.measure(LARGEST)
    structure = dict(first.allocation.structure)
    balanced, least = model.solve(counting.BALANCE, Limits(fixed=structure), 10)
    assert balanced.outcome is Outcome.OPTIMAL
    questions: list[tuple[str | None, Limits]] = [
        (COMPOSITES, Limits({LARGEST: largest})),
        (COMPOSITES, Limits({LARGEST: largest + 1})),
        (None, Limits({COMPOSITES: composites - 1})),
        (None, Limits({COMPOSITES: composites})),
        (LARGEST, Limits(fixed=structure)),
        (None, Limits({LARGEST: least - 1}, fixed=structure)),
        (None, Limits({LARGEST: least - 1}, [structure])),
        (COMPOSITES, Limits({LARGEST: least - 1}, [structure])),
        (COMPOSITES, Limits({LARGEST: largest}, [structure])),
    ]
    for minimise, limits in questions:
        solve, value = model.solve(minimise, limits, 10)
        assert (solve.outcome, value) == _fresh(s, minimise, limits), (minimise, limits)
        if solve.allocation is not None:
            assert model.obeys_rules(solve.allocation)


def test_what_earlier_solves_proved_answers_without_a_solver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    solves: list[object] = []
    real = counting.cbc.solve

    def counted(*args: object, **kwargs: object) -> object:
        solves.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(counting.cbc, "solve", counted)
    # 75 children in classes of at most 20 and four teachers: two composites at least.
    grades = (Grade("K", 25, 10, 20), Grade("1", 25, 10, 20), Grade("2", 25, 10, 20))
    composites = (Composite(("K", "1")), Composite(("1", "2")))
    model = CountingModel(Scenario("Plan A", grades, composites, 4))
    best, fewest = model.solve(COMPOSITES, Limits(), 10)
    assert best.outcome is Outcome.OPTIMAL and best.allocation is not None and fewest == 2
    structure = dict(best.allocation.structure)
    balanced, least = model.solve(counting.BALANCE, Limits(fixed=structure), 10)
    assert balanced.outcome is Outcome.OPTIMAL
    solves.clear()
    # Fewer than two composites were proven impossible, so the known allocation is the
    # fewest within any limits it keeps, and one composite is impossible within any.
    again, value = model.solve(COMPOSITES, Limits({LARGEST: 20}), 10)
    assert again.outcome is Outcome.OPTIMAL and value == 2
    one, _ = model.solve(None, Limits({COMPOSITES: 1, LARGEST: 19}), 10)
    assert one.outcome is Outcome.INFEASIBLE
    assert solves == []
    # The structure's smallest largest class was proven: below it the structure need not be
    # forbidden (it cannot keep the cap anyway), and at it, it must still be.
    assert model._pruned(Limits({LARGEST: least - 1}, [structure])).exclude == []
    assert model._pruned(Limits({LARGEST: least}, [structure])).exclude == [structure]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(tiny_scenarios(), st.data())
def test_forbidden_structures_leave_exactly_the_others(s: Scenario, data: st.DataObject) -> None:
    reference = brute_force(s)
    assume(reference.feasible)
    shown = sorted(reference.structures)
    forbidden = data.draw(st.lists(st.sampled_from(shown), min_size=1, unique=True))
    # Also one class more of a kind: too many classes, or (where not every teacher must be
    # used) a structure that may be valid.
    kind, count = shown[0][0]
    more = {**dict(shown[0]), kind: count + 1}
    limits = Limits(exclude=[dict(structure) for structure in forbidden] + [more])
    solve, composites = CountingModel(s).solve(COMPOSITES, limits, 10)
    left = reference.structures - set(forbidden) - {structure_of(more)}
    if not left:
        assert solve.outcome is Outcome.INFEASIBLE
        return
    assert solve.outcome is Outcome.OPTIMAL and solve.allocation is not None
    assert solve.allocation.structure in left
    assert composites == min(m.composites for other in left for m in reference.outcomes[other])
