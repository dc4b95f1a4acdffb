"""The watched folder: workbooks dropped into DIR are planned and moved to DIR/done/ or failed/.

Folder layout (every folder inside DIR, so each move below is one atomic rename on one volume):

    DIR/                   drop .xlsx / .xlsm workbooks here
    DIR/done/              each planned workbook with its result sheets; NAME.results.xlsx beside
                           it when the results could not go into the workbook itself
    DIR/failed/            each workbook that could not be read, exactly as it arrived, with
                           NAME.error.txt saying why
    DIR/.crunch-xl-work/   workbooks being planned (one folder each) and the watcher's owner file

Lifecycle of a dropped workbook:

1. noticed, by a file-system event or by the periodic rescan of DIR (a safety net for missed
   events, e.g. on network shares);
2. waits until complete: size and modification time unchanged for ``settle`` seconds (a workbook
   moved in by a rename is complete at once), no Excel ``~$`` or LibreOffice ``.~lock`` file
   beside it, and it can be opened; a file that looks cut short (empty, or a zip without its
   closing directory) waits ``INCOMPLETE_FACTOR`` times longer before it is tried anyway;
3. claimed by moving it into the work folder, so no event or rescan can pick it up twice;
4. planned on a copy, the claimed original kept untouched;
5. the copy with its results moves to done/ or, when it cannot be read, the original moves to
   failed/ with NAME.error.txt. A name already in done/ or failed/ is never replaced: the new
   file becomes ``NAME (2).xlsx``, ``NAME (3).xlsx``, ...

Ignored: lock files, hidden files (names starting with ``.``, or marked hidden), temporary and
other non-workbook files, and the folders above. On stop (Ctrl-C) workbooks still being planned
go back into DIR untouched; on start, anything a crash left in the work folder is planned again.
The input is never lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import socket
import stat
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from crunch_xl.errors import WorkbookError
from crunch_xl.model import Report, Status
from crunch_xl.workbook import WORKBOOK_SUFFIXES, Settings, lock_file, process_workbook

__all__ = [
    "DONE_FOLDER",
    "FAILED_FOLDER",
    "WORK_FOLDER",
    "WatchSummary",
    "is_workbook_name",
    "looks_complete",
    "watch_folder",
]

DONE_FOLDER = "done"
FAILED_FOLDER = "failed"
WORK_FOLDER = ".crunch-xl-work"

#: A file that looks cut short waits this many times ``settle`` before it is tried anyway (a
#: stalled copy should not land in failed/; a truly broken file still gets there).
INCOMPLETE_FACTOR = 10
#: With ``once``, a workbook still not complete after this many seconds is left for next time.
ONCE_PATIENCE = 60.0
#: Workbooks planned at the same time: one slow workbook must not hold up the others, and the
#: solver runs in its own process, so threads are enough.
DEFAULT_WORKERS = max(2, min(4, os.cpu_count() or 1))
DEFAULT_SETTINGS = Settings()

#: Seconds between two writes of the owner file; another watcher that sees it unchanged for
#: OWNER_STALE seconds knows its writer is gone.
OWNER_BEAT = 0.5
OWNER_STALE = 1.6

_OWNER_FILE = "owner.txt"
_COPY_FOLDER = "copy"
#: The signature of a zip's end-of-central-directory record, which a complete workbook ends with
#: (followed by at most a 64 KiB comment).
_ZIP_END = b"PK\x05\x06"
_ZIP_TAIL = 22 + 65_535
_ARRIVING = {EVENT_TYPE_CREATED, EVENT_TYPE_MODIFIED, EVENT_TYPE_MOVED, EVENT_TYPE_CLOSED}

#: Receives one line per thing that happens; called from several threads, one call at a time.
Log = Callable[[str], None]


def _ignore(message: str) -> None:
    """Drop a log line (the default when nobody listens)."""


@dataclass
class WatchSummary:
    """What a watch did: workbooks planned (results in done/) and workbooks moved to failed/."""

    planned: int = 0
    #: Planned workbooks with a scenario infeasible, invalid or timed out (or none at all).
    not_all_solved: int = 0
    failed: int = 0

    @property
    def processed(self) -> int:
        """Return the number of workbooks that left DIR for done/ or failed/."""
        return self.planned + self.failed

    def exit_status(self) -> int:
        """Return the command's exit status (SPEC 4): 3 a workbook failed, 1 not all solved, 0."""
        if self.failed:
            return 3
        return 1 if self.not_all_solved else 0


def watch_folder(
    directory: Path,
    *,
    settings: Settings = DEFAULT_SETTINGS,
    polling: bool = False,
    once: bool = False,
    settle: float = 1.0,
    rescan: float = 30.0,
    workers: int = DEFAULT_WORKERS,
    poll_interval: float = 1.0,
    log: Log = _ignore,
    stop: threading.Event | None = None,
) -> WatchSummary:
    """Return what was done after watching DIR until stopped (``once``: until all there is done).

    Every workbook dropped into ``directory`` is planned with ``settings`` once it is complete;
    see the module docstring for the folder layout and lifecycle. ``polling`` looks at the
    folder every ``poll_interval`` seconds instead of asking the system for events (network
    shares send none); either way the whole folder is rescanned every ``rescan`` seconds.
    ``once`` plans the workbooks already there, waits for them to be done, and returns;
    a workbook open in Excel is left for next time. Up to ``workers`` workbooks are planned at
    the same time. ``log`` gets one line per workbook received, planned or failed.

    Stops when ``stop`` is set or on KeyboardInterrupt (re-raised): workbooks still being
    planned go back into DIR untouched. Raises WorkbookError when DIR is not a folder, its
    subfolders cannot be made, or another crunch-xl watch is using it.
    """
    if settle < 0 or rescan <= 0 or poll_interval <= 0 or workers < 1:
        raise ValueError("settle must be >= 0; rescan and poll_interval > 0; workers >= 1")
    watcher = _Watcher(
        Path(directory),
        settings,
        polling=polling,
        once=once,
        settle=settle,
        rescan=rescan,
        workers=workers,
        poll_interval=poll_interval,
        log=log,
        stop=stop if stop is not None else threading.Event(),
    )
    return watcher.run()


def is_workbook_name(name: str) -> bool:
    """Return whether a file of this name dropped in DIR is a workbook to plan.

    Not lock files (``~$plan.xlsx`` from Excel, ``.~lock.plan.xlsx#`` from LibreOffice), hidden
    files (``.``: also crunch-xl's own temporary files and macOS ``._`` files), nor anything
    whose extension is not .xlsx or .xlsm (temporary files, Excel's extension-less save files).
    """
    lowered = name.lower()
    return Path(lowered).suffix in WORKBOOK_SUFFIXES and not lowered.startswith(("~$", "."))


class _State(Enum):
    READY = "ready"
    WAITING = "waiting"
    OPEN_ELSEWHERE = "open elsewhere"
    GONE = "gone"


@dataclass
class _Arrival:
    """A workbook seen in DIR, not yet claimed: how it looked last and since when."""

    path: Path
    seen: float
    #: Arrived by a rename, so complete when it appeared (Excel's save, browsers, mv).
    moved_in: bool = False
    signature: tuple[int, int] | None = None
    since: float = 0.0
    #: The last waiting reason told to the user (each is told once).
    told: str = ""


@dataclass
class _Job:
    """A claimed workbook: its untouched original in its own folder of the work folder."""

    original: Path
    abandoned: bool = False
    finished: bool = False

    @property
    def name(self) -> str:
        """Return the workbook's name as it was dropped."""
        return self.original.name

    @property
    def folder(self) -> Path:
        """Return the job's folder in the work folder."""
        return self.original.parent


class _Noticer(FileSystemEventHandler):
    """Passes the paths of workbooks that may have arrived to the main loop, nothing more.

    It runs on the observer's thread, so it only queues paths; all decisions are the loop's.
    """

    def __init__(self, directory: Path, hints: queue.SimpleQueue[tuple[Path, bool]]) -> None:
        super().__init__()
        self._folder = os.path.normcase(str(directory))
        self._hints = hints

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type not in _ARRIVING:
            return
        if event.event_type == EVENT_TYPE_MOVED:
            self._hint(os.fsdecode(event.dest_path), moved=True)
        else:
            self._hint(os.fsdecode(event.src_path), moved=False)

    def _hint(self, path: str, *, moved: bool) -> None:
        folder, name = os.path.split(path)
        if os.path.normcase(folder) == self._folder and is_workbook_name(name):
            self._hints.put((Path(path), moved))


class _Owner:
    """The work folder's owner file: one watcher per folder, and a crashed one is noticed.

    The owner's heartbeat thread rewrites it every OWNER_BEAT seconds (on its own thread, so
    a main loop slowed by a sluggish share cannot look dead); a newcomer that finds it
    unchanged after OWNER_STALE seconds takes over. Comparing contents, not times, works
    whatever the clocks and timestamp resolution of a network share.
    """

    def __init__(self, work: Path, directory: Path, stop: threading.Event) -> None:
        self.path = work / _OWNER_FILE
        self._directory = directory
        self._stop = stop
        self._beats = 0
        self._done = threading.Event()
        self._heart = threading.Thread(target=self._beat, name="crunch-xl-owner", daemon=True)

    def take(self) -> bool:
        """Return whether the folder is ours now (False: stopped while checking).

        Raises WorkbookError when another watcher is alive on it.
        """
        try:
            with open(self.path, "x", encoding="utf-8") as handle:
                handle.write(self._text())
        except FileExistsError:
            before = _read_text(self.path)
            if self._stop.wait(OWNER_STALE):
                return False
            after = _read_text(self.path)
            if after is not None and after != before:
                raise WorkbookError(
                    f"Another crunch-xl watch is already using {self._directory} "
                    f"({after.strip()}); stop it first, or watch another folder."
                ) from None
        self._heart.start()
        return True

    def give_up(self) -> None:
        """Stop the heartbeat and remove the owner file: the folder is free for the next one."""
        self._done.set()
        if self._heart.is_alive():
            self._heart.join(timeout=2 * OWNER_BEAT)
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)

    def _beat(self) -> None:
        while True:
            self._beats += 1
            with contextlib.suppress(OSError):  # tried again next beat
                self.path.write_text(self._text(), encoding="utf-8")
            if self._done.wait(OWNER_BEAT):
                return

    def _text(self) -> str:
        return (
            f"crunch-xl watch, process {os.getpid()} on {socket.gethostname()}, "
            f"beat {self._beats}\n"
        )


class _Watcher:
    """One watch of one folder: the main loop (noticing, claiming) and the planning workers."""

    def __init__(
        self,
        directory: Path,
        settings: Settings,
        *,
        polling: bool,
        once: bool,
        settle: float,
        rescan: float,
        workers: int,
        poll_interval: float,
        log: Log,
        stop: threading.Event,
    ) -> None:
        self.directory = directory.absolute()
        self.done = self.directory / DONE_FOLDER
        self.failed = self.directory / FAILED_FOLDER
        self.work = self.directory / WORK_FOLDER
        self.settings = settings
        self.polling = polling
        self.once = once
        self.settle = settle
        self.rescan = rescan
        self.workers = workers
        self.poll_interval = poll_interval
        self.stop = stop
        self.tick = max(0.02, min(0.25, settle / 4))
        self.summary = WatchSummary()
        self._log = log
        self._log_lock = threading.Lock()
        # Main loop only:
        self._arrivals: dict[Path, _Arrival] = {}
        self._hints: queue.SimpleQueue[tuple[Path, bool]] = queue.SimpleQueue()
        self._unreachable = False
        # Shared with the workers, under _lock: jobs in flight, the summary, done/ and failed/
        # names (two workbooks of the same name must not both take "NAME (2).xlsx").
        self._lock = threading.Lock()
        self._jobs: dict[Path, _Job] = {}
        self._todo: queue.Queue[_Job | None] = queue.Queue()

    # --- the main loop ----------------------------------------------------------------------

    def run(self) -> WatchSummary:
        """Return the summary after watching until stopped (or, once, until nothing is left)."""
        self._make_folders()
        owner = _Owner(self.work, self.directory, self.stop)
        if not owner.take():
            return self.summary
        observer: BaseObserver | None = None
        threads = [
            threading.Thread(target=self._work, name=f"crunch-xl-plan-{n}", daemon=True)
            for n in range(self.workers)
        ]
        try:
            for thread in threads:
                thread.start()
            self._say(self._greeting())
            self._recover()
            if not self.once:
                observer = self._observe()
            self._scan()
            self._loop()
        finally:
            # Workbooks first: on Ctrl-C the terminal interrupts the solver too, and a
            # worker must not get to deliver results from an interrupted solve.
            self._abandon()
            if observer is not None:
                with contextlib.suppress(Exception):
                    observer.stop()
                    observer.join(timeout=5)
            for _ in threads:
                self._todo.put(None)
            owner.give_up()
            self._say(self._farewell())
        return self.summary

    def _loop(self) -> None:
        next_rescan = time.monotonic() + self.rescan
        while not self.stop.is_set():
            now = time.monotonic()
            self._take_hints(now)
            if now >= next_rescan:
                next_rescan = now + self.rescan
                self._scan()
            self._check_arrivals(now)
            if self.once and not self._arrivals and self._idle():
                return
            self.stop.wait(self.tick)

    def _make_folders(self) -> None:
        if not self.directory.is_dir():
            raise WorkbookError(f"{self.directory} is not a folder, so it cannot be watched.")
        for folder in (self.done, self.failed, self.work):
            try:
                folder.mkdir(exist_ok=True)
            except OSError as error:
                raise WorkbookError(
                    f"{folder} cannot be made ({error.strerror or error}); crunch-xl needs "
                    f"to write in {self.directory}."
                ) from error

    def _observe(self) -> BaseObserver:
        """Return the running observer: system events, or listing the folder when polling."""
        handler = _Noticer(self.directory, self._hints)
        _quiet_stop_race()
        if not self.polling:
            observer: BaseObserver = Observer()
            try:
                observer.schedule(handler, str(self.directory), recursive=False)
                observer.start()
                return observer
            except OSError as error:  # e.g. the system's limit on watched folders is reached
                self._say(
                    f"file-system events are not available for {self.directory} "
                    f"({error.strerror or error}); looking every {self.poll_interval:g} s instead"
                )
        observer = PollingObserver(timeout=self.poll_interval)
        try:
            observer.schedule(handler, str(self.directory), recursive=False)
            observer.start()
        except OSError as error:
            raise WorkbookError(
                f"{self.directory} cannot be watched ({error.strerror or error})."
            ) from error
        return observer

    def _scan(self) -> None:
        """Notice every workbook in DIR (at start and as the safety net for missed events)."""
        try:
            names = [entry.name for entry in os.scandir(self.directory) if entry.is_file()]
        except OSError as error:
            if not self._unreachable:
                self._say(
                    f"{self.directory} cannot be read ({error.strerror or error}); trying again"
                )
            self._unreachable = True
            return
        if self._unreachable:
            self._say(f"{self.directory} can be read again")
        self._unreachable = False
        now = time.monotonic()
        for name in names:
            if is_workbook_name(name):
                self._notice(self.directory / name, now, moved=False)

    def _take_hints(self, now: float) -> None:
        while True:
            try:
                path, moved = self._hints.get_nowait()
            except queue.Empty:
                return
            self._notice(path, now, moved=moved)

    def _notice(self, path: Path, now: float, *, moved: bool) -> None:
        arrival = self._arrivals.get(path)
        if arrival is None:
            arrival = self._arrivals[path] = _Arrival(path, seen=now)
        if moved:
            # A new file took this name in one step: judge it afresh.
            arrival.moved_in = True
            arrival.signature = None

    def _check_arrivals(self, now: float) -> None:
        for path, arrival in list(self._arrivals.items()):
            state, reason = self._readiness(arrival, now)
            if state is _State.GONE:
                del self._arrivals[path]
            elif state is _State.READY:
                if self._claim(arrival):
                    del self._arrivals[path]
            elif self.once and (
                state is _State.OPEN_ELSEWHERE or now - arrival.seen > self._once_patience()
            ):
                self._say(f"{path.name}: left in the folder for next time: {reason}")
                del self._arrivals[path]
            elif state is _State.OPEN_ELSEWHERE and reason != arrival.told:
                arrival.told = reason
                self._say(f"{path.name}: waiting: {reason}")

    def _once_patience(self) -> float:
        return max(ONCE_PATIENCE, 2 * INCOMPLETE_FACTOR * self.settle)

    def _readiness(self, arrival: _Arrival, now: float) -> tuple[_State, str]:
        """Return whether the workbook is complete and free to take, and if not, why."""
        path = arrival.path
        try:
            status = path.stat()
        except FileNotFoundError:
            return _State.GONE, ""
        except OSError as error:
            return _State.WAITING, f"it cannot be looked at ({error.strerror or error})"
        if not stat.S_ISREG(status.st_mode) or _hidden(status):
            return _State.GONE, ""
        signature = (status.st_size, status.st_mtime_ns)
        if signature != arrival.signature:
            if arrival.signature is not None:
                arrival.moved_in = False  # written in place after it arrived
            arrival.signature, arrival.since = signature, now
        lock = lock_file(path)
        if lock is not None:
            return _State.OPEN_ELSEWHERE, (
                f"it is open in Excel or LibreOffice ({lock.name} is beside it)"
            )
        quiet = now - arrival.since
        if quiet < self.settle and not arrival.moved_in:
            return _State.WAITING, "it is still being written"
        try:
            whole = looks_complete(path)
        except OSError as error:  # Windows keeps a file that is being copied locked
            return _State.WAITING, f"it cannot be opened yet ({error.strerror or error})"
        if whole or quiet >= self.settle * INCOMPLETE_FACTOR:
            return _State.READY, ""
        return _State.WAITING, "it looks incomplete (still being copied?)"

    def _claim(self, arrival: _Arrival) -> bool:
        """Return whether the workbook was claimed: moved into the work folder and queued."""
        folder = self.work / uuid.uuid4().hex[:12]
        try:
            folder.mkdir(parents=True)
            original = folder / arrival.path.name
            os.replace(arrival.path, original)
        except FileNotFoundError:
            _remove(folder)
            return not arrival.path.exists()
        except OSError as error:  # still held by the program writing it; try next time
            _remove(folder)
            reason = f"it cannot be moved yet ({error.strerror or error})"
            if reason != arrival.told:
                arrival.told = reason
                self._say(f"{arrival.path.name}: waiting: {reason}")
            return False
        self._say(f"received {arrival.path.name}")
        self._queue(_Job(original))
        return True

    def _queue(self, job: _Job) -> None:
        with self._lock:
            self._jobs[job.folder] = job
        self._todo.put(job)

    def _idle(self) -> bool:
        with self._lock:
            return not self._jobs

    def _recover(self) -> None:
        """Queue again the workbooks a crash left in the work folder."""
        try:
            folders = sorted(p for p in self.work.iterdir() if p.is_dir())
        except OSError:
            return
        for folder in folders:
            # Only a partial working copy can be in the copy folder: the original is removed
            # only once its results are in done/.
            shutil.rmtree(folder / _COPY_FOLDER, ignore_errors=True)
            workbooks = sorted(
                p for p in folder.iterdir() if p.is_file() and is_workbook_name(p.name)
            )
            for extra in workbooks[1:]:  # never made by crunch-xl; give it back to be seen
                with contextlib.suppress(OSError):
                    os.replace(extra, self.directory / _free_name(self.directory, extra.name))
            if not workbooks:
                _remove(folder)
                continue
            self._say(
                f"{workbooks[0].name}: left unfinished when crunch-xl last stopped; "
                "planning it again"
            )
            self._queue(_Job(workbooks[0]))

    def _abandon(self) -> None:
        """Put every workbook not yet planned back into DIR, untouched."""
        messages = []
        with self._lock:
            for job in self._jobs.values():
                if job.finished or job.abandoned:
                    continue
                job.abandoned = True
                name = _free_name(self.directory, job.name)
                try:
                    os.replace(job.original, self.directory / name)
                except OSError as error:
                    messages.append(
                        f"{job.name}: stopped before it was planned; it could not be put back "
                        f"({error.strerror or error}) and is planned at the next start"
                    )
                    continue
                _remove(job.folder)
                messages.append(
                    f"{job.name}: stopped before it was planned; it is back in the folder"
                    + (f" as {name}" if name != job.name else "")
                    + " and will be planned next time"
                )
        for message in messages:
            self._say(message)

    # --- the workers ------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job = self._todo.get()
            if job is None:
                return
            try:
                self._plan(job)
            except Exception as error:  # noqa: BLE001 - one workbook must not stop a worker
                self._say(
                    f"{job.name}: could not be finished ({type(error).__name__}: {error}); "
                    f"it is kept in {WORK_FOLDER} and tried again at the next start"
                )
            finally:
                with self._lock:
                    self._jobs.pop(job.folder, None)

    def _plan(self, job: _Job) -> None:
        with self._lock:
            if job.abandoned:
                return
        copy = job.folder / _COPY_FOLDER / job.name
        try:
            copy.parent.mkdir(exist_ok=True)
            shutil.copy2(job.original, copy)
            report = process_workbook(copy, settings=self.settings)
        except WorkbookError as error:
            self._fail(job, str(error))
        except OSError as error:
            self._fail(job, f"a file could not be read or written ({error.strerror or error}).")
        except Exception as error:  # noqa: BLE001 - a fault of ours: still never lose the input
            self._fail(
                job,
                f"crunch-xl ran into an unexpected problem ({type(error).__name__}: {error}). "
                "This is a fault in crunch-xl rather than in your workbook; please report it "
                "with this file.",
            )
        else:
            self._deliver(job, report, copy)

    def _deliver(self, job: _Job, report: Report, copy: Path) -> None:
        """Move the planned copy (and NAME.results.xlsx, if made) to done/ under a free name."""
        results = report.output if report.output not in (None, copy) else None
        suffix = Path(job.name).suffix
        with self._lock:
            if job.abandoned:
                _remove(job.folder)
                return
            job.finished = True
            results_suffix = f".results{results.suffix}" if results is not None else ""
            try:
                self.done.mkdir(exist_ok=True)
                stem = _free_stem(
                    self.done, Path(job.name).stem, [suffix, ".results.xlsx", ".results.xlsm"]
                )
                placed = self.done / f"{stem}{suffix}"
                placed_results = self.done / f"{stem}{results_suffix}"
                # Results first: until the workbook itself is in done/, the original stays
                # in the work folder and a crash only means planning it again.
                if results is not None:
                    os.replace(results, placed_results)
                os.replace(copy, placed)
            except OSError as error:
                message = (
                    f"{job.name}: planned, but the results could not be moved to "
                    f"{DONE_FOLDER}/ ({error.strerror or error}); the workbook is kept in "
                    f"{WORK_FOLDER} and planned again at the next start"
                )
            else:
                _remove(job.folder)
                report.output = placed_results if results is not None else placed
                self.summary.planned += 1
                if not report.all_solved:
                    self.summary.not_all_solved += 1
                message = f"{job.name}: {_tally(report)} -> {self._show(report.output)}"
                if results is not None:
                    message += f" ({job.name} itself unchanged, in {self._show(placed)})"
                if placed.name != job.name:
                    message += f"; the earlier {self._show(self.done / job.name)} is kept"
        self._say(message)
        if report.output is not None and report.output.parent == self.done:
            for note in report.notes:
                self._say(f"{job.name}: note: {note}")

    def _fail(self, job: _Job, reason: str) -> None:
        """Move the untouched original to failed/ under a free name, with NAME.error.txt."""
        suffix = Path(job.name).suffix
        with self._lock:
            if job.abandoned:
                _remove(job.folder)
                return
            job.finished = True
            try:
                self.failed.mkdir(exist_ok=True)
                stem = _free_stem(self.failed, Path(job.name).stem, [suffix, ".error.txt"])
                placed = self.failed / f"{stem}{suffix}"
                note = self.failed / f"{stem}.error.txt"
                _write_atomically(note, _error_text(job.name, placed.name, reason))
                os.replace(job.original, placed)
            except OSError as error:
                message = (
                    f"{job.name}: failed: {reason} It could not be moved to {FAILED_FOLDER}/ "
                    f"({error.strerror or error}); it is kept in {WORK_FOLDER} and tried "
                    "again at the next start"
                )
            else:
                _remove(job.folder)
                self.summary.failed += 1
                message = (
                    f"{job.name}: failed: {reason} -> {self._show(placed)} "
                    f"(why: {self._show(note)})"
                )
        self._say(message)

    # --- words ------------------------------------------------------------------------------

    def _say(self, message: str) -> None:
        with self._log_lock, contextlib.suppress(Exception):
            # A log that fails (a closed console) must not stop the planning.
            self._log(message)

    def _show(self, path: Path) -> str:
        """Return a path as the user sees it from DIR, e.g. done/plan.xlsx."""
        try:
            return str(path.relative_to(self.directory))
        except ValueError:
            return str(path)

    def _greeting(self) -> str:
        where = f"results go to {DONE_FOLDER}/, unreadable workbooks to {FAILED_FOLDER}/"
        if self.once:
            return f"planning the workbooks in {self.directory}: {where}"
        how = f"looking every {self.poll_interval:g} s" if self.polling else "file-system events"
        return f"watching {self.directory} ({how}, rescan every {self.rescan:g} s): {where}"

    def _farewell(self) -> str:
        summary = self.summary
        return (
            f"{'done' if self.once else 'stopped'}: {summary.planned} planned"
            f"{f' ({summary.not_all_solved} not all solved)' if summary.not_all_solved else ''}, "
            f"{summary.failed} failed"
        )


class _StopRace(logging.Filter):
    """Drops the error watchdog's inotify emitter logs when it is stopped while reading."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in record.getMessage()


def _quiet_stop_race() -> None:
    """Keep watchdog's harmless stop-time error off the user's console (once per process)."""
    emitter_log = logging.getLogger("watchdog.observers.inotify")
    if not any(isinstance(f, _StopRace) for f in emitter_log.filters):
        emitter_log.addFilter(_StopRace())


def looks_complete(path: Path) -> bool:
    """Return whether the file looks complete: not empty, and a zip that ends in its directory.

    A file that is not a zip at all is as complete as it will get (it fails when read). Raises
    OSError when it cannot be opened.
    """
    with open(path, "rb") as handle:
        head = handle.read(4)
        size = handle.seek(0, os.SEEK_END)
        if size == 0 or head.strip(b"\0") == b"":  # empty, or space set aside and not filled
            return False
        if not b"PK".startswith(head[:2]):  # not even the start of a zip
            return True
        start = max(0, size - _ZIP_TAIL)
        handle.seek(start)
        return _ends_like_zip(handle.read(), start)


def _ends_like_zip(tail: bytes, start: int) -> bool:
    """Return whether ``tail`` (read from offset ``start``) ends with a zip's end record.

    The record must also agree with where it is (its comment runs to the end of the file, its
    directory ends where it starts), so bytes that merely look like one in a half-copied
    file do not count.
    """
    found = tail.rfind(_ZIP_END)
    while found >= 0:
        if len(tail) - found >= 22:
            directory_size, directory_offset, comment = struct.unpack_from("<IIH", tail, found + 12)
            zip64 = directory_offset == 0xFFFFFFFF
            if found + 22 + comment == len(tail) and (
                zip64 or directory_offset + directory_size == start + found
            ):
                return True
        found = tail.rfind(_ZIP_END, 0, found)
    return False


def _hidden(status: os.stat_result) -> bool:
    """Return whether the file is marked hidden (Windows attribute, macOS flag)."""
    attributes = getattr(status, "st_file_attributes", 0)
    flags = getattr(status, "st_flags", 0)
    return bool(attributes & stat.FILE_ATTRIBUTE_HIDDEN) or bool(flags & stat.UF_HIDDEN)


def _free_stem(folder: Path, stem: str, suffixes: Iterable[str]) -> str:
    """Return ``stem``, or ``stem (2)``, ``stem (3)``, ... : the first with no file taken."""
    suffixes = list(suffixes)
    number = 1
    while True:
        candidate = stem if number == 1 else f"{stem} ({number})"
        if not any((folder / f"{candidate}{suffix}").exists() for suffix in suffixes):
            return candidate
        number += 1


def _free_name(folder: Path, name: str) -> str:
    """Return ``name`` or ``NAME (2).xlsx``, ... : the first not taken in folder."""
    path = Path(name)
    return f"{_free_stem(folder, path.stem, [path.suffix])}{path.suffix}"


def _tally(report: Report) -> str:
    """Return what planning found, e.g. ``planned 3 scenarios (2 solved, 1 infeasible)``."""
    if not report.results:
        return "no scenario sheet found"
    counts = Counter(result.status for result in report.results)
    total = len(report.results)
    parts = ", ".join(f"{counts[status]} {status.value}" for status in Status if counts[status])
    return f"planned {total} scenario{'' if total == 1 else 's'} ({parts})"


def _error_text(dropped: str, kept: str, reason: str) -> str:
    """Return the words of NAME.error.txt: what went wrong, when, and what to do."""
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    kept_as = f" (kept here as {kept})" if kept != dropped else ""
    return (
        f"crunch-xl could not plan {dropped}{kept_as}.\n"
        f"\n"
        f"Why: {reason}\n"
        f"\n"
        f"When: {when}\n"
        f"\n"
        f"The workbook beside this note is exactly as it was dropped. Put right what is said\n"
        f"above (or open it in Excel and save it as an Excel Workbook, .xlsx), then drop it\n"
        f"into the watched folder again.\n"
    )


def _write_atomically(path: Path, text: str) -> None:
    """Write a text file through a temporary file that replaces it in one step."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.crunch-xl.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _remove(folder: Path) -> None:
    """Remove a job's folder and what is left in it (nothing of the user's by then)."""
    shutil.rmtree(folder, ignore_errors=True)
