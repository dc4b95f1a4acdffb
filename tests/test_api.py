"""The public API: every name crunch_xl exports resolves, and importing it loads no library."""

from __future__ import annotations

import subprocess
import sys

import crunch_xl


def test_every_exported_name_resolves() -> None:
    for name in crunch_xl.__all__:
        assert getattr(crunch_xl, name) is not None, name
    assert crunch_xl.plan_workbook.__module__ == "crunch_xl.workbook"
    assert crunch_xl.Scenario.__module__ == "crunch_xl.model"


def test_importing_crunch_xl_loads_no_solver_pandas_or_openpyxl() -> None:
    heavy = ("pandas", "openpyxl", "pulp", "highspy", "watchdog", "typer", "rich")
    script = f"import sys, crunch_xl; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
