"""Running pulp's bundled CBC: two settings raced on one model, the first answer taken.

CBC's time on one question is erratic on the hardest schools (K-12 at the fewest teachers):
the same model took 0.1 s with its cuts off and over 8 s with them on, and the other way
round on the next model; random seeds did not change that. So a solve that has not finished
after a head start gets a second CBC, with cuts off, on the same model file; the first to
answer wins and the other is stopped. Most solves finish within the head start and never
start a second process. A CBC still running half a second past its time limit is stopped too,
so a scenario's time limit holds.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import warnings

import pulp

#: CBC settings raced, in the order they start: its defaults, then cuts off.
SETTINGS: tuple[tuple[str, ...], ...] = ((), ("-cuts", "off"))
#: Seconds the first setting runs alone before the second joins.
HEAD_START = 0.25
#: Seconds a CBC may run past its time limit before it is stopped (it checks its clock only
#: now and then, and was seen running seconds over).
GRACE = 0.5
#: Seconds between looks at the running solvers.
_POLL = 0.005


def bundled_cbc(**options: float) -> pulp.PULP_CBC_CMD:
    """Return pulp's bundled CBC (the default solver), without its deprecation warning.

    pulp 3.3 deprecates PULP_CBC_CMD in favour of a separately installed CBC; we pin pulp<4
    precisely to keep the bundled binary, so the warning says nothing our users can act on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PULP_CBC_CMD is deprecated", category=DeprecationWarning
        )
        return pulp.PULP_CBC_CMD(msg=False, **options)


def solve(problem: pulp.LpProblem, seconds: float) -> None:
    """Solve the problem with the bundled CBC, racing SETTINGS; status and values go into it.

    Like ``problem.solve``: raises pulp.PulpSolverError when no CBC could answer.
    """
    solver = bundled_cbc(timeLimit=seconds)
    if not solver.available():
        raise pulp.PulpSolverError(f"CBC is not available at {solver.path}")
    model, *solutions = solver.create_tmp_files(problem.name, "mps", "a.sol", "b.sol")
    variables, variable_names, constraint_names, _ = problem.writeMPS(model, rename=1)
    # An MPS file holds no sense of optimisation: CBC is told, as pulp does.
    model_args = [model, "-max"] if problem.sense == pulp.LpMaximize else [model]
    deadline = time.monotonic() + seconds
    running: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        first = _start(solver.path, model_args, SETTINGS[0], solutions[0], seconds)
        running.append((first, solutions[0]))
        answer = _first_answer(running, time.monotonic() + HEAD_START)
        for settings, solution in zip(SETTINGS[1:], solutions[1:], strict=True):
            if answer is not None:
                break
            left = deadline - time.monotonic()
            if left > HEAD_START:
                running.append(
                    (_start(solver.path, model_args, settings, solution, left), solution)
                )
            answer = _first_answer(running, deadline + GRACE)
        if answer is None:  # a CBC still running past its limit is stopped (below)
            raise pulp.PulpSolverError("CBC stopped without an answer")
        status, values, _, _, _, solution_status = solver.readsol_MPS(
            answer, problem, variables, variable_names, constraint_names
        )
        problem.assignVarsVals(values)
        problem.assignStatus(status, solution_status)
    finally:
        for process, _ in running:
            if process.poll() is None:
                process.kill()
            process.wait()
        solver.delete_tmp_files(model, *solutions)


def _start(
    path: str, model: list[str], settings: tuple[str, ...], solution: str, seconds: float
) -> subprocess.Popen[bytes]:
    """Start one CBC on the model file, writing its solution file when done."""
    args = [path, *model, "-sec", f"{max(seconds, 0.05):.3f}", "-timeMode", "elapsed"]
    args += [*settings, "-solve", "-printingOptions", "all", "-solution", solution]
    startup = None
    if os.name == "nt":  # no console window flashing up for each solve
        startup = subprocess.STARTUPINFO()  # type: ignore[attr-defined,unused-ignore]
        startup.dwFlags |= subprocess.STARTF_USESHOWWINDOW  # type: ignore[attr-defined,unused-ignore]
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        startupinfo=startup,
    )


def _first_answer(running: list[tuple[subprocess.Popen[bytes], str]], until: float) -> str | None:
    """Return the solution file of the first CBC to answer (None: none by `until`).

    A CBC that stopped at its time limit without settling the question only answers when
    every other one has stopped too (they share one deadline).
    """
    pause = _POLL / 16  # most solves take 10-30 ms: look often at first
    while time.monotonic() < until:
        done = [(p, s) for p, s in running if p.poll() is not None]
        for process, solution in done:
            if process.returncode == 0 and _settled(solution):
                return solution
        if len(done) == len(running):
            usable = [s for p, s in done if p.returncode == 0 and os.path.exists(s)]
            return usable[0] if usable else None
        time.sleep(pause)
        pause = min(2 * pause, _POLL)
    return None


def _settled(solution: str) -> bool:
    """Return whether a CBC solution file says the question was settled (optimal/infeasible)."""
    with contextlib.suppress(OSError), open(solution) as file:
        first = file.readline().lower()
        return first.startswith("optimal") or "infeasible" in first
    return False
