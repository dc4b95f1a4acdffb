"""Builders for real-world-shaped workbook files that test crunch_xl.excel.package.

Workbooks come from XlsxWriter (as Excel would write the feature), from openpyxl, or from
LibreOffice headless; where neither can write a feature Excel writes (x14 data validation,
threaded comments, slicers, customXml, password protection, .xls), the part is added to an
XlsxWriter workbook, or an OLE2 compound file is built, in the shape Excel itself writes.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import xlsxwriter

X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM = "http://schemas.microsoft.com/office/excel/2006/main"


# --- small building blocks ---------------------------------------------------------------


def png_bytes(width: int = 4, height: int = 4) -> bytes:
    """Return a small red PNG image (no Pillow needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def xlsxwriter_book(
    path: Path, build: Callable[[Any, Any], None] | None = None, sheet: str = "Budget"
) -> Path:
    """Write a workbook with XlsxWriter: one sheet of numbers, then `build(workbook, sheet)`."""
    workbook = xlsxwriter.Workbook(str(path))
    worksheet = workbook.add_worksheet(sheet)
    worksheet.write_row(0, 0, ["Grade", "Children"])
    for row, (grade, children) in enumerate([("K", 44), ("1", 51), ("2", 47)], start=1):
        worksheet.write_row(row, 0, [grade, children])
    if build is not None:
        build(workbook, worksheet)
    workbook.close()
    return path


def rewrite_parts(
    path: Path,
    change: dict[str, Callable[[bytes], bytes]] | None = None,
    add: dict[str, bytes] | None = None,
) -> Path:
    """Rewrite a zip package in place: change some parts' bytes and add new parts."""
    change = change or {}
    with zipfile.ZipFile(path) as source:
        parts = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts:
            target.writestr(name, change[name](data) if name in change else data)
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return path


def _insert(marker: bytes, extra: bytes, before: bool = True) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        assert marker in data, marker
        return data.replace(marker, extra + marker if before else marker + extra, 1)

    return edit


def _content_type(part: str, kind: str) -> Callable[[bytes], bytes]:
    return _insert(b"</Types>", f'<Override PartName="/{part}" ContentType="{kind}"/>'.encode())


def _relationship(rid: str, kind: str, target: str) -> bytes:
    return f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"/>'.encode()


def roundtrip(path: Path, destination: Path) -> Path:
    """Load and save a workbook with openpyxl the way crunch-xl's writer does."""
    keep_vba = path.suffix.lower() in (".xlsm", ".xltm")
    workbook = openpyxl.load_workbook(path, keep_vba=keep_vba, rich_text=True, keep_links=True)
    workbook.save(destination)
    return destination


def count_elements(path: Path, local_name: str) -> int:
    """Return how many XML elements with this local name the package holds, in all parts."""
    start_tag = re.compile(rb"<(?:[\w.-]+:)?" + re.escape(local_name.encode()) + rb"[\s/>]")
    with zipfile.ZipFile(path) as archive:
        return sum(
            len(start_tag.findall(archive.read(name)))
            for name in archive.namelist()
            if name.endswith((".xml", ".vml", ".rels"))
        )


def part_names(path: Path) -> list[str]:
    """Return the names of the parts in a zip package."""
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


# --- workbooks with features openpyxl keeps ---------------------------------------------


def openpyxl_plain(path: Path) -> Path:
    """Write a plain workbook with openpyxl: values, a formula, styles, a merged title."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Plan A"
    sheet["A1"] = "Plan"
    sheet.merge_cells("A1:C1")
    sheet.append(["Grade", "Children", "Classes"])
    sheet.append(["K", 44, "=ROUNDUP(B3/24,0)"])
    sheet["A1"].font = openpyxl.styles.Font(bold=True, size=14)
    sheet.freeze_panes = "A3"
    workbook.save(path)
    return path


def kept_features(path: Path) -> Path:
    """Write a workbook with everything openpyxl carries over: tables, charts, names, ..."""

    def build(workbook: Any, sheet: Any) -> None:
        lists = workbook.add_worksheet("Lists")
        lists.write_column(0, 0, ["Yes", "No"])
        bold = workbook.add_format({"bold": True, "num_format": "0.0"})
        sheet.add_table("D1:E4", {"columns": [{"header": "Kind"}, {"header": "Count"}]})
        sheet.data_validation("B6", {"validate": "list", "source": "=Lists!$A$1:$A$2"})
        sheet.data_validation("B7", {"validate": "integer", "criteria": ">", "value": 0})
        sheet.conditional_format("B2:B4", {"type": "cell", "criteria": ">", "value": 45,
                                           "format": bold})  # fmt: skip
        sheet.conditional_format("B2:B4", {"type": "3_color_scale"})
        sheet.conditional_format("B2:B4", {"type": "data_bar"})
        sheet.write_comment("A2", "Kindergarten")
        sheet.write_url("A9", "https://example.org", string="Guide")
        sheet.write_formula("B5", "=SUM(B2:B4)", bold)
        sheet.merge_range("A11:C11", "Merged note")
        sheet.autofilter("A1:B4")
        sheet.freeze_panes(1, 0)
        sheet.protect()
        sheet.set_column("A:A", 20)
        sheet.print_area("A1:E11")
        workbook.define_name("Children", "=Budget!$B$2:$B$4")
        workbook.define_name("Budget!Local", "=Budget!$A$1")
        chart = workbook.add_chart({"type": "column"})
        chart.add_series({"categories": "=Budget!$A$2:$A$4", "values": "=Budget!$B$2:$B$4"})
        chart.set_title({"name": "Children"})
        sheet.insert_chart("G2", chart)
        sheet_chart = workbook.add_chartsheet("Chart")
        other = workbook.add_chart({"type": "line"})
        other.add_series({"values": "=Budget!$B$2:$B$4"})
        sheet_chart.set_chart(other)
        workbook.set_custom_property("School", "Hillside")
        sheet.write_rich_string("A13", "plain ", bold, "bold", " end")

    return xlsxwriter_book(path, build)


# --- workbooks with features openpyxl loses ---------------------------------------------


def text_boxes(path: Path) -> Path:
    """Two text boxes and a rectangle shape, as Excel's Insert > Text Box writes them."""

    def build(workbook: Any, sheet: Any) -> None:
        sheet.insert_textbox("D2", "Check the Year 2 numbers")
        sheet.insert_textbox("D8", "Ask the principal", {"fill": {"color": "yellow"}})

    return xlsxwriter_book(path, build)


def sparklines(path: Path) -> Path:
    def build(workbook: Any, sheet: Any) -> None:
        sheet.write_row("D2", [3, 5, 4, 6])
        sheet.add_sparkline("H2", {"range": "Trend!D2:G2", "markers": True})

    return xlsxwriter_book(path, build, sheet="Trend")


def picture(path: Path) -> Path:
    image = path.with_suffix(".png")
    image.write_bytes(png_bytes())

    def build(workbook: Any, sheet: Any) -> None:
        sheet.insert_image("D2", str(image))

    return xlsxwriter_book(path, build)


def data_bars_2010(path: Path) -> Path:
    """A data bar with Excel 2010's extension (solid fill, negative bars, axis)."""

    def build(workbook: Any, sheet: Any) -> None:
        sheet.conditional_format("B2:B4", {"type": "data_bar", "data_bar_2010": True})

    return xlsxwriter_book(path, build)


def visible_comment(path: Path) -> Path:
    def build(workbook: Any, sheet: Any) -> None:
        sheet.write_comment("B2", "Numbers from the census", {"visible": True})

    return xlsxwriter_book(path, build)


def button(path: Path, vba_project: bytes | None = None) -> Path:
    """A form-control button (VML), in a macro-enabled workbook when given a VBA project."""

    def build(workbook: Any, sheet: Any) -> None:
        if vba_project is not None:
            import io

            workbook.add_vba_project(io.BytesIO(vba_project), is_stream=True)
        sheet.insert_button("D2", {"macro": "Recalculate", "caption": "Recalculate"})

    return xlsxwriter_book(path, build)


def macros(path: Path, vba_project: bytes) -> Path:
    def build(workbook: Any, sheet: Any) -> None:
        import io

        workbook.add_vba_project(io.BytesIO(vba_project), is_stream=True)

    return xlsxwriter_book(path, build)


def _with_picture(path: Path, build: Callable[[Any, Any, str], None]) -> Path:
    image = path.with_suffix(".png")
    image.write_bytes(png_bytes())
    return xlsxwriter_book(path, lambda workbook, sheet: build(workbook, sheet, str(image)))


def dynamic_array(path: Path) -> Path:
    return xlsxwriter_book(
        path, lambda workbook, sheet: sheet.write_dynamic_array_formula("D1", "=SORT(B2:B4)")
    )


def cell_checkbox(path: Path) -> Path:
    return xlsxwriter_book(path, lambda workbook, sheet: sheet.insert_checkbox("D1", True))


def picture_in_cell(path: Path) -> Path:
    return _with_picture(path, lambda workbook, sheet, image: sheet.embed_image("D1", image))


def ignored_errors(path: Path) -> Path:
    return xlsxwriter_book(
        path, lambda workbook, sheet: sheet.ignore_errors({"number_stored_as_text": "A1:B4"})
    )


def background_picture(path: Path) -> Path:
    return _with_picture(path, lambda workbook, sheet, image: sheet.set_background(image))


def header_picture(path: Path) -> Path:
    return _with_picture(
        path, lambda workbook, sheet, image: sheet.set_header("&L&G", {"image_left": image})
    )


def read_only_recommended(path: Path) -> Path:
    return xlsxwriter_book(path, lambda workbook, sheet: workbook.read_only_recommended())


def edit_ranges(path: Path) -> Path:
    """A protected sheet where B2:B4 may be edited with a password (Allow Edit Ranges)."""

    def build(workbook: Any, sheet: Any) -> None:
        sheet.protect()
        sheet.unprotect_range("B2:B4", None, "secret")

    return xlsxwriter_book(path, build)


def extra_parts(path: Path, parts: dict[str, bytes]) -> Path:
    """A plain XlsxWriter workbook with extra parts added to its package."""
    return rewrite_parts(xlsxwriter_book(path), add=parts)


def x14_validation(path: Path) -> Path:
    """A list validation on 'Plan A' that Excel 2010+ writes in the x14 extension.

    Excel keeps lists that refer to another sheet in ``<extLst>`` so Excel 2007 ignores them;
    XlsxWriter writes them the 2007 way, so the extension is added as Excel writes it.
    """

    def build(workbook: Any, sheet: Any) -> None:
        workbook.add_worksheet("Lists").write_column(0, 0, ["Yes", "No"])

    xlsxwriter_book(path, build, sheet="Plan A")
    extension = (
        f'<extLst><ext uri="{{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}}" xmlns:x14="{X14}">'
        f'<x14:dataValidations count="1" xmlns:xm="{XM}">'
        '<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1">'
        "<x14:formula1><xm:f>Lists!$A$1:$A$2</xm:f></x14:formula1><xm:sqref>C2:C4</xm:sqref>"
        "</x14:dataValidation></x14:dataValidations></ext></extLst>"
    ).encode()
    return rewrite_parts(
        path, change={"xl/worksheets/sheet1.xml": _insert(b"</worksheet>", extension)}
    )


def threaded_comments(path: Path) -> Path:
    """A threaded comment with a reply, and the plain-note copy Excel writes beside it."""

    def build(workbook: Any, sheet: Any) -> None:
        sheet.write_comment("B2", "[Threaded comment]\n\nComment:\n    Is 44 right?")

    xlsxwriter_book(path, build)
    ids = "{4A1F2E3D-0000-4000-8000-000000000001}", "{4A1F2E3D-0000-4000-8000-000000000002}"
    person = "{9B8C7D6E-0000-4000-8000-0000000000AA}"
    ns = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"
    threaded = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<ThreadedComments xmlns="{ns}">'
        f'<threadedComment ref="B2" dT="2024-03-01T10:00:00.00" personId="{person}" id="{ids[0]}">'
        "<text>Is 44 right?</text></threadedComment>"
        f'<threadedComment ref="B2" dT="2024-03-01T11:00:00.00" personId="{person}" '
        f'id="{ids[1]}" parentId="{ids[0]}"><text>Yes, checked.</text></threadedComment>'
        "</ThreadedComments>"
    ).encode()
    persons = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<personList xmlns="{ns}">'
        f'<person displayName="Office" id="{person}" userId="office@example.org" '
        'providerId="AD"/></personList>'
    ).encode()
    rel = "http://schemas.microsoft.com/office/2017/10/relationships/"
    return rewrite_parts(
        path,
        change={
            "xl/worksheets/_rels/sheet1.xml.rels": _insert(
                b"</Relationships>",
                _relationship(
                    "rId9", rel + "threadedComment", "../threadedComments/threadedComment1.xml"
                ),
            ),
            "xl/_rels/workbook.xml.rels": _insert(
                b"</Relationships>", _relationship("rId99", rel + "person", "persons/person.xml")
            ),
            "[Content_Types].xml": lambda data: _content_type(
                "xl/persons/person.xml", "application/vnd.ms-excel.person+xml"
            )(
                _content_type(
                    "xl/threadedComments/threadedComment1.xml",
                    "application/vnd.ms-excel.threadedcomments+xml",
                )(data)
            ),
        },
        add={
            "xl/threadedComments/threadedComment1.xml": threaded,
            "xl/persons/person.xml": persons,
        },
    )


def slicer(path: Path) -> Path:
    """A table with a slicer, in the parts and extensions Excel 2013 writes for one."""

    def build(workbook: Any, sheet: Any) -> None:
        sheet.add_table("A1:B4", {"name": "Grades", "columns": [{"header": "Grade"},
                                                              {"header": "Children"}]})  # fmt: skip

    xlsxwriter_book(path, build)
    slicer_ns = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
    slicer_xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<slicers xmlns="{slicer_ns}">'
        '<slicer name="Grade" cache="Slicer_Grade" caption="Grade" rowHeight="241300"/></slicers>'
    ).encode()
    cache_xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<slicerCacheDefinition xmlns="{slicer_ns}" name="Slicer_Grade" sourceName="Grade">'
        '<extLst><x:ext xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'uri="{2F2917AC-EB37-4324-AD4E-5DD8C200BD13}"><x15:tableSlicerCache '
        'xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main" '
        'tableId="1" column="1"/></x:ext></extLst></slicerCacheDefinition>'
    ).encode()
    sheet_ext = (
        b'<extLst><ext uri="{3A4CF648-6AED-40f4-86FF-DC5316D8AED3}" '
        b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        b'<x15:slicerList xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main">'
        b'<x14:slicer r:id="rId8"/></x15:slicerList></ext></extLst>'
    )
    rel = "http://schemas.microsoft.com/office/2007/relationships/"
    return rewrite_parts(
        path,
        change={
            "xl/worksheets/sheet1.xml": _insert(b"</worksheet>", sheet_ext),
            "xl/worksheets/_rels/sheet1.xml.rels": _insert(
                b"</Relationships>", _relationship("rId8", rel + "slicer", "../slicers/slicer1.xml")
            ),
            "xl/_rels/workbook.xml.rels": _insert(
                b"</Relationships>",
                _relationship("rId98", rel + "slicerCache", "slicerCaches/slicerCache1.xml"),
            ),
        },
        add={"xl/slicers/slicer1.xml": slicer_xml, "xl/slicerCaches/slicerCache1.xml": cache_xml},
    )


def custom_xml(path: Path) -> Path:
    """SharePoint-style custom XML (document information), as Office keeps it in customXml/."""
    xlsxwriter_book(path)
    item = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        b'<p:properties xmlns:p="http://schemas.microsoft.com/office/2006/metadata/properties">'
        b"<documentManagement><Year>2025</Year></documentManagement></p:properties>"
    )
    props = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        b'<ds:datastoreItem ds:itemID="{6D6E1AB2-0000-4000-8000-000000000001}" '
        b'xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml">'
        b"<ds:schemaRefs/></ds:datastoreItem>"
    )
    item_rels = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships '
        b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/customXmlProps" Target="itemProps1.xml"/></Relationships>'
    )
    return rewrite_parts(
        path,
        change={
            "xl/_rels/workbook.xml.rels": _insert(
                b"</Relationships>",
                _relationship(
                    "rId97",
                    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml",
                    "../customXml/item1.xml",
                ),
            ),
            "[Content_Types].xml": _content_type(
                "customXml/itemProps1.xml",
                "application/vnd.openxmlformats-officedocument.customXmlProperties+xml",
            ),
        },
        add={
            "customXml/item1.xml": item,
            "customXml/itemProps1.xml": props,
            "customXml/_rels/item1.xml.rels": item_rels,
        },
    )


def embedded_object(path: Path) -> Path:
    """An embedded Word document (OLE object), with the new and old copies Excel writes."""
    xlsxwriter_book(path)
    anchor = (
        '<anchor moveWithCells="1"><from><xdr:col>3</xdr:col><xdr:colOff>0</xdr:colOff>'
        "<xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></from><to><xdr:col>6</xdr:col>"
        "<xdr:colOff>0</xdr:colOff><xdr:row>8</xdr:row><xdr:rowOff>0</xdr:rowOff></to></anchor>"
    )
    objects = (
        '<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        '<mc:Choice Requires="x14"><oleObjects><mc:AlternateContent '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        '<mc:Choice Requires="x14"><oleObject progId="Document" shapeId="1025" r:id="rId5">'
        '<objectPr defaultSize="0" r:id="rId6" '
        'xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">'
        f"{anchor}</objectPr></oleObject></mc:Choice><mc:Fallback>"
        '<oleObject progId="Document" shapeId="1025" r:id="rId5"/></mc:Fallback>'
        "</mc:AlternateContent></oleObjects></mc:Choice></mc:AlternateContent>"
    ).encode()
    rels = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
        b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + _relationship(
            "rId5",
            "http://schemas.openxmlformats.org/officeDocument/2006/relationships/package",
            "../embeddings/Microsoft_Word_Document.docx",
        )
        + _relationship(
            "rId6",
            "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image",
            "../media/image1.png",
        )
        + b"</Relationships>"
    )
    return rewrite_parts(
        path,
        change={"xl/worksheets/sheet1.xml": _insert(b"</worksheet>", objects)},
        add={
            "xl/worksheets/_rels/sheet1.xml.rels": rels,
            "xl/embeddings/Microsoft_Word_Document.docx": b"PK\x05\x06" + bytes(18),
            "xl/media/image1.png": png_bytes(),
        },
    )


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


def _rels(*items: tuple[str, str, str]) -> bytes:
    """Return a relationships part holding (id, type, target) items."""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{_PACKAGE_RELS}">'.encode()
        + b"".join(_relationship(*item) for item in items)
        + b"</Relationships>"
    )


def grouped_pivot_table(path: Path, records: bool = True) -> Path:
    """A pivot table on sheet 'Pivot' with grouped items (Excel's Group Selection).

    openpyxl 3.1 cannot load such a workbook at all ("Nested.from_tree() missing 1 required
    positional argument: 'node'"); Excel and LibreOffice open it. Without records the cache
    is saved as Excel does with "Save source data with file" unticked.
    """
    xlsxwriter_book(path, lambda workbook, sheet: workbook.add_worksheet("Pivot"))
    cache = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<pivotCacheDefinition '
        f'xmlns="{_MAIN}" xmlns:r="{_R}" '
        + ('r:id="rId1" ' if records else 'saveData="0" ')
        + 'refreshOnLoad="1" createdVersion="6" refreshedVersion="6" minRefreshableVersion="3" '
        'recordCount="3"><cacheSource type="worksheet"><worksheetSource ref="A1:B4" '
        'sheet="Budget"/></cacheSource><cacheFields count="3"><cacheField name="Grade" '
        'numFmtId="0"><sharedItems count="3"><s v="K"/><s v="1"/><s v="2"/></sharedItems>'
        '</cacheField><cacheField name="Children" numFmtId="0"><sharedItems '
        'containsSemiMixedTypes="0" containsString="0" containsNumber="1" containsInteger="1" '
        'minValue="44" maxValue="51"/></cacheField><cacheField name="Stage" numFmtId="0" '
        'databaseField="0"><fieldGroup base="0"><discretePr count="3"><x v="0"/><x v="0"/>'
        '<x v="1"/></discretePr><groupItems count="2"><s v="K-1"/><s v="2"/></groupItems>'
        "</fieldGroup></cacheField></cacheFields></pivotCacheDefinition>"
    ).encode()
    cache_records = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<pivotCacheRecords '
        f'xmlns="{_MAIN}" xmlns:r="{_R}" count="3"><r><x v="0"/><n v="44"/></r><r><x v="1"/>'
        '<n v="51"/></r><r><x v="2"/><n v="47"/></r></pivotCacheRecords>'
    ).encode()
    table = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<pivotTableDefinition '
        f'xmlns="{_MAIN}" name="PivotTable1" cacheId="1" applyNumberFormats="0" '
        'applyBorderFormats="0" applyFontFormats="0" applyPatternFormats="0" '
        'applyAlignmentFormats="0" applyWidthHeightFormats="1" dataCaption="Values" '
        'updatedVersion="6" minRefreshableVersion="3" useAutoFormatting="1" itemPrintTitles="1" '
        'createdVersion="6" indent="0" outline="1" outlineData="1" multipleFieldFilters="0">'
        '<location ref="A3:B7" firstHeaderRow="1" firstDataRow="1" firstDataCol="1"/>'
        '<pivotFields count="3"><pivotField axis="axisRow" showAll="0"><items count="4">'
        '<item x="0"/><item x="1"/><item x="2"/><item t="default"/></items></pivotField>'
        '<pivotField dataField="1" showAll="0"/><pivotField showAll="0" defaultSubtotal="0">'
        '<items count="2"><item x="0"/><item x="1"/></items></pivotField></pivotFields>'
        '<rowFields count="1"><field x="0"/></rowFields><rowItems count="4"><i><x/></i>'
        '<i><x v="1"/></i><i><x v="2"/></i><i t="grand"><x/></i></rowItems><colItems count="1">'
        '<i/></colItems><dataFields count="1"><dataField name="Sum of Children" fld="1" '
        'baseField="0" baseItem="0"/></dataFields><pivotTableStyleInfo name="PivotStyleLight16" '
        'showRowHeaders="1" showColHeaders="1" showRowStripes="0" showColStripes="0" '
        'showLastColumn="1"/></pivotTableDefinition>'
    ).encode()
    kinds = _R + "/"
    add = {
        "xl/pivotCache/pivotCacheDefinition1.xml": cache,
        "xl/pivotTables/pivotTable1.xml": table,
        "xl/pivotTables/_rels/pivotTable1.xml.rels": _rels(
            ("rId1", kinds + "pivotCacheDefinition", "../pivotCache/pivotCacheDefinition1.xml")
        ),
        "xl/worksheets/_rels/sheet2.xml.rels": _rels(
            ("rId1", kinds + "pivotTable", "../pivotTables/pivotTable1.xml")
        ),
    }
    types = [("xl/pivotCache/pivotCacheDefinition1.xml", "pivotCacheDefinition"),
             ("xl/pivotTables/pivotTable1.xml", "pivotTable")]  # fmt: skip
    if records:
        add["xl/pivotCache/pivotCacheRecords1.xml"] = cache_records
        add["xl/pivotCache/_rels/pivotCacheDefinition1.xml.rels"] = _rels(
            ("rId1", kinds + "pivotCacheRecords", "pivotCacheRecords1.xml")
        )
        types.append(("xl/pivotCache/pivotCacheRecords1.xml", "pivotCacheRecords"))
    overrides = b"".join(
        f'<Override PartName="/{name}" ContentType="application/vnd.openxmlformats-'
        f'officedocument.spreadsheetml.{kind}+xml"/>'.encode()
        for name, kind in types
    )
    return rewrite_parts(
        path,
        change={
            "[Content_Types].xml": _insert(b"</Types>", overrides),
            "xl/workbook.xml": _insert(
                b"</sheets>",
                b'<pivotCaches><pivotCache cacheId="1" r:id="rId90"/></pivotCaches>',
                before=False,
            ),
            "xl/_rels/workbook.xml.rels": _insert(
                b"</Relationships>",
                _relationship(
                    "rId90", kinds + "pivotCacheDefinition", "pivotCache/pivotCacheDefinition1.xml"
                ),
            ),
        },
        add=add,
    )


def printer_settings(path: Path) -> Path:
    """A sheet set up for printing in Excel: its printer's settings in a binary part."""

    def build(workbook: Any, sheet: Any) -> None:
        sheet.set_landscape()
        sheet.set_paper(9)

    xlsxwriter_book(path, build)
    return rewrite_parts(
        path,
        change={
            "xl/worksheets/sheet1.xml": lambda data: re.sub(
                rb"(<pageSetup\b[^/]*)/>", rb'\1 r:id="rId7"/>', data
            ),
            "[Content_Types].xml": _insert(
                b"</Types>",
                b'<Default Extension="bin" ContentType="application/vnd.openxmlformats-'
                b'officedocument.spreadsheetml.printerSettings"/>',
            ),
        },
        add={
            "xl/worksheets/_rels/sheet1.xml.rels": _rels(
                ("rId7", _R + "/printerSettings", "../printerSettings/printerSettings1.bin")
            ),
            "xl/printerSettings/printerSettings1.bin": bytes(range(256)) * 6,
        },
    )


def chart_with_style_parts(path: Path) -> Path:
    """A chart with the style and colour parts Excel 2013 and later write beside it."""

    def build(workbook: Any, sheet: Any) -> None:
        chart = workbook.add_chart({"type": "column"})
        chart.add_series({"categories": "=Budget!$A$2:$A$4", "values": "=Budget!$B$2:$B$4"})
        sheet.insert_chart("D2", chart)

    xlsxwriter_book(path, build)
    ms = "http://schemas.microsoft.com/office/drawing/2012/chartStyle"
    style = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cs:chartStyle xmlns:cs="{ms}" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" id="201">'
        '<cs:axisTitle><cs:lnRef idx="0"/><cs:fillRef idx="0"/><cs:effectRef idx="0"/>'
        '<cs:fontRef idx="minor"><a:schemeClr val="tx1"/></cs:fontRef></cs:axisTitle>'
        "</cs:chartStyle>"
    ).encode()
    colours = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cs:colorStyle xmlns:cs="{ms}" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" meth="cycle" id="10">'
        '<a:schemeClr val="accent1"/><a:schemeClr val="accent2"/></cs:colorStyle>'
    ).encode()
    kinds = "http://schemas.microsoft.com/office/2011/relationships/"
    return rewrite_parts(
        path,
        change={
            "[Content_Types].xml": _insert(
                b"</Types>",
                b'<Override PartName="/xl/charts/style1.xml" '
                b'ContentType="application/vnd.ms-office.chartstyle+xml"/>'
                b'<Override PartName="/xl/charts/colors1.xml" '
                b'ContentType="application/vnd.ms-office.chartcolorstyle+xml"/>',
            )
        },
        add={
            "xl/charts/_rels/chart1.xml.rels": _rels(
                ("rId1", kinds + "chartStyle", "style1.xml"),
                ("rId2", kinds + "chartColorStyle", "colors1.xml"),
            ),
            "xl/charts/style1.xml": style,
            "xl/charts/colors1.xml": colours,
        },
    )


def rich_text_and_blank_looking_cells(path: Path) -> Path:
    """Rich text in three coloured runs, and cells holding only a tab or only a space."""

    def build(workbook: Any, sheet: Any) -> None:
        red = workbook.add_format({"font_color": "red"})
        blue = workbook.add_format({"font_color": "blue", "bold": True})
        sheet.write_rich_string("D1", red, "test3", " ", blue, "aaa")
        sheet.write_string("D2", "\t")
        sheet.write_string("D3", " ")

    return xlsxwriter_book(path, build)


def result_sheet_with_shapes(path: Path) -> Path:
    """A sheet marked as crunch-xl's own result sheet, holding a shape (it is replaced anyway)."""

    def build(workbook: Any, sheet: Any) -> None:
        results = workbook.add_worksheet("Plan A results")
        results.insert_textbox("B2", "old results")
        workbook.define_name("'Plan A results'!crunch_xl_result", "=TRUE")

    return xlsxwriter_book(path, build)


# --- unsafe or unreadable files ----------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n"
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    "</sheetData></worksheet>"
)

EXTERNAL_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE sst [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
    'uniqueCount="1"><si><t>&secret;</t></si></sst>'
)


def billion_laughs(path: Path, encoding: str = "utf-8") -> Path:
    """A workbook whose sheet expands to 10^9 'lol's through nested entities."""
    xlsxwriter_book(path)
    text = BILLION_LAUGHS
    if encoding != "utf-8":
        text = text.replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>')
    data = text.encode(encoding)
    if encoding == "utf-16":
        assert data.startswith(b"\xff\xfe")
    return rewrite_parts(path, change={"xl/worksheets/sheet1.xml": lambda _: data})


def external_entity(path: Path) -> Path:
    """A workbook whose shared strings pull in a local file through an external entity."""

    def build(workbook: Any, sheet: Any) -> None:
        sheet.write("D1", "text")

    xlsxwriter_book(path, build)
    return rewrite_parts(path, change={"xl/sharedStrings.xml": lambda _: EXTERNAL_ENTITY.encode()})


def strict_open_xml(path: Path) -> Path:
    """A workbook saved as Excel's 'Strict Open XML Spreadsheet' (other namespaces)."""
    xlsxwriter_book(path)
    transitional = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    strict = b"http://purl.oclc.org/ooxml/spreadsheetml/main"
    return rewrite_parts(
        path,
        change={
            "xl/workbook.xml": lambda data: data.replace(transitional, strict),
            "xl/worksheets/sheet1.xml": lambda data: data.replace(transitional, strict),
        },
    )


def too_many_parts(path: Path, parts: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for number in range(parts - 2):
            archive.writestr(f"xl/media/part{number}.bin", b"")
    return path


def declared_sizes(path: Path, sizes: dict[str, int]) -> Path:
    """Patch the uncompressed sizes the zip's central directory declares for some parts.

    This is how overlapping-entry zip bombs lie about their size; nothing is unpacked to
    find out.
    """
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, at + 28)
        name = bytes(data[at + 46 : at + 46 + name_length]).decode()
        if name in sizes:
            struct.pack_into("<I", data, at + 24, sizes[name])
        at = data.find(b"PK\x01\x02", at + 46 + name_length + extra_length + comment_length)
    path.write_bytes(bytes(data))
    return path


def zeros_bomb(path: Path, megabytes: int) -> Path:
    """A workbook with one part of zeros: deflate packs it about 1000 to 1."""
    xlsxwriter_book(path)
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/media/padding.xml", "w") as part,
    ):
        block = bytes(1024 * 1024)
        for _ in range(megabytes):
            part.write(block)
    return path


# --- OLE2 compound files (old .xls, password-protected workbooks) -----------------------

_FREE, _END, _FAT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
_NO_ENTRY = 0xFFFFFFFF


def compound_file(streams: dict[str, bytes]) -> bytes:
    """Return an OLE2 compound file (version 3, 512-byte sectors) holding these streams.

    Names with "/" are streams inside storages. Streams under 4096 bytes live in the
    mini stream, as the format requires and as Office writes them.
    """
    # The directory: root, storages and streams, each storage's children in a sibling chain.
    entries: list[dict[str, Any]] = [{"name": "Root Entry", "kind": 5, "children": []}]
    index: dict[str, int] = {"": 0}
    for full_name, data in streams.items():
        parts = full_name.split("/")
        for depth in range(1, len(parts) + 1):
            key = "/".join(parts[:depth])
            if key in index:
                continue
            is_stream = depth == len(parts)
            entry = {"name": parts[depth - 1], "kind": 2 if is_stream else 1, "children": []}
            if is_stream:
                entry["data"] = data
            index[key] = len(entries)
            entries.append(entry)
            entries[index["/".join(parts[: depth - 1])]]["children"].append(index[key])

    mini = bytearray()
    mini_fat: list[int] = []
    big: list[tuple[int, bytes]] = []
    for number, entry in enumerate(entries):
        data = entry.get("data")
        if data is None:
            entry["start"], entry["size"] = _END, 0
            continue
        entry["size"] = len(data)
        if len(data) < 4096:
            first = len(mini) // 64
            count = max(1, -(-len(data) // 64))
            mini_fat.extend(range(first + 1, first + count))
            mini_fat.append(_END)
            mini.extend(data.ljust(count * 64, b"\x00"))
            entry["start"] = first
        else:
            big.append((number, data))

    sector_size = 512
    sectors: list[bytes] = []
    fat: list[int] = []

    def allocate(data: bytes) -> int:
        count = max(1, -(-len(data) // sector_size))
        first = len(sectors)
        for offset in range(count):
            sectors.append(
                data[offset * sector_size : (offset + 1) * sector_size].ljust(sector_size, b"\x00")
            )
            fat.append(first + offset + 1 if offset < count - 1 else _END)
        return first

    mini_stream_start = allocate(bytes(mini)) if mini else _END
    entries[0]["start"], entries[0]["size"] = mini_stream_start, len(mini)
    for number, data in big:
        entries[number]["start"] = allocate(data)
    mini_fat_bytes = struct.pack(f"<{len(mini_fat)}I", *mini_fat) if mini_fat else b""
    mini_fat_start = allocate(mini_fat_bytes.ljust(sector_size, b"\xff")) if mini_fat else _END

    def sort_key(number: int) -> tuple[int, str]:
        name = entries[number]["name"]
        return len(name), name.upper()

    directory = bytearray()
    for entry in entries:
        children = sorted(entry["children"], key=sort_key)
        entry["child"] = children[0] if children else _NO_ENTRY
        for left, right in zip(children, children[1:], strict=False):
            entries[left]["right"] = right
    for entry in entries:
        name = entry["name"].encode("utf-16-le") + b"\x00\x00"
        directory += name.ljust(64, b"\x00")
        directory += struct.pack("<HBB", len(name), entry["kind"], 1)
        directory += struct.pack("<III", _NO_ENTRY, entry.get("right", _NO_ENTRY), entry["child"])
        directory += bytes(16 + 4 + 8 + 8)
        directory += struct.pack("<IQ", entry["start"], entry["size"])
    directory_start = allocate(bytes(directory).ljust(-(-len(directory) // 512) * 512, b"\x00"))

    # FAT sectors go last; they also describe themselves.
    fat_count = 1
    while (len(sectors) + fat_count) > fat_count * (sector_size // 4):
        fat_count += 1
    fat_start = len(sectors)
    fat.extend([_FAT] * fat_count)
    fat.extend([_FREE] * (fat_count * (sector_size // 4) - len(fat)))
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    for number in range(fat_count):
        sectors.append(fat_bytes[number * sector_size : (number + 1) * sector_size])

    difat = [fat_start + number for number in range(fat_count)]
    difat += [_FREE] * (109 - len(difat))
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
    header += struct.pack("<IIIIIIIII", 0, fat_count, directory_start, 0, 4096, mini_fat_start,
                          1 if mini_fat else 0, _END, 0)  # fmt: skip
    header += struct.pack("<109I", *difat)
    return header + b"".join(sectors)


def encrypted_workbook(path: Path) -> Path:
    """A password-protected .xlsx: an OLE2 file with EncryptionInfo and EncryptedPackage.

    The layout is what Excel writes for agile encryption (MS-OFFCRYPTO 2.3.4.10).
    """
    info = struct.pack("<HHI", 4, 4, 0x40) + (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption">'
        b'<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" '
        b'cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" '
        b'saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/></encryption>'
    )
    package = struct.pack("<Q", 9000) + bytes((n * 131) % 251 for n in range(9008))
    transform = "\x06DataSpaces/TransformInfo/StrongEncryptionTransform/\x06Primary"
    path.write_bytes(
        compound_file(
            {
                "\x06DataSpaces/Version": struct.pack("<I", 60)
                + "Microsoft.Container.DataSpaces".encode("utf-16-le"),
                "\x06DataSpaces/DataSpaceMap": bytes(112),
                "\x06DataSpaces/DataSpaceInfo/StrongEncryptionDataSpace": bytes(64),
                transform: bytes(200),
                "EncryptionInfo": info,
                "EncryptedPackage": package,
            }
        )
    )
    return path


def old_xls(path: Path) -> Path:
    """An Excel 97-2003 workbook: BIFF8 records in a 'Workbook' stream of a compound file."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0x000100C1, 0x0406)
    eof = struct.pack("<HH", 0x000A, 0)
    workbook = (bof + eof).ljust(4096, b"\x00")
    path.write_bytes(compound_file({"Workbook": workbook, "\x05SummaryInformation": bytes(200)}))
    return path


def vba_project() -> bytes:
    """Return a stand-in vbaProject.bin: a compound file laid out like a VBA project.

    It holds the storages and streams Office writes, but no compiled macro code: openpyxl
    copies the part byte for byte, which is all the tests check.
    """
    return compound_file(
        {
            "VBA/_VBA_PROJECT": b"\xcc\x61\xff\xff\x00\x00\x00",
            "VBA/dir": bytes(300),
            "VBA/ThisWorkbook": b'Attribute VB_Name = "ThisWorkbook"\r\n',
            "VBA/Module1": b'Attribute VB_Name = "Module1"\r\nSub Recalculate()\r\nEnd Sub\r\n',
            "PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"\r\nModule=Module1\r\n',
            "PROJECTwm": b"Module1\x00M\x00o\x00d\x00u\x00l\x00e\x001\x00\x00\x00\x00\x00",
        }
    )


# --- LibreOffice ---------------------------------------------------------------------------

FODS_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
"""


def _fods_rows(rows: list[tuple[str, int]]) -> str:
    return "".join(
        f'<table:table-row><table:table-cell office:value-type="string"><text:p>{grade}</text:p>'
        f'</table:table-cell><table:table-cell office:value-type="float" office:value="{count}">'
        f"<text:p>{count}</text:p></table:table-cell></table:table-row>"
        for grade, count in rows
    )


def fods_plain() -> str:
    """A flat OpenDocument spreadsheet with values only."""
    rows = _fods_rows([("K", 44), ("1", 51), ("2", 47)])
    return (
        FODS_HEADER
        + '<office:body><office:spreadsheet><table:table table:name="Plan A">'
        + rows
        + "</table:table></office:spreadsheet></office:body></office:document>"
    )


def fods_with_features() -> str:
    """A flat OpenDocument spreadsheet with shapes, a text box, a comment and a data bar."""
    rows = _fods_rows([("K", 44), ("1", 51), ("2", 47)])
    shapes = (
        '<table:shapes><draw:rect draw:z-index="0" svg:width="3cm" svg:height="1cm" '
        'svg:x="5cm" svg:y="1cm"><text:p>Check</text:p></draw:rect>'
        '<draw:frame draw:z-index="1" svg:width="4cm" svg:height="1cm" svg:x="5cm" svg:y="3cm">'
        "<draw:text-box><text:p>Ask the principal</text:p></draw:text-box></draw:frame>"
        "</table:shapes>"
    )
    annotated = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Total</text:p>'
        "<office:annotation><dc:creator>Office</dc:creator><text:p>From the census</text:p>"
        "</office:annotation></table:table-cell></table:table-row>"
    )
    data_bar = (
        "<calcext:conditional-formats>"
        '<calcext:conditional-format calcext:target-range-address="Trend.B1:Trend.B3">'
        '<calcext:data-bar calcext:positive-color="#638ec6" calcext:negative-color="#ff0000" '
        'calcext:axis-position="automatic" calcext:axis-color="#000000">'
        '<calcext:formatting-entry calcext:value="0" calcext:type="auto-minimum"/>'
        '<calcext:formatting-entry calcext:value="0" calcext:type="auto-maximum"/>'
        "</calcext:data-bar></calcext:conditional-format></calcext:conditional-formats>"
    )
    return (
        FODS_HEADER
        + "<office:body><office:spreadsheet>"
        + f'<table:table table:name="Budget">{shapes}{rows}{annotated}</table:table>'
        + f'<table:table table:name="Trend">{rows}{data_bar}</table:table>'
        + "</office:spreadsheet></office:body></office:document>"
    )


def soffice() -> str | None:
    """Return the LibreOffice command, or None where it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def libreoffice_convert(sources: list[Path], target: str, folder: Path) -> list[Path]:
    """Convert files with LibreOffice headless (one run for all); return the outputs."""
    command = soffice()
    assert command is not None
    profile = (folder / "lo-profile").resolve().as_uri()
    subprocess.run(
        [command, f"-env:UserInstallation={profile}", "--headless", "--norestore",
         "--convert-to", target, "--outdir", str(folder), *map(str, sources)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    outputs = [folder / (source.stem + "." + target.split(":")[0]) for source in sources]
    for output in outputs:
        assert output.exists(), f"LibreOffice did not write {output.name}"
    return outputs
