"""What headroom and estimates add to planning a primary school (3 alternatives).

Usage (from the repository root):

    python benchmarks/estimates.py [--quick] [--markdown]

Every solvable primary-school scenario of the suite (families up to seven grades, at T and
T+1 teachers, under every priority) is planned twice, side by side:

- *plain*: as the sheet gives it, no estimates. Every option's headroom is computed as always;
  its time is measured on its own, so *without* is the planning the school waits for minus it;
- *estimates*: the same scenario with a range on every grade, Kindergarten (the first grade)
  10% either side of its number and every other grade 4%, rounded up: the planner also
  proves which options cover the range, looks for the best structure that does, and says
  which estimate is out of reach when none does.

The added share is (estimates - without) / without per family, in total. Target: at most 50%
on every family. Exit status 0 when every family meets it.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import crunch_xl.planner as planner
from benchmarks.run_planner import aligned
from benchmarks.suite import PRIMARY_FAMILIES, Case, suite
from crunch_xl.model import Result, Scenario

#: Most headroom and estimates may add to a family's planning time, as a share of it.
ADDED_AT_MOST = 0.5
#: The range put on each grade: Kindergarten's, then every other grade's, as shares.
FIRST_GRADE_RANGE = 0.10
OTHER_GRADES_RANGE = 0.04


def with_estimates(scenario: Scenario) -> Scenario:
    """Return the scenario with a low and high estimate on every grade."""
    grades = []
    for number, grade in enumerate(scenario.grades):
        share = FIRST_GRADE_RANGE if number == 0 else OTHER_GRADES_RANGE
        step = max(1, math.ceil(grade.children * share))
        grades.append(
            replace(
                grade,
                low_estimate=max(0, grade.children - step),
                high_estimate=grade.children + step,
            )
        )
    return replace(scenario, grades=tuple(grades))


class _Clock:
    """Seconds spent in one function, summed over its calls."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.seconds = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


@dataclass
class Row:
    """One scenario planned plain and with estimates."""

    case: Case
    plain: float
    headroom: float
    estimates: float
    result: Result

    @property
    def without(self) -> float:
        """Return the plain planning time without headroom."""
        return self.plain - self.headroom

    @property
    def outcome(self) -> str:
        """Return what the estimates did: option 1 covers, an option covers, or none can."""
        if self.result.estimates_message:
            return "out of reach"
        if self.result.options and self.result.options[0].covers_estimates:
            return "option 1 covers"
        return "another covers"


def run(case: Case, clock: _Clock) -> Row:
    """Plan one case plain, then with estimates, timing each and headroom within the first."""
    scenario = replace(case.scenario, alternatives=3)
    clock.seconds = 0.0
    started = time.perf_counter()
    planner.plan(scenario)
    plain = time.perf_counter() - started
    headroom = clock.seconds
    started = time.perf_counter()
    result = planner.plan(with_estimates(scenario))
    return Row(case, plain, headroom, time.perf_counter() - started, result)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 when every family meets the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first school of each family")
    parser.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    args = parser.parse_args(argv)

    clock = _Clock(planner.headroom)
    # Measuring only: plan() calls headroom through its module, so the clock sees every call.
    planner.headroom = clock  # type: ignore[attr-defined]
    cases = [
        case
        for case in suite(quick=args.quick)
        if case.family in PRIMARY_FAMILIES and case.feasible
    ]
    rows = []
    for case in cases:
        row = run(case, clock)
        rows.append(row)
        print(
            f"  {case.name:32} without {row.without:6.3f} s  headroom {row.headroom:6.3f} s  "
            f"estimates {row.estimates:6.3f} s  {row.outcome}",
            flush=True,
        )
    header = ["family", "scenarios", "without s", "headroom s", "estimates s", "added"]
    header += ["option 1 covers", "another covers", "out of reach"]
    body = []
    verdicts = []
    for family in PRIMARY_FAMILIES:
        own = [row for row in rows if row.case.family == family]
        if not own:
            continue
        without = sum(row.without for row in own)
        added = (sum(row.estimates for row in own) - without) / without
        outcomes = [row.outcome for row in own]
        body.append(
            [
                family,
                str(len(own)),
                f"{without:.2f}",
                f"{sum(row.headroom for row in own):.2f}",
                f"{sum(row.estimates for row in own):.2f}",
                f"{added:+.0%}",
                *(
                    str(outcomes.count(name))
                    for name in ("option 1 covers", "another covers", "out of reach")
                ),
            ]
        )
        verdict = "PASS" if added <= ADDED_AT_MOST else "FAIL"
        verdicts.append(verdict)
        print(f"{verdict} {family}: headroom and estimates add {added:.0%} (target ≤ 50%)")
    print()
    print("\n".join(aligned(header, body, args.markdown)))
    shares = [(row.estimates - row.without) / row.without for row in rows]
    worst = max(rows, key=lambda row: row.estimates - row.without)
    print()
    print(f"median added per scenario: {statistics.median(shares):+.0%}")
    print(
        f"most added: {worst.case.name}, {worst.without:.3f} s -> {worst.estimates:.3f} s "
        f"({worst.outcome})"
    )
    return 0 if all(verdict == "PASS" for verdict in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
