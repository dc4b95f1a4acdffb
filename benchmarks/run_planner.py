"""Time the planner against an independent CP-SAT reference and the Class Cruncher baseline.

Usage (from the repository root, after `pip install -e ".[benchmark]"`):

    python benchmarks/run_planner.py [--quick] [--solver highs|cbc] [--no-baseline]

Every scenario of the suite is planned as the command plans it: 3 alternatives, the
explanation of an impossible scenario included, timed from the call to the answer. Prints one
row per scenario, a table per family, then the targets and the correctness checks as PASS/FAIL
lines. Exit status 0 when every line passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):
    # Run as a script: make the repository root importable so `benchmarks` is a package.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.baseline import BaselineResult, baseline
from benchmarks.checks import RANKINGS, measures, ranking_key, rule_breaks
from benchmarks.suite import PRIMARY_FAMILIES, Case, suite
from crunch_xl.model import Option, Result, Status
from crunch_xl.planner import DEFAULT_SOLVER, SOLVERS, plan

if TYPE_CHECKING:  # OR-Tools is a benchmark-only extra, imported only when it runs
    from benchmarks.cpsat import ReferenceResult

#: Targets per scenario (seconds): a primary school (up to seven grades), the median of
#: the primary schools' scenarios, and a 13-grade school.
PRIMARY_EACH = 0.5
PRIMARY_MEDIAN = 0.1
K12_EACH = 3.0


@dataclass
class Row:
    """The three methods' outcome on one case, and anything wrong the checks found."""

    case: Case
    planner: Result | None
    planner_seconds: float
    baseline: BaselineResult | None = None
    reference: ReferenceResult | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def planner_status(self) -> str:
        """Return the planner's status, or ``error`` when it raised."""
        return "error" if self.planner is None else self.planner.status.value

    @property
    def first(self) -> Option | None:
        """Return the planner's option 1 (None when there is none)."""
        return self.planner.options[0] if self.planner and self.planner.options else None


def _measures(row: Row, option: Option | None) -> str:
    """Return an option's values of the ranking's measures, e.g. ``0/2/1/24``, or a dash."""
    if option is None:
        return "-"
    values = measures(row.case.scenario, option)
    return "/".join(str(values[name]) for name, _ in RANKINGS[row.case.priority])


def correctness(row: Row) -> list[str]:
    """Return every way the planner's answer is wrong or worse than another method's."""
    case, result = row.case, row.planner
    scenario = case.scenario
    if result is None:
        return ["planner raised an exception"]
    problems: list[str] = []
    for option in result.options:
        for broken in rule_breaks(scenario, option):
            problems.append(f"planner option {option.rank} breaks a rule: {broken}")
    baseline_options = row.baseline.options if row.baseline else []
    for option in baseline_options:
        for broken in rule_breaks(scenario, option):
            problems.append(f"baseline option {option.rank} breaks a rule: {broken}")
    found_elsewhere = bool(baseline_options) or (
        row.reference is not None and row.reference.status == "solved"
    )
    if result.status is Status.INFEASIBLE and (case.feasible or found_elsewhere):
        problems.append("planner says infeasible, but an allocation exists")
    if result.status is Status.SOLVED and not case.feasible:
        problems.append("planner solved a scenario the counting model proves infeasible")
    if row.reference is not None and row.reference.status == "infeasible" and result.options:
        problems.append("planner found options where the reference proves there are none")
    structures = [tuple(sorted(option.structure.items())) for option in result.options]
    if len(set(structures)) != len(structures):
        problems.append("planner options repeat a structure")
    first = row.first
    if first is None:
        return problems
    key = ranking_key(scenario, first)
    for option in result.options[1:]:
        own = ranking_key(scenario, option)
        if own < key:
            problems.append(f"planner option {option.rank} ranks above option 1")
        if (own == key) != option.equally_good:
            problems.append(f"planner option {option.rank} is wrongly called equally good or not")
    for option in baseline_options:
        if ranking_key(scenario, option) < key:
            problems.append(
                f"baseline option {option.rank} ({_measures(row, option)}) beats planner "
                f"option 1 ({_measures(row, first)}) under {scenario.priority.value!r}"
            )
    if row.reference is not None and row.reference.options:
        values = row.reference.options[0]
        best = tuple(
            -values[name] if larger else values[name] for name, larger in RANKINGS[case.priority]
        )
        if best < key:
            problems.append(
                f"the reference's option 1 ({values}) beats planner option 1 "
                f"({_measures(row, first)}) under {scenario.priority.value!r}"
            )
    return problems


def run_case(
    case: Case,
    *,
    alternatives: int,
    time_limit: float,
    solver: str,
    reference: bool,
    baseline_answer: BaselineResult | None,
) -> Row:
    """Return the methods' outcome on one case, each timed with perf_counter, and its problems."""
    scenario = replace(case.scenario, alternatives=alternatives)
    started = time.perf_counter()
    result: Result | None
    try:
        result = plan(scenario, time_limit=time_limit, solver=solver)
    except Exception:  # the benchmark reports a crash and carries on
        traceback.print_exc()
        result = None
    row = Row(case, result, time.perf_counter() - started, baseline_answer)
    if reference:
        from benchmarks.cpsat import reference as cpsat_reference

        row.reference = cpsat_reference(scenario, alternatives=alternatives)
    row.problems = correctness(row)
    return row


def aligned(header: list[str], body: list[list[str]], markdown: bool) -> list[str]:
    """Return a table as lines: aligned text, or Markdown."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return lines + ["| " + " | ".join(cells) + " |" for cells in body]
    widths = [max(len(r[n]) for r in [header, *body]) for n in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
        for cells in [header, *body]
    ]


def _seconds(values: Iterable[float | None]) -> str:
    """Return a total of seconds, or a dash when a method did not run."""
    present = [value for value in values if value is not None]
    return f"{sum(present):.2f}" if present else "-"


def _reference_seconds(row: Row) -> float | None:
    return row.reference.seconds if row.reference else None


def _baseline_seconds(row: Row) -> float | None:
    return row.baseline.seconds if row.baseline else None


def scenario_table(rows: list[Row], markdown: bool = False) -> list[str]:
    """Return the per-scenario table as lines."""
    header = ["scenario", "children", "teachers", "crunch-xl", "s", "proven", "measures"]
    header += ["CP-SAT s", "baseline s", "note"]
    body = []
    for row in rows:
        scenario = row.case.scenario
        teachers = f"{scenario.teachers}{'' if scenario.use_every_teacher else '≤'}"
        proven = "-" if row.first is None else ("yes" if row.first.proven else "NO")
        note = []
        if row.baseline and row.baseline.timed_out:
            note.append(f"baseline hit its limit {row.baseline.timed_out}/{row.baseline.solves}")
        if row.reference and row.reference.status == "timeout":
            note.append("CP-SAT timed out")
        if row.problems:
            note.append("VIOLATION")
        reference, base = _reference_seconds(row), _baseline_seconds(row)
        body.append(
            [
                row.case.name,
                str(scenario.children),
                teachers,
                row.planner_status,
                f"{row.planner_seconds:.3f}",
                proven,
                _measures(row, row.first),
                "-" if reference is None else f"{reference:.3f}",
                "-" if base is None else f"{base:.2f}",
                "; ".join(note),
            ]
        )
    return aligned(header, body, markdown)


def family_table(rows: list[Row], markdown: bool = False) -> list[str]:
    """Return one line per family: crunch-xl's total, median and worst, against the others."""
    header = ["family", "scenarios", "crunch-xl s", "median", "worst", "CP-SAT s", "ratio"]
    header += ["baseline s", "ratio"]
    body = []
    for family in dict.fromkeys(row.case.family for row in rows):
        mine = [row for row in rows if row.case.family == family]
        times = [row.planner_seconds for row in mine]
        total = sum(times)
        cells = [family, str(len(mine)), f"{total:.2f}", f"{statistics.median(times):.3f}"]
        cells.append(f"{max(times):.3f}")
        for seconds in (_reference_seconds, _baseline_seconds):
            other = [seconds(row) for row in mine]
            cells.append(_seconds(other))
            known = [value for value in other if value is not None]
            cells.append(f"{sum(known) / total:.1f}x" if known and total > 0 else "-")
        body.append(cells)
    return aligned(header, body, markdown)


def _verdict(ok: bool, text: str) -> str:
    """Return one PASS/FAIL line."""
    return f"{'PASS' if ok else 'FAIL'}  {text}"


def _over(rows: list[Row], limit: float) -> str:
    """Return the scenarios slower than a limit, slowest first, for a FAIL line."""
    slow = sorted((row for row in rows if row.planner_seconds > limit), key=_by_time)
    if not slow:
        return ""
    shown = ", ".join(f"{row.case.name} {row.planner_seconds:.2f} s" for row in slow[:5])
    more = f" and {len(slow) - 5} more" if len(slow) > 5 else ""
    return f" (slower: {shown}{more})"


def _by_time(row: Row) -> float:
    return -row.planner_seconds


def summary(rows: list[Row]) -> tuple[list[str], bool]:
    """Return the target checks and correctness lines, and whether all passed."""
    primary = [row for row in rows if row.case.family in PRIMARY_FAMILIES]
    k12 = [row for row in rows if row.case.family not in PRIMARY_FAMILIES]
    checks: list[tuple[bool, str]] = []
    if primary:
        median = statistics.median(row.planner_seconds for row in primary)
        checks.append(
            (
                all(row.planner_seconds <= PRIMARY_EACH for row in primary),
                f"every primary-school scenario <= {PRIMARY_EACH} s{_over(primary, PRIMARY_EACH)}",
            )
        )
        checks.append(
            (
                median <= PRIMARY_MEDIAN,
                f"median primary-school scenario {median:.3f} s <= {PRIMARY_MEDIAN} s",
            )
        )
    if k12:
        checks.append(
            (
                all(row.planner_seconds <= K12_EACH for row in k12),
                f"every 13-grade scenario <= {K12_EACH} s{_over(k12, K12_EACH)}",
            )
        )
    slower = []
    for family in dict.fromkeys(row.case.family for row in rows):
        mine = [row for row in rows if row.case.family == family]
        if all(row.reference is not None for row in mine):
            ours = sum(row.planner_seconds for row in mine)
            theirs = sum(row.reference.seconds for row in mine if row.reference)
            if ours >= theirs:
                slower.append(f"{family} {ours:.2f} s against {theirs:.2f} s")
    if any(row.reference for row in rows):
        checks.append(
            (
                not slower,
                "faster in total than CP-SAT on every family"
                + (f" (not on: {'; '.join(slower)})" if slower else ""),
            )
        )
    unproven = [
        row.case.name
        for row in rows
        if row.first is not None and row.case.feasible and not row.first.proven
    ]
    unsolved = [
        f"{row.case.name} ({row.planner_status})"
        for row in rows
        if row.case.feasible and row.planner_status != Status.SOLVED.value
    ]
    checks.append(
        (
            not unproven and not unsolved,
            "option 1 proven in every solvable scenario"
            + (f" (not proven: {', '.join(unproven)})" if unproven else "")
            + (f" (not solved: {', '.join(unsolved)})" if unsolved else ""),
        )
    )
    violations = [f"{row.case.name}: {problem}" for row in rows for problem in row.problems]
    checks.append(
        (
            not violations,
            "correctness: every option obeys the rules, impossible only when it is, and option 1"
            " is never worse than a later option, a baseline answer or the reference's",
        )
    )
    lines = [_verdict(ok, text) for ok, text in checks]
    if violations:
        lines.append("")
        lines.append(f"!!! {len(violations)} CORRECTNESS VIOLATION(S) !!!")
        lines.extend(f"!!! {violation}" for violation in violations)
    return lines, all(ok for ok, _ in checks)


def _has_ortools() -> bool:
    try:
        import ortools  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status (0 when every check passes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first school of each family")
    parser.add_argument("--solver", choices=sorted(SOLVERS), default=DEFAULT_SOLVER)
    parser.add_argument("--alternatives", type=int, default=3, help="options asked")
    parser.add_argument("--time-limit", type=float, default=30.0, help="planner, per scenario")
    parser.add_argument("--no-reference", action="store_true", help="skip CP-SAT")
    parser.add_argument("--no-baseline", action="store_true", help="skip Class Cruncher's method")
    # The baseline's method has no time limits; these only keep a full run within the hour.
    # Its answers do not depend on the priority, so it runs once per school and teachers.
    parser.add_argument(
        "--baseline-time-limit", type=float, default=20.0, help="baseline, per solver run"
    )
    parser.add_argument(
        "--baseline-budget",
        type=float,
        default=40.0,
        help="baseline, per school and teachers: no further alternatives after this",
    )
    parser.add_argument("--only", default="", help="run only scenarios whose name contains this")
    parser.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    args = parser.parse_args(argv)

    reference = not args.no_reference and _has_ortools()
    if not args.no_reference and not reference:
        print('note: OR-Tools is not installed (pip install -e ".[benchmark]"): no reference')
    started = time.perf_counter()
    cases = [case for case in suite(quick=args.quick) if args.only in case.name]
    print(f"{len(cases)} scenarios generated in {time.perf_counter() - started:.1f} s", flush=True)
    answers: dict[tuple[str, str], BaselineResult] = {}
    rows = []
    for case in cases:
        answer = None
        if not args.no_baseline:
            key = (case.school, case.variant)
            if key not in answers:
                answers[key] = baseline(
                    case.scenario, time_limit=args.baseline_time_limit, budget=args.baseline_budget
                )
            answer = answers[key]
        row = run_case(
            case,
            alternatives=args.alternatives,
            time_limit=args.time_limit,
            solver=args.solver,
            reference=reference,
            baseline_answer=answer,
        )
        rows.append(row)
        print(
            f"  {case.name:32} {row.planner_status:10} {row.planner_seconds:7.3f} s"
            + ("   VIOLATION" if row.problems else ""),
            flush=True,
        )
    if not rows:
        print("no scenario matches")
        return 1
    print()
    print("\n".join(scenario_table(rows, args.markdown)))
    print()
    print("\n".join(family_table(rows, args.markdown)))
    print()
    lines, passed = summary(rows)
    print("\n".join(lines))
    print(f"\nwall time {time.perf_counter() - started:.1f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
