"""Results -> JSON for programs: SPEC section 3's objects, with a few keys beyond it.

Keys beyond the SPEC: report level ``output`` (where the results went, or null), ``notes``
and ``lost``; scenario level ``verdict`` (the one-line verdict of the sheets), ``warnings``
and, for an invalid sheet, ``problems`` (each wrong cell: ``sheet``, ``cell``, ``expected``,
``found``); option level ``smallest``, ``range``, ``proven``, ``equally_good``, ``reason`` and,
with estimates, ``best_covering``; suggestion level ``composites`` (the fewest composites any
plan needs after the change, or null). ``file`` is the workbook path as it was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crunch_xl import words
from crunch_xl.errors import Problem
from crunch_xl.model import Option, Report, Result, Status


def report_json(reports: Sequence[Report]) -> dict[str, Any] | list[dict[str, Any]]:
    """Return the JSON object for one report, or a list of them for several (see module)."""
    objects = [_report_object(report) for report in reports]
    if len(objects) == 1:
        return objects[0]
    return objects


def _report_object(report: Report) -> dict[str, Any]:
    """Return the JSON object for one report."""
    return {
        "file": str(report.file),
        "output": str(report.output) if report.output is not None else None,
        "scenarios": [_scenario_object(result) for result in report.results],
        "notes": list(report.notes),
        "lost": list(report.lost),
    }


def _scenario_object(result: Result) -> dict[str, Any]:
    """Return the JSON object for one scenario's result."""
    grades = result.grade_labels()
    scenario: dict[str, Any] = {
        "sheet": result.sheet,
        "status": result.status.value,
        "message": result.message,
        "seconds": round(result.seconds, 2),
        "verdict": words.verdict(result),
        "warnings": list(result.warnings),
        "options": [_option_object(option, grades) for option in result.options],
    }
    if result.problems:
        scenario["problems"] = [_problem_object(problem) for problem in result.problems]
    if result.status is Status.INFEASIBLE:
        scenario["suggestions"] = [
            {
                "text": s.text,
                "field": s.field.value,
                "target": s.target,
                "value": s.value,
                "composites": s.composites,
            }
            for s in result.suggestions
        ]
    if result.scenario is not None and result.scenario.has_estimates:
        scenario["estimates"] = {
            g.label: list(g.estimates) for g in result.scenario.grades if g.has_estimates
        }
        if result.estimates_message:
            scenario["estimates_message"] = result.estimates_message
    return scenario


def _option_object(option: Option, grades: Sequence[str]) -> dict[str, Any]:
    """Return the JSON object for one option, counts in teaching order, zero counts left out."""
    found: dict[str, Any] = {
        "rank": option.rank,
        "composites": option.composites,
        "spare": option.spare,
        "largest": option.largest,
        "smallest": option.smallest,
        "spread": option.spread,
        "range": option.range,
        "proven": option.proven,
        "equally_good": option.equally_good,
        "reason": option.reason,
        "headroom": {
            label: {"fewer": room.fewer, "more": room.more}
            for label, room in option.headroom.items()
        },
        "classes": [
            {
                "name": c.name,
                "counts": {
                    label: int(c.counts[label]) for label in grades if c.counts.get(label, 0)
                },
            }
            for c in option.classes
        ],
    }
    if option.covers_estimates is not None:
        found["covers_estimates"] = option.covers_estimates
        found["best_covering"] = option.best_covering
    return found


def _problem_object(problem: Problem) -> dict[str, Any]:
    """Return the JSON object for one wrong cell of an invalid sheet."""
    return {
        "sheet": problem.sheet,
        "cell": problem.cell,
        "expected": problem.expected,
        "found": problem.found,
    }
