"""Huge inputs: time and peak memory of reading, planning and writing (RELIABILITY.md, "Limits").

Usage (from the repository root):

    python benchmarks/limits.py [--time-limit 2] [--only 100-sheets] [--markdown]

Cases (fixed numbers, no randomness):

- ``100-sheets``: one workbook with 100 scenario sheets, a 450-child K-6 school each, with 18
  to 26 teachers, and 40 on every tenth sheet (impossible: 40 classes of at least 15 children
  need 600), so ten explanations are timed too;
- ``20-grades``: one scenario with 20 grades and 3,000 children, every adjacent pair allowed
  as a composite;
- ``5000-children``: a K-12 school of 5,000 children with pair and triple composites;
- ``whole-grid``: one scenario of the 450-child school beside a data sheet of 2,000 rows
  whose ``<dimension>`` claims the whole grid (A1:XFD1048576), as Gnumeric writes it;
- ``million-cells``: the same scenario beside a data sheet of 1,000,000 cells (100,000 rows of
  numbers and text, as a class list or timetable export would be);
- ``200-sheets``: the same scenario beside 200 sheets that are not scenarios;
- ``20-megabytes``: the same scenario after a class list of 445,000 rows by 10 columns
  (4,450,000 cells, 20 MB on disk), saved as Excel saves it: its text (a unique name in column
  A of every row) in the shared strings, the scenario's strings after the class list's, and the
  class list the selected tab (too large to unselect: the write leaves it as it is).

The scenario sheets are built with openpyxl; the data sheets with XlsxWriter, and the two are
put together with crunch-xl's own graft (the scenario sheets are not marked as results). The
20 MB class list is written as XML directly (XlsxWriter keeps text inline when streaming).

Each case runs in a fresh Python process, so its peak resident memory is its own. Phases:
*read* (``read_workbook``, which checks the package first), *plan* (``plan_scenario`` for every
sheet, with the time limit given) and *write* (``save_atomically``: the result sheets written
into the workbook through a temporary file, as the command does).

The phases run twice. The first run gives the seconds and the peak resident set of the
process so far (``resource.getrusage``; "n/a" on Windows). The second run, under
``tracemalloc``, gives the Python heap peak of each phase: tracemalloc slows openpyxl four-
to fivefold, so its run is never timed. The solver (CBC) is a separate process and counts in
neither.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script: make the repository root importable so `benchmarks` is a package.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import xlsxwriter
from openpyxl import Workbook

from crunch_xl.excel import reader
from crunch_xl.excel.graft import graft
from crunch_xl.excel.package import open_package
from crunch_xl.excel.template import fill_scenario_sheet
from crunch_xl.model import Report, Scenario
from crunch_xl.workbook import Settings, plan_scenario, save_atomically

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

MEGABYTE = 1024 * 1024

#: A scenario sheet as ``fill_scenario_sheet`` takes it (grades and composites as rows).
Sheet = dict[str, Any]

# The 450-child primary school of the sample workbook: 21 teachers fit without composites,
# 20 need one, 18 cannot hold everyone.
PRIMARY = [("K", 62, 15, 22), ("1", 66, 15, 24), ("2", 64, 15, 24), ("3", 68, 18, 27),
           ("4", 63, 18, 27), ("5", 65, 18, 30), ("6", 62, 18, 30)]  # fmt: skip


def _adjacent(labels: list[str], size: int) -> list[tuple[str]]:
    """Return the composite rows of every run of ``size`` consecutive grades."""
    return [("/".join(labels[n : n + size]),) for n in range(len(labels) - size + 1)]


def hundred_sheets() -> dict[str, Sheet]:
    """Return 100 scenario sheets of the 450-child school: 18-26 teachers, or 40 (impossible)."""
    labels = [grade[0] for grade in PRIMARY]
    sheets = {}
    for number in range(100):
        teachers = 40 if number % 10 == 9 else 18 + number % 10
        sheets[f"Plan {number + 1:03d} ({teachers} teachers)"] = {
            "teachers": teachers,
            "use_every_teacher": "Yes",
            "composite_minimum": 6,
            "alternatives": 3,
            "grades": PRIMARY,
            "composites": _adjacent(labels, 2),
        }
    return sheets


def twenty_grades() -> dict[str, Sheet]:
    """Return one scenario of 20 grades, 150 children each, adjacent pairs allowed."""
    labels = ["K", *map(str, range(1, 20))]
    grades = [(label, 140 + (7 * n) % 21, 15, 25 + n % 6) for n, label in enumerate(labels)]
    return {
        "20 grades": {
            "teachers": 130,
            "use_every_teacher": "No",
            "composite_minimum": 4,
            "alternatives": 3,
            "grades": grades,
            "composites": _adjacent(labels, 2),
        }
    }


def five_thousand_children() -> dict[str, Sheet]:
    """Return one K-12 scenario of exactly 5,000 children with pair and triple composites."""
    labels = ["K", *map(str, range(1, 13))]
    children = [385 + (n * 5) % 11 - 5 for n in range(13)]
    children[-1] += 5000 - sum(children)
    grades = [
        (label, count, 15, 22 if label == "K" else 25 if n <= 2 else 30)
        for n, (label, count) in enumerate(zip(labels, children, strict=True))
    ]
    return {
        "5,000 children": {
            "teachers": 200,
            "use_every_teacher": "No",
            "composite_minimum": 5,
            "alternatives": 3,
            "grades": grades,
            "composites": _adjacent(labels, 2) + _adjacent(labels, 3)[::3],
        }
    }


def one_school() -> dict[str, Sheet]:
    """Return one scenario of the 450-child school, 20 teachers (one composite needed)."""
    labels = [grade[0] for grade in PRIMARY]
    return {
        "Plan A": {
            "teachers": 20,
            "use_every_teacher": "Yes",
            "composite_minimum": 6,
            "alternatives": 3,
            "grades": PRIMARY,
            "composites": _adjacent(labels, 2),
        }
    }


def whole_grid(workbook: Any) -> None:
    """Add a 2,000-row data sheet (its dimension is made to claim the whole grid later)."""
    sheet = workbook.add_worksheet("Data")
    for row in range(2_000):
        sheet.write_row(row, 0, [row, f"pupil {row}", row % 7, row * 1.5])


def million_cells(workbook: Any) -> None:
    """Add a data sheet of 100,000 rows by 10 columns: numbers and text."""
    sheet = workbook.add_worksheet("Class lists")
    for row in range(100_000):
        room, family = f"Room {row % 40}", f"family {row // 3}"
        values = [row, f"pupil {row}", row % 7, room, row * 0.5, row % 13, family, row % 2, 7, "-"]
        sheet.write_row(row, 0, values)


def many_sheets(workbook: Any) -> None:
    """Add 200 sheets that are not scenarios, 50 rows by 5 columns each."""
    for number in range(200):
        sheet = workbook.add_worksheet(f"Week {number + 1}")
        for row in range(50):
            sheet.write_row(row, 0, [f"Class {row}", row, number, "Teachers", row * number])


CLASS_LIST_ROWS = 445_000
_MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _class_list_strings(rows: int) -> Iterator[bytes]:
    """Yield the class list's shared strings: pupils' names, then rooms, then families."""
    for row in range(rows):
        yield b"<si><t>Pupil %d Surname%d</t></si>" % (row, row * 7919 % 100_003)
    for room in range(40):
        yield b"<si><t>Room %d</t></si>" % room
    for family in range(rows // 3 + 1):
        yield b"<si><t>family %d</t></si>" % family


def _class_list_sheet(rows: int) -> Iterator[bytes]:
    """Yield the class list's worksheet XML: the selected tab, text as shared strings."""
    yield (
        b'<worksheet xmlns="' + _MAIN + b'"><dimension ref="A1:J%d"/><sheetViews>'
        b'<sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
        b'<sheetFormatPr defaultRowHeight="15"/><sheetData>' % rows
    )
    batch = []
    for row in range(rows):
        n = row + 1
        room, family = rows + row % 40, rows + 40 + row // 3
        cells = (
            b'<c r="A%d" t="s"><v>%d</v></c><c r="B%d"><v>%d</v></c>'
            b'<c r="C%d" t="s"><v>%d</v></c><c r="D%d"><v>%d</v></c>'
            b'<c r="E%d" t="s"><v>%d</v></c><c r="F%d"><v>%g</v></c>'
            b'<c r="G%d"><v>%d</v></c><c r="H%d"><v>%d</v></c>'
            b'<c r="I%d"><v>%d</v></c><c r="J%d"><v>7</v></c>'
        ) % (n, row, n, row, n, room, n, row % 7, n, family, n, row * 0.5, n, row % 13, n,
             row % 2, n, 40_000 + row % 3_000, n)  # fmt: skip
        batch.append(b'<row r="%d" spans="1:10">' % n + cells + b"</row>")
        if len(batch) == 5_000:
            yield b"".join(batch)
            batch = []
    yield b"".join(batch) + b"</sheetData></worksheet>"


def excel_class_list(path: Path, sheets: dict[str, Sheet]) -> Path:
    """Return path after saving a class list, then the scenario sheets, as Excel saves them.

    openpyxl writes the workbook with a one-cell class list as its first, selected sheet; then
    the class list's part is replaced by the full list and its strings are put first in the
    shared strings, the scenario sheets' string indexes moved up to match.
    """
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Class list"
    first["A1"] = "placeholder"
    for name, sheet in sheets.items():
        fill_scenario_sheet(workbook.create_sheet(name), title=name, **sheet)
    small = path.with_name("small.xlsx")
    workbook.save(small)
    with zipfile.ZipFile(small) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    small.unlink()
    moved = CLASS_LIST_ROWS + 40 + CLASS_LIST_ROWS // 3 + 1
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if name == "xl/worksheets/sheet1.xml":
                with archive.open(name, "w") as part:
                    for piece in _class_list_sheet(CLASS_LIST_ROWS):
                        part.write(piece)
            elif name == "xl/sharedStrings.xml":
                with archive.open(name, "w") as part:
                    part.write(b'<sst xmlns="' + _MAIN + b'">')
                    for item in _class_list_strings(CLASS_LIST_ROWS):
                        part.write(item)
                    part.write(re.search(rb"<sst\b[^>]*>(.*)</sst>", data, re.S)[1])  # type: ignore[index]
                    part.write(b"</sst>")
            elif name.startswith("xl/worksheets/sheet"):
                archive.writestr(
                    name,
                    re.sub(
                        rb'(<c\b[^>]*\st="s"[^>]*>\s*<v>)(\d+)',
                        lambda match: match[1] + b"%d" % (int(match[2]) + moved),
                        data,
                    ),
                )
            else:
                archive.writestr(name, data)
    return path


CASES: dict[str, Callable[[], dict[str, Sheet]]] = {
    "100-sheets": hundred_sheets,
    "20-grades": twenty_grades,
    "5000-children": five_thousand_children,
    "whole-grid": one_school,
    "million-cells": one_school,
    "200-sheets": one_school,
    "20-megabytes": one_school,
}
#: Cases whose scenarios sit beside other sheets, and what adds those (XlsxWriter).
BESIDE: dict[str, Callable[[Any], None]] = {
    "whole-grid": whole_grid,
    "million-cells": million_cells,
    "200-sheets": many_sheets,
}


def build_workbook(path: Path, sheets: dict[str, Sheet], beside: str | None = None) -> Path:
    """Return path after saving one template-shaped scenario sheet per entry.

    With ``beside``, the scenarios are grafted after the other sheets that case adds.
    """
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    workbook.remove(first)
    for name, sheet in sheets.items():
        fill_scenario_sheet(workbook.create_sheet(name), title=name, **sheet)
    workbook.save(path)
    if beside is None:
        return path
    other = path.with_name("other.xlsx")
    data = xlsxwriter.Workbook(str(other), {"constant_memory": True})
    BESIDE[beside](data)
    data.close()
    if beside == "whole-grid":
        with zipfile.ZipFile(other) as archive:
            parts = {info.filename: archive.read(info) for info in archive.infolist()}
        parts["xl/worksheets/sheet1.xml"] = re.sub(
            rb'<dimension ref="[^"]*"/>',
            b'<dimension ref="A1:XFD1048576"/>',
            parts["xl/worksheets/sheet1.xml"],
        )
        with zipfile.ZipFile(other, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, part in parts.items():
                archive.writestr(name, part)
    with open_package(other) as package:
        path.write_bytes(graft(package, path.read_bytes()))
    other.unlink()
    return path


@dataclass
class Phase:
    """One phase's cost."""

    case: str
    phase: str
    seconds: float
    #: Python heap peak during the phase (tracemalloc), in MB.
    python_peak_mb: float
    #: Peak resident set of the process so far, in MB (None where not measurable).
    process_peak_mb: float | None
    detail: str = ""


def _rss_mb() -> float | None:
    """Return the peak resident set of this process so far (MB), where it can be known."""
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak / MEGABYTE if sys.platform == "darwin" else peak / 1024


def _python_peak_mb(work: Callable[[], object]) -> float:
    """Return the Python heap peak (MB) while doing work, measured with tracemalloc."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / MEGABYTE
    finally:
        tracemalloc.stop()


def run_case(name: str, time_limit: float, folder: Path) -> list[Phase]:
    """Return the phases of one case, run in this process."""
    sheets = CASES[name]()
    if name == "20-megabytes":
        path = excel_class_list(folder / f"{name}.xlsx", sheets)
    else:
        path = build_workbook(folder / f"{name}.xlsx", sheets, name if name in BESIDE else None)
    children = sum(row[1] for sheet in sheets.values() for row in sheet["grades"])
    size = path.stat().st_size
    settings = Settings(time_limit=time_limit)
    report = Report(file=path)

    def read() -> list[Scenario]:
        found = reader.read_workbook(path)
        report.notes = list(found.notes)
        scenarios = [item for item in found.items if isinstance(item, Scenario)]
        if len(scenarios) != len(found.items):
            raise SystemExit(f"{name}: a sheet did not read as a scenario: {found.items}")
        return scenarios

    scenarios: list[Scenario] = []

    def plan() -> None:
        report.results = [plan_scenario(scenario, settings) for scenario in scenarios]

    def write() -> None:
        save_atomically(path, report, path)

    timed: list[tuple[str, float, float | None]] = []
    for phase, work in (("read", read), ("plan", plan), ("write", write)):
        started = time.perf_counter()
        outcome = work()
        timed.append((phase, time.perf_counter() - started, _rss_mb()))
        if phase == "read":
            scenarios = outcome  # type: ignore[assignment]

    statuses = Counter(r.status.value for r in report.results)
    details = {
        "read": f"{len(scenarios)} scenarios, {children:,} children, {size:,} bytes",
        "plan": ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
        + f"; slowest {max(r.seconds for r in report.results):.2f} s",
        "write": f"{sum(len(o.classes) for r in report.results for o in r.options):,} "
        f"class rows, {path.stat().st_size:,} bytes written",
    }
    peaks = {phase: _python_peak_mb(work) for phase, work in (("read", read), ("plan", plan))}
    peaks["write"] = _python_peak_mb(write)
    return [
        Phase(name, phase, seconds, peaks[phase], rss, details[phase])
        for phase, seconds, rss in timed
    ]


def _in_fresh_process(name: str, time_limit: float) -> list[Phase]:
    """Return the phases of one case run in a new Python process (so its memory is its own)."""
    done = subprocess.run(
        [sys.executable, __file__, "--case", name, "--time-limit", str(time_limit)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    return [Phase(**row) for row in json.loads(done.stdout.splitlines()[-1])]


def _number(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def table(phases: list[Phase], markdown: bool) -> list[str]:
    """Return the phases as a text (or Markdown) table."""
    headers = ["case", "phase", "seconds", "Python peak MB", "process peak RSS MB", "detail"]
    rows = [
        [p.case, p.phase, f"{p.seconds:.2f}", _number(p.python_peak_mb, 1),
         _number(p.process_peak_mb), p.detail]
        for p in phases
    ]  # fmt: skip
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        return lines + ["| " + " | ".join(row) + " |" for row in rows]
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [headers, *rows]
    ]


def main(argv: list[str] | None = None) -> int:
    """Run every case (or one) and print the table; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=2.0, help="seconds per scenario")
    parser.add_argument("--only", choices=list(CASES), help="run only this case")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--case", choices=list(CASES), help=argparse.SUPPRESS)  # a child's job
    args = parser.parse_args(argv)
    if args.case:
        with tempfile.TemporaryDirectory() as folder:
            phases = run_case(args.case, args.time_limit, Path(folder))
        print(json.dumps([asdict(p) for p in phases]))
        return 0
    started = time.perf_counter()
    phases = []
    for name in [args.only] if args.only else list(CASES):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        phases += _in_fresh_process(name, args.time_limit)
    print("\n".join(table(phases, args.markdown)))
    print(
        f"\n--time-limit {args.time_limit:g} s per scenario; Python {sys.version.split()[0]} "
        f"on {sys.platform}; wall time {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
