"""The Lakeside Primary sample: reproducible, read as written, and planned as its names promise."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from openpyxl import load_workbook
from workbooks import LAKESIDE, SAMPLE, lakeside_workbook
from xlsx_compare import first_difference

from crunch_xl.excel.reader import read_workbook
from crunch_xl.model import Scenario, Status
from crunch_xl.planner import plan


@pytest.fixture(scope="module")
def scenarios() -> list[Scenario]:
    """Return the sample's scenarios as read (failing on any InputError or note)."""
    found = read_workbook(SAMPLE)
    assert found.notes == []
    assert all(isinstance(item, Scenario) for item in found.items), found.items
    return [item for item in found.items if isinstance(item, Scenario)]


def test_the_committed_sample_is_what_the_builder_writes(tmp_path: Path) -> None:
    assert SAMPLE.exists(), "run: python tests/workbooks.py"
    assert first_difference(lakeside_workbook(tmp_path / "sample.xlsx"), SAMPLE) is None


def test_the_sample_has_instructions_and_three_scenarios() -> None:
    assert load_workbook(SAMPLE).sheetnames == [
        "Instructions",
        "21 teachers",
        "20 teachers",
        "18 teachers, classes of 24",
    ]


def test_the_scenarios_read_as_written(scenarios: list[Scenario]) -> None:
    assert [s.name for s in scenarios] == list(LAKESIDE)
    has, fewer, capped = scenarios
    for scenario in scenarios:
        assert scenario.children == 450
        assert [g.label for g in scenario.grades] == ["K", "1", "2", "3", "4", "5", "6"]
        assert [c.name for c in scenario.composites] == ["K/1", "1/2", "2/3", "3/4", "4/5", "5/6"]
        assert scenario.composite_minimum == 6
    assert (has.teachers, fewer.teachers, capped.teachers) == (21, 20, 18)
    assert [g.children for g in has.grades] == [62, 66, 64, 68, 63, 65, 62]
    assert [g.largest for g in has.grades] == [22, 24, 24, 27, 27, 30, 30]
    assert fewer.grades[1:] == has.grades[1:]
    assert [g.estimates for g in fewer.grades][:2] == [(58, 66), (66, 66)]
    assert not has.has_estimates
    assert [g.largest for g in capped.grades] == [24] * 7
    assert (has.use_every_teacher, capped.use_every_teacher) == (True, False)
    assert (has.alternatives, fewer.alternatives) == (3, 4)
    assert capped.priority.value == "Smallest classes"


def test_the_scenarios_plan_as_their_names_promise(scenarios: list[Scenario]) -> None:
    # One option each keeps this fast; the status does not depend on the number of options.
    results = [plan(dataclasses.replace(s, alternatives=1), time_limit=30) for s in scenarios]
    assert [r.status for r in results] == [Status.SOLVED, Status.SOLVED, Status.INFEASIBLE]
    has, fewer, _ = results
    assert has.options[0].composites == 0  # 21 teachers: three straight classes per grade
    assert fewer.options[0].composites == 1  # one teacher fewer: one pair of grades shares
