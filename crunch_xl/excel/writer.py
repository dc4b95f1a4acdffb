"""Results -> the user's workbook: crunch-xl's sheets grafted in, the whole written to a file.

The summary and result sheets are built with openpyxl in a workbook of their own (sheets.py),
then grafted into the user's workbook package (graft.py): the user's parts are never loaded or
saved again by a spreadsheet library, so nothing of theirs is lost or changed.

crunch-xl's own sheets are recognised by the sheet-scoped defined name
``model.RESULT_SHEET_MARK``, never by their names: the administrator may rename a result sheet,
and may own a sheet that happens to be called "Plan A results". Every run removes the marked
sheets and writes them afresh after the user's sheets, so running twice gives the same sheets
as running once, and the user's sheets are never edited. A marked sheet under a name crunch-xl
does not give was renamed by the administrator: the notes say which sheet replaced it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

from crunch_xl.errors import WorkbookError
from crunch_xl.excel.graft import graft, replaced_sheets
from crunch_xl.excel.package import Package, one_large_at_a_time, open_package
from crunch_xl.excel.reader import cell_text
from crunch_xl.excel.sheets import (
    RESULT_SHEET_SUFFIX,
    RESULT_TITLE,
    SUMMARY_SHEET_NAME,
    SUMMARY_TITLE,
    build_results,
    sheet_names,
)
from crunch_xl.model import Report

#: The names crunch-xl gives its sheets (numbered when taken); any other name on a marked sheet
#: is one the administrator gave it.
_GIVEN_NAME = re.compile(
    rf"(?:.*{re.escape(RESULT_SHEET_SUFFIX)}|{re.escape(SUMMARY_SHEET_NAME)})(?: \(\d+\))?",
    re.IGNORECASE,
)


def write_results(source: Path, report: Report, destination: Path) -> list[str]:
    """Return notes on renamed sheets replaced, after writing `source` and results to destination.

    The user's parts are copied as they are; crunch-xl's sheets of an earlier run are replaced,
    and a note names each one the administrator had renamed (the summary sheet lists them after
    `report.notes`). A workbook saved as Strict Open XML cannot take them: `destination` then
    holds the result sheets alone. `destination` is written in one plain write; making that
    atomic is the caller's part (workbook.py).
    """
    try:
        with open_package(source) as package, one_large_at_a_time(package):
            user_sheets = [sheet.name for sheet in package.sheets if not sheet.is_result]
            notes = [] if package.strict else _renamed_sheet_notes(package, report, user_sheets)
            shown = dataclasses.replace(report, notes=[*report.notes, *notes])
            built = build_results(shown, user_sheets)
            data = built if package.strict else graft(package, built)
    except WorkbookError as exc:
        raise WorkbookError(f"Cannot open {source.name} to write the results: {exc}") from exc
    try:
        _write_bytes(destination, data)
    except OSError as exc:
        raise WorkbookError(f"Cannot write {destination}: {exc}") from exc
    return notes


def _renamed_sheet_notes(package: Package, report: Report, taken: Sequence[str]) -> list[str]:
    """Return a note for each of crunch-xl's sheets to be replaced that the user had renamed.

    A sheet is matched to its replacement by its title (cell A1), which names its scenario.
    """
    summary_name, result_names = sheet_names(report, taken)
    replacements = {SUMMARY_TITLE: ("summary sheet", summary_name)}
    for result, name in zip(report.results, result_names, strict=True):
        replacements[RESULT_TITLE.format(sheet=result.sheet)] = ("result sheet", name)
    kept = "crunch-xl's sheets are rewritten on every run, so notes typed there are not kept."
    notes = []
    for sheet in replaced_sheets(package):
        if _GIVEN_NAME.fullmatch(sheet.name):
            continue
        title = cell_text(package, sheet, "A1") if sheet.kind == "worksheet" else None
        if title in replacements:
            kind, new = replacements[title]
            notes.append(
                f"The {kind} '{sheet.name}' (a {kind} you renamed) was replaced by '{new}'; " + kept
            )
        else:
            notes.append(
                f"The sheet '{sheet.name}' (a crunch-xl sheet you renamed) was removed; " + kept
            )
    return notes


def _write_bytes(destination: Path, data: bytes) -> None:
    """Write a finished workbook to disk in one plain write, closing the file whatever happens."""
    with open(destination, "wb") as handle:
        handle.write(data)
