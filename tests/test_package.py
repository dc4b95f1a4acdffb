"""Tests for crunch_xl.excel.package: the safety checks, and what kind of workbook a file is.

That a workbook's parts survive the writing of results is tested in test_graft.py.
"""

from __future__ import annotations

import io
import os
import random
import time
import tracemalloc
import zipfile
from pathlib import Path

import defusedxml
import fixtures_package as fx
import openpyxl
import openpyxl.xml
import pytest

from crunch_xl.errors import WorkbookError
from crunch_xl.excel.package import MAX_PARTS, PackageInfo, inspect_package

try:
    import PIL  # noqa: F401

    PILLOW = True
except ImportError:
    PILLOW = False


@pytest.fixture(scope="module")
def vba_project() -> bytes:
    return fx.vba_project()


def refusal(path: Path | io.BytesIO) -> str:
    """Return the one-line message inspect_package refuses a file with."""
    with pytest.raises(WorkbookError) as caught:
        inspect_package(path)
    message = str(caught.value)
    assert message and "\n" not in message
    return message


def vba_part(path: Path) -> bytes | None:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        return archive.read("xl/vbaProject.bin") if "xl/vbaProject.bin" in names else None


# --- openpyxl parses safely ------------------------------------------------------------


def test_openpyxl_parses_xml_through_defusedxml() -> None:
    assert openpyxl.xml.DEFUSEDXML is True


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_billion_laughs_is_refused_and_never_expands(tmp_path: Path, encoding: str) -> None:
    bomb = fx.billion_laughs(tmp_path / "laughs.xlsx", encoding)
    tracemalloc.start()
    started = time.perf_counter()
    message = refusal(bomb)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "contains XML entity declarations" in message
    assert "xl/worksheets/sheet1.xml" in message
    # Expanded, the sheet would be 3 GB of "lol"; refusing it reads a few kilobytes.
    assert peak < 20 * 1024 * 1024
    assert seconds < 2


def test_openpyxl_itself_refuses_billion_laughs(tmp_path: Path) -> None:
    # Defence in depth: even if inspect_package were skipped, defusedxml stops openpyxl.
    bomb = fx.billion_laughs(tmp_path / "laughs.xlsx")
    tracemalloc.start()
    with pytest.raises(ValueError) as caught:
        openpyxl.load_workbook(bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert isinstance(caught.value.__cause__, defusedxml.EntitiesForbidden)
    assert peak < 50 * 1024 * 1024


def test_external_entity_is_refused(tmp_path: Path) -> None:
    message = refusal(fx.external_entity(tmp_path / "xxe.xlsx"))
    assert "contains XML entity declarations, which crunch-xl does not open for safety" in message
    assert "xl/sharedStrings.xml" in message


# --- files that are not workbooks ---------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "plan.xlsx"
    empty.write_bytes(b"")
    assert refusal(empty) == "plan.xlsx is empty (0 bytes): there is no workbook in it."


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"Grade,Children\r\nK,44\r\n1,51\r\n", "is a text (CSV) file with an Excel name"),
        ("Grade;Kinder\nK;44\nVorschule;12\n".encode("cp1252"), "is a text (CSV) file"),
        ("Grade\tChildren\nK\t44\n".encode("utf-16"), "is a text (CSV) file"),
        (b"<html><body><table><tr><td>K</td></tr></table></body></html>", "web page (HTML)"),
    ],
)
def test_text_file_with_an_excel_name(tmp_path: Path, content: bytes, expected: str) -> None:
    renamed = tmp_path / "plan.xlsx"
    renamed.write_bytes(content)
    message = refusal(renamed)
    assert message.startswith("plan.xlsx ")
    assert expected in message
    assert "save it as an Excel Workbook (.xlsx)" in message


def test_old_xls(tmp_path: Path) -> None:
    message = refusal(fx.old_xls(tmp_path / "plan.xls"))
    assert message.startswith("plan.xls is an old Excel 97-2003 workbook (.xls)")
    assert "save it as an Excel Workbook (.xlsx)" in message


def test_password_protected_workbook(tmp_path: Path) -> None:
    message = refusal(fx.encrypted_workbook(tmp_path / "plan.xlsx"))
    assert message.startswith("plan.xlsx is password-protected")
    assert "remove the password" in message


def test_corrupt_zip(tmp_path: Path) -> None:
    whole = fx.kept_features(tmp_path / "whole.xlsx").read_bytes()
    cut = tmp_path / "plan.xlsx"
    cut.write_bytes(whole[: len(whole) // 2])
    assert "plan.xlsx is damaged" in refusal(cut)


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    other = tmp_path / "plan.xlsx"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "holiday photos")
    assert "is a zip file but not an Excel workbook (it has no xl/workbook.xml)" in refusal(other)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"},
         "OpenDocument spreadsheet (.ods)"),
        ({"[Content_Types].xml": "<Types/>", "xl/workbook.bin": "\0"}, "Excel Binary Workbook"),
        ({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"}, "Word document"),
    ],
)  # fmt: skip
def test_other_office_zips(tmp_path: Path, parts: dict[str, str], expected: str) -> None:
    other = tmp_path / "plan.xlsx"
    with zipfile.ZipFile(other, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    assert expected in refusal(other)


def test_missing_file(tmp_path: Path) -> None:
    assert refusal(tmp_path / "gone.xlsx").startswith("gone.xlsx cannot be opened")


# --- zip bombs ---------------------------------------------------------------------------


def test_too_many_parts(tmp_path: Path) -> None:
    message = refusal(fx.too_many_parts(tmp_path / "parts.xlsx", MAX_PARTS + 1))
    assert f"has {MAX_PARTS + 1:,} parts, more than the {MAX_PARTS:,}" in message


def test_too_large_uncompressed_is_refused_from_the_central_directory(tmp_path: Path) -> None:
    # The zip is a few kilobytes; only its directory claims 2 x 200 MB. Refusing it without
    # unpacking anything is what protects against overlapping-entry bombs.
    bomb = fx.declared_sizes(
        fx.xlsxwriter_book(tmp_path / "big.xlsx"),
        {"xl/worksheets/sheet1.xml": 200 * 1024 * 1024, "xl/styles.xml": 200 * 1024 * 1024},
    )
    assert bomb.stat().st_size < 20_000
    message = refusal(bomb)
    assert "would unpack to 400 MB, more than the 300 MB crunch-xl opens" in message


def test_absurd_compression_ratio(tmp_path: Path) -> None:
    message = refusal(fx.zeros_bomb(tmp_path / "zeros.xlsx", megabytes=8))
    assert "times larger than it is stored (xl/media/padding.xml)" in message


def test_part_larger_than_declared_is_refused_while_reading(tmp_path: Path) -> None:
    # The directory says the sheet is 200 bytes; it unpacks to more. Reads stop at 200.
    liar = fx.declared_sizes(
        fx.xlsxwriter_book(tmp_path / "liar.xlsx"), {"xl/worksheets/sheet1.xml": 200}
    )
    assert "is damaged" in refusal(liar)


# --- what kind of workbook ------------------------------------------------------------------


def test_plain_workbook_is_described(tmp_path: Path) -> None:
    info = inspect_package(fx.openpyxl_plain(tmp_path / "plain.xlsx"))
    assert info == PackageInfo(
        path=tmp_path / "plain.xlsx",
        is_macro_enabled=False,
        parts=info.parts,
        uncompressed=info.uncompressed,
        strict=False,
    )
    assert info.parts >= 7 and info.uncompressed > 1000


def test_macro_enabled_workbook(tmp_path: Path, vba_project: bytes) -> None:
    assert inspect_package(fx.macros(tmp_path / "plan.xlsm", vba_project)).is_macro_enabled
    assert not inspect_package(fx.xlsxwriter_book(tmp_path / "plan.xlsx")).is_macro_enabled


def test_strict_open_xml_is_read_but_marked(tmp_path: Path) -> None:
    assert inspect_package(fx.strict_open_xml(tmp_path / "plan.xlsx")).strict


@pytest.mark.filterwarnings("error")
def test_a_workbook_openpyxl_cannot_load_is_a_workbook(tmp_path: Path) -> None:
    source = fx.grouped_pivot_table(tmp_path / "pivot.xlsx")
    with pytest.raises(TypeError, match="from_tree"):
        openpyxl.load_workbook(source)
    assert inspect_package(source).parts > 10


# --- streams -------------------------------------------------------------------------------


def test_stream_is_inspected_and_left_where_it_was(tmp_path: Path) -> None:
    data = fx.text_boxes(tmp_path / "plan.xlsx").read_bytes()
    stream = io.BytesIO(b"junk" + data)
    stream.seek(4)
    info = inspect_package(stream)
    assert info.path is None and info.parts > 5
    assert stream.tell() == 4


def test_stream_refusals_name_the_file_generically() -> None:
    assert refusal(io.BytesIO(b"")) == "This file is empty (0 bytes): there is no workbook in it."


def test_open_file_is_named(tmp_path: Path) -> None:
    path = fx.sparklines(tmp_path / "trend.xlsx")
    with path.open("rb") as stream:
        info = inspect_package(stream)
        assert stream.tell() == 0
    assert info.path == path


# --- LibreOffice ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def libreoffice_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if fx.soffice() is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required in CI")
        pytest.skip("LibreOffice (soffice) is not installed")
    folder = tmp_path_factory.mktemp("libreoffice")
    (folder / "features.fods").write_text(fx.fods_with_features(), encoding="utf-8")
    (folder / "plain.fods").write_text(fx.fods_plain(), encoding="utf-8")
    features, plain = fx.libreoffice_convert(
        [folder / "features.fods", folder / "plain.fods"], "xlsx", folder
    )
    (old,) = fx.libreoffice_convert([folder / "plain.fods"], "xls", folder)
    return {"features": features, "plain": plain, "xls": old}


@pytest.mark.libreoffice
def test_libreoffice_workbooks_are_workbooks(libreoffice_files: dict[str, Path]) -> None:
    for name in ("features", "plain"):
        assert not inspect_package(libreoffice_files[name]).strict


@pytest.mark.libreoffice
def test_libreoffice_xls_is_refused(libreoffice_files: dict[str, Path]) -> None:
    message = refusal(libreoffice_files["xls"])
    assert message.startswith("plain.xls is an old Excel 97-2003 workbook (.xls)")


# --- speed ---------------------------------------------------------------------------------


ROWS_FOR_FIVE_MEGABYTES = 36_000


def test_five_megabyte_workbook_is_inspected_quickly(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "big.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("Data")
    rng = random.Random(7)
    for row in range(ROWS_FOR_FIVE_MEGABYTES):
        sheet.write_row(row, 0, [rng.random() * 1000 for _ in range(10)])
        sheet.write_string(row, 10, f"class {rng.randrange(10**6)}")
    workbook.close()
    assert path.stat().st_size > 5_000_000
    started = time.perf_counter()
    info = inspect_package(path)
    seconds = time.perf_counter() - started
    assert info.uncompressed > 5_000_000
    assert seconds < 5, f"{seconds:.2f} s for {path.stat().st_size:,} bytes"
