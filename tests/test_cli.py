"""The crunch-xl command on real workbooks in tmp_path, results read back with openpyxl/pandas."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import fixtures_package as fx
import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.comments import Comment
from workbooks import SAMPLE, make_workbook

from crunch_xl import planner as plan
from crunch_xl.cli import app, main
from crunch_xl.excel.reader import read_workbook
from crunch_xl.model import RESULT_SHEET_MARK, Priority

SMALL = {
    "teachers": 3,
    "grades": [("K", 40, 15, 22), ("1", 22, 15, 24)],
    "composites": [("K/1",)],
    "alternatives": 2,
}
IMPOSSIBLE = {
    "teachers": 1,
    "grades": [("K", 40, 15, 22), ("1", 22, 15, 24)],
    "composites": [],
}
BROKEN = {"teachers": -2, "grades": [("K", "lots", 15, 22)]}


def run(*args: object) -> int:
    """Return the exit status of the command run in-process."""
    return main([str(a) for a in args])


def result_sheets(path: Path) -> list[str]:
    """Return the names of the sheets crunch-xl wrote (found by their mark, not their name)."""
    book = load_workbook(path)
    return [ws.title for ws in book.worksheets if RESULT_SHEET_MARK in ws.defined_names]


def test_solved_workbook_exit_0_and_sheets_match_the_planner(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL})
    assert run(path, "--json", tmp_path / "out.json", "--quiet") == 0

    scenario = read_workbook(path).items[0]
    expected = plan.plan(scenario)  # the planner's own output for the same sheet
    data = json.loads((tmp_path / "out.json").read_text())
    options = data["scenarios"][0]["options"]
    assert data["scenarios"][0]["status"] == "solved"
    assert [(o["composites"], o["largest"], o["spread"]) for o in options] == [
        (o.composites, o.largest, o.spread) for o in expected.options
    ]
    # The JSON and the result sheet say the same: every class and its children per grade.
    sheets = result_sheets(path)
    assert len(sheets) == 2  # summary + one result sheet
    frame = pd.read_excel(path, sheet_name=None, header=None)
    cells = {str(v) for name in sheets for v in frame[name].to_numpy().ravel() if pd.notna(v)}
    for option in options:
        for cls in option["classes"]:
            assert cls["name"] in cells
            assert sum(cls["counts"].values()) <= 24


def test_infeasible_and_invalid_exit_1_results_still_written(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "plan.xlsx", {"Good": SMALL, "Too few": IMPOSSIBLE, "Broken": BROKEN}
    )
    assert run(path, "--json", tmp_path / "out.json", "-q") == 1
    data = json.loads((tmp_path / "out.json").read_text())
    status = {s["sheet"]: s for s in data["scenarios"]}
    assert status["Good"]["status"] == "solved"
    assert status["Too few"]["status"] == "infeasible"
    assert status["Too few"]["message"]
    assert status["Too few"]["suggestions"], "an impossible plan gets repair suggestions"
    assert status["Broken"]["status"] == "invalid"
    assert "'Broken'!B" in status["Broken"]["message"]  # names the sheet and the cell
    assert len(result_sheets(path)) == 4


def test_running_twice_gives_the_same_sheets_and_keeps_the_users_work(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL})
    book = load_workbook(path)
    notes = book.create_sheet("My notes")
    notes["A1"] = 41
    notes["A2"] = "=A1+1"
    notes["A1"].comment = Comment("keep me", "admin")
    book.save(path)

    assert run(path, "-q") == 0
    first = load_workbook(path).sheetnames
    assert run(path, "-q") == 0
    second = load_workbook(path)
    assert second.sheetnames == first
    assert second["My notes"]["A2"].value == "=A1+1"
    assert second["My notes"]["A1"].comment.text == "keep me"
    assert read_workbook(path).items[0].name == "Plan A"  # still reads as a scenario


def rename_like_excel(path: Path, renames: dict[str, str]) -> None:
    """Rename sheets as Excel does: the sheet's own names follow it to its new name."""
    book = load_workbook(path)
    for old, new in renames.items():
        sheet = book[old]
        sheet.title = new
        for name in sheet.defined_names.values():
            name.attr_text = name.attr_text.replace(f"'{old}'!", f"'{new}'!")
    book.save(path)


RENAMED = {"Plan A results": "Plan A – staff notes", "crunch-xl summary": "Overview"}
RENAMED_NOTES = [
    "The summary sheet 'Overview' (a summary sheet you renamed) was replaced by "
    "'crunch-xl summary'; crunch-xl's sheets are rewritten on every run, so notes typed there "
    "are not kept.",
    "The result sheet 'Plan A – staff notes' (a result sheet you renamed) was replaced by "
    "'Plan A results'; crunch-xl's sheets are rewritten on every run, so notes typed there are "
    "not kept.",
]


def check_renamed_sheets_are_reported(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Run the command on a workbook whose result sheets were renamed; check what it says."""
    capsys.readouterr()
    assert run(path, "--json", path.with_suffix(".json")) == 0
    printed = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    notes = json.loads(path.with_suffix(".json").read_text())["notes"]
    assert notes == RENAMED_NOTES
    for note in RENAMED_NOTES:
        assert f"Note: {note}" in printed
    book = load_workbook(path)
    assert result_sheets(path) == ["crunch-xl summary", "Plan A results", "Plan B results"]
    assert "Plan A – staff notes" not in book.sheetnames and "Overview" not in book.sheetnames
    summary = " ".join(str(c.value) for row in book["crunch-xl summary"].iter_rows() for c in row)
    assert all(note in summary for note in RENAMED_NOTES)
    # Replaced under crunch-xl's names, they are not news the next time.
    assert run(path, "--json", path.with_suffix(".json"), "-q") == 0
    assert json.loads(path.with_suffix(".json").read_text())["notes"] == []


def test_a_result_sheet_the_user_renamed_is_named_when_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL, "Plan B": SMALL})
    assert run(path, "-q") == 0
    rename_like_excel(path, RENAMED)
    check_renamed_sheets_are_reported(path, capsys)


@pytest.mark.libreoffice
def test_a_result_sheet_renamed_and_saved_in_libreoffice_is_named_when_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if fx.soffice() is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required in CI")
        pytest.skip("LibreOffice (soffice) is not installed")
    monkeypatch.setenv("COLUMNS", "200")
    (tmp_path / "in").mkdir()
    path = make_workbook(tmp_path / "in" / "plan.xlsx", {"Plan A": SMALL, "Plan B": SMALL})
    assert run(path, "-q") == 0
    rename_like_excel(path, RENAMED)
    # LibreOffice saves it again: its titles now in shared strings, its names its own way.
    (saved,) = fx.libreoffice_convert([path], "xlsx", tmp_path)
    check_renamed_sheets_are_reported(saved, capsys)


def test_output_option_leaves_the_original_untouched(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL})
    before = path.read_bytes()
    target = tmp_path / "answers.xlsx"
    assert run(path, "-o", target, "-q") == 0
    assert path.read_bytes() == before
    assert result_sheets(target)


def test_workbook_open_in_excel_gets_results_beside_it(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL})
    (tmp_path / "~$plan.xlsx").write_bytes(b"owner")
    before = path.read_bytes()
    assert run(path, "-q") == 0
    assert path.read_bytes() == before
    assert result_sheets(tmp_path / "plan.results.xlsx")


def test_alternatives_option_overrides_the_sheet(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL})
    assert run(path, "--alternatives", 1, "--json", "-", "-q") == 0
    # --json - prints only JSON on stdout: checked in the subprocess test below.


def test_template_command_writes_a_readable_template(tmp_path: Path) -> None:
    target = tmp_path / "new.xlsx"
    assert run("template", target) == 0
    read = read_workbook(target)
    assert [s.name for s in read.items] == ["Example"]
    assert run("template", target) == 2  # exists: refuses without --force
    assert run("template", target, "--force") == 0


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["missing.xlsx"], 3),
        (["--time-limit", "0"], 2),
        (["--alternatives", "21", "x.xlsx"], 2),
        (["--solver", "gurobi", "x.xlsx"], 2),
        (["--no-such-option"], 2),
        (["notes.txt"], 3),
    ],
)
def test_bad_command_lines_and_files(tmp_path: Path, args: list[str], status: int) -> None:
    (tmp_path / "notes.txt").write_text("not a workbook")
    moved = [str(tmp_path / a) if a.endswith((".xlsx", ".txt")) else a for a in args]
    assert run(*moved) == status


def test_corrupt_workbook_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert run(path, "-q") == 3
    assert path.read_bytes() == b"PK\x03\x04 this is not really a zip"


def test_every_command_and_option_has_help() -> None:
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.help, f"command {name} has no help"
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{name} {param.name} has no help"


def test_installed_command_and_python_m_print_clean_json(tmp_path: Path) -> None:
    path = tmp_path / "lakeside.xlsx"
    shutil.copy(SAMPLE, path)
    done = subprocess.run(
        [sys.executable, "-m", "crunch_xl", str(path), "--json", "-", "--alternatives", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr  # the sample has one impossible scenario
    data = json.loads(done.stdout)  # stdout holds nothing but the JSON
    assert [s["status"] for s in data["scenarios"]] == ["solved", "solved", "infeasible"]
    # One sheet gives Kindergarten as an estimate: it and each of its options say so.
    assert [s.get("estimates") for s in data["scenarios"]] == [None, {"K": [58, 66]}, None]
    assert [o["covers_estimates"] for o in data["scenarios"][1]["options"]] == [True]
    assert "Traceback" not in done.stderr
    assert "Results written to" in done.stderr


def test_priority_reaches_the_planner(tmp_path: Path) -> None:
    sheet = dict(SMALL, priority=Priority.SMALLEST_CLASSES)
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": sheet})
    assert run(path, "--json", tmp_path / "o.json", "-q") == 0
    best = json.loads((tmp_path / "o.json").read_text())["scenarios"][0]["options"][0]
    assert best["spare"] == max(o.spare for o in plan.plan(read_workbook(path).items[0]).options)


def test_watch_once_plans_good_workbooks_and_fails_bad_ones(tmp_path: Path) -> None:
    make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL})
    (tmp_path / "bad.xlsx").write_bytes(b"Grade,Children\nK,40\n")
    status = run("watch", tmp_path, "--once", "--settle", "0.2", "-a", "1", "-q")
    assert status == 3  # one workbook failed
    assert result_sheets(tmp_path / "done" / "plan.xlsx")
    assert (tmp_path / "failed" / "bad.xlsx").read_bytes() == b"Grade,Children\nK,40\n"
    assert "text (CSV) file" in (tmp_path / "failed" / "bad.error.txt").read_text()
    assert not (tmp_path / "plan.xlsx").exists() and not (tmp_path / "bad.xlsx").exists()


def test_models_writes_every_question_as_lp_files_and_changes_no_answer(tmp_path: Path) -> None:
    sheets = {'Plan "A" <3>': SMALL, "CON": SMALL, "Too few": IMPOSSIBLE}
    path = make_workbook(tmp_path / "plan.xlsx", sheets)
    shutil.copy(path, tmp_path / "again.xlsx")
    models = tmp_path / "models"
    assert run(path, "--models", models, "--json", tmp_path / "with.json", "-q") == 1
    assert run(tmp_path / "again.xlsx", "--json", tmp_path / "without.json", "-q") == 1
    # One folder per workbook and sheet, named to be valid on Windows too.
    folders = sorted(p.relative_to(models).as_posix() for p in models.glob("*/*"))
    assert folders == ["plan/Plan _A_ _3_", "plan/Too few", "plan/_CON"]
    for folder in folders:
        written = sorted((models / folder).glob("*.lp"))
        assert written, folder
        assert "every_child_placed_" in written[0].read_text()

    def options(json_path: Path) -> list[object]:
        data = json.loads(json_path.read_text())
        return [
            [(o["reason"], o["classes"]) for o in scenario["options"]]
            for scenario in data["scenarios"]
        ]

    assert options(tmp_path / "with.json") == options(tmp_path / "without.json")


def test_models_folder_that_cannot_be_made_is_a_file_error(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL})
    (tmp_path / "taken").write_text("a file, not a folder")
    assert run(path, "--models", tmp_path / "taken" / "models") == 3
