"""Results -> a workbook of crunch-xl's own sheets: a summary and one result sheet per scenario.

The sheets are built with openpyxl in a workbook of their own (writer.py grafts them into the
user's workbook). Every sheet carries crunch-xl's mark, the sheet-scoped defined name
``model.RESULT_SHEET_MARK``, by which the next run finds and replaces it whatever its name.
Styles come from styles.py, the table the template shares.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.page import PageMargins

from crunch_xl import words
from crunch_xl.errors import cell_ref
from crunch_xl.excel.styles import (
    BAD,
    BEST_OPTION_FONT,
    CENTRED,
    CENTRED_TOP,
    COMPOSITE_FILL,
    COMPOSITE_FONT,
    DARK_BLUE,
    FULL_CLASS_FONT,
    GOOD,
    GROUP_HEADER_FILL,
    GROUP_HEADER_FONT,
    HEADER_ALIGNMENT,
    HEADER_BORDER,
    HEADER_FILL,
    HEADER_FONT,
    INTEGER_FORMAT,
    LABEL_FONT,
    LEFT,
    LINK_ALIGNMENT,
    LINK_FONT,
    NEUTRAL,
    NOTE_FONT,
    ROW_HEIGHT_PT,
    SECONDS_FORMAT,
    SECTION_FONT,
    TITLE_FONT,
    TOP,
    TOTAL_BORDER,
    TOTAL_FONT,
    WRAP_TOP,
    fit_height,
    fit_to_page_width,
    font,
    lines_needed,
    solid,
)
from crunch_xl.model import RESULT_SHEET_MARK, Option, Report, Result, Scenario, Status, Suggestion

# --- sheet names -------------------------------------------------------------------------------

#: Excel refuses sheet names longer than this.
MAX_SHEET_NAME = 31
#: Characters Excel forbids in a sheet name.
FORBIDDEN_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
RESULT_SHEET_SUFFIX = " results"
SUMMARY_SHEET_NAME = "crunch-xl summary"
#: Marks a scenario name shortened to fit Excel's 31 characters.
ELLIPSIS = "…"
#: Cell A1 of each sheet: what a sheet is, whatever it has been renamed to.
SUMMARY_TITLE = "crunch-xl summary"
RESULT_TITLE = "{sheet}: class plan"

# --- status --------------------------------------------------------------------------------

#: Excel's own Good / Neutral / Bad cell colours (fill, font) for each status.
STATUS_COLOURS: dict[Status, tuple[str, str]] = {
    Status.SOLVED: GOOD,
    Status.TIMEOUT: NEUTRAL,
    Status.INFEASIBLE: BAD,
    Status.INVALID: BAD,
}
STATUS_LABELS: dict[Status, str] = {
    Status.SOLVED: "Solved",
    Status.TIMEOUT: "Time limit reached",
    Status.INFEASIBLE: "Impossible",
    Status.INVALID: "Invalid input",
}
SUMMARY_TAB_COLOUR = DARK_BLUE

# --- layout ------------------------------------------------------------------------------------

#: Width (Excel character units) of the numeric columns.
NUMBER_WIDTH = 12
#: Rows 1..HEADER_ROWS (title, status, verdict) stay visible and repeat on every printed page.
HEADER_ROWS = 3
#: An option's figures, as both the comparison table and the summary show them (_figures).
FIGURE_HEADERS = ("Composites", "Spare", "Largest", "Smallest", "Spread", "Classes")
#: Columns of the comparison table before the per-grade columns.
COMPARISON_HEADERS = ("Option", "Why", *FIGURE_HEADERS)
SUMMARY_HEADERS = (
    "Sheet",
    "Status",
    "Verdict",
    *FIGURE_HEADERS,
    "Covers estimates",
    "Seconds",
    "Result sheet",
)
#: Said on every result sheet: what is typed there is not kept.
REPLACED_NOTE = (
    "crunch-xl writes this sheet: the next run replaces it, so notes typed here are lost."
)
SUMMARY_HEADER_ROW = 5
CHART_HEIGHT_CM = 8.0


# --- the workbook ------------------------------------------------------------------------------


def build_results(report: Report, taken: Sequence[str]) -> bytes:
    """Return a workbook of the summary sheet and one result sheet per scenario, as bytes.

    Sheet names avoid `taken` (the user's sheets); every sheet carries crunch-xl's mark.
    """
    workbook = Workbook()
    default = workbook.active
    summary_name, result_names = sheet_names(report, taken)
    summary = workbook.create_sheet(summary_name)
    if default is not None:
        workbook.remove(default)
    _mark(summary)
    _write_summary(summary, report, result_names)
    for result, name in zip(report.results, result_names, strict=True):
        sheet = workbook.create_sheet(name)
        _mark(sheet)
        _write_result_sheet(sheet, result)
    workbook.active = summary
    summary.sheet_view.tabSelected = True
    packed = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        workbook.save(packed)
    return packed.getvalue()


def sheet_names(report: Report, taken: Sequence[str]) -> tuple[str, list[str]]:
    """Return the names of the summary sheet and of each result sheet, avoiding `taken`."""
    taken = list(taken)
    summary_name = unique_sheet_name(SUMMARY_SHEET_NAME, "", taken)
    taken.append(summary_name)
    result_names: list[str] = []
    for result in report.results:
        name = result_sheet_name(result.sheet, taken)
        taken.append(name)
        result_names.append(name)
    return summary_name, result_names


def result_sheet_name(scenario_sheet: str, taken: Iterable[str]) -> str:
    """Return the result sheet's name for a scenario sheet, e.g. ``Plan A results``.

    At most 31 characters, without the characters Excel forbids, not starting or ending with
    an apostrophe, and unique (case-insensitively) among `taken`.
    """
    stem = FORBIDDEN_IN_SHEET_NAME.sub("", scenario_sheet).strip(" '")
    return unique_sheet_name(stem or "Scenario", RESULT_SHEET_SUFFIX, taken)


def unique_sheet_name(stem: str, suffix: str, taken: Iterable[str]) -> str:
    """Return `stem` + `suffix`, shortened to fit and numbered " (2)", " (3)"... if taken."""
    used = {name.casefold() for name in taken}
    number = 1
    while True:
        tail = suffix if number == 1 else f"{suffix} ({number})"
        head = stem
        if len(stem) + len(tail) > MAX_SHEET_NAME:
            # Shorten the stem, not the suffix, so the name still says what the sheet is,
            # and show that it was shortened ("18 teachers, classes o… results").
            head = stem[: MAX_SHEET_NAME - len(tail) - len(ELLIPSIS)].rstrip(" '") + ELLIPSIS
        name = (head + tail).strip(" '")
        if name.casefold() not in used:
            return name
        number += 1


def is_result_sheet(sheet: Any) -> bool:
    """Return whether an openpyxl sheet was written by crunch-xl (it carries the mark)."""
    names = getattr(sheet, "defined_names", None)
    return names is not None and RESULT_SHEET_MARK in names


# --- words on the sheets -----------------------------------------------------------------------


def _room(option: Option, label: str) -> str:
    """Return a grade's headroom as "−3 / +5" (fewer / more children the classes absorb)."""
    room = option.headroom.get(label)
    return "" if room is None else f"−{room.fewer} / +{room.more}"


def _estimates_line(scenario: Scenario) -> str:
    """Return the estimates of a scenario in one line: "K 58–66, 1 60–64"."""
    return ", ".join(
        f"{words.grade(g.label)} {g.estimates[0]}–{g.estimates[1]}"
        for g in scenario.grades
        if g.has_estimates
    )


def _figures(option: Option) -> tuple[int, ...]:
    """Return an option's figures in the order of FIGURE_HEADERS."""
    return (
        option.composites,
        option.spare,
        option.largest,
        option.smallest,
        option.spread,
        len(option.classes),
    )


def _why(option: Option) -> str:
    """Return why an option is offered, saying so when it was not proven."""
    reason = option.reason or ("Best" if option.rank == 1 else "Alternative")
    return reason if option.proven else f"{reason} (not proven)"


def _scenario_facts(scenario: Scenario) -> str:
    """Return one line describing the scenario the plan was made for."""
    teachers = words.count(scenario.teachers, "teacher", zero="no")
    every = (
        "every teacher has a class"
        if scenario.use_every_teacher
        else f"up to {words.count(scenario.teachers, 'class', zero='no')}"
    )
    grades = words.count(len(scenario.grades), "grade", zero="no")
    composites = ", ".join(c.name for c in scenario.composites) or "none"
    return (
        f"{scenario.children} children in {grades}; {teachers} ({every}); "
        f"composites allowed: {composites}; "
        f"fewest from one grade in a composite: {scenario.composite_minimum}; "
        f"priority: {scenario.priority.value.lower()}"
    )


# --- sheet helpers -----------------------------------------------------------------------------


def _mark(sheet: Any) -> None:
    """Give a sheet crunch-xl's mark: a hidden sheet-scoped name pointing at its A1."""
    sheet.defined_names.add(
        DefinedName(RESULT_SHEET_MARK, attr_text=cell_ref(sheet.title, "$A$1"), hidden=True)
    )


def _set_widths(sheet: Any, widths: Sequence[float]) -> None:
    """Set the widths of columns A, B, … in Excel character units."""
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _text_row(
    sheet: Any,
    row: int,
    first: int,
    last: int,
    text: str,
    widths: Sequence[float],
    text_font: Font | None = None,
) -> None:
    """Write wrapped text merged over columns first..last, tall enough to show it all."""
    cell = sheet.cell(row=row, column=first, value=text)
    cell.alignment = WRAP_TOP
    if text_font is not None:
        cell.font = text_font
    if last > first:
        sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
    # Excel never grows merged rows to fit, so set the height from the text's length.
    fit_height(sheet, row, lines_needed(text, sum(widths[first - 1 : last])))


def _header_row(sheet: Any, row: int, first: int, headers: Sequence[str]) -> None:
    """Write a table header row: white bold text on dark blue."""
    for offset, header in enumerate(headers):
        cell = sheet.cell(row=row, column=first + offset, value=header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = HEADER_ALIGNMENT
        cell.border = HEADER_BORDER


def _group_header(
    sheet: Any, row: int, first: int, last: int, text: str, widths: Sequence[float]
) -> None:
    """Write a label over a group of columns (e.g. the grade columns)."""
    if last < first:
        return
    cell = sheet.cell(row=row, column=first, value=text)
    cell.font = GROUP_HEADER_FONT
    cell.alignment = HEADER_ALIGNMENT
    fit_height(sheet, row, lines_needed(text, sum(widths[first - 1 : last]) - 1))
    for column in range(first, last + 1):
        sheet.cell(row=row, column=column).fill = GROUP_HEADER_FILL
    if last > first:
        sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)


def _number(sheet: Any, row: int, column: int, value: int | float | None, fmt: str) -> Any:
    """Write a number with its format (nothing for None) and return the cell."""
    cell = sheet.cell(row=row, column=column, value=value)
    cell.number_format = fmt
    return cell


def _page_setup(sheet: Any, title_rows: str) -> None:
    """Make a sheet print-ready: landscape, one page wide, repeated titles, named pages."""
    fit_to_page_width(sheet)
    sheet.print_title_rows = title_rows
    sheet.print_options.horizontalCentered = True
    sheet.page_margins = PageMargins(left=0.4, right=0.4, top=0.7, bottom=0.7, header=0.3)
    sheet.oddHeader.center.text = "&A"  # the sheet's name
    sheet.oddFooter.left.text = "&F"  # the workbook's name
    sheet.oddFooter.right.text = "Page &P of &N"


# --- result sheet ------------------------------------------------------------------------------


def _result_widths(result: Result, grades: Sequence[str], columns: int) -> list[float]:
    """Return the column widths of a result sheet."""
    names = [c.name for option in result.options for c in option.classes]
    first = max([len("All classes"), len("Verdict"), len("Seconds"), *map(len, names)]) + 3
    reasons = [_why(option) for option in result.options]
    # Suggestions are written over columns A and B: give them room for a sentence.
    texts = [40] if result.suggestions else []
    second = min(40, max([20, *texts, *(len(reason) + 2 for reason in reasons)]))
    number = min(24, max([NUMBER_WIDTH, *(len(label) + 3 for label in grades)]))
    return [float(min(30, first)), float(second)] + [float(number)] * (columns - 2)


def _write_result_sheet(sheet: Any, result: Result) -> None:
    """Fill a result sheet: header block, messages, options compared, chart and class lists."""
    grades = result.grade_labels()
    columns = max(len(COMPARISON_HEADERS) + 2 * len(grades) + 1, 3 + len(grades), 6)
    widths = _result_widths(result, grades, columns)
    _set_widths(sheet, widths)
    fill, colour = STATUS_COLOURS[result.status]
    sheet.sheet_properties.tabColor = colour

    title = RESULT_TITLE.format(sheet=result.sheet)
    sheet.cell(row=1, column=1, value=title).font = TITLE_FONT
    sheet.row_dimensions[1].height = 22
    sheet.cell(row=2, column=1, value="Status").font = LABEL_FONT
    status = sheet.cell(row=2, column=2, value=STATUS_LABELS[result.status])
    status.fill = solid(fill)
    status.font = font(bold=True, color=colour)
    sheet.cell(row=2, column=3, value="Seconds").font = LABEL_FONT
    _number(sheet, 2, 4, round(result.seconds, 2), SECONDS_FORMAT).alignment = LEFT
    sheet.cell(row=3, column=1, value="Verdict").font = LABEL_FONT
    sheet.cell(row=3, column=1).alignment = TOP
    _text_row(sheet, 3, 2, columns, words.verdict(result), widths)
    row = HEADER_ROWS + 1
    if result.scenario is not None:
        sheet.cell(row=row, column=1, value="Scenario").font = LABEL_FONT
        sheet.cell(row=row, column=1).alignment = TOP
        _text_row(sheet, row, 2, columns, _scenario_facts(result.scenario), widths, NOTE_FONT)
        row += 1
        if result.scenario.has_estimates:
            sheet.cell(row=row, column=1, value="Estimates").font = LABEL_FONT
            sheet.cell(row=row, column=1).alignment = TOP
            line = _estimates_line(result.scenario)
            if result.estimates_message:
                line = f"{line}. {result.estimates_message}"
            _text_row(sheet, row, 2, columns, line, widths, NOTE_FONT)
            row += 1
    _text_row(sheet, row, 1, columns, REPLACED_NOTE, widths, NOTE_FONT)
    row += 2

    if result.warnings:
        row = _write_lines(sheet, row, "Worth a look", result.warnings, columns, widths)
    if result.status is Status.INVALID and result.message:
        problems = [str(problem) for problem in result.problems] or [result.message]
        row = _write_lines(sheet, row, "Cells to fix", problems, columns, widths)
    elif result.status in (Status.SOLVED, Status.TIMEOUT) and result.message:
        row = _write_lines(sheet, row, "Note", [result.message], columns, widths)
    if result.status is Status.INFEASIBLE and result.suggestions:
        row = _write_suggestions(sheet, row, result.suggestions, widths)

    if result.options:
        row = _write_comparison(sheet, row, result.options, grades, widths)
        chart_row = row
        row += math.ceil(CHART_HEIGHT_CM / 2.54 * 72 / ROW_HEIGHT_PT) + 2
        first_list_row = row
        for option in result.options:
            row = _write_class_list(sheet, row, option, grades, widths)
        _add_chart(sheet, chart_row, first_list_row, result.options[0], grades, widths)

    sheet.freeze_panes = f"A{HEADER_ROWS + 1}"
    _page_setup(sheet, f"1:{HEADER_ROWS}")


def _write_lines(
    sheet: Any, row: int, title: str, lines: Sequence[str], columns: int, widths: Sequence[float]
) -> int:
    """Write a titled list of wrapped lines; return the next free row after a gap."""
    sheet.cell(row=row, column=1, value=title).font = SECTION_FONT
    row += 1
    for line in lines:
        _text_row(sheet, row, 1, columns, f"• {line}", widths)
        row += 1
    return row + 1


def _write_suggestions(
    sheet: Any, row: int, suggestions: Sequence[Suggestion], widths: Sequence[float]
) -> int:
    """Write the changes that would make an impossible scenario possible; return next row."""
    sheet.cell(row=row, column=1, value="Changes that would make it possible").font = SECTION_FONT
    row += 1
    _header_row(sheet, row, 1, ("Change", "", "Composites"))
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
    row += 1
    for suggestion in suggestions:
        _text_row(sheet, row, 1, 2, suggestion.text, widths)
        _number(sheet, row, 3, suggestion.composites, INTEGER_FORMAT).alignment = TOP
        row += 1
    note = "Composites: the fewest composite classes any plan needs after that change."
    sheet.cell(row=row, column=1, value=note).font = NOTE_FONT
    return row + 2


def _write_comparison(
    sheet: Any,
    row: int,
    options: Sequence[Option],
    grades: Sequence[str],
    widths: Sequence[float],
) -> int:
    """Write the table comparing the options; return the next free row after a gap."""
    sheet.cell(row=row, column=1, value="Options compared").font = SECTION_FONT
    row += 1
    first_grade = len(COMPARISON_HEADERS) + 1
    first_room = first_grade + len(grades)
    estimates = any(option.covers_estimates is not None for option in options)
    last = first_room + len(grades) - 1 + (1 if estimates else 0)
    _group_header(
        sheet, row, first_grade, first_grade + len(grades) - 1, "Classes per grade", widths
    )
    _group_header(
        sheet, row, first_room, first_room + len(grades) - 1, "Room: fewer / more children", widths
    )
    row += 1
    covers = ("Covers estimates",) if estimates else ()
    _header_row(sheet, row, 1, (*COMPARISON_HEADERS, *grades, *grades, *covers))
    row += 1
    for option in options:
        values = (*_figures(option), *(option.classes_of(label) for label in grades))
        _number(sheet, row, 1, option.rank, INTEGER_FORMAT).alignment = CENTRED
        sheet.cell(row=row, column=2, value=_why(option)).alignment = WRAP_TOP
        fit_height(sheet, row, lines_needed(_why(option), widths[1]))
        for offset, value in enumerate(values):
            _number(sheet, row, 3 + offset, value, INTEGER_FORMAT)
        for offset, label in enumerate(grades):
            sheet.cell(
                row=row, column=first_room + offset, value=_room(option, label)
            ).alignment = CENTRED
        if estimates:
            text = "Yes" if option.covers_estimates else "No"
            if option.best_covering:
                text = "Yes, best"
            sheet.cell(row=row, column=last, value=text).alignment = CENTRED
        if option.rank == 1:
            for column in range(1, last + 1):
                sheet.cell(row=row, column=column).font = BEST_OPTION_FONT
        row += 1
    note = (
        "Spare: places left in the fullest class, each class against its own largest size. "
        "Room: how many fewer or more children of a grade these classes can take, every "
        "other grade as it is."
    )
    _text_row(sheet, row, 1, last, note, widths, NOTE_FONT)
    return row + 2


def _write_class_list(
    sheet: Any, row: int, option: Option, grades: Sequence[str], widths: Sequence[float]
) -> int:
    """Write one option's classes, composites marked, with a totals row; return next row."""
    title = f"Option {option.rank}: {_why(option)} ({words.describe(option)})"
    sheet.cell(row=row, column=1, value=title).font = SECTION_FONT
    row += 1
    total_column = 3 + len(grades)
    _group_header(sheet, row, 3, total_column - 1, "Children per grade", widths)
    row += 1
    _header_row(sheet, row, 1, ("Class", "Note", *grades, "Total"))
    row += 1
    for school_class in option.classes:
        sheet.cell(row=row, column=1, value=school_class.name)
        for offset, label in enumerate(grades):
            count = school_class.counts.get(label, 0)
            # Blank, not 0, so the grades a class does have stand out.
            _number(sheet, row, 3 + offset, count or None, INTEGER_FORMAT)
        total = _number(sheet, row, total_column, school_class.size, INTEGER_FORMAT)
        total.font = FULL_CLASS_FONT if school_class.is_full else TOTAL_FONT
        notes = [word for word, on in (("composite", school_class.is_composite),
                                       ("full", school_class.is_full)) if on]  # fmt: skip
        if notes:
            note = sheet.cell(row=row, column=2, value=", ".join(notes))
            note.font = COMPOSITE_FONT if school_class.is_composite else FULL_CLASS_FONT
        if school_class.is_composite:
            for column in range(1, total_column + 1):
                sheet.cell(row=row, column=column).fill = COMPOSITE_FILL
        row += 1
    sheet.cell(row=row, column=1, value="All classes").font = TOTAL_FONT
    for offset, label in enumerate(grades):
        children = sum(c.counts.get(label, 0) for c in option.classes)
        _number(sheet, row, 3 + offset, children, INTEGER_FORMAT)
    _number(sheet, row, total_column, sum(c.size for c in option.classes), INTEGER_FORMAT)
    for column in range(1, total_column + 1):
        cell = sheet.cell(row=row, column=column)
        cell.font = TOTAL_FONT
        cell.border = TOTAL_BORDER
    return row + 2


def _add_chart(
    sheet: Any,
    anchor_row: int,
    list_row: int,
    option: Option,
    grades: Sequence[str],
    widths: Sequence[float],
) -> None:
    """Add a stacked column chart of option 1's class sizes by grade (its class list's data)."""
    header_row = list_row + 2
    first_row, last_row = header_row + 1, header_row + len(option.classes)
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.gapWidth = 60
    chart.title = "Option 1: children per class, by grade"
    chart.y_axis.title = "Children"
    chart.y_axis.scaling.min = 0
    chart.y_axis.numFmt = INTEGER_FORMAT
    # openpyxl 3.1 leaves axes "deleted" unless told otherwise; Excel then hides them.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend.position = "b"
    data = Reference(
        sheet, min_col=3, max_col=2 + len(grades), min_row=header_row, max_row=last_row
    )
    chart.add_data(data, titles_from_data=True)
    # Class names are text: a string reference, or Excel numbers the columns 1, 2, 3, ...
    names = Reference(sheet, min_col=1, min_row=first_row, max_row=last_row)
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=str(names)))
    # As wide as the tables above it (7 px per character plus padding, at 96 dpi).
    pixels = sum(width * 7 + 5 for width in widths)
    chart.width = min(32.0, max(16.0, pixels / 96 * 2.54))
    chart.height = CHART_HEIGHT_CM
    sheet.add_chart(chart, f"A{anchor_row}")


# --- summary sheet -----------------------------------------------------------------------------


def _write_summary(sheet: Any, report: Report, result_names: Sequence[str]) -> None:
    """Fill the summary sheet: one row per scenario, then the notes and what would be lost."""
    sheet_names = [result.sheet for result in report.results]
    widths = [
        min(32, max([12, *(len(name) + 3 for name in sheet_names)])),
        20,
        60,
        *[NUMBER_WIDTH] * 8,
        min(34, max([16, *(len(name) + 3 for name in result_names)])),
    ]
    _set_widths(sheet, widths)
    sheet.sheet_properties.tabColor = SUMMARY_TAB_COLOUR
    columns = len(SUMMARY_HEADERS)

    sheet.cell(row=1, column=1, value=SUMMARY_TITLE).font = TITLE_FONT
    sheet.row_dimensions[1].height = 22
    sheet.cell(row=2, column=1, value="Workbook").font = LABEL_FONT
    sheet.cell(row=2, column=2, value=report.file.name)
    explanation = "One row per scenario sheet; the figures are those of its best plan (option 1)."
    sheet.cell(row=3, column=1, value=explanation).font = NOTE_FONT
    _header_row(sheet, SUMMARY_HEADER_ROW, 1, SUMMARY_HEADERS)

    row = SUMMARY_HEADER_ROW + 1
    if not report.results:
        sheet.cell(row=row, column=1, value="No scenario sheets were found.").font = NOTE_FONT
        row += 1
    for result, name in zip(report.results, result_names, strict=True):
        best = result.options[0] if result.options else None
        fill, colour = STATUS_COLOURS[result.status]
        sheet.cell(row=row, column=1, value=result.sheet).alignment = WRAP_TOP
        status = sheet.cell(row=row, column=2, value=STATUS_LABELS[result.status])
        status.fill = solid(fill)
        status.font = font(bold=True, color=colour)
        status.alignment = TOP
        _text_row(sheet, row, 3, 3, words.verdict(result), widths)
        figures = _figures(best) if best is not None else (None,) * len(FIGURE_HEADERS)
        for offset, value in enumerate(figures):
            _number(sheet, row, 4 + offset, value, INTEGER_FORMAT).alignment = WRAP_TOP
        if best is not None and best.covers_estimates is not None:
            covers = sheet.cell(row=row, column=10, value="Yes" if best.covers_estimates else "No")
            covers.alignment = CENTRED_TOP
        _number(sheet, row, 11, round(result.seconds, 2), SECONDS_FORMAT).alignment = WRAP_TOP
        link = sheet.cell(row=row, column=12, value=name)
        link.hyperlink = Hyperlink(ref=link.coordinate, location=cell_ref(name, "A1"), display=name)
        link.font = LINK_FONT
        link.alignment = LINK_ALIGNMENT
        for column, text in ((1, result.sheet), (12, name)):
            fit_height(sheet, row, lines_needed(text, widths[column - 1] - 2))
        row += 1
    row += 1
    if report.notes:
        row = _write_lines(sheet, row, "Notes", report.notes, columns, widths)
    if report.lost:
        title = "What writing into the original would have lost"
        row = _write_lines(sheet, row, title, report.lost, columns, widths)

    sheet.freeze_panes = f"A{SUMMARY_HEADER_ROW + 1}"
    _page_setup(sheet, f"{SUMMARY_HEADER_ROW}:{SUMMARY_HEADER_ROW}")
