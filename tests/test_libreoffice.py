"""The real-client test: LibreOffice opens a result workbook and prints it to PDF.

Skipped where `soffice` is not installed, except when the CI environment variable is set:
then a missing LibreOffice is a failure, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from render_screenshot import (
    CONVERT_TIMEOUT,
    convert_to_pdf,
    first_page_of,
    pdf_pages,
    soffice,
    write_sample_workbook,
)

from crunch_xl.excel.sheets import SUMMARY_SHEET_NAME

pytestmark = pytest.mark.libreoffice


def soffice_or_skip() -> str:
    """Return the LibreOffice command; skip the test without it (fail in CI)."""
    command = soffice()
    if command is None:
        reason = "LibreOffice (soffice) is not installed, so result sheets cannot be printed"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI is set: install LibreOffice in the CI image")
        pytest.skip(reason)
    return command


@pytest.mark.timeout(CONVERT_TIMEOUT + 120)
def test_libreoffice_prints_the_result_workbook_to_pdf(tmp_path: Path) -> None:
    command = soffice_or_skip()
    workbook = write_sample_workbook(tmp_path, time_limit=10.0)
    outdir = tmp_path / "pdf"
    converted = convert_to_pdf(workbook, outdir, command=command)
    assert converted.returncode == 0, converted.stderr
    pdf = outdir / f"{workbook.stem}.pdf"
    # soffice can exit 0 without writing anything: the PDF itself is the evidence.
    assert pdf.exists(), f"no PDF written: {converted.stdout} {converted.stderr}"
    assert pdf.stat().st_size > 0
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        pages = pdf_pages(pdf)
        # Every crunch-xl sheet was printed, and the chart with the class plan it belongs to.
        assert any(page.lstrip().startswith(SUMMARY_SHEET_NAME) for page in pages)
        for scenario in ("21 teachers", "20 teachers", "18 teachers, classes of 24"):
            assert any(f"{scenario}: class plan" in page for page in pages), scenario
        plan = pages[first_page_of(pdf, "20 teachers") - 1]
        assert "Option 1: children per class, by grade" in plan
