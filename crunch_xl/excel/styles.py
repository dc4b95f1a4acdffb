"""The one style table of crunch-xl's workbooks: the template and the result sheets look alike.

Fonts, fills, borders, alignments, number formats and colours, each named by what it marks,
and the few helpers that size rows and set up printing the same way on every sheet.
"""

from __future__ import annotations

import math
from typing import Any

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

#: Every font names its face: a font without one shows as a serif face outside Excel.
BODY_FONT_NAME = "Calibri"


def font(*, size: float = 11, **style: Any) -> Font:
    """Return a font in the body face, 11 pt unless told otherwise."""
    return Font(name=BODY_FONT_NAME, size=size, **style)


def solid(colour: str) -> PatternFill:
    """Return a solid fill of this colour (RGB hex, e.g. ``1F4E78``)."""
    return PatternFill(fill_type="solid", fgColor=colour)


# --- colours -------------------------------------------------------------------------------

DARK_BLUE = "1F4E78"
NAVY = "1F3864"
GREY_TEXT = "595959"
#: Excel's own Good / Neutral / Bad cell colours (fill, font).
GOOD = ("C6EFCE", "006100")
NEUTRAL = ("FFEB9C", "9C5700")
BAD = ("FFC7CE", "9C0006")

# --- text ----------------------------------------------------------------------------------

TITLE_FONT = font(bold=True, size=14, color=NAVY)
SECTION_FONT = font(bold=True, size=12, color=NAVY)
LABEL_FONT = font(bold=True)
NOTE_FONT = font(italic=True, color=GREY_TEXT)
LINK_FONT = font(underline="single", color="0563C1")
TOTAL_FONT = font(bold=True)
BEST_OPTION_FONT = font(bold=True)
COMPOSITE_FONT = font(italic=True, color="843C0C")
FULL_CLASS_FONT = font(bold=True, color=BAD[1])

# --- table headers -------------------------------------------------------------------------

HEADER_FONT = font(bold=True, color="FFFFFF")
HEADER_FILL = solid(DARK_BLUE)
#: Under a result table's header row.
HEADER_BORDER = Border(bottom=Side(style="thin", color="8EA9DB"))
#: Round the template's header cells, boxed like the input cells below them.
_HEADER_SIDE = Side(style="thin", color=DARK_BLUE)
INPUT_HEADER_BORDER = Border(
    left=_HEADER_SIDE, right=_HEADER_SIDE, top=_HEADER_SIDE, bottom=_HEADER_SIDE
)
#: A label over a group of columns (e.g. the grade columns).
GROUP_HEADER_FONT = font(bold=True, italic=True, color=DARK_BLUE)
GROUP_HEADER_FILL = solid("DDEBF7")

# --- cells ---------------------------------------------------------------------------------

#: The template's input cells: the only shaded, bordered cells, so they stand out.
INPUT_FILL = solid("FFF2CC")
_INPUT_SIDE = Side(style="thin", color="BF9000")
INPUT_BORDER = Border(left=_INPUT_SIDE, right=_INPUT_SIDE, top=_INPUT_SIDE, bottom=_INPUT_SIDE)
COMPOSITE_FILL = solid("FCE4D6")
TOTAL_BORDER = Border(top=Side(style="thin", color=DARK_BLUE))

# --- alignment -----------------------------------------------------------------------------

WRAP_TOP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
LEFT = Alignment(horizontal="left")
CENTRED = Alignment(horizontal="center", vertical="center")
CENTRED_TOP = Alignment(horizontal="center", vertical="top")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
#: A table's first header, over the labels: left as they are.
FIRST_HEADER_ALIGNMENT = Alignment(vertical="center")
LINK_ALIGNMENT = Alignment(vertical="top", indent=1)

# --- number formats ------------------------------------------------------------------------

INTEGER_FORMAT = "0"
SECONDS_FORMAT = "0.00"
#: Typed 1/2 must stay text: Excel would otherwise turn it into a date.
TEXT_FORMAT = "@"

# --- rows and pages ------------------------------------------------------------------------

#: Excel's default row height in points; a wrapped row is this many points a line.
ROW_HEIGHT_PT = 15.0
#: Characters of body text a column holds per unit of width: text averages narrower than the
#: digit "0" that Excel's width unit measures.
TEXT_CHARACTERS_PER_WIDTH = 1.15


def lines_needed(text: str, width: float, per_width: float = TEXT_CHARACTERS_PER_WIDTH) -> int:
    """Return how many lines wrapped text takes in a cell ``width`` characters wide."""
    per_line = max(1, int(width * per_width))
    return sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))


def fit_height(sheet: Any, row: int, lines: int) -> None:
    """Make a row tall enough for ``lines`` lines of wrapped text (never shorter than it is).

    Excel does not grow a row for wrapped text a program wrote, nor ever a merged row.
    """
    if lines > 1:
        current = sheet.row_dimensions[row].height
        sheet.row_dimensions[row].height = max(ROW_HEIGHT_PT * lines, current or 0)


def fit_to_page_width(sheet: Any) -> None:
    """Print the sheet landscape, one page wide and as many pages tall as it takes."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
