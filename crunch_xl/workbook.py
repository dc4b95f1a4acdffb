"""process_workbook(path, ...) -> Report: read every scenario, plan it, write the results safely.

The user's workbook is never half-written: results go to a temporary file in the destination's
folder, which then replaces the destination in one step. The result sheets are grafted into the
user's own package (graft.py), every part of theirs copied as it was. When the workbook is open
in Excel or LibreOffice (its lock file sits beside it), is read-only, or is saved as Strict Open
XML, the original is left alone and the results go to ``NAME.results.xlsx`` beside it; so they
do when replacing the original fails (Windows refuses to replace a workbook open in Excel).
When the results cannot be written at all (disk full, folder not writable) nothing is changed
and the error says why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from crunch_xl import planner, reader, writer
from crunch_xl.errors import CrunchError, InputError, WorkbookError
from crunch_xl.model import Report, Result, Scenario, Status
from crunch_xl.package import inspect_package

#: Called before each scenario is planned: (sheet name, index from 0, number of scenarios).
Progress = Callable[[str, int, int], None]

#: Suffixes crunch-xl reads and writes.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


@dataclasses.dataclass(frozen=True)
class Settings:
    """How to plan: alternatives override, time limit per scenario and solver."""

    alternatives: int | None = None
    time_limit: float = 30.0
    solver: str = planner.DEFAULT_SOLVER


def plan_workbook(
    source: str | Path | BinaryIO,
    settings: Settings = Settings(),
    progress: Progress | None = None,
) -> Report:
    """Return every scenario sheet's result, planned but not written anywhere.

    This is the library entry point: it takes a path or a binary stream, reads nothing else
    and writes nothing. Raises WorkbookError when the file cannot be read at all.
    """
    if isinstance(source, str | Path):
        source = name = Path(source)
    else:
        name = Path(_stream_name(source))
    read = reader.read_workbook(source)
    report = Report(file=name, notes=list(read.notes))
    scenarios = [item for item in read.items if isinstance(item, Scenario)]
    done = 0
    for item in read.items:
        if isinstance(item, InputError):
            report.results.append(_invalid(item))
            continue
        if progress is not None:
            progress(item.name, done, len(scenarios))
        report.results.append(plan_scenario(item, settings))
        done += 1
    if not read.items:
        report.notes.append(
            "No scenario sheet was found (a sheet with Teachers and a Grade table)."
        )
    return report


def plan_scenario(scenario: Scenario, settings: Settings = Settings()) -> Result:
    """Return one scenario's result, with reasons and repairs when it cannot work."""
    if settings.alternatives is not None:
        scenario = dataclasses.replace(scenario, alternatives=settings.alternatives)
    return planner.plan(scenario, time_limit=settings.time_limit, solver=settings.solver)


def process_workbook(
    source: Path,
    *,
    output: Path | None = None,
    settings: Settings = Settings(),
    progress: Progress | None = None,
) -> Report:
    """Return the report of planning a workbook and writing its results (in place or to output).

    Raises WorkbookError when the workbook cannot be read, or the results cannot be written
    anywhere; the original workbook is intact in every case.
    """
    source = Path(source)
    if source.is_dir():
        raise WorkbookError(
            f"{source.name} is a folder, not a workbook; give the workbooks in it "
            f"(or use: crunch-xl watch {source} --once)."
        )
    if source.suffix.lower() not in WORKBOOK_SUFFIXES:
        raise WorkbookError(
            f"{source.name}: crunch-xl reads Excel workbooks (.xlsx or .xlsm); "
            "save it from Excel in that format."
        )
    if not source.is_file():
        raise WorkbookError(f"{source}: no such workbook.")
    report = plan_workbook(source, settings, progress)
    destination = Path(output) if output is not None else source
    in_place = destination.resolve() == source.resolve()
    if in_place:
        reason = _why_not_in_place(source, report)
        if reason:
            destination = beside(source)
            in_place = False
            report.notes.append(f"{reason} The results were written to {destination.name}.")
    report.output = destination
    try:
        save_atomically(source, report, destination)
    except _NotReplaced:
        # Only replacing failed: the folder takes new files, so the results can go beside.
        # A failure to write at all (disk full, read-only folder) would only fail again.
        if not in_place:
            raise
        # Windows keeps a workbook that is open in Excel locked against replacing.
        destination = beside(source)
        report.output = destination
        report.notes.append(
            f"{source.name} could not be replaced (is it open in another program?). "
            f"The results were written to {destination.name}."
        )
        save_atomically(source, report, destination)
    return report


def beside(source: Path) -> Path:
    """Return where results go when the original is not written: NAME.results.xlsx (or .xlsm)."""
    suffix = source.suffix.lower() if source.suffix.lower() in WORKBOOK_SUFFIXES else ".xlsx"
    return source.with_name(f"{source.stem}.results{suffix}")


def lock_file(workbook: Path) -> Path | None:
    """Return the lock file Excel or LibreOffice keeps beside an open workbook, if any."""
    name = workbook.name
    for candidate in (f"~${name}", f"~${name[2:]}", f".~lock.{name}#"):
        path = workbook.with_name(candidate)
        if path.exists():
            return path
    return None


class _NotReplaced(WorkbookError):
    """The results were written to a temporary file, but it could not replace the destination."""


def save_atomically(source: Path, report: Report, destination: Path) -> None:
    """Write the results to destination through a temporary file that replaces it in one step.

    Raises WorkbookError, the destination untouched, when the results cannot be written (the
    message names the destination, never the temporary file) or cannot replace it.
    """
    temporary = destination.with_name(_temporary_name(destination))
    try:
        try:
            writer.write_results(source, report, temporary)
            with open(temporary, "rb+") as handle:
                os.fsync(handle.fileno())
            _keep_permissions(destination, temporary)
        except CrunchError as error:
            if not isinstance(error.__cause__, OSError):
                raise
            # The writer names the temporary file; the user knows only the destination.
            raise _not_written(source, destination, error.__cause__) from error.__cause__
        except OSError as error:
            raise _not_written(source, destination, error) from error
        try:
            os.replace(temporary, destination)
        except OSError as error:
            raise _NotReplaced(
                f"{destination.name} could not be replaced ({error.strerror or error}); "
                f"{source.name} was not changed."
            ) from error
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def exit_status(reports: list[Report]) -> int:
    """Return the command's exit status for these reports: 0 all solved, else 1 (SPEC 4)."""
    return 0 if reports and all(r.all_solved for r in reports) else 1


def _temporary_name(destination: Path) -> str:
    """Return a hidden, unique name for the file the results are written to first."""
    # Cut long names: the temporary name must fit the 255-byte limit the destination's does.
    name = destination.name if len(destination.name) <= 50 else destination.name[:50]
    return f".{name}.{uuid.uuid4().hex[:8]}.crunch-xl.tmp"


def _not_written(source: Path, destination: Path, error: OSError) -> WorkbookError:
    """Return the error for results that could not be written (nothing was changed)."""
    return WorkbookError(
        f"{destination.name}: the results could not be written ({error.strerror or error}); "
        f"{source.name} was not changed."
    )


def _keep_permissions(destination: Path, temporary: Path) -> None:
    """Give the temporary file the destination's permissions, so replacing keeps them."""
    # A shared folder's workbook may be group-writable; a new file gets the umask's mode.
    if destination.exists():
        with contextlib.suppress(OSError):
            shutil.copymode(destination, temporary)


def _is_read_only(path: Path) -> bool:
    """Return whether the file is marked read-only or this user may not write it."""
    try:
        writable = bool(path.stat().st_mode & stat.S_IWRITE)
    except OSError:
        return False
    # Renaming over a file needs only the folder's permission: check the file's own.
    return not writable or not os.access(path, os.W_OK)


def _why_not_in_place(source: Path, report: Report) -> str:
    """Return why results must not be written into the original ("" when they may)."""
    lock = lock_file(source)
    if lock is not None:
        return f"{source.name} is open in a spreadsheet program ({lock.name} is beside it)."
    if _is_read_only(source):
        return f"{source.name} is read-only, so it was left untouched."
    if inspect_package(source).strict:
        return (
            f"{source.name} is saved as Strict Open XML, which crunch-xl does not write into; "
            "the original was left untouched and the result sheets were written on their own."
        )
    return ""


def _invalid(error: InputError) -> Result:
    """Return the result of a sheet whose input is wrong: every wrong cell, what is expected."""
    return Result(error.sheet, Status.INVALID, str(error))


def _stream_name(stream: BinaryIO) -> str:
    name = getattr(stream, "name", None)
    return Path(name).name if isinstance(name, str) else "workbook.xlsx"
