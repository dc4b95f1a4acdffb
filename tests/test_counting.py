"""crunch_xl.counting: the windows of sizes the range questions try (real CBC)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_plan import tiny_scenarios

from crunch_xl import counting, highs
from crunch_xl.counting import COMPOSITES, LARGEST, SMALLEST, CountingModel, Limits, Outcome
from crunch_xl.model import Composite, Grade, Scenario


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
