"""Build real scenario workbooks for tests, laid out exactly like the template (a helper module).

    from workbooks import make_workbook
    path = make_workbook(tmp_path / "plan.xlsx", {
        "Plan A": {"teachers": 3, "grades": [("K", 40, 15, 22), ("1", 22, 15, 24)],
                   "composites": [("K/1",)]},
        "Plan B": scenario,          # a model.Scenario works too
    })

A sheet's dict holds the keyword arguments of ``write_scenario_sheet``. Values are written as
given (None leaves the cell blank), so a test can put text, dates, formulas ("=1+1") or junk
in any input cell; ``write_scenario_sheet`` returns the layout, whose ``setting_cell`` /
``grade_cell`` / ``composite_cell`` name the cell a value went to.

``python tests/workbooks.py`` regenerates samples/lakeside-primary.xlsx and the template.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from crunch_xl.excel.template import SheetLayout, fill_instructions_sheet, fill_scenario_sheet
from crunch_xl.model import Priority, Scenario

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "lakeside-primary.xlsx"
TEMPLATE = ROOT / "templates" / "crunch-xl-template.xlsx"

__all__ = [
    "LAKESIDE",
    "SAMPLE",
    "TEMPLATE",
    "lakeside_workbook",
    "make_workbook",
    "scenario_sheet",
    "write_scenario_sheet",
]


def write_scenario_sheet(
    ws: Worksheet,
    *,
    teachers: object = None,
    grades: Sequence[Sequence[object]] = (),
    composites: Sequence[Sequence[object]] = (),
    use_every_teacher: object = None,
    composite_minimum: object = None,
    alternatives: object = None,
    priority: object = None,
    title: str = "Class plan scenario",
) -> SheetLayout:
    """Return the layout after writing a scenario sheet into ``ws`` like the template's.

    ``grades`` rows are (Grade, Children, Smallest class, Largest class[, Fewest, Most[, Low
    estimate, High estimate]]);
    ``composites`` rows are (Composite[, Smallest, Largest, Fewest, Most]). A bool for
    ``use_every_teacher`` becomes Yes/No and a Priority its words; everything else is
    written as given.
    """
    return fill_scenario_sheet(
        ws,
        title=title,
        teachers=teachers,
        use_every_teacher=use_every_teacher,
        composite_minimum=composite_minimum,
        alternatives=alternatives,
        priority=priority,
        grades=grades,
        composites=composites,
    )


def scenario_sheet(scenario: Scenario) -> dict[str, Any]:
    """Return the ``write_scenario_sheet`` arguments that describe ``scenario`` exactly."""
    return {
        "teachers": scenario.teachers,
        "use_every_teacher": scenario.use_every_teacher,
        "composite_minimum": scenario.composite_minimum,
        "alternatives": scenario.alternatives,
        "priority": scenario.priority,
        "grades": [
            (
                g.label,
                g.children,
                g.smallest,
                g.largest,
                g.fewest_classes,
                g.most_classes,
                g.low_estimate,
                g.high_estimate,
            )
            for g in scenario.grades
        ],
        "composites": [
            (c.name, c.smallest, c.largest, c.fewest_classes, c.most_classes)
            for c in scenario.composites
        ],
    }


def make_workbook(
    path: Path,
    sheets: Mapping[str, Mapping[str, Any] | Scenario],
    *,
    instructions: bool = False,
) -> Path:
    """Return ``path`` after saving a workbook with one scenario sheet per entry, in order.

    ``instructions`` adds the template's Instructions sheet first, as a real user's has.
    """
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    workbook.remove(first)
    if instructions:
        fill_instructions_sheet(workbook.create_sheet("Instructions"))
    for name, sheet in sheets.items():
        arguments = scenario_sheet(sheet) if isinstance(sheet, Scenario) else dict(sheet)
        write_scenario_sheet(workbook.create_sheet(name), **arguments)
    # Fixed, so a regenerated sample differs from the committed one only where content does.
    workbook.properties.creator = "crunch-xl"
    workbook.properties.created = datetime.datetime(2024, 1, 1)
    workbook.save(path)
    return path


# Lakeside Primary: 450 children in K-6. With 21 teachers every grade gets three straight
# classes (the fewest its largest class allows, 3 x 7 = 21), so no composite is needed. With
# 20 teachers one pair of grades must share a composite: 3+4, 4+5 and 5+6 each fit in five
# classes instead of six (131 <= 5 x 27, 128 <= 5 x 27, 127 <= 5 x 30). With 18 teachers and
# every class capped at 24, 18 x 24 = 432 seats cannot hold 450 children. The 20-teacher
# sheet is unsure of Kindergarten (58-66): its best plan's three K classes of at most 22 hold
# any number in that range, while a plan with four K classes of at least 15 cannot go below 60.
_LAKESIDE_GRADES = [
    ("K", 62, 15, 22),
    ("1", 66, 15, 24),
    ("2", 64, 15, 24),
    ("3", 68, 18, 27),
    ("4", 63, 18, 27),
    ("5", 65, 18, 30),
    ("6", 62, 18, 30),
]
_LAKESIDE_COMPOSITES = [("K/1",), ("1/2",), ("2/3",), ("3/4",), ("4/5",), ("5/6",)]
LAKESIDE: dict[str, dict[str, Any]] = {
    "21 teachers": {
        "title": "Lakeside Primary: the 21 teachers we have",
        "teachers": 21,
        "use_every_teacher": "Yes",
        "composite_minimum": 6,
        "alternatives": 3,
        "priority": Priority.FEWEST_COMPOSITES,
        "grades": _LAKESIDE_GRADES,
        "composites": _LAKESIDE_COMPOSITES,
    },
    "20 teachers": {
        "title": "Lakeside Primary: one teacher fewer",
        "teachers": 20,
        "use_every_teacher": "Yes",
        "composite_minimum": 6,
        "alternatives": 4,
        "priority": Priority.FEWEST_COMPOSITES,
        "grades": [("K", 62, 15, 22, None, None, 58, 66), *_LAKESIDE_GRADES[1:]],
        "composites": _LAKESIDE_COMPOSITES,
    },
    "18 teachers, classes of 24": {
        "title": "Lakeside Primary: 18 teachers, no class above 24",
        "teachers": 18,
        "use_every_teacher": "No",
        "composite_minimum": 6,
        "alternatives": 3,
        "priority": Priority.SMALLEST_CLASSES,
        "grades": [
            (label, children, smallest, 24) for label, children, smallest, _ in _LAKESIDE_GRADES
        ],
        "composites": _LAKESIDE_COMPOSITES,
    },
}


def lakeside_workbook(path: Path) -> Path:
    """Return ``path`` after writing the Lakeside Primary sample (instructions + 3 scenarios)."""
    return make_workbook(path, LAKESIDE, instructions=True)


if __name__ == "__main__":
    from crunch_xl.excel.template import write_template

    lakeside_workbook(SAMPLE)
    write_template(TEMPLATE)
    sys.stdout.write(f"wrote {SAMPLE}\nwrote {TEMPLATE}\n")
