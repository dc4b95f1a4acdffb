"""Look inside a workbook file before anything opens it with openpyxl.

`inspect_package` answers two questions from the raw file alone:

1. **Is it safe and readable?** Empty files, text/CSV files with an Excel name, old ``.xls``
   and password-protected (encrypted) workbooks, damaged zips, zips that are not workbooks,
   zip bombs (checked on the zip's central directory before anything is unpacked, then every
   read bounded) and XML with DOCTYPE/ENTITY declarations (entity expansion, external
   entities) are refused with one plain line (`errors.WorkbookError`).
2. **What would openpyxl lose?** `PackageInfo.lost` lists, in plain words, what loading the
   workbook with openpyxl and saving it again would drop or change. The writer loads with
   ``rich_text=True``, ``keep_links=True`` and ``keep_vba`` for ``.xlsm``/``.xltm``
   (see `writer.write_results`); the list assumes exactly that.

What openpyxl 3.1 keeps and loses was found empirically: workbooks built with XlsxWriter,
converted by LibreOffice 7.4 (``soffice --headless --convert-to xlsx``), or shaped like
Excel's own files (x14 data validation, threaded comments, slicers, customXml, form
controls), were loaded and saved with openpyxl and every part and XML element compared.

======================================  =========================================  ===========
feature                                 what openpyxl does                         reported
======================================  =========================================  ===========
cell values, formulas, styles, number   kept                                       no
formats, merged cells, widths, freeze
plain data validation (also lists       kept (``<dataValidations>``)               no
``=Lists!$A$1:$A$3`` written there)
conditional formats (cell rules,        kept (``<conditionalFormatting>``)         no
colour scales, simple data bars/icons)
x14 conditional formats (Excel 2010     ``extLst`` dropped: bar colours, axis,     yes
data bars, LibreOffice data bars)       negative bars, custom icon sets revert
x14 data validation (Excel writes       dropped                                    yes
lists from other sheets there)
sparklines (x14 ``sparklineGroups``)    dropped                                    yes
other worksheet ``extLst`` entries      dropped                                    yes
(slicer lists, timelines, add-ins...)
shapes, text boxes, lines, groups       drawing rewritten with charts and          yes
(``xdr:sp/grpSp/cxnSp``)                pictures only
pictures (``xdr:pic``)                  kept only if Pillow is installed;          yes, then
                                        EMF/WMF and linked pictures always lost    not
charts (``c:chart``), chart sheets      kept (re-written from openpyxl's chart     no
                                        model; tiny cosmetic details such as
                                        rounded corners or the chart style part
                                        may change)
SmartArt, ink, new chart types          dropped                                    yes
(chartex: waterfall, histogram...)
shapes drawn inside a chart             dropped (``userShapes``)                   yes
comments (notes)                        kept; text formatting and box size reset   no
comments set to "always show"           become hidden                              yes
threaded comments (Excel 365)           dropped; the plain-note copy stays         yes
form controls (buttons, check boxes)    dropped in .xlsx; kept in .xlsm (VML is    .xlsx only
                                        copied with ``keep_vba``)
ActiveX controls, embedded OLE objects  dropped (``<controls>``/``<oleObjects>``)  yes
macros (``vbaProject.bin``)             kept with ``keep_vba`` (.xlsm);            .xlsx only
                                        lost in a file named .xlsx
digital signature of the macros         unlinked (its relationship part is lost)   yes
custom ribbon (``customUI``)            kept with ``keep_vba``, else dropped       .xlsx only
background picture, header/footer       dropped (``<picture>``,                    yes
pictures                                ``<legacyDrawingHF>``)
ignored errors (green triangles)        dropped (``<ignoredErrors>``)              yes
custom views, allow-edit ranges,        dropped                                    yes
Watch Window, smart tags, data
consolidation, web publishing
"password to modify", read-only         dropped (``<fileSharing>``)                yes
recommended
dynamic array formulas (``cm=``)        ``metadata.xml`` dropped: they become      yes
                                        legacy array formulas
pictures/data types in cells            ``richData`` dropped                       yes
checkboxes in cells                     ``featurePropertyBag`` dropped             yes
slicers, timelines, Power Pivot data    dropped                                    yes
model, connections/queries, customXml
(SharePoint data, Power Query), add-ins
tracked changes, named sheet views
Excel 4.0 macro sheets, dialog sheets   rewritten as ordinary worksheets           yes
tables, pivot tables, defined names,    kept                                       no
print areas/titles, autofilter,
protection, external links
rich text in cells                      kept with ``rich_text=True``               no
theme, core and custom properties       kept                                       no
cached formula results                  dropped; Excel recalculates on opening     no
calcChain, printerSettings, thumbnail,  dropped; Excel rebuilds them, or they      no
chart style/colour parts, app.xml       never change what the workbook shows
LibreOffice's empty drawings, empty     dropped; nothing visible                   no
custom properties and headers
======================================  =========================================  ===========

openpyxl parses XML through defusedxml when it is installed (``openpyxl.xml.DEFUSEDXML``),
which forbids entity expansion; this module refuses such files before openpyxl sees them.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from . import words
from .errors import WorkbookError
from .model import RESULT_SHEET_MARK

#: More parts than this is not an ordinary workbook (Excel's own files have tens to hundreds).
MAX_PARTS = 5_000
#: The most a workbook may unpack to, all parts together.
MAX_UNCOMPRESSED = 300 * 1024 * 1024
#: Deflate cannot compress better than about 1032:1; real parts stay below 400:1 (a styles
#: part bloated with 60,000 identical formats is ~340:1), so this only catches bombs.
MAX_RATIO = 1_000
#: Parts smaller than this are never a bomb, whatever their ratio.
RATIO_CHECKED_FROM = 1024 * 1024

_CHUNK = 1024 * 1024
#: Parts read while checking for entity declarations are kept up to this many bytes.
_CACHED = 128 * 1024 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_STRICT_NAMESPACE = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_MACRO_SUFFIXES = (".xlsm", ".xltm")

# Where a declaration may start: "<!" in UTF-8/ASCII and in UTF-16 either way round (expat
# reads nothing else). "<!" also opens comments and CDATA, so what follows is checked.
_DECLARATION_STARTS = {
    "utf-8": (b"<!", "latin-1"),
    "utf-16-le": (b"<\x00!\x00", "utf-16-le"),
    "utf-16-be": (b"\x00<\x00!", "utf-16-be"),
}
_DECLARATION_WORDS = ("DOCTYPE", "ENTITY")
_DECLARATION_OVERLAP = 32

# Image formats are never parsed as XML by openpyxl; SVG pictures legitimately carry DOCTYPEs.
_IMAGE_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".jpe", ".gif", ".bmp", ".tif", ".tiff", ".emf", ".wmf",
    ".svg", ".ico", ".webp",
)  # fmt: skip
_BINARY_SUFFIXES = (".bin", ".data", ".sigs", ".odttf")

# Worksheet elements openpyxl reads and writes back (or that never show: sheetCalcPr,
# phoneticPr, sortState). Anything else at the top of a worksheet is dropped.
_KEPT_SHEET_ELEMENTS = frozenset(
    {
        "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData",
        "sheetCalcPr", "sheetProtection", "scenarios", "autoFilter", "sortState",
        "mergeCells", "phoneticPr", "conditionalFormatting", "dataValidations",
        "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter",
        "rowBreaks", "colBreaks", "tableParts", "drawing", "legacyDrawing",
    }
)  # fmt: skip
_SHEET_ELEMENT_LOSSES = {
    "picture": "a background picture",
    "legacyDrawingHF": "pictures in the header or footer",
    "drawingHF": "pictures in the header or footer",
    "ignoredErrors": "ignored error checks (Excel's green triangles would come back)",
    "protectedRanges": "ranges that users may edit with a password",
    "dataConsolidate": "data consolidation settings",
    "smartTags": "smart tags",
    "cellWatches": "Watch Window cells",
    "webPublishItems": "web publishing settings",
    "customProperties": "custom sheet properties (set by add-ins or macros)",
}
# Worksheet extensions (extLst), by uri; Excel's uris differ in letter case between versions.
_SHEET_EXTENSIONS = {
    "{78C0D931-6437-407D-A8EE-F0AAD7539E65}": (
        "conditional formatting from Excel 2010 or later (data bars, icon sets)"
    ),
    "{CCE6A557-97BC-4B89-ADB6-D9C93CAAB3DF}": ("x14 data validation (lists from other sheets)"),
    "{05C60535-1F16-4FD2-B633-F4F36F0B64E0}": "sparklines",
    "{FC87AEE6-9EDD-4A0A-B7FB-166176984837}": "ranges that users may edit with a password",
    "{01252117-D84E-4E92-8308-4BE1C098FCBB}": (
        "ignored error checks (Excel's green triangles would come back)"
    ),
    # Slicers, timelines and add-ins are reported once for the workbook, from their parts.
    "{A8765BA9-456A-4DAB-B4F3-ACF838C121DE}": None,
    "{3A4CF648-6AED-40F4-86FF-DC5316D8AED3}": None,
    "{7E03D99C-DC04-49D9-9315-930204A7B6E9}": None,
    "{F7C9EE02-42E1-4005-9D12-6889AFFD525C}": None,
}
_FORM_CONTROLS = frozenset(
    {"Button", "Checkbox", "Drop", "List", "Radio", "Spin", "Scroll", "GBox", "Label", "Edit"}
)
# openpyxl's keep_vba copies VML drawings only when their name matches this (writer/excel.py).
_VML_KEPT_WITH_VBA = re.compile(r"xl/drawings/.*vmlDrawing\d\.vml")

# Parts openpyxl drops, by where Excel puts them: (path prefix, what the user would lose).
# None: dropped but either reported elsewhere (from the sheet that uses it) or never visible.
_PART_LOSSES: tuple[tuple[str, str | None], ...] = (
    ("xl/slicers/", "slicers"),
    ("xl/slicercaches/", "slicers"),
    ("xl/timelines/", "timelines"),
    ("xl/timelinecaches/", "timelines"),
    ("xl/threadedcomments/", "threaded comments (replies would become plain notes)"),
    ("xl/persons/", None),
    ("xl/connections.xml", "data connections or queries"),
    ("xl/querytables/", "data connections or queries"),
    ("xl/model/", "a data model (Power Pivot)"),
    ("xl/webextensions/", "Office add-ins"),
    ("xl/richdata/", "pictures or data types (such as Stocks) inside cells"),
    ("xl/featurepropertybag/", "checkboxes inside cells"),
    ("xl/namedsheetviews/", "named sheet views"),
    ("xl/revisions/", "tracked changes (shared workbook history)"),
    ("xl/usernames.xml", None),
    ("xl/customproperty", None),
    ("xl/embeddings/", None),
    ("xl/activex/", None),
    ("xl/ctrlprops/", None),
    ("xl/diagrams/", None),
    ("xl/ink/", None),
    ("xl/calcchain.xml", None),
    ("xl/printersettings/", None),
    ("xl/volatiledependencies.xml", None),
    ("docprops/thumbnail", None),
    ("_xmlsignatures/", "the digital signature of the workbook"),
    ("docmetadata/", "the sensitivity label"),
)
# Parts openpyxl reads and writes again (or that are checked feature by feature).
_KEPT_PREFIXES = (
    "[content_types].xml", "docprops/core.xml", "docprops/app.xml", "docprops/custom.xml",
    "xl/workbook.xml", "xl/styles.xml", "xl/sharedstrings.xml", "xl/theme/", "xl/worksheets/",
    "xl/chartsheets/", "xl/macrosheets/", "xl/dialogsheets/", "xl/drawings/", "xl/charts/",
    "xl/media/", "xl/comments", "xl/tables/", "xl/pivottables/", "xl/pivotcache/",
    "xl/externallinks/", "xl/vbaproject.bin", "xl/vbaprojectsignature", "customui/",
    "customxml/", "xl/metadata.xml",
)  # fmt: skip


@dataclass
class PackageInfo:
    """What is inside a workbook file, and what openpyxl would lose re-saving it."""

    #: The file inspected (None for a stream without a name).
    path: Path | None
    #: True for a macro-enabled workbook (xlsm content type or a vbaProject.bin part).
    is_macro_enabled: bool
    #: Number of parts (files) in the zip package.
    parts: int
    #: Bytes all parts unpack to, from the zip's central directory.
    uncompressed: int
    #: Plain-words descriptions of what loading and re-saving with openpyxl would drop or
    #: change, e.g. "2 shapes or text boxes on sheet 'Budget'". Empty: writing is lossless.
    lost: list[str] = field(default_factory=list)


def inspect_package(source: Path | BinaryIO) -> PackageInfo:
    """Return what is inside a workbook, refusing files that are unsafe or not workbooks.

    A stream is read from its current position and left there afterwards, so the same stream
    can be handed on to the reader. Raises `WorkbookError` with one plain line.
    """
    if isinstance(source, str | Path):
        return _inspect_file(Path(source))
    name = getattr(source, "name", None)
    path = Path(name) if isinstance(name, str) else None
    label = path.name if path is not None else "This file"
    if not source.seekable():
        # Read no more than the largest workbook we would open anyway.
        data = source.read(MAX_UNCOMPRESSED + 1)
        if len(data) > MAX_UNCOMPRESSED:
            raise WorkbookError(_too_large(label, len(data)))
        return _inspect(io.BytesIO(data), label, path)
    start = source.tell()
    try:
        if start:
            # Zip and OLE2 offsets count from the start of the file.
            return _inspect(io.BytesIO(source.read(MAX_UNCOMPRESSED + 1)), label, path)
        return _inspect(source, label, path)
    finally:
        source.seek(start)


def _inspect_file(path: Path) -> PackageInfo:
    """Return the package info of a file on disk."""
    try:
        stream = path.open("rb")
    except OSError as error:
        reason = error.strerror or str(error)
        raise WorkbookError(f"{path.name} cannot be opened: {reason}.") from error
    with stream:
        return _inspect(stream, path.name, path)


def _inspect(stream: BinaryIO, label: str, path: Path | None) -> PackageInfo:
    """Return the package info of a stream positioned at the file's first byte."""
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
    with archive:
        infos = archive.infolist()
        _check_sizes(infos, label)
        names = [info.filename for info in infos]
        _check_kind(names, label)
        cache = _refuse_declarations(archive, infos, label)
        package = _Package(archive, label, cache)
        return package.inspect(path, len(infos), sum(info.file_size for info in infos))


# --- what kind of file it is -------------------------------------------------------------


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


def _refuse_declarations(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], label: str
) -> dict[str, bytes]:
    """Refuse any part that declares a DOCTYPE or ENTITY (entity expansion, XXE).

    Return the parts read on the way (up to `_CACHED` bytes), so they are not unpacked twice.
    """
    cache: dict[str, bytes] = {}
    cached = 0
    for info in infos:
        lowered = info.filename.lower()
        if info.is_dir() or lowered.endswith(_IMAGE_SUFFIXES + _BINARY_SUFFIXES):
            continue
        keep = cached + info.file_size <= _CACHED
        chunks = []
        tail = b""
        encoding = ""
        for chunk in _read_chunks(archive, info, label):
            encoding = encoding or _xml_encoding(chunk)
            window = tail + chunk
            if _declares(window, encoding):
                raise WorkbookError(
                    f"{label} contains XML entity declarations, which crunch-xl does not open "
                    f"for safety ({info.filename})."
                )
            tail = window[-_DECLARATION_OVERLAP:]
            if keep:
                chunks.append(chunk)
        if keep:
            cache[info.filename] = b"".join(chunks)
            cached += info.file_size
    return cache


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


def _read_chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> Iterator[bytes]:
    """Yield a part's bytes, never more than its declared size (a lying header is refused)."""
    left = info.file_size
    try:
        with archive.open(info) as part:
            while True:
                chunk = part.read(min(_CHUNK, left + 1))
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


# --- what openpyxl would lose ------------------------------------------------------------


def _local(tag: object) -> str:
    """Return an element's tag without its namespace."""
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1]


def _relationship_id(element: Element) -> str:
    """Return an element's ``r:id`` attribute (empty if it has none)."""
    return next((v for k, v in element.attrib.items() if _local(k) == "id" and "}" in k), "")


def _rel_kind(relationship_type: str) -> str:
    """Return the last word of a relationship type, e.g. ``drawing`` or ``ctrlProp``."""
    return relationship_type.rstrip("/").rsplit("/", 1)[-1]


def _quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Relationship:
    kind: str
    target: str
    external: bool


@dataclass(frozen=True)
class _Sheet:
    name: str
    part: str
    kind: str


class _Package:
    """A zip package already checked for size and entity declarations, read part by part."""

    def __init__(self, archive: zipfile.ZipFile, label: str, cache: dict[str, bytes]) -> None:
        self.archive = archive
        self.cache = cache
        self.label = label
        self.names = {info.filename: info for info in archive.infolist()}
        self.by_lower = {name.lower(): name for name in self.names}
        self.pillow = _pillow_installed()

    # reading

    def read(self, name: str) -> bytes:
        """Return a part's bytes (bounded by its declared size)."""
        if name in self.cache:
            return self.cache[name]
        return b"".join(_read_chunks(self.archive, self.names[name], self.label))

    def xml(self, name: str, data: bytes | None = None) -> Element:
        """Return a part parsed as XML (defusedxml: no DTDs, no entities)."""
        try:
            return safe_xml.fromstring(self.read(name) if data is None else data)
        except DefusedXmlException as error:
            raise WorkbookError(
                f"{self.label} contains XML entity declarations, which crunch-xl does not "
                f"open for safety ({name})."
            ) from error
        except (ParseError, ValueError) as error:
            raise WorkbookError(
                f"{self.label} is damaged ({name} is not valid XML); save it again from Excel."
            ) from error

    def find(self, name: str) -> str | None:
        """Return the part's real name, matched case-insensitively (zip names are exact)."""
        return name if name in self.names else self.by_lower.get(name.lower())

    def relationships(self, part: str) -> dict[str, _Relationship]:
        """Return a part's relationships by id, with targets as package part names."""
        folder, base = posixpath.split(part)
        rels = self.find(posixpath.join(folder, "_rels", base + ".rels"))
        if rels is None:
            return {}
        found = {}
        for item in self.xml(rels):
            if _local(item.tag) != "Relationship":
                continue
            target = item.get("Target", "")
            external = item.get("TargetMode", "") == "External"
            if not external:
                joined = target[1:] if target.startswith("/") else posixpath.join(folder, target)
                target = posixpath.normpath(joined)
            found[item.get("Id", "")] = _Relationship(
                _rel_kind(item.get("Type", "")), target, external
            )
        return found

    # the whole workbook

    def inspect(self, path: Path | None, parts: int, uncompressed: int) -> PackageInfo:
        """Return the package info: macros, and everything openpyxl would lose."""
        workbook_part = self._workbook_part()
        workbook = self.xml(workbook_part)
        if workbook.tag.startswith("{" + _STRICT_NAMESPACE):
            raise WorkbookError(
                f"{self.label} is saved as Strict Open XML, which crunch-xl cannot read; save it "
                "as an ordinary Excel Workbook (.xlsx)."
            )
        content_types = self.read(self.find("[Content_Types].xml") or "[Content_Types].xml")
        has_vba = self.find("xl/vbaProject.bin") is not None
        is_macro_enabled = has_vba or b"macroEnabled" in content_types
        # The writer keeps VBA for .xlsm/.xltm files; a nameless stream is taken at its word.
        keep_vba = is_macro_enabled if path is None else path.suffix.lower() in _MACRO_SUFFIXES

        lost: list[str] = []
        sheets, results = self._sheets(workbook_part, workbook)
        for index, sheet in enumerate(sheets):
            if index in results:
                continue  # crunch-xl's own result sheet: the writer replaces it anyway
            lost.extend(self._sheet_losses(sheet, keep_vba))
        lost.extend(self._workbook_losses(workbook, sheets, keep_vba, has_vba))
        return PackageInfo(
            path=path,
            is_macro_enabled=is_macro_enabled,
            parts=parts,
            uncompressed=uncompressed,
            lost=list(dict.fromkeys(lost)),
        )

    def _workbook_part(self) -> str:
        for relationship in self.relationships("").values():
            if relationship.kind == "officeDocument" and relationship.target in self.names:
                return relationship.target
        found = self.find("xl/workbook.xml")
        if found is None:  # _check_kind has made sure it is there
            raise WorkbookError(f"{self.label} is not an Excel workbook.")
        return found

    def _sheets(self, workbook_part: str, workbook: Element) -> tuple[list[_Sheet], set[int]]:
        """Return the sheets in workbook order, and the indexes of crunch-xl's result sheets."""
        relationships = self.relationships(workbook_part)
        sheets = []
        listed = [e for group in workbook if _local(group.tag) == "sheets" for e in group]
        for element in listed:
            rid = _relationship_id(element)
            relationship = relationships.get(rid)
            part = relationship.target if relationship else ""
            kind = relationship.kind if relationship else ""
            sheets.append(_Sheet(element.get("name", ""), part, kind))
        results = set()
        for element in workbook.iter():
            if _local(element.tag) == "definedName" and element.get("name") == RESULT_SHEET_MARK:
                local = element.get("localSheetId", "")
                if local.isdigit():
                    results.add(int(local))
        return sheets, results

    def _workbook_losses(
        self,
        workbook: Element,
        sheets: list[_Sheet],
        keep_vba: bool,
        has_vba: bool,
    ) -> list[str]:
        lost = []
        for element in workbook:
            tag = _local(element.tag)
            if tag == "fileSharing":
                lost.append('the "password to modify" or "read-only recommended" setting')
            elif tag == "customWorkbookViews":
                lost.append("custom views")
        if has_vba and not keep_vba:
            lost.append("macros (the file is named .xlsx but contains VBA macros)")
        if has_vba and self.find("xl/_rels/vbaProject.bin.rels") is not None:
            lost.append("the digital signature of the macros")

        kept_parts = self._kept_parts(sheets)
        unknown = []
        for name in sorted(self.names):
            lowered = name.lower()
            if name.endswith("/") or lowered.endswith(".rels") or name in kept_parts:
                continue
            if lowered.startswith("customui/"):
                if not keep_vba:
                    lost.append("a custom ribbon (customUI)")
                continue
            if lowered.startswith("customxml/"):
                if lowered.endswith(".xml") and b"DataMashup" in self.read(name):
                    lost.append("Power Query queries")
                elif "itemprops" not in lowered:
                    lost.append("custom XML parts (such as SharePoint document information)")
                continue
            if lowered == "xl/metadata.xml":
                if b"dynamicArrayProperties" in self.read(name):
                    lost.append(
                        "dynamic array formulas (they would become old-style array formulas)"
                    )
                continue
            entry = next((e for e in _PART_LOSSES if lowered.startswith(e[0])), None)
            if entry is not None:
                if entry[1]:
                    lost.append(entry[1])
            elif not lowered.startswith(_KEPT_PREFIXES):
                unknown.append(name)
        if unknown:
            shown = ", ".join(unknown[:3]) + (", ..." if len(unknown) > 3 else "")
            lost.append(f"other content that openpyxl does not understand ({shown})")
        return lost

    def _kept_parts(self, sheets: list[_Sheet]) -> set[str]:
        """Return the parts openpyxl reads back, wherever the writer of the file put them."""
        kept = set()
        for sheet in sheets:
            kept.add(sheet.part)
            for relationship in self.relationships(sheet.part).values():
                if relationship.kind in ("drawing", "vmlDrawing", "comments", "table"):
                    kept.add(relationship.target)
        return kept

    # one sheet

    def _sheet_losses(self, sheet: _Sheet, keep_vba: bool) -> list[str]:
        where = f"on sheet {_quoted(sheet.name)}"
        if sheet.part not in self.names:
            return []
        if sheet.kind in ("xlMacrosheet", "xlIntlMacrosheet"):
            return [f"the Excel 4.0 macro sheet {_quoted(sheet.name)}"]
        if sheet.kind == "dialogsheet":
            return [f"the dialog sheet {_quoted(sheet.name)}"]
        root = self.xml(sheet.part, _without_cells(self.read(sheet.part)))
        relationships = self.relationships(sheet.part)
        lost: list[str] = []
        counts: Counter[str] = Counter()
        for element in _sheet_elements(root):
            tag = _local(element.tag)
            rid = _relationship_id(element)
            relationship = relationships.get(rid)
            if tag == "drawing" and relationship and relationship.target in self.names:
                counts.update(self._drawing_losses(relationship.target))
            elif tag == "legacyDrawing" and relationship and relationship.target in self.names:
                counts.update(self._vml_losses(relationship.target, keep_vba))
            elif tag == "extLst":
                for ext in element:
                    uri = (ext.get("uri") or "").upper()
                    described = _SHEET_EXTENSIONS.get(uri, "other Excel 2010+ features")
                    if described:
                        lost.append(f"{described} {where}")
            elif tag == "oleObjects":
                counts["ole"] += sum(1 for e in _walk(element) if _local(e.tag) == "oleObject")
            elif tag == "controls":
                for control in _walk(element):
                    if _local(control.tag) != "control":
                        continue
                    rid = _relationship_id(control)
                    target = relationships.get(rid)
                    # Form controls (ctrlProp) live on in the VML drawing; ActiveX do not.
                    if target is None or target.kind != "ctrlProp":
                        counts["activex"] += 1
            elif tag == "customSheetViews":
                breaks = any(_local(e.tag) in ("rowBreaks", "colBreaks") for e in root)
                extra = " (and its manual page breaks)" if breaks else ""
                lost.append(f"custom views {where}{extra}")
            elif tag in _SHEET_ELEMENT_LOSSES:
                lost.append(f"{_SHEET_ELEMENT_LOSSES[tag]} {where}")
            elif tag not in _KEPT_SHEET_ELEMENTS:
                lost.append(f"other Excel content ({tag}) {where}")
        return _describe_counts(counts, where, self.pillow) + lost

    def _drawing_losses(self, part: str) -> Counter[str]:
        """Return what openpyxl drops from a drawing: all but charts and (with Pillow) pictures."""
        relationships = self.relationships(part)
        counts: Counter[str] = Counter()
        for anchor in self.xml(part):
            tag = _local(anchor.tag)
            if tag == "AlternateContent":
                counts.update(_alternate_content(anchor))
                continue
            for shape in anchor:
                kind = _local(shape.tag)
                if kind in ("sp", "grpSp", "cxnSp"):
                    counts["shapes"] += 1
                elif kind == "pic":
                    counts[self._picture_kind(shape, relationships)] += 1
                elif kind == "graphicFrame":
                    uris = {
                        e.get("uri", "") for e in shape.iter() if _local(e.tag) == "graphicData"
                    }
                    if any(uri.endswith("/chart") for uri in uris):
                        counts.update(self._chart_losses(shape, relationships))
                    else:
                        counts["graphics"] += 1
                elif kind == "contentPart":
                    counts["ink"] += 1
                elif kind == "AlternateContent":
                    counts.update(_alternate_content(shape))
        return counts

    def _picture_kind(self, picture: Element, relationships: dict[str, _Relationship]) -> str:
        for blip in picture.iter():
            if _local(blip.tag) != "blip":
                continue
            attributes = {_local(k): v for k, v in blip.attrib.items()}
            target = relationships.get(attributes.get("embed", ""))
            if target is None:
                return "linked pictures"
            if target.target.lower().endswith((".emf", ".wmf")):
                return "emf pictures"
            return "pictures"
        return "pictures"

    def _chart_losses(
        self, frame: Element, relationships: dict[str, _Relationship]
    ) -> Counter[str]:
        counts: Counter[str] = Counter()
        for element in frame.iter():
            if _local(element.tag) != "chart":
                continue
            rid = _relationship_id(element)
            chart = relationships.get(rid)
            if chart is None or chart.target not in self.names:
                continue
            chart_relationships = self.relationships(chart.target).values()
            if any(r.kind == "chartUserShapes" for r in chart_relationships):
                counts["chart shapes"] += 1
        return counts

    def _vml_losses(self, part: str, keep_vba: bool) -> Counter[str]:
        """Return what openpyxl drops from a VML drawing (comments are re-made from scratch)."""
        # VML from Excel is not always well-formed XML, so it is searched, not parsed.
        text = self.read(part).decode("utf-8", errors="replace")
        counts: Counter[str] = Counter()
        controls_kept = keep_vba and _VML_KEPT_WITH_VBA.fullmatch(part) is not None
        for match in re.finditer(
            r'<(?:\w+:)?ClientData\s[^>]*ObjectType="(\w+)"(.*?)</(?:\w+:)?ClientData>',
            text,
            re.DOTALL,
        ):
            kind, body = match.groups()
            if kind == "Note" and re.search(r"<(?:\w+:)?Visible\b", body):
                counts["visible comments"] += 1
            elif kind in _FORM_CONTROLS and not controls_kept:
                counts["form controls"] += 1
        return counts


def _describe_counts(counts: Counter[str], where: str, pillow: bool) -> list[str]:
    """Return plain-words descriptions of counted drawing objects on one sheet."""
    if pillow:
        counts = counts.copy()
        del counts["pictures"]
    lost = []
    for key, one, many in _COUNTED:
        if counts[key]:
            lost.append(f"{words.count(counts[key], one, many)} {where}")
    return lost


# What openpyxl drops from a sheet's drawings, by the key counted: (key, one, many).
_COUNTED = (
    ("shapes", "shape or text box", "shapes or text boxes"),
    ("pictures", "picture (Pillow is not installed)", "pictures (Pillow is not installed)"),
    ("linked pictures", "linked picture", "linked pictures"),
    ("emf pictures", "picture in EMF/WMF format", "pictures in EMF/WMF format"),
    ("graphics", "SmartArt or other graphic", "SmartArt or other graphics"),
    (
        "new charts",
        "chart of a newer type (waterfall, histogram, ...)",
        "charts of a newer type (waterfall, histogram, ...)",
    ),
    ("chart shapes", "chart with shapes drawn inside it", "charts with shapes drawn inside them"),
    ("ink", "ink drawing", "ink drawings"),
    ("newer drawings", "drawing object from a newer Excel", "drawing objects from a newer Excel"),
    (
        "form controls",
        "form control (button, check box, list)",
        "form controls (buttons, check boxes, lists)",
    ),
    ("activex", "ActiveX control", "ActiveX controls"),
    ("ole", "embedded object (OLE)", "embedded objects (OLE)"),
    (
        "visible comments",
        "comment set to always show (it would be hidden)",
        "comments set to always show (they would be hidden)",
    ),
)


def _alternate_content(element: Element) -> Counter[str]:
    """Return what an ``mc:AlternateContent`` block in a drawing holds (openpyxl drops it)."""
    counts: Counter[str] = Counter()
    choice = next((e for e in element if _local(e.tag) == "Choice"), None)
    if choice is None:
        return counts
    requires = choice.get("Requires", "")
    if requires.startswith("cx"):
        counts["new charts"] += 1
    elif requires in ("sle15", "tsle", "a14"):
        pass  # slicers and timelines are reported for the workbook, form controls from VML
    else:
        counts["newer drawings"] += 1
    return counts


def _walk(element: Element) -> Iterator[Element]:
    """Yield an element and everything inside it, skipping ``mc:Fallback`` copies.

    Excel writes OLE objects and controls twice, for new and for old Excel; counting the
    ``mc:Choice`` copy only counts each once.
    """
    yield element
    for child in element:
        if _local(child.tag) != "Fallback":
            yield from _walk(child)


def _sheet_elements(root: Element) -> Iterator[Element]:
    """Yield a worksheet's top-level elements, looking inside ``mc:AlternateContent``."""
    for element in root:
        if _local(element.tag) == "AlternateContent":
            choice = next((e for e in element if _local(e.tag) in ("Choice", "Fallback")), None)
            if choice is not None:
                yield from choice
        else:
            yield element


_SHEET_DATA_OPEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheetData\b[^>]*?(/?)>")
_SHEET_DATA_CLOSE = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?sheetData\s*>")


def _without_cells(data: bytes) -> bytes:
    """Return a worksheet's XML without its cells, which can be most of a large file."""
    opening = _SHEET_DATA_OPEN.search(data)
    if opening is None:
        return data
    if opening.group(1):
        return data[: opening.start()] + data[opening.end() :]
    # The closing tag is near the end of the part: search backwards, it is much faster.
    end = data.rfind(b"sheetData>")
    start = data.rfind(b"</", opening.end(), end)
    if end < 0 or start < 0 or not re.fullmatch(rb"</(?:[A-Za-z_][\w.-]*:)?", data[start:end]):
        closing = _SHEET_DATA_CLOSE.search(data, opening.end())
        if closing is None:
            return data
        return data[: opening.start()] + data[closing.end() :]
    return data[: opening.start()] + data[end + len(b"sheetData>") :]


def _pillow_installed() -> bool:
    """Return whether openpyxl can keep pictures (it drops them all without Pillow)."""
    from openpyxl.drawing.image import PILImage

    return bool(PILImage)
