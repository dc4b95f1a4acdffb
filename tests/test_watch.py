"""The watched folder, driven through the real watchdog observer on a real temporary folder.

Every test drops real workbooks the way files really arrive (slow copies, Excel's save dance,
lock files, junk) and waits, with a timeout, for what the user would see in done/ and failed/.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from disks import PAGE, leave_free, make_room, small_disk
from fixtures_package import strict_open_xml
from openpyxl import load_workbook
from processes import command, start
from schools import hard_school
from workbooks import make_workbook

from crunch_xl.cli import main
from crunch_xl.errors import WorkbookError
from crunch_xl.model import Scenario
from crunch_xl.watch import (
    DONE_FOLDER,
    FAILED_FOLDER,
    WORK_FOLDER,
    WatchSummary,
    is_workbook_name,
    looks_complete,
    watch_folder,
)
from crunch_xl.workbook import Settings

pytestmark = pytest.mark.timeout(60)

QUICK = Settings(alternatives=1, time_limit=5.0)
SETTLE = 0.3
#: Long enough for any single small workbook to be noticed, settle and be planned.
WAIT = 15.0

SMALL = {
    "teachers": 3,
    "grades": [("K", 40, 15, 22), ("1", 22, 15, 24)],
    "composites": [("K/1",)],
}
OTHER = {
    "teachers": 4,
    "grades": [("K", 44, 15, 22), ("1", 40, 15, 24)],
    "composites": [("K/1",)],
}


def copies(school: Scenario, times: int) -> Scenario:
    """Return the school ``times`` over in one scenario: its grades again as Kb, 1b, ..., Kc, ..."""
    grades, composites = list(school.grades), list(school.composites)
    for copy in range(1, times):
        tag = chr(ord("a") + copy)
        grades += [replace(g, label=f"{g.label}{tag}") for g in school.grades]
        composites += [
            replace(c, grades=tuple(f"{label}{tag}" for label in c.grades))
            for c in school.composites
        ]
    return replace(
        school,
        grades=tuple(grades),
        composites=tuple(composites),
        teachers=times * school.teachers,
    )


#: A K-12 school at its fewest teachers twice over, 26 grades: planning it (one option asked)
#: keeps the solver busy for seconds, long enough to stop it or to save the workbook meanwhile.
K12 = replace(copies(hard_school(), 2), name="Whole school", alternatives=1)
#: The same school three times over, 39 grades: proving its option 1 takes the planner several
#: times the 3 s time limit given in the time-limit test, so it runs into it. Should the planner
#: get that fast, that test fails rather than passes: then take more copies.
SLOWEST = replace(copies(hard_school(), 3), name="Whole school", alternatives=1)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Return the bytes of the test workbooks: small, other (a different plan) and slow."""
    folder = tmp_path_factory.mktemp("books")
    return {
        "small": make_workbook(folder / "small.xlsx", {"Plan A": SMALL}).read_bytes(),
        "other": make_workbook(folder / "other.xlsx", {"Plan B": OTHER}).read_bytes(),
        "slow": make_workbook(folder / "slow.xlsx", {"Whole school": SLOWEST}).read_bytes(),
        "strict": strict_open_xml(folder / "strict.xlsx").read_bytes(),
    }


class Watch:
    """A watch_folder running on a thread: its log lines, and its summary once stopped."""

    def __init__(self, directory: Path, **options: Any) -> None:
        self.directory = directory
        self.lines: list[str] = []
        self.stop = threading.Event()
        self.summary: WatchSummary | None = None
        self.error: BaseException | None = None
        self._options = {"settings": QUICK, "settle": SETTLE, "rescan": 60.0, **options}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.summary = watch_folder(
                self.directory, log=self.lines.append, stop=self.stop, **self._options
            )
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            self.error = error

    def start(self) -> Watch:
        self._thread.start()
        wait_for(lambda: any(line.startswith("watching") for line in self.lines), "watching")
        return self

    def finish(self, timeout: float = 10.0) -> WatchSummary:
        self.stop.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the watcher did not stop"
        if self.error is not None:
            raise self.error
        assert self.summary is not None
        return self.summary

    def said(self, text: str) -> list[str]:
        return [line for line in list(self.lines) if text in line]


@contextmanager
def watching(directory: Path, **options: Any) -> Iterator[Watch]:
    watch = Watch(directory, **options).start()
    try:
        yield watch
    finally:
        if watch._thread.is_alive():
            watch.finish()


def wait_for(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def drop(path: Path, data: bytes, *, chunks: int = 1, pause: float = 0.0) -> float:
    """Return the time the file became complete, after writing it in chunks with pauses."""
    step = max(1, -(-len(data) // chunks))
    with open(path, "wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            os.fsync(handle.fileno())
            if start + step < len(data):
                time.sleep(pause)
    return time.monotonic()


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def sheets(path: Path) -> list[str]:
    return load_workbook(path, read_only=True).sheetnames


def leftovers(directory: Path) -> list[str]:
    """Return files anywhere under DIR that should not outlive a job (temporary files, copies)."""
    work = directory / WORK_FOLDER
    found = [p.name for p in directory.rglob("*") if p.name.endswith(".crunch-xl.tmp")]
    found += [p.name for p in work.iterdir() if p.name != "owner.txt"] if work.exists() else []
    return found


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "wanted"),
    [
        ("plan.xlsx", True),
        ("Plan 2025.XLSM", True),
        ("plan.results.xlsx", True),
        ("~$plan.xlsx", False),
        (".~lock.plan.xlsx#", False),
        (".hidden.xlsx", False),
        ("._plan.xlsx", False),
        (".plan.xlsx.1a2b3c4d.crunch-xl.tmp", False),
        ("8A3B2C1D", False),
        ("plan.tmp", False),
        ("plan.xlsx.tmp", False),
        ("plan.xls", False),
        ("plan.csv", False),
    ],
)
def test_only_workbooks_are_wanted(name: str, wanted: bool) -> None:
    assert is_workbook_name(name) is wanted


def test_a_cut_short_workbook_does_not_look_complete(
    tmp_path: Path, books: dict[str, bytes]
) -> None:
    path = tmp_path / "part.xlsx"
    for data in (books["small"], books["strict"]):
        for cut in [0, 1, 2, 3, 4, *range(5, len(data), 37), len(data) - 1]:
            path.write_bytes(data[:cut])
            assert not looks_complete(path), cut
        path.write_bytes(data)
        assert looks_complete(path)
    # Not a zip at all: as complete as it will ever be (it fails when read).
    path.write_bytes(b"<html>not a workbook</html>")
    assert looks_complete(path)
    # Space set aside for a copy that has not started writing.
    path.write_bytes(bytes(4096))
    assert not looks_complete(path)


# --- arriving ----------------------------------------------------------------------------------


def test_a_slow_copy_is_planned_only_once_complete(tmp_path: Path, books: dict[str, bytes]) -> None:
    text = b"Not a zip, so only size and time tell whether it is complete.\n" * 50
    # Pauses a tenth of the settle time: size and time keep changing. Well shorter: with
    # pauses of 0.4 of a 0.3 s settle time, a loaded machine (planning the first workbook
    # meanwhile) once let one pause overrun it, and the copy was, rightly, taken as complete.
    settle = 1.0
    pause = settle * 0.1
    with watching(tmp_path, settle=settle) as watch:
        drop(tmp_path / "plan.xlsx", books["small"], chunks=5, pause=pause)
        with open(tmp_path / "text.xlsx", "wb") as handle:
            for start in range(0, len(text), len(text) // 5):
                assert "text.xlsx" in names(tmp_path), "claimed while still being written"
                handle.write(text[start : start + len(text) // 5])
                handle.flush()
                time.sleep(pause)
        # A copy that stalls for longer than the settle time, half written: a zip without its
        # end record waits longer, instead of landing in failed/.
        data = books["other"]
        with open(tmp_path / "stalled.xlsx", "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            time.sleep(settle * 2)
            assert names(tmp_path / DONE_FOLDER) <= {"plan.xlsx"}
            assert "stalled.xlsx" in names(tmp_path)
            handle.write(data[len(data) // 2 :])
        wait_for(lambda: len(names(tmp_path / DONE_FOLDER)) == 2, "both in done/")
        wait_for(lambda: (tmp_path / FAILED_FOLDER / "text.error.txt").exists(), "text failed")
        summary = watch.finish()
    assert names(tmp_path / FAILED_FOLDER) == {"text.xlsx", "text.error.txt"}
    assert (tmp_path / FAILED_FOLDER / "text.xlsx").read_bytes() == text
    assert "Plan A results" in sheets(tmp_path / DONE_FOLDER / "plan.xlsx")
    assert "Plan B results" in sheets(tmp_path / DONE_FOLDER / "stalled.xlsx")
    assert len(watch.said("received plan.xlsx")) == 1
    assert len(watch.said("received stalled.xlsx")) == 1
    assert watch.said("plan.xlsx: planned 1 scenario (1 solved) -> done")
    assert (summary.planned, summary.failed, summary.exit_status()) == (2, 1, 3)


def test_excel_save_waits_for_the_owner_file(tmp_path: Path, books: dict[str, bytes]) -> None:
    with watching(tmp_path) as watch:
        # Excel opens a new workbook saved into the folder: its owner file comes first.
        owner = tmp_path / "~$plan.xlsx"
        owner.write_bytes(b"\x0bAdministrator" + b"\x20" * 40)
        drop(tmp_path / "plan.xlsx", books["small"])
        time.sleep(SETTLE * 4)
        # Saving again: a temporary file with no extension, the original deleted, the
        # temporary renamed over it (a moved event, not a modified one).
        drop(tmp_path / "8A3B2C1D", books["other"])
        (tmp_path / "plan.xlsx").unlink()
        os.replace(tmp_path / "8A3B2C1D", tmp_path / "plan.xlsx")
        time.sleep(SETTLE * 4)
        assert names(tmp_path / DONE_FOLDER) == set()
        assert "plan.xlsx" in names(tmp_path)
        assert watch.said("plan.xlsx: waiting: it is open in Excel or LibreOffice (~$plan.xlsx")
        owner.unlink()  # Excel is closed
        wait_for(lambda: (tmp_path / DONE_FOLDER / "plan.xlsx").exists(), "done/plan.xlsx")
        watch.finish()
    # The last save is what was planned, once.
    assert "Plan B results" in sheets(tmp_path / DONE_FOLDER / "plan.xlsx")
    assert len(watch.said("received plan.xlsx")) == 1
    assert names(tmp_path / FAILED_FOLDER) == set()
    assert names(tmp_path) == {DONE_FOLDER, FAILED_FOLDER, WORK_FOLDER}


def test_lock_temporary_hidden_and_other_files_are_ignored(
    tmp_path: Path, books: dict[str, bytes]
) -> None:
    ignored = {
        "~$budget.xlsx": b"owner",
        ".~lock.budget.xlsx#": b"LibreOffice lock",
        ".hidden.xlsx": books["small"],
        "._plan.xlsx": b"AppleDouble",
        "notes.tmp": b"temporary",
        "plan.xlsx.tmp": books["small"],
        "8A3B2C1D": books["small"],
        ".plan.xlsx.1a2b3c4d.crunch-xl.tmp": books["small"],
        "readme.txt": b"not a workbook",
        "plan.xls": b"old Excel",
    }
    for name, data in ignored.items():
        (tmp_path / name).write_bytes(data)
    with watching(tmp_path, rescan=0.2) as watch:
        drop(tmp_path / "real.xlsx", books["small"])
        # LibreOffice has this one open: its lock file beside it holds it back.
        (tmp_path / ".~lock.office.xlsx#").write_text(",Administrator,host,01.01.2025 09:00,;")
        drop(tmp_path / "office.xlsx", books["other"])
        wait_for(lambda: (tmp_path / DONE_FOLDER / "real.xlsx").exists(), "done/real.xlsx")
        time.sleep(SETTLE * 4)
        assert "office.xlsx" in names(tmp_path)
        (tmp_path / ".~lock.office.xlsx#").unlink()
        wait_for(lambda: (tmp_path / DONE_FOLDER / "office.xlsx").exists(), "done/office.xlsx")
        watch.finish()
    for name, data in ignored.items():
        assert (tmp_path / name).read_bytes() == data, name
    assert names(tmp_path / DONE_FOLDER) == {"real.xlsx", "office.xlsx"}
    assert names(tmp_path / FAILED_FOLDER) == set()
    assert len(watch.said("received")) == 2


def test_no_loops_and_rescans_never_plan_twice(tmp_path: Path, books: dict[str, bytes]) -> None:
    with watching(tmp_path, rescan=0.1) as watch:
        drop(tmp_path / "plan.xlsx", books["small"])
        # A Strict Open XML workbook is not written into: results go to strict.results.xlsx.
        drop(tmp_path / "strict.xlsx", books["strict"])
        wait_for(lambda: len(names(tmp_path / DONE_FOLDER)) == 3, "three files in done/")
        time.sleep(1.5)  # many rescans, and time for any event our own files might cause
        summary = watch.finish()
    assert names(tmp_path / DONE_FOLDER) == {"plan.xlsx", "strict.xlsx", "strict.results.xlsx"}
    assert (tmp_path / DONE_FOLDER / "strict.xlsx").read_bytes() == books["strict"]
    assert "crunch-xl summary" in sheets(tmp_path / DONE_FOLDER / "strict.results.xlsx")
    assert len(watch.said("received")) == 2
    assert watch.said("-> done/strict.results.xlsx (strict.xlsx itself unchanged")
    assert names(tmp_path) == {DONE_FOLDER, FAILED_FOLDER, WORK_FOLDER}
    assert leftovers(tmp_path) == []
    assert summary.planned == 2


def test_dropped_again_is_planned_again_and_the_earlier_result_kept(
    tmp_path: Path, books: dict[str, bytes]
) -> None:
    done = tmp_path / DONE_FOLDER
    with watching(tmp_path) as watch:
        drop(tmp_path / "plan.xlsx", books["small"])
        wait_for(lambda: (done / "plan.xlsx").exists(), "done/plan.xlsx")
        first = (done / "plan.xlsx").read_bytes()
        drop(tmp_path / "plan.xlsx", books["other"])  # edited and dropped again
        wait_for(lambda: (done / "plan (2).xlsx").exists(), "done/plan (2).xlsx")
        watch.finish()
    assert (done / "plan.xlsx").read_bytes() == first
    assert "Plan A results" in sheets(done / "plan.xlsx")
    assert "Plan B results" in sheets(done / "plan (2).xlsx")
    assert watch.said("-> done/plan (2).xlsx; the earlier done/plan.xlsx is kept")
    assert len(watch.said("received plan.xlsx")) == 2


def test_unreadable_workbooks_go_to_failed_with_the_reason(
    tmp_path: Path, books: dict[str, bytes]
) -> None:
    failed = tmp_path / FAILED_FOLDER
    junk_zip = tmp_path.parent / f"{tmp_path.name}-junk.zip"
    with zipfile.ZipFile(junk_zip, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    bad = b"This is not a workbook at all, just some bytes.\n" * 20
    with watching(tmp_path, settle=0.2) as watch:
        drop(tmp_path / "bad.xlsx", bad)
        drop(tmp_path / "zip.xlsm", junk_zip.read_bytes())
        drop(tmp_path / "empty.xlsx", b"")
        drop(tmp_path / "good.xlsx", books["small"])
        wait_for(lambda: len(names(failed)) == 6, "three failures", timeout=WAIT + 5)
        drop(tmp_path / "bad.xlsx", bad[:100])  # the same name fails again
        wait_for(lambda: (failed / "bad (2).error.txt").exists(), "failed/bad (2).error.txt")
        summary = watch.finish()
    assert names(failed) == {
        "bad.xlsx",
        "bad.error.txt",
        "bad (2).xlsx",
        "bad (2).error.txt",
        "zip.xlsm",
        "zip.error.txt",
        "empty.xlsx",
        "empty.error.txt",
    }
    # The input is never lost: failed/ holds it exactly as it arrived.
    assert (failed / "bad.xlsx").read_bytes() == bad
    assert (failed / "bad (2).xlsx").read_bytes() == bad[:100]
    assert (failed / "zip.xlsm").read_bytes() == junk_zip.read_bytes()
    assert (failed / "empty.xlsx").read_bytes() == b""
    why = (failed / "bad.error.txt").read_text(encoding="utf-8")
    assert why.startswith("crunch-xl could not plan bad.xlsx.")
    assert "Why: bad.xlsx" in why and "When: " in why
    assert "kept here as bad (2).xlsx" in (failed / "bad (2).error.txt").read_text()
    assert "not an Excel workbook" in (failed / "zip.error.txt").read_text()
    assert "empty" in (failed / "empty.error.txt").read_text()
    assert watch.said("bad.xlsx: failed: ") and watch.said("-> failed/bad.xlsx")
    # ... and it kept going.
    assert "Plan A results" in sheets(tmp_path / DONE_FOLDER / "good.xlsx")
    assert (summary.planned, summary.failed, summary.exit_status()) == (1, 4, 3)
    assert leftovers(tmp_path) == []


def test_several_at_once_are_all_planned(tmp_path: Path, books: dict[str, bytes]) -> None:
    count = 8
    with watching(tmp_path, workers=3) as watch:
        writers = [
            threading.Thread(
                target=drop,
                args=(tmp_path / f"school {n}.xlsx", books["small" if n % 2 else "other"]),
                kwargs={"chunks": 3, "pause": 0.05},
            )
            for n in range(count)
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        wait_for(lambda: len(names(tmp_path / DONE_FOLDER)) == count, f"{count} in done/")
        summary = watch.finish()
    for n in range(count):
        expected = "Plan A results" if n % 2 else "Plan B results"
        assert expected in sheets(tmp_path / DONE_FOLDER / f"school {n}.xlsx")
    assert summary.planned == count and summary.failed == 0
    assert len(watch.said("received")) == count
    assert leftovers(tmp_path) == []


def test_a_workbook_at_its_time_limit_does_not_stall_the_others(
    tmp_path: Path, books: dict[str, bytes]
) -> None:
    done = tmp_path / DONE_FOLDER
    settings = Settings(alternatives=1, time_limit=3.0)
    with watching(tmp_path, settings=settings, workers=2) as watch:
        drop(tmp_path / "slow.xlsx", books["slow"])
        wait_for(lambda: watch.said("received slow.xlsx"), "slow.xlsx received")
        started = time.monotonic()
        for n in range(3):
            drop(tmp_path / f"quick {n}.xlsx", books["small"])
        wait_for(lambda: len(names(done)) == 3, "the quick ones in done/")
        assert "slow.xlsx" not in names(done)
        assert time.monotonic() - started < 3.5
        wait_for(lambda: (done / "slow.xlsx").exists(), "done/slow.xlsx")
        watch.finish()
    assert watch.said("slow.xlsx: planned 1 scenario (1 timeout) -> done/slow.xlsx")


def test_polling_sees_workbooks(tmp_path: Path, books: dict[str, bytes]) -> None:
    with watching(tmp_path, polling=True, poll_interval=0.2) as watch:
        assert watch.said("looking every 0.2 s")
        drop(tmp_path / "share.xlsx", books["small"])
        wait_for(lambda: (tmp_path / DONE_FOLDER / "share.xlsx").exists(), "done/share.xlsx")
        watch.finish()


def test_the_rescan_picks_up_what_events_missed(tmp_path: Path, books: dict[str, bytes]) -> None:
    # Polling once an hour: the observer sees nothing in this test, as on a share where
    # events get lost; only the rescan can find the workbook.
    with watching(tmp_path, polling=True, poll_interval=3600, rescan=0.3) as watch:
        drop(tmp_path / "missed.xlsx", books["small"])
        wait_for(lambda: (tmp_path / DONE_FOLDER / "missed.xlsx").exists(), "done/missed.xlsx")
        watch.finish()


def test_startup_plans_workbooks_already_waiting(tmp_path: Path, books: dict[str, bytes]) -> None:
    drop(tmp_path / "waiting.xlsx", books["small"])
    with watching(tmp_path):
        wait_for(lambda: (tmp_path / DONE_FOLDER / "waiting.xlsx").exists(), "done/waiting")


# --- once, stopping, crashes -------------------------------------------------------------------


def test_once_plans_what_is_there_and_returns(tmp_path: Path, books: dict[str, bytes]) -> None:
    drop(tmp_path / "a.xlsx", books["small"])
    drop(tmp_path / "b.xlsx", books["other"])
    drop(tmp_path / "broken.xlsx", b"junk")
    drop(tmp_path / "open.xlsx", books["small"])
    (tmp_path / "~$open.xlsx").write_bytes(b"owner")
    lines: list[str] = []
    started = time.monotonic()
    summary = watch_folder(tmp_path, settings=QUICK, once=True, settle=SETTLE, log=lines.append)
    assert time.monotonic() - started < 10
    assert names(tmp_path / DONE_FOLDER) == {"a.xlsx", "b.xlsx"}
    assert names(tmp_path / FAILED_FOLDER) == {"broken.xlsx", "broken.error.txt"}
    # Open in Excel: left alone for the next run.
    assert (tmp_path / "open.xlsx").read_bytes() == books["small"]
    assert any("open.xlsx: left in the folder for next time" in line for line in lines)
    assert (summary.planned, summary.failed, summary.exit_status()) == (2, 1, 3)
    assert lines[-1] == "done: 2 planned, 1 failed"
    assert leftovers(tmp_path) == []
    assert not (tmp_path / WORK_FOLDER / "owner.txt").exists()


def test_once_with_nothing_to_do(tmp_path: Path) -> None:
    summary = watch_folder(tmp_path, once=True, settle=SETTLE)
    assert summary.processed == 0 and summary.exit_status() == 0


def test_stop_puts_the_workbook_being_planned_back(tmp_path: Path, books: dict[str, bytes]) -> None:
    settings = Settings(alternatives=1, time_limit=3.0)
    with watching(tmp_path, settings=settings) as watch:
        drop(tmp_path / "slow.xlsx", books["slow"])
        wait_for(lambda: watch.said("received slow.xlsx"), "slow.xlsx received")
        time.sleep(0.5)  # the solver is running
        stopped = time.monotonic()
        summary = watch.finish(timeout=3)
        assert time.monotonic() - stopped < 2
    assert (tmp_path / "slow.xlsx").read_bytes() == books["slow"]
    assert names(tmp_path / DONE_FOLDER) == set()
    assert summary.processed == 0
    assert watch.said("slow.xlsx: stopped before it was planned; it is back in the folder")
    assert [p.name for p in tmp_path.rglob("*.crunch-xl.tmp")] == []


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl-C is a POSIX signal here")
def test_ctrl_c_stops_cleanly(tmp_path: Path, books: dict[str, bytes]) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    # Ctrl-C as in a terminal, even when these tests run in the background (where SIGINT
    # is inherited as ignored).
    script = (
        "import signal, sys\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from pathlib import Path\n"
        "from crunch_xl.watch import watch_folder\n"
        "from crunch_xl.workbook import Settings\n"
        "log = lambda line: print(line, flush=True)\n"
        "try:\n"
        "    watch_folder(Path(sys.argv[1]), settings=Settings(alternatives=1, time_limit=3),\n"
        "                 settle=0.3, log=log)\n"
        "except KeyboardInterrupt:\n"
        "    sys.exit(130)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    try:
        assert process.stdout.readline().startswith("watching")
        drop(folder / "slow.xlsx", books["slow"])
        assert process.stdout.readline().strip() == "received slow.xlsx"
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        rest = process.communicate(timeout=10)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert "slow.xlsx: stopped before it was planned; it is back in the folder" in rest
    assert (folder / "slow.xlsx").read_bytes() == books["slow"]
    assert names(folder / DONE_FOLDER) == set()
    assert not (folder / WORK_FOLDER / "owner.txt").exists()


def test_a_crash_leftover_is_planned_again(tmp_path: Path, books: dict[str, bytes]) -> None:
    # What a crash leaves: a claimed workbook, a half-made copy and a stale owner file.
    job = tmp_path / WORK_FOLDER / "0123456789ab"
    (job / "copy").mkdir(parents=True)
    (job / "plan.xlsx").write_bytes(books["small"])
    (job / "copy" / ".plan.xlsx.1a2b3c4d.crunch-xl.tmp").write_bytes(b"PK half")
    (tmp_path / WORK_FOLDER / "owner.txt").write_text("crunch-xl watch, process 1, beat 7\n")
    lines: list[str] = []
    summary = watch_folder(tmp_path, settings=QUICK, once=True, settle=SETTLE, log=lines.append)
    assert summary.planned == 1
    assert "Plan A results" in sheets(tmp_path / DONE_FOLDER / "plan.xlsx")
    assert "plan.xlsx: left unfinished when crunch-xl last stopped; planning it again" in lines
    assert leftovers(tmp_path) == []


def test_a_second_watcher_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    with watching(tmp_path), pytest.raises(WorkbookError, match="Another crunch-xl watch"):
        watch_folder(tmp_path, once=True)


def test_a_folder_that_is_not_there(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError, match="is not a folder"):
        watch_folder(tmp_path / "missing", once=True)


# --- one file never stops the folder ---------------------------------------------------------


def named(size: int, suffix: str = ".xlsx", letter: str = "L") -> str:
    """Return a file name of exactly ``size`` bytes."""
    return letter * (size - len(suffix)) + suffix


def test_names_at_the_file_systems_limit_never_stop_the_watcher(
    tmp_path: Path, books: dict[str, bytes]
) -> None:
    done = tmp_path / DONE_FOLDER
    # Open in Excel or LibreOffice, their lock files exactly at the limit: these wait.
    held = {
        named(253, letter="E"): f"~${named(253, letter='E')}",
        named(255, letter="X"): f"~${named(255, letter='X')[2:]}",
        named(247, letter="O"): f".~lock.{named(247, letter='O')}#",
    }
    for name, lock in held.items():
        (tmp_path / name).write_bytes(books["small"])
        (tmp_path / lock).write_bytes(b"owner")
    free = [named(248), named(255, letter="M"), "計" * 83 + ".xlsx", "ordinary.xlsx"]
    for name in free:
        (tmp_path / name).write_bytes(books["small"])
    with watching(tmp_path) as watch:
        wait_for(lambda: names(done) == set(free), "every free workbook in done/")
        # The same long name again: "NAME (2).xlsx" is shortened to fit, its tag kept.
        drop(tmp_path / named(255, letter="M"), books["other"])
        again = named(255 - len(" (2)….xlsx".encode()) + 5, letter="M")[:-5] + "… (2).xlsx"
        wait_for(lambda: (done / again).exists(), "the second one in done/")
        assert all((tmp_path / name).exists() for name in held)
        for lock in held.values():
            (tmp_path / lock).unlink()  # closed in Excel and LibreOffice
        wait_for(lambda: len(names(done)) == len(free) + 1 + len(held), "the held ones in done/")
        summary = watch.finish()
    assert summary.planned == len(free) + 1 + len(held) and summary.failed == 0
    assert len(os.fsencode(again)) == 255
    assert "Plan B results" in sheets(done / again)
    assert names(tmp_path) == {DONE_FOLDER, FAILED_FOLDER, WORK_FOLDER}
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("size", [227, 240, 247, 250, 255])
def test_an_unreadable_workbook_with_a_long_name_reaches_failed(
    tmp_path: Path, books: dict[str, bytes], size: int
) -> None:
    name = named(size, letter="C")
    (tmp_path / name).write_bytes(b"junk, not a workbook")
    (tmp_path / "good.xlsx").write_bytes(books["small"])
    summary = watch_folder(tmp_path, settings=QUICK, once=True, settle=SETTLE)
    assert (summary.planned, summary.failed, summary.exit_status()) == (1, 1, 3)
    failed = names(tmp_path / FAILED_FOLDER)
    assert name in failed and len(failed) == 2
    (note,) = failed - {name}
    assert note.endswith(".error.txt") and len(os.fsencode(note)) <= 255
    assert note.startswith("C" * 200)
    assert (
        (tmp_path / FAILED_FOLDER / note)
        .read_text()
        .startswith(f"crunch-xl could not plan {name}.")
    )
    # Next time there is nothing left to fail: it is not tried again and again.
    assert watch_folder(tmp_path, settings=QUICK, once=True, settle=SETTLE).processed == 0
    assert leftovers(tmp_path) == []


def test_watch_once_exits_3_each_time_a_workbook_fails(
    tmp_path: Path, books: dict[str, bytes]
) -> None:
    for round_ in range(2):
        (tmp_path / named(240 + round_, letter="C")).write_bytes(b"junk")
        (tmp_path / f"good {round_}.xlsx").write_bytes(books["small"])
        assert main(["watch", str(tmp_path), "--once", "--settle", "0.2", "-q"]) == 3
    assert main(["watch", str(tmp_path), "--once", "--settle", "0.2", "-q"]) == 0
    assert len(names(tmp_path / FAILED_FOLDER)) == 4


@pytest.mark.skipif(sys.platform == "win32", reason="Windows names hold no colon")
def test_only_failures_go_to_standard_error_whatever_the_names(
    tmp_path: Path, books: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes: failed: draft.xlsx").write_bytes(books["small"])
    (tmp_path / "old.xlsx").write_bytes(b"junk")
    assert main(["watch", str(tmp_path), "--once", "--settle", "0.2"]) == 3
    out, err = capsys.readouterr()
    assert "notes: failed: draft.xlsx: planned 1 scenario" in out
    (failure,) = err.splitlines()
    assert "old.xlsx: failed: " in failure and "notes" not in failure


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="root's powers are dropped the Linux way"
)
def test_an_unreadable_file_fails_with_the_reason_while_others_flow(
    tmp_path: Path, books: dict[str, bytes]
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    locked = inbox / "locked.xlsx"
    locked.write_bytes(books["small"])
    locked.chmod(0)
    # As an administrator runs it (root reads anything): unreadable really is unreadable.
    process = start(command("watch", inbox, "--settle", "0.1", "-a", "1"), without_root_powers=True)
    try:
        for n in range(3):
            drop(inbox / f"school {n}.xlsx", books["other"])
            time.sleep(0.3)
        wait_for(lambda: len(names(inbox / DONE_FOLDER)) == 3, "the readable ones in done/")
        wait_for(lambda: (inbox / FAILED_FOLDER / "locked.error.txt").exists(), "locked failed")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signal.SIGTERM
    why = (inbox / FAILED_FOLDER / "locked.error.txt").read_text()
    assert "Why: locked.xlsx cannot be read: Permission denied." in why
    assert "locked.xlsx: failed: locked.xlsx cannot be read: Permission denied." in err
    assert (inbox / FAILED_FOLDER / "locked.xlsx").stat().st_size == len(books["small"])


def test_a_file_deleted_between_event_and_claim_costs_nothing_else(
    tmp_path: Path, books: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.replace
    work = (tmp_path / WORK_FOLDER).resolve()

    def replace(source: Any, target: Any) -> None:
        # Another program deletes it just as the watcher moves it to the work folder.
        if Path(source).name.startswith("vanishing") and Path(target).parent.parent == work:
            Path(source).unlink()
        real(source, target)

    monkeypatch.setattr(os, "replace", replace)
    with watching(tmp_path) as watch:
        for n in range(3):
            drop(tmp_path / f"vanishing {n}.xlsx", books["small"])
            drop(tmp_path / f"school {n}.xlsx", books["other"])
        # Still being written when it is deleted: it is simply forgotten.
        with open(tmp_path / "half.xlsx", "wb") as handle:
            handle.write(books["small"][:100])
            handle.flush()
            time.sleep(SETTLE / 2)
            (tmp_path / "half.xlsx").unlink()
        wait_for(lambda: len(names(tmp_path / DONE_FOLDER)) == 3, "the others in done/")
        time.sleep(SETTLE * 3)
        summary = watch.finish()
    assert names(tmp_path / DONE_FOLDER) == {f"school {n}.xlsx" for n in range(3)}
    assert names(tmp_path / FAILED_FOLDER) == set()
    assert (summary.planned, summary.failed, summary.unfinished) == (3, 0, 0)
    assert not watch.said("vanishing") and not watch.said("half")
    assert leftovers(tmp_path) == []


def test_a_file_that_cannot_be_looked_at_goes_to_failed_or_is_skipped(
    tmp_path: Path, books: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open, real_replace = os.open, os.replace

    def open_(path: Any, *args: Any, **kwargs: Any) -> int:
        if Path(path).name.startswith(("odd", "stuck")):  # what a strange share might do
            raise ValueError("the file system gave an answer nobody expected")
        return real_open(path, *args, **kwargs)

    def replace(source: Any, target: Any) -> None:
        if Path(source).name.startswith("stuck"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(source))
        real_replace(source, target)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "replace", replace)
    with watching(tmp_path, rescan=0.2) as watch:
        drop(tmp_path / "odd.xlsx", books["small"])
        drop(tmp_path / "stuck.xlsx", books["small"])
        drop(tmp_path / "fine.xlsx", books["small"])
        wait_for(lambda: (tmp_path / DONE_FOLDER / "fine.xlsx").exists(), "fine.xlsx done")
        wait_for(lambda: (tmp_path / FAILED_FOLDER / "odd.error.txt").exists(), "odd failed")
        time.sleep(1.0)  # several rescans: the skipped file is told about once
        summary = watch.finish()
    why = (tmp_path / FAILED_FOLDER / "odd.error.txt").read_text()
    assert "crunch-xl could not look at it (ValueError: the file system gave an answer" in why
    assert (tmp_path / "stuck.xlsx").read_bytes() == books["small"]
    assert len(watch.said("stuck.xlsx: skipped: crunch-xl could not look at it")) == 1
    assert (summary.planned, summary.failed) == (1, 1)


def test_a_full_disk_is_waited_out(tmp_path: Path, books: dict[str, bytes]) -> None:
    with small_disk(tmp_path / "disk", kilobytes=1024) as disk:
        inbox = disk / "inbox"
        inbox.mkdir()
        with watching(inbox) as watch:
            # Room for the working copy, not for the results (tmpfs counts whole pages).
            parked = disk / "plan.xlsx"
            parked.write_bytes(books["small"])
            leave_free(disk, 2 * PAGE + -(-len(books["small"]) // PAGE) * PAGE)
            os.replace(parked, inbox / "plan.xlsx")
            wait_for(lambda: watch.said("its results could not be written"), "a failed write")
            time.sleep(2.5)  # a retry or two, still full
            assert names(inbox / DONE_FOLDER) == names(inbox / FAILED_FOLDER) == set()
            make_room(disk)
            wait_for(lambda: (inbox / DONE_FOLDER / "plan.xlsx").exists(), "done/plan.xlsx")
            summary = watch.finish()
        assert (summary.planned, summary.failed) == (1, 0)
        assert watch.said(
            "plan.xlsx: its results could not be written (No space left on device); it waits "
            f"in {WORK_FOLDER} and is tried again in 2 s"
        )
        assert not watch.said(": failed: ")
        assert "Plan A results" in sheets(inbox / DONE_FOLDER / "plan.xlsx")
        assert leftovers(inbox) == []


# --- links and special files ------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="links and pipes need POSIX")
@pytest.mark.parametrize("folder", [DONE_FOLDER, FAILED_FOLDER, WORK_FOLDER])
def test_crunch_xl_folders_that_are_links_are_refused(tmp_path: Path, folder: str) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (inbox / folder).symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(WorkbookError, match=f"{folder} is a symbolic link to another place"):
        watch_folder(inbox, once=True)
    assert list(elsewhere.iterdir()) == []


@pytest.mark.skipif(sys.platform == "win32", reason="links and pipes need POSIX")
def test_links_pipes_folders_and_odd_names_dropped_in(
    tmp_path: Path, books: dict[str, bytes]
) -> None:
    inbox = tmp_path / "inbox"
    outside = tmp_path / "outside"
    inbox.mkdir()
    outside.mkdir()
    (outside / "plan.xlsx").write_bytes(books["small"])
    (outside / "junk.xlsx").write_bytes(b"junk")
    (inbox / "relative.xlsx").symlink_to(Path("..") / "outside" / "plan.xlsx")
    (inbox / "absolute.xlsx").symlink_to(outside / "plan.xlsx")
    (inbox / "broken link.xlsx").symlink_to(Path("..") / "outside" / "junk.xlsx")
    (inbox / "nowhere.xlsx").symlink_to(Path("..") / "outside" / "missing.xlsx")
    os.mkfifo(inbox / "pipe.xlsx")
    (inbox / "folder.xlsx").mkdir()
    (inbox / "new\nline.xlsx").write_bytes(books["other"])
    lines: list[str] = []
    summary = watch_folder(inbox, settings=QUICK, once=True, settle=SETTLE, log=lines.append)
    assert names(inbox / DONE_FOLDER) == {"relative.xlsx", "absolute.xlsx", "new\nline.xlsx"}
    assert "Plan A results" in sheets(inbox / DONE_FOLDER / "relative.xlsx")
    assert not (inbox / DONE_FOLDER / "relative.xlsx").is_symlink()
    # What the links point to is never changed; a link that fails goes to failed/ as a link.
    assert (outside / "plan.xlsx").read_bytes() == books["small"]
    assert names(inbox / FAILED_FOLDER) == {"broken link.xlsx", "broken link.error.txt"}
    assert (inbox / FAILED_FOLDER / "broken link.xlsx").read_bytes() == b"junk"
    # Not files: left alone. A link to nothing is not a file either.
    assert names(inbox) == {
        DONE_FOLDER, FAILED_FOLDER, WORK_FOLDER, "pipe.xlsx", "folder.xlsx", "nowhere.xlsx"
    }  # fmt: skip
    assert (summary.planned, summary.failed) == (3, 1)
    assert "received new\u240aline.xlsx" in lines
    assert all("\n" not in line for line in lines)


def test_names_that_are_not_text_reach_done_and_failed(
    tmp_path: Path, books: dict[str, bytes]
) -> None:
    good = Path(os.fsdecode(os.fsencode(tmp_path) + b"/plan \xfd.xlsx"))
    bad = Path(os.fsdecode(os.fsencode(tmp_path) + b"/bad \xfe.xlsx"))
    try:
        good.write_bytes(books["small"])
        bad.write_bytes(b"junk")
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only names that are text")
    lines: list[str] = []
    summary = watch_folder(tmp_path, settings=QUICK, once=True, settle=SETTLE, log=lines.append)
    assert (summary.planned, summary.failed, summary.unfinished) == (1, 1, 0)
    assert names(tmp_path / DONE_FOLDER) == {good.name}
    assert names(tmp_path / FAILED_FOLDER) == {bad.name, "bad \udcfe.error.txt"}
    why = (tmp_path / FAILED_FOLDER / "bad \udcfe.error.txt").read_text(encoding="utf-8")
    assert why.startswith("crunch-xl could not plan bad \ufffd.xlsx.")
    assert "received plan \ufffd.xlsx" in lines
