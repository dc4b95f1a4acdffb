"""Run the planner and the Class Cruncher baseline side by side on the generated suite.

Usage (from the repository root):

    python benchmarks/run_planner.py [--quick] [--solver cbc|highs] [--alternatives 3]

Prints one row per scenario, then totals, the speed targets and the correctness checks as
PASS/FAIL lines. Exit status 0 when every line passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository root importable so `benchmarks` is a package.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.baseline import BaselineResult, baseline
from benchmarks.checks import ranking_key, rule_breaks
from benchmarks.suite import Case, suite
from crunch_xl.model import Option, Result, Status
from crunch_xl.planner import plan

#: Speed targets of the planner (seconds) and its advantage over the baseline (total time).
MEDIAN_TARGET = 0.2
EACH_TARGET = 2.0
SPEEDUP_TARGET = 20.0


@dataclass
class Row:
    """Both methods' outcome on one case, and anything wrong the checks found."""

    case: Case
    planner: Result | None
    planner_seconds: float
    baseline: BaselineResult
    problems: list[str] = field(default_factory=list)

    @property
    def planner_status(self) -> str:
        """Return the planner's status, or ``error`` when it raised."""
        return "error" if self.planner is None else self.planner.status.value

    @property
    def first(self) -> Option | None:
        """Return the planner's option 1 (None when there is none)."""
        return self.planner.options[0] if self.planner and self.planner.options else None


def _measures(option: Option | None) -> str:
    """Return composites/largest/spread of an option, or a dash."""
    if option is None:
        return "-"
    return f"{option.composites}/{option.largest}/{option.spread}"


def correctness(row: Row) -> list[str]:
    """Return every way the planner's answer is wrong or worse than the baseline's."""
    case, result = row.case, row.planner
    scenario = case.scenario
    problems: list[str] = []
    if result is None:
        return ["planner raised an exception"]
    for option in result.options:
        for broken in rule_breaks(scenario, option):
            problems.append(f"planner option {option.rank} breaks a rule: {broken}")
    for option in row.baseline.options:
        for broken in rule_breaks(scenario, option):
            problems.append(f"baseline option {option.rank} breaks a rule: {broken}")
    if result.status is Status.INFEASIBLE and (case.feasible or row.baseline.options):
        problems.append("planner says infeasible, but an allocation exists")
    if result.status is Status.SOLVED and not case.feasible:
        problems.append("planner solved a scenario the counting model proves infeasible")
    structures = [tuple(sorted(option.structure.items())) for option in result.options]
    if len(set(structures)) != len(structures):
        problems.append("planner options repeat a structure")
    first = row.first
    if first is None:
        return problems
    key = ranking_key(first, scenario.priority)
    for option in result.options[1:]:
        if ranking_key(option, scenario.priority) < key:
            problems.append(f"planner option {option.rank} ranks above option 1")
    for option in row.baseline.options:
        if ranking_key(option, scenario.priority) < key:
            problems.append(
                f"baseline option {option.rank} ({_measures(option)}, range {option.range}) "
                f"beats planner option 1 ({_measures(first)}, range {first.range}) "
                f"under {scenario.priority.value!r}"
            )
    return problems


def run_case(
    case: Case,
    *,
    alternatives: int,
    time_limit: float,
    solver: str,
    baseline_time_limit: float,
    baseline_budget: float,
) -> Row:
    """Return both methods' outcome on one case, timed with perf_counter, and its problems."""
    scenario = replace(case.scenario, alternatives=alternatives)
    started = time.perf_counter()
    result: Result | None
    try:
        result = plan(scenario, time_limit=time_limit, solver=solver)
    except Exception:  # the benchmark reports a crash and carries on
        traceback.print_exc()
        result = None
    planner_seconds = time.perf_counter() - started
    answer = baseline(scenario, time_limit=baseline_time_limit, budget=baseline_budget)
    row = Row(case, result, planner_seconds, answer)
    row.problems = correctness(row)
    return row


def _table(rows: list[Row], markdown: bool) -> list[str]:
    """Return the per-scenario table as lines (aligned text, or a Markdown table)."""
    header = [
        "scenario",
        "children",
        "teachers",
        "planner",
        "s",
        "proven",
        "c/L/spread",
        "baseline",
        "s",
        "c/L/spread",
        "note",
    ]
    body = []
    for row in rows:
        scenario = row.case.scenario
        teachers = f"{scenario.teachers}{'' if scenario.use_every_teacher else '≤'}"
        proven = "-" if row.first is None else ("yes" if row.first.proven else "NO")
        base = row.baseline
        note = []
        if base.timed_out:
            note.append(f"baseline hit limit {base.timed_out}/{base.solves}")
        if base.skipped:
            note.append(f"{base.skipped} kinds skipped")
        if row.problems:
            note.append("VIOLATION")
        body.append(
            [
                row.case.name,
                str(scenario.children),
                teachers,
                row.planner_status,
                f"{row.planner_seconds:.3f}",
                proven,
                _measures(row.first),
                base.status.value,
                f"{base.seconds:.2f}",
                _measures(base.options[0] if base.options else None),
                "; ".join(note),
            ]
        )
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return lines + ["| " + " | ".join(cells) + " |" for cells in body]
    widths = [max(len(r[n]) for r in [header, *body]) for n in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
        for cells in [header, *body]
    ]


def _verdict(ok: bool, text: str) -> str:
    """Return one PASS/FAIL line."""
    return f"{'PASS' if ok else 'FAIL'}  {text}"


def summary(rows: list[Row]) -> tuple[list[str], bool]:
    """Return the totals, target checks and correctness lines, and whether all passed."""
    planner_times = [row.planner_seconds for row in rows]
    baseline_times = [row.baseline.seconds for row in rows]
    planner_total, baseline_total = sum(planner_times), sum(baseline_times)
    slowest = max(rows, key=lambda row: row.planner_seconds)
    slowest_baseline = max(rows, key=lambda row: row.baseline.seconds)
    median = statistics.median(planner_times)
    ratio = baseline_total / planner_total if planner_total > 0 else float("inf")
    stopped = sum(row.baseline.timed_out for row in rows)
    skipped = sum(row.baseline.skipped for row in rows)
    # The baseline's limits only ever shorten it, so its total, and the ratio, are then
    # lower bounds on what the method itself needs (see benchmarks/README.md).
    cut = [f"{stopped} of its solves stopped by the time limit"] if stopped else []
    cut += [f"{skipped} alternatives skipped by its budget"] if skipped else []
    bound = f"; a lower bound, the baseline cut short: {', '.join(cut)}" if cut else ""
    lines = [
        f"scenarios: {len(rows)}",
        f"planner : total {planner_total:.2f} s, median {median:.3f} s, "
        f"max {slowest.planner_seconds:.3f} s ({slowest.case.name})",
        f"baseline: total {baseline_total:.2f} s, median {statistics.median(baseline_times):.3f}"
        f" s, max {slowest_baseline.baseline.seconds:.2f} s ({slowest_baseline.case.name}); "
        f"{stopped} solves stopped by the time limit, {skipped} alternatives skipped by the "
        "budget",
        f"total ratio baseline/planner: {ratio:.1f}x",
    ]
    for family in dict.fromkeys(row.case.family for row in rows):
        mine = [row for row in rows if row.case.family == family]
        lines.append(
            f"  {family:7} planner {sum(r.planner_seconds for r in mine):8.2f} s   "
            f"baseline {sum(r.baseline.seconds for r in mine):8.2f} s"
        )
    slow = [row.case.name for row in rows if row.planner_seconds >= EACH_TARGET]
    unproven = [
        row.case.name
        for row in rows
        if row.planner is not None
        and row.planner.options
        and row.case.feasible
        and not row.planner.options[0].proven
    ]
    unsolved = [
        f"{row.case.name} ({row.planner_status})"
        for row in rows
        if row.case.feasible and row.planner_status != Status.SOLVED.value
    ]
    violations = [f"{row.case.name}: {problem}" for row in rows for problem in row.problems]
    checks = [
        (median < MEDIAN_TARGET, f"median planner time {median:.3f} s < {MEDIAN_TARGET} s"),
        (
            not slow,
            f"every scenario < {EACH_TARGET} s" + (f" (slower: {', '.join(slow)})" if slow else ""),
        ),
        (
            ratio >= SPEEDUP_TARGET,
            f">= {SPEEDUP_TARGET:.0f}x faster in total ({ratio:.1f}x{bound})",
        ),
        (
            not unproven and not unsolved,
            "option 1 proven in every solvable scenario"
            + (f" (not proven: {', '.join(unproven)})" if unproven else "")
            + (f" (not solved: {', '.join(unsolved)})" if unsolved else ""),
        ),
        (
            not violations,
            "correctness: every option obeys the rules, infeasible only when it is, and option 1"
            " is never worse than any baseline answer",
        ),
    ]
    lines.append("")
    lines.extend(_verdict(ok, text) for ok, text in checks)
    if violations:
        lines.append("")
        lines.append(f"!!! {len(violations)} CORRECTNESS VIOLATION(S) !!!")
        lines.extend(f"!!! {violation}" for violation in violations)
    return lines, all(ok for ok, _ in checks)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status (0 when every check passes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one school per family (15 cases)")
    parser.add_argument("--solver", choices=["cbc", "highs"], default="cbc", help="planner's")
    parser.add_argument("--alternatives", type=int, default=3, help="options asked of planner")
    parser.add_argument("--time-limit", type=float, default=30.0, help="planner, per scenario")
    # The method itself has no time limits; these only keep a run within about 20 minutes.
    # With 10 s and 60 s (a 5-minute run) the baseline's total fell 5-7 times short of what
    # it needs (benchmarks/README.md), too far to show the 20x target either way.
    parser.add_argument(
        "--baseline-time-limit", type=float, default=60.0, help="baseline, per solver run"
    )
    parser.add_argument(
        "--baseline-budget",
        type=float,
        default=120.0,
        help="baseline, per scenario: no further alternatives are tried after this",
    )
    parser.add_argument("--only", default="", help="run only scenarios whose name contains this")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    cases = [case for case in suite(quick=args.quick) if args.only in case.name]
    print(f"{len(cases)} scenarios generated in {time.perf_counter() - started:.1f} s", flush=True)
    rows = []
    for case in cases:
        row = run_case(
            case,
            alternatives=args.alternatives,
            time_limit=args.time_limit,
            solver=args.solver,
            baseline_time_limit=args.baseline_time_limit,
            baseline_budget=args.baseline_budget,
        )
        rows.append(row)
        print(
            f"  {case.name:14} planner {row.planner_status:10} {row.planner_seconds:7.3f} s"
            f"   baseline {row.baseline.status.value:10} {row.baseline.seconds:7.2f} s"
            + ("   VIOLATION" if row.problems else ""),
            flush=True,
        )
    if not rows:
        print("no scenario matches")
        return 1
    print()
    print("\n".join(_table(rows, args.markdown)))
    print()
    lines, passed = summary(rows)
    print("\n".join(lines))
    print(f"\nwall time {time.perf_counter() - started:.1f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
