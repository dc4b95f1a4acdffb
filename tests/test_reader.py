"""The reader on real .xlsx files: tolerant forms, every mistake named by cell, odd sheets."""

from __future__ import annotations

import datetime
import io
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet
from workbooks import make_workbook, scenario_sheet, write_scenario_sheet

from crunch_xl.errors import InputError, WorkbookError
from crunch_xl.excel.reader import UNCALCULATED, WorkbookInput, read_workbook
from crunch_xl.model import (
    RESULT_SHEET_MARK,
    Composite,
    Grade,
    Priority,
    Scenario,
)

BASE: dict[str, Any] = {
    "teachers": 5,
    "grades": [("K", 40, 15, 22), ("1", 44, 15, 24)],
    "composites": [("K/1",)],
}
# The template's cells for BASE (pinned here so a layout change is a visible decision).
TEACHERS, USE_EVERY, MINIMUM, ALTERNATIVES, PRIORITY = "B4", "B5", "B6", "B7", "B8"
FIRST_GRADE_ROW, FIRST_COMPOSITE_ROW = 12, 25


def build(tmp_path: Path, edit: Callable[[Worksheet], None] | None = None, **sheet: Any) -> Path:
    """Return a saved workbook with one scenario sheet "Plan A" (BASE overridden by sheet)."""
    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    ws.title = "Plan A"
    write_scenario_sheet(ws, **{**BASE, **sheet})
    if edit is not None:
        edit(ws)
    path = tmp_path / "plan.xlsx"
    workbook.save(path)
    return path


def read_one(path: Path) -> Scenario | InputError:
    """Return the only item read from a workbook (and check there is exactly one)."""
    found = read_workbook(path)
    assert len(found.items) == 1, found
    return found.items[0]


def scenario(tmp_path: Path, edit: Callable[[Worksheet], None] | None = None, **sheet: Any):
    """Return the Scenario read from a one-sheet workbook, failing if it is an InputError."""
    item = read_one(build(tmp_path, edit, **sheet))
    assert isinstance(item, Scenario), str(item)
    return item


def problems(tmp_path: Path, edit: Callable[[Worksheet], None] | None = None, **sheet: Any):
    """Return the (cell, expected, found) of every problem of a one-sheet workbook."""
    item = read_one(build(tmp_path, edit, **sheet))
    assert isinstance(item, InputError), f"read as a scenario: {item}"
    assert item.sheet == "Plan A"
    return [(p.reference, p.expected, p.found) for p in item.problems]


#: A sheet with every field filled in, and the scenario it reads as.
EVERY_FIELD: dict[str, Any] = {
    "teachers": 9,
    "use_every_teacher": "No",
    "composite_minimum": 4,
    "alternatives": 5,
    "priority": "Even classes",
    "grades": [("K", 40, 15, 22, 1, 3), ("1", 44, 15, 24), ("2", 0, 16, 26, None, 2)],
    "composites": [("K/1", 16, 23), ("1/2", None, None, 0, 1)],
}
EVERY_FIELD_READ = Scenario(
    name="Plan A",
    grades=(
        Grade("K", 40, 15, 22, 1, 3),
        Grade("1", 44, 15, 24),
        Grade("2", 0, 16, 26, None, 2),
    ),
    composites=(Composite(("K", "1"), 16, 23), Composite(("1", "2"), None, None, 0, 1)),
    teachers=9,
    use_every_teacher=False,
    composite_minimum=4,
    alternatives=5,
    priority=Priority.EVEN_CLASSES,
)


def test_reads_every_field(tmp_path: Path) -> None:
    assert scenario(tmp_path, **EVERY_FIELD) == EVERY_FIELD_READ


def test_blank_settings_take_their_defaults(tmp_path: Path) -> None:
    got = scenario(tmp_path, composites=[])
    assert (got.use_every_teacher, got.composite_minimum, got.alternatives, got.priority) == (
        True,
        1,
        3,
        Priority.FEWEST_COMPOSITES,
    )
    assert got.composites == ()


@pytest.mark.parametrize("typed", [24, 24.0, "24", " 24 ", "24.0", "+24", "\u00a024"])
def test_numbers_typed_as_text_or_floats(tmp_path: Path, typed: object) -> None:
    got = scenario(tmp_path, teachers=typed, grades=[("K", typed, 15, typed)], composites=[])
    assert got.teachers == 24
    assert got.grades[0].children == 24 and got.grades[0].largest == 24


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Yes", True),
        ("yes", True),
        (" Y ", True),
        ("TRUE", True),
        (True, True),
        ("No", False),
        ("n", False),
        ("false", False),
        (False, False),
        (None, True),
        ("  ", True),
    ],
)
def test_yes_no_forms(tmp_path: Path, typed: object, expected: bool) -> None:
    def edit(ws: Worksheet) -> None:
        ws[USE_EVERY] = typed  # directly: the helper would turn a bool into Yes/No

    assert scenario(tmp_path, edit).use_every_teacher is expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("smallest classes", Priority.SMALLEST_CLASSES),
        ("  EVEN   CLASSES ", Priority.EVEN_CLASSES),
        ("Fewest composites", Priority.FEWEST_COMPOSITES),
    ],
)
def test_priority_forms(tmp_path: Path, typed: str, expected: Priority) -> None:
    assert scenario(tmp_path, priority=typed).priority is expected


def test_grade_labels_typed_as_numbers_and_composites_in_any_order(tmp_path: Path) -> None:
    got = scenario(
        tmp_path,
        grades=[("K", 20, 15, 22), (1, 21, 15, 24), (2.0, 22, 15, 24), ("  Year   3 ", 9, 5, 30)],
        composites=[("1/K",), (" 2 / 1 ",), ("year 3/k",), ("1/2/K",)],
    )
    assert [grade.label for grade in got.grades] == ["K", "1", "2", "Year 3"]
    assert [c.grades for c in got.composites] == [
        ("K", "1"),
        ("1", "2"),
        ("K", "Year 3"),
        ("K", "1", "2"),
    ]


def test_labels_matched_loosely(tmp_path: Path) -> None:
    def edit(ws: Worksheet) -> None:
        ws["A4"] = "  TEACHERS: "
        ws["A7"] = "alternatives:"
        ws["A11"] = " grade "
        ws["B11"] = "CHILDREN"
        ws["A24"] = "Composite:"

    got = scenario(tmp_path, edit, teachers=7, alternatives=2)
    assert (got.teachers, got.alternatives, len(got.grades), len(got.composites)) == (7, 2, 2, 1)


def test_grades_with_no_children_are_allowed(tmp_path: Path) -> None:
    got = scenario(tmp_path, grades=[("K", 0, 15, 22), ("1", 44, 15, 24)])
    assert got.grades[0].children == 0


@pytest.mark.parametrize(
    ("sheet", "cell", "expected", "found"),
    [
        ({"teachers": None}, TEACHERS, "a whole number of at least 1 for Teachers", None),
        ({"teachers": -2}, TEACHERS, "a whole number of at least 1", "-2"),
        ({"teachers": 0}, TEACHERS, "a whole number of at least 1", "0"),
        ({"teachers": 17.5}, TEACHERS, "a whole number of at least 1", "17.5"),
        ({"teachers": "lots"}, TEACHERS, "a whole number of at least 1", "'lots'"),
        ({"teachers": "18 teachers"}, TEACHERS, "a whole number", "'18 teachers'"),
        (
            {"teachers": datetime.datetime(2024, 3, 1)},
            TEACHERS,
            "a whole number",
            "the date 2024-03-01",
        ),
        ({"teachers": "#REF!"}, TEACHERS, "a whole number", "the error #REF!"),
        ({"use_every_teacher": "maybe"}, USE_EVERY, "Yes or No for Use every teacher", "'maybe'"),
        ({"composite_minimum": 0}, MINIMUM, "a whole number of at least 1", "0"),
        ({"alternatives": 0}, ALTERNATIVES, "a whole number from 1 to 20", "0"),
        ({"alternatives": 21}, ALTERNATIVES, "a whole number from 1 to 20", "21"),
        (
            {"priority": "Cheapest"},
            PRIORITY,
            "one of Fewest composites, Smallest classes",
            "'Cheapest'",
        ),
        ({"grades": [("K", -3, 15, 22)]}, "B12", "whole number of at least 0", "-3"),
        ({"grades": [("K", 12.5, 15, 22)]}, "B12", "the children of grade K", "12.5"),
        ({"grades": [("K", True, 15, 22)]}, "B12", "a whole number", "TRUE"),
        ({"grades": [("K", 40, None, 22)]}, "C12", "the smallest class of grade K", None),
        ({"grades": [("K", 40, 0, 22)]}, "C12", "a whole number of at least 1", "0"),
        ({"grades": [("K", 40, 23, 22)]}, "C12", "no larger than its largest class (22", "23"),
        ({"grades": [("K", 40, 15, 22, 3, 2)]}, "E12", "no larger than its most classes", "3"),
        ({"grades": [("K", 40, 15, 22, -1)]}, "E12", "a whole number of at least 0", "-1"),
        (
            {"grades": [("K", 40, 15, 22, None, None, 41)]},
            "G12",
            "a low estimate of at most 40, the Children number of grade K",
            "41",
        ),
        (
            {"grades": [("K", 40, 15, 22, None, None, None, 39)]},
            "H12",
            "a high estimate of at least 40, the Children number of grade K",
            "39",
        ),
        (
            {"grades": [("K", 40, 15, 22, None, None, -2, 44)]},
            "G12",
            "a whole number of at least 0 for the low estimate of grade K",
            "-2",
        ),
        (
            {"grades": [("K", 40, 15, 22, None, None, 36, 44.5)]},
            "H12",
            "a whole number of at least 0 for the high estimate of grade K",
            "44.5",
        ),
        (
            {"grades": [("K", 40, 15, 22, None, None, "about 36")]},
            "G12",
            "the low estimate of grade K",
            "'about 36'",
        ),
        (
            {"grades": [("K", 40, 15, 22, None, None, 36, datetime.datetime(2025, 2, 3))]},
            "H12",
            "the high estimate of grade K",
            "the date 2025-02-03",
        ),
        ({"grades": [("K/1", 40, 15, 22)]}, "A12", "a grade label without /", "'K/1'"),
        ({"grades": [("K", 4, 1, 22), ("k", 4, 1, 22)]}, "A13", "each grade only once", "'k'"),
        ({"grades": [(True, 4, 1, 22)]}, "A12", "a grade label", "TRUE"),
        ({"composites": [("1/7",)]}, "A25", "there is no grade 7", "'1/7'"),
        ({"composites": [("1/1",)]}, "A25", "grade 1 appears twice", "'1/1'"),
        ({"composites": [("K",)]}, "A25", "two or more grades joined by /", "'K'"),
        ({"composites": [("K//1",)]}, "A25", "two or more grades joined by /", "'K//1'"),
        ({"composites": [(12,)]}, "A25", "two or more grades joined by /", "12"),
        ({"composites": [("K/1",), ("1/K",)]}, "A26", "each composite only once", "'1/K'"),
        ({"composites": [("K/1", 25, 20)]}, "B25", "no larger than its largest class", "25"),
        ({"composites": [("K/1", 23)]}, "B25", "no larger than 22", "23"),
        ({"composites": [("K/1", None, 12)]}, "C25", "of at least 15", "12"),
        ({"grades": []}, "A12", "at least one grade row", None),
    ],
)
def test_mistakes_are_named_by_cell(
    tmp_path: Path, sheet: dict[str, Any], cell: str, expected: str, found: str | None
) -> None:
    if "grades" in sheet:
        sheet = {"composites": [], **sheet}  # BASE's K/1 would name a missing grade
    found_problems = problems(tmp_path, **sheet)
    assert len(found_problems) == 1, found_problems
    got_cell, got_expected, got_found = found_problems[0]
    assert got_cell == f"'Plan A'!{cell}"
    assert expected in got_expected
    if found is None:
        assert got_found is None
    else:
        assert got_found == found


def test_estimates_are_read(tmp_path: Path) -> None:
    got = scenario(
        tmp_path,
        grades=[
            ("K", 40, 15, 22, None, None, 36, 44),
            ("1", 44, 15, 24, None, None, " 40 ", 44.0),  # typed as text, and as a float
            ("2", 30, 15, 24, None, None, None, 33),  # blank low: the Children number
            ("3", 30, 15, 24),
        ],
    )
    assert [(g.low_estimate, g.high_estimate) for g in got.grades] == [
        (36, 44),
        (40, 44),
        (None, 33),
        (None, None),
    ]
    assert [g.estimates for g in got.grades] == [(36, 44), (40, 44), (30, 33), (30, 30)]
    assert got.has_estimates


def test_estimates_at_the_children_number_are_allowed(tmp_path: Path) -> None:
    got = scenario(tmp_path, grades=[("K", 40, 15, 22, None, None, 40, 40), ("1", 0, 1, 24)])
    assert got.grades[0].estimates == (40, 40)
    assert not got.has_estimates


def test_both_estimates_wrong_are_both_named(tmp_path: Path) -> None:
    got = problems(tmp_path, grades=[("K", 40, 15, 22, None, None, 44, 36)], composites=[])
    assert got == [
        (
            "'Plan A'!G12",
            "a low estimate of at most 40, the Children number of grade K",
            "44",
        ),
        (
            "'Plan A'!H12",
            "a high estimate of at least 40, the Children number of grade K",
            "36",
        ),
    ]


def _six_columns(ws: Worksheet) -> None:
    """Make a sheet what the template made before the estimates: no columns G and H."""
    for merged in list(ws.merged_cells.ranges):
        ws.unmerge_cells(str(merged))
    ws.delete_cols(7, 2)


def test_an_old_six_column_workbook_reads_exactly_as_before(tmp_path: Path) -> None:
    def edit(ws: Worksheet) -> None:
        _six_columns(ws)
        # What an administrator may have kept beside the table while nothing read it.
        ws["G11"], ws["G12"], ws["H13"] = "Teacher", "Ms Okafor", datetime.datetime(2025, 2, 3)

    assert scenario(tmp_path, edit, **EVERY_FIELD) == EVERY_FIELD_READ


@pytest.mark.parametrize(("kept", "read"), [("Low estimate", (36, None)), ("High", (None, 44))])
def test_one_estimate_column_alone_is_read(
    tmp_path: Path, kept: str, read: tuple[int | None, int | None]
) -> None:
    def edit(ws: Worksheet) -> None:
        for merged in list(ws.merged_cells.ranges):
            ws.unmerge_cells(str(merged))
        ws.delete_cols(8 if kept == "Low estimate" else 7)

    got = scenario(tmp_path, edit, grades=[("K", 40, 15, 22, None, None, 36, 44)], composites=[])
    assert (got.grades[0].low_estimate, got.grades[0].high_estimate) == read


def test_a_composite_excel_turned_into_a_date_is_explained(tmp_path: Path) -> None:
    def edit(ws: Worksheet) -> None:
        # What Excel stores when 1/2 is typed into a cell not formatted as Text.
        ws[f"A{FIRST_COMPOSITE_ROW}"] = datetime.datetime(2024, 1, 2)

    got = problems(tmp_path, edit)
    assert len(got) == 1
    cell, expected, found = got[0]
    assert (cell, found) == ("'Plan A'!A25", "the date 2024-01-02")
    assert "format the cell as Text" in expected


def test_every_problem_of_a_sheet_is_collected_in_sheet_order(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        teachers="x",
        alternatives=99,
        grades=[("K", -1, 15, 22), ("1", 44, 30, 24)],
        composites=[("K/9",)],
    )
    assert [cell for cell, _, _ in got] == [
        "'Plan A'!B4",
        "'Plan A'!B7",
        "'Plan A'!B12",
        "'Plan A'!C13",
        "'Plan A'!A25",
    ]


def test_a_wrong_sheet_does_not_stop_the_others(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "plan.xlsx",
        {"Good one": BASE, "Bad one": {**BASE, "teachers": None}, "Another": BASE},
    )
    found = read_workbook(path)
    assert [type(item).__name__ for item in found.items] == ["Scenario", "InputError", "Scenario"]
    bad = found.items[1]
    assert isinstance(bad, InputError)
    assert str(bad) == "'Bad one'!B4: expected a whole number of at least 1 for Teachers"


def test_rows_inserted_above_and_between_tables(tmp_path: Path) -> None:
    def edit(ws: Worksheet) -> None:
        # openpyxl does not move merged ranges when inserting rows (Excel does): unmerge first.
        for merged in list(ws.merged_cells.ranges):
            ws.unmerge_cells(str(merged))
        ws.insert_rows(1, 3)  # title pushed down
        ws.insert_rows(10, 2)  # between the settings and the grades table
        ws.insert_rows(27, 4)  # between the two tables

    plain = scenario(tmp_path)
    assert scenario(tmp_path, edit) == plain
    moved = problems(tmp_path, edit, teachers=None, grades=[("K", -1, 15, 22), ("1", 4, 1, 9)])
    assert [cell for cell, _, _ in moved] == ["'Plan A'!B7", "'Plan A'!B17"]


def test_a_table_ends_at_the_first_empty_label(tmp_path: Path) -> None:
    def edit(ws: Worksheet) -> None:
        ws["A15"] = "Total"  # a row of the administrator's own below the table: not a grade
        ws["B15"] = "=SUM(B12:B13)"

    assert len(scenario(tmp_path, edit).grades) == 2


def test_tables_may_touch(tmp_path: Path) -> None:
    def edit(ws: Worksheet) -> None:
        for merged in list(ws.merged_cells.ranges):
            ws.unmerge_cells(str(merged))
        ws.delete_rows(14, 10)  # the Composite header now sits right under grade 1

    got = scenario(tmp_path, edit, composites=[("K/1", 16, 23, 1)])
    assert [g.label for g in got.grades] == ["K", "1"]
    assert got.composites == (Composite(("K", "1"), 16, 23, 1),)


def test_a_grade_below_an_empty_row_is_reported(tmp_path: Path) -> None:
    got = problems(tmp_path, grades=[("K", 40, 15, 22), (None,), ("1", 44, 15, 24)])
    assert len(got) == 1
    cell, expected, found = got[0]
    assert (cell, found) == ("'Plan A'!A14", "'1'")
    assert "no empty row inside the grades table" in expected and "A13" in expected


def test_a_grade_row_without_a_label_is_reported(tmp_path: Path) -> None:
    got = problems(tmp_path, grades=[("K", 40, 15, 22), (None, 44, 15, 24)], composites=[])
    assert [(cell, expected) for cell, expected, _ in got] == [
        ("'Plan A'!A13", "a grade label for this row of numbers")
    ]


def test_a_composite_below_an_empty_row_is_reported(tmp_path: Path) -> None:
    got = problems(tmp_path, composites=[(None,), ("K/1",)])
    assert [cell for cell, _, _ in got] == ["'Plan A'!A26"]


def test_a_missing_column_header_is_reported(tmp_path: Path) -> None:
    def edit(ws: Worksheet) -> None:
        ws["C11"] = "Smallest"

    got = problems(tmp_path, edit)
    assert got == [("'Plan A'!C11", "the header Smallest class in this row", "'Smallest'")]


def test_a_repeated_setting_is_reported(tmp_path: Path) -> None:
    def edit(ws: Worksheet) -> None:
        ws["A9"] = "Teachers"
        ws["B9"] = 12

    got = problems(tmp_path, edit)
    assert [cell for cell, _, _ in got] == ["'Plan A'!A9"]


def test_never_calculated_formula_is_reported(tmp_path: Path) -> None:
    got = problems(tmp_path, teachers="=10+8", grades=[("K", "=20*2", 15, 22)], composites=[])
    assert got == [
        ("'Plan A'!B4", UNCALCULATED, "the formula =10+8"),
        ("'Plan A'!B12", UNCALCULATED, "the formula =20*2"),
    ]


@pytest.mark.libreoffice
def test_calculated_formula_is_read_by_its_value(tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required in CI")
        pytest.skip("LibreOffice (soffice) is not installed: cannot calculate formulas")
    source = tmp_path / "in" / "formulas.xlsx"
    source.parent.mkdir()
    make_workbook(
        source,
        {
            "Plan A": {
                "teachers": "=10+8",
                # '=""' calculates to empty text: a blank Fewest classes, not a problem.
                "grades": [("K", "=20*2", 15, "=B12-18", '=""'), ("1", 20, 15, 24)],
                "composites": [('="K/"&A13',)],
            }
        },
    )
    out = tmp_path / "out"
    # A private profile, so a LibreOffice already running (or another test) cannot interfere.
    profile = (tmp_path / "profile").as_uri()
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    got = read_one(out / "formulas.xlsx")
    assert isinstance(got, Scenario), str(got)
    assert got.teachers == 18
    assert got.grades == (Grade("K", 40, 15, 22), Grade("1", 20, 15, 24))
    assert got.composites == (Composite(("K", "1")),)


def test_hidden_and_result_sheets_are_not_read(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "plan.xlsx", {"Plan A": BASE, "Hidden plan": BASE, "Plan A results": BASE}
    )
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    workbook["Hidden plan"].sheet_state = "hidden"
    results = workbook["Plan A results"]
    results.defined_names[RESULT_SHEET_MARK] = DefinedName(
        RESULT_SHEET_MARK, attr_text="'Plan A results'!$A$1"
    )
    workbook.save(path)
    found = read_workbook(path)
    assert [item.name for item in found.items if isinstance(item, Scenario)] == ["Plan A"]
    assert found.notes == ["Sheet 'Hidden plan' is hidden, so it was not planned."]


def test_blank_and_broken_sheets_are_noted(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "plan.xlsx",
        {
            "Blank": {"grades": [], "composites": []},
            "No teachers label": BASE,
            "No grade header": BASE,
            "Plan A": BASE,
        },
    )
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    workbook["No teachers label"]["A4"] = "Staff"
    workbook["No grade header"]["A11"] = "Year level"
    notes_sheet = workbook.create_sheet("Notes")
    notes_sheet["A1"] = "Anything the school keeps here is left alone"
    notes_sheet["B2"] = 42
    workbook.save(path)
    found = read_workbook(path)
    assert [item.name for item in found.items if isinstance(item, Scenario)] == ["Plan A"]
    assert found.notes == [
        "Sheet 'Blank' is still blank (no teachers, no grades), so it was skipped.",
        "Sheet 'No teachers label' has a Grade table but no Teachers label in column A, "
        "so it was not read as a scenario.",
        "Sheet 'No grade header' has a Teachers label but no Grade header row in column A, "
        "so it was not read as a scenario.",
    ]


def test_reading_never_changes_the_file(tmp_path: Path) -> None:
    path = build(tmp_path, teachers="=1+1")
    before = path.read_bytes()
    modified = path.stat().st_mtime_ns
    read_workbook(path)
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == modified


def test_a_stream_reads_like_a_file(tmp_path: Path) -> None:
    path = build(tmp_path, teachers=" 6 ")
    from_path = read_workbook(path)
    from_stream = read_workbook(io.BytesIO(path.read_bytes()))
    assert from_stream == from_path
    assert isinstance(from_stream.items[0], Scenario) and from_stream.items[0].teachers == 6


def _damaged(tmp_path: Path) -> bytes:
    """Return a real workbook's bytes cut in half."""
    data = build(tmp_path).read_bytes()
    return data[: len(data) // 2]


def _empty_zip(tmp_path: Path) -> bytes:
    """Return a zip that holds no workbook."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        (lambda tmp: b"Grade,Children\nK,40\n", "is a text (CSV) file with an Excel name"),
        (lambda tmp: b"", "is empty (0 bytes): there is no workbook in it"),
        (_damaged, "is damaged (it is not a complete Excel file)"),
        (_empty_zip, "is a zip file but not an Excel workbook"),
        (lambda tmp: bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 600, "in an old Office format"),
    ],
)
def test_unreadable_files_raise_one_plain_line(
    tmp_path: Path, contents: Callable[[Path], bytes], message: str
) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(contents(tmp_path))
    with pytest.raises(WorkbookError) as raised:
        read_workbook(path)
    text = str(raised.value)
    assert message in text and "broken.xlsx" in text and "\n" not in text
    with pytest.raises(WorkbookError):
        read_workbook(io.BytesIO(path.read_bytes()))


def test_a_missing_file_or_a_folder_raise_workbook_error(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError, match="no such file"):
        read_workbook(tmp_path / "missing.xlsx")
    with pytest.raises(WorkbookError, match="folder"):
        read_workbook(tmp_path)


# -- properties ---------------------------------------------------------------------------------

_JUNK = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.booleans(),
    st.datetimes(datetime.datetime(1901, 1, 1), datetime.datetime(2100, 1, 1)),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=12),
    st.sampled_from(
        ["#REF!", "#N/A", "#DIV/0!", "=1+1", "=A1", "Yes", "no", "K", "1", "K/1", " 24 ", "1/2/3"]
    ),
)


def _save(sheet: dict[str, Any]) -> io.BytesIO:
    """Return a one-scenario workbook as an in-memory stream."""
    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    ws.title = "Plan A"
    write_scenario_sheet(ws, **sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    teachers=_JUNK,
    use_every_teacher=_JUNK,
    composite_minimum=_JUNK,
    alternatives=_JUNK,
    priority=_JUNK,
    grades=st.lists(st.tuples(*[_JUNK] * 8), max_size=3),
    composites=st.lists(st.tuples(*[_JUNK] * 5), max_size=3),
)
def test_junk_in_any_input_cell_never_crashes(**sheet: Any) -> None:
    found = read_workbook(_save(sheet))
    assert isinstance(found, WorkbookInput)
    assert len(found.items) + len(found.notes) == 1
    for item in found.items:
        assert isinstance(item, Scenario | InputError)
        if isinstance(item, InputError):
            assert all(p.reference.startswith("'Plan A'!") and p.expected for p in item.problems)


_LABELS = ["K", "Prep", "1", "2", "Year 3", "4", "5", "6"]


@st.composite
def _scenarios(draw: st.DrawFn) -> Scenario:
    """Return a random well-formed scenario (not necessarily solvable)."""
    count = draw(st.integers(1, len(_LABELS)))
    labels = draw(st.permutations(_LABELS))[:count]
    grades = []
    for label in labels:
        smallest = draw(st.integers(1, 30))
        largest = draw(st.integers(smallest, 35))
        fewest = draw(st.none() | st.integers(0, 3))
        most = draw(st.none() | st.integers(fewest or 0, 6))
        children = draw(st.integers(0, 120))
        low = draw(st.none() | st.integers(0, children))
        high = draw(st.none() | st.integers(children, 130))
        grades.append(Grade(label, children, smallest, largest, fewest, most, low, high))
    pairs = [tuple(labels[i : i + 2]) for i in range(count - 1)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    composites = tuple(Composite(kind) for kind in chosen)
    return Scenario(
        name="Plan A",
        grades=tuple(grades),
        composites=composites,
        teachers=draw(st.integers(1, 40)),
        use_every_teacher=draw(st.booleans()),
        composite_minimum=draw(st.integers(1, 8)),
        alternatives=draw(st.integers(1, 20)),
        priority=draw(st.sampled_from(list(Priority))),
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scenarios())
def test_a_written_scenario_reads_back_unchanged(written: Scenario) -> None:
    found = read_workbook(_save(scenario_sheet(written)))
    assert found.items == [written]


# -- how other programs write sheets ----------------------------------------------------------


def _rewrite_sheet(path: Path, change: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/worksheets/sheet1.xml"] = change(parts["xl/worksheets/sheet1.xml"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def _without_references(data: bytes) -> bytes:
    """Return a sheet written as some programs do: no cell says where it is, gaps filled."""

    def row(match: re.Match[bytes]) -> bytes:
        cells, column = [], 0
        for cell in re.finditer(rb'<c r="([A-Z]+)\d+"(.*?)(?:/>|>(.*?)</c>)', match[2], re.S):
            number = ord(cell[1][:1]) - 64  # columns A-Z are enough here
            cells += [b"<c/>"] * (number - column - 1)
            column = number
            cells.append(
                b"<c" + cell[2] + (b">" + cell[3] + b"</c>" if cell[3] is not None else b"/>")
            )
        return match[1] + b"".join(cells) + b"</row>"

    return re.sub(rb"(<row\b[^>]*>)(.*?)</row>", row, data, flags=re.S)


def test_cells_without_references_are_placed_by_counting(tmp_path: Path) -> None:
    # Some writers leave out every cell's r="B4" (the schema allows it): position counts.
    expected = scenario(tmp_path)
    path = _rewrite_sheet(build(tmp_path), _without_references)
    assert b'<c r="' not in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert read_one(path) == expected


def test_a_sheet_claiming_the_whole_grid_reads_like_any_other(tmp_path: Path) -> None:
    expected = scenario(tmp_path)
    path = _rewrite_sheet(
        build(tmp_path),
        lambda data: re.sub(
            rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', data
        ),
    )
    assert read_one(path) == expected


def test_a_cell_far_down_costs_one_row(tmp_path: Path) -> None:
    expected = scenario(tmp_path)
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>far</t></is></c>'
    far += b'<c r="A1048576" t="inlineStr"><is><t>far</t></is></c></row></sheetData>'
    path = _rewrite_sheet(build(tmp_path), lambda data: data.replace(b"</sheetData>", far, 1))
    assert read_one(path) == expected
