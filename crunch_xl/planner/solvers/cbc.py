"""CBC, the solver bundled with PuLP 3, run as a child process on an MPS file.

Every CBC process is started here and ends here: a solve that is interrupted (Ctrl-C, a
signal turned into an exception, an error) kills its process before the exception goes on,
and whatever still runs when the interpreter exits is killed then.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import ClassVar

import pulp
from pulp.apis import coin_api

from crunch_xl.planner.solvers.base import OBJECTIVE_GAP, Answer, Outcome

#: Seconds CBC gets beyond its own time limit to write its answer before it is killed.
_GRACE = 2.0

_RUNNING: set[subprocess.Popen[bytes]] = set()
_LOCK = threading.Lock()
_exiting = False


class Cbc:
    """The CBC MIP solver bundled with PuLP."""

    name: ClassVar[str] = "cbc"

    @classmethod
    def available(cls) -> bool:
        """Return whether the bundled CBC program is there and can run."""
        path = Path(_program())
        return path.is_file() and os.access(path, os.X_OK)

    def solve(
        self, problem: pulp.LpProblem, seconds: float, *, relaxed: bool = False, first: bool = False
    ) -> Answer:
        """Return the answer to the model within about `seconds`."""
        with tempfile.TemporaryDirectory(prefix="crunch-xl-") as folder:
            model = Path(folder, "model.mps")
            solution = Path(folder, "model.sol")
            _, renamed, _, _ = problem.writeMPS(str(model), rename=True)
            names = {new: old for old, new in renamed.items()}
            limit = max(seconds, 0.01)
            arguments = [_program(), str(model)]
            if problem.sense == pulp.LpMaximize:
                arguments.append("-max")
            gap = ["-allow", "1e30"] if first else ["-allow", str(OBJECTIVE_GAP)]
            # No "-threads": given it (even "-threads 1"), this CBC starts its threaded mode,
            # which deadlocks as it starts about once in a hundred runs; without it, one
            # thread.
            arguments += [
                "-sec", f"{limit:.3f}", *gap,
                "-timeMode", "elapsed", "-initialSolve" if relaxed else "-solve",
                "-printingOptions", "all",
                "-solution", str(solution),
            ]  # fmt: skip
            if not _run(arguments, limit + _GRACE) or not solution.is_file():
                return Answer(Outcome.UNKNOWN)
            return _read(solution, names)


def _program() -> str:
    """Return the path of the CBC program bundled with PuLP."""
    return str(coin_api.PULP_CBC_CMD.pulp_cbc_path)


def _run(arguments: list[str], seconds: float) -> bool:
    """Run CBC to the end (True) or kill it after `seconds` or on any interruption (False)."""
    options: dict[str, object] = {}
    if os.name == "nt":  # no console window flashing up for each solve
        info = subprocess.STARTUPINFO()  # type: ignore[attr-defined,unused-ignore]
        info.dwFlags |= subprocess.STARTF_USESHOWWINDOW  # type: ignore[attr-defined,unused-ignore]
        options["startupinfo"] = info
    with _LOCK:
        # A planning thread still running as the process exits must not start a CBC that
        # would outlive it.
        if _exiting:
            return False
        process = subprocess.Popen(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **options,  # type: ignore[call-overload]
        )
        _RUNNING.add(process)
    try:
        process.wait(timeout=seconds)
        return process.returncode == 0
    except subprocess.TimeoutExpired:
        return False
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the process if it still runs, wait for it, and forget it."""
    if process.poll() is None:
        with contextlib.suppress(OSError):
            process.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            process.wait(timeout=5)
    with _LOCK:
        _RUNNING.discard(process)


def stop_all() -> None:
    """Kill every CBC process still running, and start no more (the interpreter is exiting)."""
    global _exiting
    with _LOCK:
        _exiting = True
        running = list(_RUNNING)
    for process in running:
        _stop(process)


atexit.register(stop_all)


def _read(path: Path, names: dict[str, str]) -> Answer:
    """Return the answer in a CBC solution file (columns renamed X0000000, ... in the MPS)."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if not lines:
        return Answer(Outcome.UNKNOWN)
    words = lines[0].split()
    first = words[0] if words else ""
    if first == "Optimal":
        outcome = Outcome.OPTIMAL
    elif first in ("Infeasible", "Integer"):  # "Integer infeasible"
        return Answer(Outcome.INFEASIBLE)
    elif first == "Stopped" and "objective" in words:
        outcome = Outcome.FEASIBLE
    else:
        return Answer(Outcome.UNKNOWN)
    values: dict[str, float] = {}
    for line in lines[1:]:
        parts = line.split()
        if parts and parts[0] == "**":
            parts = parts[1:]
        if len(parts) >= 3 and parts[1] in names:
            values[names[parts[1]]] = float(parts[2])
    return Answer(outcome, values)


__all__ = ["Cbc", "stop_all"]
