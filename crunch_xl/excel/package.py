"""Open a workbook package safely, and find its parts, relationships and sheets.

Everything crunch-xl reads from a workbook, and everything it grafts into one, goes through
`open_package`, which refuses with one plain line (`errors.WorkbookError`) what is not a
workbook or not safe to open:

- empty files, text/CSV/HTML files with an Excel name, old ``.xls`` and password-protected
  (encrypted) workbooks, OpenDocument, ``.xlsb``, Word and PowerPoint files, zips that are not
  workbooks, and zips cut short;
- zip bombs, from the zip's central directory before anything is unpacked (too many parts,
  too large, absurd compression), then every read bounded by the part's declared size;
- XML that declares a DOCTYPE or ENTITY (entity expansion, external entities). A declaration
  may only stand in a part's prolog, before its first element, so only the prolog is read.

Nothing else about the workbook is judged: charts, pivot tables, macros, controls and parts
not yet invented are none of crunch-xl's business, because it never re-writes them (see
graft.py). A workbook saved as Strict Open XML is read, but its results go beside it.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import struct
import threading
import zipfile
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from crunch_xl.errors import WorkbookError
from crunch_xl.model import RESULT_SHEET_MARK

#: More parts than this is not an ordinary workbook (Excel's own files have tens to hundreds).
MAX_PARTS = 5_000
#: The most a workbook may unpack to, all parts together.
MAX_UNCOMPRESSED = 300 * 1024 * 1024
#: Deflate cannot compress better than about 1032:1; real parts stay below 400:1 (a styles
#: part bloated with 60,000 identical formats is ~340:1), so this only catches bombs.
MAX_RATIO = 1_000
#: Parts smaller than this are never a bomb, whatever their ratio.
RATIO_CHECKED_FROM = 1024 * 1024
#: Workbooks that unpack to more than this are read and written one at a time, so that the
#: watched folder's workers, each with a workbook, never hold more than one large one at once.
LARGE_WORKBOOK = 30 * 1024 * 1024
#: A prolog (XML declaration, comments) longer than this is not one any program writes.
MAX_PROLOG = 1024 * 1024

_CHUNK = 1024 * 1024
_PROLOG_CHUNK = 16 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

STRICT_NAMESPACE = "http://purl.oclc.org/ooxml/spreadsheetml/main"
MACRO_SUFFIXES = (".xlsm", ".xltm")

# Where a declaration may start: "<!" in UTF-8/ASCII and in UTF-16 either way round (expat
# reads nothing else). "<!" also opens comments and CDATA, so what follows is checked.
_DECLARATION_STARTS = {
    "utf-8": (b"<!", "latin-1"),
    "utf-16-le": (b"<\x00!\x00", "utf-16-le"),
    "utf-16-be": (b"\x00<\x00!", "utf-16-be"),
}
_DECLARATION_WORDS = ("DOCTYPE", "ENTITY")

# Image formats are never parsed as XML; SVG pictures legitimately carry DOCTYPEs.
_IMAGE_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".jpe", ".gif", ".bmp", ".tif", ".tiff", ".emf", ".wmf",
    ".svg", ".ico", ".webp",
)  # fmt: skip
_BINARY_SUFFIXES = (".bin", ".data", ".sigs", ".odttf")


@dataclass
class PackageInfo:
    """What kind of workbook a file is (it has passed every safety check)."""

    #: The file inspected (None for a stream without a name).
    path: Path | None
    #: True for a macro-enabled workbook (xlsm content type or a vbaProject.bin part).
    is_macro_enabled: bool
    #: Number of parts (files) in the zip package.
    parts: int
    #: Bytes all parts unpack to, from the zip's central directory.
    uncompressed: int
    #: True for a workbook saved as Strict Open XML (read, but never grafted into).
    strict: bool = False


@dataclass(frozen=True)
class Relationship:
    """One relationship of a part: its type's last word, and its target as a part name."""

    id: str
    kind: str
    target: str
    external: bool


@dataclass(frozen=True)
class SheetEntry:
    """One sheet as ``xl/workbook.xml`` lists it."""

    #: Position among all sheets (chart sheets included), as localSheetId counts.
    index: int
    name: str
    #: The sheet's part, e.g. ``xl/worksheets/sheet1.xml`` ("" when its relationship is missing).
    part: str
    #: The relationship type's last word: ``worksheet``, ``chartsheet``, ``dialogsheet``, ...
    kind: str
    #: ``visible``, ``hidden`` or ``veryHidden``.
    state: str
    #: True when crunch-xl wrote it (its sheet-scoped name ``model.RESULT_SHEET_MARK``).
    is_result: bool


def inspect_package(source: Path | BinaryIO) -> PackageInfo:
    """Return what kind of workbook a file is, refusing files that are unsafe or not workbooks.

    A stream is read from its current position and left there afterwards, so the same stream
    can be handed on to the reader. Raises `WorkbookError` with one plain line.
    """
    with open_package(source) as package:
        return package.info


@contextlib.contextmanager
def open_package(source: Path | BinaryIO) -> Iterator[Package]:
    """Yield a checked package, read part by part while the context lasts.

    A stream is read from its current position and put back there at the end.
    Raises `WorkbookError` with one plain line.
    """
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            stream = path.open("rb")
        except OSError as error:
            reason = error.strerror or str(error)
            raise WorkbookError(f"{path.name} cannot be opened: {reason}.") from error
        with stream:
            yield _open(stream, path.name, path)
        return
    name = getattr(source, "name", None)
    named = Path(name) if isinstance(name, str) else None
    label = named.name if named is not None else "This file"
    if not source.seekable():
        # Read no more than the largest workbook we would open anyway.
        data = source.read(MAX_UNCOMPRESSED + 1)
        if len(data) > MAX_UNCOMPRESSED:
            raise WorkbookError(_too_large(label, len(data)))
        yield _open(io.BytesIO(data), label, named)
        return
    start = source.tell()
    try:
        if start:
            # Zip and OLE2 offsets count from the start of the file.
            yield _open(io.BytesIO(source.read(MAX_UNCOMPRESSED + 1)), label, named)
        else:
            yield _open(source, label, named)
    finally:
        source.seek(start)


_LARGE = threading.Lock()


@contextlib.contextmanager
def one_large_at_a_time(package: Package) -> Iterator[None]:
    """Hold the context while reading or writing a package, one large package at a time."""
    if package.info.uncompressed <= LARGE_WORKBOOK:
        yield
        return
    with _LARGE:
        yield


def _open(stream: BinaryIO, label: str, path: Path | None) -> Package:
    """Return the package of a stream positioned at the file's first byte, once checked."""
    head = stream.read(8)
    stream.seek(0)
    if not head:
        raise WorkbookError(f"{label} is empty (0 bytes): there is no workbook in it.")
    if head == _OLE_MAGIC:
        raise WorkbookError(_compound_file_message(stream, label))
    if not head.startswith(b"PK"):
        raise WorkbookError(_not_a_zip_message(stream.read(4096), label))
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as error:
        raise WorkbookError(_damaged(label)) from error
    infos = archive.infolist()
    _check_sizes(infos, label)
    _check_kind([info.filename for info in infos], label)
    package = Package(archive, stream, label, path)
    package.refuse_declarations()
    return package


class Package:
    """A zip package already checked for size, kind and entity declarations."""

    def __init__(
        self, archive: zipfile.ZipFile, stream: BinaryIO, label: str, path: Path | None
    ) -> None:
        self.archive = archive
        #: The file the zip is read from (graft.py copies compressed parts straight from it).
        self.stream = stream
        self.label = label
        self.path = path
        self.names = {info.filename: info for info in archive.infolist()}
        self.by_lower = {name.lower(): name for name in self.names}

    # -- parts ----------------------------------------------------------------------------------

    def find(self, name: str) -> str | None:
        """Return the part's real name, matched case-insensitively (zip names are exact)."""
        return name if name in self.names else self.by_lower.get(name.lower())

    def chunks(self, name: str) -> Iterator[bytes]:
        """Yield a part's bytes in pieces, never more than its declared size."""
        return _read_chunks(self.archive, self.names[name], self.label)

    def read(self, name: str) -> bytes:
        """Return a part's bytes (bounded by its declared size)."""
        return b"".join(self.chunks(name))

    def xml(self, name: str) -> Element:
        """Return a part parsed as XML (defusedxml: no DTDs, no entities)."""
        try:
            return safe_xml.fromstring(self.read(name))
        except DefusedXmlException as error:
            raise WorkbookError(_declarations(self.label, name)) from error
        except (ParseError, ValueError) as error:
            raise WorkbookError(
                f"{self.label} is damaged ({name} is not valid XML); save it again from Excel."
            ) from error

    def refuse_declarations(self) -> None:
        """Refuse any XML part whose prolog declares a DOCTYPE or ENTITY."""
        for name, info in self.names.items():
            if info.is_dir() or name.lower().endswith(_IMAGE_SUFFIXES + _BINARY_SUFFIXES):
                continue
            chunks = _read_chunks(self.archive, info, self.label, _PROLOG_CHUNK)
            try:
                declares = _prolog_declares(chunks)
            finally:
                chunks.close()
            if declares:
                raise WorkbookError(_declarations(self.label, name))

    # -- relationships --------------------------------------------------------------------------

    def relationships_part(self, part: str) -> str:
        """Return the name of a part's relationships part (which may not exist)."""
        folder, base = posixpath.split(part)
        return posixpath.join(folder, "_rels", base + ".rels")

    def relationships(self, part: str) -> dict[str, Relationship]:
        """Return a part's relationships by id, with targets as package part names."""
        rels = self.find(self.relationships_part(part))
        if rels is None:
            return {}
        return parse_relationships(self.read(rels), part, self.label, rels)

    # -- the workbook ---------------------------------------------------------------------------

    @cached_property
    def workbook_part(self) -> str:
        """Return the workbook part's name (``xl/workbook.xml`` in every known producer)."""
        for relationship in self.relationships("").values():
            found = self.find(relationship.target)
            if relationship.kind == "officeDocument" and found is not None:
                return found
        found = self.find("xl/workbook.xml")
        if found is None:  # _check_kind has made sure it is there
            raise WorkbookError(f"{self.label} is not an Excel workbook.")
        return found

    @cached_property
    def workbook(self) -> Element:
        """Return the workbook part, parsed."""
        return self.xml(self.workbook_part)

    @cached_property
    def strict(self) -> bool:
        """Return whether the workbook is saved as Strict Open XML."""
        return self.workbook.tag.startswith("{" + STRICT_NAMESPACE)

    @cached_property
    def sheets(self) -> list[SheetEntry]:
        """Return the sheets in workbook order, crunch-xl's result sheets marked."""
        relationships = self.relationships(self.workbook_part)
        listed = [e for group in self.workbook if local(group.tag) == "sheets" for e in group]
        results = set()
        for element in self.workbook.iter():
            if local(element.tag) == "definedName" and element.get("name") == RESULT_SHEET_MARK:
                sheet = element.get("localSheetId", "")
                if sheet.isdigit():
                    results.add(int(sheet))
        sheets = []
        for index, element in enumerate(listed):
            relationship = relationships.get(relationship_id(element))
            part = ""
            if relationship is not None and not relationship.external:
                part = self.find(relationship.target) or ""
            sheets.append(
                SheetEntry(
                    index=index,
                    name=element.get("name", ""),
                    part=part,
                    kind=relationship.kind if relationship else "",
                    state=element.get("state", "visible"),
                    is_result=index in results,
                )
            )
        return sheets

    @cached_property
    def info(self) -> PackageInfo:
        """Return what kind of workbook this is."""
        content_types = self.find("[Content_Types].xml")
        declared = self.read(content_types) if content_types else b""
        has_vba = self.find("xl/vbaProject.bin") is not None
        infos = self.names.values()
        return PackageInfo(
            path=self.path,
            is_macro_enabled=has_vba or b"macroEnabled" in declared,
            parts=len(self.names),
            uncompressed=sum(info.file_size for info in infos),
            strict=self.strict,
        )


def parse_relationships(
    data: bytes, part: str, label: str = "This file", name: str = ""
) -> dict[str, Relationship]:
    """Return the relationships in a ``.rels`` part's bytes, targets resolved from ``part``."""
    try:
        root = safe_xml.fromstring(data)
    except DefusedXmlException as error:
        raise WorkbookError(_declarations(label, name)) from error
    except (ParseError, ValueError) as error:
        raise WorkbookError(
            f"{label} is damaged ({name} is not valid XML); save it again from Excel."
        ) from error
    folder = posixpath.dirname(part)
    found = {}
    for item in root:
        if local(item.tag) != "Relationship":
            continue
        target = item.get("Target", "")
        external = item.get("TargetMode", "") == "External"
        if not external:
            joined = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            target = posixpath.normpath(joined)
        rid = item.get("Id", "")
        found[rid] = Relationship(rid, rel_kind(item.get("Type", "")), target, external)
    return found


def local(tag: object) -> str:
    """Return an element's tag without its namespace."""
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1]


def relationship_id(element: Element) -> str:
    """Return an element's ``r:id`` attribute (empty if it has none)."""
    return next((v for k, v in element.attrib.items() if local(k) == "id" and "}" in k), "")


def rel_kind(relationship_type: str) -> str:
    """Return the last word of a relationship type, e.g. ``worksheet`` or ``drawing``."""
    return relationship_type.rstrip("/").rsplit("/", 1)[-1]


def _declarations(label: str, name: str) -> str:
    return (
        f"{label} contains XML entity declarations, which crunch-xl does not open for safety "
        f"({name})."
    )


def _prolog_declares(chunks: Iterator[bytes]) -> bool:
    """Return whether an XML part declares a DOCTYPE or ENTITY before its first element.

    XML allows declarations nowhere else, so the part is read only up to its root element.
    """
    data = b""
    for chunk in chunks:
        data += chunk
        encoding = _xml_encoding(data)
        marker, codec = _DECLARATION_STARTS[encoding]
        text = data.decode(codec, errors="ignore") if codec != "latin-1" else data.decode(codec)
        verdict = _prolog_verdict(text.lstrip("\ufeff"))
        if verdict is not None:
            return verdict
        if len(data) > MAX_PROLOG:
            return _declares(data, encoding)
    return _declares(data, _xml_encoding(data))


def _prolog_verdict(text: str) -> bool | None:
    """Return True for a declaration in the prolog, False once the root element starts.

    None: the text ends inside the prolog (more is needed).
    """
    at = 0
    while True:
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
        if at >= len(text):
            return None
        if not text.startswith("<", at):
            return False  # not XML at all: nothing will parse it as XML
        for opening, closing in (("<?", "?>"), ("<!--", "-->")):
            if text.startswith(opening, at):
                end = text.find(closing, at + len(opening))
                if end < 0:
                    return None
                at = end + len(closing)
                break
        else:
            if text.startswith("<!", at):
                word = text[at + 2 : at + 16].upper()
                if len(word) < 7 and len(text) - at < 16:
                    return None
                return word.startswith(_DECLARATION_WORDS)
            return False


# --- what kind of file it is ----------------------------------------------------------------


def _damaged(label: str) -> str:
    return (
        f"{label} is damaged (it is not a complete Excel file); "
        "save it again from Excel or use a backup copy."
    )


def _too_large(label: str, size: int) -> str:
    megabytes = size / (1024 * 1024)
    limit = MAX_UNCOMPRESSED // (1024 * 1024)
    return (
        f"{label} would unpack to {megabytes:,.0f} MB, more than the {limit} MB crunch-xl "
        "opens, so it is not opened for safety."
    )


def _not_a_zip_message(start: bytes, label: str) -> str:
    """Return why a file that is neither a zip nor an OLE2 file is not a workbook."""
    text = start.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").lower().replace(b"\x00", b"")
    if text.startswith((b"<html", b"<!doctype html", b"<table")) or b"<html" in text[:512]:
        return (
            f"{label} is a web page (HTML) with an Excel name, not a workbook; open it in "
            "Excel and save it as an Excel Workbook (.xlsx)."
        )
    if text.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in text:
        return (
            f"{label} is an old XML Spreadsheet 2003 file; open it in Excel and save it as "
            "an Excel Workbook (.xlsx)."
        )
    if text.startswith(b"{\\rtf"):
        return (
            f"{label} is a Rich Text (RTF) document with an Excel name, not a workbook; copy "
            "its table into Excel and save it as an Excel Workbook (.xlsx)."
        )
    if _looks_like_text(start):
        return (
            f"{label} is a text (CSV) file with an Excel name, not a workbook; open it in "
            "Excel and save it as an Excel Workbook (.xlsx)."
        )
    return f"{label} is not an Excel workbook (its contents are not in the .xlsx format)."


def _looks_like_text(start: bytes) -> bool:
    """Return whether the first bytes of a file read as text (UTF-8, UTF-16 or Latin-1)."""
    for bom, encoding in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if start.startswith(bom):
            sample = start[len(bom) :]
            sample = sample[: len(sample) - len(sample) % 2]
            try:
                decoded = sample.decode(encoding)
            except UnicodeDecodeError:
                return False
            return all(ch.isprintable() or ch in "\t\r\n" for ch in decoded)
    if b"\x00" in start:
        return False
    decoded = start.decode("utf-8", errors="replace")
    # A multi-byte character may be cut at the end of the sample.
    printable = sum(1 for ch in decoded if ch.isprintable() or ch in "\t\r\n")
    return printable >= 0.95 * len(decoded)


def _compound_file_message(stream: BinaryIO, label: str) -> str:
    """Return why an OLE2 compound file (old Office format) cannot be opened."""
    names = _compound_file_streams(stream)
    if {"EncryptionInfo", "EncryptedPackage"} <= names:
        return (
            f"{label} is password-protected; open it in Excel, remove the password "
            "(File > Info > Protect Workbook > Encrypt with Password) and save it again."
        )
    if names & {"Workbook", "Book"}:
        return (
            f"{label} is an old Excel 97-2003 workbook (.xls); open it in Excel and "
            "save it as an Excel Workbook (.xlsx)."
        )
    if names & {"WordDocument", "PowerPoint Document"}:
        return f"{label} is an old Word or PowerPoint file, not an Excel workbook."
    return (
        f"{label} is in an old Office format (or damaged), not an Excel workbook (.xlsx); "
        "open it in Excel and save it as .xlsx."
    )


def _compound_file_streams(stream: BinaryIO) -> set[str]:
    """Return the names in an OLE2 compound file's directory (empty if it cannot be read).

    Only the header, the FAT and the directory are read, each read bounded by the file size,
    so a damaged or hostile file cannot make this loop or allocate much.
    """
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    header = stream.read(512)
    if len(header) < 512:
        return set()
    shift = struct.unpack_from("<H", header, 30)[0]
    if shift not in (9, 12):
        return set()
    sector_size = 1 << shift
    fat_count, first_directory = struct.unpack_from("<II", header, 44)
    first_difat, difat_count = struct.unpack_from("<II", header, 68)
    max_sectors = size // sector_size + 1

    def sector(number: int) -> bytes:
        if number >= max_sectors:
            return b""
        stream.seek((number + 1) * sector_size)
        return stream.read(sector_size)

    fat_sectors = [n for n in struct.unpack_from("<109I", header, 76) if n < max_sectors]
    next_difat = first_difat
    for _ in range(min(difat_count, max_sectors)):
        block = sector(next_difat)
        if len(block) < sector_size:
            break
        entries = struct.unpack(f"<{sector_size // 4}I", block)
        fat_sectors.extend(n for n in entries[:-1] if n < max_sectors)
        next_difat = entries[-1]
    fat: list[int] = []
    for number in fat_sectors[: min(fat_count, max_sectors)]:
        block = sector(number)
        fat.extend(struct.unpack(f"<{len(block) // 4}I", block[: len(block) // 4 * 4]))

    names: set[str] = set()
    seen: set[int] = set()
    current = first_directory
    while current < max_sectors and current not in seen:
        seen.add(current)
        block = sector(current)
        for offset in range(0, len(block) - 127, 128):
            length = struct.unpack_from("<H", block, offset + 64)[0]
            kind = block[offset + 66]
            if kind in (1, 2, 5) and 2 <= length <= 64:
                raw = block[offset : offset + length - 2]
                names.add(raw.decode("utf-16-le", errors="replace"))
        current = fat[current] if current < len(fat) else max_sectors
    return names


def _check_sizes(infos: list[zipfile.ZipInfo], label: str) -> None:
    """Refuse zip bombs from the central directory, before any part is unpacked."""
    if len(infos) > MAX_PARTS:
        raise WorkbookError(
            f"{label} has {len(infos):,} parts, more than the {MAX_PARTS:,} crunch-xl opens, "
            "so it is not opened for safety."
        )
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED:
        raise WorkbookError(_too_large(label, total))
    for info in infos:
        stored = max(info.compress_size, 1)
        if info.file_size >= RATIO_CHECKED_FROM and info.file_size / stored > MAX_RATIO:
            raise WorkbookError(
                f"{label} contains a part that unpacks {info.file_size // stored:,} times "
                f"larger than it is stored ({info.filename}), which crunch-xl does not open "
                "for safety."
            )
        if info.flag_bits & 0x1:
            raise WorkbookError(
                f"{label} has encrypted parts inside its zip, so it is not an Excel workbook "
                "crunch-xl can open; save it again from Excel."
            )
    if len({info.filename for info in infos}) != len(infos):
        raise WorkbookError(_damaged(label))


def _check_kind(names: list[str], label: str) -> None:
    """Refuse zips that are not Office Open XML workbooks, naming what they are instead."""
    lowered = {name.lower() for name in names}
    if "xl/workbook.bin" in lowered:
        raise WorkbookError(
            f"{label} is an Excel Binary Workbook (.xlsb); open it in Excel and save it as an "
            "Excel Workbook (.xlsx)."
        )
    if "mimetype" in lowered and "content.xml" in lowered:
        raise WorkbookError(
            f"{label} is an OpenDocument spreadsheet (.ods); save it as an Excel Workbook "
            "(.xlsx) first."
        )
    if "word/document.xml" in lowered:
        raise WorkbookError(f"{label} is a Word document, not an Excel workbook.")
    if "ppt/presentation.xml" in lowered:
        raise WorkbookError(f"{label} is a PowerPoint presentation, not an Excel workbook.")
    if "xl/workbook.xml" not in lowered:
        raise WorkbookError(
            f"{label} is a zip file but not an Excel workbook (it has no xl/workbook.xml)."
        )


def _xml_encoding(start: bytes) -> str:
    """Return how XML bytes are encoded, from their first bytes (as expat decides)."""
    if start.startswith((b"\xff\xfe", b"<\x00")):
        return "utf-16-le"
    if start.startswith((b"\xfe\xff", b"\x00<")):
        return "utf-16-be"
    return "utf-8"


def _declares(data: bytes, encoding: str) -> bool:
    """Return whether XML bytes contain a DOCTYPE or ENTITY declaration (any letter case)."""
    start, codec = _DECLARATION_STARTS[encoding]
    at = data.find(start)
    while at >= 0:
        after = at + len(start)
        word = data[after : after + 14].decode(codec, errors="replace").upper()
        if word.startswith(_DECLARATION_WORDS):
            return True
        at = data.find(start, after)
    return False


def _read_chunks(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, size: int = _CHUNK
) -> Generator[bytes, None, None]:
    """Yield a part's bytes, never more than its declared size (a lying header is refused)."""
    left = info.file_size
    try:
        with archive.open(info) as part:
            while True:
                chunk = part.read(min(size, left + 1))
                if not chunk:
                    return
                left -= len(chunk)
                if left < 0:
                    raise WorkbookError(_damaged(label))
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as error:
        raise WorkbookError(_damaged(label)) from error
    except RuntimeError as error:  # an encrypted zip entry
        raise WorkbookError(_damaged(label)) from error
