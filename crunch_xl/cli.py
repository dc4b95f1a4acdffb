"""The `crunch-xl` command: parse, call workbook.py, print. The only module that prints.

    crunch-xl FILE [FILE ...] [options]   plan every scenario, write the results back
    crunch-xl template PATH               write a fresh template
    crunch-xl watch DIR                   process workbooks dropped into a folder

Exit status (SPEC section 4): 0 every scenario solved; 1 some scenario infeasible, invalid or
timed out (results still written); 2 bad command line; 3 a file could not be read or written.
Stopped by Ctrl-C, SIGTERM (a service manager, `kill`) or SIGHUP (the terminal closed): 128 plus
the signal's number (130, 143, 129), after the same orderly stop in each case.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from crunch_xl import __version__, words
from crunch_xl.errors import CrunchError
from crunch_xl.excel.template import write_template
from crunch_xl.files import folder_name, shown, write_atomically
from crunch_xl.model import Report, Result, Status, Suggestion
from crunch_xl.planner import DEFAULT_SOLVER, SOLVERS, available_solvers
from crunch_xl.report_json import report_json
from crunch_xl.watch import DEFAULT_WORKERS, Failure, watch_folder
from crunch_xl.workbook import Settings, exit_status, process_workbook

EXIT_BAD_COMMAND = 2
EXIT_FILE_ERROR = 3
EXIT_INTERRUPTED = 128 + signal.SIGINT
STOPPED = "crunch-xl: stopped; no workbook was left half-written."
#: Signals that stop crunch-xl as Ctrl-C does: a service manager's or `kill`'s SIGTERM, and
#: the SIGHUP of a terminal that was closed (Windows has no SIGHUP).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)

COMMANDS = ("solve", "template", "watch")

app = typer.Typer(
    name="crunch-xl",
    help="Plan a primary school's classes from an Excel workbook (one sheet per scenario).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

STATUS_STYLE = {
    Status.SOLVED: "green",
    Status.INFEASIBLE: "red",
    Status.INVALID: "red",
    Status.TIMEOUT: "yellow",
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crunch-xl {__version__}")
        raise typer.Exit()


def _check_solver(value: str) -> str:
    value = value.lower()
    if value not in SOLVERS:
        raise typer.BadParameter(f"choose one of: {', '.join(SOLVERS)}")
    if value not in available_solvers():
        raise typer.BadParameter(
            f"{value} is not installed here; install it with: pip install 'crunch-xl[highs]'"
        )
    return value


Files = Annotated[
    list[Path],
    typer.Argument(
        metavar="FILE",
        help="Workbooks (.xlsx or .xlsm) to plan; results are written into each.",
    ),
]
Output = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the results here instead of into the workbook (a folder when several FILEs).",
    ),
]
JsonPath = Annotated[
    str | None,
    typer.Option(
        "--json", metavar="PATH", help="Also write the results as JSON to PATH ('-': stdout)."
    ),
]
Alternatives = Annotated[
    int | None,
    typer.Option(
        "--alternatives",
        "-a",
        min=1,
        max=20,
        help="Options per scenario (1-20), overriding every sheet's Alternatives.",
    ),
]
TimeLimit = Annotated[
    float,
    typer.Option(
        "--time-limit",
        "-t",
        min=0.1,
        help="Seconds of planning allowed per scenario; past it the best found is given.",
    ),
]
Solver = Annotated[
    str,
    typer.Option(
        "--solver",
        callback=_check_solver,
        help="MIP solver: highs (in crunch-xl itself, default) or cbc (bundled with PuLP).",
    ),
]
Models = Annotated[
    Path | None,
    typer.Option(
        "--models",
        metavar="DIR",
        file_okay=False,
        help="Also write every model the solver is asked, as LP files, into "
        "DIR/WORKBOOK/SHEET/ (for reading them; planning takes longer).",
    ),
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing but errors (exit status tells).")
]
Version = Annotated[
    bool,
    typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
]


@app.callback()
def _root(version: Version = False) -> None:
    """Plan a primary school's classes from an Excel workbook (one sheet per scenario)."""


@app.command("solve")
def solve(
    files: Files,
    output: Output = None,
    json_path: JsonPath = None,
    alternatives: Alternatives = None,
    time_limit: TimeLimit = 30.0,
    solver: Solver = DEFAULT_SOLVER,
    models: Models = None,
    quiet: Quiet = False,
) -> None:
    """Plan every scenario of each workbook and write the results back (the default command)."""
    if output is not None and len(files) > 1 and not output.is_dir():
        _fail_usage("--output must be an existing folder when several workbooks are given.")
    if models is not None:
        try:
            models.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            _errors().print(
                f"[red]crunch-xl:[/] cannot make the folder {escape(shown(str(models)))} "
                f"for --models: {error.strerror}"
            )
            raise typer.Exit(EXIT_FILE_ERROR) from None
    human = Console(stderr=json_path == "-" or quiet)
    errors = _errors()
    reports: list[Report] = []
    failed = False
    with _progress(errors, quiet) as progress:
        for path in files:
            task = progress.add_task(f"{path.name}", total=None)

            def advance(
                sheet: str, index: int, total: int, task: TaskID = task, name: str = path.name
            ) -> None:
                progress.update(task, description=f"{name}: {sheet}", total=total)
                progress.update(task, completed=index)

            target = output / path.name if output is not None and output.is_dir() else output
            folder = None if models is None else models / folder_name(path.stem)
            settings = Settings(alternatives, time_limit, solver, folder)
            try:
                report = process_workbook(path, output=target, settings=settings, progress=advance)
            except CrunchError as error:
                errors.print(f"[red]crunch-xl:[/] {escape(shown(str(error)))}")
                failed = True
                continue
            finally:
                progress.remove_task(task)
            reports.append(report)
            if report.output is not None:
                _Run.written.append(report.output)
    if not quiet:
        for report in reports:
            _show(human, report)
    if json_path is not None:
        _write_json(reports, json_path, errors)
    if failed:
        raise typer.Exit(EXIT_FILE_ERROR)
    raise typer.Exit(exit_status(reports))


@app.command("template")
def template(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="Where to write the template (.xlsx).")
    ],
    force: Annotated[bool, typer.Option("--force", "-f", help="Replace an existing file.")] = False,
) -> None:
    """Write a fresh template: instructions, a filled example and a blank scenario sheet."""
    if path.suffix.lower() != ".xlsx":
        _fail_usage("the template is an .xlsx workbook: give a PATH ending in .xlsx")
    if path.exists() and not force:
        _fail_usage(f"{path} exists; use --force to replace it")
    try:
        write_template(path)
    except OSError as error:
        _errors().print(f"[red]crunch-xl:[/] cannot write {escape(str(path))}: {error.strerror}")
        raise typer.Exit(EXIT_FILE_ERROR) from None
    typer.echo(f"Template written to {path}")


@app.command("watch")
def watch(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR",
            exists=True,
            file_okay=False,
            help="Folder to watch. Drop .xlsx/.xlsm workbooks in: results go to DIR/done/, "
            "workbooks that cannot be read to DIR/failed/ with NAME.error.txt saying why.",
        ),
    ],
    polling: Annotated[
        bool,
        typer.Option(
            "--polling",
            help="Look at the folder every second instead of waiting for the system's file "
            "events (for network shares, where events do not arrive).",
        ),
    ] = False,
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Plan the workbooks already in DIR, then exit (for scheduled jobs)."
        ),
    ] = False,
    alternatives: Alternatives = None,
    time_limit: TimeLimit = 30.0,
    solver: Solver = DEFAULT_SOLVER,
    settle: Annotated[
        float,
        typer.Option(
            "--settle",
            min=0.0,
            help="Seconds a workbook must stay unchanged before it counts as complete.",
        ),
    ] = 1.0,
    rescan: Annotated[
        float,
        typer.Option(
            "--rescan",
            min=1.0,
            help="Seconds between full looks at the folder, catching anything missed.",
        ),
    ] = 30.0,
    workers: Annotated[
        int,
        typer.Option("--workers", "-j", min=1, max=32, help="Workbooks planned at the same time."),
    ] = DEFAULT_WORKERS,
    quiet: Quiet = False,
) -> None:
    """Plan every workbook dropped into DIR; results go to DIR/done/. Ctrl-C stops."""
    out = Console(highlight=False)
    errors = _errors()

    def log(line: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        # markup off: a file named "[draft].xlsx" is not rich markup.
        if isinstance(line, Failure):
            errors.print(f"{stamp} {shown(line)}", markup=False)
        elif not quiet:
            out.print(f"{stamp} {shown(line)}", markup=False, soft_wrap=True)

    stop = threading.Event()
    try:
        with _stopping(stop.set):
            summary = watch_folder(
                directory,
                settings=Settings(alternatives, time_limit, solver),
                polling=polling,
                once=once,
                settle=settle,
                rescan=rescan,
                workers=workers,
                log=log,
                stop=stop,
            )
    except CrunchError as error:
        errors.print(f"[red]crunch-xl:[/] {escape(shown(str(error)))}")
        raise typer.Exit(EXIT_FILE_ERROR) from None
    raise typer.Exit(summary.exit_status() if once else 0)


class _Stop:
    """The signal that asked crunch-xl to stop (None until one has)."""

    signal: int | None = None


class _Run:
    """The workbooks this run has written results to, so an unexpected error can say so."""

    written: list[Path] = []


def _interrupt() -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _stopping(stop: Callable[[], None]) -> Iterator[None]:
    """Within: SIGTERM and SIGHUP call ``stop`` once (Ctrl-C's way), and are remembered.

    The command as a whole stops by KeyboardInterrupt, as on Ctrl-C; the watcher, within it,
    by setting its stop event. A signal its parent asked to ignore (``nohup``) stays ignored.
    Signals can only be caught in the main thread; elsewhere (a test runner's thread) nothing
    changes.
    """

    def handle(signum: int, frame: object) -> None:
        first = _Stop.signal is None
        _Stop.signal = signum
        if first:  # a second signal must not interrupt the clean-up of the first
            stop()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for number in STOP_SIGNALS:
        if signal.getsignal(number) is not signal.SIG_IGN:
            previous[number] = signal.signal(number, handle)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _progress(console: Console, quiet: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} scenarios"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet,
    )


def _show(console: Console, report: Report) -> None:
    """Print one workbook's results: a table of scenarios, then reasons and notes."""
    table = Table(title=escape(shown(str(report.file))), title_justify="left")
    for header in ("Sheet", "Status", "Best plan", "Seconds"):
        table.add_column(header, justify="right" if header == "Seconds" else "left")
    for result in report.results:
        style = STATUS_STYLE[result.status]
        table.add_row(
            escape(result.sheet),
            f"[{style}]{result.status.value}[/]",
            escape(_best(result)),
            f"{result.seconds:.2f}",
        )
    console.print(table)
    # Sheet names, cell text and file names are the user's: never read as rich markup.
    for result in report.results:
        sheet = escape(result.sheet)
        if result.problems:
            _line(console, f"[bold]{sheet}:[/] {words.count(len(result.problems), 'cell')} to fix")
            for problem in result.problems:
                _line(console, f"  - {escape(str(problem))}")
        elif result.status is not Status.SOLVED:
            _line(console, f"[bold]{sheet}:[/] {escape(result.message)}")
            for suggestion in result.suggestions:
                _line(console, f"  - {escape(_suggestion(suggestion))}")
        for warning in result.warnings:
            _line(console, f"[yellow]{sheet}: warning:[/] {escape(warning)}")
    for note in report.notes:
        _line(console, f"Note: {escape(shown(note))}")
    if report.output is not None:
        _line(console, f"Results written to {escape(shown(str(report.output)))}")


def _line(console: Console, text: str) -> None:
    """Print one message as one line, however narrow the console or log file."""
    console.print(text, highlight=False, soft_wrap=True)


def _errors() -> Console:
    """Return the console for error messages: standard error, a message a line."""
    return Console(stderr=True, soft_wrap=True, highlight=False)


def _suggestion(suggestion: Suggestion) -> str:
    """Return a repair suggestion with the fewest composites it then needs, when known."""
    if suggestion.composites is None:
        return suggestion.text
    then = words.count(suggestion.composites, "composite")
    return f"{suggestion.text} → then at least {then}"


def _best(result: Result) -> str:
    if not result.options:
        return words.verdict(result) if result.status is Status.INVALID else "-"
    best = result.options[0]
    composites = words.count(best.composites, "composite")
    spare = words.count(best.spare, "spare place")
    covers = ""
    if best.covers_estimates is not None:
        covering = [o.rank for o in result.options if o.covers_estimates]
        covers = (
            f"; estimates covered by {words.numbered('option', covering)}"
            if covering
            else "; no option covers the estimates"
        )
    return (
        f"{len(best.classes)} classes, {composites}, {spare} in the fullest, "
        f"largest {best.largest}, spread {best.spread} "
        f"({words.count(len(result.options), 'option')}{covers})"
    )


def _write_json(reports: list[Report], path: str, errors: Console) -> None:
    data = report_json(reports)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if not text.isascii() and not _encodable(text):
        # A file name with bytes that are not text: JSON's escapes keep it exact.
        text = json.dumps(data, indent=2)
    if path == "-":
        sys.stdout.write(text + "\n")
        return
    try:
        write_atomically(Path(path), text + "\n")
    except OSError as error:
        errors.print(
            f"[red]crunch-xl:[/] cannot write {escape(shown(path))} "
            f"({error.strerror or 'not written'}); nothing was changed there."
        )
        raise typer.Exit(EXIT_FILE_ERROR) from None


def _encodable(text: str) -> bool:
    """Return whether the text can be written as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _fail_usage(message: str) -> None:
    _errors().print(f"[red]crunch-xl:[/] {escape(message)}")
    raise typer.Exit(EXIT_BAD_COMMAND)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return its exit status (never shows a traceback)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] not in COMMANDS and args[0] not in ("-h", "--help", "--version"):
        args.insert(0, "solve")  # `crunch-xl plan.xlsx` means `crunch-xl solve plan.xlsx`
    _Stop.signal = None
    _Run.written = []
    try:
        with _stopping(_interrupt):
            status = app(args, prog_name="crunch-xl", standalone_mode=False)
    except typer.Exit as done:
        status = done.exit_code
    except SystemExit as done:  # click's own exits (usage errors print before raising)
        return done.code if isinstance(done.code, int) else EXIT_BAD_COMMAND
    except (KeyboardInterrupt, typer.Abort):
        status = EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last line of defence: no traceback
        if _Stop.signal is not None:  # stopping broke something on the way (a closed terminal)
            status = EXIT_INTERRUPTED
        else:
            show = getattr(error, "show", None)
            if callable(show) and isinstance(getattr(error, "exit_code", None), int):
                show()  # a usage error from Typer's click: print it as click would
                return EXIT_BAD_COMMAND
            _say_error(
                f"[red]crunch-xl: internal error:[/] {type(error).__name__}: "
                f"{escape(shown(str(error)))}. {escape(_what_was_written())} Please report this."
            )
            return EXIT_FILE_ERROR
    if _Stop.signal is not None:
        status = 128 + _Stop.signal
    if status == EXIT_INTERRUPTED or _Stop.signal is not None:
        _say_error(STOPPED, markup=False)
    return status if isinstance(status, int) else 0


def _what_was_written() -> str:
    """Return what this run changed on disk before it failed, for the internal-error line."""
    if not _Run.written:
        return "Your workbook was not changed."
    written = words.join(shown(str(path)) for path in _Run.written)
    return f"Results were already written to {written}; no other workbook was changed."


def _say_error(text: str, *, markup: bool = True) -> None:
    """Print one line on standard error, or nothing where it has gone (a closed terminal)."""
    with contextlib.suppress(OSError, ValueError):
        _errors().print(text, markup=markup)


def _let_go_of_a_closed_terminal() -> None:
    """Point standard output and error at nothing if they have gone (a closed terminal).

    What cannot be flushed now would fail again as Python exits, which would then end with
    status 120 instead of the command's own.
    """
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            stream.flush()
        except (OSError, ValueError):
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def run() -> None:
    """Entry point of the `crunch-xl` script."""
    status = main()
    _let_go_of_a_closed_terminal()
    sys.exit(status)
