"""The template: the committed copy is what write_template writes, and it reads as it should."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from openpyxl import load_workbook
from workbooks import TEMPLATE
from xlsx_compare import first_difference

from crunch_xl.excel import template
from crunch_xl.excel.reader import read_workbook
from crunch_xl.model import Composite, Grade, Priority, Scenario, Status
from crunch_xl.planner import plan


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a template just written by write_template."""
    path = tmp_path_factory.mktemp("template") / "template.xlsx"
    template.write_template(path)
    return path


def test_committed_template_is_what_write_template_writes(fresh: Path) -> None:
    assert TEMPLATE.exists(), "run: python tests/workbooks.py"
    # Values, styles, validations and print setup alike (else: python tests/workbooks.py).
    assert first_difference(TEMPLATE, fresh) is None


def test_write_template_is_deterministic(fresh: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.xlsx"
    template.write_template(again)
    assert first_difference(again, fresh) is None


def test_sheets_and_labels_follow_the_spec(fresh: Path) -> None:
    workbook = load_workbook(fresh)
    assert workbook.sheetnames == ["Instructions", "Example", "Blank scenario"]
    for name in ("Example", "Blank scenario"):
        ws = workbook[name]
        for offset, label in enumerate(
            [
                "Teachers",
                "Use every teacher",
                "Fewest children from one grade in a composite",
                "Alternatives",
                "Priority",
            ]
        ):
            row = 4 + offset
            assert ws.cell(row, 1).value == label
            assert ws.cell(row, 3).value, f"{name}: no hint beside {label}"
        assert [c.value for c in ws[11]][:8] == [
            "Grade",
            "Children",
            "Smallest class",
            "Largest class",
            "Fewest classes",
            "Most classes",
            "Low estimate",
            "High estimate",
        ]
        assert [c.value for c in ws[24]][:5] == [
            "Composite",
            "Smallest class",
            "Largest class",
            "Fewest classes",
            "Most classes",
        ]
    column_a = [c.value for c in workbook["Instructions"]["A"]]
    assert all(value is None for value in column_a), "column A of Instructions must stay empty"
    text = " ".join(
        str(c.value) for row in workbook["Instructions"].iter_rows() for c in row if c.value
    )
    for label in (*template.SETTINGS, *template.GRADE_COLUMNS, template.COMPOSITE):
        assert label in text, f"the instructions never explain {label}"


def test_the_instructions_explain_the_estimates(fresh: Path) -> None:
    rows = {
        row[1].value: row[2].value
        for row in load_workbook(fresh)["Instructions"].iter_rows(max_col=3)
        if row[1].value
    }
    said = rows["Low estimate / High estimate"]
    for words in ("fewest and the most children", "blank", "Children number", "best plan"):
        assert words in said, f"the estimates' instructions never say {words!r}"
    assert "fewer or more children of each grade" in rows["Result sheets"]  # the headroom


def test_input_cells_are_marked_and_validated(fresh: Path) -> None:
    workbook = load_workbook(fresh)
    for name in ("Example", "Blank scenario"):
        ws = workbook[name]
        inputs = [f"B{row}" for row in range(4, 9)]
        inputs += [f"{col}{row}" for col in "ABCDEFGH" for row in range(12, 22)]
        inputs += [f"{col}{row}" for col in "ABCDE" for row in range(25, 33)]
        for coordinate in inputs:
            cell = ws[coordinate]
            assert cell.fill.fgColor.rgb == "00" + "FFF2CC", coordinate
            assert cell.border.left.style == "thin", coordinate
        assert ws["A1"].fill.fill_type is None and ws["A4"].fill.fill_type is None
        for coordinate in ("A12", "A25"):
            assert ws[coordinate].number_format == "@"  # 1/2 must not become a date
        rules = {str(v.sqref): v for v in ws.data_validations.dataValidation}
        assert rules["B5"].type == "list" and rules["B5"].formula1 == '"Yes,No"'
        assert rules["B8"].formula1 == '"Fewest composites,Smallest classes,Even classes"'
        assert rules["B4 B6"].type == "whole" and rules["B4 B6"].formula1 == "1"
        assert (rules["B7"].formula1, rules["B7"].formula2) == ("1", "20")
        assert rules["B12:B21"].formula1 == "0"
        assert rules["D25:E32 E12:H21"].formula1 == "0"  # class counts and estimates
        assert ws.column_dimensions["A"].width >= 25


def test_the_blank_sheet_has_no_values(fresh: Path) -> None:
    ws = load_workbook(fresh)["Blank scenario"]
    inputs = [ws[f"B{row}"] for row in range(4, 9)]
    inputs += [c for row in ws.iter_rows(min_row=12, max_row=21, max_col=8) for c in row]
    inputs += [c for row in ws.iter_rows(min_row=25, max_row=32, max_col=5) for c in row]
    assert [c.coordinate for c in inputs if c.value is not None] == []


EXAMPLE = Scenario(
    name="Example",
    grades=tuple(Grade(*row) for row in template.EXAMPLE_GRADES),
    composites=tuple(Composite(tuple(name.split("/"))) for (name,) in template.EXAMPLE_COMPOSITES),
    teachers=17,
    use_every_teacher=True,
    composite_minimum=5,
    alternatives=3,
    priority=Priority.FEWEST_COMPOSITES,
)


def test_reader_reads_the_example_and_skips_the_blank(fresh: Path) -> None:
    found = read_workbook(TEMPLATE)
    assert found.items == [EXAMPLE]
    assert found.notes == [
        "Sheet 'Blank scenario' is still blank (no teachers, no grades), so it was skipped."
    ]
    assert EXAMPLE.children == 406  # the example's title says so
    assert load_workbook(fresh)["Example"]["A1"].value.endswith("406 children with 17 teachers")


def test_the_example_can_be_planned() -> None:
    result = plan(dataclasses.replace(EXAMPLE, alternatives=1), time_limit=30)
    assert result.status is Status.SOLVED
    assert result.options[0].composites == 1  # 17 teachers: one composite is unavoidable


def test_a_filled_copy_of_the_blank_sheet_is_a_scenario(tmp_path: Path) -> None:
    workbook = load_workbook(TEMPLATE)
    ws = workbook["Blank scenario"]
    ws["B4"] = 3
    ws["B8"] = "Smallest classes"
    for row, values in enumerate([("K", 20, 15, 22), ("1", 30, 12, 20)], start=12):
        for column, value in enumerate(values, start=1):
            ws.cell(row, column, value)
    ws["A25"] = "K/1"
    path = tmp_path / "filled.xlsx"
    workbook.save(path)
    found = read_workbook(path)
    assert found.notes == []
    assert found.items[1] == Scenario(
        name="Blank scenario",
        grades=(Grade("K", 20, 15, 22), Grade("1", 30, 12, 20)),
        composites=(Composite(("K", "1")),),
        teachers=3,
        priority=Priority.SMALLEST_CLASSES,
    )
