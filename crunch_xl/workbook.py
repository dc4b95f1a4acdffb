"""process_workbook(path, ...) -> Report: read every scenario, plan it, write the results safely.

The user's workbook is never half-written: results go to a temporary file in the destination's
folder, which then replaces the destination in one step (files.write_atomically). The result
sheets are grafted into the user's own package (graft.py), every part of theirs copied as it
was. When the workbook is open in Excel or LibreOffice (its lock file sits beside it), is
read-only, or is saved as Strict Open XML, the original is left alone and the results go to
``NAME.results.xlsx`` beside it; so they do when replacing the original fails (Windows refuses
to replace a workbook open in Excel). When the results cannot be written at all (disk full,
folder not writable) nothing is changed and the error says why. Results always describe the
inputs they sit beside: a workbook saved again while it was being planned is planned again. A
workbook given through a symbolic link is written through it: the file the link points to
gets the results, and the link stays.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from crunch_xl import planner
from crunch_xl.errors import CrunchError, InputError, NotWritten, WorkbookError
from crunch_xl.excel import reader, writer
from crunch_xl.excel.package import inspect_package
from crunch_xl.files import (
    NotReplaced,
    exists,
    fitted_name,
    folder_name,
    name_fits,
    shown,
    write_atomically,
)
from crunch_xl.model import Report, Result, Scenario, Status

#: Called before each scenario is planned: (sheet name, index from 0, number of scenarios).
Progress = Callable[[str, int, int], None]

#: Suffixes crunch-xl reads and writes.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
#: Times a workbook is planned when it keeps being saved again while it is planned: a person
#: saving twice more within one planning is rare; one saving without end should get an answer.
PLAN_ATTEMPTS = 3
#: Seconds to wait before reading a workbook again after it changed: a program that saves in
#: place (rather than replacing the file) takes a moment, and must not be read half-way.
SAVING_PAUSE = 0.5

#: What identifies a workbook's contents: size, modification time and SHA-256 of its bytes.
Fingerprint = tuple[int, int, bytes]


@dataclasses.dataclass(frozen=True)
class Settings:
    """How to plan: alternatives override, time limit per scenario and solver; models, if
    given, is a folder that receives every model the solver is asked, one folder per sheet."""

    alternatives: int | None = None
    time_limit: float = 30.0
    solver: str = planner.DEFAULT_SOLVER
    models: Path | None = None


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
    scenarios = sum(isinstance(item, Scenario) for item in read.items)
    results = []
    done = 0
    for item in read.items:
        if isinstance(item, InputError):
            results.append(_invalid(item))
            continue
        if progress is not None:
            progress(item.name, done, scenarios)
        results.append(plan_scenario(item, settings))
        done += 1
    notes = list(read.notes)
    if not read.items:
        notes.append("No scenario sheet was found (a sheet with Teachers and a Grade table).")
    return Report(file=name, results=results, notes=notes)


def plan_scenario(scenario: Scenario, settings: Settings = Settings()) -> Result:
    """Return one scenario's result, with reasons and repairs when it cannot work."""
    if settings.alternatives is not None:
        scenario = dataclasses.replace(scenario, alternatives=settings.alternatives)
    models = None if settings.models is None else settings.models / folder_name(scenario.name)
    return planner.plan(
        scenario, time_limit=settings.time_limit, solver=settings.solver, models=models
    )


def process_workbook(
    source: Path,
    *,
    output: Path | None = None,
    settings: Settings = Settings(),
    progress: Progress | None = None,
) -> Report:
    """Return the report of planning a workbook and writing its results (in place or to output).

    The results always describe the workbook they are written from: when it is saved again
    while it is being planned, it is planned again (at most PLAN_ATTEMPTS times in all).
    Raises WorkbookError when the workbook cannot be read, keeps changing, disappears, or the
    results cannot be written anywhere; the original workbook is intact in every case.
    """
    source = Path(source)
    if source.is_dir():
        raise WorkbookError(
            f"{shown(source.name)} is a folder, not a workbook; give the workbooks in it "
            f"(or use: crunch-xl watch {shown(str(source))} --once)."
        )
    if source.suffix.lower() not in WORKBOOK_SUFFIXES:
        raise WorkbookError(
            f"{shown(source.name)}: crunch-xl reads Excel workbooks (.xlsx or .xlsm); "
            "save it from Excel in that format."
        )
    if not source.is_file():
        raise WorkbookError(f"{shown(str(source))}: no such workbook.")
    for attempt in range(1, PLAN_ATTEMPTS + 1):
        if attempt > 1:
            time.sleep(SAVING_PAUSE)
        seen = _fingerprint(source)
        try:
            report = plan_workbook(source, settings, progress)
            if attempt > 1:
                again = (
                    f"{shown(source.name)} was saved again while it was being planned; the "
                    "results are for the workbook as it was last saved."
                )
                report = dataclasses.replace(report, notes=[*report.notes, again])
            return save_report(source, report, output, unchanged=seen)
        except _Changed:
            continue
        except WorkbookError:
            # Read half-saved by a program that writes in place? Then read it again.
            now = _fingerprint(source)
            if now is not None and now == seen and _just_written(now):
                time.sleep(SAVING_PAUSE)  # the program may be between two of its writes
                now = _fingerprint(source)
            if now is None:
                raise _gone(source) from None
            if now == seen:
                raise
    raise WorkbookError(
        f"{shown(source.name)} kept changing while it was being planned (saved again "
        f"{PLAN_ATTEMPTS} times); no results were written. Run crunch-xl again once it is "
        "saved."
    )


def save_report(
    source: Path,
    report: Report,
    output: Path | None = None,
    *,
    unchanged: Fingerprint | None = None,
) -> Report:
    """Return the report as written: where its results went and notes on how; see module.

    ``report`` itself is left as it is. ``unchanged``: the source's fingerprint when it was
    read; the results are not written when the source differs from it by then. Raises
    NotWritten when the results cannot be written (the disk, the folder: worth trying again
    later), WorkbookError when the source disappeared or cannot be read to write them; the
    original workbook is intact in every case.
    """
    destination = Path(output) if output is not None else source
    in_place = destination.resolve() == source.resolve()
    reason = _why_not_in_place(source, report) if in_place else ""
    notes = []
    if reason:
        destination = beside(source)
        in_place = False
        notes.append(f"{reason} The results were written to {shown(destination.name)}.")

    def check() -> None:
        now = _fingerprint(source)
        if now is None:
            raise _gone(source)
        if unchanged is not None and now != unchanged:
            raise _Changed(f"{shown(source.name)} changed while it was being planned.")

    def written(destination: Path) -> Report:
        told = dataclasses.replace(report, output=destination, notes=[*report.notes, *notes])
        replaced = save_atomically(source, told, destination, before_replace=check)
        return dataclasses.replace(told, notes=[*told.notes, *replaced])

    try:
        return written(destination)
    except _NotReplaced:
        # Only replacing failed: the folder takes new files, so the results can go beside.
        # A failure to write at all (disk full, read-only folder) would only fail again.
        if not in_place:
            raise
        # Windows keeps a workbook that is open in Excel locked against replacing.
        destination = beside(source)
        notes.append(
            f"{shown(source.name)} could not be replaced (is it open in another program?). "
            f"The results were written to {shown(destination.name)}."
        )
        return written(destination)
    except NotWritten as error:
        if not reason:
            raise
        # Say why the original was not written, not only that a file never asked for failed.
        raise NotWritten(
            f"{reason} The results could not be written beside it either "
            f"({shown(destination.name)}: {_why(error)}). Nothing was changed; "
            "use --output to write them elsewhere."
        ) from error


def beside(source: Path) -> Path:
    """Return where results go when the original is not written: NAME.results.xlsx (or .xlsm)."""
    suffix = source.suffix.lower() if source.suffix.lower() in WORKBOOK_SUFFIXES else ".xlsx"
    return source.with_name(fitted_name(source.stem, f".results{suffix}"))


def lock_file(workbook: Path) -> Path | None:
    """Return the lock file Excel or LibreOffice keeps beside an open workbook, if any.

    A workbook opened through a symbolic link has its lock file beside the link or beside
    the file it points to, depending on the program: both are looked for.
    """
    places = [workbook]
    if workbook.is_symlink():
        places.append(Path(os.path.realpath(workbook)))
    for place in places:
        name = place.name
        # Excel's owner file drops the first two characters of a long name.
        for candidate in (f"~${name}", f"~${name[2:]}", f".~lock.{name}#"):
            path = place.with_name(candidate)
            if name_fits(candidate) and exists(path):
                return path
    return None


class _NotReplaced(NotWritten):
    """The results were written to a temporary file, but it could not replace the destination."""


class _Changed(WorkbookError):
    """The workbook changed between being read and its results replacing it."""


def save_atomically(
    source: Path,
    report: Report,
    destination: Path,
    *,
    before_replace: Callable[[], None] | None = None,
) -> list[str]:
    """Return notes on renamed sheets replaced, after writing the results to destination.

    The results go through a temporary file that replaces destination in one step;
    ``before_replace`` may raise to leave the destination alone (see files.write_atomically).
    Raises NotWritten, the destination untouched, when the results cannot be written (the
    message names the destination, never the temporary file) or cannot replace it.
    """

    # The file's name goes into the summary sheet, where bytes that are not text (a name
    # from another system) would make XML that no spreadsheet program opens.
    readable = dataclasses.replace(report, file=Path(shown(str(report.file))))
    replaced: list[str] = []

    def write(temporary: Path) -> None:
        replaced[:] = writer.write_results(source, readable, temporary)

    try:
        write_atomically(destination, write, before_replace=before_replace)
    except NotReplaced as error:
        raise _NotReplaced(
            f"{shown(destination.name)} could not be replaced ({_why(error)}); "
            f"{shown(source.name)} was not changed."
        ) from error.__cause__
    except CrunchError as error:
        if not isinstance(error.__cause__, OSError):
            raise
        # The writer names the temporary file; the user knows only the destination.
        raise _not_written(source, destination, error.__cause__) from error.__cause__
    except OSError as error:
        raise _not_written(source, destination, error) from error
    return replaced


def exit_status(reports: list[Report]) -> int:
    """Return the command's exit status for these reports: 0 all solved, else 1 (SPEC 4)."""
    return 0 if reports and all(r.all_solved for r in reports) else 1


def _not_written(source: Path, destination: Path, error: OSError) -> WorkbookError:
    """Return the error for results that could not be written (nothing was changed)."""
    if not os.path.exists(source):
        return _gone(source)
    return NotWritten(
        f"{shown(destination.name)}: the results could not be written ({_why(error)}); "
        f"{shown(source.name)} was not changed."
    )


def _gone(source: Path) -> WorkbookError:
    """Return the error for a workbook that disappeared while it was being planned."""
    return WorkbookError(
        f"{shown(source.name)} was deleted or moved while it was being planned; "
        "no results were written."
    )


def _why(error: BaseException) -> str:
    """Return the system's words for an OS error (or what caused a crunch-xl error)."""
    cause = error if isinstance(error, OSError) else error.__cause__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(error)


def _just_written(fingerprint: Fingerprint) -> bool:
    """Return whether the file was modified within the last SAVING_PAUSE seconds."""
    return time.time_ns() - fingerprint[1] < SAVING_PAUSE * 1e9


def _fingerprint(path: Path) -> Fingerprint | None:
    """Return what identifies the file's contents now (None: it is not there any more)."""
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            digest = hashlib.file_digest(handle, "sha256").digest()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise WorkbookError(f"{shown(path.name)} cannot be read: {_why(error)}.") from error
    return status.st_size, status.st_mtime_ns, digest


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
    name = shown(source.name)
    lock = lock_file(source)
    if lock is not None:
        return f"{name} is open in a spreadsheet program ({shown(lock.name)} is beside it)."
    if _is_read_only(source):
        return f"{name} is read-only, so it was left untouched."
    if inspect_package(source).strict:
        return (
            f"{name} is saved as Strict Open XML, which crunch-xl does not write into; "
            "the original was left untouched and the result sheets were written on their own."
        )
    return ""


def _invalid(error: InputError) -> Result:
    """Return the result of a sheet whose input is wrong: every wrong cell, what is expected."""
    return Result(error.sheet, Status.INVALID, str(error), problems=list(error.problems))


def _stream_name(stream: BinaryIO) -> str:
    name = getattr(stream, "name", None)
    return Path(name).name if isinstance(name, str) else "workbook.xlsx"
