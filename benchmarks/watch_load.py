"""Watched folder under load: hundreds of files dropped at once and in bursts, hostile ones too.

    python -m benchmarks.watch_load [--count 300] [--settle 1.0] [--workers N] [--polling]

Runs the real command, ``crunch-xl watch DIR``, in a process of its own on a fresh temporary
folder, then drops COUNT inputs: about two thirds at once, the rest in bursts of BURST every
``--pause`` seconds. The inputs are good workbooks (the template, whose example is a 7-grade
school), workbooks with bad cells (planned, their scenario invalid), corrupt (cut in half) and
empty files, .xlsm workbooks, symbolic links to workbooks outside the folder, a name with a
newline in it, workbooks deleted again a moment after they were dropped, a pipe (FIFO) and a
folder named like workbooks; all but the template are one 4-grade scenario. A second
``crunch-xl watch`` on the same folder is started meanwhile and must be refused.

Once every input has landed the watcher is stopped with SIGTERM. Printed: each kind of input
and where it ended (done/, failed/, still in DIR, deleted before it was taken); the throughput
(workbooks that reached done/ or failed/ per minute, from the first drop to the last landing);
and the checks: every input accounted for exactly once, nothing outside the folder changed,
the second watcher refused, the watcher's exit status 143 and no process of its left running.
The exit status is 0 when every check holds. POSIX only (a FIFO, symbolic links, signals).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

from crunch_xl.excel.template import fill_scenario_sheet, write_template
from crunch_xl.watch import DONE_FOLDER, FAILED_FOLDER, WORK_FOLDER

#: Where each kind of input must end: done/, failed/, left in DIR, or either of done/ and
#: "gone" for the ones deleted again (whichever came first, the watcher or the deletion).
KINDS = {
    "good": "done",
    "bad cells": "done",
    "xlsm": "done",
    "link outside": "done",
    "newline name": "done",
    "corrupt": "failed",
    "empty": "failed",
    "deleted again": "done or gone",
    "fifo": "left",
    "folder": "left",
}
#: Share of COUNT per kind (the rest are good workbooks).
SHARES = {
    "bad cells": 0.10,
    "xlsm": 0.08,
    "link outside": 0.05,
    "newline name": 0.02,
    "corrupt": 0.10,
    "empty": 0.04,
    "deleted again": 0.06,
}
SPECIAL = {"fifo": 2, "folder": 2}
BURST = 20
SEED = 2024


@dataclass
class Input:
    """One dropped input: its name in DIR, its kind, and what became of it."""

    name: str
    kind: str
    deleted: bool = False
    landed: str = ""
    at: float = 0.0


@dataclass
class Run:
    inputs: list[Input] = field(default_factory=list)
    first_drop: float = 0.0
    second_watcher: str = ""
    exit_status: int | None = None
    left_running: list[str] = field(default_factory=list)
    #: Anything else wrong: files no input explains, jobs left behind, outside files changed.
    problems: list[str] = field(default_factory=list)


def workbook_bytes(folder: Path, teachers: int, *, bad: bool = False) -> bytes:
    """Return the bytes of a one-scenario workbook (with cells that are wrong when ``bad``)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Plan"
    children = [(label, 20 * teachers // 4 + n, 15, 24) for n, label in enumerate("K123")]
    fill_scenario_sheet(
        sheet,
        title="Load",
        teachers="lots" if bad else teachers,
        use_every_teacher=None,
        composite_minimum=None,
        alternatives=1,
        priority=None,
        grades=[("K", "-3", 15, 22), *children[1:]] if bad else children,
        composites=[("K/1",), ("2/3",)],
    )
    path = folder / "book.xlsx"
    book.save(path)
    return path.read_bytes()


def plan_inputs(count: int, rng: random.Random) -> list[Input]:
    """Return the inputs to drop, in a shuffled order, each with a unique name."""
    kinds: list[str] = []
    for kind, share in SHARES.items():
        kinds += [kind] * max(1, round(count * share))
    kinds += ["good"] * max(0, count - len(kinds))
    rng.shuffle(kinds)
    inputs = []
    for number, kind in enumerate(kinds):
        stem = f"{number:04} {kind}"
        if kind == "newline name":
            stem = f"{number:04} new\nline"
        suffix = ".xlsm" if kind == "xlsm" else ".xlsx"
        inputs.append(Input(f"{stem}{suffix}", kind))
    for kind, many in SPECIAL.items():
        inputs += [Input(f"{kind} {n}.xlsx", kind) for n in range(many)]
    return inputs


def drop(inbox: Path, outside: Path, item: Input, data: dict[str, bytes]) -> None:
    """Put one input into DIR as it arrives in real life."""
    path = inbox / item.name
    if item.kind == "fifo":
        os.mkfifo(path)
    elif item.kind == "folder":
        path.mkdir()
    elif item.kind == "link outside":
        target = outside / item.name
        target.write_bytes(data["good"])
        path.symlink_to(Path("..") / outside.name / item.name)
    else:
        path.write_bytes(data[item.kind])


def delete_later(path: Path, item: Input, delay: float) -> None:
    time.sleep(delay)
    try:
        path.unlink()
    except FileNotFoundError:  # the watcher took it first
        return
    item.deleted = True


def fingerprints(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()
    }


def session_processes(session: int) -> list[str]:
    """Return the processes of a session still running (Linux; elsewhere none are found)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[3]) == session and fields[0] not in ("Z", "X"):
            found.append(text[text.index("(") + 1 : text.rindex(")")])
    return found


def watch_command(inbox: Path, args: argparse.Namespace) -> list[str]:
    line = [sys.executable, "-m", "crunch_xl", "watch", str(inbox), "--settle", str(args.settle)]
    line += ["-a", "1", "-t", "10", "--quiet"]
    line += ["--workers", str(args.workers)] if args.workers else []
    return line + (["--polling"] if args.polling else [])


def landed(inbox: Path, item: Input) -> str:
    for where in (DONE_FOLDER, FAILED_FOLDER):
        if os.path.lexists(inbox / where / item.name):
            return where
    return ""


def run(args: argparse.Namespace) -> Run:
    rng = random.Random(SEED)
    outcome = Run()
    with tempfile.TemporaryDirectory() as root:
        inbox, outside, scratch = Path(root) / "inbox", Path(root) / "outside", Path(root) / "x"
        for folder in (inbox, outside, scratch):
            folder.mkdir()
        write_template(scratch / "template.xlsx")  # its filled example: a 7-grade school
        good = (scratch / "template.xlsx").read_bytes()
        data = {
            "good": good,
            "bad cells": workbook_bytes(scratch, 8, bad=True),
            "xlsm": workbook_bytes(scratch, 9),
            "newline name": workbook_bytes(scratch, 10),
            "deleted again": good,
            "corrupt": good[: len(good) // 2],
            "empty": b"",
        }
        outcome.inputs = inputs = plan_inputs(args.count, rng)
        watcher = subprocess.Popen(
            watch_command(inbox, args),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        while not (inbox / WORK_FOLDER / "owner.txt").exists():
            time.sleep(0.05)
        deleters = []
        at_once = len(inputs) * 2 // 3
        batches = [inputs[:at_once]] + [
            inputs[start : start + BURST] for start in range(at_once, len(inputs), BURST)
        ]
        second: subprocess.Popen[str] | None = None
        outcome.first_drop = time.monotonic()
        for number, batch in enumerate(batches):
            for item in batch:
                drop(inbox, outside, item, data)
                if item.kind == "deleted again":
                    deleter = threading.Thread(
                        target=delete_later,
                        args=(inbox / item.name, item, rng.uniform(0.0, 2 * args.settle)),
                    )
                    deleter.start()
                    deleters.append(deleter)
            if number == 0:  # a second watcher races the first on the same folder
                second = subprocess.Popen(
                    watch_command(inbox, args),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            time.sleep(args.pause)
        outside_before = fingerprints(outside)
        for deleter in deleters:
            deleter.join()
        deadline = time.monotonic() + args.timeout
        waiting = [i for i in inputs if KINDS[i.kind] != "left" and not i.deleted]
        while waiting and time.monotonic() < deadline:
            for item in waiting:
                where = landed(inbox, item)
                if where:
                    item.landed, item.at = where, time.monotonic()
            waiting = [i for i in waiting if not i.landed]
            time.sleep(0.05)
        if second is not None:
            _, err = second.communicate(timeout=60)
            outcome.second_watcher = f"exit {second.returncode}: {err.strip()}"
        watcher.send_signal(signal.SIGTERM)
        watcher.communicate(timeout=60)
        outcome.exit_status = watcher.returncode
        outcome.left_running = session_processes(watcher.pid)
        for item in inputs:  # the final look: where is everything now
            item.landed = landed(inbox, item) or item.landed
            if not item.landed and os.path.lexists(inbox / item.name):
                item.landed = "left"
            elif not item.landed and item.deleted:
                item.landed = "gone"
        check_folders(inbox, inputs, outcome)
        if fingerprints(outside) != outside_before:
            outcome.problems.append("files outside the folder changed")
    return outcome


def check_folders(inbox: Path, inputs: list[Input], outcome: Run) -> None:
    """Record as problems any file in done/ or failed/ that is no input's (duplicates too)."""
    expected = {
        DONE_FOLDER: {i.name for i in inputs if i.landed == DONE_FOLDER},
        FAILED_FOLDER: {i.name for i in inputs if i.landed == FAILED_FOLDER},
    }
    for where, names in expected.items():
        for path in (inbox / where).iterdir():
            own = path.name.endswith((".error.txt", ".results.xlsx", ".results.xlsm"))
            if path.name not in names and not own:
                outcome.problems.append(f"{where}/{path.name!r} is no input's")
    work = [p.name for p in (inbox / WORK_FOLDER).iterdir() if p.name != "owner.txt"]
    if work:
        outcome.problems.append(f"{len(work)} job(s) left in {WORK_FOLDER}")


def report(outcome: Run, args: argparse.Namespace) -> int:
    """Print the table and the checks; return 0 when every check holds."""
    inputs = outcome.inputs
    print(
        f"{len(inputs)} inputs, about two thirds at once and the rest in bursts of {BURST} "
        f"every {args.pause:g} s; settle {args.settle:g} s; "
        f"{'polling' if args.polling else 'file-system events'}"
    )
    print(f"{'kind':<14} {'dropped':>7} {'done/':>6} {'failed/':>7} {'left':>5} {'gone':>5}  must")
    wrong = []
    for kind, must in KINDS.items():
        items = [i for i in inputs if i.kind == kind]
        places = Counter(i.landed for i in items)
        print(
            f"{kind:<14} {len(items):>7} {places[DONE_FOLDER]:>6} {places[FAILED_FOLDER]:>7} "
            f"{places['left']:>5} {places['gone']:>5}  {must}"
        )
        allowed = {"done": {DONE_FOLDER}, "failed": {FAILED_FOLDER}, "left": {"left"}}.get(
            must, {DONE_FOLDER, "gone"}
        )
        wrong += [i.name for i in items if i.landed not in allowed]
    reached = [i for i in inputs if i.landed in (DONE_FOLDER, FAILED_FOLDER)]
    seconds = max(i.at for i in reached) - outcome.first_drop if reached else 0.0
    rate = 60 * len(reached) / seconds if seconds else 0.0
    print(
        f"throughput: {len(reached)} workbooks to done/ or failed/ in {seconds:.1f} s "
        f"= {rate:.0f} a minute"
    )
    refused = "Another crunch-xl watch" in outcome.second_watcher
    checks = {
        "every input accounted for exactly once, nothing outside changed": not wrong
        and not outcome.problems,
        "second watcher refused": refused,
        "watcher stopped by SIGTERM with status 143": outcome.exit_status == 143,
        "no process of the watcher left running": not outcome.left_running,
    }
    for check, held in checks.items():
        print(f"{'PASS' if held else 'FAIL'} {check}")
    for problem in [*wrong, *outcome.problems, *outcome.left_running]:
        print(f"  problem: {problem!r}")
    if not refused:
        print(f"  second watcher: {outcome.second_watcher}")
    return 0 if all(checks.values()) else 1


def main(argv: list[str] | None = None) -> int:
    """Run the load and print what became of every input; return 0 when every check holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="inputs to drop (default 300)")
    parser.add_argument("--settle", type=float, default=1.0, help="the watcher's --settle")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between bursts")
    parser.add_argument("--workers", type=int, default=0, help="the watcher's --workers")
    parser.add_argument("--polling", action="store_true", help="the watcher's --polling")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait at most")
    args = parser.parse_args(argv)
    if os.name != "posix":
        print("POSIX only: FIFOs, symbolic links and SIGTERM are part of the load")
        return 1
    return report(run(args), args)


if __name__ == "__main__":
    sys.exit(main())
