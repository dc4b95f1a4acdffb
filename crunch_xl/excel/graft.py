"""Graft sheets built by openpyxl into the user's own workbook package, part by part.

The user's workbook is never loaded and saved again by a spreadsheet library: that loses what
the library does not understand (printer settings, chart styles, rich text, pivot tables,
controls, anything not yet invented). Instead, the result sheets are built in a workbook of
their own (see writer.py) and grafted into the original package at the zip level:

- their worksheet, drawing and chart parts go in under fresh names, with their relationships
  and content types; their strings are written inline, so the user's shared strings stay as
  they are;
- the sheets are appended to the workbook part's ``<sheets>``, their sheet-scoped names (the
  mark, print titles) to its ``<definedNames>``, and the summary becomes the active tab;
- the styles they use are appended to the styles part (or found there already, so running
  twice adds nothing), and their cells' style indexes renumbered to match.

Sheets an earlier run grafted (found by their mark, ``model.RESULT_SHEET_MARK``) are taken out
first, with every part only they reached. Every other part is copied byte for byte, compressed
data included, so a large data sheet costs a copy and never a decompression. The parts that
change are the workbook part, its relationships, ``[Content_Types].xml`` and the styles part;
besides them only a sheet that was the selected tab loses its ``tabSelected`` flag (two selected
tabs open in Excel as a group, where typing edits both), unless it is too large to rewrite
quickly (then it stays selected and the workbook opens on it, not on the summary), and the
calculation chain is dropped when it pointed into a removed sheet (Excel rebuilds it).
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_xml

from crunch_xl.errors import WorkbookError
from crunch_xl.excel.package import Package, SheetEntry, local, parse_relationships

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WORKSHEET_TYPE = _RELATIONSHIPS_NS + "/worksheet"
_STYLES_TYPE = _RELATIONSHIPS_NS + "/styles"
_STYLES_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
#: Parts this large or larger are recompressed fast rather than small.
_LARGE_PART = 8 * 1024 * 1024
#: A selected sheet of the user's is unselected (so that the summary opens alone) only up to
#: this size unpacked (about a million cells): that rewrites and recompresses the whole part,
#: seconds for a sheet of millions of cells, while leaving it selected costs nothing.
_LARGEST_SHEET_TO_UNSELECT = 32 * 1024 * 1024
_CHUNK = 1024 * 1024
# Children of a styles part, in the order the schema requires.
_STYLE_ORDER = (
    "numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
    "tableStyles", "colors", "extLst",
)  # fmt: skip
# Children of a workbook part that come before <sheets>, and before <definedNames>.
_BEFORE_BOOK_VIEWS = (
    "fileVersion", "fileSharing", "workbookPr", "AlternateContent", "revisionPtr", "absPath",
    "workbookProtection",
)  # fmt: skip
_BEFORE_DEFINED_NAMES = ("sheets", "functionGroups", "externalReferences")


@dataclass
class _Built:
    """The workbook openpyxl built: its parts by name, and its sheets in order."""

    parts: dict[str, bytes]
    content_types: dict[str, str]
    #: (name, part) of each sheet, in order.
    sheets: list[tuple[str, str]]
    #: Sheet-scoped names: (name, local sheet index, attributes without localSheetId, text).
    names: list[tuple[str, int, dict[str, str], str]]
    styles: Element
    strings: list[bytes] = field(default_factory=list)


def graft(package: Package, built: bytes) -> bytes:
    """Return the user's package with the built workbook's sheets grafted in at its end.

    Earlier result sheets are taken out first; the first built sheet becomes the active tab.
    """
    return _Graft(package, _read_built(built)).run()


def replaced_sheets(package: Package) -> list[SheetEntry]:
    """Return the sheets a graft takes out: those an earlier run wrote (they carry the mark)."""
    return [sheet for sheet in package.sheets if sheet.is_result]


# --- the built workbook ------------------------------------------------------------------


def _read_built(data: bytes) -> _Built:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    types = _content_types(parts["[Content_Types].xml"])
    workbook = safe_xml.fromstring(parts["xl/workbook.xml"])
    rels = parse_relationships(parts["xl/_rels/workbook.xml.rels"], "xl/workbook.xml")
    sheets = []
    for element in workbook.iter(f"{{{_MAIN}}}sheet"):
        rid = next(v for k, v in element.attrib.items() if local(k) == "id")
        sheets.append((element.get("name", ""), rels[rid].target))
    names = []
    for element in workbook.iter(f"{{{_MAIN}}}definedName"):
        attributes = dict(element.attrib)
        sheet = attributes.pop("localSheetId", None)
        if sheet is not None:
            names.append((attributes.pop("name"), int(sheet), attributes, element.text or ""))
    strings = []
    if "xl/sharedStrings.xml" in parts:
        strings = re.findall(rb"<si>(.*?)</si>", parts["xl/sharedStrings.xml"], re.S)
    return _Built(
        parts=parts,
        content_types=types,
        sheets=sheets,
        names=names,
        styles=safe_xml.fromstring(parts["xl/styles.xml"]),
        strings=strings,
    )


def _content_types(data: bytes) -> dict[str, str]:
    """Return the content type of every part a content-types part overrides, by part name."""
    found = {}
    for element in safe_xml.fromstring(data):
        if local(element.tag) == "Override":
            found[element.get("PartName", "").lstrip("/")] = element.get("ContentType", "")
    return found


# --- the graft ---------------------------------------------------------------------------


class _Graft:
    def __init__(self, package: Package, built: _Built) -> None:
        self.package = package
        self.built = built
        self.workbook_part = package.workbook_part
        self.folder = posixpath.dirname(self.workbook_part)
        self.sheets = package.sheets
        self.kept = [sheet for sheet in self.sheets if not sheet.is_result]
        self.removed = replaced_sheets(package)
        #: New bytes of the original parts that change (or how to edit them as they are
        #: copied); None: the part goes.
        self.changed: dict[str, bytes | _StreamedEdit | None] = {}
        #: New parts, in the order they are written.
        self.added: dict[str, bytes] = {}
        self.added_types: dict[str, str] = {}
        #: Names chosen for new parts so far.
        self.chosen: list[str] = []

    # -- what goes ----------------------------------------------------------------------------

    def removed_parts(self) -> set[str]:
        """Return the parts reached only through removed sheets (their rels parts included)."""
        if not self.removed:
            return set()
        removed_sheets = {sheet.part for sheet in self.removed if sheet.part}
        kept = self._reachable([""], removed_sheets)
        gone = self._reachable(sorted(removed_sheets), set()) - kept
        rels = {self.package.find(self.package.relationships_part(part)) for part in gone}
        return {part for part in gone | rels if part and part in self.package.names}

    def _reachable(self, starts: Iterable[str], avoid: set[str]) -> set[str]:
        """Return the parts reached from ``starts`` through relationships, never into avoid."""
        seen: set[str] = set()
        todo = [part for part in starts if part not in avoid]
        while todo:
            part = todo.pop()
            if part in seen:
                continue
            seen.add(part)
            for relationship in self.package.relationships(part).values():
                target = self.package.find(relationship.target)
                if relationship.external or target is None or target in avoid:
                    continue
                todo.append(target)
        return seen

    # -- the whole graft ----------------------------------------------------------------------

    def run(self) -> bytes:
        for part in self.removed_parts():
            self.changed[part] = None
        removed_ids = {self._sheet_id(sheet.index) for sheet in self.removed}
        self._drop_calculation_chain(removed_ids)
        kept_selected = self._unselect_user_sheets()
        style_map = self._styles()
        new_sheets = self._add_parts(style_map, selected=kept_selected is None)
        self._workbook(new_sheets, removed_ids, kept_selected)
        self._content_types_part()
        self._check_edits()
        return self._write()

    def _check_edits(self) -> None:
        """Refuse to write a package whose edited parts would not read as XML.

        The edits are made on the user's bytes, which any writer may have laid out its own
        way; a layout they do not foresee must stop the write, never damage the workbook.
        """
        for name, value in self.changed.items():
            if isinstance(value, bytes) and name.endswith((".xml", ".rels")):
                try:
                    safe_xml.fromstring(value)
                except (safe_xml.ParseError, ValueError) as error:
                    raise WorkbookError(
                        f"its {name} is laid out in a way crunch-xl cannot add results to "
                        f"safely ({error}); the workbook was not changed. Save it again from "
                        "Excel and run crunch-xl again."
                    ) from error

    # -- styles -------------------------------------------------------------------------------

    def _styles(self) -> dict[int, int]:
        """Merge the built styles into the user's styles part; return built xf -> final xf."""
        part = self._workbook_target("styles")
        if part is None:
            # A workbook without styles (some generators leave them out): ours become its own.
            part = posixpath.join(self.folder, "styles.xml")
            while self.package.find(part) is not None:
                part = part[:-4] + "1.xml"
            self.added[part] = self.built.parts["xl/styles.xml"]
            self.added_types[part] = _STYLES_CONTENT
            self._add_workbook_relationship(_STYLES_TYPE, part)
            count = len(_children(self.built.styles, "cellXfs"))
            return {index: index for index in range(count)}
        merged = _StylesMerge(self.package.read(part), self.built.styles)
        self.changed[part] = merged.data
        return merged.xf_map

    # -- new parts ----------------------------------------------------------------------------

    def _add_parts(self, style_map: dict[int, int], selected: bool) -> list[tuple[str, str, str]]:
        """Add the built sheets' parts under fresh names; return (name, part, rId) per sheet.

        Unless ``selected``, none of them is a selected tab.
        """
        built = self.built
        renamed: dict[str, str] = {}
        order: list[str] = []
        todo = [part for _, part in built.sheets]
        while todo:
            part = todo.pop(0)
            if part in renamed:
                continue
            renamed[part] = self._fresh_name(part)
            self.chosen.append(renamed[part])
            order.append(part)
            rels = parse_relationships(built.parts.get(_rels_name(part), b"<r/>"), part)
            todo.extend(r.target for r in rels.values() if not r.external)
        for part in order:
            data = built.parts[part]
            if part in {sheet_part for _, sheet_part in built.sheets}:
                data = _sheet_with(data, style_map, built.strings)
                if not selected:
                    data = _unselected(data)
            self.added[renamed[part]] = data
            self.added_types[renamed[part]] = built.content_types.get(part, "")
            rels_data = built.parts.get(_rels_name(part))
            if rels_data is not None:
                self.added[_rels_name(renamed[part])] = _retargeted(
                    rels_data, part, renamed[part], renamed
                )
        added = []
        for name, part in built.sheets:
            rid = self._add_workbook_relationship(_WORKSHEET_TYPE, renamed[part])
            added.append((name, renamed[part], rid))
        return added

    def _fresh_name(self, built_part: str) -> str:
        """Return a part name like the built one's (same folder and stem) used nowhere yet."""
        folder, base = posixpath.split(built_part)
        stem, suffix = posixpath.splitext(base)
        stem = stem.rstrip("0123456789")
        folder = posixpath.join(self.folder, posixpath.relpath(folder, "xl"))
        gone = {name for name, value in self.changed.items() if value is None}
        taken = {name.lower() for name in self.package.names if name not in gone}
        taken |= {name.lower() for name in [*self.added, *self.chosen]}
        number = 1
        while True:
            candidate = posixpath.normpath(posixpath.join(folder, f"{stem}{number}{suffix}"))
            if candidate.lower() not in taken:
                return candidate
            number += 1

    # -- the workbook part and its relationships --------------------------------------------------

    def _workbook_rels_data(self) -> bytes:
        name = self.package.relationships_part(self.workbook_part)
        changed = self.changed.get(name)
        if isinstance(changed, bytes):
            return changed
        found = self.package.find(name)
        if found is None:
            return (
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
                b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                b"</Relationships>"
            )
        return self.package.read(found)

    def _set_workbook_rels(self, data: bytes) -> None:
        name = self.package.find(self.package.relationships_part(self.workbook_part))
        self.changed[name or self.package.relationships_part(self.workbook_part)] = data

    def _add_workbook_relationship(self, kind: str, part: str) -> str:
        """Add a relationship from the workbook part to a new part; return its id."""
        data = self._workbook_rels_data()
        ids = set(re.findall(rb'\bId="([^"]*)"', data))
        number = len(ids) + 1
        while b"rId%d" % number in ids:
            number += 1
        rid = f"rId{number}"
        target = posixpath.relpath(part, self.folder or ".")
        element = f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"/>'.encode()
        self._set_workbook_rels(_insert_before_close(data, b"Relationships", element))
        return rid

    def _workbook_target(self, kind: str) -> str | None:
        for relationship in self.package.relationships(self.workbook_part).values():
            target = self.package.find(relationship.target)
            if relationship.kind == kind and not relationship.external and target:
                return target
        return None

    def _sheet_id(self, index: int) -> str:
        element = self._sheet_elements()[index]
        found = re.search(rb'\ssheetId="(\d+)"', element)
        return found[1].decode() if found else ""

    def _sheet_elements(self) -> list[bytes]:
        data = self.package.read(self.workbook_part)
        block = _element(data, b"sheets")
        if block is None:
            return []
        return re.findall(rb"<" + _PREFIX + rb"sheet\b[^>]*?(?:/>|>.*?</" + _PREFIX + rb"sheet>)",
                          data[block[0] : block[1]], re.S)  # fmt: skip

    def _workbook(
        self, new_sheets: list[tuple[str, str, str]], removed_ids: set[str], active: int | None
    ) -> None:
        """Rewrite the workbook part: sheets, their names, the active tab (None: the first new
        sheet; else the position of a kept sheet)."""
        data = self.package.read(self.workbook_part)
        prefix = _root_prefix(data)
        r_prefix = _namespace_prefix(data, _RELATIONSHIPS_NS)
        elements = self._sheet_elements()
        kept_elements = [elements[sheet.index] for sheet in self.kept]
        ids = [int(found) for e in elements for found in re.findall(rb'\ssheetId="(\d+)"', e)]
        next_id = max(ids, default=0) + 1
        added = []
        for offset, (name, _, rid) in enumerate(new_sheets):
            relationship = (
                f'{r_prefix}:id="{rid}"'
                if r_prefix
                else (f'r:id="{rid}" xmlns:r="{_RELATIONSHIPS_NS}"')
            )
            added.append(
                f'<{prefix}sheet name="{_attribute(name)}" sheetId="{next_id + offset}" '
                f"{relationship}/>".encode()
            )
        span = _span(data, b"sheets")
        if span is None or span[1] == span[3]:
            raise WorkbookError(f"{self.package.label} has no sheets to add the results to.")
        data = data[: span[1]] + b"".join(kept_elements + added) + data[span[2] :]
        # Removed sheets' relationships go; sheet-scoped names follow their sheets.
        rels = self._workbook_rels_data()
        for sheet in self.removed:
            rels = _without_relationship(rels, self._rid(elements[sheet.index]))
        self._set_workbook_rels(rels)
        position = {sheet.index: number for number, sheet in enumerate(self.kept)}
        first_new = len(self.kept)
        data = self._defined_names(data, prefix, position, first_new)
        data = _book_views(data, prefix, active=first_new if active is None else active)
        self.changed[self.workbook_part] = data

    def _rid(self, element: bytes) -> bytes:
        found = re.search(rb'\s[\w.-]*:?id="([^"]*)"', element)
        return found[1] if found else b""

    def _defined_names(
        self, data: bytes, prefix: str, position: dict[int, int], first_new: int
    ) -> bytes:
        """Return the workbook part with sheet-scoped names renumbered, and ours added."""
        block = _element(data, b"definedNames")
        names: list[tuple[tuple[str, int], bytes]] = []
        if block is not None:
            inside = data[block[0] : block[1]]
            pattern = (
                rb"<" + _PREFIX + rb"definedName\b[^>]*?(?:/>|>.*?</" + _PREFIX + rb"definedName>)"
            )
            for element in re.findall(pattern, inside, re.S):
                sheet = re.search(rb'\slocalSheetId="(\d+)"', element)
                if sheet is not None:
                    if int(sheet[1]) not in position:
                        continue  # scoped to a removed sheet (or to no sheet at all)
                    number = position[int(sheet[1])]
                    element = element.replace(sheet[0], b' localSheetId="%d"' % number, 1)
                names.append((_name_key(element), element))
        for name, index, attributes, text in self.built.names:
            extra = "".join(f' {key}="{_attribute(value)}"' for key, value in attributes.items())
            element = (
                f'<{prefix}definedName name="{_attribute(name)}" '
                f'localSheetId="{first_new + index}"{extra}>{_text(text)}</{prefix}definedName>'
            ).encode()
            names.append((_name_key(element), element))
        # Excel writes names sorted, and sheet-scoped ones by sheet: keep to that.
        body = b"".join(element for _, element in sorted(names, key=lambda item: item[0]))
        span = _span(data, b"definedNames")
        if span is not None:
            if not body:
                return data[: span[0]] + data[span[3] :]
            head = data[span[0] : span[1]].replace(b"/>", b">")
            closing = f"</{prefix}definedNames>".encode()
            return data[: span[0]] + head + body + closing + data[span[3] :]
        if not body:
            return data
        element = f"<{prefix}definedNames>".encode() + body + f"</{prefix}definedNames>".encode()
        return _insert_after_children(data, _BEFORE_DEFINED_NAMES, element)

    # -- the rest -----------------------------------------------------------------------------

    def _drop_calculation_chain(self, removed_ids: set[str]) -> None:
        """Drop the calculation chain when it points into a removed sheet (Excel rebuilds it)."""
        part = self._workbook_target("calcChain")
        if part is None or not removed_ids:
            return
        wanted = re.compile(rb'\si="(' + b"|".join(i.encode() for i in removed_ids) + rb')"')
        if not any(wanted.search(chunk) for chunk in self.package.chunks(part)):
            return
        self.changed[part] = None
        for rid, relationship in self.package.relationships(self.workbook_part).items():
            if relationship.kind == "calcChain":
                rels = _without_relationship(self._workbook_rels_data(), rid.encode())
                self._set_workbook_rels(rels)

    def _unselect_user_sheets(self) -> int | None:
        """Clear ``tabSelected`` on the user's sheets, so that the summary is the one selected
        tab; return None, or the position of a sheet too large to edit: then the user's tabs
        stay selected as they are, and the workbook opens on that one."""
        selected: list[tuple[int, SheetEntry]] = []
        for position, sheet in enumerate(self.kept):
            if not sheet.part or sheet.part in self.changed:
                continue
            head = b""
            for chunk in self.package.chunks(sheet.part):
                head += chunk
                if (
                    re.search(rb"<" + _PREFIX + rb"(?:sheetData|sheetPr\b[^>]*/)", head)
                    or len(head) > 4 * _CHUNK
                ):
                    break
            views = _element(head, b"sheetViews")
            if views is None or not re.search(
                rb'\stabSelected="(?:1|true)"', head[views[0] : views[1]]
            ):
                continue
            selected.append((position, sheet))
        for position, sheet in selected:
            if self.package.names[sheet.part].file_size > _LARGEST_SHEET_TO_UNSELECT:
                return position
        for _, sheet in selected:
            self.changed[sheet.part] = _StreamedEdit(self.package, sheet.part)
        return None

    def _content_types_part(self) -> None:
        name = self.package.find("[Content_Types].xml") or "[Content_Types].xml"
        data = self.package.read(name)
        gone = [part for part, value in self.changed.items() if value is None]
        for part in gone:
            override = rb'Override\b[^>]*\sPartName="/' + re.escape(part.encode()) + rb'"[^>]*?/>'
            data = re.sub(rb"<" + _PREFIX + override, b"", data, flags=re.I)
        additions = b"".join(
            f'<Override PartName="/{part}" ContentType="{kind}"/>'.encode()
            for part, kind in self.added_types.items()
            if kind
        )
        self.changed[name] = _insert_before_close(data, b"Types", additions)

    # -- writing ------------------------------------------------------------------------------

    def _write(self) -> bytes:
        output = io.BytesIO()
        writer = _ZipWriter(output)
        stream = self.package.stream
        for name, info in self.package.names.items():
            if name in self.changed:
                value = self.changed[name]
                if value is None:
                    continue
                if isinstance(value, _StreamedEdit):
                    writer.add_chunks(
                        name, value.chunks(), info.date_time, large=info.file_size >= _LARGE_PART
                    )
                else:
                    writer.add(name, value, info.date_time)
            else:
                writer.copy(stream, info, self.package.label)
        now = time.localtime()[:6]
        for name, value in self.changed.items():
            if isinstance(value, bytes) and name not in self.package.names:
                writer.add(name, value, now)
        for name, data in self.added.items():
            writer.add(name, data, now)
        writer.close()
        return output.getvalue()


class _StreamedEdit:
    """A user sheet whose ``tabSelected`` flag is cleared as it is copied, piece by piece."""

    def __init__(self, package: Package, part: str) -> None:
        self.package = package
        self.part = part

    def chunks(self) -> Iterator[bytes]:
        done = False
        for chunk in self.package.chunks(self.part):
            if not done:
                edited = _unselected(chunk)
                done = edited != chunk or b"sheetData" in chunk
                chunk = edited
            yield chunk


# --- styles ------------------------------------------------------------------------------


class _StylesMerge:
    """The user's styles part with the built styles appended (or found there already)."""

    def __init__(self, data: bytes, built: Element) -> None:
        self.data = data
        self.prefix = _root_prefix(data)
        original = safe_xml.fromstring(data)
        formats = self._number_formats(original, built)
        fonts = self._merge(original, built, "fonts")
        fills = self._merge(original, built, "fills")
        borders = self._merge(original, built, "borders")
        has_style_xfs = bool(_children(original, "cellStyleXfs"))
        maps = {"numFmtId": formats, "fontId": fonts, "fillId": fills, "borderId": borders}
        xfs = []
        for xf in _children(built, "cellXfs"):
            xf = _copy(xf)
            for attribute, mapping in maps.items():
                if xf.get(attribute) is not None:
                    xf.set(attribute, str(mapping.get(int(xf.get(attribute, "0")), 0)))
            if has_style_xfs:
                xf.set("xfId", "0")
            elif "xfId" in xf.attrib:
                del xf.attrib["xfId"]
            xfs.append(xf)
        self.xf_map = self._append(original, "cellXfs", xfs)

    def _number_formats(self, original: Element, built: Element) -> dict[int, int]:
        """Return built number format id -> the user's id for the same format code."""
        mapping = {number: number for number in range(164)}
        existing = {
            element.get("formatCode", ""): int(element.get("numFmtId", "0"))
            for element in _children(original, "numFmts")
        }
        highest = max([163, *existing.values()])
        additions: list[Element] = []
        for element in _children(built, "numFmts"):
            number, code = int(element.get("numFmtId", "0")), element.get("formatCode", "")
            if code in existing:
                mapping[number] = existing[code]
                continue
            highest += 1
            mapping[number] = existing[code] = highest
            copy = _copy(element)
            copy.set("numFmtId", str(highest))
            additions.append(copy)
        if additions:
            self._insert(original, "numFmts", additions)
        return mapping

    def _merge(self, original: Element, built: Element, container: str) -> dict[int, int]:
        return self._append(original, container, list(_children(built, container)))

    def _append(self, original: Element, container: str, elements: list[Element]) -> dict[int, int]:
        """Append the elements not there already; return element position -> final index."""
        existing: dict[str, int] = {}
        for index, element in enumerate(_children(original, container)):
            existing.setdefault(_canonical(element), index)
        count = len(_children(original, container))
        mapping = {}
        additions: list[Element] = []
        for position, element in enumerate(elements):
            key = _canonical(element)
            if key not in existing:
                existing[key] = count + len(additions)
                additions.append(element)
            mapping[position] = existing[key]
        if additions:
            self._insert(original, container, additions)
        return mapping

    def _insert(self, original: Element, container: str, additions: list[Element]) -> None:
        """Append serialised elements inside a container of the styles part, fixing its count."""
        body = b"".join(_serialise(element, self.prefix) for element in additions)
        block = _element(self.data, container.encode())
        if block is None:
            total = len(additions)
            element = (
                f'<{self.prefix}{container} count="{total}">'.encode()
                + body
                + (f"</{self.prefix}{container}>".encode())
            )
            before = _STYLE_ORDER[: _STYLE_ORDER.index(container)]
            self.data = _insert_after_children(self.data, before, element)
            return
        start, end = block
        tag_end = self.data.index(b">", start)
        total = len(_children(original, container)) + len(additions)
        if self.data[tag_end - 1 : tag_end] == b"/":  # an empty container written as <x/>
            head = self.data[start : tag_end - 1]
            closing = f"</{self.prefix}{container}>".encode()
            replacement = _with_count(head, total) + b">" + body + closing
            self.data = self.data[:start] + replacement + self.data[tag_end + 1 :]
        else:
            head = _with_count(self.data[start:tag_end], total)
            self.data = self.data[:start] + head + self.data[tag_end:end] + body + self.data[end:]
        # The parsed copy follows, so counts of later insertions stay right.
        parent = next((e for e in original if local(e.tag) == container), None)
        if parent is None:
            parent = Element(f"{{{_MAIN}}}{container}")
            original.append(parent)
        parent.extend(additions)


def _unselected(data: bytes) -> bytes:
    """Return a worksheet's XML (or its start) with its sheet view's ``tabSelected`` cleared."""
    return re.sub(rb"(<" + _PREFIX + rb'sheetView\b[^>]*?)\stabSelected="(?:1|true)"', rb"\1", data)


def _with_count(head: bytes, total: int) -> bytes:
    """Return a start tag (without its closing ``>``) with ``count`` set to total."""
    count = _attribute_pattern(b"count")
    if count.search(head):
        return count.sub(b' count="%d"' % total, head, count=1)
    return head + b' count="%d"' % total


def _attribute_pattern(name: bytes) -> re.Pattern[bytes]:
    """Return a pattern matching the attribute in a start tag, whatever its value and quotes."""
    return re.compile(rb"\s" + name + rb"\s*=\s*(?:\"[^\"]*\"|'[^']*')")


def _children(root: Element, container: str) -> list[Element]:
    parent = next((e for e in root if local(e.tag) == container), None)
    return list(parent) if parent is not None else []


def _copy(element: Element) -> Element:
    return safe_xml.fromstring(_serialise(element, ""))


def _canonical(element: Element) -> str:
    """Return an element as a comparable string: local names, sorted attributes, children."""
    attributes = " ".join(f"{local(k)}={v}" for k, v in sorted(element.attrib.items()))
    children = "".join(_canonical(child) for child in element)
    text = (element.text or "").strip()
    return f"<{local(element.tag)} {attributes}>{text}{children}</>"


def _serialise(element: Element, prefix: str) -> bytes:
    """Return an element of the main namespace as XML text, tags with the given prefix."""
    tag = prefix + local(element.tag)
    attributes = "".join(
        f' {local(key)}="{_attribute(value)}"' for key, value in element.attrib.items()
    )
    inside = _text(element.text or "") + "".join(
        _serialise(child, prefix).decode() for child in element
    )
    if not inside:
        return f"<{tag}{attributes}/>".encode()
    return f"<{tag}{attributes}>{inside}</{tag}>".encode()


# --- sheets --------------------------------------------------------------------------------


_CELL_STYLE = re.compile(rb'(<(?:c|row)\b[^>]*?\ss=")(\d+)(")')
_COLUMN_STYLE = re.compile(rb'(<col\b[^>]*?\sstyle=")(\d+)(")')
_SHARED_CELL = re.compile(rb'<c\b(?P<attributes>[^>]*?)\st="s"(?P<rest>[^>]*)><v>(\d+)</v></c>')


def _sheet_with(data: bytes, styles: dict[int, int], strings: list[bytes]) -> bytes:
    """Return a built sheet with its style indexes renumbered and its strings inline."""

    def style(match: re.Match[bytes]) -> bytes:
        return match[1] + str(styles.get(int(match[2]), 0)).encode() + match[3]

    def inline(match: re.Match[bytes]) -> bytes:
        text = strings[int(match[3])]
        return (
            b"<c" + match["attributes"] + b' t="inlineStr"' + match["rest"] + b"><is>" + text
            + b"</is></c>"
        )  # fmt: skip

    data = _CELL_STYLE.sub(style, data)
    data = _COLUMN_STYLE.sub(style, data)
    return _SHARED_CELL.sub(inline, data)


def _rels_name(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def _retargeted(data: bytes, old: str, new: str, renamed: dict[str, str]) -> bytes:
    """Return a built part's relationships pointing at the renamed parts, relative to new."""

    def target(match: re.Match[bytes]) -> bytes:
        value = match[2].decode()
        joined = (
            value[1:] if value.startswith("/") else posixpath.join(posixpath.dirname(old), value)
        )
        resolved = posixpath.normpath(joined)
        if resolved not in renamed:
            return match[0]
        relative = posixpath.relpath(renamed[resolved], posixpath.dirname(new))
        return match[1] + relative.encode() + match[3]

    return re.sub(rb'(\sTarget=")([^"]*)(")', target, data)


# --- the workbook part ----------------------------------------------------------------------


def _book_views(data: bytes, prefix: str, active: int) -> bytes:
    """Return the workbook part with ``active`` as the active and first shown tab."""
    block = _element(data, b"bookViews")
    if block is None:
        views = (
            f'<{prefix}bookViews><{prefix}workbookView activeTab="{active}"/></{prefix}bookViews>'
        )
        return _insert_after_children(data, _BEFORE_BOOK_VIEWS, views.encode())
    start, end = block
    view = re.search(rb"<" + _PREFIX + rb"workbookView\b[^>]*?(/?)>", data[start:end])
    if view is None:
        return data
    tag = view[0]
    # Whatever the tab was (some writers leave "-1": none), it goes.
    edited = _attribute_pattern(b"activeTab").sub(b"", tag)
    first = re.search(rb'\sfirstSheet="(\d+)"', edited)
    if first is not None and int(first[1]) > active:
        edited = edited.replace(first[0], b' firstSheet="%d"' % active)
    closing = b"/>" if tag.endswith(b"/>") else b">"
    edited = edited[: -len(closing)] + b' activeTab="%d"' % active + closing
    at = start + view.start()
    return data[:at] + edited + data[at + len(tag) :]


def _name_key(element: bytes) -> tuple[str, int]:
    name = re.search(rb'\sname="([^"]*)"', element)
    sheet = re.search(rb'\slocalSheetId="(\d+)"', element)
    text = name[1].decode("utf-8", "replace") if name else ""
    return text.casefold(), int(sheet[1]) if sheet else -1


# --- small XML helpers (on bytes, so that nothing else in a part changes) ------------------


def _element(data: bytes, tag: bytes) -> tuple[int, int] | None:
    """Return where an element's start tag begins (after its ``<``) and its content ends.

    For an empty element written ``<x/>`` the content "ends" where the element does.
    """
    span = _span(data, tag)
    return None if span is None else (span[0] + 1, span[2])


def _span(data: bytes, tag: bytes) -> tuple[int, int, int, int] | None:
    """Return (element start, content start, content end, element end) of an element."""
    opening = re.search(rb"<" + _PREFIX + tag + rb"(?=[\s/>])[^>]*?(/?)>", data)
    if opening is None:
        return None
    if opening[1]:
        return opening.start(), opening.end(), opening.end(), opening.end()
    closing = re.compile(rb"</" + _PREFIX + tag + rb"\s*>").search(data, opening.end())
    if closing is None:
        return None
    return opening.start(), opening.end(), closing.start(), closing.end()


def _without_relationship(data: bytes, rid: bytes) -> bytes:
    """Return a relationships part without the relationship of this id."""
    element = rb'Relationship\b[^>]*\sId="' + re.escape(rid) + rb'"[^>]*?(?:/>|>\s*</'
    return re.sub(rb"<" + _PREFIX + element + _PREFIX + rb"Relationship>)", b"", data)


def _insert_before_close(data: bytes, tag: bytes, addition: bytes) -> bytes:
    """Return data with addition placed just before the closing tag of its root ``tag``."""
    closings = list(re.finditer(rb"</" + _PREFIX + tag + rb"\s*>", data))
    closing = closings[-1] if closings else None
    if closing is None:
        empty = re.search(rb"<(" + _PREFIX + tag + rb")(\b[^>]*?)/>", data)
        if empty is None:
            raise WorkbookError(f"The workbook's {tag.decode()} part is not valid.")
        name = empty[1]
        return (
            data[: empty.start()] + b"<" + name + empty[2] + b">" + addition + b"</" + name + b">"
            + data[empty.end() :]
        )  # fmt: skip
    return data[: closing.start()] + addition + data[closing.start() :]


def _insert_after_children(data: bytes, before: tuple[str, ...], addition: bytes) -> bytes:
    """Return the root element's content with addition after the last of ``before`` present."""
    at = None
    for tag in before:
        span = _span(data, tag.encode())
        if span is not None:
            at = max(at or 0, span[3])
    if at is None:
        root = re.search(rb"<(?![?!])([^\s>/]+)[^>]*?(/?)>", data)
        if root is None:
            raise WorkbookError("A part of the workbook has no XML element in it.")
        if root[2]:  # an empty root, <styleSheet .../>: open it to hold the addition
            opened = data[root.start() : root.end() - 2].rstrip() + b">"
            return (
                data[: root.start()]
                + opened
                + addition
                + b"</"
                + root[1]
                + b">"
                + data[root.end() :]
            )
        at = root.end()
    return data[:at] + addition + data[at:]


def _root_prefix(data: bytes) -> str:
    """Return the namespace prefix (with its colon) of a part's root element, often ""."""
    root = re.search(rb"<(?![?!])([A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*", data)
    return root[1].decode() if root and root[1] else ""


def _namespace_prefix(data: bytes, namespace: str) -> str:
    """Return the prefix the root element binds to a namespace ("" when none does)."""
    found = re.search(rb'\sxmlns:([\w.-]+)="' + re.escape(namespace.encode()) + rb'"', data)
    return found[1].decode() if found else ""


def _attribute(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&quot;")
    )  # fmt: skip


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- zip --------------------------------------------------------------------------------------


class _ZipWriter:
    """Writes a zip file, copying other zips' entries without decompressing them."""

    def __init__(self, target: io.BytesIO) -> None:
        self.target = target
        self.entries: list[tuple[bytes, int, int, int, int, int, int, int, int]] = []

    def copy(self, stream: BinaryIO, info: zipfile.ZipInfo, label: str) -> None:
        """Copy an entry's compressed bytes from the zip file ``stream`` as they are."""
        stream.seek(info.header_offset)
        header = stream.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise WorkbookError(f"{label} is damaged (it is not a complete Excel file).")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        stream.seek(info.header_offset + 30 + name_length + extra_length)

        def chunks() -> Iterator[bytes]:
            left = info.compress_size
            while left > 0:
                chunk = stream.read(min(_CHUNK, left))
                if not chunk:
                    raise WorkbookError(f"{label} is damaged (it is not a complete Excel file).")
                left -= len(chunk)
                yield chunk

        self._entry(info.filename, info.compress_type, info.CRC, info.compress_size,
                    info.file_size, info.date_time, chunks())  # fmt: skip

    def add(self, name: str, data: bytes, date_time: tuple[int, ...]) -> None:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = compressor.compress(data) + compressor.flush()
        self._entry(name, zipfile.ZIP_DEFLATED, zlib.crc32(data), len(packed), len(data),
                    date_time, iter([packed]))  # fmt: skip

    def add_chunks(
        self, name: str, chunks: Iterator[bytes], date_time: tuple[int, ...], large: bool
    ) -> None:
        compressor = zlib.compressobj(1 if large else 6, zlib.DEFLATED, -15)
        packed = []
        crc = size = 0
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            packed.append(compressor.compress(chunk))
        packed.append(compressor.flush())
        total = sum(len(piece) for piece in packed)
        self._entry(name, zipfile.ZIP_DEFLATED, crc, total, size, date_time, iter(packed))

    def _entry(
        self,
        name: str,
        method: int,
        crc: int,
        compressed: int,
        size: int,
        date_time: tuple[int, ...],
        chunks: Iterator[bytes],
    ) -> None:
        encoded = name.encode("utf-8")
        flags = 0x800 if not name.isascii() else 0
        stamp = _dos_time(date_time)
        offset = self.target.tell()
        self.target.write(
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                20,
                flags,
                method,
                stamp[1],
                stamp[0],
                crc,
                compressed,
                size,
                len(encoded),
                0,
            )  # fmt: skip
            + encoded
        )
        for chunk in chunks:
            self.target.write(chunk)
        self.entries.append(
            (encoded, flags, method, stamp[0], stamp[1], crc, compressed, size, offset)
        )

    def close(self) -> None:
        start = self.target.tell()
        for encoded, flags, method, date, clock, crc, compressed, size, offset in self.entries:
            self.target.write(
                struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, method, clock,
                            date, crc, compressed, size, len(encoded), 0, 0, 0, 0, 0, offset)
                + encoded
            )  # fmt: skip
        end = self.target.tell()
        count = len(self.entries)
        self.target.write(
            struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, end - start, start, 0)
        )


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    """Return (date, time) in the zip format's DOS encoding."""
    year, month, day, hour, minute, second = (list(date_time) + [0] * 6)[:6]
    if year < 1980:
        year, month, day, hour, minute, second = 1980, 1, 1, 0, 0, 0
    date = (year - 1980) << 9 | month << 5 | day
    clock = hour << 11 | minute << 5 | second // 2
    return date, clock
