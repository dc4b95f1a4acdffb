"""Tests for crunch_xl.excel.writer: result sheets, summary, sheet names, JSON and golden workbooks.

Results are built by hand (deterministic); workbooks are real files in tmp_path, written with
openpyxl and read back with openpyxl and pandas.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import xlsxwriter
from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook.defined_name import DefinedName
from xlsx_compare import assert_same_content, first_difference

from crunch_xl.errors import InputError, Problem, WorkbookError
from crunch_xl.excel.sheets import (
    MAX_SHEET_NAME,
    SUMMARY_SHEET_NAME,
    is_result_sheet,
    result_sheet_name,
)
from crunch_xl.excel.styles import COMPOSITE_FILL
from crunch_xl.excel.writer import write_results
from crunch_xl.model import (
    RESULT_SHEET_MARK,
    Composite,
    Grade,
    Option,
    Priority,
    Repair,
    Report,
    Result,
    Room,
    Scenario,
    SchoolClass,
    Status,
    Suggestion,
)
from crunch_xl.report_json import report_json
from crunch_xl.words import verdict

GOLDEN = Path(__file__).parent / "golden" / "plan_results.xlsx"
#: Set CRUNCH_XL_REGENERATE_GOLDEN=1 to rewrite tests/golden/plan_results.xlsx from the current
#: writer (then look at it in Excel or LibreOffice before committing it).
REGENERATE = os.environ.get("CRUNCH_XL_REGENERATE_GOLDEN") == "1"


# --- hand-built results ------------------------------------------------------------------------


def klass(name: str, largest: int = 30, **counts: int) -> SchoolClass:
    """Return a class; grade labels are given as g1=…, gK=… (keyword-safe) or K=…."""
    labels = {key.removeprefix("g"): value for key, value in counts.items()}
    return SchoolClass(name=name, kind=tuple(labels), counts=labels, largest=largest)


def plan_a_scenario() -> Scenario:
    return Scenario(
        name="Plan A",
        grades=(Grade("K", 44, 18, 24), Grade("1", 46, 18, 24), Grade("2", 50, 20, 26)),
        composites=(Composite(("K", "1")), Composite(("1", "2"))),
        teachers=6,
        composite_minimum=2,
        priority=Priority.FEWEST_COMPOSITES,
    )


def solved_result() -> Result:
    best = Option(
        rank=1,
        reason="Best",
        classes=[
            klass("K A", 24, K=22),
            klass("K B", 24, K=22),
            klass("1 A", 24, g1=23),
            klass("1 B", 24, g1=23),
            klass("2 A", 26, g2=25),
            klass("2 B", 26, g2=25),
        ],
        headroom={"K": Room(8, 4), "1": Room(10, 2), "2": Room(10, 2)},
    )
    alternative = Option(
        rank=2,
        reason="1 more composite, more even kindergarten classes",
        classes=[
            klass("K A", 24, K=22),
            klass("K/1 A", 24, K=22, g1=2),
            klass("1 A", 24, g1=22),
            klass("1 B", 24, g1=22),
            klass("2 A", 26, g2=24),
            klass("2 B", 26, g2=26),
        ],
        headroom={"K": Room(4, 4), "1": Room(6, 4), "2": Room(10, 2)},
    )
    return Result(
        sheet="Plan A",
        status=Status.SOLVED,
        seconds=0.4271,
        options=[best, alternative],
        warnings=["Grade 2's largest class (26) is above the other grades' (24)"],
        scenario=plan_a_scenario(),
    )


def infeasible_result() -> Result:
    scenario = Scenario(
        name="Plan B",
        grades=(Grade("K", 44, 18, 24), Grade("1", 46, 18, 24)),
        teachers=3,
    )
    return Result(
        sheet="Plan B",
        status=Status.INFEASIBLE,
        message="90 children need at least 4 classes of at most 24, but there are 3 teachers",
        seconds=0.031,
        suggestions=[
            Suggestion(
                "Allow 4 classes instead of 3 (one more teacher)", Repair.TEACHERS, None, 4, 0
            ),
            Suggestion("Raise grade 1's largest class to 46", Repair.LARGEST_CLASS, "1", 46),
        ],
        scenario=scenario,
    )


def invalid_result(*problems: Problem) -> Result:
    """Return the result of an invalid sheet, as process_workbook makes it from the reader's."""
    error = InputError(
        "Broken",
        list(problems)
        or [
            Problem("Broken", "B3", "a whole number ≥ 1", "-2"),
            Problem("Broken", "A12", "a grade"),
        ],
    )
    return Result(error.sheet, Status.INVALID, str(error), problems=error.problems)


def timeout_result() -> Result:
    """A result without its scenario: the writer must take the grades from the classes."""
    option = Option(
        rank=1,
        proven=False,
        reason="Best found",
        classes=[
            klass("Year 1 A", **{"Year 1": 20}),
            klass("Year 1/Year 2 A", **{"Year 1": 5, "Year 2": 17}),
        ],
    )
    return Result(
        sheet="Plan C",
        status=Status.TIMEOUT,
        message="The 30 s time limit ran out before the best plan was proven",
        seconds=30.004,
        options=[option],
    )


def full_report(file: Path = Path("plan.xlsx")) -> Report:
    return Report(
        file=file,
        results=[solved_result(), infeasible_result(), invalid_result(), timeout_result()],
        notes=["Sheet 'Blank' is still blank and was skipped"],
        lost=[],
    )


def user_workbook(path: Path) -> Path:
    """Write a user's workbook with the things openpyxl must carry over; return its path."""
    book = Workbook()
    plan = book.active
    plan.title = "Plan A"
    plan["A1"] = "Teachers"
    plan["B1"] = 6
    plan["A3"] = "Grade"
    plan["B3"] = "Children"
    plan["A4"] = "K"
    plan["B4"] = 44
    plan["A5"] = 1
    plan["B5"] = 46
    plan["B6"] = "=SUM(B4:B5)"
    plan["B6"].number_format = "0"
    plan["A3"].font = Font(bold=True)
    plan["A3"].fill = PatternFill(fill_type="solid", fgColor="FFFF00")
    plan["B4"].comment = Comment("Counted in March", "Office")
    plan["D1"] = "Merged heading"
    plan.merge_cells("D1:F2")
    plan.column_dimensions["A"].width = 25
    plan.freeze_panes = "A4"
    plan.defined_names.add(DefinedName("LocalTeachers", attr_text="'Plan A'!$B$1"))
    book.defined_names.add(DefinedName("Children", attr_text="'Plan A'!$B$4:$B$5"))
    notes = book.create_sheet("Notes")
    notes["A1"] = "Keep this sheet"
    notes["A2"] = "=Children"
    book.save(path)
    return path


def rows_with(sheet: Any, value: Any, column: int = 1) -> list[int]:
    """Return the rows whose cell in `column` holds exactly `value`."""
    return [
        row
        for row in range(1, sheet.max_row + 1)
        if sheet.cell(row=row, column=column).value == value
    ]


def class_list_rows(sheet: Any, rank: int) -> range:
    """Return the rows of option `rank`'s classes in a result sheet."""
    (title_row,) = [
        row
        for row in range(1, sheet.max_row + 1)
        if str(sheet.cell(row=row, column=1).value or "").startswith(f"Option {rank}:")
    ]
    header = title_row + 2
    assert sheet.cell(row=header, column=1).value == "Class"
    (end,) = [r for r in rows_with(sheet, "All classes") if r > header][:1]
    return range(header + 1, end)


@pytest.fixture()
def written(tmp_path: Path) -> Path:
    """Return the path of a user workbook with the full report's results written into it."""
    source = user_workbook(tmp_path / "plan.xlsx")
    destination = tmp_path / "out.xlsx"
    write_results(source, full_report(), destination)
    return destination


# --- result sheets hold the options' numbers ---------------------------------------------------


def test_comparison_table_holds_each_options_figures(written: Path) -> None:
    sheet = load_workbook(written)["Plan A results"]
    result = solved_result()
    (header,) = rows_with(sheet, "Option")
    grades = result.grade_labels()
    headers = [sheet.cell(row=header, column=c).value for c in range(1, 9 + 2 * len(grades))]
    assert headers == [
        "Option", "Why", "Composites", "Spare", "Largest", "Smallest", "Spread", "Classes",
        "K", "1", "2", "K", "1", "2",
    ]  # fmt: skip
    for offset, option in enumerate(result.options, start=1):
        row = [sheet.cell(row=header + offset, column=c).value for c in range(1, len(headers) + 1)]
        assert row == [
            option.rank,
            option.reason,
            option.composites,
            option.spare,
            option.largest,
            option.smallest,
            option.spread,
            len(option.classes),
            *(option.classes_of(label) for label in grades),
            *(f"−{option.headroom[g].fewer} / +{option.headroom[g].more}" for g in grades),
        ]
        assert sheet.cell(row=header + offset, column=4).number_format == "0"
    groups = [sheet.cell(row=header - 1, column=c).value for c in (9, 12)]
    assert groups == ["Classes per grade", "Room: fewer / more children"]


def test_class_lists_hold_every_child_and_mark_composites(written: Path) -> None:
    sheet = load_workbook(written)["Plan A results"]
    result = solved_result()
    grades = result.grade_labels()
    for option in result.options:
        rows = class_list_rows(sheet, option.rank)
        assert len(rows) == len(option.classes)
        for row, school_class in zip(rows, option.classes, strict=True):
            assert sheet.cell(row=row, column=1).value == school_class.name
            counts = [sheet.cell(row=row, column=3 + i).value or 0 for i in range(len(grades))]
            assert counts == [school_class.counts.get(label, 0) for label in grades]
            assert sheet.cell(row=row, column=3 + len(grades)).value == school_class.size
            fill = sheet.cell(row=row, column=1).fill
            note = sheet.cell(row=row, column=2).value
            marks = [word for word, on in (("composite", school_class.is_composite),
                                           ("full", school_class.is_full)) if on]  # fmt: skip
            assert note == (", ".join(marks) or None)
            if school_class.is_composite:
                assert fill.fill_type == "solid"
                assert fill.fgColor.rgb.endswith(COMPOSITE_FILL.fgColor.rgb[-6:])
            else:
                assert fill.fill_type is None
        totals = [sheet.cell(row=rows.stop, column=3 + i).value for i in range(len(grades))]
        assert totals == [plan_a_scenario().grade(label).children for label in grades]


def test_pandas_reads_the_same_class_lists(written: Path) -> None:
    frame = pd.read_excel(written, sheet_name="Plan A results", header=None)
    result = solved_result()
    grades = result.grade_labels()
    headers = frame.index[frame[0] == "Class"].tolist()
    assert len(headers) == len(result.options)
    for header, option in zip(headers, result.options, strict=True):
        assert frame.iloc[header, 2 : 3 + len(grades)].tolist() == [*grades, "Total"]
        block = frame.iloc[header + 1 : header + 1 + len(option.classes), : 3 + len(grades)]
        for (_, row), school_class in zip(block.iterrows(), option.classes, strict=True):
            assert row[0] == school_class.name
            got = [0 if pd.isna(value) else int(value) for value in row[2 : 2 + len(grades)]]
            assert got == [school_class.counts.get(label, 0) for label in grades]
            assert int(row[2 + len(grades)]) == school_class.size


def test_grades_follow_teaching_order_not_class_order() -> None:
    result = solved_result()
    # Classes listed with grade 2 first must still give columns K, 1, 2.
    result.options[0].classes.reverse()
    assert result.grade_labels() == ["K", "1", "2"]
    without_scenario = timeout_result()
    assert without_scenario.grade_labels() == ["Year 1", "Year 2"]


def test_chart_is_stacked_and_reads_option_one_class_list(written: Path) -> None:
    sheet = load_workbook(written)["Plan A results"]
    rows = class_list_rows(sheet, 1)
    with zipfile.ZipFile(written) as archive:
        charts = [name for name in archive.namelist() if name.startswith("xl/charts/chart")]
        xml = archive.read("xl/charts/chart1.xml").decode()
    # Only the solved and timed-out scenarios have options, so only they get a chart.
    assert len(charts) == 2
    assert '<grouping val="stacked"' in xml
    assert '<barDir val="col"' in xml
    first, last = rows.start, rows.stop - 1
    categories = re.findall(r"<cat>.*?<f>(.*?)</f>", xml)
    values = re.findall(r"<val>.*?<f>(.*?)</f>", xml)
    assert categories == [f"'Plan A results'!$A${first}:$A${last}"] * 3
    assert values == [f"'Plan A results'!${col}${first}:${col}${last}" for col in "CDE"]
    assert "<strRef><f>'Plan A results'!$A$" in xml  # class names are text


def test_header_block_and_print_setup(written: Path) -> None:
    sheet = load_workbook(written)["Plan A results"]
    assert sheet["A1"].value == "Plan A: class plan"
    assert sheet["B2"].value == "Solved"
    assert sheet["D2"].value == 0.43
    assert sheet["D2"].number_format == "0.00"
    assert sheet["B3"].value == verdict(solved_result())
    assert sheet.freeze_panes == "A4"
    assert sheet.print_title_rows == "$1:$3"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert "&A" in sheet.oddHeader.center.text
    assert all(sheet.column_dimensions[c].width >= 10 for c in "ABCDEFGH")
    assert "Grade 2's largest class (26)" in str(
        sheet.cell(row=rows_with(sheet, "Worth a look")[0] + 1, column=1).value
    )


# --- other statuses ----------------------------------------------------------------------------


def test_verdicts_say_what_happened() -> None:
    assert verdict(solved_result()) == (
        "Solved: best plan has no composites, 1 spare place in the fullest class, largest "
        "class 25 (proven best)"
    )
    one = solved_result()
    one.options = one.options[1:]
    one.options[0].headroom["2"] = Room(10, 0)
    assert verdict(one) == (
        "Solved: best plan has 1 composite, 0 spare places in the fullest class, largest class "
        "26 (proven best); no room for one more child in Grade 2"
    )
    assert verdict(timeout_result()) == (
        "Time limit reached: best plan found has 1 composite, 8 spare places in the fullest "
        "class, largest class 22 (not proven best)"
    )
    assert verdict(infeasible_result()).startswith("Impossible: 90 children need")
    assert "'Broken'!B3" in verdict(invalid_result())
    assert "'Broken'!A12" in verdict(invalid_result())


def test_infeasible_sheet_lists_suggestions_with_what_they_give(written: Path) -> None:
    sheet = load_workbook(written)["Plan B results"]
    assert sheet["B2"].value == "Impossible"
    assert sheet["B3"].value == verdict(infeasible_result())
    (header,) = rows_with(sheet, "Change")
    suggestions = infeasible_result().suggestions
    for offset, suggestion in enumerate(suggestions, start=1):
        cells = [sheet.cell(row=header + offset, column=c).value for c in (1, 3)]
        assert cells == [suggestion.text, suggestion.composites]
    assert rows_with(sheet, "Option") == []  # no options, no comparison


def test_invalid_sheet_lists_each_cell_to_fix(written: Path) -> None:
    sheet = load_workbook(written)["Broken results"]
    assert sheet["B2"].value == "Invalid input"
    (title,) = rows_with(sheet, "Cells to fix")
    lines = [sheet.cell(row=title + i, column=1).value for i in (1, 2)]
    assert lines == [
        "• 'Broken'!B3: expected a whole number ≥ 1 (found -2)",
        "• 'Broken'!A12: expected a grade",
    ]


def test_a_cell_holding_a_semicolon_is_one_line_to_fix(tmp_path: Path) -> None:
    odd = Problem("Broken", "A12", "a grade label without /", "'K; 1/2'")
    report = Report(file=Path("plan.xlsx"), results=[invalid_result(odd)])
    write_results(user_workbook(tmp_path / "plan.xlsx"), report, tmp_path / "out.xlsx")
    sheet = load_workbook(tmp_path / "out.xlsx")["Broken results"]
    (title,) = rows_with(sheet, "Cells to fix")
    assert sheet.cell(row=title + 1, column=1).value == f"• {odd}"
    assert sheet.cell(row=title + 2, column=1).value is None


def test_timeout_sheet_says_not_proven_and_uses_grades_found(written: Path) -> None:
    sheet = load_workbook(written)["Plan C results"]
    assert sheet["B2"].value == "Time limit reached"
    assert "not proven" in sheet["B3"].value
    (header,) = rows_with(sheet, "Option")
    assert sheet.cell(row=header, column=9).value == "Year 1"
    assert sheet.cell(row=header, column=10).value == "Year 2"
    assert sheet.cell(row=header + 1, column=2).value == "Best found (not proven)"


# --- summary -----------------------------------------------------------------------------------


def test_summary_compares_scenarios_and_links_to_their_sheets(written: Path) -> None:
    book = load_workbook(written)
    summary = book[SUMMARY_SHEET_NAME]
    assert book.active.title == SUMMARY_SHEET_NAME
    assert [s.title for s in book.worksheets if s.sheet_view.tabSelected] == [SUMMARY_SHEET_NAME]
    (header,) = rows_with(summary, "Sheet")
    results = full_report().results
    for offset, result in enumerate(results, start=1):
        row = header + offset
        assert summary.cell(row=row, column=1).value == result.sheet
        assert summary.cell(row=row, column=3).value == verdict(result)
        best = result.options[0] if result.options else None
        figures = [summary.cell(row=row, column=c).value for c in range(4, 10)]
        if best is None:
            assert figures == [None] * 6
        else:
            assert figures == [
                best.composites,
                best.spare,
                best.largest,
                best.smallest,
                best.spread,
                len(best.classes),
            ]
        assert summary.cell(row=row, column=11).value == round(result.seconds, 2)
        link = summary.cell(row=row, column=12)
        assert link.value == f"{result.sheet} results"
        assert link.hyperlink.location == f"'{result.sheet} results'!A1"
        assert link.value in book.sheetnames
    assert rows_with(summary, "• Sheet 'Blank' is still blank and was skipped")


def test_summary_lists_what_would_have_been_lost(tmp_path: Path) -> None:
    report = Report(file=Path("plan.xlsx"), lost=["2 shapes on sheet 'Plan A'"])
    write_results(user_workbook(tmp_path / "in.xlsx"), report, tmp_path / "out.xlsx")
    summary = load_workbook(tmp_path / "out.xlsx")[SUMMARY_SHEET_NAME]
    assert rows_with(summary, "No scenario sheets were found.")
    assert rows_with(summary, "• 2 shapes on sheet 'Plan A'")


# --- re-running and the user's sheets ----------------------------------------------------------


def test_running_twice_gives_the_same_sheets_as_once(tmp_path: Path) -> None:
    source = user_workbook(tmp_path / "plan.xlsx")
    write_results(source, full_report(), tmp_path / "once.xlsx")
    write_results(tmp_path / "once.xlsx", full_report(), tmp_path / "twice.xlsx")
    once, twice = load_workbook(tmp_path / "once.xlsx"), load_workbook(tmp_path / "twice.xlsx")
    assert twice.sheetnames == once.sheetnames == [
        "Plan A", "Notes", SUMMARY_SHEET_NAME,
        "Plan A results", "Plan B results", "Broken results", "Plan C results",
    ]  # fmt: skip
    assert_same_content(tmp_path / "twice.xlsx", tmp_path / "once.xlsx")
    with zipfile.ZipFile(tmp_path / "twice.xlsx") as archive:
        assert len([n for n in archive.namelist() if n.startswith("xl/charts/")]) == 2


def test_users_sheets_survive_unchanged(tmp_path: Path) -> None:
    source = user_workbook(tmp_path / "plan.xlsx")
    write_results(source, full_report(), tmp_path / "once.xlsx")
    write_results(tmp_path / "once.xlsx", full_report(), tmp_path / "twice.xlsx")
    for output in ("once.xlsx", "twice.xlsx"):
        assert_same_content(tmp_path / output, source, sheets=["Plan A", "Notes"])
        book = load_workbook(tmp_path / output)
        plan = book["Plan A"]
        assert plan["B6"].value == "=SUM(B4:B5)"
        assert plan["B4"].comment.text == "Counted in March"
        assert plan["A3"].font.b
        assert [str(r) for r in plan.merged_cells.ranges] == ["D1:F2"]
        assert plan.defined_names["LocalTeachers"].attr_text == "'Plan A'!$B$1"
        assert book.defined_names["Children"].attr_text == "'Plan A'!$B$4:$B$5"
        assert not is_result_sheet(plan)
        assert not is_result_sheet(book["Notes"])


def test_formulas_keep_their_last_values(tmp_path: Path) -> None:
    # Written as Excel writes them: each formula with its last calculated value.
    source = tmp_path / "formulas.xlsx"
    book = xlsxwriter.Workbook(source)
    sheet = book.add_worksheet("Plan A")
    sheet.write("A1", "Teachers")
    sheet.write("B4", 44)
    sheet.write("B5", 46)
    sheet.write_formula("B6", "=SUM(B4:B5)", None, 90)
    sheet.write_formula("C1", '=A1&"!"', None, "Teachers!")
    sheet.write_formula("C2", "=B4>40", None, True)
    sheet.write_formula("C3", "=1/0", None, "#DIV/0!")
    sheet.write_formula("C4", "=DATE(2024,1,2)", book.add_format({"num_format": "yyyy-mm-dd"}))
    sheet.write_formula("C5", "=B6/4", None, 22.5)
    book.close()
    cells = ("B6", "C1", "C2", "C3", "C4", "C5")
    before = load_workbook(source, data_only=True)["Plan A"]
    expected = [(before[c].value, before[c].data_type) for c in cells]
    assert expected[0] == (90, "n")

    write_results(source, full_report(), tmp_path / "once.xlsx")
    write_results(tmp_path / "once.xlsx", full_report(), tmp_path / "twice.xlsx")
    for output in ("once.xlsx", "twice.xlsx"):
        values = load_workbook(tmp_path / output, data_only=True)["Plan A"]
        assert [(values[c].value, values[c].data_type) for c in cells] == expected
        formulas = load_workbook(tmp_path / output)["Plan A"]
        assert formulas["B6"].value == "=SUM(B4:B5)"
        assert formulas["C4"].value == "=DATE(2024,1,2)"
    frame = pd.read_excel(tmp_path / "twice.xlsx", sheet_name="Plan A", header=None)
    assert frame.iloc[5, 1] == 90


def test_xlsm_keeps_its_macros_and_type(tmp_path: Path) -> None:
    plain = user_workbook(tmp_path / "plain.xlsx")
    source = tmp_path / "macros.xlsm"
    macro = b"not really VBA, but bytes that must come through unchanged"
    # Make an .xlsm by hand: the parts Excel adds for a macro project.
    with zipfile.ZipFile(plain) as old, zipfile.ZipFile(source, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                ).replace(
                    b"</Types>",
                    b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                    b"</Types>",
                )
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdVBA" Type="http://schemas.microsoft.com/office/2006/'
                    b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>',
                )
            new.writestr(item, data)
        new.writestr("xl/vbaProject.bin", macro)
    destination = tmp_path / "out.xlsm"
    write_results(source, full_report(Path("macros.xlsm")), destination)
    with zipfile.ZipFile(destination) as archive:
        assert archive.read("xl/vbaProject.bin") == macro
        assert b"macroEnabled" in archive.read("[Content_Types].xml")
    assert "Plan A results" in load_workbook(destination, keep_vba=True).sheetnames


def test_chart_sheet_in_front_keeps_the_mark_on_our_sheets(tmp_path: Path) -> None:
    # openpyxl numbers sheet-scoped names without chart sheets; the writer must correct that
    # or the user's "Data" sheet gets the mark and is deleted by the next run.
    book = Workbook()
    data = book.active
    data.title = "Data"
    for number in range(1, 5):
        data.append([number, number * number])
    data.defined_names.add(DefinedName("Squares", attr_text="'Data'!$B$1:$B$4"))
    chart = BarChart()
    chart.add_data(Reference(data, min_col=2, min_row=1, max_row=4))
    book.create_chartsheet("Chart", 0).add_chart(chart)
    book.save(tmp_path / "openpyxl.xlsx")
    # openpyxl itself writes the Data sheet's name with the wrong number; number it as Excel
    # does (position among all sheets, chart sheets included), or openpyxl cannot read it.
    with (
        zipfile.ZipFile(tmp_path / "openpyxl.xlsx") as wrong,
        zipfile.ZipFile(tmp_path / "charts.xlsx", "w") as right,
    ):
        for item in wrong.infolist():
            part = wrong.read(item.filename)
            if item.filename == "xl/workbook.xml":
                part = part.replace(b'localSheetId="0"', b'localSheetId="1"')
            right.writestr(item, part)
    assert "Squares" in load_workbook(tmp_path / "charts.xlsx")["Data"].defined_names

    write_results(tmp_path / "charts.xlsx", full_report(), tmp_path / "once.xlsx")
    write_results(tmp_path / "once.xlsx", full_report(), tmp_path / "twice.xlsx")
    for output in ("once.xlsx", "twice.xlsx"):
        again = load_workbook(tmp_path / output)
        assert again.sheetnames[:3] == ["Chart", "Data", SUMMARY_SHEET_NAME]
        assert [is_result_sheet(sheet) for sheet in again._sheets] == [False, False] + [True] * 5
        assert "Squares" in again["Data"].defined_names
        assert again.active.title == SUMMARY_SHEET_NAME
        with zipfile.ZipFile(tmp_path / output) as archive:
            charts = [name for name in archive.namelist() if name.startswith("xl/charts/chart")]
        assert len(charts) == 3  # the user's chart sheet and two result charts
    assert_same_content(tmp_path / "twice.xlsx", tmp_path / "once.xlsx")


def test_unreadable_source_is_a_workbook_error(tmp_path: Path) -> None:
    source = tmp_path / "broken.xlsx"
    source.write_bytes(b"this is not a zip file")
    with pytest.raises(WorkbookError, match="broken.xlsx"):
        write_results(source, full_report(), tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


# --- sheet names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "taken", "expected"),
    [
        ("Plan A", [], "Plan A results"),
        ("Plan A", ["plan a RESULTS"], "Plan A results (2)"),
        ("Plan A", ["Plan A results", "PLAN A RESULTS (2)"], "Plan A results (3)"),
        ("18 teachers: K/1?", [], "18 teachers K1 results"),
        ("[Draft] *2026*", [], "Draft 2026 results"),
        ("'Quoted'", [], "Quoted results"),
        ("a\\b", [], "ab results"),
        ("X" * 31, [], "X" * 22 + "… results"),
        ("X" * 31, ["X" * 22 + "… results"], "X" * 18 + "… results (2)"),
        ("X" * 23, [], "X" * 23 + " results"),
        ("Year 5/6 is 'too' big", [], "Year 56 is 'too' big results"),
        ("Ab cd efg hij klmn op' rest of it", [], "Ab cd efg hij klmn op… results"),
        ("?*", [], "Scenario results"),
    ],
)
def test_result_sheet_names(scenario: str, taken: list[str], expected: str) -> None:
    name = result_sheet_name(scenario, taken)
    assert name == expected
    assert len(name) <= MAX_SHEET_NAME
    assert not re.search(r"[\[\]:*?/\\]", name)
    assert not name.startswith("'") and not name.endswith("'")
    assert name.casefold() not in {t.casefold() for t in taken}


def test_names_clashing_with_users_sheets_get_a_number(tmp_path: Path) -> None:
    source = tmp_path / "clash.xlsx"
    book = Workbook()
    book.active.title = "plan a RESULTS"
    book.active["A1"] = "the user's own sheet"
    book.create_sheet("Crunch-XL Summary")["A1"] = "also the user's"
    book.save(source)
    long_name = "A scenario name of 31 characters"[:31]
    report = Report(
        file=source,
        results=[solved_result(), Result(sheet=long_name, status=Status.INVALID, message="x")],
    )
    write_results(source, report, tmp_path / "out.xlsx")
    names = load_workbook(tmp_path / "out.xlsx").sheetnames
    assert names == [
        "plan a RESULTS",
        "Crunch-XL Summary",
        f"{SUMMARY_SHEET_NAME} (2)",
        "Plan A results (2)",
        "A scenario name of 31… results",
    ]
    out = load_workbook(tmp_path / "out.xlsx")
    assert out["plan a RESULTS"]["A1"].value == "the user's own sheet"
    assert out["Crunch-XL Summary"]["A1"].value == "also the user's"


def test_marker_survives_reload_and_renamed_result_sheets_are_replaced(tmp_path: Path) -> None:
    source = user_workbook(tmp_path / "plan.xlsx")
    write_results(source, full_report(), tmp_path / "once.xlsx")
    book = load_workbook(tmp_path / "once.xlsx")
    marked = [sheet.title for sheet in book.worksheets if is_result_sheet(sheet)]
    assert marked == book.sheetnames[2:]
    assert RESULT_SHEET_MARK in book["Plan A results"].defined_names
    # The administrator renames a result sheet: it is still crunch-xl's, and is replaced.
    book["Plan A results"].title = "My favourite"
    book.save(tmp_path / "renamed.xlsx")
    notes = write_results(tmp_path / "renamed.xlsx", full_report(), tmp_path / "again.xlsx")
    again = load_workbook(tmp_path / "again.xlsx")
    assert "My favourite" not in again.sheetnames
    assert again.sheetnames == load_workbook(tmp_path / "once.xlsx").sheetnames
    renamed = (
        "The result sheet 'My favourite' (a result sheet you renamed) was replaced by "
        "'Plan A results'; crunch-xl's sheets are rewritten on every run, so notes typed there "
        "are not kept."
    )
    assert notes == [renamed]
    # The summary sheet says so too, after the report's own notes.
    lines = [row[0] for row in again[SUMMARY_SHEET_NAME].iter_rows(values_only=True) if row[0]]
    said = [f"• {note}" for note in [*full_report().notes, renamed]]
    assert lines[-len(said) :] == said


def test_a_renamed_result_sheet_without_a_scenario_now_is_said_to_be_removed(
    tmp_path: Path,
) -> None:
    write_results(user_workbook(tmp_path / "plan.xlsx"), full_report(), tmp_path / "once.xlsx")
    book = load_workbook(tmp_path / "once.xlsx")
    book["Plan A results"].title = "Kept for the staff meeting"
    book["Plan B results"].title = "Plan B results (2)"  # a name crunch-xl gives: no news
    book.save(tmp_path / "renamed.xlsx")
    report = full_report()
    report.results = report.results[2:]  # Plan A and Plan B are no longer planned
    notes = write_results(tmp_path / "renamed.xlsx", report, tmp_path / "again.xlsx")
    assert notes == [
        "The sheet 'Kept for the staff meeting' (a crunch-xl sheet you renamed) was removed; "
        "crunch-xl's sheets are rewritten on every run, so notes typed there are not kept."
    ]
    again = load_workbook(tmp_path / "again.xlsx")
    assert [sheet.title for sheet in again.worksheets if is_result_sheet(sheet)] == [
        SUMMARY_SHEET_NAME,
        "Broken results",
        "Plan C results",
    ]


# --- JSON --------------------------------------------------------------------------------------


def check_scenario_schema(scenario: dict[str, Any]) -> None:
    """Assert that one scenario object has SPEC section 3's keys and types."""
    assert isinstance(scenario["sheet"], str)
    assert scenario["status"] in {"solved", "infeasible", "invalid", "timeout"}
    assert isinstance(scenario["message"], str)
    assert isinstance(scenario["seconds"], float)
    assert scenario["seconds"] == round(scenario["seconds"], 2)
    for rank, option in enumerate(scenario["options"], start=1):
        assert option["rank"] == rank
        for key in ("composites", "spare", "largest", "smallest", "spread"):
            assert isinstance(option[key], int)
        for room in option["headroom"].values():
            assert set(room) == {"fewer", "more"}
        for school_class in option["classes"]:
            assert isinstance(school_class["name"], str)
            assert all(isinstance(label, str) for label in school_class["counts"])
            assert all(isinstance(n, int) and n > 0 for n in school_class["counts"].values())
    if scenario["status"] == "infeasible":
        for suggestion in scenario["suggestions"]:
            assert set(suggestion) >= {"text", "field", "target", "value"}
            assert suggestion["field"] in {
                "teachers", "use every teacher", "composite minimum",
                "smallest class", "largest class", "allow composite",
            }  # fmt: skip
    else:
        assert "suggestions" not in scenario
    if scenario["status"] != "solved":
        assert scenario["message"]


def test_report_json_for_one_report_is_the_spec_object() -> None:
    data = report_json([full_report()])
    assert isinstance(data, dict)
    assert json.loads(json.dumps(data)) == data
    assert data["file"] == "plan.xlsx"
    assert [s["sheet"] for s in data["scenarios"]] == ["Plan A", "Plan B", "Broken", "Plan C"]
    for scenario in data["scenarios"]:
        check_scenario_schema(scenario)
    plan_a = data["scenarios"][0]
    assert plan_a["seconds"] == 0.43
    assert plan_a["options"][1]["classes"][1] == {"name": "K/1 A", "counts": {"K": 22, "1": 2}}
    assert plan_a["options"][0]["classes"][0] == {"name": "K A", "counts": {"K": 22}}
    plan_b = data["scenarios"][1]
    assert plan_b["suggestions"][0] == {
        "text": "Allow 4 classes instead of 3 (one more teacher)",
        "field": "teachers",
        "target": None,
        "value": 4,
        "composites": 0,
    }
    assert plan_a["options"][0]["spare"] == 1
    assert plan_a["options"][0]["headroom"]["K"] == {"fewer": 8, "more": 4}
    assert plan_b["options"] == []
    assert data["scenarios"][3]["options"][0]["proven"] is False


def test_report_json_for_several_reports_is_a_list() -> None:
    other = Report(file=Path("folder/other.xlsx"), results=[infeasible_result()])
    data = report_json([full_report(), other])
    assert isinstance(data, list)
    assert [report["file"] for report in data] == ["plan.xlsx", str(Path("folder/other.xlsx"))]
    json.dumps(data)
    assert report_json([]) == []


def test_json_and_sheet_agree(written: Path) -> None:
    data = report_json([full_report()])
    assert isinstance(data, dict)
    book = load_workbook(written)
    for scenario in data["scenarios"]:
        sheet = book[f"{scenario['sheet']} results"]
        assert sheet["B3"].value == scenario["verdict"]
        if not scenario["options"]:
            continue
        header = sheet.cell(row=rows_with(sheet, "Class")[0], column=1).row
        grades = [sheet.cell(row=header, column=c).value for c in range(3, sheet.max_column)]
        grades = grades[: grades.index("Total")]
        for option in scenario["options"]:
            rows = class_list_rows(sheet, option["rank"])
            for row, school_class in zip(rows, option["classes"], strict=True):
                assert sheet.cell(row=row, column=1).value == school_class["name"]
                on_sheet = {
                    label: sheet.cell(row=row, column=3 + i).value
                    for i, label in enumerate(grades)
                    if sheet.cell(row=row, column=3 + i).value
                }
                assert on_sheet == school_class["counts"]


# --- golden workbook and the comparison helper -------------------------------------------------


def golden_source(path: Path) -> Path:
    """Write the (deterministic) user workbook the golden result workbook starts from."""
    return user_workbook(path)


def test_result_workbook_matches_golden(tmp_path: Path) -> None:
    output = tmp_path / "plan_results.xlsx"
    write_results(golden_source(tmp_path / "plan.xlsx"), full_report(), output)
    if REGENERATE:
        GOLDEN.parent.mkdir(exist_ok=True)
        shutil.copyfile(output, GOLDEN)
    assert_same_content(output, GOLDEN)


def test_compare_helper_names_the_first_changed_cell(tmp_path: Path) -> None:
    assert first_difference(GOLDEN, GOLDEN) is None
    book = load_workbook(GOLDEN)
    sheet = book["Plan A results"]
    (row,) = [r for r in class_list_rows(sheet, 1)][:1]
    cell = sheet.cell(row=row, column=3)
    old = cell.value
    cell.value = old + 1
    book.save(tmp_path / "changed.xlsx")
    with pytest.raises(AssertionError) as caught:
        assert_same_content(tmp_path / "changed.xlsx", GOLDEN)
    assert str(caught.value) == f"'Plan A results'!{cell.coordinate}: {old + 1} != {old}"


def test_compare_helper_names_what_changed_where(tmp_path: Path) -> None:
    def chart_moved(book: Any) -> None:
        (chart,) = book["Plan A results"]._charts
        chart.anchor._from.row += 1

    changes: dict[str, Callable[[Any], object]] = {
        "format": lambda b: setattr(b["Plan A results"]["D2"], "number_format", "0.0"),
        "fill": lambda b: setattr(b["Notes"]["A1"], "fill", PatternFill("solid", fgColor="FF0000")),
        "bold": lambda b: setattr(b["Notes"]["A1"], "font", Font(bold=True)),
        "font": lambda b: setattr(b["Plan A results"]["A1"], "font", Font(bold=True, size=9)),
        "border": lambda b: setattr(b["Plan A results"]["A2"], "border", Border(top=Side("thin"))),
        "alignment": lambda b: setattr(
            b["Plan A results"]["B3"], "alignment", Alignment(horizontal="right")
        ),
        "merge": lambda b: b["Notes"].merge_cells("C3:D3"),
        "width": lambda b: setattr(b["Notes"].column_dimensions["B"], "width", 30),
        "height": lambda b: setattr(b["Plan A results"].row_dimensions[1], "height", 40),
        "freeze": lambda b: setattr(b["Notes"], "freeze_panes", "B2"),
        "page": lambda b: setattr(b["Plan A results"].page_setup, "orientation", "portrait"),
        "titles": lambda b: setattr(b["Plan A results"], "print_title_rows", "1:2"),
        "footer": lambda b: setattr(b["Plan A results"].oddFooter.right, "text", "Page &P"),
        "sheet name": lambda b: b["Notes"].defined_names.add(DefinedName("Mine", attr_text="A1")),
        "workbook name": lambda b: b.defined_names.add(DefinedName("Ours", attr_text="1")),
        "chart": chart_moved,
        "sheet": lambda b: b.create_sheet("Extra"),
    }
    expected = {
        "format": "'Plan A results'!D2 number format: '0.0' != '0.00'",
        "fill": "'Notes'!A1 fill",
        "bold": "'Notes'!A1 bold: True != False",
        "font": "'Plan A results'!A1 font: (None, 9.0, True,",
        "border": "'Plan A results'!A2 border: ((None, None), (None, None), ('thin', None)",
        "alignment": "'Plan A results'!B3 alignment: ('right', None, False, 0.0, 0) != (None,",
        "merge": "'Notes' merged ranges",
        "width": "'Notes' column B width: 30.0 != None",
        "height": "'Plan A results' row 1 height: 40.0 != 22.0",
        "freeze": "'Notes' frozen panes: 'B2' != None",
        "page": "'Plan A results' page setup: ('portrait',",
        "titles": "'Plan A results' print titles: ('$1:$2', None) != ('$1:$3', None)",
        "footer": "'Plan A results' headers and footers",
        "sheet name": "'Notes' sheet names: [('Mine', 'A1', False)] != []",
        "workbook name": "workbook names",
        "chart": "'Plan A results' chart anchors: [('BarChart', 'A18',",
        "sheet": "sheet names",
    }
    for what, change in changes.items():
        book = load_workbook(GOLDEN)
        change(book)
        book.save(tmp_path / f"{what}.xlsx")
        difference = first_difference(tmp_path / f"{what}.xlsx", GOLDEN)
        assert difference is not None and difference.startswith(expected[what]), difference
