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
   file becomes ``NAME (2).xlsx``, ``NAME (3).xlsx``, ... (a name too long for that, or for
   NAME.error.txt, is shortened, ending in …). When the results cannot be written or moved
   (a full disk, a folder not writable) the workbook stays claimed and is tried again after
   RETRY_FIRST seconds, then twice as long each time up to RETRY_MOST, without planning it
   again; only a workbook that cannot be read goes to failed/.

Ignored: lock files, hidden files (names starting with ``.``, or marked hidden), temporary and
other non-workbook files, anything not a regular file (a folder named ``x.xlsx``, a pipe), and
the folders above. A symbolic link dropped in DIR is followed: the file it points to is planned
(a copy of it goes to done/; it is never changed). One file never stops the folder: whatever
goes wrong with it costs that file alone. On stop (Ctrl-C, SIGTERM) workbooks still being
planned go back into DIR untouched; on start, anything a crash left in the work folder is
planned again. The input is never lost.
"""

from __future__ import annotations

import contextlib
import errno
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
from collections.abc import Callable, Sequence
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

from crunch_xl import words
from crunch_xl.errors import NotWritten, WorkbookError
from crunch_xl.files import exists, fitted_name, replace_with_link, shown, write_atomically
from crunch_xl.model import Report, Status
from crunch_xl.workbook import (
    WORKBOOK_SUFFIXES,
    Settings,
    lock_file,
    plan_workbook,
    save_report,
)

__all__ = [
    "DONE_FOLDER",
    "FAILED_FOLDER",
    "Failure",
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
#: With ``once``, a workbook still not complete after this many seconds is left for next time;
#: so is one whose results could not be written for that long.
ONCE_PATIENCE = 60.0
#: Seconds before a workbook whose results could not be written (a full disk, a folder not
#: writable) is tried again, doubling each time up to RETRY_MOST: soon after space comes back,
#: it is in done/, and a disk that stays full costs a write every RETRY_MOST seconds.
RETRY_FIRST = 2.0
RETRY_MOST = 15.0
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
#: Windows opens files as text unless told; elsewhere there is no such flag.
_BINARY = getattr(os, "O_BINARY", 0)
#: Bytes copied at a time into the working copy.
_CHUNK = 1 << 20
_ARRIVING = {EVENT_TYPE_CREATED, EVENT_TYPE_MODIFIED, EVENT_TYPE_MOVED, EVENT_TYPE_CLOSED}

#: Receives one line per thing that happens; called from several threads, one call at a time.
Log = Callable[[str], None]


class Failure(str):
    """A log line that says a workbook failed (the command prints these on standard error)."""

    __slots__ = ()


def _ignore(message: str) -> None:
    """Drop a log line (the default when nobody listens)."""


@dataclass
class WatchSummary:
    """What a watch did: workbooks planned (results in done/) and workbooks moved to failed/."""

    planned: int = 0
    #: Planned workbooks with a scenario infeasible, invalid or timed out (or none at all).
    not_all_solved: int = 0
    failed: int = 0
    #: Workbooks taken but not finished: their results could not be written in time (once),
    #: or crunch-xl itself failed on them; they are back in DIR or in the work folder.
    unfinished: int = 0

    @property
    def processed(self) -> int:
        """Return the number of workbooks that left DIR for done/ or failed/."""
        return self.planned + self.failed

    def exit_status(self) -> int:
        """Return the exit status (SPEC 4): 3 a workbook failed or unfinished, 1 not all solved."""
        if self.failed or self.unfinished:
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
    #: What planning found, kept so that trying to write the results again does not plan again.
    planned: Report | None = None
    #: Why it cannot be planned, once known (it is then on its way to failed/).
    failure: str | None = None
    #: Tries that could not write or move (a full disk): how many, since when, what was told.
    tries: int = 0
    first_try: float = 0.0
    told: str = ""

    @property
    def name(self) -> str:
        """Return the workbook's name as it was dropped."""
        return self.original.name

    @property
    def folder(self) -> Path:
        """Return the job's folder in the work folder."""
        return self.original.parent

    @property
    def copy(self) -> Path:
        """Return the working copy that is planned and gets the results."""
        return self.folder / _COPY_FOLDER / self.name


class _Unreadable(Exception):
    """The claimed file cannot be read at all: it goes to failed/ with this reason."""


class _NotYet(Exception):
    """Something could not be written or moved for now (a full disk): try again later.

    ``failed``: what waits is a workbook on its way to failed/.
    """

    def __init__(self, message: str, *, failed: bool = False) -> None:
        super().__init__(message)
        self.failed = failed


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
        #: Files that could not even be moved to failed/: what was told, so it is told once.
        self._skipped: dict[Path, str] = {}
        # Shared with the workers, under _lock: jobs in flight, the summary, done/ and failed/
        # names (two workbooks of the same name must not both take "NAME (2).xlsx"), and the
        # jobs waiting to be tried again (when, job).
        self._lock = threading.Lock()
        self._jobs: dict[Path, _Job] = {}
        self._todo: queue.Queue[_Job | None] = queue.Queue()
        self._retries: list[tuple[float, _Job]] = []

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
            self._retry_due(now)
            if self.once and not self._arrivals and self._idle():
                return
            self.stop.wait(self.tick)

    def _make_folders(self) -> None:
        if not self.directory.is_dir():
            raise WorkbookError(
                f"{shown(str(self.directory))} is not a folder, so it cannot be watched."
            )
        for folder in (self.done, self.failed, self.work):
            if folder.is_symlink():
                raise WorkbookError(
                    f"{shown(str(folder))} is a symbolic link to another place; crunch-xl "
                    f"keeps workbooks only in real folders inside {shown(str(self.directory))}, "
                    "so that nothing lands where nobody looks. Replace the link with a folder."
                )
            try:
                _own_folder(folder)
            except OSError as error:
                raise WorkbookError(
                    f"{shown(str(folder))} cannot be used ({error.strerror or error}); "
                    f"crunch-xl needs its own folders inside {shown(str(self.directory))}."
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
            names = [entry.name for entry in os.scandir(self.directory) if _is_file(entry)]
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
            try:
                over = self._check(arrival, now)
            except Exception as error:  # noqa: BLE001 - one file must never stop the folder
                over = True
                self._trouble(arrival, error)
            if over:
                self._arrivals.pop(path, None)

    def _check(self, arrival: _Arrival, now: float) -> bool:
        """Return whether the arrival is dealt with: claimed, gone, or left for next time."""
        state, reason = self._readiness(arrival, now)
        if state is _State.GONE:
            return True
        if state is _State.READY:
            return self._claim(arrival)
        name = shown(arrival.path.name)
        if self.once and (
            state is _State.OPEN_ELSEWHERE or now - arrival.seen > self._once_patience()
        ):
            self._say(f"{name}: left in the folder for next time: {reason}")
            return True
        if state is _State.OPEN_ELSEWHERE and reason != arrival.told:
            arrival.told = reason
            self._say(f"{name}: waiting: {reason}")
        return False

    def _trouble(self, arrival: _Arrival, error: Exception) -> None:
        """Deal with a file crunch-xl could not even look at: to failed/ with why, or skip it."""
        reason = f"crunch-xl could not look at it ({_described(error)})."
        job = self._take(arrival.path)
        if job is not None:
            job.failure = reason
            self._say(f"received {shown(job.name)}")
            self._queue(job)
            return
        if self._skipped.get(arrival.path) != reason:
            self._skipped[arrival.path] = reason
            self._say(
                f"{shown(arrival.path.name)}: skipped: {reason} It could not be moved to "
                f"{FAILED_FOLDER}/ either, so it stays where it is."
            )

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
        patient = quiet >= self.settle * INCOMPLETE_FACTOR
        try:
            whole = looks_complete(path)
        except OSError as error:
            # Windows keeps a file that is being copied locked; one that stays unreadable
            # long after it stopped changing is taken, to go to failed/ with the reason.
            if patient:
                return _State.READY, ""
            return _State.WAITING, f"it cannot be opened yet ({error.strerror or error})"
        if whole or patient:
            return _State.READY, ""
        return _State.WAITING, "it looks incomplete (still being copied?)"

    def _claim(self, arrival: _Arrival) -> bool:
        """Return whether the workbook was claimed: moved into the work folder and queued."""
        try:
            job = self._take(arrival.path, quiet=False)
        except FileNotFoundError:
            return not exists(arrival.path)
        except OSError as error:  # still held by the program writing it; try next time
            reason = f"it cannot be moved yet ({error.strerror or error})"
            if reason != arrival.told:
                arrival.told = reason
                self._say(f"{shown(arrival.path.name)}: waiting: {reason}")
            return False
        assert job is not None
        self._skipped.pop(arrival.path, None)
        self._say(f"received {shown(job.name)}")
        self._queue(job)
        return True

    def _take(self, path: Path, *, quiet: bool = True) -> _Job | None:
        """Return the job of the file moved into a folder of its own in the work folder.

        A relative symbolic link is made absolute there, so it still points where it did.
        Raises OSError when it cannot be moved (None instead when ``quiet``).
        """
        folder = self.work / uuid.uuid4().hex[:12]
        original = folder / path.name
        try:
            folder.mkdir(parents=True)
            os.replace(path, original)
        except OSError:
            _remove(folder)
            if quiet:
                return None
            raise
        if original.is_symlink():
            with contextlib.suppress(OSError):  # it then fails as a link that leads nowhere
                target = os.readlink(original)
                if not os.path.isabs(target):
                    replace_with_link(original, os.path.join(path.parent, target))
        return _Job(original)

    def _queue(self, job: _Job) -> None:
        with self._lock:
            self._jobs[job.folder] = job
        self._todo.put(job)

    def _idle(self) -> bool:
        with self._lock:
            return not self._jobs

    def _retry_due(self, now: float) -> None:
        """Queue again the jobs whose time to be tried again has come."""
        with self._lock:
            due = [job for when, job in self._retries if when <= now]
            self._retries = [(when, job) for when, job in self._retries if when > now]
        for job in due:
            self._todo.put(job)

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
                p
                for p in folder.iterdir()
                if (p.is_file() or p.is_symlink()) and is_workbook_name(p.name)
            )
            for extra in workbooks[1:]:  # never made by crunch-xl; give it back to be seen
                with contextlib.suppress(OSError):
                    os.replace(extra, self.directory / _free_name(self.directory, extra.name))
            if not workbooks:
                _remove(folder)
                continue
            self._say(
                f"{shown(workbooks[0].name)}: left unfinished when crunch-xl last stopped; "
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
                messages.append(self._give_back(job, "stopped before it was planned"))
            self._retries = []
        for message in messages:
            self._say(message)

    def _give_back(self, job: _Job, why: str) -> str:
        """Return what happened after putting the job's workbook back into DIR (under _lock)."""
        name = _free_name(self.directory, job.name)
        try:
            os.replace(job.original, self.directory / name)
        except OSError as error:
            return (
                f"{shown(job.name)}: {why}; it could not be put back "
                f"({error.strerror or error}) and is planned at the next start"
            )
        _remove(job.folder)
        return (
            f"{shown(job.name)}: {why}; it is back in the folder"
            + (f" as {shown(name)}" if name != job.name else "")
            + " and will be planned next time"
        )

    # --- the workers ------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job = self._todo.get()
            if job is None:
                return
            over = True
            try:
                over = self._step(job)
            except Exception as error:  # noqa: BLE001 - one workbook must not stop a worker
                with self._lock:
                    told = not job.abandoned
                    if told:
                        self.summary.unfinished += 1
                if told:
                    self._say(
                        f"{shown(job.name)}: could not be finished ({_described(error)}); "
                        f"it is kept in {WORK_FOLDER} and tried again at the next start"
                    )
            finally:
                if over:
                    with self._lock:
                        self._jobs.pop(job.folder, None)

    def _step(self, job: _Job) -> bool:
        """Return whether the job is over, after taking it as far as it goes for now.

        Planned once; then its results are written and moved to done/ (or, unreadable, it is
        moved to failed/); what cannot be written or moved for now is tried again later.
        """
        with self._lock:
            if job.abandoned:
                return True
        try:
            if job.failure is None and job.planned is None:
                job.planned = self._planned(job)
            if job.failure is None:
                assert job.planned is not None
                report = self._written(job, job.planned)
                if report is not None:
                    return self._deliver(job, report)
            return self._fail(job, job.failure or "")
        except _NotYet as error:
            return self._later(job, str(error), failed=error.failed)

    def _planned(self, job: _Job) -> Report | None:
        """Return what planning a working copy of the job's workbook found.

        None, with job.failure set, when it cannot be read or planned. Raises _NotYet when the
        working copy cannot be made for now.
        """
        try:
            _copy_file(job.original, job.copy)
            return plan_workbook(job.copy, self.settings)
        except _Unreadable as error:
            job.failure = f"{shown(job.name)} cannot be read: {error}."
        except WorkbookError as error:
            job.failure = str(error)
        except OSError as error:
            raise _NotYet(f"a working copy could not be made ({_described(error)})") from error
        except Exception as error:  # noqa: BLE001 - a fault of ours: still never lose the input
            job.failure = _fault(error)
        return None

    def _written(self, job: _Job, report: Report) -> Report | None:
        """Return the report as written into the working copy (or beside it).

        None, with job.failure set, when the workbook cannot take the results; raises _NotYet
        when they cannot be written for now (a full disk).
        """
        try:
            return save_report(job.copy, report)
        except NotWritten as error:
            raise _NotYet(f"its results could not be written ({_described(error)})") from error
        except WorkbookError as error:
            job.failure = str(error)
        except Exception as error:  # noqa: BLE001 - a fault of ours: still never lose the input
            job.failure = _fault(error)
        return None

    def _later(self, job: _Job, reason: str, *, failed: bool = False) -> bool:
        """Return whether the job is over, after arranging to try it again soon.

        With ``once``, a job that has waited ONCE_PATIENCE goes back into DIR instead.
        ``failed``: the job is a workbook on its way to failed/, and the log says so as a failure.
        """
        now = time.monotonic()
        with self._lock:
            if job.abandoned:
                return True
            if not job.tries:
                job.first_try = now
            job.tries += 1
            over = self.once and now - job.first_try >= self._once_patience()
            if over:
                self.summary.unfinished += 1
                message = self._give_back(job, f"not finished: {reason}")
            else:
                delay = min(RETRY_MOST, RETRY_FIRST * 2 ** (job.tries - 1))
                self._retries.append((now + delay, job))
                told, job.told = job.told, reason
                message = (
                    ""
                    if told == reason
                    else f"{shown(job.name)}: {reason}; it waits in {WORK_FOLDER} and is tried "
                    f"again in {delay:g} s, then every {RETRY_MOST:g} s at most"
                )
        if message:
            self._say(Failure(message) if failed else message)
        return over

    def _deliver(self, job: _Job, report: Report) -> bool:
        """Return True after moving the planned copy (and NAME.results.xlsx) to done/.

        Raises _NotYet when they cannot be moved for now.
        """
        copy = job.copy
        results = report.output if report.output not in (None, copy) else None
        suffix = Path(job.name).suffix
        with self._lock:
            if job.abandoned:
                _remove(job.folder)
                return True
            # Both results suffixes count: plan.xlsx never pairs with another's results.
            suffixes = [suffix, ".results.xlsx", ".results.xlsm"]
            try:
                _own_folder(self.done)
                names = _free_names(self.done, Path(job.name).stem, suffixes)
                placed = self.done / names[0]
                kind = results.suffix.lower() if results is not None else ".xlsx"
                placed_results = self.done / names[suffixes.index(f".results{kind}")]
                # Results first: until the workbook itself is in done/, the original stays
                # in the work folder and a crash only means planning it again.
                if results is not None:
                    os.replace(results, placed_results)
                try:
                    os.replace(copy, placed)
                except OSError:
                    if results is not None:
                        with contextlib.suppress(OSError):
                            os.replace(placed_results, results)
                    raise
            except OSError as error:
                raise _NotYet(
                    f"its results could not be moved to {DONE_FOLDER}/ ({_described(error)})"
                ) from error
            job.finished = True
            _remove(job.folder)
            self.summary.planned += 1
            if not report.all_solved:
                self.summary.not_all_solved += 1
        name = shown(job.name)
        output = placed_results if results is not None else placed
        message = f"{name}: {_tally(report)} -> {self._show(output)}"
        if results is not None:
            message += f" ({name} itself unchanged, in {self._show(placed)})"
        if placed.name != job.name:
            message += f"; the earlier {self._show(self.done / job.name)} is kept"
        if job.tries:
            message += f" (written at try {job.tries + 1})"
        self._say(message)
        for note in report.notes:
            self._say(f"{name}: note: {note}")
        return True

    def _fail(self, job: _Job, reason: str) -> bool:
        """Return True after moving the untouched original to failed/ with NAME.error.txt.

        Raises _NotYet when they cannot be moved or written for now.
        """
        reason = shown(reason)  # it may quote a name that is not text (bytes of another system)
        suffix = Path(job.name).suffix
        with self._lock:
            if job.abandoned:
                _remove(job.folder)
                return True
            note: Path | None = None
            try:
                _own_folder(self.failed)
                names = _free_names(self.failed, Path(job.name).stem, [suffix, ".error.txt"])
                placed = self.failed / names[0]
                note = self.failed / names[1]
                write_atomically(note, _error_text(job.name, placed.name, reason))
                os.replace(job.original, placed)
            except OSError as error:
                if note is not None:
                    with contextlib.suppress(OSError):
                        note.unlink(missing_ok=True)
                raise _NotYet(
                    f"failed: {reason} It could not be moved to {FAILED_FOLDER}/ "
                    f"({_described(error)})",
                    failed=True,
                ) from error
            job.finished = True
            _remove(job.folder)
            self.summary.failed += 1
        self._say(
            Failure(
                f"{shown(job.name)}: failed: {reason} -> {self._show(placed)} "
                f"(why: {self._show(note)})"
            )
        )
        return True

    # --- words ------------------------------------------------------------------------------

    def _say(self, message: str) -> None:
        with self._log_lock, contextlib.suppress(Exception):
            # A log that fails (a closed console) must not stop the planning.
            self._log(message)

    def _show(self, path: Path) -> str:
        """Return a path as the user sees it from DIR, e.g. done/plan.xlsx."""
        try:
            return shown(str(path.relative_to(self.directory)))
        except ValueError:
            return shown(str(path))

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
            f"{f', {summary.unfinished} not finished' if summary.unfinished else ''}"
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
    # Never blocks: a pipe that took the file's place opens at once (and is no zip).
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _BINARY)
    with open(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return True
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


def _free_names(folder: Path, stem: str, suffixes: Sequence[str]) -> list[str]:
    """Return a name per suffix, ``stem`` or ``stem (2)``, ... : the first with none taken.

    Each name fits the file system, its stem shortened where it must be.
    """
    number = 1
    while True:
        tag = "" if number == 1 else f" ({number})"
        names = [fitted_name(stem, suffix, tag) for suffix in suffixes]
        if not any(exists(folder / name) for name in names):
            return names
        number += 1


def _free_name(folder: Path, name: str) -> str:
    """Return ``name`` or ``NAME (2).xlsx``, ... : the first not taken in folder."""
    path = Path(name)
    return _free_names(folder, path.stem, [path.suffix])[0]


def _own_folder(folder: Path) -> None:
    """Make one of crunch-xl's folders in DIR, refusing one that is a link to elsewhere.

    Raises OSError when it cannot be made, or is not a real folder inside DIR (a symbolic
    link would put workbooks somewhere nobody watches).
    """
    with contextlib.suppress(FileExistsError):
        folder.mkdir()
    if folder.is_symlink():
        raise OSError(
            errno.EEXIST, "it is a symbolic link; crunch-xl keeps workbooks only inside DIR"
        )
    if not folder.is_dir():
        raise OSError(errno.ENOTDIR, "it is a file, not a folder")


def _is_file(entry: os.DirEntry[str]) -> bool:
    """Return whether the entry is a regular file, or a link to one (False if it cannot tell)."""
    try:
        return entry.is_file()
    except OSError:
        return False


def _copy_file(source: Path, copy: Path) -> None:
    """Copy the claimed workbook to its working copy.

    Raises _Unreadable when the source cannot be read (the workbook's fault, or its
    permissions), OSError when the copy cannot be written (the disk's).
    """
    try:
        descriptor = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _BINARY)
    except OSError as error:
        raise _Unreadable(error.strerror or str(error)) from error
    with open(descriptor, "rb") as reading:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise _Unreadable("it is not a file but a pipe, a device or a folder")
        copy.parent.mkdir(exist_ok=True)
        with open(copy, "wb") as writing:
            while True:
                try:
                    chunk = reading.read(_CHUNK)
                except OSError as error:
                    raise _Unreadable(error.strerror or str(error)) from error
                if not chunk:
                    return
                writing.write(chunk)


def _fault(error: Exception) -> str:
    """Return the reason given for a workbook that crunch-xl itself failed on."""
    return (
        f"crunch-xl ran into an unexpected problem ({_described(error)}). This is a fault in "
        "crunch-xl rather than in your workbook; please report it with this file."
    )


def _described(error: BaseException) -> str:
    """Return an error in words for a log line: the system's words for an OS error."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if isinstance(error, WorkbookError | _NotYet | _Unreadable) or not str(error):
        cause = error.__cause__
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
    return shown(f"{type(error).__name__}: {error}")


def _tally(report: Report) -> str:
    """Return what planning found, e.g. ``planned 3 scenarios (2 solved, 1 infeasible)``."""
    if not report.results:
        return "no scenario sheet found"
    counts = Counter(result.status for result in report.results)
    parts = ", ".join(f"{counts[status]} {status.value}" for status in Status if counts[status])
    return f"planned {words.count(len(report.results), 'scenario')} ({parts})"


def _error_text(dropped: str, kept: str, reason: str) -> str:
    """Return the words of NAME.error.txt: what went wrong, when, and what to do."""
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    kept_as = f" (kept here as {shown(kept)})" if kept != dropped else ""
    return (
        f"crunch-xl could not plan {shown(dropped)}{kept_as}.\n"
        f"\n"
        f"Why: {reason}\n"
        f"\n"
        f"When: {when}\n"
        f"\n"
        f"The workbook beside this note is exactly as it was dropped. Put right what is said\n"
        f"above (or open it in Excel and save it as an Excel Workbook, .xlsx), then drop it\n"
        f"into the watched folder again.\n"
    )


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _remove(folder: Path) -> None:
    """Remove a job's folder and what is left in it (nothing of the user's by then)."""
    shutil.rmtree(folder, ignore_errors=True)
