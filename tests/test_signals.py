"""Stopping the real command and the real watcher: SIGTERM, and SIGHUP from a closed terminal.

Each test runs crunch-xl in a process (and a session) of its own with the CBC solver, which
runs as child processes, and stops it while it plans or while it writes. Asserted, whatever
the planner does inside: the exit status is 128 + the signal's number, the user's workbook is
whole (untouched, or back in the watched folder), no temporary file is left, and no process of
crunch-xl's session outlives it. Writing is caught in the act by making the disk slow to flush
(``os.fsync``, the file-system edge), not by changing crunch-xl.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from processes import (
    command,
    in_session,
    read_terminal,
    start,
    start_on_terminal,
    wait_for_children,
)
from test_watch import K12
from workbooks import make_workbook

from crunch_xl.watch import DONE_FOLDER, WORK_FOLDER

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes found in /proc"),
    pytest.mark.timeout(120),
]

SMALL = {
    "teachers": 3,
    "grades": [("K", 40, 15, 22), ("1", 22, 15, 24)],
    "composites": [("K/1",)],
}
STOPPED = "crunch-xl: stopped; no workbook was left half-written."
#: A Python that makes flushing to disk take a minute once it has said so (a file appears):
#: the command is then caught writing. Then it runs crunch-xl as its script does.
_SLOW_DISK = (
    "import os, sys, time\n"
    "from pathlib import Path\n"
    "marker = Path(sys.argv.pop(1))\n"
    "flush = os.fsync\n"
    "def slow(descriptor):\n"
    "    marker.touch()\n"
    "    time.sleep(60)\n"
    "    flush(descriptor)\n"
    "os.fsync = slow\n"
    "from crunch_xl.cli import run\n"
    "run()\n"
)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Return the bytes of a quick workbook and of one whose planning takes many seconds."""
    folder = tmp_path_factory.mktemp("books")
    slow = {f"Whole school {n}": replace(K12, name=f"Whole school {n}") for n in (1, 2, 3)}
    return {
        "quick": make_workbook(folder / "quick.xlsx", {"Plan A": SMALL}).read_bytes(),
        "slow": make_workbook(folder / "slow.xlsx", slow).read_bytes(),
    }


def crunch_xl(*args: object, writing: Path | None = None) -> list[str]:
    """Return the command line of crunch-xl (on a slow disk when ``writing`` is a marker)."""
    line = command(*args)
    if writing is None:
        return line
    return [sys.executable, "-c", _SLOW_DISK, str(writing), *line[3:]]


def wait_for(path: Path, process: subprocess.Popen[Any], terminal: int | None = None) -> None:
    """Wait until ``path`` exists (the command has reached that point)."""
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, f"the command ended (status {process.returncode})"
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        if terminal is not None:
            read_terminal(terminal)
        time.sleep(0.02)


def stop(process: subprocess.Popen[Any], how: str, terminal: int | None) -> str:
    """Return what the command printed after stopping it ``how`` (TERM, or HUP: close its
    terminal) and waiting for it to end."""
    if how == "HUP":
        assert terminal is not None
        read_terminal(terminal)
        os.close(terminal)  # the terminal window is closed
        process.wait(timeout=30)
        return ""
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return str(err)


def stopped_while(
    phase: str,
    args: list[str],
    how: str,
    marker: Path,
    then: Callable[[subprocess.Popen[Any], int | None], None] | None = None,
) -> subprocess.Popen[Any]:
    """Return the command's ended process, run with ``args`` (``then`` once it is running,
    e.g. drop a workbook) and stopped ``how`` while ``phase`` (starting to plan, planning,
    writing)."""
    line = crunch_xl(*args, writing=marker if phase == "writing" else None)
    process, terminal = start_on_terminal(line) if how == "HUP" else (start(line), None)
    try:
        if then is not None:
            then(process, terminal)
        if phase == "starting":
            wait_for_children(process, terminal=terminal, solver=False)
            time.sleep(0.3)
        elif phase == "planning":
            wait_for_children(process, terminal=terminal)
            time.sleep(0.3)
        else:
            wait_for(marker, process, terminal)
        err = stop(process, how, terminal)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + getattr(signal, f"SIG{how}")
    if how == "TERM":
        assert err.strip() == STOPPED
    assert in_session(process.pid) == []
    return process


def temporary_files(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*.crunch-xl.tmp")]


@pytest.mark.parametrize("phase", ["planning", "writing"])
@pytest.mark.parametrize("how", ["TERM", "HUP"])
def test_the_command_stops_cleanly(
    tmp_path: Path, books: dict[str, bytes], how: str, phase: str
) -> None:
    path = tmp_path / "plan.xlsx"
    original = books["quick" if phase == "writing" else "slow"]
    path.write_bytes(original)
    marker = tmp_path / "writing"
    stopped_while(phase, [str(path), "--solver", "cbc", "-a", "1", "-t", "60"], how, marker)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["plan.xlsx"] + (["writing"] if phase == "writing" else [])
    )


@pytest.mark.parametrize(
    ("how", "phase"),
    [("TERM", "starting"), ("TERM", "planning"), ("TERM", "writing"), ("HUP", "planning")],
)
def test_the_watcher_stops_cleanly(
    tmp_path: Path, books: dict[str, bytes], how: str, phase: str
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    original = books["quick" if phase == "writing" else "slow"]

    def drop(process: subprocess.Popen[Any], terminal: int | None) -> None:
        wait_for(inbox / WORK_FOLDER / "owner.txt", process, terminal)
        (inbox / "plan.xlsx").write_bytes(original)

    args = ["watch", str(inbox), "--settle", "0.2", "--solver", "cbc", "-a", "1", "-t", "60"]
    stopped_while(phase, args, how, tmp_path / "writing", then=drop)
    # Back in the folder, untouched, for the next start; nothing half-made anywhere.
    assert (inbox / "plan.xlsx").read_bytes() == original
    assert list((inbox / DONE_FOLDER).iterdir()) == []
    assert list((inbox / WORK_FOLDER).iterdir()) == []
    assert temporary_files(inbox) == []
