"""Results grafted into workbooks of many makers: every part of the user's stays byte for byte.

Each workbook holds something a spreadsheet library would lose or refuse (shapes, sparklines,
printer settings, chart style parts, rich text, a pivot table openpyxl cannot load, macros,
parts no one knows...). The results are written into it twice; after each run every original
part must be byte for byte what it was, except the few the graft must change, the user's
values must read the same with a second reader (calamine), and, in the LibreOffice tests, the
workbook must open in LibreOffice and keep working after LibreOffice saves it again.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import defusedxml.ElementTree as safe_xml
import fixtures_package as fx
import pytest
import python_calamine
from openpyxl import Workbook
from test_writer import full_report
from workbooks import make_workbook, write_scenario_sheet

from crunch_xl.errors import WorkbookError
from crunch_xl.excel.graft import graft
from crunch_xl.excel.package import open_package
from crunch_xl.excel.reader import read_workbook
from crunch_xl.excel.sheets import SUMMARY_SHEET_NAME, build_results
from crunch_xl.excel.writer import write_results
from crunch_xl.model import RESULT_SHEET_MARK
from crunch_xl.workbook import Settings, process_workbook

#: The parts a graft changes: the workbook part, its relationships, content types, styles.
GRAFTED = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/styles.xml"}
RESULT_SHEETS = [SUMMARY_SHEET_NAME, "Plan A results", "Plan B results", "Broken results",
                 "Plan C results"]  # fmt: skip


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def assert_only_grafted_parts_changed(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """Assert every original part is still there, byte for byte, but for the grafted ones.

    A sheet that was the selected tab may differ by its ``tabSelected`` flag alone.
    """
    assert not set(before) - set(after), f"parts lost: {sorted(set(before) - set(after))}"
    for name, data in before.items():
        if after[name] == data or name in GRAFTED:
            continue
        unselected = re.sub(rb'\stabSelected="(?:1|true)"', b"", data, count=1)
        assert unselected == after[name], f"{name} changed"


def sheet_names(path: Path) -> list[tuple[str, bool]]:
    """Return (name, is crunch-xl's) for every sheet, from the workbook part alone."""
    with open_package(path) as package:
        return [(sheet.name, sheet.is_result) for sheet in package.sheets]


def user_values(path: Path) -> dict[str, list[list[object]]]:
    """Return every user worksheet's values as calamine (a second reader) reads them."""
    with open_package(path) as package:
        names = [s.name for s in package.sheets if s.kind == "worksheet" and not s.is_result]
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    return {name: workbook.get_sheet_by_name(name).to_python() for name in names}


def with_unknown_parts(path: Path) -> Path:
    """Parts no library knows, and parts Excel rebuilds (calculation chain, thumbnail)."""
    return fx.extra_parts(
        path,
        {
            "xl/gadgets/gadget1.xml": b"<gadget/>",
            "xl/calcChain.xml": b'<calcChain xmlns="x"><c r="B5" i="1"/></calcChain>',
            "docProps/thumbnail.jpeg": b"\xff\xd8\xff\xe0" + bytes(200),
        },
    )


def macros_xlsm(path: Path) -> Path:
    return fx.button(path.with_suffix(".xlsm"), fx.vba_project())


def macros_in_xlsx(path: Path) -> Path:
    return fx.macros(path, fx.vba_project())


def prefixed_namespace(path: Path) -> Path:
    """Every part of the main namespace written with an ``x:`` prefix (Open XML SDK style)."""
    fx.xlsxwriter_book(path)

    def prefixed(data: bytes) -> bytes:
        data = re.sub(rb"<(/?)([A-Za-z])", rb"<\1x:\2", data)
        return data.replace(b"<x:?xml", b"<?xml").replace(b' xmlns="', b' xmlns:x="', 1)

    names = ["xl/workbook.xml", "xl/styles.xml", "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"]
    return fx.rewrite_parts(path, {name: prefixed for name in names})


def empty_styles(path: Path) -> Path:
    """A styles part that is one empty element (an old generator's; Excel opens it)."""
    empty = b'<?xml version="1.0"?>\n<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
    return fx.rewrite_parts(fx.xlsxwriter_book(path), {"xl/styles.xml": lambda data: empty})


BUILDERS: list[Callable[[Path], Path]] = [
    fx.openpyxl_plain, fx.kept_features, fx.text_boxes, fx.sparklines, fx.picture,
    fx.data_bars_2010, fx.visible_comment, fx.button, fx.threaded_comments, fx.slicer,
    fx.custom_xml, fx.dynamic_array, fx.cell_checkbox, fx.picture_in_cell, fx.ignored_errors,
    fx.background_picture, fx.header_picture, fx.embedded_object, fx.read_only_recommended,
    fx.edit_ranges, fx.x14_validation, fx.grouped_pivot_table, fx.printer_settings,
    fx.chart_with_style_parts, fx.rich_text_and_blank_looking_cells, with_unknown_parts,
    macros_xlsm, macros_in_xlsx, prefixed_namespace, empty_styles,
]  # fmt: skip


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("build", BUILDERS, ids=[build.__name__ for build in BUILDERS])
def test_results_are_grafted_and_nothing_of_the_users_changes(
    tmp_path: Path, build: Callable[[Path], Path]
) -> None:
    source = build(tmp_path / "book.xlsx")
    before, values = parts(source), user_values(source)
    users = sheet_names(source)
    assert read_workbook(source).items == []  # read without a word, whatever it holds
    once, twice = tmp_path / ("once" + source.suffix), tmp_path / ("twice" + source.suffix)
    write_results(source, full_report(), once)
    write_results(once, full_report(), twice)
    for output in (once, twice):
        assert_only_grafted_parts_changed(before, parts(output))
        assert sheet_names(output) == users + [(name, True) for name in RESULT_SHEETS]
        assert user_values(output) == values
    # Running again replaces exactly what the first run added: same parts, same styles.
    assert sorted(parts(twice)) == sorted(parts(once))
    assert parts(twice)["xl/styles.xml"] == parts(once)["xl/styles.xml"]


def test_the_rich_text_and_blank_looking_cells_read_back_as_typed(tmp_path: Path) -> None:
    source = fx.rich_text_and_blank_looking_cells(tmp_path / "book.xlsx")
    write_results(source, full_report(), tmp_path / "out.xlsx")
    rows = user_values(tmp_path / "out.xlsx")["Budget"]
    assert [row[3] for row in rows[:3]] == ["test3 aaa", "\t", " "]


def test_the_summary_opens_first_and_alone(tmp_path: Path) -> None:
    # The user's selected sheet loses its flag, so Excel does not open two tabs grouped.
    source = fx.kept_features(tmp_path / "book.xlsx")
    assert b'tabSelected="1"' in parts(source)["xl/worksheets/sheet1.xml"]
    write_results(source, full_report(), tmp_path / "out.xlsx")
    out = parts(tmp_path / "out.xlsx")
    workbook = out["xl/workbook.xml"].decode()
    names = [name for name, _ in sheet_names(tmp_path / "out.xlsx")]
    assert f'activeTab="{names.index(SUMMARY_SHEET_NAME)}"' in workbook
    selected = [name for name, data in out.items() if b'tabSelected="1"' in data]
    assert len(selected) == 1 and selected[0].startswith("xl/worksheets/")


def test_a_selected_sheet_too_large_to_edit_stays_selected_and_opens_first(
    tmp_path: Path,
) -> None:
    # Unselecting a sheet means recompressing all of it: past 32 MB that costs seconds.
    book = Workbook()
    class_list = book.active
    assert class_list is not None
    class_list.title = "Class list"
    class_list["A1"] = "placeholder"
    class_list.sheet_view.tabSelected = True  # where the administrator left it
    write_scenario_sheet(book.create_sheet("Plan A"), teachers=3, grades=[("K", 40, 15, 22)])
    source = tmp_path / "book.xlsx"
    book.save(source)
    rows = b"".join(
        b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>%d</v></c></row>' % (n, n, n, n, n)
        for n in range(1, 600_001)
    )
    large = fx.rewrite_parts(
        source,
        {"xl/worksheets/sheet1.xml": lambda data: re.sub(rb"<sheetData>.*</sheetData>",
                                                         b"<sheetData>" + rows + b"</sheetData>",
                                                         data, flags=re.S)},
    )  # fmt: skip
    before = zipfile.ZipFile(large).getinfo("xl/worksheets/sheet1.xml")
    assert before.file_size > 32 * 1024 * 1024
    for run in range(2):
        write_results(large, full_report(), large)
        out = parts(large)
        after = zipfile.ZipFile(large).getinfo("xl/worksheets/sheet1.xml")
        assert (after.CRC, after.compress_size) == (before.CRC, before.compress_size), run
        assert 'activeTab="0"' in out["xl/workbook.xml"].decode()
        selected = [name for name, data in out.items() if b'tabSelected="1"' in data]
        assert selected == ["xl/worksheets/sheet1.xml"], run


def test_marks_and_print_titles_follow_their_sheets(tmp_path: Path) -> None:
    source = fx.kept_features(tmp_path / "book.xlsx")  # a chart sheet, and a sheet-scoped name
    write_results(source, full_report(), tmp_path / "out.xlsx")
    workbook = parts(tmp_path / "out.xlsx")["xl/workbook.xml"].decode()
    names = [name for name, _ in sheet_names(tmp_path / "out.xlsx")]
    marks = re.findall(rf'name="{RESULT_SHEET_MARK}" localSheetId="(\d+)"', workbook)
    assert [names[int(n)] for n in marks] == RESULT_SHEETS
    assert f'<definedName name="Local" localSheetId="{names.index("Budget")}"' in workbook
    ids = re.findall(r'sheetId="(\d+)"', workbook)
    assert len(ids) == len(set(ids)) == len(names)


def test_renamed_result_sheets_are_replaced(tmp_path: Path) -> None:
    source = fx.kept_features(tmp_path / "book.xlsx")
    write_results(source, full_report(), tmp_path / "once.xlsx")
    expected = sheet_names(tmp_path / "once.xlsx")
    # The administrator renames a result sheet: it is still crunch-xl's, and is replaced.
    moved = fx.rewrite_parts(
        tmp_path / "once.xlsx",
        {"xl/workbook.xml": lambda data: data.replace(b'"Plan A results"', b'"My favourite"')},
    )
    notes = write_results(moved, full_report(), tmp_path / "again.xlsx")
    assert ("My favourite", True) in sheet_names(moved)
    assert sheet_names(tmp_path / "again.xlsx") == expected
    # Its title, still an inline string as grafted, says which sheet replaces it.
    assert (
        "The result sheet 'My favourite' (a result sheet you renamed) was replaced by "
        "'Plan A results'" in notes[-1]
    )


def test_a_workbook_without_styles_gets_ours(tmp_path: Path) -> None:
    source = fx.xlsxwriter_book(tmp_path / "bare.xlsx")
    fx.rewrite_parts(
        source,
        {
            "xl/_rels/workbook.xml.rels": lambda data: re.sub(
                rb"<Relationship [^>]*styles[^>]*/>", b"", data
            ),
            "[Content_Types].xml": lambda data: re.sub(
                rb"<Override [^>]*styles\.xml[^>]*/>", b"", data
            ),
        },
    )
    with zipfile.ZipFile(source) as archive:
        kept = {name: archive.read(name) for name in archive.namelist() if name != "xl/styles.xml"}
    with zipfile.ZipFile(source, "w") as archive:
        for name, data in kept.items():
            archive.writestr(name, data)
    write_results(source, full_report(), tmp_path / "out.xlsx")
    assert [name for name, _ in sheet_names(tmp_path / "out.xlsx")][1:] == RESULT_SHEETS


def test_strict_open_xml_gets_its_results_beside(tmp_path: Path) -> None:
    source = fx.strict_open_xml(tmp_path / "plan.xlsx")
    original = source.read_bytes()
    report = process_workbook(source, settings=Settings(alternatives=1))
    assert source.read_bytes() == original
    assert report.output == tmp_path / "plan.results.xlsx"
    assert "Strict Open XML" in report.notes[-1]
    assert [name for name, _ in sheet_names(report.output)] == [SUMMARY_SHEET_NAME]


def test_graft_of_a_built_workbook_is_a_zip_any_reader_opens(tmp_path: Path) -> None:
    source = fx.grouped_pivot_table(tmp_path / "pivot.xlsx")
    with open_package(source) as package:
        data = graft(package, build_results(full_report(), ["Budget", "Pivot"]))
    out = tmp_path / "out.xlsx"
    out.write_bytes(data)
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None


# --- LibreOffice opens them, saves them, and crunch-xl runs on again -----------------------


@pytest.fixture(scope="module")
def libreoffice_round_trip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Return, by builder, a grafted workbook after LibreOffice opened and saved it."""
    if fx.soffice() is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required in CI")
        pytest.skip("LibreOffice (soffice) is not installed")
    folder = tmp_path_factory.mktemp("grafted")
    grafted = []
    for build in BUILDERS:
        source = build(folder / f"{build.__name__}.xlsx")
        write_results(source, full_report(), source)
        grafted.append(source)
    saved = folder / "saved"
    saved.mkdir()
    outputs = fx.libreoffice_convert(grafted, "xlsx", saved)
    return {path.stem: path for path in outputs}


@pytest.mark.libreoffice
@pytest.mark.timeout(600)
@pytest.mark.parametrize("build", BUILDERS, ids=[build.__name__ for build in BUILDERS])
def test_libreoffice_opens_the_graft_and_the_next_run_replaces_its_sheets(
    libreoffice_round_trip: dict[str, Path], build: Callable[[Path], Path]
) -> None:
    saved = libreoffice_round_trip[build.__name__]
    names = [name for name, _ in sheet_names(saved)]
    assert [name for name in names if name in RESULT_SHEETS] == RESULT_SHEETS
    summary = python_calamine.CalamineWorkbook.from_path(str(saved))
    assert summary.get_sheet_by_name(SUMMARY_SHEET_NAME).to_python()[0][0] == "crunch-xl summary"
    write_results(saved, full_report(), saved)
    again = sheet_names(saved)
    assert [name for name, mark in again if mark] == RESULT_SHEETS
    assert len(again) == len(names)


@pytest.mark.libreoffice
@pytest.mark.timeout(300)
def test_a_libreoffice_saved_plan_is_planned_and_grafted_twice(tmp_path: Path) -> None:
    if fx.soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    (tmp_path / "in").mkdir()
    source = make_workbook(
        tmp_path / "in" / "plan.xlsx",
        {"Plan A": {"teachers": 3, "grades": [("K", 40, 15, 22), ("1", 22, 15, 24)]}},
    )
    (saved,) = fx.libreoffice_convert([source], "xlsx", tmp_path)
    before = parts(saved)
    for _ in range(2):
        report = process_workbook(saved, settings=Settings(alternatives=1))
        assert report.all_solved and report.output == saved
        assert_only_grafted_parts_changed(before, parts(saved))
    assert [name for name, mark in sheet_names(saved) if mark] == [
        SUMMARY_SHEET_NAME,
        "Plan A results",
    ]


@pytest.mark.parametrize(
    ("part", "pattern", "written"),
    [
        ("xl/workbook.xml", rb'activeTab="\d+"', b'activeTab="-1"'),
        ("xl/workbook.xml", rb'activeTab="\d+"', b"activeTab = '0'"),
        ("xl/styles.xml", rb'(?<=<cellXfs) count="\d+"', b" count = '1'"),
    ],
    ids=["tab-minus-one", "tab-in-single-quotes", "count-in-single-quotes"],
)
def test_attributes_written_any_legal_way_are_replaced_once(
    tmp_path: Path, part: str, pattern: bytes, written: bytes
) -> None:
    # "-1" (no tab) is what some writers leave; single quotes and spaces around "=" are XML.
    source = fx.openpyxl_plain(tmp_path / "book.xlsx")
    assert re.search(pattern, parts(source)[part])
    fx.rewrite_parts(source, {part: lambda data: re.sub(pattern, written, data, count=1)})
    write_results(source, full_report(), tmp_path / "out.xlsx")
    out = parts(tmp_path / "out.xlsx")
    for name in GRAFTED:
        safe_xml.fromstring(out[name])  # an attribute written twice would not parse
    names = [name for name, _ in sheet_names(tmp_path / "out.xlsx")]
    workbook = out["xl/workbook.xml"]
    assert re.findall(rb"\sactiveTab\s*=", workbook) == [b" activeTab="]
    assert b'activeTab="%d"' % names.index(SUMMARY_SHEET_NAME) in workbook


def test_a_layout_the_graft_cannot_edit_safely_stops_the_write(tmp_path: Path) -> None:
    # A ">" inside an attribute value is legal XML, but ends the tag for the graft's edit.
    source = fx.openpyxl_plain(tmp_path / "book.xlsx")
    odd = {
        "xl/workbook.xml": lambda data: data.replace(b"<workbookView ", b'<workbookView note=">" ')
    }
    fx.rewrite_parts(source, odd)
    before = source.read_bytes()
    with pytest.raises(WorkbookError, match="was not changed"):
        write_results(source, full_report(), tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()
    assert source.read_bytes() == before
