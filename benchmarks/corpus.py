"""Write results into a corpus of real workbooks and check that nothing of the user's changed.

Usage (the workbooks are not part of the repository; give the folders that hold them):

    python benchmarks/corpus.py FOLDER [FOLDER ...] [--libreoffice] [--markdown]

Each folder is one group in the table (e.g. the test workbooks of one project). For every
``.xlsx``/``.xlsm`` file, a copy gets a scenario sheet grafted in (crunch-xl's graft, the sheet
unmarked), then ``process_workbook`` plans it and writes the results, twice. Counted:

- *refused*: not read, with the first words of the message (encrypted, not a workbook, ...);
- *in place* / *beside*: where the results went (beside: the note says why);
- *parts kept*: every part of the workbook byte for byte after both runs, except the workbook
  part, its relationships, the content types and the styles (and a selected sheet's
  ``tabSelected`` flag);
- *values kept*: every user sheet reads the same with calamine before and after (workbooks
  calamine cannot read are left out of this count);
- with ``--libreoffice``: *LibreOffice opened* (converted headless to .xlsx, which is also
  LibreOffice saving it again) and *re-run after LibreOffice* (crunch-xl run on the saved file
  keeps exactly one set of result sheets).
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import python_calamine
from openpyxl import Workbook

from crunch_xl.errors import CrunchError
from crunch_xl.excel.graft import graft
from crunch_xl.excel.package import open_package
from crunch_xl.excel.template import fill_scenario_sheet
from crunch_xl.workbook import Settings, process_workbook

GRAFTED = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/styles.xml"}
SCENARIO = {
    "teachers": 3,
    "grades": [("K", 40, 15, 22), ("1", 22, 15, 24)],
    "composites": [("K/1",)],
    "alternatives": 1,
}


@dataclass
class Group:
    """What happened to one folder's workbooks."""

    name: str
    workbooks: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    in_place: int = 0
    beside: Counter[str] = field(default_factory=Counter)
    parts_kept: int = 0
    parts_changed: list[str] = field(default_factory=list)
    values_kept: int = 0
    values_checked: int = 0
    libreoffice_opened: int = 0
    libreoffice_rerun: int = 0
    libreoffice_tried: int = 0
    failures: list[str] = field(default_factory=list)


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def changed_parts(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """Return the original parts that are gone or changed beyond what the graft may change."""
    changed = []
    for name, data in before.items():
        if name in GRAFTED or after.get(name) == data:
            continue
        if (
            name in after
            and re.sub(rb'\stabSelected="(?:1|true)"', b"", data, count=1) == after[name]
        ):
            continue
        changed.append(name)
    return changed


def values(path: Path) -> dict[str, object] | None:
    """Return the user sheets' values as calamine reads them (None if it cannot)."""
    try:
        with open_package(path) as package:
            names = [s.name for s in package.sheets if s.kind == "worksheet" and not s.is_result]
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        return {name: workbook.get_sheet_by_name(name).to_python() for name in names}
    except Exception:  # noqa: BLE001 - a second reader that fails is counted, not fatal
        return None


def with_scenario(source: Path, target: Path) -> None:
    """Write source with a scenario sheet grafted in (unmarked, so it is the user's)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "crunch-xl corpus plan"
    fill_scenario_sheet(sheet, title="Plan", **SCENARIO)  # type: ignore[arg-type]
    buffer = io.BytesIO()
    book.save(buffer)
    with open_package(source) as package:
        target.write_bytes(graft(package, buffer.getvalue()))


def run_group(folder: Path, work: Path, libreoffice: bool) -> Group:
    group = Group(folder.name)
    planned: list[Path] = []
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".xlsx", ".xlsm"))
    for number, source in enumerate(files):
        group.workbooks += 1
        target = work / f"{number:04d}{source.suffix.lower()}"
        try:
            with_scenario(source, target)
        except CrunchError as error:
            group.refused[_kind(str(error))] += 1
            continue
        except Exception as error:  # noqa: BLE001
            group.failures.append(f"{source.name}: adding the scenario: {error!r}"[:200])
            continue
        before, read_before = parts(target), values(target)
        try:
            for _ in range(2):
                report = process_workbook(target, settings=Settings(time_limit=5))
        except CrunchError as error:
            group.refused[_kind(str(error))] += 1
            continue
        except Exception as error:  # noqa: BLE001
            group.failures.append(f"{source.name}: {error!r}"[:200])
            continue
        if report.output != target:
            group.beside[_kind(report.notes[-1])] += 1
            continue
        group.in_place += 1
        changed = changed_parts(before, parts(target))
        if changed:
            group.parts_changed.append(f"{source.name}: {changed[:3]}")
        else:
            group.parts_kept += 1
        if read_before is not None:
            group.values_checked += 1
            group.values_kept += values(target) == read_before
        planned.append(target)
    if libreoffice and planned:
        _libreoffice(group, planned, work)
    return group


def _libreoffice(group: Group, planned: list[Path], work: Path) -> None:
    saved = work / "libreoffice"
    saved.mkdir(exist_ok=True)
    profile = (work / "profile").resolve().as_uri()
    for start in range(0, len(planned), 40):
        batch = planned[start : start + 40]
        subprocess.run(
            ["soffice", f"-env:UserInstallation={profile}", "--headless", "--norestore",
             "--convert-to", "xlsx", "--outdir", str(saved), *map(str, batch)],
            capture_output=True, timeout=900, check=False,
        )  # fmt: skip
    for path in planned:
        group.libreoffice_tried += 1
        again = saved / (path.stem + ".xlsx")
        if not again.exists():
            continue
        group.libreoffice_opened += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                process_workbook(again, settings=Settings(time_limit=5))
            with open_package(again) as package:
                marked = [sheet.name for sheet in package.sheets if sheet.is_result]
            group.libreoffice_rerun += len(marked) == 2
        except Exception as error:  # noqa: BLE001
            group.failures.append(f"{path.name} after LibreOffice: {error!r}"[:200])


def _kind(message: str) -> str:
    """Return the gist of a message: the words after the file's name, up to a punctuation."""
    text = re.sub(r"^\S+\.xls[xm]\S*\s*", "", message)
    return re.split(r"[;(.:]", text, maxsplit=1)[0].strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--libreoffice", action="store_true", help="also open them in LibreOffice")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    groups = []
    for folder in args.folders:
        work = Path(tempfile.mkdtemp(prefix="corpus-"))
        try:
            groups.append(run_group(folder, work, args.libreoffice and shutil.which("soffice")))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    headers = ["group", "workbooks", "refused", "in place", "beside", "parts kept",
               "values kept", "LibreOffice opened", "re-run after LibreOffice"]  # fmt: skip
    rows = []
    for g in groups:
        rows.append([
            g.name, str(g.workbooks), str(sum(g.refused.values())), str(g.in_place),
            str(sum(g.beside.values())), f"{g.parts_kept}/{g.in_place}",
            f"{g.values_kept}/{g.values_checked}",
            f"{g.libreoffice_opened}/{g.libreoffice_tried}" if args.libreoffice else "-",
            f"{g.libreoffice_rerun}/{g.libreoffice_opened}" if args.libreoffice else "-",
        ])  # fmt: skip
    if args.markdown:
        print("| " + " | ".join(headers) + " |\n|" + "---|" * len(headers))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        for row in [headers, *rows]:
            print("  ".join(row))
    for g in groups:
        for kind, count in (g.refused + g.beside).most_common():
            print(f"{g.name}: {count} x {kind}")
        for line in g.parts_changed + g.failures:
            print(f"{g.name}: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
