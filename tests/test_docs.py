"""The README is true: every command and option is in it, and every example in it runs as shown.

The command line is read from the Typer app itself (its click command tree), so a new option
without a line in the README fails here, and so does a README line for an option that is gone.
Each `$ crunch-xl ...` example runs for real, in README order, in a folder holding a copy of the
shipped sample; the library snippets run there too.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from workbooks import ROOT, SAMPLE

from crunch_xl.cli import app, main

README = (ROOT / "README.md").read_text(encoding="utf-8")

#: The exit status each README example is documented with (README: the exit status table, and
#: the sentences after the examples: the sample has an infeasible scenario).
EXIT_STATUS = {
    "crunch-xl samples/lakeside-primary.xlsx -o lakeside-results.xlsx": 1,
    "crunch-xl template plan.xlsx": 0,
    "crunch-xl plan.xlsx --output plan-results.xlsx --json results.json --quiet": 0,
    "crunch-xl watch ~/Planning/inbox": 1,
}
#: The quick start's two setup commands: install and plan the sample; install and test.
QUICK_START = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e . && "
    ".venv/bin/crunch-xl samples/lakeside-primary.xlsx -o lakeside-results.xlsx",
    "bash .ci/test",
)
#: Lines of an example's output worth checking: what was written where (timings vary).
CHECKED_OUTPUT = re.compile(r"^(Results written to |Template written to )|.* -> done/")
_STAMP = re.compile(r"^\d\d:\d\d:\d\d ")


def blocks(language: str, text: str = README) -> list[str]:
    """Return the contents of the README's fenced blocks of a language, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[str, list[str]]]:
    """Return each `$ crunch-xl` command of the console blocks with the lines shown after it."""
    found: list[tuple[str, list[str]]] = []
    for block in blocks("console"):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found and not line.startswith("$"):
                found[-1][1].append(line)
    return [(command, output) for command, output in found if command.startswith("crunch-xl ")]


def section(title: str) -> str:
    """Return the README's text from a ``## title`` heading to the next ``## `` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end >= 0 else None]


def commands() -> Iterator[tuple[str, Any]]:
    """Yield the root command and every subcommand of the Typer app, with their names.

    These are click commands (Typer carries its own click; only their attributes are used).
    """
    root = typer.main.get_command(app)
    yield "crunch-xl", root
    for name, command in sorted(root.commands.items()):
        yield f"crunch-xl {name}", command


def options(command: Any) -> list[Any]:
    """Return every parameter of a command, its help option included."""
    return list(command.get_params(command.context_class(command, info_name="crunch-xl")))


# --- every command and option is documented -------------------------------------------------


def test_every_command_and_option_is_in_the_readme() -> None:
    missing = []
    for name, command in commands():
        if name not in README:
            missing.append(name)
        for parameter in options(command):
            if parameter.param_type_name == "argument":
                # In the synopsis: crunch-xl watch DIR [options]
                if f"{name} {parameter.metavar}" not in README:
                    missing.append(f"{name} {parameter.metavar}")
                continue
            # An option in backticks, whole (`--settle SECONDS`, not `--settled`).
            missing += [
                f"{name} {opt}"
                for opt in (*parameter.opts, *parameter.secondary_opts)
                if not re.search(rf"`{re.escape(opt)}(?![\w-])", README)
            ]
    assert missing == []


def test_every_command_and_option_has_help() -> None:
    silent = []
    for name, command in commands():
        if not command.help:
            silent.append(name)
        for parameter in options(command):
            if not getattr(parameter, "help", None):
                silent.append(f"{name} {parameter.name}")
    assert silent == []


def test_every_option_the_readme_names_exists() -> None:
    known = {
        opt
        for _, command in commands()
        for parameter in options(command)
        for opt in (*parameter.opts, *parameter.secondary_opts)
    }
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", README))
    assert named - known == set()


# --- every example runs ---------------------------------------------------------------------


def test_the_quick_start_has_the_two_setup_commands() -> None:
    lines = [
        line
        for block in blocks("console", section("Quick start"))
        for line in block.splitlines()
        if line and not line.startswith(("$", " ")) and line[0] not in "┏┃┡│└"
    ]
    setup = [line for line in lines if line.startswith(("python3 ", "bash "))]
    assert tuple(setup) == QUICK_START
    # Its planning step is the example shown (and run) below it; its test step is CI's own.
    planning = QUICK_START[0].split(" && ")[-1].removeprefix(".venv/bin/")
    assert planning in [command for command, _ in examples()]
    assert (ROOT / ".ci" / "test").is_file()
    assert "bash .ci/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_readme_example_runs_as_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "samples").mkdir()
    shutil.copyfile(SAMPLE, tmp_path / "samples" / SAMPLE.name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    shown = examples()
    assert [command for command, _ in shown] == list(EXIT_STATUS)
    for command, output in shown:
        args = [str(Path(arg).expanduser()) for arg in shlex.split(command)[1:]]
        if args[0] == "watch":
            # The watch runs until stopped: the README's --once plans what is there and exits.
            inbox = Path(args[1])
            inbox.mkdir(parents=True)
            shutil.copyfile(SAMPLE, inbox / "plan.xlsx")
            args.append("--once")
        status = main(args)
        out, err = capsys.readouterr()
        assert status == EXIT_STATUS[command], f"{command}: {err}"
        printed = [_STAMP.sub("", line).strip() for line in out.splitlines()]
        for line in output:
            line = _STAMP.sub("", line).strip()
            if CHECKED_OUTPUT.match(line):
                assert line in printed, f"{command}: {line!r} not printed"


def test_the_library_snippets_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copyfile(SAMPLE, tmp_path / "plan.xlsx")
    monkeypatch.chdir(tmp_path)
    snippets = blocks("python")
    assert snippets, "the README shows the library"
    for snippet in snippets:
        exec(compile(snippet, "README.md", "exec"), {})  # noqa: S102 - the README's own code
    printed = capsys.readouterr().out
    assert "21 teachers solved" in printed
    assert "solved ['K A'," in printed
