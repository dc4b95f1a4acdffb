"""Workbook -> scenarios: find the scenario sheets, read them, and name every wrong cell.

Only what planning needs is read, and nothing is ever laid out from a sheet's claimed size:
column A of every worksheet is streamed from its XML to find the scenario sheets (column A
holds ``Teachers`` and a ``Grade`` header), then columns A-H of those sheets only, whose values
pandas reads with the calamine engine (see cells.py). Formulas and error values are told from
the cells' XML, so a formula Excel never calculated is reported, never read as blank. Each
scenario sheet becomes a pandas frame of columns A-H indexed by the Excel rows that hold
something, so the tables are found by their labels wherever inserted rows have moved them.
Nothing is written, and no other part of the workbook (charts, pivot tables, macros...) is
looked at, so whatever else a workbook holds never stops it being read.
"""

from __future__ import annotations

import bisect
import datetime
import html
import math
import re
import string
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeGuard

import pandas as pd

from crunch_xl.errors import InputError, Problem, WorkbookError
from crunch_xl.excel import template
from crunch_xl.excel.cells import (
    RawCell,
    column_cells,
    label_cells,
    shared_items,
    shared_items_where,
    values_workbook,
)
from crunch_xl.excel.package import Package, SheetEntry, local, one_large_at_a_time, open_package
from crunch_xl.model import Composite, Grade, Priority, Scenario

#: The columns of a scenario sheet that are read: as many as the widest table (the grades').
COLUMNS = string.ascii_uppercase[: len(template.GRADE_COLUMNS)]
UNCALCULATED = (
    "a formula whose value was never calculated: open and save the workbook in Excel, "
    "or type the value"
)
DEFAULT_USE_EVERY_TEACHER = True
DEFAULT_COMPOSITE_MINIMUM = 1
DEFAULT_ALTERNATIVES = 3
DEFAULT_PRIORITY = Priority.FEWEST_COMPOSITES
_YES = {"yes", "y", "true"}
_NO = {"no", "n", "false"}
_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
#: Shared strings that may be a label that makes a scenario sheet (checked exactly after).
_LABEL_HINT = re.compile(
    ("|".join(re.escape(label) for label in (template.TEACHERS, template.GRADE))).encode(),
    re.IGNORECASE,
)
_LABEL_KEYS = (template.TEACHERS.casefold(), template.GRADE.casefold())


#: The largest count or size any cell may hold: more children, teachers or places than any
#: school has, yet small enough that planning stays quick.
MOST_OF_ANYTHING = 100_000


@dataclass
class WorkbookInput:
    """What a workbook holds: its scenario sheets (read or wrong) in order, and notes."""

    items: list[Scenario | InputError] = field(default_factory=list)
    #: Sheets skipped on purpose: still blank, hidden, or looking like a broken scenario.
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Uncalculated:
    """A formula cell Excel never calculated (no cached value to read)."""

    formula: str


@dataclass(frozen=True)
class _ErrorValue:
    """An Excel error value such as #REF! (typed, or cached from a formula)."""

    code: str


def read_workbook(source: Path | BinaryIO) -> WorkbookInput:
    """Return every scenario sheet of the workbook as a Scenario or an InputError, plus notes.

    Raises WorkbookError (one plain line) when the file cannot be read as a workbook at all.
    """
    if isinstance(source, Path | str):
        path = Path(source)
        if path.is_dir():
            raise WorkbookError(f"{path.name} is a folder, not a workbook")
        if not path.exists():
            raise WorkbookError(f"{path.name}: no such file")
        source = path
    with open_package(source) as package, one_large_at_a_time(package), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _read(package)


def cell_text(package: Package, sheet: SheetEntry, reference: str) -> str | None:
    """Return the text a worksheet's cell holds (e.g. ``A1``), or None when it holds none.

    The sheet is streamed only as far as that cell's column reaches it.
    """
    found = re.fullmatch(r"([A-Z])(\d+)", reference)
    if found is None:
        raise ValueError(f"not a cell of columns A-Z: {reference}")
    if not sheet.part:
        return None
    column, row = found[1], int(found[2])
    for cell in column_cells(package.chunks(sheet.part), column):
        if cell.row < row:
            continue
        if cell.row > row:
            return None
        if cell.kind == "s" and cell.value is not None and cell.value.strip().isdigit():
            strings = _part_of(package, "sharedStrings") or "xl/sharedStrings.xml"
            if package.find(strings) is None:
                return None
            index = int(cell.value)
            item = shared_items(package.chunks(strings), {index}).get(index)
            return None if item is None else _item_text(item)
        if cell.kind == "inlineStr":
            return _item_text(cell.inline)
        return cell.value if cell.kind == "str" else None
    return None


def _read(package: Package) -> WorkbookInput:
    """Return the scenario sheets of a checked package, and notes on the sheets skipped."""
    sheets = [
        sheet
        for sheet in package.sheets
        if sheet.kind == "worksheet" and sheet.part and not sheet.is_result
    ]
    strings = package.find(_part_of(package, "sharedStrings") or "xl/sharedStrings.xml")
    label_strings: dict[int, str] = {}
    if strings is not None:
        for index, text in shared_items_where(package.chunks(strings), _LABEL_HINT).items():
            key = _key(_item_text(text))
            if key in _LABEL_KEYS:
                label_strings[index] = key
    found = WorkbookInput()
    scenario_sheets: list[SheetEntry] = []
    kinds: dict[str, tuple[bool, bool]] = {}
    for sheet in sheets:
        keys = {
            _column_a_key(cell, label_strings)
            for cell in label_cells(package.chunks(sheet.part), "A", set(label_strings))
        }
        has_teachers, has_grades = (key in keys for key in _LABEL_KEYS)
        kinds[sheet.part] = (has_teachers, has_grades)
        if has_teachers and has_grades and sheet.state == "visible":
            scenario_sheets.append(sheet)
    grids = _grids(package, scenario_sheets, strings)
    for sheet in sheets:
        title = sheet.name
        has_teachers, has_grades = kinds[sheet.part]
        if not (has_teachers or has_grades):
            continue
        if sheet.state != "visible":
            found.notes.append(f"Sheet '{title}' is hidden, so it was not planned.")
        elif not has_teachers:
            found.notes.append(
                f"Sheet '{title}' has a Grade table but no Teachers label in column A, "
                "so it was not read as a scenario."
            )
        elif not has_grades:
            found.notes.append(
                f"Sheet '{title}' has a Teachers label but no Grade header row in column A, "
                "so it was not read as a scenario."
            )
        else:
            grid = grids[sheet.part]
            item = _SheetReader(title, grid, grid["A"].map(_label)).read()
            if item is None:
                found.notes.append(
                    f"Sheet '{title}' is still blank (no teachers, no grades), so it was skipped."
                )
            else:
                found.items.append(item)
    return found


def _part_of(package: Package, kind: str) -> str | None:
    """Return the part the workbook relates to by a relationship of this kind, if any."""
    for relationship in package.relationships(package.workbook_part).values():
        if relationship.kind == kind and not relationship.external:
            return relationship.target
    return None


def _column_a_key(cell: RawCell, label_strings: dict[int, str]) -> str | None:
    """Return a column-A cell's label key when it may be one of the labels looked for."""
    if cell.kind == "s":
        text = (cell.value or "").strip()
        return label_strings.get(int(text)) if text.isdigit() else None
    if cell.kind == "inlineStr":
        return _key(_item_text(cell.inline))
    if cell.kind == "str" and cell.value is not None:
        return _key(cell.value)
    return None


_PHONETIC = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?rPh\b.*?</(?:[A-Za-z_][\w.-]*:)?rPh>", re.S)
_TEXT_RUN = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?t(?:\s[^>]*)?>(.*?)</(?:[A-Za-z_][\w.-]*:)?t>", re.S
)
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _item_text(item: bytes) -> str:
    """Return the text of a string item (``<si>`` or ``<is>``): its runs, phonetics left out."""
    runs = _TEXT_RUN.findall(_PHONETIC.sub(b"", item))
    text = html.unescape(b"".join(runs).decode("utf-8", "replace"))
    return _ESCAPED.sub(lambda match: chr(int(match[1], 16)), text)


def _grids(
    package: Package, sheets: list[SheetEntry], strings: str | None
) -> dict[str, pd.DataFrame]:
    """Return columns A-H of each sheet as a frame indexed by the Excel rows holding something.

    Values come from pandas with the calamine engine; formulas and errors from the XML.
    """
    cells = [list(column_cells(package.chunks(sheet.part), COLUMNS)) for sheet in sheets]
    if not cells:
        return {}
    wanted = {
        int(cell.value)
        for sheet_cells in cells
        for cell in sheet_cells
        if cell.kind == "s" and cell.value is not None and cell.value.strip().isdigit()
    }
    items = shared_items(package.chunks(strings), wanted) if strings and wanted else {}
    styles_part = _part_of(package, "styles")
    styles = package.read(styles_part) if styles_part and package.find(styles_part) else None
    read = _values(cells, items, styles, _date1904(package))
    grids = {}
    for sheet, sheet_cells, values in zip(sheets, cells, read, strict=True):
        rows = sorted({cell.row for cell in sheet_cells})
        position = {row: number for number, row in enumerate(rows)}
        table: list[list[object]] = [[None] * len(COLUMNS) for _ in rows]
        for cell in sheet_cells:
            value = _cell_value(cell, values.get((cell.row, cell.column)))
            table[position[cell.row]][COLUMNS.index(cell.column)] = value
        frame = pd.DataFrame(
            table, index=pd.Index(rows, dtype="int64"), columns=list(COLUMNS), dtype=object
        )
        grids[sheet.part] = frame
    return grids


def _values(
    cells: list[list[RawCell]],
    items: dict[int, bytes],
    styles: bytes | None,
    date1904: bool,
) -> list[dict[tuple[int, str], object]]:
    """Return each sheet's cell values as pandas reads them with calamine, by (row, column)."""
    workbook, rows_of = values_workbook(cells, items, styles, date1904)
    try:
        frames = pd.read_excel(
            workbook, sheet_name=None, header=None, engine="calamine", dtype=object
        )
    except Exception:  # noqa: BLE001 - styles calamine cannot read: values without date formats
        if styles is None:
            raise
        workbook, rows_of = values_workbook(cells, items, None, date1904)
        frames = pd.read_excel(
            workbook, sheet_name=None, header=None, engine="calamine", dtype=object
        )
    found = []
    for number, rows in enumerate(rows_of, start=1):
        frame = frames[f"S{number}"]
        values: dict[tuple[int, str], object] = {}
        for compact, row in enumerate(rows):
            if compact >= len(frame.index):
                break
            for offset, value in enumerate(frame.iloc[compact].tolist()[: len(COLUMNS)]):
                if value is not None and not (isinstance(value, float) and math.isnan(value)):
                    values[(row, COLUMNS[offset])] = value
        found.append(values)
    return found


def _date1904(package: Package) -> bool:
    """Return whether the workbook counts dates from 1904 (Excel for Mac's old default)."""
    for element in package.workbook:
        if local(element.tag) == "workbookPr":
            return element.get("date1904", "0").lower() in ("1", "true")
    return False


def _cell_value(cell: RawCell, value: object) -> object:
    """Return what a cell holds: its value, an _ErrorValue, or _Uncalculated."""
    if cell.formula is not None and cell.value is None:
        if cell.kind == "str":
            return ""  # calculated, to empty text (Excel stores t="str" with an empty value)
        return _Uncalculated(cell.formula)
    if cell.kind == "e":
        return _ErrorValue(cell.value or "#N/A")
    if cell.kind == "b":
        return cell.value is not None and cell.value.strip() in ("1", "true")
    if cell.kind in ("", "n") and cell.value is not None:
        if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
            return _plain(value)
        return _number_of(cell.value)
    if isinstance(value, str | datetime.date | datetime.time | datetime.timedelta):
        return _plain(value)
    return None if cell.value is None and not cell.inline else (cell.value or "")


def _plain(value: object) -> object:
    """Return a pandas date or duration as the datetime object it stands for."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, pd.Timedelta):
        return value.to_pytimedelta()
    return value


def _number_of(text: str) -> object:
    """Return a number as stored, as openpyxl and Excel read it: int unless it has . or E."""
    text = text.strip()
    try:
        if any(mark in text for mark in ".eE"):
            return float(text)
        return int(text)
    except ValueError:
        return text


def _key(label: str) -> str:
    """Return a label as it is compared: case-folded, single-spaced, without a trailing colon."""
    return " ".join(label.split()).rstrip(":").strip().casefold()


def _label(value: object) -> str | None:
    """Return a column-A cell as a comparable label, or None when it is not text."""
    return _key(value) if isinstance(value, str) else None


def _is_blank(value: object) -> bool:
    """Return whether a cell counts as empty (nothing, or only spaces)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _show(value: object) -> str:
    """Return a cell value the way the administrator would recognise it in a message."""
    if isinstance(value, _Uncalculated):
        return f"the formula ={value.formula.lstrip('=')}"
    if isinstance(value, _ErrorValue):
        return f"the error {value.code}"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time():
            return f"the date {value:%Y-%m-%d}"
        return f"the date and time {value:%Y-%m-%d %H:%M}"
    if isinstance(value, datetime.date):
        return f"the date {value:%Y-%m-%d}"
    if isinstance(value, datetime.time):
        return f"the time {value:%H:%M}"
    if isinstance(value, datetime.timedelta):
        return f"the duration {value}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return repr(value)
    return str(value)


_SECTION_KEYS = {_key(label) for label in (*template.SETTINGS, template.GRADE, template.COMPOSITE)}


class _SheetReader:
    """Reads one scenario sheet, collecting every problem before giving up on it."""

    def __init__(self, sheet: str, grid: pd.DataFrame, labels: pd.Series) -> None:
        self.sheet = sheet
        self.grid = grid
        self.labels = labels
        self.problems: list[tuple[int, int, Problem]] = []
        self.last_row = int(grid.index.max()) if len(grid.index) else 0
        self.rows = [int(row) for row in grid.index]
        self.present = set(self.rows)
        # Rows that start a section end the table above them, whatever is in between.
        self.section_rows = [int(row) for row in labels.index[labels.isin(_SECTION_KEYS)]]

    def read(self) -> Scenario | InputError | None:
        """Return the sheet's Scenario, its InputError, or None when it is still blank."""
        settings = {label: self._setting_row(label) for label in template.SETTINGS}
        teachers_row = settings[template.TEACHERS]
        grade_header = self._header_row(template.GRADE)
        grade_rows = self._table_rows(grade_header)
        assert teachers_row is not None and grade_header is not None  # a scenario has both
        if _is_blank(self._value(teachers_row, "B")) and not grade_rows:
            return None

        teachers = self._whole(teachers_row, "B", 1, None, template.TEACHERS, required=True)
        use_every_teacher = self._yes_no(settings[template.USE_EVERY_TEACHER])
        composite_minimum = self._whole(
            settings[template.COMPOSITE_MINIMUM],
            "B",
            1,
            None,
            "the fewest children from one grade in a composite",
            default=DEFAULT_COMPOSITE_MINIMUM,
        )
        alternatives = self._whole(
            settings[template.ALTERNATIVES],
            "B",
            1,
            template.MAX_ALTERNATIVES,
            template.ALTERNATIVES,
            default=DEFAULT_ALTERNATIVES,
        )
        priority = self._priority(settings[template.PRIORITY])
        grades = self._grades(grade_header, grade_rows)
        composites = self._composites(grades)

        if self.problems:
            self.problems.sort(key=lambda item: (item[0], item[1]))
            return InputError(self.sheet, [problem for _, _, problem in self.problems])
        assert teachers is not None and composite_minimum is not None and alternatives is not None
        return Scenario(
            name=self.sheet,
            grades=tuple(grade for grade in grades.values() if isinstance(grade, Grade)),
            composites=tuple(composites),
            teachers=teachers,
            use_every_teacher=use_every_teacher,
            composite_minimum=composite_minimum,
            alternatives=alternatives,
            priority=priority,
        )

    # -- problems and cells -------------------------------------------------------------------

    def _problem(self, row: int, column: str, expected: str, found: object = None) -> None:
        """Return nothing; record a problem at a cell, showing the value found (if any)."""
        shown = None if _is_blank(found) else _show(found)
        problem = Problem(self.sheet, f"{column}{row}", expected, shown)
        self.problems.append((row, COLUMNS.index(column), problem))

    def _value(self, row: int, column: str) -> object:
        """Return a cell's value (None beyond the sheet's last row)."""
        return self.grid.at[row, column] if row in self.present else None

    # -- settings -----------------------------------------------------------------------------

    def _setting_row(self, label: str) -> int | None:
        """Return the row of a settings label (the first, reporting any repeat)."""
        rows = [int(row) for row in self.labels.index[self.labels == _key(label)]]
        for repeat in rows[1:]:
            self._problem(
                repeat, "A", f"the label {label} only once in column A (the first is A{rows[0]})"
            )
        return rows[0] if rows else None

    def _header_row(self, header: str) -> int | None:
        """Return the row of a table's header (the first, reporting any repeat)."""
        rows = [int(row) for row in self.labels.index[self.labels == _key(header)]]
        for repeat in rows[1:]:
            self._problem(
                repeat,
                "A",
                f"only one {header} table on the sheet (the first starts at A{rows[0]})",
            )
        return rows[0] if rows else None

    def _yes_no(self, row: int | None) -> bool:
        """Return the Yes/No setting in column B of ``row`` (Yes when blank or absent)."""
        if row is None:
            return DEFAULT_USE_EVERY_TEACHER
        value = self._value(row, "B")
        if _is_blank(value):
            return DEFAULT_USE_EVERY_TEACHER
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and _key(value) in _YES | _NO:
            return _key(value) in _YES
        self._report_unusable(row, "B", value, f"Yes or No for {template.USE_EVERY_TEACHER}")
        return DEFAULT_USE_EVERY_TEACHER

    def _priority(self, row: int | None) -> Priority:
        """Return the Priority setting in column B of ``row`` (the default when blank)."""
        if row is None:
            return DEFAULT_PRIORITY
        value = self._value(row, "B")
        if _is_blank(value):
            return DEFAULT_PRIORITY
        if isinstance(value, str):
            for priority in Priority:
                if _key(value) == _key(priority.value):
                    return priority
        choices = ", ".join(priority.value for priority in Priority)
        self._report_unusable(row, "B", value, f"one of {choices} for {template.PRIORITY}")
        return DEFAULT_PRIORITY

    def _report_unusable(self, row: int, column: str, value: object, expected: str) -> None:
        """Return nothing; report a value that cannot be used, naming uncalculated formulas."""
        if isinstance(value, _Uncalculated):
            self._problem(row, column, UNCALCULATED, value)
        else:
            self._problem(row, column, expected, value)

    def _whole(
        self,
        row: int | None,
        column: str,
        smallest: int,
        largest: int | None,
        what: str,
        *,
        required: bool = False,
        default: int | None = None,
    ) -> int | None:
        """Return the whole number in a cell, the default when blank, or None on a problem."""
        rule = (
            f"a whole number of at least {smallest}"
            if largest is None
            else f"a whole number from {smallest} to {largest}"
        )
        expected = f"{rule} for {what}"
        value = None if row is None else self._value(row, column)
        if _is_blank(value):
            if required and row is not None:
                self._problem(row, column, expected)
            return None if required else default
        assert row is not None
        number = _number(value)
        if number is None or not _is_whole(number):
            self._report_unusable(row, column, value, expected)
            return None
        whole = round(number)
        if whole < smallest or (largest is not None and whole > largest):
            self._problem(row, column, expected, value)
            return None
        if largest is None and whole > MOST_OF_ANYTHING:
            # Far beyond any school: planning it would only exhaust time and memory.
            self._problem(row, column, f"{rule} and at most {MOST_OF_ANYTHING:,} for {what}", value)
            return None
        return whole

    # -- tables -------------------------------------------------------------------------------

    def _table_rows(self, header: int | None) -> list[int]:
        """Return the rows of the table under ``header``, up to the first empty column-A cell."""
        if header is None:
            return []
        rows = []
        for row in range(header + 1, self.last_row + 1):
            if _is_blank(self._value(row, "A")) or row in self.section_rows:
                break
            rows.append(row)
        return rows

    def _columns(
        self, header: int, wanted: tuple[str, ...], required: tuple[str, ...]
    ) -> dict[str, str]:
        """Return where each wanted header sits in the header row, reporting missing ones."""
        found: dict[str, str] = {}
        for column in COLUMNS[1:]:
            key = _label(self._value(header, column))
            for name in wanted:
                if key == _key(name) and name not in found:
                    found[name] = column
        for name in required:
            if name not in found:
                column = COLUMNS[wanted.index(name)]
                self._problem(
                    header, column, f"the header {name} in this row", self._value(header, column)
                )
        return found

    def _after_table(self, rows: list[int], header: int) -> list[int]:
        """Return the rows holding something from the end of a table down to the next section."""
        end = (rows[-1] if rows else header) + 1
        later = [row for row in self.section_rows if row >= end]
        stop = min(later) if later else self.last_row + 1
        return self.rows[bisect.bisect_left(self.rows, end) : bisect.bisect_left(self.rows, stop)]

    def _grades(self, header: int, rows: list[int]) -> dict[str, Grade | None]:
        """Return the grades by label (None for a grade row with problems), in sheet order."""
        columns = self._columns(header, template.GRADE_COLUMNS, template.GRADE_COLUMNS[1:4])
        if not rows:
            self._problem(header + 1, "A", "at least one grade row under the Grade header")
        grades: dict[str, Grade | None] = {}
        where: dict[str, tuple[str, int]] = {}
        for row in rows:
            label = self._grade_label(row, where)
            numbers = {
                name: self._whole(
                    row,
                    columns[name],
                    minimum,
                    None,
                    f"{what} of grade {label or '?'}",
                    required=name in template.GRADE_COLUMNS[1:4],
                )
                if name in columns
                else None
                for name, minimum, what in (
                    (template.CHILDREN, 0, "the children"),
                    (template.SMALLEST, 1, "the smallest class"),
                    (template.LARGEST, 1, "the largest class"),
                    (template.FEWEST, 0, "the fewest classes"),
                    (template.MOST, 0, "the most classes"),
                    (template.LOW_ESTIMATE, 0, "the low estimate"),
                    (template.HIGH_ESTIMATE, 0, "the high estimate"),
                )
            }
            self._check_order(row, columns, numbers, f"grade {label or '?'}")
            self._check_estimates(row, columns, numbers, label or "?")
            if label is None:
                continue
            where[label.casefold()] = (label, row)
            usable = not self._row_has_problem(row) and all(
                numbers[name] is not None for name in template.GRADE_COLUMNS[1:4]
            )
            grades[label] = (
                Grade(
                    label,
                    children=_int(numbers[template.CHILDREN]),
                    smallest=_int(numbers[template.SMALLEST]),
                    largest=_int(numbers[template.LARGEST]),
                    fewest_classes=numbers[template.FEWEST],
                    most_classes=numbers[template.MOST],
                    low_estimate=numbers[template.LOW_ESTIMATE],
                    high_estimate=numbers[template.HIGH_ESTIMATE],
                )
                if usable
                else None
            )
        required = template.GRADE_COLUMNS[1:4]
        for row in self._after_table(rows, header):
            # A row of numbers below a gap is a grade the administrator expects to be read.
            if not all(name in columns for name in required) or any(
                _is_blank(self._value(row, columns[name])) for name in required
            ):
                continue
            if _is_blank(self._value(row, "A")):
                self._problem(row, "A", "a grade label for this row of numbers")
            else:
                self._problem(
                    row,
                    "A",
                    "no empty row inside the grades table (it ends at the first empty "
                    f"Grade cell, A{(rows[-1] if rows else header) + 1})",
                    self._value(row, "A"),
                )
                # Known but unusable: a composite naming it should not add "no such grade".
                stray = self._value(row, "A")
                if _is_label(stray):
                    grades.setdefault(_grade_text(stray), None)
        return grades

    def _row_has_problem(self, row: int) -> bool:
        """Return whether a problem was recorded on this row."""
        return any(problem_row == row for problem_row, _, _ in self.problems)

    def _check_order(
        self, row: int, columns: dict[str, str], numbers: dict[str, int | None], what: str
    ) -> None:
        """Return nothing; report a smallest class above the largest, or fewest above most."""
        for low, high in ((template.SMALLEST, template.LARGEST), (template.FEWEST, template.MOST)):
            below, above = numbers.get(low), numbers.get(high)
            if below is not None and above is not None and below > above:
                self._problem(
                    row,
                    columns[low],
                    f"{low.lower()} for {what} no larger than its {high.lower()} "
                    f"({above} in {columns[high]}{row})",
                    below,
                )

    def _check_estimates(
        self, row: int, columns: dict[str, str], numbers: dict[str, int | None], label: str
    ) -> None:
        """Return nothing; report a low estimate above the children, or a high one below."""
        children = numbers[template.CHILDREN]
        if children is None:
            return  # reported already, or its column is missing
        low, high = numbers[template.LOW_ESTIMATE], numbers[template.HIGH_ESTIMATE]
        the_children = f"{children}, the Children number of grade {label}"
        if low is not None and low > children:
            self._problem(
                row,
                columns[template.LOW_ESTIMATE],
                f"a low estimate of at most {the_children}",
                low,
            )
        if high is not None and high < children:
            self._problem(
                row,
                columns[template.HIGH_ESTIMATE],
                f"a high estimate of at least {the_children}",
                high,
            )

    def _grade_label(self, row: int, where: dict[str, tuple[str, int]]) -> str | None:
        """Return the grade label in column A of ``row``, or None after reporting a problem."""
        value = self._value(row, "A")
        expected = "a grade label such as K, Prep, 1 or Year 2"
        if _is_label(value):
            label = _grade_text(value)
        else:
            self._report_unusable(row, "A", value, expected)
            return None
        if "/" in label:
            self._problem(
                row, "A", "a grade label without / (composites go in the Composite table)", value
            )
            return None
        if label.casefold() in where:
            first, row_of_first = where[label.casefold()]
            self._problem(
                row,
                "A",
                f"each grade only once (grade {first} is already in A{row_of_first})",
                value,
            )
            return None
        return label

    def _composites(self, grades: dict[str, Grade | None]) -> list[Composite]:
        """Return the allowed composites in sheet order, their grades in teaching order."""
        header = self._header_row(template.COMPOSITE)
        if header is None:
            return []
        columns = self._columns(header, template.COMPOSITE_COLUMNS, ())
        rows = self._table_rows(header)
        order = {label.casefold(): index for index, label in enumerate(grades)}
        labels = {label.casefold(): label for label in grades}
        composites: list[Composite] = []
        seen: dict[tuple[str, ...], int] = {}
        for row in rows:
            kind = self._composite_kind(row, order, labels)
            name = "/".join(kind) if kind else "?"
            numbers = {
                header_name: self._whole(
                    row, columns[header_name], minimum, None, f"{what} of composite {name}"
                )
                if header_name in columns
                else None
                for header_name, minimum, what in (
                    (template.SMALLEST, 1, "the smallest class"),
                    (template.LARGEST, 1, "the largest class"),
                    (template.FEWEST, 0, "the fewest classes"),
                    (template.MOST, 0, "the most classes"),
                )
            }
            self._check_order(row, columns, numbers, f"composite {name}")
            if kind is None:
                continue
            if kind in seen:
                self._problem(
                    row,
                    "A",
                    f"each composite only once ({name} is already in A{seen[kind]})",
                    self._value(row, "A"),
                )
                continue
            seen[kind] = row
            self._check_derived_limits(row, columns, numbers, kind, grades)
            composites.append(
                Composite(
                    kind,
                    smallest=numbers[template.SMALLEST],
                    largest=numbers[template.LARGEST],
                    fewest_classes=numbers[template.FEWEST],
                    most_classes=numbers[template.MOST],
                )
            )
        for row in self._after_table(rows, header):
            value = self._value(row, "A")
            if isinstance(value, str) and "/" in value:
                parts = [_key(part) for part in value.split("/")]
                if len(parts) >= 2 and all(part in order for part in parts):
                    self._problem(
                        row,
                        "A",
                        "no empty row inside the composites table (it ends at the first empty "
                        f"Composite cell, A{(rows[-1] if rows else header) + 1})",
                        value,
                    )
        return composites

    def _composite_kind(
        self, row: int, order: dict[str, int], labels: dict[str, str]
    ) -> tuple[str, ...] | None:
        """Return a composite's grades in teaching order, or None after reporting a problem."""
        value = self._value(row, "A")
        expected = "two or more grades joined by /, e.g. K/1 or 3/4/5"
        if isinstance(value, datetime.date | datetime.datetime):
            self._problem(
                row,
                "A",
                f"{expected}, typed as text (Excel turned it into a date: format the cell as "
                "Text and type it again)",
                value,
            )
            return None
        if not isinstance(value, str):
            self._report_unusable(row, "A", value, expected)
            return None
        parts = [" ".join(part.split()) for part in value.split("/")]
        if len(parts) < 2 or any(not part for part in parts):
            self._problem(row, "A", expected, value)
            return None
        unknown = [part for part in parts if part.casefold() not in order]
        if unknown:
            self._problem(
                row,
                "A",
                f"grades from the Grade table joined by / (there is no grade {unknown[0]})",
                value,
            )
            return None
        folded = [part.casefold() for part in parts]
        repeated = sorted({part for part in folded if folded.count(part) > 1})
        if repeated:
            self._problem(
                row,
                "A",
                f"different grades joined by / (grade {labels[repeated[0]]} appears twice)",
                value,
            )
            return None
        return tuple(labels[part] for part in sorted(folded, key=order.__getitem__))

    def _check_derived_limits(
        self,
        row: int,
        columns: dict[str, str],
        numbers: dict[str, int | None],
        kind: tuple[str, ...],
        grades: dict[str, Grade | None],
    ) -> None:
        """Return nothing; report a composite's own size limit that leaves no class size.

        Only a limit typed on the row is reported: when both come from the grades, the
        composite simply cannot run, which explain.py's warnings say.
        """
        smallest, largest = numbers[template.SMALLEST], numbers[template.LARGEST]
        if (smallest is None) == (largest is None):
            return  # both typed (checked already) or both derived (not an input mistake)
        members = [grades[label] for label in kind]
        if any(member is None for member in members):
            return
        known = [member for member in members if member is not None]
        if smallest is not None:
            derived = min(member.largest for member in known)
            if smallest > derived:
                self._problem(
                    row,
                    columns[template.SMALLEST],
                    f"a smallest class for composite {'/'.join(kind)} no larger than {derived}, "
                    "the largest class its grades allow (or type its own largest class)",
                    smallest,
                )
        elif largest is not None:
            derived = max(member.smallest for member in known)
            if largest < derived:
                self._problem(
                    row,
                    columns[template.LARGEST],
                    f"a largest class for composite {'/'.join(kind)} of at least {derived}, "
                    "the smallest class its grades allow (or type its own smallest class)",
                    largest,
                )


def _number(value: object) -> float | None:
    """Return a cell's number (numbers typed as text included), or None if it is not one."""
    if isinstance(value, bool):
        return None  # TRUE/FALSE are not counts, although Python treats them as 1/0
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        return float(value.strip())
    return None


def _is_label(value: object) -> TypeGuard[str | int | float]:
    """Return whether a cell can be a grade label: text, or a number (not TRUE/FALSE)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, str) or (isinstance(value, int | float) and math.isfinite(value))


def _grade_text(value: str | float) -> str:
    """Return a grade label as text: single-spaced, and 1 or 1.0 typed as a number is "1"."""
    if isinstance(value, str):
        return " ".join(value.split())
    return str(round(value)) if _is_whole(value) else f"{value:g}"


def _is_whole(number: float) -> bool:
    """Return whether a number is whole, allowing the float noise of a calculated formula."""
    return abs(number - round(number)) < 1e-9


def _int(number: int | None) -> int:
    """Return a number known to be present (checked by the caller)."""
    assert number is not None
    return number
