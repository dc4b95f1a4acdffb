"""The benchmark's suite and baseline: the families it promises, and answers that obey the rules.

The baseline (Class Cruncher's method) is checked in plain Python on tiny scenarios, and the
checker itself is shown to catch broken allocations. No timing here: the benchmark times.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

# The benchmark lives beside the package, not in it: make the repository root importable.
from benchmarks.baseline import (
    BaselineResult,
    baseline,
    potential_classes,
    rebalance,
)
from benchmarks.checks import ranking_key, rule_breaks
from benchmarks.suite import FAMILIES, PRIMARY, Case, fits, generate_school, suite
from crunch_xl.model import (
    Composite,
    Grade,
    Option,
    Priority,
    Result,
    Scenario,
    SchoolClass,
    Status,
)


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return suite()


@pytest.fixture(scope="module")
def tiny_answers(cases: list[Case]) -> list[tuple[Case, BaselineResult]]:
    tiny = [
        case
        for case in of(cases, "tiny")
        if case.variant != "T-1" and case.priority is Priority.FEWEST_COMPOSITES
    ][:3]
    return [(case, baseline(case.scenario, time_limit=10.0)) for case in tiny]


def of(cases: list[Case], family: str) -> list[Case]:
    return [case for case in cases if case.family == family]


def test_suite_has_at_least_60_scenarios_of_every_family(cases: list[Case]) -> None:
    assert len(cases) >= 60
    assert {case.family for case in cases} == set(FAMILIES)
    assert len({case.name for case in cases}) == len(cases)
    for family in FAMILIES:
        assert len(of(cases, family)) >= 9, family


def test_every_school_comes_at_t_t_plus_one_and_t_minus_one(cases: list[Case]) -> None:
    schools: dict[str, dict[str, Case]] = {}
    for case in cases:
        schools.setdefault(case.school, {})[case.variant] = case
    for school, variants in schools.items():
        assert set(variants) == {"T", "T+1", "T-1"}, school
        fewest = variants["T"].scenario.teachers
        assert variants["T+1"].scenario.teachers == fewest + 1
        assert variants["T-1"].scenario.teachers == fewest - 1 >= 1
        assert variants["T"].scenario.use_every_teacher
        assert variants["T"].feasible and variants["T+1"].feasible
        assert not variants["T-1"].feasible
        same = {
            replace(v.scenario, name="", teachers=0, use_every_teacher=True)
            for v in variants.values()
        }
        assert len(same) == 1, f"{school}: variants differ in more than the teachers"


def test_tiny_rural_schools_have_few_grades_and_multi_age_composites(cases: list[Case]) -> None:
    tiny = of(cases, "tiny")
    for case in tiny:
        assert 2 <= len(case.scenario.grades) <= 4
        assert 15 <= case.scenario.children <= 60
    assert any(len(c.grades) >= 3 for case in tiny for c in case.scenario.composites)


@pytest.mark.parametrize(
    ("family", "low", "high"), [("small", 150, 300), ("medium", 300, 600), ("large", 600, 1200)]
)
def test_primary_schools_have_k_to_6_realistic_limits_and_adjacent_composites(
    cases: list[Case], family: str, low: int, high: int
) -> None:
    for case in of(cases, family):
        scenario = case.scenario
        assert [g.label for g in scenario.grades] == ["K", "1", "2", "3", "4", "5", "6"]
        assert low <= scenario.children <= high
        for grade in scenario.grades:
            assert 12 <= grade.smallest <= 18
            expected = {"K": (20, 22), "1": (24, 26), "2": (24, 26)}.get(grade.label, (28, 30))
            assert expected[0] <= grade.largest <= expected[1], (case.name, grade)
        order = [g.label for g in scenario.grades]
        for composite in scenario.composites:
            first = order.index(composite.grades[0])
            assert list(composite.grades) == order[first : first + len(composite.grades)]


def test_k12_stress_schools_have_13_grades_and_some_triples(cases: list[Case]) -> None:
    for case in of(cases, "k12"):
        scenario = case.scenario
        assert len(scenario.grades) == 13
        assert 1400 <= scenario.children <= 1600
        assert any(len(c.grades) == 3 for c in scenario.composites)


def test_rural_schools_allow_every_run_of_grades_up_to_the_whole_school(
    cases: list[Case],
) -> None:
    for case in of(cases, "rural"):
        scenario = case.scenario
        labels = [g.label for g in scenario.grades]
        assert 3 <= len(labels) <= 7 and 15 <= scenario.children <= 60
        runs = {
            tuple(labels[first : first + length])
            for length in range(2, len(labels) + 1)
            for first in range(len(labels) - length + 1)
        }
        assert {c.grades for c in scenario.composites} == runs, case.name


def test_composite_heavy_schools_allow_every_adjacent_pair_and_some_triples(
    cases: list[Case],
) -> None:
    for case in of(cases, "composite-heavy"):
        scenario = case.scenario
        kinds = {c.grades for c in scenario.composites}
        pairs = set(zip(PRIMARY, PRIMARY[1:], strict=False))
        assert pairs <= kinds and any(len(kind) == 3 for kind in kinds), case.name


def test_every_school_comes_under_every_priority(cases: list[Case]) -> None:
    seen: dict[tuple[str, str], set[Priority]] = {}
    for case in cases:
        assert case.scenario.priority is case.priority
        seen.setdefault((case.school, case.variant), set()).add(case.priority)
    assert all(priorities == set(Priority) for priorities in seen.values())


def test_suite_varies_priorities_and_composite_minimums(cases: list[Case]) -> None:
    assert {case.scenario.priority for case in cases} == set(Priority)
    assert len({case.scenario.composite_minimum for case in cases}) >= 4
    assert any(not case.scenario.use_every_teacher for case in cases)


def test_suite_is_the_same_every_time(cases: list[Case]) -> None:
    by_name = {case.name: case for case in cases}
    for family, number in [("tiny", 2), ("medium", 3)]:
        school, teachers = generate_school(family, number)
        again = by_name[f"{school.name} T fewest"].scenario
        assert replace(school, name=again.name, teachers=teachers) == again


def test_counting_model_agrees_with_the_suite_on_small_schools(cases: list[Case]) -> None:
    for case in of(cases, "tiny") + of(cases, "small"):
        assert fits(case.scenario) == case.feasible, case.name


def test_baseline_answers_obey_every_rule(
    tiny_answers: list[tuple[Case, BaselineResult]],
) -> None:
    assert len(tiny_answers) == 3
    for case, answer in tiny_answers:
        assert answer.status is Status.SOLVED, case.name
        assert answer.options and answer.timed_out == 0
        allocations = set()
        for option in answer.options:
            assert rule_breaks(case.scenario, option) == [], (case.name, option)
            allocations.add(
                tuple(sorted((c.kind, tuple(sorted(c.counts.items()))) for c in option.classes))
            )
        assert len(allocations) == len(answer.options), "baseline kept a repeated answer"


def test_baseline_finds_no_allocation_with_one_teacher_too_few(cases: list[Case]) -> None:
    for case in [c for c in cases if c.variant == "T-1" and c.family in ("tiny", "small")]:
        answer = baseline(case.scenario, time_limit=10.0)
        assert answer.status is Status.INFEASIBLE, case.name
        assert answer.options == []


def test_potential_classes_follow_the_appendix() -> None:
    grades = (Grade("K", 41, 10, 20), Grade("1", 30, 10, 25))
    scenario = Scenario("p", grades, (Composite(("K", "1")),), teachers=4)
    kinds = Counter(p.kind for p in potential_classes(scenario))
    assert kinds == {("K",): 3, ("1",): 2, ("K", "1"): 2}
    # Nine teachers need nine classes: straight classes are added where grades are fullest.
    more = Counter(p.kind for p in potential_classes(replace(scenario, teachers=9)))
    assert sum(more.values()) == 9
    assert more[("K", "1")] == 2 and more[("K",)] == 4 and more[("1",)] == 3


def test_rebalancing_evens_out_a_grade_within_the_limits() -> None:
    grades = (Grade("1", 40, 10, 30), Grade("2", 20, 5, 30))
    scenario = Scenario("r", grades, (Composite(("1", "2")),), composite_minimum=8)
    classes = [(("1",), {"1": 30}), (("1",), {"1": 2}), (("1", "2"), {"1": 8, "2": 20})]
    # Class "1 B" is below its smallest size: rebalancing moves children, never drops them.
    rebalance(scenario, classes)
    sizes = [sum(counts.values()) for _, counts in classes]
    assert sum(c["1"] for _, c in classes) == 40
    assert classes[2][1]["1"] == 8, "the composite keeps its minimum of grade 1"
    assert max(sizes[:2]) - min(sizes[:2]) <= 1


def test_checker_catches_every_kind_of_broken_allocation(
    tiny_answers: list[tuple[Case, BaselineResult]],
) -> None:
    case, answer = tiny_answers[0]
    scenario, good = case.scenario, answer.options[0]

    def broken(classes: list[SchoolClass], **settings: object) -> list[str]:
        return rule_breaks(replace(scenario, **settings), Option(1, classes))  # type: ignore[arg-type]

    first = good.classes[0]
    label = first.kind[0]
    one_more = replace(first, counts={**first.counts, label: first.counts[label] + 1})
    assert any("placed" in b for b in broken([one_more, *good.classes[1:]]))
    assert any("classes for" in b for b in broken(good.classes[1:]))
    tight = tuple(replace(g, smallest=1, largest=1) for g in scenario.grades)
    derived = tuple(replace(c, smallest=None, largest=None) for c in scenario.composites)
    assert any("allowed" in b for b in broken(good.classes, grades=tight, composites=derived))
    alien = SchoolClass("X", ("nobody",), {"nobody": 1}, 30)
    assert any("not allowed" in b for b in broken([*good.classes, alien]))
    assert rule_breaks(scenario, good) == []


def test_ranking_key_follows_the_priority() -> None:
    grades = (Grade("1", 30, 5, 30), Grade("2", 8, 5, 25))
    scenario = Scenario("k", grades, (Composite(("1", "2")),))
    small = SchoolClass("1 A", ("1",), {"1": 10}, 30)
    big = SchoolClass("1 B", ("1",), {"1": 13}, 30)
    mixed = SchoolClass("1/2 A", ("1", "2"), {"1": 7, "2": 8}, 25)
    option = Option(1, [small, big, mixed])
    # Spare: the composite's limit is 25 (the smaller of its grades'), so it has 10 spare,
    # the fullest class against its own limit is 1 B with 17; spread: grade 1 in 10..15.
    assert ranking_key(replace(scenario, priority=Priority.FEWEST_COMPOSITES), option) == (
        1,
        -10,
        5,
        15,
    )
    assert ranking_key(replace(scenario, priority=Priority.SMALLEST_CLASSES), option) == (
        -10,
        1,
        5,
        15,
    )
    assert ranking_key(replace(scenario, priority=Priority.EVEN_CLASSES), option) == (5, 1, 5)


def test_benchmark_flags_a_planner_option_1_that_a_baseline_answer_beats(
    tiny_answers: list[tuple[Case, BaselineResult]],
) -> None:
    from benchmarks.run_planner import Row, correctness

    under_every_priority = [
        (replace(case, priority=priority, scenario=replace(case.scenario, priority=priority)), a)
        for case, a in tiny_answers
        for priority in Priority
    ]
    for case, answer in under_every_priority:
        scenario = case.scenario
        ranked = sorted(answer.options, key=lambda option: ranking_key(scenario, option))
        if ranking_key(scenario, ranked[0]) < ranking_key(scenario, ranked[-1]):
            break
    else:
        pytest.fail("no tiny scenario where the baseline's answers rank differently")
    worse = Result(case.name, Status.SOLVED, options=[replace(ranked[-1], rank=1)])
    assert any("beats planner option 1" in p for p in correctness(Row(case, worse, 0.0, answer)))
    best = Result(case.name, Status.SOLVED, options=[replace(ranked[0], rank=1)])
    assert correctness(Row(case, best, 0.0, answer)) == []
    wrong = Result(case.name, Status.INFEASIBLE)
    assert any("says infeasible" in p for p in correctness(Row(case, wrong, 0.0, answer)))


def test_benchmark_names_the_scenarios_over_a_target(cases: list[Case]) -> None:
    from benchmarks.run_planner import PRIMARY_EACH, Row, summary

    tiny = [case for case in of(cases, "tiny") if not case.feasible][:3]
    rows = [Row(case, Result(case.name, Status.INFEASIBLE), 0.01) for case in tiny]
    lines, passed = summary(rows)
    assert passed, lines
    rows[1].planner_seconds = PRIMARY_EACH + 0.25
    lines, passed = summary(rows)
    assert not passed
    (line,) = [line for line in lines if "every primary-school scenario" in line]
    assert line.startswith("FAIL") and f"{tiny[1].name} 0.75 s" in line


def test_the_estimates_benchmark_plans_a_range_on_every_grade(cases: list[Case]) -> None:
    from benchmarks.estimates import with_estimates
    from crunch_xl.planner import plan

    case = next(case for case in of(cases, "tiny") if case.feasible)
    scenario = with_estimates(replace(case.scenario, alternatives=3))
    for grade in scenario.grades:
        low, high = grade.estimates
        assert low < grade.children < high or grade.children == 0
    result = plan(scenario)
    assert result.options
    assert all(option.covers_estimates is not None for option in result.options)
    assert result.estimates_message or any(o.covers_estimates for o in result.options)
