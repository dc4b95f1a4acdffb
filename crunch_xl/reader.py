"""Workbook -> scenarios: find the scenario sheets, read them, and name every wrong cell.

The workbook is loaded twice by openpyxl: once with formulas (to know which cells hold one)
and once with the values Excel cached when it last saved (what the administrator sees). Each
scenario sheet becomes a pandas frame of columns A-F indexed by Excel row number, so the
tables are found by their labels wherever inserted rows have moved them. Nothing is written:
the source is read into memory once and never opened for writing.
"""

from __future__ import annotations

import datetime
import io
import math
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeGuard

import pandas as pd
from openpyxl import load_workbook
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from openpyxl.worksheet.worksheet import Worksheet

from crunch_xl import template
from crunch_xl.errors import InputError, Problem, WorkbookError, cell_ref
from crunch_xl.model import RESULT_SHEET_MARK, Composite, Grade, Priority, Scenario

COLUMNS = "ABCDEF"
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
_OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx


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
    name, data = _read_source(source)
    formulas, values = _load(name, data)
    found = WorkbookInput()
    for sheet in values.worksheets:
        title = sheet.title
        if RESULT_SHEET_MARK in sheet.defined_names:
            continue
        grid = _grid(sheet, formulas[title])
        labels = grid["A"].map(_label)
        has_teachers = bool((labels == _key(template.TEACHERS)).any())
        has_grades = bool((labels == _key(template.GRADE)).any())
        if not (has_teachers or has_grades):
            continue
        if sheet.sheet_state != "visible":
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
            item = _SheetReader(title, grid, labels).read()
            if item is None:
                found.notes.append(
                    f"Sheet '{title}' is still blank (no teachers, no grades), so it was skipped."
                )
            else:
                found.items.append(item)
    return found


def _read_source(source: Path | BinaryIO) -> tuple[str, bytes]:
    """Return a name to show for the workbook and its bytes, read once."""
    if isinstance(source, Path | str):
        path = Path(source)
        try:
            return path.name, path.read_bytes()
        except FileNotFoundError:
            raise WorkbookError(f"{path.name}: no such file") from None
        except IsADirectoryError:
            raise WorkbookError(f"{path.name} is a folder, not a workbook") from None
        except PermissionError:
            raise WorkbookError(
                f"{path.name} could not be opened: permission denied (is it open elsewhere?)"
            ) from None
        except OSError as error:
            raise WorkbookError(f"{path.name} could not be read: {error.strerror}") from None
    name = Path(str(getattr(source, "name", "") or "the workbook")).name
    try:
        data = source.read()
    except Exception as error:  # any stream failure is the caller's file, not our bug
        raise WorkbookError(f"{name} could not be read: {_one_line(error)}") from None
    if not isinstance(data, bytes | bytearray):
        raise WorkbookError(f"{name} could not be read: not opened in binary mode")
    return name, bytes(data)


def _load(name: str, data: bytes) -> tuple[Any, Any]:
    """Return the workbook loaded with formulas and loaded with cached values."""
    if data.startswith(_OLE2_SIGNATURE):
        raise WorkbookError(
            f"{name} is an old .xls workbook or is password-protected: save it in Excel as "
            "an Excel Workbook (.xlsx) without a password"
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if data.startswith(b"PK"):  # starts like a workbook package but its end is missing
            raise WorkbookError(
                f"{name} is damaged (incomplete or corrupt): save it again or use a backup"
            )
        raise WorkbookError(f"{name} is not an Excel workbook (.xlsx or .xlsm)")
    try:
        # openpyxl warns about features it drops; package.py reports those, we only read.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            formulas = load_workbook(io.BytesIO(data), data_only=False, keep_links=False)
            values = load_workbook(io.BytesIO(data), data_only=True, keep_links=False)
    except Exception as error:  # a damaged package can fail in any part of openpyxl
        raise WorkbookError(
            f"{name} is damaged or not an Excel workbook ({_one_line(error)})"
        ) from None
    return formulas, values


def _one_line(error: BaseException) -> str:
    """Return an exception as one short line for a message."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _grid(values: Worksheet, formulas: Worksheet) -> pd.DataFrame:
    """Return columns A-F of a sheet as a frame indexed by Excel row, formulas resolved."""
    last = max(values.max_row, formulas.max_row)
    rows = [
        [_cell_value(v, f) for v, f in zip(value_row, formula_row, strict=True)]
        for value_row, formula_row in zip(
            values.iter_rows(min_row=1, max_row=last, max_col=len(COLUMNS)),
            formulas.iter_rows(min_row=1, max_row=last, max_col=len(COLUMNS)),
            strict=True,
        )
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS), index=range(1, last + 1), dtype=object)


def _cell_value(value_cell: Any, formula_cell: Any) -> object:
    """Return what a cell holds: its value, an _ErrorValue, or _Uncalculated."""
    is_formula = formula_cell.data_type == "f" or isinstance(
        formula_cell.value, ArrayFormula | DataTableFormula
    )
    value = value_cell.value
    if is_formula and value is None:
        if value_cell.data_type == "str":
            return ""  # calculated, to empty text (Excel stores t="str" with an empty value)
        text = formula_cell.value
        return _Uncalculated(str(getattr(text, "text", text)))
    if value_cell.data_type == "e":
        return _ErrorValue(str(value))
    return value


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
        # Rows that start a section end the table above them, whatever is in between.
        self.section_rows = [int(row) for row in labels.index[labels.isin(_SECTION_KEYS)]]

    def read(self) -> Scenario | InputError | None:
        """Return the sheet's Scenario, its InputError, or None when it is still blank."""
        settings = {label: self._setting_row(label) for label in template.SETTINGS}
        teachers_row = settings[template.TEACHERS]
        grade_header = self._header_row(template.GRADE)
        grade_rows = self._table_rows(grade_header)
        assert teachers_row is not None and grade_header is not None  # a scenario has both
        if _is_blank(self.grid.at[teachers_row, "B"]) and not grade_rows:
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
        problem = Problem(cell_ref(self.sheet, f"{column}{row}"), expected, shown)
        self.problems.append((row, COLUMNS.index(column), problem))

    def _value(self, row: int, column: str) -> object:
        """Return a cell's value (None beyond the sheet's last row)."""
        return self.grid.at[row, column] if row <= self.last_row else None

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
            if _is_blank(self.grid.at[row, "A"]) or row in self.section_rows:
                break
            rows.append(row)
        return rows

    def _columns(
        self, header: int, wanted: tuple[str, ...], required: tuple[str, ...]
    ) -> dict[str, str]:
        """Return where each wanted header sits in the header row, reporting missing ones."""
        found: dict[str, str] = {}
        for column in COLUMNS[1:]:
            key = _label(self.grid.at[header, column])
            for name in wanted:
                if key == _key(name) and name not in found:
                    found[name] = column
        for name in required:
            if name not in found:
                column = COLUMNS[wanted.index(name)]
                self._problem(
                    header, column, f"the header {name} in this row", self.grid.at[header, column]
                )
        return found

    def _after_table(self, rows: list[int], header: int) -> range:
        """Return the rows from the end of a table down to the next section (or the sheet end)."""
        end = (rows[-1] if rows else header) + 1
        later = [row for row in self.section_rows if row >= end]
        return range(end, (min(later) if later else self.last_row + 1))

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
                )
            }
            self._check_order(row, columns, numbers, f"grade {label or '?'}")
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
