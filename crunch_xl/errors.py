"""The errors crunch-xl raises, one type per family, and the wrong cells of a scenario sheet.

- ``InputError``: a scenario sheet that cannot be planned; it carries every wrong cell as a
  ``Problem`` (sheet, cell, expected, found), which reach the result sheet, the JSON and the
  console as they are. It never stops a run: the sheet's result is ``invalid``.
- ``WorkbookError``: a workbook that cannot be read at all (corrupt, not Excel, gone, ...).
- ``NotWritten``: results that cannot be written (disk full, folder not writable); the
  workbook is as it was, and trying again later may work.

All are ``CrunchError``: the command turns one into a message and an exit status, never a
traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class CrunchError(Exception):
    """Base of every error crunch-xl reports to the user (never shown as a traceback)."""


@dataclass(frozen=True)
class Problem:
    """One wrong cell: its sheet and cell (e.g. ``B12``), what was expected and what was found."""

    sheet: str
    cell: str
    expected: str
    #: The cell's content as shown to the user (text quoted), or None when it was blank.
    found: str | None = None

    @property
    def reference(self) -> str:
        """Return the cell as Excel writes it, e.g. ``'Plan A'!B12``."""
        return cell_ref(self.sheet, self.cell)

    def __str__(self) -> str:
        found = f" (found {self.found})" if self.found is not None else ""
        return f"{self.reference}: expected {self.expected}{found}"


class InputError(CrunchError):
    """A scenario sheet that cannot be planned: every wrong cell, with what was expected."""

    def __init__(self, sheet: str, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("an InputError needs at least one problem")
        self.sheet = sheet
        self.problems = list(problems)
        super().__init__(str(self))

    @property
    def cell(self) -> str:
        """Return the first wrong cell, e.g. ``'Plan A'!B12``."""
        return self.problems[0].reference

    @property
    def expected(self) -> str:
        """Return what the first wrong cell should hold."""
        return self.problems[0].expected

    def __str__(self) -> str:
        return "; ".join(str(problem) for problem in self.problems)


class WorkbookError(CrunchError):
    """A workbook that cannot be read or written at all (corrupt, locked, not Excel, ...)."""


class NotWritten(WorkbookError):
    """The results could not be written (disk full, folder not writable); nothing changed."""


def cell_ref(sheet: str, coordinate: str) -> str:
    """Return an Excel reference such as ``'Plan A'!B12`` (sheet quoted the way Excel does)."""
    quoted = sheet.replace("'", "''")
    return f"'{quoted}'!{coordinate}"
