"""Compare two workbooks by content, naming the first difference (a test helper, not a test).

Content means what a reader of the workbook sees: sheet names and order, cell values (formulas
as their text), number formats, fills, bold fonts, cell notes, merged ranges, column widths and
frozen panes. Bytes, timestamps, authors and the order of XML parts are never compared, so a
golden workbook stays valid when openpyxl or the clock changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter


def assert_same_content(
    actual: Path, expected: Path, *, sheets: Iterable[str] | None = None
) -> None:
    """Return nothing; raise AssertionError naming the first sheet and cell that differ.

    `sheets` limits the comparison to those sheets (then the sheet lists are not compared).
    """
    difference = first_difference(actual, expected, sheets=sheets)
    if difference is not None:
        raise AssertionError(difference)


def first_difference(
    actual: Path, expected: Path, *, sheets: Iterable[str] | None = None
) -> str | None:
    """Return the first difference between two workbooks, e.g. "'Plan A results'!C7: 24 != 25".

    None when they hold the same content.
    """
    left = load_workbook(actual, rich_text=False)
    right = load_workbook(expected, rich_text=False)
    if sheets is None:
        if left.sheetnames != right.sheetnames:
            return f"sheet names: {left.sheetnames} != {right.sheetnames}"
        names = left.sheetnames
    else:
        names = list(sheets)
        for name in names:
            for book, which in ((left, "actual"), (right, "expected")):
                if name not in book.sheetnames:
                    return f"sheet {name!r} missing from the {which} workbook"
    for name in names:
        difference = _sheet_difference(left[name], right[name])
        if difference is not None:
            return difference
    return None


def _ref(sheet: Any, coordinate: str) -> str:
    """Return an Excel reference such as 'Plan A'!C7."""
    return "'{}'!{}".format(sheet.title.replace("'", "''"), coordinate)


def _sheet_difference(left: Any, right: Any) -> str | None:
    """Return the first difference between two sheets, or None."""
    quoted = "'{}'".format(left.title.replace("'", "''"))
    if type(left) is not type(right):
        return f"{quoted} kind: {type(left).__name__} != {type(right).__name__}"
    if not hasattr(left, "_cells"):
        return None  # a chart sheet: no cells to compare
    for what, get in (
        ("frozen panes", lambda s: s.freeze_panes),
        ("merged ranges", lambda s: sorted(str(r) for r in s.merged_cells.ranges)),
        ("sheet state", lambda s: s.sheet_state),
    ):
        if get(left) != get(right):
            return f"{quoted} {what}: {get(left)!r} != {get(right)!r}"
    left_widths, right_widths = _column_widths(left), _column_widths(right)
    for column in sorted(set(left_widths) | set(right_widths)):
        if left_widths.get(column) != right_widths.get(column):
            letter = get_column_letter(column)
            return (
                f"{quoted} column {letter} width: "
                f"{left_widths.get(column)!r} != {right_widths.get(column)!r}"
            )
    coordinates = sorted(set(left._cells) | set(right._cells))
    for row, column in coordinates:
        a, b = left.cell(row=row, column=column), right.cell(row=row, column=column)
        ref = _ref(left, a.coordinate)
        if a.value != b.value:
            return f"{ref}: {a.value!r} != {b.value!r}"
        for what, get in (
            ("number format", lambda c: c.number_format),
            ("fill", _fill),
            ("bold", lambda c: bool(c.font.b)),
            ("note", lambda c: c.comment.text if c.comment else None),
        ):
            if get(a) != get(b):
                return f"{ref} {what}: {get(a)!r} != {get(b)!r}"
    return None


def _fill(cell: Any) -> tuple[str | None, str | None]:
    """Return a cell's fill as (pattern, colour); theme colours as 'theme N tint T'."""
    fill = cell.fill
    pattern = getattr(fill, "fill_type", None)
    if not pattern:
        return None, None
    colour = fill.fgColor
    if colour.type == "rgb":
        return pattern, str(colour.rgb)
    if colour.type == "theme":
        return pattern, f"theme {colour.theme} tint {round(colour.tint, 3)}"
    return pattern, f"{colour.type} {colour.value}"


def _column_widths(sheet: Any) -> dict[int, float]:
    """Return the width of every column that has one, by column number."""
    widths: dict[int, float] = {}
    for dimension in sheet.column_dimensions.values():
        if not dimension.width or dimension.min is None:
            continue
        for column in range(dimension.min, (dimension.max or dimension.min) + 1):
            widths[column] = round(float(dimension.width), 2)
    return widths
