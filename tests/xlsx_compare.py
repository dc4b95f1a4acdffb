"""Compare two workbooks by content, naming the first difference (a test helper, not a test).

Content means what a reader of the workbook sees and prints:

- the workbook: its sheets in order, which one opens, its defined names;
- each sheet: its state and tab colour, frozen panes, merged ranges, column widths, row
  heights, page setup (orientation, fit to page, margins, print titles, headers and footers),
  its sheet-scoped names, data validations and where each chart is anchored;
- each cell: its value (formulas as their text), number format, fill, font, border,
  alignment and note.

Bytes, timestamps, authors and the order of XML parts are never compared, so a golden workbook
stays valid when openpyxl or the clock changes. A difference names the sheet, and the cell
where there is one: "'Plan A results'!C7 border: ... != ...".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter


def assert_same_content(
    actual: Path, expected: Path, *, sheets: Iterable[str] | None = None
) -> None:
    """Return nothing; raise AssertionError naming the first sheet and cell that differ.

    `sheets` limits the comparison to those sheets (then the sheet lists, the sheet that opens
    and the workbook's own names are not compared).
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
        for what, get in (
            ("sheet names", lambda b: b.sheetnames),
            ("active sheet", lambda b: b.active.title if b.active is not None else None),
            ("workbook names", lambda b: _names(b.defined_names)),
        ):
            if get(left) != get(right):
                return f"{what}: {get(left)!r} != {get(right)!r}"
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


#: What is compared of a sheet as a whole, in order.
_SHEET_PARTS: tuple[tuple[str, Callable[[Any], object]], ...] = (
    ("sheet state", lambda s: s.sheet_state),
    ("tab colour", lambda s: _colour(s.sheet_properties.tabColor)),
    ("frozen panes", lambda s: s.freeze_panes),
    ("merged ranges", lambda s: sorted(str(r) for r in s.merged_cells.ranges)),
    ("page setup", lambda s: _page_setup(s)),
    ("print titles", lambda s: (s.print_title_rows, s.print_title_cols)),
    ("headers and footers", lambda s: _headers_and_footers(s)),
    ("sheet names", lambda s: _names(s.defined_names)),
    ("data validations", lambda s: _validations(s)),
    ("chart anchors", lambda s: _chart_anchors(s)),
)

#: What is compared of each cell, in order.
_CELL_PARTS: tuple[tuple[str, Callable[[Any], object]], ...] = (
    ("number format", lambda c: c.number_format),
    ("fill", lambda c: _fill(c)),
    ("bold", lambda c: bool(c.font.b)),
    ("font", lambda c: _font(c.font)),
    ("border", lambda c: _border(c.border)),
    ("alignment", lambda c: _alignment(c.alignment)),
    ("note", lambda c: c.comment.text if c.comment else None),
)


def _sheet_difference(left: Any, right: Any) -> str | None:
    """Return the first difference between two sheets, or None."""
    quoted = "'{}'".format(left.title.replace("'", "''"))
    if type(left) is not type(right):
        return f"{quoted} kind: {type(left).__name__} != {type(right).__name__}"
    if not hasattr(left, "_cells"):
        return None  # a chart sheet: no cells to compare
    for what, get in _SHEET_PARTS:
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
    left_heights, right_heights = _row_heights(left), _row_heights(right)
    for row in sorted(set(left_heights) | set(right_heights)):
        if left_heights.get(row) != right_heights.get(row):
            return (
                f"{quoted} row {row} height: "
                f"{left_heights.get(row)!r} != {right_heights.get(row)!r}"
            )
    coordinates = sorted(set(left._cells) | set(right._cells))
    for row, column in coordinates:
        a, b = left.cell(row=row, column=column), right.cell(row=row, column=column)
        ref = _ref(left, a.coordinate)
        if a.value != b.value:
            return f"{ref}: {a.value!r} != {b.value!r}"
        for what, get in _CELL_PARTS:
            if get(a) != get(b):
                return f"{ref} {what}: {get(a)!r} != {get(b)!r}"
    return None


def _colour(colour: Any) -> str | None:
    """Return a colour as text: its RGB, 'theme N tint T', or 'indexed N'; None for none."""
    if colour is None:
        return None
    if colour.type == "rgb":
        return str(colour.rgb)
    if colour.type == "theme":
        return f"theme {colour.theme} tint {round(colour.tint, 3)}"
    return f"{colour.type} {colour.value}"


def _fill(cell: Any) -> tuple[str | None, str | None]:
    """Return a cell's fill as (pattern, colour)."""
    fill = cell.fill
    pattern = getattr(fill, "fill_type", None)
    if not pattern:
        return None, None
    return pattern, _colour(fill.fgColor)


def _font(font: Any) -> tuple[object, ...]:
    """Return what a font shows: face, size, bold, italic, underline, colour."""
    return (font.name, font.sz, bool(font.b), bool(font.i), font.u, _colour(font.color))


def _border(border: Any) -> tuple[tuple[str | None, str | None], ...]:
    """Return each side of a border (left, right, top, bottom) as (style, colour)."""
    sides = (border.left, border.right, border.top, border.bottom)
    return tuple(
        (side.style, _colour(side.color)) if side is not None else (None, None) for side in sides
    )


def _alignment(alignment: Any) -> tuple[object, ...]:
    """Return how text sits in a cell: horizontal, vertical, wrapped, indent, rotation."""
    return (
        alignment.horizontal,
        alignment.vertical,
        bool(alignment.wrap_text),
        alignment.indent,
        alignment.text_rotation,
    )


def _page_setup(sheet: Any) -> tuple[object, ...]:
    """Return how a sheet prints: orientation, paper, fit to page, centring and margins."""
    setup, margins = sheet.page_setup, sheet.page_margins
    return (
        setup.orientation,
        setup.paperSize,
        setup.fitToWidth,
        setup.fitToHeight,
        bool(sheet.sheet_properties.pageSetUpPr and sheet.sheet_properties.pageSetUpPr.fitToPage),
        bool(sheet.print_options.horizontalCentered),
        (margins.left, margins.right, margins.top, margins.bottom, margins.header, margins.footer),
    )


def _headers_and_footers(sheet: Any) -> tuple[str | None, ...]:
    """Return the printed page's header and footer texts (left, centre, right of each)."""
    return tuple(
        part.text
        for band in (sheet.oddHeader, sheet.oddFooter)
        for part in (band.left, band.center, band.right)
    )


def _names(names: Any) -> list[tuple[str, str | None, bool]]:
    """Return defined names as sorted (name, what it refers to, hidden)."""
    return sorted((name, item.attr_text, bool(item.hidden)) for name, item in names.items())


def _validations(sheet: Any) -> list[tuple[object, ...]]:
    """Return a sheet's data validations: their rule, cells and messages."""
    return sorted(
        (
            str(v.sqref),
            v.type,
            v.operator,
            v.formula1,
            v.formula2,
            bool(v.allow_blank),
            bool(v.showErrorMessage),
            v.errorTitle,
            v.error,
        )
        for v in sheet.data_validations.dataValidation
    )


def _chart_anchors(sheet: Any) -> list[tuple[object, ...]]:
    """Return each chart's kind and the cells its top-left and bottom-right corners sit in."""
    anchors = []
    for chart in sheet._charts:
        anchor = chart.anchor
        start = getattr(anchor, "_from", None)
        end = getattr(anchor, "to", None)
        corners = [
            _corner(marker.col, marker.row) if marker is not None else None
            for marker in (start, end)
        ]
        if start is None:  # anchored by a cell reference, as openpyxl writes a new chart
            corners = [str(anchor), None]
        extent = getattr(anchor, "ext", None)
        size = (extent.width, extent.height) if extent is not None else None
        anchors.append((type(chart).__name__, *corners, size))
    return anchors


def _corner(column: int, row: int) -> str:
    """Return the cell a chart's corner sits in (markers count from 0), e.g. ``A12``."""
    return f"{get_column_letter(column + 1)}{row + 1}"


def _column_widths(sheet: Any) -> dict[int, float]:
    """Return the width of every column that has one, by column number."""
    widths: dict[int, float] = {}
    for dimension in sheet.column_dimensions.values():
        if not dimension.width or dimension.min is None:
            continue
        for column in range(dimension.min, (dimension.max or dimension.min) + 1):
            widths[column] = round(float(dimension.width), 2)
    return widths


def _row_heights(sheet: Any) -> dict[int, float]:
    """Return the height of every row that has one, by row number."""
    return {
        row: round(float(dimension.height), 2)
        for row, dimension in sheet.row_dimensions.items()
        if dimension.height
    }
