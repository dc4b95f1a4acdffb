"""Faults the command must survive, on the real file system: a workbook saved or deleted while
it is planned, a full disk under --json, a read-only disk, symbolic links, names at the file
system's limit, and messages that read well whatever the file is called.

Small disks are real tmpfs mounts (tests/disks.py; skipped where mounting is not allowed), the
other program saving the workbook is this test process saving it the way Excel does while the
command runs in its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from disks import leave_free, read_only, small_disk
from openpyxl import load_workbook
from processes import command, start, wait_for_children
from schools import hard_school
from workbooks import make_workbook

from crunch_xl.cli import main
from crunch_xl.files import NAME_LIMIT, fitted_name, shown
from crunch_xl.model import RESULT_SHEET_MARK

pytestmark = pytest.mark.timeout(180)

SMALL = {
    "teachers": 3,
    "grades": [("K", 40, 15, 22), ("1", 22, 15, 24)],
    "composites": [("K/1",)],
    "alternatives": 1,
}
#: A K-12 school at its fewest teachers: planning it takes CBC about two seconds, long
#: enough for another program to save the workbook meanwhile (autosaves come every 0.5 s).
SLOW = replace(hard_school(), name="Whole school", alternatives=1)


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Return the exit status, standard output and standard error of the command in-process."""
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def result_sheets(path: Path) -> list[str]:
    book = load_workbook(path)
    return [ws.title for ws in book.worksheets if RESULT_SHEET_MARK in ws.defined_names]


def set_teachers(path: Path, sheet: str, teachers: int) -> None:
    """Save the workbook as Excel does after the user typed a new Teachers: to a temporary
    file in its folder, which then takes the workbook's place."""
    book = load_workbook(path)
    for row in book[sheet].iter_rows(max_col=2):
        if str(row[0].value).strip().lower() == "teachers":
            row[1].value = teachers
            break
    temporary = path.with_name("8A3B2C1D")
    book.save(temporary)
    os.replace(temporary, path)


@pytest.fixture()
def two_sheets(tmp_path: Path) -> Path:
    """Return a workbook of a small school (3 teachers) and a school that takes seconds."""
    return make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL, "Whole school": SLOW})


def planning(path: Path, *args: object) -> subprocess.Popen[str]:
    """Return the command planning ``path`` in a process of its own, once a solver runs."""
    process = start(command(path, "--solver", "cbc", "-t", "60", "-a", "1", *args))
    wait_for_children(process)
    return process


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=150)
    return process.returncode, out, err


# --- results always describe the inputs they sit beside -------------------------------------


def test_a_workbook_saved_while_it_is_planned_is_planned_again(
    two_sheets: Path, tmp_path: Path
) -> None:
    process = planning(two_sheets, "--json", tmp_path / "out.json")
    set_teachers(two_sheets, "Plan A", 4)  # the administrator saves meanwhile: 3 -> 4
    status, out, err = finish(process)
    assert status == 0, err
    assert "Note: plan.xlsx was saved again while it was being planned; the results are " in out
    # The save is kept, and the results beside it are for what it now says.
    book = load_workbook(two_sheets)
    assert [row[1].value for row in book["Plan A"].iter_rows(max_col=2)
            if row[0].value == "Teachers"] == [4]  # fmt: skip
    plan_a = json.loads((tmp_path / "out.json").read_text())["scenarios"][0]
    assert len(plan_a["options"][0]["classes"]) == 4
    cells = [str(c.value) for row in book["Plan A results"].iter_rows() for c in row]
    assert any("4 teachers" in text for text in cells)


def test_a_workbook_that_keeps_changing_gets_no_stale_results(
    tmp_path: Path,
) -> None:
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL, "Whole school": SLOW})
    process = planning(path)
    stop = threading.Event()

    def keep_saving() -> None:  # an autosave every half second
        teachers = 4
        while not stop.wait(0.5):
            set_teachers(path, "Plan A", teachers)
            teachers = 7 - teachers

    saver = threading.Thread(target=keep_saving, daemon=True)
    saver.start()
    try:
        status, out, err = finish(process)
    finally:
        stop.set()
        saver.join()
    assert status == 3
    assert err.strip() == (
        "crunch-xl: plan.xlsx kept changing while it was being planned (saved again 3 times); "
        "no results were written. Run crunch-xl again once it is saved."
    )
    assert result_sheets(path) == []
    assert files(tmp_path) == ["plan.xlsx"]


def test_a_workbook_deleted_while_it_is_planned_is_not_said_to_be_unchanged(
    two_sheets: Path,
) -> None:
    process = planning(two_sheets)
    two_sheets.unlink()
    status, out, err = finish(process)
    assert status == 3
    assert err.strip() == (
        "crunch-xl: plan.xlsx was deleted or moved while it was being planned; "
        "no results were written."
    )
    assert files(two_sheets.parent) == []  # nothing beside it, no temporary file


# --- --json is written atomically --------------------------------------------------------------


@pytest.mark.parametrize("before", [b'{"file": "plan.xlsx", "scenarios": []}\n', None])
def test_json_on_a_full_disk_leaves_the_previous_file_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], before: bytes | None
) -> None:
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL})
    with small_disk(tmp_path / "disk", kilobytes=256) as disk:
        target = disk / "out.json"
        if before is not None:
            target.write_bytes(before)
        leave_free(disk, 0)
        status, _, err = run(capsys, path, "-q", "--json", target)
        assert status == 3
        assert err.strip() == (
            f"crunch-xl: cannot write {target} (No space left on device); "
            "nothing was changed there."
        )
        if before is None:
            assert not target.exists()
        else:
            assert target.read_bytes() == before
        assert [p.name for p in disk.iterdir() if p.name.endswith(".tmp")] == []


def test_json_replaces_the_previous_file_in_one_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL})
    target = tmp_path / "out.json"
    target.write_text("previous")
    os.link(target, tmp_path / "seen-by-another-program.json")
    assert run(capsys, path, "-q", "--json", target)[0] == 0
    assert json.loads(target.read_text())["scenarios"][0]["status"] == "solved"
    # A new file took the name: a program holding the old one never saw it half-written.
    assert (tmp_path / "seen-by-another-program.json").read_text() == "previous"


# --- symbolic links ------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges there")
def test_a_workbook_given_through_a_link_gets_its_results_and_the_link_stays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "shared" / "plan.xlsx"
    real.parent.mkdir()
    make_workbook(real, {"Plan A": SMALL})
    desk = tmp_path / "desk"
    desk.mkdir()
    link = desk / "link.xlsx"
    link.symlink_to(Path("..") / "shared" / "plan.xlsx")  # relative, as `ln -s` makes it
    json_link = desk / "out.json"
    json_link.symlink_to(tmp_path / "shared" / "out.json")
    status, out, _ = run(capsys, link, "--json", json_link)
    assert status == 0
    assert link.is_symlink() and os.readlink(link) == str(Path("..") / "shared" / "plan.xlsx")
    assert len(result_sheets(real)) == 2
    assert files(desk) == ["link.xlsx", "out.json"] and json_link.is_symlink()
    assert json.loads(json_link.read_text())["scenarios"][0]["status"] == "solved"
    assert files(real.parent) == ["out.json", "plan.xlsx"]
    # Opened through the link in Excel: its lock file is beside the link; results go beside.
    (desk / "~$link.xlsx").write_bytes(b"owner")
    before = real.read_bytes()
    assert run(capsys, link, "-q")[0] == 0
    assert real.read_bytes() == before and link.is_symlink()
    assert len(result_sheets(desk / "link.results.xlsx")) == 2


# --- messages --------------------------------------------------------------------------------


def test_a_read_only_disk_says_why_the_original_was_not_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with small_disk(tmp_path / "stick", kilobytes=512) as stick:
        path = make_workbook(stick / "plan.xlsx", {"Plan A": SMALL})
        original = path.read_bytes()
        read_only(stick)
        status, out, err = run(capsys, path)
        assert status == 3
        assert err.strip() == (
            "crunch-xl: plan.xlsx is read-only, so it was left untouched. The results could not "
            "be written beside it either (plan.results.xlsx: Read-only file system). Nothing "
            "was changed; use --output to write them elsewhere."
        )
        assert path.read_bytes() == original and files(stick) == ["plan.xlsx"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Calibri;}} Grade K 40}",
         "is a Rich Text (RTF) document with an Excel name, not a workbook"),
        (b"Grade,Children\nK,40\n", "is a text (CSV) file with an Excel name, not a workbook"),
    ],
    ids=["rtf", "csv"],
)  # fmt: skip
def test_what_a_file_is_is_named_rightly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, expected: str
) -> None:
    (tmp_path / "plan.xlsx").write_bytes(data)
    status, _, err = run(capsys, tmp_path / "plan.xlsx")
    assert status == 3
    assert err.strip().startswith(f"crunch-xl: plan.xlsx {expected}")


@pytest.mark.parametrize(
    ("name", "seen"),
    [
        ("pl\u200ban.xlsx", "pl\u200ban.xlsx"),  # a zero-width space: printed as typed
        ("new\nline.xlsx", "new\u240aline.xlsx"),  # a newline: its symbol, one line
        ("bell\x07.xlsx", "bell\u2407.xlsx"),
    ],
    ids=["zero-width-space", "newline", "control"],
)
def test_names_are_shown_readably_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, seen: str
) -> None:
    (tmp_path / name).write_bytes(b"PK\x03\x04 cut short")
    status, _, err = run(capsys, tmp_path / name)
    assert status == 3
    assert "\n" not in err.strip() and "\\u" not in err and "\\x" not in err
    assert err.startswith(f"crunch-xl: {seen} is damaged")
    assert shown(name) == seen


# --- names at the file system's limit ------------------------------------------------------


def named(size: int, suffix: str = ".xlsx") -> str:
    """Return a workbook name of exactly ``size`` bytes."""
    return "L" * (size - len(suffix)) + suffix


@pytest.mark.parametrize(
    ("name", "lock"),
    [
        (named(248), None),
        (named(255), None),
        ("計" * 83 + ".xlsx", None),  # 254 bytes of UTF-8
        (named(248), f"~${named(248)}"),
        (named(253), f"~${named(253)}"),  # the owner file exactly at the limit
        (named(255), f"~${named(255)[2:]}"),  # Excel drops two characters of a long name
        (named(247), f".~lock.{named(247)}#"),  # LibreOffice's, exactly at the limit
        (named(250), None),  # .~lock.NAME# would be too long: nothing can be beside it
    ],
    ids=["248", "255", "utf8-254", "248-excel", "253-excel", "255-excel", "247-office", "250"],
)
def test_names_at_the_file_systems_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, lock: str | None
) -> None:
    path = make_workbook(tmp_path / name, {"Plan A": SMALL})
    original = path.read_bytes()
    if lock is not None:
        (tmp_path / lock).write_bytes(b"owner")
    status, out, err = run(capsys, path, "-q")
    assert status == 0, err
    if lock is None:
        assert files(tmp_path) == [name]
        assert len(result_sheets(path)) == 2
        return
    beside = fitted_name(Path(name).stem, ".results.xlsx")
    assert len(os.fsencode(beside)) <= NAME_LIMIT
    assert files(tmp_path) == sorted([name, lock, beside])
    assert path.read_bytes() == original
    assert len(result_sheets(tmp_path / beside)) == 2


def test_fitted_names_keep_their_tag_and_suffix() -> None:
    stem = "é" * 200  # 400 bytes
    name = fitted_name(stem, ".error.txt", " (12)")
    assert name.endswith("… (12).error.txt") and len(os.fsencode(name)) <= NAME_LIMIT
    assert fitted_name("plan", ".xlsx", " (2)") == "plan (2).xlsx"
    combining = "e\u0301" * 150  # é as e + accent: never cut between the two
    assert not fitted_name(combining, ".xlsx").removesuffix("….xlsx").endswith("e")


def undecodable(folder: Path, name: bytes) -> Path:
    """Return the path of a file name that is not text here (bytes from another system)."""
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), name)))
    try:
        path.touch()
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only names that are text")
    path.unlink()
    return path


def test_a_name_that_is_not_text_is_planned_and_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_workbook(undecodable(tmp_path, b"plan \xfd.xlsx"), {"Plan A": SMALL})
    status, out, err = run(capsys, path, "--json", tmp_path / "out.json")
    assert status == 0, err
    assert "plan \ufffd.xlsx" in out
    # The workbook opens again (its summary names it readably), and JSON keeps the name exact.
    book = load_workbook(path)
    assert book["crunch-xl summary"]["B2"].value == "plan \ufffd.xlsx"
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert Path(data["file"]) == path
    corrupt = undecodable(tmp_path, b"bad \xfe.xlsx")
    corrupt.write_bytes(b"junk")
    status, _, err = run(capsys, corrupt)
    assert status == 3 and err.startswith("crunch-xl: bad \ufffd.xlsx is a text (CSV) file")
