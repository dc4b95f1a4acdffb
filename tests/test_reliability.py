"""Hardening: faults injected while writing, junk input end to end, hostile names, limits.

Every test runs the real command (``cli.main``) or ``process_workbook`` on real workbooks in
tmp_path; faults are injected at the file-system edge (the writer, ``os.replace``, ``os.fsync``,
the file zipfile writes to), never by replacing crunch-xl's own logic. After every fault the
original workbook's bytes are compared and every file in the folder is listed.
RELIABILITY.md lists what is tested here and what the user sees.
"""

from __future__ import annotations

import datetime
import errno
import gc
import io
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fixtures_package as fx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from workbooks import make_workbook

from crunch_xl import workbook
from crunch_xl.cli import main
from crunch_xl.errors import cell_ref
from crunch_xl.excel import writer
from crunch_xl.excel.package import open_package
from crunch_xl.workbook import Settings, process_workbook

SMALL: dict[str, Any] = {
    "teachers": 3,
    "grades": [("K", 40, 15, 22), ("1", 22, 15, 24)],
    "composites": [("K/1",)],
    "alternatives": 2,
}
ON_WINDOWS = sys.platform == "win32"
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s+File \"", re.MULTILINE)


# --- helpers -------------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Return the exit status, standard output and standard error of the command run in-process."""
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def files(folder: Path) -> dict[str, bytes]:
    """Return every file under folder (relative path -> bytes): nothing may appear unnoticed."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def result_sheets(path: Path) -> list[str]:
    """Return the sheets crunch-xl wrote into a workbook (found by their mark)."""
    with open_package(path) as package:
        return [sheet.name for sheet in package.sheets if sheet.is_result]


def message(err: str) -> str:
    """Return standard error as one line (the console may wrap a long message)."""
    return " ".join(err.split())


def assert_no_traceback(*texts: str) -> None:
    for text in texts:
        assert not TRACEBACK.search(text), text


@pytest.fixture()
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the console room (test_one_line_stays_one_line_in_a_log_file checks without it)."""
    monkeypatch.setenv("COLUMNS", "1000")


@pytest.fixture()
def school(tmp_path: Path) -> Path:
    """Return a solvable workbook alone in its own folder (tmp_path/school/plan.xlsx)."""
    folder = tmp_path / "school"
    folder.mkdir()
    return make_workbook(folder / "plan.xlsx", {"Plan A": SMALL})


def with_calculated_formula(path: Path) -> Path:
    """Return path after adding a user sheet whose formula carries a calculated value."""
    book = load_workbook(path)
    notes = book.create_sheet("Notes")
    notes["A1"] = 41
    notes["A2"] = "=A1+1"
    book.save(path)
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    sheet = next(name for name, data in parts.items() if b"<f>A1+1</f>" in data)
    parts[sheet] = parts[sheet].replace(b"<f>A1+1</f><v /></c>", b"<f>A1+1</f><v>42</v></c>")
    assert b"<v>42</v>" in parts[sheet]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


class _DiskFiles:
    """Stands in for the ``io`` module inside zipfile: files opened for writing in ``folder``
    take ``room`` bytes, then fail the way a full disk (or a refusing folder) does."""

    def __init__(self, folder: Path, room: int, error: OSError) -> None:
        self.folder, self.room, self.error = folder.resolve(), room, error
        self.opened: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(io, name)

    def open(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        writing = any(flag in mode for flag in "wxa+")
        if not writing or not isinstance(file, str | os.PathLike):
            return open(file, mode, *args, **kwargs)
        if Path(file).resolve().parent != self.folder:
            return open(file, mode, *args, **kwargs)
        self.opened.append(Path(file).name)
        if self.room == 0:
            raise fresh(self.error)
        return _FillingFile(file, mode.replace("b", "").replace("t", ""), self.room, self.error)


class _FillingFile(io.FileIO):
    """A real file that fails with ``error`` once ``room`` bytes have been written to it."""

    def __init__(self, file: Any, mode: str, room: int, error: OSError) -> None:
        super().__init__(file, mode)
        self.left, self.error = room, error

    def write(self, data: Any) -> int:
        size = len(memoryview(data))
        if size > self.left:
            if self.left:
                super().write(memoryview(data)[: self.left])
            self.left = 0
            raise fresh(self.error)
        self.left -= size
        return super().write(data) or 0


def fresh(error: OSError) -> OSError:
    """Return a new error like this one (raising one instance twice would chain tracebacks)."""
    return type(error)(*error.args)


def disk_full() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def permission_denied(path: str = "") -> OSError:
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)


@pytest.fixture()
def fail_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[Path, int, OSError], _DiskFiles]]:
    """Yield a function that makes files zipfile writes in a folder fail after some bytes.

    What the garbage collector reports about files left open is collected, not shown:
    test_disk_full_prints_no_traceback_from_a_file_left_open is where that is asserted.
    """
    ignored: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: ignored.append(repr(info)))

    def install(folder: Path, room: int, error: OSError) -> _DiskFiles:
        disk = _DiskFiles(folder, room, error)
        # Both ways a workbook reaches the disk: zipfile's own files and the writer's open().
        monkeypatch.setattr(zipfile, "io", disk)
        monkeypatch.setattr(writer, "open", disk.open, raising=False)
        return disk

    yield install
    gc.collect()


def fail_replace(
    monkeypatch: pytest.MonkeyPatch, folder: Path, error: OSError, times: int
) -> list[str]:
    """Make os.replace into folder fail ``times`` times; return the names it was asked for."""
    real = os.replace
    asked: list[str] = []

    def replace(source: Any, target: Any) -> None:
        if Path(target).resolve().parent == folder.resolve():
            asked.append(Path(target).name)
            if len(asked) <= times:
                raise error
        real(source, target)

    monkeypatch.setattr(workbook.os, "replace", replace)
    return asked


# --- faults while writing: the original is never harmed -----------------------------------------


def _half_written_then(error: BaseException) -> Callable[[Path, Any, Path], list[str]]:
    """Return a writer that writes half the results file, then fails with error."""
    real = writer.write_results

    def write_results(source: Path, report: Any, destination: Path) -> list[str]:
        real(source, report, destination)
        data = destination.read_bytes()
        destination.write_bytes(data[: len(data) // 2])
        raise error

    return write_results


@pytest.mark.parametrize(
    ("fault", "status", "expected"),
    [
        (disk_full(), 3, "plan.xlsx: the results could not be written (No space left on device); "
         "plan.xlsx was not changed."),
        (RuntimeError("a bug half-way"), 3, "internal error: RuntimeError: a bug half-way. "
         "Your workbook was not changed."),
        (KeyboardInterrupt(), 130, "stopped; no workbook was left half-written."),
    ],
    ids=["disk-full", "bug", "ctrl-c"],
)  # fmt: skip
def test_a_failure_half_way_through_writing_leaves_the_original(
    school: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    wide: None,
    fault: BaseException,
    status: int,
    expected: str,
) -> None:
    before = files(school.parent)
    monkeypatch.setattr(writer, "write_results", _half_written_then(fault))
    code, out, err = run(capsys, school)
    assert code == status
    assert expected in err
    assert len(err.strip().splitlines()) == (1 if expected else 0), err
    assert_no_traceback(out, err)
    assert files(school.parent) == before  # the original, byte for byte, and no temporary file


def test_a_bug_after_a_workbook_was_written_says_which_was(
    school: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    wide: None,
) -> None:
    second = make_workbook(school.parent / "second.xlsx", {"Plan A": SMALL})
    before = second.read_bytes()
    real = writer.write_results

    def write_results(source: Path, report: Any, destination: Path) -> list[str]:
        if source == second:
            raise RuntimeError("a bug on the second")
        return real(source, report, destination)

    monkeypatch.setattr(writer, "write_results", write_results)
    code, out, err = run(capsys, school, second)
    assert code == 3
    assert message(err) == (
        "crunch-xl: internal error: RuntimeError: a bug on the second. Results were already "
        f"written to {school}; no other workbook was changed. Please report this."
    )
    assert_no_traceback(out, err)
    assert len(result_sheets(school)) == 2
    assert second.read_bytes() == before


def test_ctrl_c_says_the_workbook_was_left_whole(
    school: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(writer, "write_results", _half_written_then(KeyboardInterrupt()))
    code, _, err = run(capsys, school)
    assert code == 130
    assert "stopped; no workbook was left half-written." in err


@pytest.mark.parametrize("formulas", [False, True], ids=["plain", "formulas"])
@pytest.mark.parametrize("room", [0, 3000], ids=["at-once", "after-3kB"])
def test_disk_full_inside_the_real_writer(
    school: Path,
    fail_writes: Callable[[Path, int, OSError], _DiskFiles],
    capsys: pytest.CaptureFixture[str],
    wide: None,
    formulas: bool,
    room: int,
) -> None:
    if formulas:
        with_calculated_formula(school)
    before = files(school.parent)
    disk = fail_writes(school.parent, room, disk_full())
    code, out, err = run(capsys, school, "--json", school.parent.parent / "out.json")
    assert code == 3
    assert message(err) == (
        "crunch-xl: plan.xlsx: the results could not be written (No space left on device); "
        "plan.xlsx was not changed."
    )
    assert_no_traceback(out, err)
    assert files(school.parent) == before
    # Written to one temporary file; not tried again beside: a full disk stays full.
    assert len(set(disk.opened)) == 1 and disk.opened[0].endswith(".crunch-xl.tmp")
    # The JSON still tells programs what was planned, and that nothing was written.
    data = json.loads((school.parent.parent / "out.json").read_text())
    assert data == [] or data["scenarios"][0]["status"] == "solved"


def test_disk_full_prints_no_traceback_from_a_file_left_open(
    school: Path,
    fail_writes: Callable[[Path, int, OSError], _DiskFiles],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fail_writes(school.parent, 3000, disk_full())
    ignored: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: ignored.append(repr(info.exc_value)))
    assert run(capsys, school)[0] == 3
    gc.collect()
    assert ignored == []


@pytest.mark.parametrize(
    "error",
    [permission_denied(), OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))],
    ids=["windows-lock", "disk-full"],
)
def test_replacing_fails_so_results_go_beside(
    school: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    wide: None,
    error: OSError,
) -> None:
    original = school.read_bytes()
    asked = fail_replace(monkeypatch, school.parent, error, times=1)
    code, out, err = run(capsys, school)
    assert code == 0
    assert asked == ["plan.xlsx", "plan.results.xlsx"]
    assert school.read_bytes() == original
    assert sorted(files(school.parent)) == ["plan.results.xlsx", "plan.xlsx"]
    assert len(result_sheets(school.parent / "plan.results.xlsx")) == 2
    assert (
        "Note: plan.xlsx could not be replaced (is it open in another program?). "
        "The results were written to plan.results.xlsx." in out
    )
    assert_no_traceback(out, err)


def test_replacing_fails_everywhere(
    school: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], wide: None
) -> None:
    before = files(school.parent)
    fail_replace(monkeypatch, school.parent, permission_denied(), times=2)
    code, out, err = run(capsys, school)
    assert code == 3
    assert err.strip() == (
        "crunch-xl: plan.results.xlsx could not be replaced (Permission denied); "
        "plan.xlsx was not changed."
    )
    assert files(school.parent) == before


def test_flushing_to_disk_fails(
    school: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], wide: None
) -> None:
    before = files(school.parent)

    def fsync(descriptor: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(workbook.os, "fsync", fsync)
    code, _, err = run(capsys, school)
    assert code == 3
    assert err.strip() == (
        "crunch-xl: plan.xlsx: the results could not be written (Input/output error); "
        "plan.xlsx was not changed."
    )
    assert files(school.parent) == before


def test_folder_that_refuses_new_files(
    school: Path,
    fail_writes: Callable[[Path, int, OSError], _DiskFiles],
    capsys: pytest.CaptureFixture[str],
    wide: None,
) -> None:
    # What a read-only folder (or a share without write access) does, injected so that it
    # also bites where the tests run as root or on Windows.
    before = files(school.parent)
    fail_writes(school.parent, 0, permission_denied(str(school.parent / ".tmp")))
    code, out, err = run(capsys, school)
    assert code == 3
    assert err.strip() == (
        "crunch-xl: plan.xlsx: the results could not be written (Permission denied); "
        "plan.xlsx was not changed."
    )
    assert_no_traceback(out, err)
    assert files(school.parent) == before


@pytest.mark.skipif(
    ON_WINDOWS or (hasattr(os, "geteuid") and os.geteuid() == 0),
    reason="folder permissions do not bite on Windows or for root (injected in the test above)",
)
def test_read_only_folder(school: Path, capsys: pytest.CaptureFixture[str], wide: None) -> None:
    before = files(school.parent)
    school.parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        code, _, err = run(capsys, school)
    finally:
        school.parent.chmod(stat.S_IRWXU)
    assert code == 3
    assert "the results could not be written (Permission denied)" in err
    assert files(school.parent) == before


def test_read_only_workbook_gets_results_beside_it(
    school: Path, capsys: pytest.CaptureFixture[str], wide: None
) -> None:
    # Renaming over a file needs only the folder's permission on POSIX: a read-only
    # workbook would be replaced (and made writable) unless crunch-xl checks it.
    original = school.read_bytes()
    school.chmod(stat.S_IREAD)
    try:
        code, out, _ = run(capsys, school)
        assert code == 0
        assert not school.stat().st_mode & stat.S_IWRITE
    finally:
        school.chmod(stat.S_IREAD | stat.S_IWRITE)
    assert school.read_bytes() == original
    assert sorted(files(school.parent)) == ["plan.results.xlsx", "plan.xlsx"]
    assert "Note: plan.xlsx is read-only, so it was left untouched. The results were " in out


@pytest.mark.skipif(ON_WINDOWS, reason="POSIX permission bits")
def test_replacing_keeps_the_workbooks_permissions(school: Path) -> None:
    # A school's shared folder: the workbook is group-writable; a new file would not be.
    school.chmod(0o660)
    process_workbook(school, settings=Settings(alternatives=1))
    assert result_sheets(school)
    assert stat.S_IMODE(school.stat().st_mode) == 0o660


def test_a_hard_crash_mid_write_leaves_the_original(school: Path) -> None:
    # The process dies (power cut, kill -9): no finally block runs. The original is intact;
    # only a hidden temporary file can be left, and the next run is not disturbed by it.
    original = school.read_bytes()
    script = textwrap.dedent(
        """
        import os, sys
        from crunch_xl.excel import writer
        from crunch_xl.cli import main
        real = writer.write_results
        def crash(source, report, destination):
            real(source, report, destination)
            data = destination.read_bytes()
            destination.write_bytes(data[: len(data) // 2])
            os._exit(137)
        writer.write_results = crash
        main(sys.argv[1:])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(school), "-q", "-a", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 137, done.stderr
    assert school.read_bytes() == original
    left = [name for name in files(school.parent) if name != "plan.xlsx"]
    assert all(re.fullmatch(r"\.plan\.xlsx\.[0-9a-f]{8}\.crunch-xl\.tmp", n) for n in left), left
    report = process_workbook(school, settings=Settings(alternatives=1))
    assert report.all_solved and report.output == school
    assert len(result_sheets(school)) == 2
    for name in left:  # documented: a crash can leave one; deleting it is safe
        (school.parent / name).unlink()


# --- lossless write-back: what cannot be kept sends the results beside -----------------------

XLSX_MAIN = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
XLSM_MAIN = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
VBA_RELATIONSHIP = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"


def with_macros(path: Path) -> Path:
    """Return path after adding a VBA project the way Excel stores one."""
    return fx.rewrite_parts(
        path,
        {
            "[Content_Types].xml": lambda data: data.replace(XLSX_MAIN, XLSM_MAIN).replace(
                b"</Types>",
                b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                b"</Types>",
            ),
            "xl/_rels/workbook.xml.rels": lambda data: data.replace(
                b"</Relationships>",
                f'<Relationship Id="rIdVBA" Type="{VBA_RELATIONSHIP}" '
                'Target="vbaProject.bin"/></Relationships>'.encode(),
            ),
        },
        add={"xl/vbaProject.bin": fx.vba_project()},
    )


def test_xlsm_keeps_its_macros_when_written_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = with_macros(make_workbook(tmp_path / "plan.xlsm", {"Plan A": SMALL}))
    code, out, _ = run(capsys, path, "-a", 1)
    assert code == 0
    assert list(files(tmp_path)) == ["plan.xlsm"]  # in place: nothing would be lost
    with zipfile.ZipFile(path) as archive:
        assert archive.read("xl/vbaProject.bin") == fx.vba_project()
        assert XLSM_MAIN in archive.read("[Content_Types].xml")
    assert len(result_sheets(path)) == 2


@pytest.mark.parametrize(
    "build",
    [
        lambda path: fx.rewrite_parts(path, add={"xl/gadgets/gadget1.xml": b"<gadget/>"}),
        with_macros,
    ],
    ids=["unknown-part", "macros-in-xlsx"],
)
def test_what_a_library_would_lose_is_kept_in_place(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    wide: None,
    build: Callable[[Path], Path],
) -> None:
    path = build(make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL}))
    with zipfile.ZipFile(path) as archive:
        before = {name: archive.read(name) for name in archive.namelist()}
    code, out, _ = run(capsys, path, "-a", 1, "--json", tmp_path / "out.json")
    assert code == 0
    assert sorted(files(tmp_path)) == ["out.json", "plan.xlsx"]
    with zipfile.ZipFile(path) as archive:
        after = {name: archive.read(name) for name in archive.namelist()}
    grafted = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml",
               "xl/styles.xml", "xl/worksheets/sheet1.xml"}  # fmt: skip
    assert all(after[name] == data for name, data in before.items() if name not in grafted)
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["lost"] == [] and data["output"].endswith("plan.xlsx")
    assert len(result_sheets(path)) == 2


# --- files that are not workbooks: one line, exit 3, untouched -------------------------------


def _corrupt_zip(path: Path) -> Path:
    data = make_workbook(path, {"Plan A": SMALL}).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _csv(path: Path) -> Path:
    path.write_bytes(b"Grade,Children,Smallest class,Largest class\r\nK,40,15,22\r\n")
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    (path / "inside.xlsx").write_bytes(b"")
    return path


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (_corrupt_zip, "crunch-xl: plan.xlsx is damaged"),
        (fx.old_xls, "crunch-xl: plan.xlsx is an old Excel 97-2003 workbook (.xls)"),
        (_csv, "crunch-xl: plan.xlsx is a text (CSV) file with an Excel name"),
        (fx.encrypted_workbook, "crunch-xl: plan.xlsx is password-protected"),
        (_empty, "crunch-xl: plan.xlsx is empty (0 bytes): there is no workbook in it."),
        (_folder, "crunch-xl: plan.xlsx is a folder, not a workbook"),
    ],
    ids=["corrupt-zip", "xls-renamed", "csv-renamed", "password", "empty", "folder"],
)
def test_files_that_are_not_workbooks_get_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    wide: None,
    build: Callable[[Path], Path],
    expected: str,
) -> None:
    path = build(tmp_path / "plan.xlsx")
    before = files(tmp_path)
    code, out, err = run(capsys, path)
    assert code == 3
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), err
    assert out == ""
    assert_no_traceback(out, err)
    assert files(tmp_path) == before


def test_one_line_stays_one_line_in_a_log_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    code, _, err = run(capsys, fx.old_xls(tmp_path / "plan.xlsx"))
    assert code == 3
    assert len(err.strip().splitlines()) == 1, err


# --- bad input never crashes: junk in every template cell, end to end ------------------------

_SHEET_NAMES = ["Plan A", "..", "'Quoted' plan", "x" * 31, "Ünïcode 計画"]
_HUGE = [10**6, 10**12, 2**53, 1e300]
_ERRORS = ["#REF!", "#N/A", "#DIV/0!", "#VALUE!", "#NAME?"]
_NEVER_CALCULATED = ["=1+1", "=B12*2", "=SUM(B12:B14)", '="K/"&1', "=NOW()"]
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=12)
_JUNK = st.one_of(
    st.none(),
    st.sampled_from(["", "   "]),
    _TEXT,
    st.integers(-(10**6), -1),
    st.sampled_from(_HUGE),
    st.floats(0.01, 60, allow_nan=False).filter(lambda x: x != int(x)),
    st.datetimes(datetime.datetime(1900, 3, 1), datetime.datetime(2100, 1, 1)),
    st.dates(datetime.date(1900, 3, 1), datetime.date(2100, 1, 1)),
    st.sampled_from(_ERRORS),
    st.sampled_from(_NEVER_CALCULATED),
    st.booleans(),
)


def _cell(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Return a strategy that gives a good value about half the time, junk otherwise."""
    return st.one_of(good, _JUNK)


_SIZES = st.integers(1, 30)
_GRADE_ROW = st.tuples(
    _cell(st.sampled_from(["K", "1", "2", "3"])),
    _cell(st.integers(0, 90)),
    _cell(_SIZES),
    _cell(_SIZES),
    _cell(st.none() | st.integers(0, 3)),
    _cell(st.none() | st.integers(0, 4)),
    _cell(st.none() | st.integers(0, 40)),
    _cell(st.none() | st.integers(40, 95)),
)
_COMPOSITE_ROW = st.tuples(
    _cell(st.sampled_from(["K/1", "1/2", "2/3", "K/1/2", "1 / 2"])),
    _cell(st.none() | _SIZES),
    _cell(st.none() | _SIZES),
    _cell(st.none() | st.integers(0, 2)),
    _cell(st.none() | st.integers(0, 3)),
)
_SCENARIO_SHEET = st.fixed_dictionaries(
    {
        "teachers": _cell(st.integers(1, 12)),
        "use_every_teacher": _cell(st.sampled_from(["Yes", "No", "y", "n"])),
        "composite_minimum": _cell(st.integers(1, 6)),
        "alternatives": _cell(st.integers(1, 20)),
        "priority": _cell(
            st.sampled_from(["Fewest composites", "Smallest classes", "even classes"])
        ),
        "grades": st.lists(_GRADE_ROW, max_size=4),
        "composites": st.lists(_COMPOSITE_ROW, max_size=3),
    }
)


def _input_cells(path: Path, sheet: str) -> list[tuple[str, object]]:
    """Return every cell of a sheet with its value, formulas as written."""
    ws = load_workbook(path)[sheet]
    return [(c.coordinate, c.value) for row in ws.iter_rows() for c in row if c.value is not None]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sheet=_SCENARIO_SHEET, name=st.sampled_from(_SHEET_NAMES))
@example(  # a cell holding "; " is one wrong cell, not two
    sheet={"teachers": None, "grades": [("K", 0, "; ", None)], "composites": []}, name="Plan A"
)
def test_junk_in_every_template_cell_ends_in_results_or_cell_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sheet: dict[str, Any], name: str
) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = make_workbook(folder / "plan.xlsx", {name: sheet}, instructions=True)
    inputs = _input_cells(path, name)
    answers = folder / "answers.json"
    code, out, err = run(capsys, path, "--json", answers, "-a", 1, "-t", 1)
    assert code in (0, 1), err
    assert_no_traceback(out, err)
    data = json.loads(answers.read_text())
    scenarios = data["scenarios"]
    assert code == (0 if scenarios and all(s["status"] == "solved" for s in scenarios) else 1)
    for scenario in scenarios:
        assert scenario["sheet"] == name
        if scenario["status"] == "invalid":
            # Every problem names the sheet and a cell of the template's columns A-H.
            assert scenario["problems"], scenario["message"]
            for problem in scenario["problems"]:
                assert problem["sheet"] == name and problem["expected"], problem
                assert re.fullmatch(r"[A-H]\d+", problem["cell"]), problem
                said = f"{cell_ref(name, problem['cell'])}: expected {problem['expected']}"
                assert said in scenario["message"]
        elif scenario["status"] != "solved":
            assert scenario["message"]
    if not scenarios:
        assert any(name in note for note in data["notes"]), data
    # The workbook still opens, the user's sheet is unchanged, and results are there.
    assert _input_cells(path, name) == inputs
    assert len(result_sheets(path)) == 1 + len(scenarios)


@pytest.mark.parametrize(
    ("file_name", "teachers", "shown"),
    [
        ("plan.xlsx", "[/x]", "(found '[/x]')"),
        ("plan.xlsx", "[bold]big", "(found '[bold]big')"),
        ("plan [final].xlsx", 3, "plan [final].xlsx"),
    ],
    ids=["closing-tag", "style-tag", "file-name"],
)
def test_square_brackets_are_shown_as_typed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    wide: None,
    file_name: str,
    teachers: object,
    shown: str,
) -> None:
    path = make_workbook(tmp_path / file_name, {"Plan A": dict(SMALL, teachers=teachers)})
    try:
        code, out, err = run(capsys, path, "-a", 1)
    except Exception as error:  # noqa: BLE001 - the bug: an exception escapes main()
        pytest.fail(f"main() raised {type(error).__name__}: {error}")
    assert code in (0, 1)
    assert shown in out
    assert_no_traceback(out, err)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="memory is capped with POSIX setrlimit")
def test_an_absurd_number_of_children_is_answered_quickly(tmp_path: Path) -> None:
    sheet = dict(SMALL, grades=[("K", 10**9, 15, 22), ("1", 22, 15, 24)])
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": sheet})
    script = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
        "from crunch_xl.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), "-q", "-a", "1", "-t", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr  # invalid or infeasible: the documented status
    assert time.perf_counter() - started < 20


# --- re-running on workbooks crunch-xl (and then LibreOffice) saved ---------------------------


@pytest.mark.libreoffice
@pytest.mark.timeout(400)
def test_formula_inputs_calculated_by_libreoffice_and_re_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if fx.soffice() is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required in CI")
        pytest.skip("LibreOffice (soffice) is not installed: cannot calculate formulas")
    sheet = {
        "teachers": "=1+2",
        "grades": [("K", "=20*2", 15, "=B12-18"), ("1", "=B12-18", 15, 24)],
        "composites": [('="K/"&A13',)],
        "alternatives": 2,
    }
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": sheet, "Plan B": SMALL})
    # Never calculated: reported with the cell and how to fix it, never read as 0.
    code, _, _ = run(capsys, path, "--json", tmp_path / "first.json")
    assert code == 1
    first = {s["sheet"]: s for s in json.loads((tmp_path / "first.json").read_text())["scenarios"]}
    assert first["Plan A"]["status"] == "invalid"
    assert first["Plan A"]["message"].startswith("'Plan A'!B4: expected ")
    assert "'Plan A'!B12" in first["Plan A"]["message"]
    assert first["Plan B"]["status"] == "solved"

    # The administrator opens crunch-xl's output in LibreOffice and saves it (calculated).
    (opened,) = fx.libreoffice_convert([path], "xlsx", tmp_path / "saved")
    answers = []
    for attempt in range(2):  # then runs crunch-xl on it, twice
        code, _, err = run(capsys, opened, "--json", tmp_path / f"run{attempt}.json")
        assert code == 0, err
        answers.append(json.loads((tmp_path / f"run{attempt}.json").read_text()))
        assert len(result_sheets(opened)) == 3  # replaced, never added to
    first_run, second_run = (
        [(s["sheet"], s["status"], s["options"]) for s in a["scenarios"]] for a in answers
    )
    assert first_run == second_run
    assert [s[1] for s in first_run] == ["solved", "solved"]
    plan_a = first_run[0][2][0]
    assert sum(sum(c["counts"].values()) for c in plan_a["classes"]) == 40 + 22

    # And once more through LibreOffice: our sheets are still recognised as ours.
    (again,) = fx.libreoffice_convert([opened], "xlsx", tmp_path / "again")
    assert result_sheets(again) == result_sheets(opened)
    code, _, err = run(capsys, again, "--json", tmp_path / "again.json")
    assert code == 0, err
    data = json.loads((tmp_path / "again.json").read_text())
    assert [(s["sheet"], s["status"], s["options"]) for s in data["scenarios"]] == first_run
    assert load_workbook(again).sheetnames == load_workbook(opened).sheetnames


# --- names: nothing is ever written outside the workbook's folder ----------------------------

ODD_SHEET_NAMES = ["..", ".", "con", "NUL", "'Quoted' plan", 'Say "hi"', "x" * 31, "~$plan",
                   "plan.xlsx", "  spaced  ", "Ünïcode 計画 😀", "%2e%2e%2f",
                   "<b>&amp;"]  # fmt: skip


@pytest.mark.parametrize(
    "file_name",
    ["my plan 2025.xlsx", "plán ünïcode 計画.xlsm", ".hidden.xlsx", "Plan.XLSX",
     "two.dots.v2.xlsx", "x" * 200 + ".xlsx", "計" * 78 + ".xlsx"],
    ids=["spaces", "unicode-xlsm", "leading-dot", "upper-case", "dots", "200-chars",
         "238-bytes"],
)  # fmt: skip
def test_odd_names_never_write_outside_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file_name: str
) -> None:
    folder = tmp_path / "work" / "school"
    folder.mkdir(parents=True)
    (tmp_path / "work" / "neighbour.txt").write_text("leave me")
    names = ODD_SHEET_NAMES[:3] if len(file_name) > 100 else ODD_SHEET_NAMES
    path = make_workbook(folder / file_name, dict.fromkeys(names, SMALL))
    outside = {k: v for k, v in files(tmp_path).items() if not k.startswith("work/school/")}
    code, out, err = run(capsys, path, "-a", 1, "--json", "-")
    assert code == 0, err
    assert list(files(folder)) == [file_name]  # written in place: no other file appears
    assert {k: v for k, v in files(tmp_path).items() if not k.startswith("work/school/")} == (
        outside
    )
    data = json.loads(out)
    assert [s["sheet"] for s in data["scenarios"]] == names
    sheets = result_sheets(path)
    assert len(sheets) == len(names) + 1
    assert all(len(s) <= 31 and not re.search(r"[\[\]:*?/\\]", s) for s in sheets)


@pytest.mark.parametrize(
    "lock", ["~$plan ünï.xlsx", ".~lock.plan ünï.xlsx#"], ids=["excel", "libreoffice"]
)
def test_open_in_excel_with_odd_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lock: str
) -> None:
    folder = tmp_path / "school"
    folder.mkdir()
    path = make_workbook(folder / "plan ünï.xlsx", dict.fromkeys(ODD_SHEET_NAMES[:4], SMALL))
    (folder / lock).write_bytes(b"owner")
    original = path.read_bytes()
    for _ in range(2):  # the second run replaces the first run's results file
        code, out, _ = run(capsys, path, "-a", 1)
        assert code == 0
    assert path.read_bytes() == original
    assert sorted(files(folder)) == sorted(["plan ünï.results.xlsx", "plan ünï.xlsx", lock])
    assert f"is open in a spreadsheet program ({lock} is beside it)" in message(out)
    assert len(result_sheets(folder / "plan ünï.results.xlsx")) == 5


def test_forbidden_sheet_names_in_a_doctored_file_are_planned_safely(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], wide: None
) -> None:
    # Excel cannot make these names; a hand-edited (or hostile) file can. They are only text:
    # no name read from a file is ever used in a path.
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL, "Plan B": SMALL})
    fx.rewrite_parts(
        path,
        {
            "xl/workbook.xml": lambda data: data.replace(
                b'name="Plan A"', b'name="../../etc/pa:ss*wd?[x]"'
            ).replace(b'name="Plan B"', b'name="' + b"Y" * 200 + b'"')
        },
    )
    code, out, err = run(capsys, path, "-a", 1)
    assert code == 0, err
    assert_no_traceback(out, err)
    assert list(files(tmp_path)) == ["plan.xlsx"]
    names = result_sheets(path)
    assert len(names) == 3
    assert all(len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name) for name in names)


LONG_NAME = b'name="' + b"Y" * 200 + b'"'


@pytest.mark.filterwarnings("error")
def test_very_long_sheet_name_from_a_doctored_file_is_planned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_workbook(tmp_path / "plan.xlsx", {"Plan A": SMALL})
    fx.rewrite_parts(
        path,
        {"xl/workbook.xml": lambda d: d.replace(b'name="Plan A"', LONG_NAME)},
    )
    code, out, err = run(capsys, path, "-a", 1, "--json", "-")
    assert code == 0
    assert "warn" not in err.lower() and "Title is more" not in err  # no library warning
    assert json.loads(out)["scenarios"][0]["sheet"] == "Y" * 200
    assert list(files(tmp_path)) == ["plan.xlsx"]
    assert all(len(name) <= 31 for name in result_sheets(path))


# --- limits: the time limit is honoured -------------------------------------------------------


def _k_to_12(teachers: int) -> dict[str, Any]:
    """Return a K-12 scenario sheet: 13 grades, about 1,500 children, pair and triple composites."""
    labels = ["K", *map(str, range(1, 13))]
    children = [118, 121, 109, 124, 117, 112, 120, 115, 108, 123, 119, 111, 114]
    grades = [
        (label, count, 14 + n % 3, 22 if label == "K" else 25 if n <= 2 else 30)
        for n, (label, count) in enumerate(zip(labels, children, strict=True))
    ]
    pairs = [(f"{a}/{b}",) for a, b in zip(labels, labels[1:], strict=False)]
    triples = [("/".join(labels[n : n + 3]),) for n in (2, 6, 9)]
    return {
        "teachers": teachers,
        "composite_minimum": 4,
        "alternatives": 3,
        "grades": grades,
        "composites": pairs + triples,
    }


def test_time_limit_is_honoured_on_a_k_to_12_school(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_workbook(
        tmp_path / "k12.xlsx",
        {"62 teachers": _k_to_12(62), "64 teachers": _k_to_12(64), "70 teachers": _k_to_12(70)},
    )
    started = time.perf_counter()
    code, out, err = run(capsys, path, "--time-limit", 1, "--json", "-", "-q")
    elapsed = time.perf_counter() - started
    assert code in (0, 1), err
    scenarios = json.loads(out)["scenarios"]
    assert len(scenarios) == 3
    for scenario in scenarios:
        assert scenario["status"] in ("solved", "timeout"), scenario["message"]
        assert scenario["seconds"] <= 1 + 1.0, scenario  # the limit, plus one last solve's wrap-up
        if scenario["status"] == "timeout":
            assert scenario["message"]
            assert all(not o["proven"] for o in scenario["options"][:1])
        else:
            assert scenario["options"], scenario
    # Reading, explaining and writing included: a few seconds per scenario, never minutes.
    assert elapsed < 3 * 4, f"{elapsed:.1f} s"


@pytest.fixture(autouse=True)
def _no_leftover_temporary_files(tmp_path: Path) -> Iterator[None]:
    """Check after every test that no temporary file of crunch-xl's was left anywhere."""
    yield
    assert [p.name for p in tmp_path.rglob("*.crunch-xl.tmp")] == []
