"""The blank workbook an administrator fills in: instructions, an example and a blank scenario.

The labels and headers here are the contract of SPEC section 2; reader.py matches the same
constants, so the template and the reader cannot drift apart.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from crunch_xl.excel.styles import (
    FIRST_HEADER_ALIGNMENT,
    HEADER_ALIGNMENT,
    HEADER_FILL,
    HEADER_FONT,
    INPUT_BORDER,
    INPUT_FILL,
    INPUT_HEADER_BORDER,
    LABEL_FONT,
    NOTE_FONT,
    TEXT_FORMAT,
    TITLE_FONT,
    WRAP_TOP,
    fit_height,
    fit_to_page_width,
    lines_needed,
)
from crunch_xl.files import write_atomically
from crunch_xl.model import Priority

# Settings labels (column A) and table headers, exactly as SPEC section 2 spells them.
TEACHERS = "Teachers"
USE_EVERY_TEACHER = "Use every teacher"
COMPOSITE_MINIMUM = "Fewest children from one grade in a composite"
ALTERNATIVES = "Alternatives"
PRIORITY = "Priority"
SETTINGS = (TEACHERS, USE_EVERY_TEACHER, COMPOSITE_MINIMUM, ALTERNATIVES, PRIORITY)

GRADE = "Grade"
CHILDREN = "Children"
SMALLEST = "Smallest class"
LARGEST = "Largest class"
FEWEST = "Fewest classes"
MOST = "Most classes"
LOW_ESTIMATE = "Low estimate"
HIGH_ESTIMATE = "High estimate"
COMPOSITE = "Composite"
#: The estimates come last: workbooks made before them (six columns) read unchanged.
GRADE_COLUMNS = (GRADE, CHILDREN, SMALLEST, LARGEST, FEWEST, MOST, LOW_ESTIMATE, HIGH_ESTIMATE)
COMPOSITE_COLUMNS = (COMPOSITE, SMALLEST, LARGEST, FEWEST, MOST)

MAX_ALTERNATIVES = 20

EXAMPLE_SHEET = "Example"
BLANK_SHEET = "Blank scenario"
INSTRUCTIONS_SHEET = "Instructions"

# Where things sit on a fresh scenario sheet (users may insert rows; the reader finds labels).
FIRST_SETTING_ROW = 4
GRADE_HEADER_ROW = FIRST_SETTING_ROW + len(SETTINGS) + 2
GRADE_ROWS = 10
COMPOSITE_ROWS = 8

HINTS = {
    TEACHERS: "How many classes can run: one teacher per class.",
    USE_EVERY_TEACHER: "Yes: exactly one class per teacher. No: at most that many classes.",
    COMPOSITE_MINIMUM: "So no child is alone among another grade's children. Blank: 1.",
    ALTERNATIVES: f"How many different plans to show, 1 to {MAX_ALTERNATIVES}. Blank: 3.",
    PRIORITY: "Fewest composites, Smallest classes or Even classes. Blank: Fewest composites.",
}
GRADE_TABLE_HINT = (
    "One row per grade, in teaching order; the table ends at the first empty Grade cell. "
    "Fewest/Most classes limit a grade's straight classes (blank: no limit). Low/High "
    "estimate: the fewest and most children the grade might have (blank: the Children number)."
)
COMPOSITE_TABLE_HINT = (
    "Grades joined by / (K/1, 3/4/5). Blank sizes come from the grades. No rows: no composites."
)

#: Grade, Children, Smallest class, Largest class[, Fewest, Most, Low estimate, High estimate].
#: Enrolments move until term starts, so the example gives two grades' ranges: its best plan
#: holds Kindergarten's, not Year 1's, so the best plan that holds both is shown beside it.
EXAMPLE_GRADES: tuple[tuple[str | int | None, ...], ...] = (
    ("K", 52, 14, 22, None, None, 48, 58),
    ("1", 58, 16, 24, None, None, 56, 62),
    ("2", 61, 16, 24),
    ("3", 55, 18, 28),
    ("4", 63, 18, 28),
    ("5", 57, 18, 30),
    ("6", 60, 18, 30),
)
EXAMPLE_COMPOSITES: tuple[tuple[str], ...] = (
    ("K/1",),
    ("1/2",),
    ("2/3",),
    ("3/4",),
    ("4/5",),
    ("5/6",),
)

SCENARIO_WIDTHS = {"A": 30, "B": 18, "C": 15, "D": 15, "E": 15, "F": 15, "G": 15, "H": 15}
INSTRUCTION_WIDTHS = {"A": 3, "B": 46, "C": 90}
#: A scenario sheet's last column: the Grades table's widest.
_LAST_COLUMN = get_column_letter(len(GRADE_COLUMNS))
#: The instructions' prose wraps sooner than the result sheets' short texts.
_INSTRUCTION_CHARACTERS_PER_WIDTH = 0.95
TAB_COLOURS = {INSTRUCTIONS_SHEET: "808080", EXAMPLE_SHEET: "70AD47", BLANK_SHEET: "FFC000"}

# Fixed so that two runs write the same document properties (openpyxl stamps "modified").
CREATED = datetime.datetime(2024, 1, 1)


@dataclass(frozen=True)
class SheetLayout:
    """Where a freshly filled scenario sheet put its settings and tables (1-based rows)."""

    settings: dict[str, int]
    grade_header_row: int
    composite_header_row: int

    def setting_cell(self, label: str) -> str:
        """Return the value cell of a setting, e.g. ``B4`` for Teachers."""
        return f"B{self.settings[label]}"

    def grade_cell(self, index: int, header: str) -> str:
        """Return the cell of grade row ``index`` (0-based) under ``header``."""
        column = get_column_letter(GRADE_COLUMNS.index(header) + 1)
        return f"{column}{self.grade_header_row + 1 + index}"

    def composite_cell(self, index: int, header: str) -> str:
        """Return the cell of composite row ``index`` (0-based) under ``header``."""
        column = get_column_letter(COMPOSITE_COLUMNS.index(header) + 1)
        return f"{column}{self.composite_header_row + 1 + index}"


def write_template(path: Path) -> None:
    """Return nothing; write the template workbook (instructions, example, blank) to ``path``.

    ``path`` is replaced in one step (files.write_atomically); OSError when it cannot be.
    """
    workbook = Workbook()
    instructions = workbook.active
    assert instructions is not None  # a new Workbook always has one sheet
    instructions.title = INSTRUCTIONS_SHEET
    fill_instructions_sheet(instructions)
    fill_scenario_sheet(
        workbook.create_sheet(EXAMPLE_SHEET),
        title="Example: a K-6 school of 406 children with 17 teachers",
        teachers=17,
        use_every_teacher="Yes",
        composite_minimum=5,
        alternatives=3,
        priority=Priority.FEWEST_COMPOSITES,
        grades=EXAMPLE_GRADES,
        composites=EXAMPLE_COMPOSITES,
    )
    fill_scenario_sheet(workbook.create_sheet(BLANK_SHEET))
    for sheet in workbook.worksheets:
        sheet.sheet_properties.tabColor = TAB_COLOURS[sheet.title]
    workbook.active = 1  # open on the example: it explains itself faster than the prose
    workbook.properties.creator = "crunch-xl"
    workbook.properties.title = "crunch-xl class plan"
    workbook.properties.created = CREATED
    packed = io.BytesIO()
    workbook.save(packed)
    write_atomically(path, packed.getvalue())


def fill_scenario_sheet(
    ws: Worksheet,
    *,
    title: str = "Class plan scenario",
    teachers: object = None,
    use_every_teacher: object = None,
    composite_minimum: object = None,
    alternatives: object = None,
    priority: object = None,
    grades: Sequence[Sequence[object]] = (),
    composites: Sequence[Sequence[object]] = (),
) -> SheetLayout:
    """Return the layout of ``ws`` after writing a scenario sheet: labels, formats, values.

    Values are written as given (None leaves a cell blank), so tests can put any junk in any
    cell; only a bool for Use every teacher becomes Yes/No and a Priority becomes its words.
    A grades row is (Grade, Children, Smallest class, Largest class[, Fewest, Most[, Low
    estimate, High estimate]]); a composites row is (Composite[, Smallest class, Largest class,
    Fewest, Most]).
    """
    if isinstance(use_every_teacher, bool):
        use_every_teacher = "Yes" if use_every_teacher else "No"
    values = {
        TEACHERS: teachers,
        USE_EVERY_TEACHER: use_every_teacher,
        COMPOSITE_MINIMUM: composite_minimum,
        ALTERNATIVES: alternatives,
        PRIORITY: priority,
    }
    ws["A1"] = title
    ws["A1"].font = TITLE_FONT
    ws.merge_cells(f"A1:{_LAST_COLUMN}1")
    ws["A2"] = (
        "Fill in the shaded cells. Copy this sheet (right-click its tab, Move or Copy) for "
        "each scenario to compare; crunch-xl adds its results as new sheets."
    )
    ws["A2"].font = NOTE_FONT
    ws["A2"].alignment = WRAP_TOP
    ws.merge_cells(f"A2:{_LAST_COLUMN}2")
    ws.row_dimensions[2].height = 30

    settings: dict[str, int] = {}
    for offset, label in enumerate(SETTINGS):
        row = FIRST_SETTING_ROW + offset
        settings[label] = row
        ws.cell(row, 1, label).font = LABEL_FONT
        ws.cell(row, 1).alignment = WRAP_TOP
        if len(label) > SCENARIO_WIDTHS["A"]:
            ws.row_dimensions[row].height = 30
        _input_cell(ws, row, 2, _plain(values[label]))
        ws.cell(row, 3, HINTS[label]).font = NOTE_FONT

    grade_rows = max(GRADE_ROWS, len(grades))
    _table(ws, GRADE_HEADER_ROW, GRADE_COLUMNS, GRADE_TABLE_HINT, grades, grade_rows)
    composite_header_row = GRADE_HEADER_ROW + grade_rows + 3
    composite_rows = max(COMPOSITE_ROWS, len(composites))
    _table(
        ws,
        composite_header_row,
        COMPOSITE_COLUMNS,
        COMPOSITE_TABLE_HINT,
        composites,
        composite_rows,
    )

    _add_validations(
        ws, settings, GRADE_HEADER_ROW, grade_rows, composite_header_row, composite_rows
    )
    for letter, width in SCENARIO_WIDTHS.items():
        ws.column_dimensions[letter].width = width
    fit_to_page_width(ws)
    return SheetLayout(settings, GRADE_HEADER_ROW, composite_header_row)


def fill_instructions_sheet(ws: Worksheet) -> None:
    """Return nothing; write the instructions: how to fill a scenario and what comes back.

    Everything sits in columns B and C so that column A never carries a scenario label (a
    sheet with ``Teachers`` in column A would be taken for a broken scenario).
    """
    row = 1
    ws.cell(row, 2, "crunch-xl: plan next year's classes").font = TITLE_FONT
    row += 2
    for kind, first, second in _INSTRUCTIONS:
        if kind == "heading":
            row += 1
            ws.cell(row, 2, first).font = HEADER_FONT
            ws.cell(row, 2).fill = HEADER_FILL
            ws.cell(row, 3).fill = HEADER_FILL
        elif kind == "step":
            ws.cell(row, 2, first).alignment = WRAP_TOP
            ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=3)
            _fit_height(ws, row, first, INSTRUCTION_WIDTHS["B"] + INSTRUCTION_WIDTHS["C"])
        else:
            ws.cell(row, 2, first).font = LABEL_FONT
            ws.cell(row, 2).alignment = WRAP_TOP
            ws.cell(row, 3, second).alignment = WRAP_TOP
            _fit_height(ws, row, second, INSTRUCTION_WIDTHS["C"])
        row += 1
    for letter, width in INSTRUCTION_WIDTHS.items():
        ws.column_dimensions[letter].width = width
    ws.sheet_view.showGridLines = False
    fit_to_page_width(ws)


_INSTRUCTIONS: tuple[tuple[str, str, str], ...] = (
    ("heading", "How to use this workbook", ""),
    (
        "step",
        "1. Copy the sheet 'Blank scenario' (right-click its tab, Move or Copy, "
        "Create a copy) and give the copy a name, e.g. '18 teachers'. Make one sheet per "
        "scenario you want to compare: more or fewer teachers, other composites, other "
        "class sizes.",
        "",
    ),
    ("step", "2. Fill in the shaded cells. The sheet 'Example' shows a filled scenario.", ""),
    (
        "step",
        "3. Save the workbook and run:  crunch-xl thisfile.xlsx  (or drop it into the "
        "watched folder).",
        "",
    ),
    (
        "step",
        "4. Open the workbook again: each scenario has a result sheet, and a summary "
        "sheet compares them side by side.",
        "",
    ),
    ("heading", "Settings (label in column A, value in column B)", ""),
    ("item", TEACHERS, "Required. A whole number of at least 1: one teacher per class."),
    (
        "item",
        USE_EVERY_TEACHER,
        "Yes: exactly as many classes as teachers. No: at most that "
        "many classes (fewer is fine). Blank means Yes.",
    ),
    (
        "item",
        COMPOSITE_MINIMUM,
        "A whole number of at least 1: each grade in a composite "
        "class has at least this many children, so nobody is a lonely first-grader among "
        "second-graders. Blank means 1.",
    ),
    (
        "item",
        ALTERNATIVES,
        f"How many different plans to show, 1 to {MAX_ALTERNATIVES}. "
        "Each has a different set of classes. Blank means 3.",
    ),
    (
        "item",
        PRIORITY,
        "How plans are ranked. Fewest composites (blank): fewer composite "
        "classes first, then more spare places in the fullest class (each class measured "
        "against its own largest size). Smallest classes: more spare places first, then fewer "
        "composites. Even classes: classes as close in size as possible.",
    ),
    ("heading", "Grades table (header row: Grade | Children | ...)", ""),
    (
        "item",
        GRADE,
        "The grade's name as you write it: K, Prep, 1, Year 2 ... One row per "
        "grade in teaching order; never use / in a name. The table ends at the first empty "
        "Grade cell.",
    ),
    ("item", CHILDREN, "How many children will be in that grade (0 is allowed)."),
    (
        "item",
        f"{SMALLEST} / {LARGEST}",
        "The smallest and largest class allowed for a class of only that grade.",
    ),
    (
        "item",
        f"{FEWEST} / {MOST}",
        "Optional: the fewest and most classes of only that grade. Leave blank for no limit.",
    ),
    (
        "item",
        f"{LOW_ESTIMATE} / {HIGH_ESTIMATE}",
        "Optional, for a number that may still move (enrolments often do until term "
        "starts): the fewest and the most children the grade might have next year. A blank "
        "estimate means the Children number; the low estimate is at most the Children number "
        "and the high estimate at least. crunch-xl plans for the Children numbers as usual, "
        "says of every option whether its classes can take any mix of enrolments within the "
        "estimates, and adds the best plan that can.",
    ),
    ("heading", "Composites table (header row: Composite | Smallest class | ...)", ""),
    (
        "item",
        COMPOSITE,
        "A composite class you allow: its grades joined by /, e.g. K/1 or "
        "3/4/5. A composite row allows any number of such classes (0 or more). No rows: no "
        "composite classes.",
    ),
    (
        "item",
        f"{SMALLEST} / {LARGEST}",
        "Optional size limits for that composite. Blank: "
        "the largest of its grades' smallest sizes and the smallest of their largest sizes.",
    ),
    ("item", f"{FEWEST} / {MOST}", "Optional: the fewest and most classes of that composite."),
    ("heading", "What crunch-xl writes back", ""),
    (
        "item",
        "Result sheets",
        "One per scenario: whether a plan exists, a comparison of the "
        "options (composites, spare places, largest and smallest class, spread), how many "
        "fewer or more children of each grade each option's classes could take (e.g. −3 / +5), "
        "with estimates which options take them all, each option's class list with composites "
        "and full classes marked, and a chart of class sizes. The next run replaces them.",
    ),
    ("item", "Summary sheet", "The scenarios side by side."),
    (
        "item",
        "Impossible scenarios",
        "Say why in plain words and the smallest change that "
        "would make them work (one more teacher, a larger class, another composite ...).",
    ),
    (
        "item",
        "Mistakes",
        "A wrong cell is named with what belongs there (e.g. 'Plan A'!B12: "
        "expected a whole number of at least 1); the other scenarios are still planned.",
    ),
    (
        "item",
        "Your sheets",
        "Never changed. Running again replaces crunch-xl's own sheets. "
        "Hidden sheets and sheets without a Teachers label and Grade table are left alone.",
    ),
)


def _fit_height(ws: Worksheet, row: int, text: str, width: float) -> None:
    """Return nothing; make a wrapped row tall enough for ``text`` in a column ``width`` wide."""
    fit_height(ws, row, lines_needed(text, width, _INSTRUCTION_CHARACTERS_PER_WIDTH))


def _plain(value: object) -> object:
    """Return the value as a cell can hold it (an enum becomes its words)."""
    return value.value if isinstance(value, Enum) else value


def _input_cell(ws: Worksheet, row: int, column: int, value: object) -> Cell:
    """Return the cell after marking it as an input (shade + border) and writing ``value``."""
    cell = ws.cell(row, column)
    if value is not None:
        cell.value = value
    cell.fill = INPUT_FILL
    cell.border = INPUT_BORDER
    return cell


def _table(
    ws: Worksheet,
    header_row: int,
    headers: Sequence[str],
    hint: str,
    rows: Sequence[Sequence[object]],
    input_rows: int,
) -> None:
    """Return nothing; write a table: its hint above, header row, then shaded input rows.

    The hint sits above the header, never below the table: a non-empty cell right under the
    last input row would be read as one more row of the table.
    """
    ws.cell(header_row - 1, 1, hint).font = NOTE_FONT
    ws.cell(header_row - 1, 1).alignment = WRAP_TOP
    ws.merge_cells(f"A{header_row - 1}:{_LAST_COLUMN}{header_row - 1}")
    ws.row_dimensions[header_row - 1].height = 30
    for column, text in enumerate(headers, start=1):
        cell = ws.cell(header_row, column, text)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.border = INPUT_HEADER_BORDER
        cell.alignment = HEADER_ALIGNMENT if column > 1 else FIRST_HEADER_ALIGNMENT
    for index in range(input_rows):
        given = list(rows[index]) if index < len(rows) else []
        for column in range(1, len(headers) + 1):
            value = given[column - 1] if column <= len(given) else None
            cell = _input_cell(ws, header_row + 1 + index, column, _plain(value))
            if column == 1:
                cell.number_format = TEXT_FORMAT


def _add_validations(
    ws: Worksheet,
    settings: dict[str, int],
    grade_header_row: int,
    grade_rows: int,
    composite_header_row: int,
    composite_rows: int,
) -> None:
    """Return nothing; add drop-down lists and whole-number checks to the input cells."""
    first_grade = grade_header_row + 1
    last_grade = grade_header_row + grade_rows
    first_composite = composite_header_row + 1
    last_composite = composite_header_row + composite_rows
    priorities = ",".join(priority.value for priority in Priority)
    rules = [
        (_choice("Yes,No", "Yes or No."), [f"B{settings[USE_EVERY_TEACHER]}"]),
        (
            _choice(priorities, f"One of: {priorities.replace(',', ', ')}."),
            [f"B{settings[PRIORITY]}"],
        ),
        (_whole(1, None), [f"B{settings[TEACHERS]}", f"B{settings[COMPOSITE_MINIMUM]}"]),
        (_whole(1, MAX_ALTERNATIVES), [f"B{settings[ALTERNATIVES]}"]),
        (_whole(0, None), [f"B{first_grade}:B{last_grade}"]),
        (
            _whole(1, None),
            [f"C{first_grade}:D{last_grade}", f"B{first_composite}:C{last_composite}"],
        ),
        (
            _whole(0, None),
            [
                f"E{first_grade}:{_LAST_COLUMN}{last_grade}",
                f"D{first_composite}:E{last_composite}",
            ],
        ),
    ]
    for validation, ranges in rules:
        for cells in ranges:
            validation.add(cells)
        ws.add_data_validation(validation)


def _choice(options: str, message: str) -> DataValidation:
    """Return a drop-down list typed inline (no reference to another sheet)."""
    return DataValidation(
        type="list",
        formula1=f'"{options}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Not one of the choices",
        error=f"Choose {message}",
    )


def _whole(smallest: int, largest: int | None) -> DataValidation:
    """Return a whole-number check: at least ``smallest``, at most ``largest`` if given."""
    if largest is None:
        rule = DataValidation(type="whole", operator="greaterThanOrEqual", formula1=str(smallest))
        wanted = f"a whole number of at least {smallest}"
    else:
        rule = DataValidation(
            type="whole", operator="between", formula1=str(smallest), formula2=str(largest)
        )
        wanted = f"a whole number from {smallest} to {largest}"
    rule.allow_blank = True
    rule.showErrorMessage = True
    rule.errorTitle = "Not a whole number"
    rule.error = f"Type {wanted}."
    return rule
