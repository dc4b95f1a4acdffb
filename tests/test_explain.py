"""Explanations of impossible scenarios: the reason in words and repairs that really work.

Every suggestion is applied to the scenario *from its fields alone* (field, target, value), the
way an administrator would edit the sheet, and planned again with the real planner: it must
work, the fewest composites it reports must be right, and the same change one step smaller
must not work.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crunch_xl import planner as plan
from crunch_xl.model import Composite, Grade, Priority, Scenario, Status, Suggestion
from crunch_xl.planner.explain import FIELDS, MAX_SUGGESTIONS, explain, warnings

#: Words a message must never show the administrator.
SOLVER_WORDS = ("infeasible", "status", "lpstatus", "solver", "cbc", "highs", "optimal")


def grade(label: str, children: int, smallest: int = 15, largest: int = 24, **counts: int) -> Grade:
    return Grade(label, children, smallest, largest, **counts)


def scenario(grades: list[Grade], teachers: int, **settings_: object) -> Scenario:
    return Scenario("Plan A", tuple(grades), teachers=teachers, **settings_)  # type: ignore[arg-type]


def apply(s: Scenario, suggestion: Suggestion) -> Scenario:
    """Return the scenario with the suggested change made, read from the suggestion's fields."""
    field, target, value = suggestion.field, suggestion.target, suggestion.value
    if field == "teachers":
        assert isinstance(value, int) and not isinstance(value, bool) and target is None
        return replace(s, teachers=value)
    if field == "use every teacher":
        assert isinstance(value, bool) and target is None
        return replace(s, use_every_teacher=value)
    if field == "composite minimum":
        assert isinstance(value, int) and target is None
        return replace(s, composite_minimum=value)
    if field == "allow composite":
        assert value is None and target is not None
        kind = tuple(target.split("/"))
        assert kind not in {c.grades for c in s.composites}
        labels = [g.label for g in s.grades]
        assert labels.index(kind[1]) == labels.index(kind[0]) + 1, "neighbouring grades"
        return replace(s, composites=s.composites + (Composite(kind),))
    assert field in ("smallest class", "largest class") and target is not None
    assert isinstance(value, int) and not isinstance(value, bool)
    lower = field == "smallest class"
    if "/" in target:
        kind = tuple(target.split("/"))
        composites = tuple(
            (replace(c, smallest=value) if lower else replace(c, largest=value))
            if c.grades == kind
            else c
            for c in s.composites
        )
        assert composites != s.composites
        return replace(s, composites=composites)
    grades = tuple(
        (replace(g, smallest=value) if lower else replace(g, largest=value))
        if g.label == target
        else g
        for g in s.grades
    )
    assert grades != s.grades
    return replace(s, grades=grades)


def one_step_smaller(s: Scenario, suggestion: Suggestion) -> Suggestion | None:
    """Return the same change made one step smaller (None when that is no change at all)."""
    value = suggestion.value
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    if suggestion.field == "teachers":
        closer = value - 1 if value > s.teachers else value + 1
        current = s.teachers
    elif suggestion.field == "composite minimum":
        closer, current = value + 1, s.composite_minimum
    else:
        assert suggestion.target is not None
        kind = tuple(suggestion.target.split("/"))
        smallest, largest = s.size_limits(kind)
        if suggestion.field == "largest class":
            closer, current = value - 1, largest
        else:
            closer, current = value + 1, smallest
    return None if closer == current else replace(suggestion, value=closer)


def assert_repairs_work(s: Scenario, suggestions: list[Suggestion]) -> None:
    """Check each suggestion: it solves, option 1 is as reported, and a smaller step fails."""
    assert len(suggestions) <= MAX_SUGGESTIONS
    assert len({(x.field, x.target, x.value) for x in suggestions}) == len(suggestions)
    for suggestion in suggestions:
        assert suggestion.field in FIELDS
        assert suggestion.text and not any(w in suggestion.text.lower() for w in SOLVER_WORDS)
        changed = apply(s, suggestion)
        fewest = replace(changed, alternatives=1, priority=Priority.FEWEST_COMPOSITES)
        result = plan.plan(fewest, time_limit=30)
        assert result.status is Status.SOLVED, suggestion
        assert suggestion.composites == result.options[0].composites
        smaller = one_step_smaller(s, suggestion)
        if smaller is not None:
            assert not plan.is_feasible(apply(s, smaller)), f"not the smallest: {suggestion}"


def check(s: Scenario, reason: str, *expected: tuple[str, object]) -> list[Suggestion]:
    """Explain an infeasible scenario; check the reason, the expected repairs and every repair."""
    assert plan.plan(s, time_limit=30).status is Status.INFEASIBLE
    message, suggestions = explain(s)
    assert reason in message, message
    assert not any(word in message.lower() for word in SOLVER_WORDS), message
    offered = {(x.field, x.target, x.value) for x in suggestions}
    for field_target, value in expected:
        field, _, target = field_target.partition(":")
        assert (field, target or None, value) in offered, (field_target, value, suggestions)
    assert_repairs_work(s, suggestions)
    return suggestions


SCHOOL = [
    grade("K", 44),
    grade("1", 50),
    grade("Year 2", 62),
    grade("3", 48),
    grade("4", 51),
    grade("5", 47),
    grade("6", 40),
]


def test_too_few_teachers_names_the_classes_needed() -> None:
    # Two classes per grade at most 24 → K 2, 1 3, Year 2 3, 3 2, 4 3, 5 2, 6 2 = 17 classes.
    s = scenario(SCHOOL, teachers=16)
    suggestions = check(
        s,
        "16 teachers but at least 17 classes are needed",
        ("teachers", 17),
    )
    first = suggestions[0]
    assert first.text == "Allow 17 classes instead of 16 (one more teacher)"
    assert first.composites == 0


def test_too_many_teachers_names_the_children_missing() -> None:
    # 271 children, smallest class 15: 19 classes would need 285.
    # Each grade fills at most children // 15 classes: 3+3+3+3+2+2+2 = 18.
    grades = [grade("K", 45), grade("1", 45), grade("2", 45), grade("3", 45), grade("4", 30)]
    grades += [grade("5", 31), grade("6", 30)]
    s = scenario(grades, teachers=19)
    check(
        s,
        "With every teacher used, 19 classes would need at least 285 children "
        "(smallest class 15); there are 271",
        ("teachers", 18),
        ("use every teacher", False),
    )


def test_grade_with_too_few_classes_allowed() -> None:
    s = scenario([grade("K", 40), grade("Year 2", 62, most_classes=2)], teachers=5)
    check(
        s,
        "Year 2 has 62 children; classes of at most 24 need at least 3 classes, but at most "
        "2 Year 2 classes are allowed",
        ("allow composite:K/Year 2", None),
    )


def test_grade_that_cannot_be_split() -> None:
    s = scenario([grade("K", 26, 14, 25), grade("1", 40)], teachers=3)
    check(
        s,
        "Grade K has 26 children, which cannot be split into classes of 14 to 25: 1 class "
        "holds at most 25 and 2 classes need at least 28",
        ("largest class:K", 26),
        ("allow composite:K/1", None),
    )


def test_grade_smaller_than_its_smallest_class() -> None:
    s = scenario([grade("K", 40), grade("1", 10), grade("2", 45)], teachers=5)
    check(
        s,
        "Grade 1 has 10 children, fewer than its smallest class of 15, and no composite can "
        "take them",
        ("smallest class:1", 10),
        ("allow composite:K/1", None),
        ("allow composite:1/2", None),
    )


def test_composite_minimum_makes_the_composite_useless() -> None:
    s = scenario(
        [grade("K", 40), grade("1", 10)],
        teachers=3,
        composites=(Composite(("K", "1")),),
        composite_minimum=12,
    )
    check(
        s,
        "the K/1 composite can never run: Grade 1 has only 10 children, fewer than the "
        "composite minimum of 12",
        ("composite minimum", 10),
    )


def test_fewest_classes_need_more_children_than_the_grade_has() -> None:
    s = scenario([grade("K", 40), grade("Year 2", 62, 16, fewest_classes=4)], teachers=6)
    check(
        s,
        "Year 2 has 62 children, but the Fewest classes settings need at least 64 of them: "
        "4 Year 2 classes of at least 16",
        ("smallest class:Year 2", 15),
    )


def test_fewest_classes_ask_for_more_classes_than_teachers() -> None:
    s = scenario(
        [grade("K", 60, fewest_classes=3), grade("1", 60, fewest_classes=3)],
        teachers=5,
        use_every_teacher=False,
    )
    check(
        s,
        "The Fewest classes settings ask for at least 6 classes, but there are only 5 teachers",
        ("teachers", 6),
    )


def test_children_fill_fewer_classes_than_teachers() -> None:
    # 48 children could fill 3 classes of 15 by total, but each grade fills only one class.
    s = scenario([grade("K", 24), grade("1", 24)], teachers=3)
    check(
        s,
        "With every teacher used there must be 3 classes, but these children fill at most "
        "2 classes",
        ("teachers", 2),
        ("use every teacher", False),
        ("allow composite:K/1", None),
    )


def test_no_plan_with_exactly_as_many_classes_as_teachers() -> None:
    # Either two straight classes per grade (4) or one K/1 class of all 40 children (1).
    s = scenario(
        [grade("K", 20, 10, 10), grade("1", 20, 10, 10)],
        teachers=3,
        composites=(Composite(("K", "1"), 40, 40),),
        composite_minimum=20,
    )
    check(
        s,
        "With every teacher used there must be exactly 3 classes, and no plan has exactly 3: "
        "1 or 4 classes would work",
        ("teachers", 4),
        ("teachers", 1),
        ("use every teacher", False),
    )


def test_a_short_time_limit_still_explains_quickly() -> None:
    labels = [g.label for g in SCHOOL]
    every = tuple(Composite(pair) for pair in zip(labels, labels[1:], strict=False))
    s = scenario(SCHOOL, teachers=23, composites=every)
    started = time.monotonic()
    message, suggestions = explain(s, time_limit=1.0)
    # The searches stop at the limit; only the solve already under way may run over.
    assert time.monotonic() - started < 5
    assert "23 classes would need at least 345 children" in message
    assert_repairs_work(s, suggestions)


def test_composite_limits_too_tight_for_the_grades_it_must_take() -> None:
    # K and 1 are too small alone and together too many for one K/1 class of at most 18.
    s = scenario(
        [grade("K", 10), grade("1", 10)],
        teachers=2,
        use_every_teacher=False,
        composites=(Composite(("K", "1"), largest=18),),
    )
    check(
        s,
        "The 20 children of Grade K and Grade 1 cannot be placed in classes of the allowed "
        "sizes even with the K/1 composite",
        ("largest class:K/1", 20),
    )


def test_solvable_scenario_has_no_explanation() -> None:
    s = scenario(SCHOOL, teachers=18)
    assert plan.is_feasible(s)
    assert explain(s) == ("", [])


def test_suspicious_but_solvable_scenario_gets_warnings() -> None:
    # Grade 6 is too small for a class of its own but fits the 5/6 composite; K/1 can never
    # run because Grade 1 has fewer children than the composite minimum.
    s = scenario(
        [grade("K", 40), grade("1", 3, 1), grade("5", 40), grade("6", 8)],
        teachers=5,
        composites=(Composite(("K", "1")), Composite(("5", "6"))),
        composite_minimum=4,
    )
    result = plan.plan(s, time_limit=30)
    assert result.status is Status.SOLVED
    found = warnings(s)
    assert found == [
        "Grade 6 has 8 children, fewer than its smallest class of 15: they can only go into "
        "a composite class.",
        "The K/1 composite can never run: Grade 1 has only 3 children, fewer than the "
        "composite minimum of 4 children from each grade.",
    ]
    assert all(c.kind != ("K", "1") for c in result.options[0].classes)


def test_warnings_name_composites_whose_limits_cannot_meet() -> None:
    s = scenario(
        [grade("K", 40, 20), grade("1", 40, 15, 18), grade("2", 30)],
        teachers=5,
        composites=(Composite(("K", "1")), Composite(("1", "2"), smallest=8, largest=10)),
        composite_minimum=6,
    )
    assert warnings(s) == [
        "The K/1 composite can never run: its classes would need at least 20 and at most 18 "
        "children.",
        "The 1/2 composite can never run: 2 grades with at least 6 children each make 12, "
        "more than its largest class of 10.",
    ]


def test_a_seven_grade_school_is_explained_in_a_few_seconds() -> None:
    s = scenario(SCHOOL, teachers=22, composites=(Composite(("K", "1")), Composite(("5", "6"))))
    started = time.monotonic()
    message, suggestions = explain(s)
    seconds = time.monotonic() - started
    assert "22 classes" in message
    assert suggestions
    assert seconds < 10, seconds
    assert_repairs_work(s, suggestions)


# -- properties ------------------------------------------------------------------------------

LABELS = ("K", "1", "2", "3")


@st.composite
def small_scenarios(draw: st.DrawFn) -> Scenario:
    """Return a small random scenario near the edge of possible, sometimes with odd settings."""
    count = draw(st.integers(2, 4))
    grades = []
    for label in LABELS[:count]:
        children = draw(st.integers(0, 45))
        smallest = draw(st.integers(1, 16))
        largest = draw(st.integers(smallest, smallest + 12))
        fewest = draw(st.sampled_from([None] * 6 + [0, 1, 2]))
        most = draw(st.sampled_from([None] * 6 + [0, 1, 2, 3]))
        grades.append(Grade(label, children, smallest, largest, fewest, most))
    composites = []
    for first, second in zip(LABELS[:count], LABELS[1:count], strict=False):
        if draw(st.booleans()):
            cap = draw(st.one_of(st.none(), st.integers(8, 30)))
            composites.append(Composite((first, second), largest=cap))
    # Around the classes the grades need on their own, so many scenarios are barely (im)possible.
    needed = sum(-(-g.children // g.largest) for g in grades)
    return Scenario(
        "Random",
        tuple(grades),
        tuple(composites),
        teachers=max(1, needed + draw(st.integers(-2, 2))),
        use_every_teacher=draw(st.booleans()),
        composite_minimum=draw(st.integers(1, 6)),
        priority=draw(st.sampled_from(list(Priority))),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios())
def test_every_suggestion_makes_its_scenario_solvable(s: Scenario) -> None:
    result = plan.plan(replace(s, alternatives=1), time_limit=30)
    message, suggestions = explain(s)
    if result.status is Status.SOLVED:
        assert (message, suggestions) == ("", [])
        return
    assert result.status is Status.INFEASIBLE
    assert message and not any(word in message.lower() for word in SOLVER_WORDS)
    assert_repairs_work(s, suggestions)


def forced(s: Scenario, composite: Composite) -> Scenario:
    """Return a scenario that must run one class of this composite and is loose otherwise."""
    smallest, largest = s.size_limits(composite.grades)
    grades = tuple(
        Grade(g.label, g.children, 1, max(1, g.children))
        for g in s.grades
        if g.label in composite.grades
    )
    must = Composite(composite.grades, smallest, largest, fewest_classes=1)
    return replace(
        s,
        grades=grades,
        composites=(must,),
        teachers=sum(g.children for g in grades) + 1,
        use_every_teacher=False,
    )


@settings(max_examples=40, deadline=None)
@given(small_scenarios())
def test_every_warning_is_true(s: Scenario) -> None:
    found = warnings(s)
    for g in s.grades:
        warned = any(w.startswith(f"Grade {g.label} has ") for w in found)
        # A grade warning says its children cannot fill one class of its own smallest size.
        assert warned == (0 < g.children < g.smallest)
    for composite in s.composites:
        warned = any(w.startswith(f"The {composite.name} composite can never run") for w in found)
        # A composite can run iff some allocation with one of its classes exists once every
        # other rule is loosened; the planner decides that, not the arithmetic under test.
        assert warned == (not plan.is_feasible(forced(s, composite)))


@pytest.mark.parametrize(
    "label, expected", [("Year 2", "Year 2"), ("2", "Grade 2"), ("K", "Grade K")]
)
def test_grades_are_named_as_an_administrator_would(label: str, expected: str) -> None:
    s = scenario([grade(label, 10)], teachers=1)
    message, _ = explain(s)
    assert message.startswith(f"{expected} has 10 children")
