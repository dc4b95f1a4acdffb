"""crunch-xl: plan a primary school's classes from an Excel workbook.

    from pathlib import Path
    import crunch_xl

    report = crunch_xl.plan_workbook(Path("plan.xlsx"))    # read and plan; writes nothing
    report = crunch_xl.process_workbook(Path("plan.xlsx")) # ... and write the result sheets

Every name loads on first use: what plans, reads and writes brings the solver, pandas and
openpyxl with it, and a program that only needs the data classes should not wait for those.
"""

from __future__ import annotations

import importlib

#: typing.TYPE_CHECKING without importing typing (a few milliseconds); mypy knows the name.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from crunch_xl.errors import CrunchError, InputError, NotWritten, Problem, WorkbookError
    from crunch_xl.excel.reader import read_workbook
    from crunch_xl.excel.template import write_template
    from crunch_xl.model import (
        Composite,
        Grade,
        Option,
        Priority,
        Repair,
        Report,
        Result,
        Room,
        Scenario,
        SchoolClass,
        Status,
        Suggestion,
    )
    from crunch_xl.planner import plan
    from crunch_xl.report_json import report_json
    from crunch_xl.workbook import Settings, plan_scenario, plan_workbook, process_workbook

__version__ = "0.1.0"

#: The public API by the module it lives in; each module loads on first use.
_MODULES = {
    "crunch_xl.errors": ("CrunchError", "InputError", "NotWritten", "Problem", "WorkbookError"),
    "crunch_xl.model": (
        "Composite", "Grade", "Option", "Priority", "Repair", "Report", "Result", "Room",
        "Scenario", "SchoolClass", "Status", "Suggestion",
    ),
    "crunch_xl.planner": ("plan",),
    "crunch_xl.workbook": ("Settings", "plan_scenario", "plan_workbook", "process_workbook"),
    "crunch_xl.excel.reader": ("read_workbook",),
    "crunch_xl.excel.template": ("write_template",),
    "crunch_xl.report_json": ("report_json",),
}  # fmt: skip
_ON_FIRST_USE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "Composite",
    "CrunchError",
    "Grade",
    "InputError",
    "NotWritten",
    "Option",
    "Priority",
    "Problem",
    "Repair",
    "Report",
    "Result",
    "Room",
    "Scenario",
    "SchoolClass",
    "Settings",
    "Status",
    "Suggestion",
    "WorkbookError",
    "__version__",
    "plan",
    "plan_scenario",
    "plan_workbook",
    "process_workbook",
    "read_workbook",
    "report_json",
    "write_template",
]


def __getattr__(name: str) -> object:
    """Return a part of the public API that loads on first use (PEP 562)."""
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'crunch_xl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
