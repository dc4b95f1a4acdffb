"""Watched-folder latency: from a workbook becoming complete in DIR to its results in DIR/done/.

    python -m benchmarks.watch_latency [--count 6] [--settle 1.0] [--workbook PATH]

For each observer (file-system events, then --polling) and each way a file arrives (copied
in place in several writes, or written under a hidden name in DIR and renamed, as rsync, Excel
and browsers do), a fresh temporary folder is watched with ``watch_folder`` and COUNT copies of
the workbook are dropped one after another. A file is "complete" when its last byte is written
and it is closed; done/ is watched independently every 10 ms, and since results are moved there
in one rename, a file appearing in done/ is whole. Printed: each file's latency, median and
max, and the time ``process_workbook`` alone takes on the same workbook, so the watcher's own
share (settle time, polling, moves) is what is left.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from crunch_xl.excel.template import write_template
from crunch_xl.watch import DONE_FOLDER, watch_folder
from crunch_xl.workbook import Settings, process_workbook

CHUNKS = 4


def planning_seconds(data: bytes, settings: Settings) -> float:
    """Return how long process_workbook alone takes on the workbook (median of three)."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "alone.xlsx"
        for _ in range(3):
            path.write_bytes(data)
            started = time.monotonic()
            process_workbook(path, settings=settings)
            times.append(time.monotonic() - started)
    return statistics.median(times)


def arrive(path: Path, data: bytes, how: str, pause: float) -> float:
    """Return when the file became complete in DIR, after it arrived ``how`` (copy or move)."""
    # Like rsync, Excel and browsers: written under a hidden name in DIR, then renamed.
    target = path if how == "copy" else path.with_name(f".{path.name}.part")
    step = -(-len(data) // CHUNKS)
    with open(target, "wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            os.fsync(handle.fileno())
            if start + step < len(data):
                time.sleep(pause)
    if how == "move":
        os.replace(target, path)
    return time.monotonic()


def run(
    data: bytes,
    *,
    polling: bool,
    how: str,
    count: int,
    spacing: float,
    settle: float,
    settings: Settings,
    verbose: bool,
) -> list[tuple[str, float]]:
    """Return (file, seconds from complete to done/) for each dropped workbook."""
    with tempfile.TemporaryDirectory() as root:
        inbox = Path(root) / "inbox"
        inbox.mkdir()
        stop = threading.Event()
        log = (lambda line: print(f"    {line}", file=sys.stderr)) if verbose else None
        watcher = threading.Thread(
            target=watch_folder,
            args=(inbox,),
            kwargs={
                "settings": settings,
                "polling": polling,
                "settle": settle,
                "stop": stop,
                **({"log": log} if log else {}),
            },
            daemon=True,
        )
        watcher.start()
        time.sleep(0.5)  # the observer is up
        names = [f"school {n + 1:02}.xlsx" for n in range(count)]
        arrived: dict[str, float] = {}
        landed: dict[str, float] = {}

        def look() -> None:
            deadline = time.monotonic() + 120 + count * 10
            while len(landed) < count and time.monotonic() < deadline:
                for name in names:
                    if name not in landed and (inbox / DONE_FOLDER / name).exists():
                        landed[name] = time.monotonic()
                time.sleep(0.01)

        looker = threading.Thread(target=look, daemon=True)
        looker.start()
        for name in names:
            arrived[name] = arrive(inbox / name, data, how, pause=min(0.2, settle / 2))
            time.sleep(spacing)
        looker.join()
        stop.set()
        watcher.join(10)
    return [(name, landed[name] - arrived[name]) for name in names if name in landed]


def main(argv: list[str] | None = None) -> int:
    """Run the latency benchmark and print the table; return 0, or 1 if a result never came."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=6, help="workbooks per run")
    parser.add_argument("--spacing", type=float, default=0.5, help="seconds between drops")
    parser.add_argument("--settle", type=float, default=1.0, help="watch_folder's settle")
    parser.add_argument("--alternatives", type=int, default=1, help="options per scenario")
    parser.add_argument(
        "--workbook", type=Path, help="workbook to drop (default: the template's example)"
    )
    parser.add_argument("--verbose", action="store_true", help="show the watcher's log")
    args = parser.parse_args(argv)
    settings = Settings(alternatives=args.alternatives)
    if args.workbook is not None:
        data = args.workbook.read_bytes()
    else:
        with tempfile.TemporaryDirectory() as folder:
            template = Path(folder) / "template.xlsx"
            write_template(template)
            data = template.read_bytes()
    alone = planning_seconds(data, settings)
    print(
        f"workbook: {args.workbook or 'template example'} ({len(data):,} bytes), "
        f"alternatives {args.alternatives}, settle {args.settle:g} s, {args.count} files "
        f"{args.spacing:g} s apart; process_workbook alone: {alone:.2f} s"
    )
    print(f"{'observer':<9} {'arrival':<8} {'file':<16} {'complete -> done/':>17}")
    missing = 0
    for polling in (False, True):
        for how in ("copy", "move"):
            observer = "polling" if polling else "events"
            rows = run(
                data,
                polling=polling,
                how=how,
                count=args.count,
                spacing=args.spacing,
                settle=args.settle,
                settings=settings,
                verbose=args.verbose,
            )
            for name, seconds in rows:
                print(f"{observer:<9} {how:<8} {name:<16} {seconds:>15.2f} s")
            missing += args.count - len(rows)
            if rows:
                latencies = [seconds for _, seconds in rows]
                print(
                    f"{observer:<9} {how:<8} median {statistics.median(latencies):.2f} s, "
                    f"max {max(latencies):.2f} s, watcher's share of the median "
                    f"{statistics.median(latencies) - alone:.2f} s"
                )
    if missing:
        print(f"{missing} result(s) never reached done/")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
