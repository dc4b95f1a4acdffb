"""Render a real result sheet to PNG for the README, through LibreOffice and poppler.

    python tests/render_screenshot.py docs/result-sheet.png ["20 teachers"]

It plans samples/lakeside-primary.xlsx with the real planner (and explains the impossible
scenario), writes the results with crunch_xl.excel.writer, converts the workbook to PDF with
`soffice --headless` and renders the first page of the named scenario's result sheet with
`pdftoppm -png -r 80`. tests/test_libreoffice.py uses the same functions.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from crunch_xl.excel.writer import write_results
from crunch_xl.model import Report
from crunch_xl.workbook import Settings, plan_workbook

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "lakeside-primary.xlsx"
SCREENSHOT_SCENARIO = "20 teachers"
CONVERT_TIMEOUT = 120.0


def sample_report(source: Path = SAMPLE, *, time_limit: float = 30.0) -> Report:
    """Return the report of planning every scenario of `source` with the real planner."""
    return plan_workbook(source, Settings(time_limit=time_limit))


def write_sample_workbook(directory: Path, *, time_limit: float = 30.0) -> Path:
    """Return the path of the sample workbook with its results, written into `directory`."""
    destination = directory / f"{SAMPLE.stem}-results.xlsx"
    write_results(SAMPLE, sample_report(time_limit=time_limit), destination)
    return destination


def soffice() -> str | None:
    """Return the LibreOffice command, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_pdf(
    workbook: Path, outdir: Path, *, command: str = "soffice", timeout: float = CONVERT_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Return the finished `soffice --convert-to pdf` run; the PDF lands in `outdir`.

    A fresh user profile beside the output, so parallel runs never share (and lock) one.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    profile = (outdir / "lo-profile").resolve()
    return subprocess.run(
        [
            command,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            str(workbook),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def pdf_pages(pdf: Path) -> list[str]:
    """Return the text of each page of a PDF (poppler's pdftotext)."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return text.split("\f")


def first_page_of(pdf: Path, scenario: str) -> int:
    """Return the number (from 1) of the first PDF page of a scenario's result sheet."""
    title = f"{scenario}: class plan"
    for number, page in enumerate(pdf_pages(pdf), start=1):
        if title in page:
            return number
    raise LookupError(f"no page of {pdf.name} shows {title!r}")


def render_png(pdf: Path, page: int, png: Path) -> Path:
    """Return `png` after rendering one page of `pdf` at 80 dpi."""
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page), "-singlefile"]
        + [str(pdf), str(png.with_suffix(""))],
        check=True,
        timeout=60,
    )
    return png


def main(arguments: list[str]) -> int:
    """Return the exit status of rendering the screenshot named on the command line."""
    if not 1 <= len(arguments) <= 2:
        sys.stderr.write(__doc__ or "")
        return 2
    png = Path(arguments[0])
    scenario = arguments[1] if len(arguments) == 2 else SCREENSHOT_SCENARIO
    command = soffice()
    if command is None:
        sys.stderr.write("LibreOffice (soffice) is not installed.\n")
        return 1
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        workbook = write_sample_workbook(directory)
        converted = convert_to_pdf(workbook, directory / "pdf", command=command)
        pdf = directory / "pdf" / f"{workbook.stem}.pdf"
        if converted.returncode != 0 or not pdf.exists():
            sys.stderr.write(f"soffice failed:\n{converted.stdout}{converted.stderr}")
            return 1
        render_png(pdf, first_page_of(pdf, scenario), png)
    sys.stdout.write(f"wrote {png}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
