"""The errors crunch-xl raises: one base class, and input errors that name sheet and cell."""

from __future__ import annotations

from dataclasses import dataclass


class CrunchError(Exception):
    """Base of every error crunch-xl reports to the user (never shown as a traceback)."""


@dataclass(frozen=True)
class Problem:
    """One wrong cell: where it is, what was expected there and what was found."""

    cell: str
    expected: str
    found: str | None = None

    def __str__(self) -> str:
        found = f" (found {self.found})" if self.found is not None else ""
        return f"{self.cell}: expected {self.expected}{found}"


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
        return self.problems[0].cell

    @property
    def expected(self) -> str:
        """Return what the first wrong cell should hold."""
        return self.problems[0].expected

    def __str__(self) -> str:
        return "; ".join(str(problem) for problem in self.problems)


class WorkbookError(CrunchError):
    """A workbook that cannot be read or written at all (corrupt, locked, not Excel, ...)."""


def cell_ref(sheet: str, coordinate: str) -> str:
    """Return an Excel reference such as ``'Plan A'!B12`` (sheet quoted the way Excel does)."""
    quoted = sheet.replace("'", "''")
    return f"'{quoted}'!{coordinate}"
