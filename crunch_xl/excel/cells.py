"""The cells of a few columns of a worksheet, streamed from its XML: never a whole grid.

A sheet's ``<dimension>`` may claim the whole grid (A1:XFD1048576), and a workbook may hold a
million-cell data sheet beside its scenarios; neither is ever laid out in memory. A worksheet
part is read in pieces, cut after a complete row, and only the cells of the columns asked for
are picked out by one regular expression over the bytes, so the cost is one pass of
decompression and a scan in C. Cells without an ``r`` attribute (a few writers leave it out;
then position counts) are found by a slower walk through every row and cell of that sheet.

Shared strings are streamed the same way and only the items asked for are kept.

What a cell *means* (text of a shared or rich string, a number formatted as a date) is left
to calamine: the cells picked out are put into a small workbook of their own, one compact row
per row found, which calamine reads. Formulas and error values, which calamine does not tell
apart from blanks, are taken from the cells' own XML.
"""

from __future__ import annotations

import html
import io
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

#: A cell's column letter and row number in its ``r`` attribute.
_REFERENCE = re.compile(rb'\sr="([A-Z]{1,3})(\d+)"')
_CELL_START = rb"<(?P<prefix>[A-Za-z_][\w.-]*:)?c(?=[\s/>])"
#: A cell start tag without an ``r`` attribute.
_CELL_WITHOUT_REFERENCE = re.compile(_CELL_START + rb"(?![^>]*\sr=)")
_ROW_OR_CELL = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(?P<tag>row|c)(?=[\s/>])(?P<attributes>[^>]*?)(?P<empty>/?)>"
)
_CELL_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c>")
_ATTRIBUTE = re.compile(rb'([\w:.-]+)\s*=\s*"([^"]*)"|([\w:.-]+)\s*=\s*\'([^\']*)\'')
_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?v(?:\s[^>]*)?>(.*?)</(?:[A-Za-z_][\w.-]*:)?v>", re.S)
_FORMULA = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?f(?:\s[^>]*)?(?:/>|>(.*?)</(?:[A-Za-z_][\w.-]*:)?f>)", re.S
)
_INLINE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?is(?:\s[^>]*)?>.*?</(?:[A-Za-z_][\w.-]*:)?is>", re.S)
_ITEM = re.compile(
    rb"<(?P<prefix>[A-Za-z_][\w.-]*:)?si(?:\s[^>]*)?(?:/>|>.*?</(?P=prefix)?si>)", re.S
)
_PREFIXED_TAG = re.compile(rb"<(/?)[A-Za-z_][\w.-]*:")
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@dataclass(frozen=True)
class RawCell:
    """One cell as its sheet stores it."""

    row: int
    column: str
    #: The ``t`` attribute: ``s``, ``str``, ``inlineStr``, ``b``, ``e``, ``n``, ``d`` ("" = n).
    kind: str
    #: The ``s`` attribute (style index), "" when absent.
    style: str
    #: The ``<v>`` text, unescaped; None when there is none (or it is empty).
    value: str | None
    #: The formula text, unescaped ("" for a shared formula's dependent cell); None: no formula.
    formula: str | None
    #: The ``<is>`` element of an inline string, as stored.
    inline: bytes = b""


def column_cells(chunks: Iterable[bytes], columns: str) -> Iterator[RawCell]:
    """Yield the cells of a worksheet part that lie in ``columns`` (single letters), in order."""
    # The search starts with literal text, so the regular expression engine skips to each
    # reference in C; only the references of the columns wanted come back to Python.
    wanted = re.compile(rb'\sr="([' + columns.encode() + rb'])(\d+)"')
    position: _Position | None = None
    for piece in _whole_rows(chunks):
        if position is None and _without_references(piece):
            position = _Position()
        if position is not None:
            yield from (cell for cell in position.cells(piece) if cell.column in columns)
            continue
        for match in wanted.finditer(piece):
            start = piece.rfind(b"<", 0, match.start())
            tag = _CELL_TAG.match(piece, start)
            if tag is None or tag.end() < match.end():
                continue  # a row's reference, or not a cell
            body = None
            if not tag["empty"]:
                end = _CELL_END.search(piece, tag.end())
                body = piece[tag.end() : end.start()] if end else b""
            yield _cell(int(match[2]), match[1].decode(), tag["attributes"], body)


_TEXT_KINDS = ("s", "inlineStr", "str")
#: How much of each piece is searched for cells without references: writers leave them out
#: everywhere or nowhere, and the search is slow.
_SAMPLE = 64 * 1024


def _without_references(piece: bytes) -> bool:
    """Return whether a piece of a sheet (sampled at its start) has cells without ``r``."""
    end = piece.rfind(b">", 0, _SAMPLE) + 1  # never cut a tag, or its r would seem missing
    return _CELL_WITHOUT_REFERENCE.search(piece, 0, end) is not None


def _odd_space(piece: bytes) -> bool:
    """Return whether attributes in a piece are separated by tabs or line breaks."""
    # One byte is looked for first: that search runs at memory speed, while a search for the
    # whole attribute stops at every quote, and most pieces hold no tab or line break at all.
    return any(
        space in piece and (space + b'r="' in piece or space + b't="' in piece)
        for space in (b"\t", b"\r", b"\n")
    )


_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c(?P<attributes>\s[^>]*?)(?P<empty>/?)>")


def label_cells(chunks: Iterable[bytes], column: str, shared: set[int]) -> Iterator[RawCell]:
    """Yield the cells of a column that may hold a label: the shared strings given, and text.

    Made for finding a few labels in sheets of any size: each pattern starts with literal text
    and names the shared strings wanted, so the engine passes every other cell in C.
    """
    letter = column.encode()
    spaced, any_space = (
        _label_patterns(b" ", letter, shared),
        _label_patterns(rb"\s", letter, shared),
    )
    position: _Position | None = None
    for piece in _whole_rows(chunks):
        if position is None and _without_references(piece):
            position = _Position()
        if position is not None:
            yield from (
                cell
                for cell in position.cells(piece)
                if cell.column == column and cell.kind in _TEXT_KINDS
            )
            continue
        patterns = any_space if _odd_space(piece) else spaced
        starts = {piece.rfind(b"<", 0, m.start()) for p in patterns for m in p.finditer(piece)}
        for start in sorted(starts):
            tag = _CELL_TAG.match(piece, start)
            if tag is None:
                continue
            found = _REFERENCE.search(tag["attributes"])
            if found is None or found[1] != letter:
                continue
            body = None
            if not tag["empty"]:
                end = _CELL_END.search(piece, tag.end())
                body = piece[tag.end() : end.start()] if end else b""
            yield _cell(int(found[2]), column, tag["attributes"], body)


def _label_patterns(space: bytes, letter: bytes, shared: set[int]) -> list[re.Pattern[bytes]]:
    """Return patterns for text cells of a column and for cells of the shared strings given.

    Starting with a literal space (not ``\\s``) lets the engine jump from candidate to candidate.
    """
    reference = space + rb'r="' + letter + rb'(\d+)"'
    inside = rb"[^>]*?"
    found = [
        reference + inside + rb'\st="(?:inlineStr|str)"',
        space + rb't="(?:inlineStr|str)"' + inside + reference,
    ]
    if shared:
        value = rb"[^>]*>\s*<(?:[A-Za-z_][\w.-]*:)?v>\s*(?:"
        value += b"|".join(str(index).encode() for index in sorted(shared)) + rb")\s*<"
        found += [
            reference + inside + rb'\st="s"' + value,
            space + rb't="s"' + inside + reference + value,
        ]
    return [re.compile(pattern) for pattern in found]


def _whole_rows(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield a part's bytes cut after complete rows (what follows the last row comes last)."""
    carried = b""
    for chunk in chunks:
        data = carried + chunk
        end = _last_end(data, b"row>")
        if end <= 0:
            carried = data
            continue
        yield data[:end]
        carried = data[end:]
    if carried:
        yield carried


def _last_end(data: bytes, tail: bytes) -> int:
    """Return where the last closing tag ending in ``tail`` (any prefix) ends, or 0."""
    at = len(data)
    while True:
        at = data.rfind(tail, 0, at)
        if at < 0:
            return 0
        start = data.rfind(b"<", max(0, at - 64), at)
        if start >= 0 and _CLOSING_HEAD.fullmatch(data, start, at):
            return at + len(tail)


_CLOSING_HEAD = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?")


class _Position:
    """Where the walk through a sheet written without cell references has got to."""

    def __init__(self) -> None:
        self.row = 0
        self.column = 0

    def cells(self, piece: bytes) -> Iterator[RawCell]:
        """Yield every cell of a piece, placing cells without ``r`` by counting."""
        at = 0
        while True:
            match = _ROW_OR_CELL.search(piece, at)
            if match is None:
                return
            attributes = match["attributes"]
            at = match.end()
            if match["tag"] == b"row":
                found = re.search(rb'\sr="(\d+)"', attributes)
                self.row = int(found[1]) if found else self.row + 1
                self.column = 0
                continue
            reference = _REFERENCE.search(attributes)
            if reference:
                self.column = _column_number(reference[1].decode())
                self.row = int(reference[2])
            else:
                self.column += 1
            body = None
            if not match["empty"]:
                end = _CELL_END.search(piece, at)
                body = piece[at : end.start()] if end else b""
                at = end.end() if end else len(piece)
            yield _cell(self.row, _column_letter(self.column), attributes, body)


def _cell(row: int, column: str, attributes: bytes, body: bytes | None) -> RawCell:
    """Return a RawCell from a cell's attributes and the XML inside it."""
    found = _attributes(attributes)
    kind = found.get("t", "")
    value = formula = None
    inline = b""
    if body:
        v = _VALUE.search(body)
        if v and v[1].strip():
            value = _text(v[1])
        f = _FORMULA.search(body)
        if f:
            formula = _text(f[1] or b"")
        if kind == "inlineStr":
            i = _INLINE.search(body)
            inline = i[0] if i else b""
    return RawCell(row, column, kind, found.get("s", ""), value, formula, inline)


def _attributes(data: bytes) -> dict[str, str]:
    """Return the attributes of a start tag, by local name."""
    found = {}
    for match in _ATTRIBUTE.finditer(data):
        name = (match[1] or match[3]).decode("utf-8", "replace").rsplit(":", 1)[-1]
        found[name] = _text(match[2] if match[1] else match[4])
    return found


def _text(data: bytes) -> str:
    """Return XML character data as text (entities and character references resolved)."""
    return html.unescape(data.decode("utf-8", "replace")) if b"&" in data else data.decode()


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _column_letter(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- shared strings ----------------------------------------------------------------------


def shared_items(chunks: Iterable[bytes], wanted: set[int]) -> dict[int, bytes]:
    """Return the shared-string items (``<si>`` elements, as stored) of the indexes wanted."""
    found: dict[int, bytes] = {}
    if not wanted:
        return found
    highest = max(wanted)
    for index, piece, count in _item_pieces(chunks):
        if any(index <= number < index + count for number in wanted):
            for offset, match in enumerate(_ITEM.finditer(piece)):
                if index + offset in wanted:
                    found[index + offset] = match[0]
        if index + count > highest:
            break
    return found


def shared_items_where(chunks: Iterable[bytes], hint: re.Pattern[bytes]) -> dict[int, bytes]:
    """Return the shared-string items whose XML matches ``hint``, by index."""
    found: dict[int, bytes] = {}
    for index, piece, _ in _item_pieces(chunks):
        if hint.search(piece) is None:
            continue
        for offset, match in enumerate(_ITEM.finditer(piece)):
            if hint.search(match[0]):
                found[index + offset] = match[0]
    return found


def _item_pieces(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes, int]]:
    """Yield (index of its first item, piece, items in it) for the shared strings part.

    Pieces are cut after complete items; items are counted with ``bytes.count`` on the
    item's start tag (its prefix is the first item's), so pieces wanted by no one cost little.
    """
    index = 0
    starts: tuple[bytes, ...] = ()
    carried = b""
    for chunk in itertools.chain(chunks, [b""]):
        data = carried + chunk
        end = _last_end(data, b"si>") if chunk else len(data)
        if end <= 0:
            carried = data
            continue
        piece, carried = data[:end], data[end:]
        if not starts:
            first = _ITEM.search(piece)
            if first is None:
                continue
            tag = b"<" + (first["prefix"] or b"") + b"si"
            starts = (tag + b">", tag + b" ", tag + b"/>", tag + b"\n", tag + b"\t", tag + b"\r")
        count = sum(piece.count(start) for start in starts)
        yield index, piece, count
        index += count


# --- values, through calamine --------------------------------------------------------------


def values_workbook(
    sheets: list[list[RawCell]],
    strings: dict[int, bytes],
    styles: bytes | None,
    date1904: bool,
) -> tuple[io.BytesIO, list[list[int]]]:
    """Return a workbook holding only these cells, and the Excel rows of each sheet's rows.

    Sheet ``S1`` holds the first list of cells, and so on; its n-th row holds the cells of the
    n-th row found (so a cell far down costs one row), shared strings renumbered. The original
    styles come along, so that numbers formatted as dates are read as dates.
    """
    numbering = {index: number for number, index in enumerate(sorted(strings))}
    sst = b"".join(_unprefixed(strings[index]) for index in sorted(strings))
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": _workbook(len(sheets), date1904),
        "xl/_rels/workbook.xml.rels": _workbook_rels(len(sheets), styles is not None),
        "xl/sharedStrings.xml": b'<sst xmlns="' + _MAIN.encode() + b'">' + sst + b"</sst>",
    }
    if styles is not None:
        parts["xl/styles.xml"] = styles
    rows_of: list[list[int]] = []
    for number, cells in enumerate(sheets, start=1):
        rows = sorted({cell.row for cell in cells})
        rows_of.append(rows)
        parts[f"xl/worksheets/sheet{number}.xml"] = _sheet(cells, rows, numbering)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer, rows_of


def _sheet(cells: list[RawCell], rows: list[int], numbering: dict[int, int]) -> bytes:
    """Return a worksheet part holding the cells, row r written as the r-th row found."""
    compact = {row: number for number, row in enumerate(rows, start=1)}
    by_row: dict[int, list[bytes]] = {}
    for cell in cells:
        number = compact[cell.row]
        reference = f"{cell.column}{number}".encode()
        style = f' s="{cell.style}"'.encode() if cell.style.isdigit() else b""
        if cell.kind == "s" and cell.value is not None and cell.value.strip().isdigit():
            index = numbering.get(int(cell.value))
            if index is None:
                continue
            body = b' t="s"><v>%d</v></c>' % index
        elif cell.kind == "inlineStr" and cell.inline:
            body = b' t="inlineStr">' + _unprefixed(cell.inline) + b"</c>"
        elif cell.kind in ("", "n", "d") and cell.value is not None:
            kind = b' t="d"' if cell.kind == "d" else b""
            body = kind + b"><v>" + html.escape(cell.value).encode() + b"</v></c>"
        elif cell.kind == "str" and cell.value is not None:
            body = b' t="str"><v>' + html.escape(cell.value).encode() + b"</v></c>"
        else:
            continue  # booleans, errors and formulas are read from the XML itself
        by_row.setdefault(number, []).append(b'<c r="' + reference + b'"' + style + body)
    rows_xml = b"".join(
        b'<row r="%d">' % number + b"".join(by_row[number]) + b"</row>" for number in sorted(by_row)
    )
    return (
        b'<worksheet xmlns="' + _MAIN.encode() + b'"><sheetData>' + rows_xml
        + b"</sheetData></worksheet>"
    )  # fmt: skip


def _unprefixed(element: bytes) -> bytes:
    """Return an element with its namespace prefix dropped from every tag."""
    return _PREFIXED_TAG.sub(rb"<\1", element)


def _workbook(sheets: int, date1904: bool) -> bytes:
    listed = "".join(
        f'<sheet name="S{n}" sheetId="{n}" r:id="rId{n}"/>' for n in range(1, sheets + 1)
    )
    return (
        f'<workbook xmlns="{_MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
        f'2006/relationships"><workbookPr date1904="{int(date1904)}"/><sheets>{listed}</sheets>'
        "</workbook>"
    ).encode()


_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _workbook_rels(sheets: int, styles: bool) -> bytes:
    items = [
        f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, sheets + 1)
    ]
    items.append(
        f'<Relationship Id="rIdS" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    )
    if styles:
        items.append(f'<Relationship Id="rIdT" Type="{_REL}/styles" Target="styles.xml"/>')
    return (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(items)
        + "</Relationships>"
    ).encode()


_CONTENT_TYPES = (
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.sheet.main+xml"/></Types>'
)
_ROOT_RELS = (
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
