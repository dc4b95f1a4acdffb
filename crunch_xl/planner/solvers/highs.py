"""HiGHS, in this process through highspy: no process to start, no files to write."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import ClassVar, NamedTuple

import highspy
import pulp

from crunch_xl.planner.solvers.base import OBJECTIVE_GAP, Answer, Outcome

_FIRST = threading.Lock()
#: A gap so wide that the first solution found closes it.
_ANY = 1e30
_started = False


class Highs:
    """The HiGHS MIP solver, run in this process on one thread."""

    name: ClassVar[str] = "highs"

    @classmethod
    def available(cls) -> bool:
        """Return True: highspy is one of crunch-xl's dependencies."""
        return True

    def __init__(self) -> None:
        self._kept = threading.local()

    def solve(
        self, problem: pulp.LpProblem, seconds: float, *, relaxed: bool = False, first: bool = False
    ) -> Answer:
        """Return the answer to the model within about `seconds`.

        The same model asked again with only its variables' bounds changed (the planner does
        so to list structures box by box) is not passed to HiGHS again: only the bounds are.
        """
        solver, names = self._model(problem)
        solver.setOptionValue("time_limit", max(float(seconds), 0.01))
        solver.setOptionValue("solve_relaxation", relaxed)
        solver.setOptionValue("mip_rel_gap", _ANY if first else 0.0)
        if not _run(solver):
            return Answer(Outcome.UNKNOWN)
        status = solver.getModelStatus()
        statuses = highspy.HighsModelStatus
        if status in (statuses.kInfeasible, statuses.kUnboundedOrInfeasible):
            # The planner's models are bounded: every variable has finite bounds.
            return Answer(Outcome.INFEASIBLE)
        has_solution = solver.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        if not has_solution:
            return Answer(Outcome.UNKNOWN)
        values = dict(zip(names, solver.getSolution().col_value, strict=True))
        outcome = Outcome.OPTIMAL if status == statuses.kOptimal else Outcome.FEASIBLE
        return Answer(outcome, values)

    def _model(self, problem: pulp.LpProblem) -> tuple[highspy.Highs, list[str]]:
        """Return a solver holding the model, and its column names (the last few models
        asked are kept per thread: a school in parts alternates between three, parts.py).

        A model is a kept one when it is the same problem with as many variables and rows,
        and the same objective; its variables are then the kept list (asking PuLP for them
        walks every row, which on a small model costs more than the solve).
        """
        kept: OrderedDict[int, _Kept] | None = getattr(self._kept, "models", None)
        if kept is None:
            kept = self._kept.models = OrderedDict()
        objective = problem.objective or {}
        terms = tuple((var.name, coefficient) for var, coefficient in objective.items())
        shape = (problem.numVariables(), problem.numConstraints(), problem.sense, terms)
        entry = kept.get(id(problem))
        if entry is not None and entry.problem is problem and entry.shape == shape:
            kept.move_to_end(id(problem))
            solver, variables, names = entry.solver, entry.variables, entry.names
            lower = [-highspy.kHighsInf if v.lowBound is None else v.lowBound for v in variables]
            upper = [highspy.kHighsInf if v.upBound is None else v.upBound for v in variables]
            solver.changeColsBounds(len(variables), list(range(len(variables))), lower, upper)
            return solver, names
        solver = _new_solver()
        solver.setOptionValue("mip_abs_gap", OBJECTIVE_GAP)
        variables = list(problem.variables())
        _pass_model(solver, problem, variables)
        names = [var.name for var in variables]
        kept[id(problem)] = _Kept(problem, shape, solver, variables, names)
        while len(kept) > _KEPT_MODELS:
            kept.popitem(last=False)
        return solver, names


#: How many models each thread keeps passed to HiGHS.
_KEPT_MODELS = 4


class _Kept(NamedTuple):
    """A model passed to HiGHS, kept to be asked again with other bounds."""

    problem: pulp.LpProblem
    shape: tuple[object, ...]
    solver: highspy.Highs
    variables: list[pulp.LpVariable]
    names: list[str]


#: Solvers running now, each with the event set when it has finished.
_RUNNING: dict[int, tuple[highspy.Highs, threading.Event]] = {}
_RUNNING_LOCK = threading.Lock()
_exiting = False


def stop_all() -> None:
    """Cancel every solve still running, wait for each to end, and start no more (the
    interpreter is exiting).

    A solve left running in a thread when the interpreter shuts down would be torn out of
    HiGHS mid-step, which aborts the process; so would one that a planning thread still
    running starts afterwards.
    """
    global _exiting
    with _RUNNING_LOCK:
        _exiting = True
        running = list(_RUNNING.values())
    for solver, _ in running:
        solver.cancelSolve()
    for _, finished in running:
        finished.wait(5.0)


atexit.register(stop_all)


def _run(solver: highspy.Highs) -> bool:
    """Run the solver, known to stop_all while it runs (False: not run, the process is
    exiting)."""
    finished = threading.Event()
    with _RUNNING_LOCK:
        if _exiting:
            return False
        _RUNNING[id(solver)] = (solver, finished)
    try:
        _run_interruptibly(solver)
    finally:
        with _RUNNING_LOCK:
            _RUNNING.pop(id(solver), None)
        finished.set()
    return True


def _run_interruptibly(solver: highspy.Highs) -> None:
    """Run the solver; in the main thread, so that Ctrl-C (or a SIGTERM turned into it) stops
    a long solve at once rather than after it.

    HiGHS lets go of Python while it solves, but Python handles signals only in the main
    thread, between its own steps: there the solve runs in a thread of its own while the
    main thread waits, and an interruption cancels it. (highspy's own way of doing this
    shares one lock between every solver in the process, so solves in the watched folder's
    worker threads would refuse each other.)
    """
    if threading.current_thread() is not threading.main_thread():
        solver.run()
        return
    finished = threading.Event()

    def solve() -> None:
        try:
            solver.run()
        finally:
            finished.set()

    thread = threading.Thread(target=solve, name="crunch-xl HiGHS", daemon=True)
    thread.start()
    try:
        while not finished.wait(0.05):
            pass
    except BaseException:
        solver.cancelSolve()
        thread.join()
        raise


def _new_solver() -> highspy.Highs:
    """Return a silent HiGHS on one thread (its first creation prints a banner: hidden)."""
    global _started
    with _FIRST:
        context = contextlib.nullcontext() if _started else _hidden_stdout()
        with context:
            solver = highspy.Highs()
            solver.setOptionValue("output_flag", False)
            # One thread: the planner's questions are small, and HiGHS keeps one thread
            # count for the whole process.
            solver.setOptionValue("threads", 1)
            # No feasibility jump: that heuristic spends a fixed few milliseconds on every
            # MIP before the root is solved, several times what the planner's small models
            # take to solve outright, and it proves nothing.
            solver.setOptionValue("mip_heuristic_run_feasibility_jump", False)
        _started = True
    return solver


@contextlib.contextmanager
def _hidden_stdout() -> Iterator[None]:
    """Hide what is written to the process's standard output (file descriptor 1)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no standard output at all: nothing to hide
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _pass_model(
    solver: highspy.Highs, problem: pulp.LpProblem, variables: list[pulp.LpVariable]
) -> None:
    """Give HiGHS the model in one call, its columns in the order of `variables`."""
    column = {var.name: index for index, var in enumerate(variables)}
    lp = highspy.HighsLp()
    lp.num_col_ = len(variables)
    constraints = problem.constraints()
    lp.num_row_ = len(constraints)
    infinity = highspy.kHighsInf
    sense = -1 if problem.sense == pulp.LpMaximize else 1
    objective = problem.objective or {}
    lp.col_cost_ = [sense * objective.get(var, 0.0) for var in variables]
    lp.col_lower_ = [-infinity if v.lowBound is None else v.lowBound for v in variables]
    lp.col_upper_ = [infinity if v.upBound is None else v.upBound for v in variables]
    starts, indices, coefficients = [0], [], []
    lower, upper = [], []
    for constraint in constraints:
        for var, coefficient in constraint.items():
            if coefficient:
                indices.append(column[var.name])
                coefficients.append(coefficient)
        starts.append(len(indices))
        low, high = constraint.getLb(), constraint.getUb()
        lower.append(-infinity if low is None else low)
        upper.append(infinity if high is None else high)
    lp.row_lower_ = lower
    lp.row_upper_ = upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = starts
    lp.a_matrix_.index_ = indices
    lp.a_matrix_.value_ = coefficients
    integer, continuous = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
    lp.integrality_ = [integer if v.cat == pulp.LpInteger else continuous for v in variables]
    solver.passModel(lp)
