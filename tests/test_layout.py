"""The package's layout holds: imports flow one way, and each library lives in one part.

    cli, watch  ->  workbook  ->  excel/, planner/, report_json  ->  model, words, errors, files

A module imports only from its own part or the parts below it; the excel side and the planner
never import each other. Read from the source with ast, so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "crunch_xl"

#: Each part and the parts below it that it may import from (its own part always).
PARTS: dict[str, set[str]] = {
    "basics": set(),
    "excel": {"basics"},
    "planner": {"basics"},
    "report_json": {"basics"},
    "workbook": {"basics", "excel", "planner", "report_json"},
    "faces": {"basics", "excel", "planner", "report_json", "workbook"},
}
BASICS = {"model", "words", "errors", "files"}
FACES = {"cli", "watch", "__main__"}
#: Where each library that crunch-xl depends on may be imported.
LIBRARIES = {
    "pandas": {"excel"},
    "openpyxl": {"excel"},
    "defusedxml": {"excel"},
    "pulp": {"planner"},
    "highspy": {"planner"},
    "numpy": {"planner"},
    "typer": {"faces"},
    "rich": {"faces"},
    "watchdog": {"faces"},
}


def part_of(module: str) -> str:
    """Return the part a module of crunch_xl belongs to, e.g. ``excel`` for crunch_xl.excel.x."""
    first = module.split(".")[1] if "." in module else ""
    if first in ("excel", "planner", "report_json", "workbook"):
        return first
    if first in FACES:
        return "faces"
    if first in BASICS:
        return "basics"
    raise AssertionError(f"{module} belongs to no part: add it to test_layout.py")


def modules() -> dict[str, ast.Module]:
    """Return the parsed source of every module but the package's own __init__."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name != "crunch_xl":
            found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def imported(tree: ast.Module) -> set[str]:
    """Return every module the source imports (``from crunch_xl import words``: its module)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, "crunch_xl imports by absolute names"
            names.add(node.module or "")
            if node.module == "crunch_xl":
                names.update(
                    f"crunch_xl.{alias.name}"
                    for alias in node.names
                    if (PACKAGE / f"{alias.name}.py").exists() or (PACKAGE / alias.name).is_dir()
                )
    return names


def test_imports_flow_one_way() -> None:
    wrong = []
    for module, tree in modules().items():
        part = part_of(module)
        for name in imported(tree):
            if name == "crunch_xl" or not name.startswith("crunch_xl."):
                continue
            target = part_of(name)
            if target != part and target not in PARTS[part]:
                wrong.append(f"{module} imports {name} ({part} -> {target})")
    assert wrong == []


def test_each_library_lives_in_one_part() -> None:
    wrong = []
    for module, tree in modules().items():
        part = part_of(module)
        for name in imported(tree):
            library = name.split(".")[0]
            if library in LIBRARIES and part not in LIBRARIES[library]:
                wrong.append(f"{module} imports {library}")
    assert wrong == []
