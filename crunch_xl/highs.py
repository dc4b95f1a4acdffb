"""HiGHS beside CBC: one solve of an MPS file in a thread of its own, in CBC's answer format.

On the 32 questions of the benchmark's large and K-12 schools that took the race over 0.2 s,
replayed one solver each, HiGHS beat CBC with its cuts and heuristics off (the first racer)
on 12, by up to 0.9 s on k12-02 T's spread proof; CBC's defaults, the second racer before,
added less (see benchmarks/README.md, item 19). So where highspy is installed, HiGHS is the
second racer (cbc.solve). It runs in this process (its solver releases the GIL) and writes
its answer as CBC writes a solution file, so the race reads either the same way, and it looks
like a CBC process to the race (poll, returncode, kill, wait).

Before any racer, cbc.solve asks HiGHS whether a model's linear relaxation has a solution at
all (Relaxation): where it has none, nor does the model.

A run may be given the question put another way (Restated: another objective, one row's
bounds widened), which HiGHS tries first: its answer stands for the question's where the
model's owner says it does (counting.py's fewest classes first), else the question as asked
is solved.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

_banner_lock = threading.Lock()
_banner_shown = False


def available() -> bool:
    """Return whether highspy can be imported here."""
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


def silence_banner() -> None:
    """Let HiGHS print its start-up banner once, into nothing, so no later solve prints it.

    highspy writes the banner to the process's standard output (file descriptor 1, not
    sys.stdout) the first time a solver is built, whatever msg says; the library never prints,
    and `crunch-xl --json -` needs clean standard output.
    """
    global _banner_shown
    with _banner_lock:
        if _banner_shown:
            return
        _banner_shown = True
        try:
            import highspy
        except ImportError:
            return
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as nothing:
                os.dup2(nothing.fileno(), 1)
                with contextlib.suppress(Exception):
                    highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)


@dataclass
class Relaxation:
    """A model with every whole-number rule dropped (a linear programme), row by row.

    When it has no solution, the model has none either: HiGHS's proof of that is a proof for
    the model. That settles three in four of the benchmark suite's impossible questions in
    1-2 ms on primary schools (about 9 ms on K-12 schools), in this process, where a CBC took
    3-20 ms, most of it handing over the model and reading the answer (cbc.solve asks it
    first). Bounds are None where a column or row has none on that side.
    """

    column_lower: list[float | None] = field(default_factory=list)
    column_upper: list[float | None] = field(default_factory=list)
    row_lower: list[float | None] = field(default_factory=list)
    row_upper: list[float | None] = field(default_factory=list)
    #: Row r's entries are index[starts[r]:starts[r + 1]] (columns) and values[...].
    starts: list[int] = field(default_factory=lambda: [0])
    index: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def impossible(self) -> bool:
        """Return whether HiGHS proves the linear programme has no solution (False: it did
        not, for whatever reason; the solvers then answer)."""
        try:
            return self._impossible()
        except Exception:  # a check that fails proves nothing: CBC still answers
            return False

    def _impossible(self) -> bool:
        silence_banner()
        import highspy
        import numpy

        def bounds(values: list[float | None], missing: float) -> Any:
            return numpy.array([missing if v is None else v for v in values], dtype=float)

        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(self.column_lower), len(self.row_lower)
        lp.col_cost_ = numpy.zeros(lp.num_col_)
        lp.col_lower_ = bounds(self.column_lower, -math.inf)
        lp.col_upper_ = bounds(self.column_upper, math.inf)
        lp.row_lower_ = bounds(self.row_lower, -math.inf)
        lp.row_upper_ = bounds(self.row_upper, math.inf)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = numpy.array(self.starts, dtype=numpy.int32)
        lp.a_matrix_.index_ = numpy.array(self.index, dtype=numpy.int32)
        lp.a_matrix_.value_ = numpy.array(self.values, dtype=float)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        # One thread: HiGHS then starts no workers in the caller's thread (highspy warns that
        # workers left behind can deadlock Windows). Where this thread's HiGHS already runs
        # more, HiGHS refuses to run, and the question goes to the solvers as before.
        h.setOptionValue("threads", 1)
        if h.passModel(lp) == highspy.HighsStatus.kError:
            return False
        h.run()
        return bool(h.getModelStatus() == highspy.HighsModelStatus.kInfeasible)


@dataclass(frozen=True)
class Restated:
    """A question put another way, by column and row names: another objective (minimised) and
    one row's bounds.

    The owner of the model vouches for the meaning: the restated model's "infeasible" is the
    question's, and so is an optimal answer whose row value lies within `settles`. Any other
    answer settles nothing, and the question is then solved as asked.
    """

    #: Objective cost of each column named; every other column costs nothing.
    costs: Mapping[str, float]
    row: str
    lower: float | None
    upper: float | None
    settles: tuple[float, float]

    def settled_by(self, row_value: float) -> bool:
        """Return whether an optimal answer with this value of the row settles the question."""
        low, high = self.settles
        return low - 1e-6 <= row_value <= high + 1e-6

    def renamed(self, columns: Mapping[str, str], rows: Mapping[str, str]) -> Restated | None:
        """Return it under the names a file gives the model's columns and rows (None: its row
        is not there); columns the file does not name are left out."""
        if self.row not in rows:
            return None
        costs = {columns[name]: cost for name, cost in self.costs.items() if name in columns}
        return Restated(costs, rows[self.row], self.lower, self.upper, self.settles)


class Run:
    """One HiGHS solve of an MPS model, started at once in a thread; its answer goes to a file.

    The file is written as CBC writes its solution (a status line, then one line per column:
    index, name, value, 0), and only once the solve has ended by itself: a run that is
    stopped writes nothing. start holds values of some columns (by their MPS names) of a valid
    solution to begin from.

    whole_by_flow names integer columns that are whole anyway once every other integer column
    is: with those fixed, the rest is a network flow with whole-number limits. HiGHS solves
    them as continuous, which settles the same questions with the same optimum (every flow
    problem with whole-number limits that has a solution has a whole one), and on the
    benchmark's hardest questions took it 17 s in all instead of 27 s; the answer's values
    are then made whole by one more solve, a linear programme with the other integer columns
    fixed, whose simplex answer is a vertex of that flow and so whole. Where it is not, the
    run writes nothing and CBC's answer is waited for.

    restated, when given, is tried first (see Restated); where it settles nothing, the model
    as given is solved in the time left.
    """

    def __init__(
        self,
        model: str,
        solution: str,
        seconds: float,
        *,
        maximise: bool = False,
        start: Mapping[str, float] | None = None,
        exited: threading.Event | None = None,
        whole_by_flow: Collection[str] = (),
        restated: Restated | None = None,
    ) -> None:
        silence_banner()
        import highspy

        self._highs: Any = highspy.Highs()
        # Solved in highspy's own thread, which kill() can stop (and which works around a
        # deadlock on Windows, says highspy), waited for in ours.
        self._highs.HandleKeyboardInterrupt = True
        self._solution = solution
        self._stopped = False
        self.returncode: int | None = None
        self._whole_by_flow = frozenset(whole_by_flow)
        self._restated = restated
        # The model as last read (_load): its column names and kinds, and the columns solved
        # as continuous.
        self._names: list[str] = []
        self._integral: list[Any] = []
        self._relaxed: list[int] = []
        self._thread = threading.Thread(
            target=self._run, args=(model, seconds, maximise, start or {}, exited), daemon=True
        )
        self._thread.start()

    def _run(
        self,
        model: str,
        seconds: float,
        maximise: bool,
        start: Mapping[str, float],
        exited: threading.Event | None,
    ) -> None:
        try:
            self._solve(model, seconds, maximise, start)
            self.returncode = 0
        except Exception:  # an answer nobody can read is no answer: CBC still runs
            self.returncode = 1
        finally:
            if exited is not None:
                exited.set()

    def _solve(
        self, model: str, seconds: float, maximise: bool, start: Mapping[str, float]
    ) -> None:
        import highspy

        h = self._highs
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)  # the other core runs CBC
        h.setOptionValue("mip_rel_gap", 0.0)  # "optimal" means proven, as for CBC
        until = time.monotonic() + max(seconds, 0.05)
        if self._restated is not None:
            if not self._load(model, maximise, start):
                return
            answer = self._restated_answer(self._restated, until)
            if answer is not None:
                self._write(*answer)
                return
        if self._stopped or not self._load(model, maximise, start):
            return
        self._limit(until)
        h.solve()
        if self._stopped:
            return
        status = h.getModelStatus()
        found = h.getInfo().primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        if status == highspy.HighsModelStatus.kOptimal:
            first = "Optimal"
        elif status == highspy.HighsModelStatus.kInfeasible:
            first, found = "Infeasible", False
        else:  # time limit or anything else: not settled, a solution only if it has one
            first = "Stopped on time"
        values = self._whole(list(h.getSolution().col_value)) if found else []
        if values is None:
            return  # no whole answer to give: CBC still runs
        objective = h.getInfo().objective_function_value if found else 0
        if found or first == "Infeasible":
            self._write(f"{first} - objective value {objective:.8g}", values)
        else:
            self._write(f"{first} without a solution", [])

    def _load(self, model: str, maximise: bool, start: Mapping[str, float]) -> bool:
        """Read the model afresh (the children continuous, the start given); False: failed."""
        import highspy

        h = self._highs
        if self._stopped or h.readModel(model) == highspy.HighsStatus.kError:
            return False
        h.setOptionValue("solver", "choose")  # _vertex asks for simplex
        lp = h.getLp()
        self._names, self._integral = list(lp.col_names_), list(lp.integrality_)
        self._relaxed = [i for i, name in enumerate(self._names) if name in self._whole_by_flow]
        if self._relaxed and self._integral:
            h.changeColsIntegrality(
                len(self._relaxed),
                self._relaxed,
                [highspy.HighsVarType.kContinuous] * len(self._relaxed),
            )
        if maximise:
            h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        if start:
            where = {name: i for i, name in enumerate(self._names)}
            known = [(where[name], value) for name, value in start.items() if name in where]
            h.setSolution(len(known), [i for i, _ in known], [v for _, v in known])
        return True

    def _restated_answer(self, restated: Restated, until: float) -> tuple[str, list[float]] | None:
        """Return the answer (first line, values) to the question as restated, where it settles
        the question as asked (None: it does not, or the run was stopped)."""
        import highspy

        h = self._highs
        lp = h.getLp()
        costs = list(lp.col_cost_)
        rows = list(lp.row_names_)
        if restated.row not in rows:
            return None
        row = rows.index(restated.row)
        h.changeObjectiveSense(highspy.ObjSense.kMinimize)
        h.changeColsCost(
            len(costs), list(range(len(costs))), [restated.costs.get(n, 0.0) for n in self._names]
        )
        h.changeRowBounds(
            row,
            -highspy.kHighsInf if restated.lower is None else restated.lower,
            highspy.kHighsInf if restated.upper is None else restated.upper,
        )
        self._limit(until)
        h.solve()
        if self._stopped:
            return None
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return "Infeasible - objective value 0", []
        if status != highspy.HighsModelStatus.kOptimal:
            return None
        if not restated.settled_by(h.getSolution().row_value[row]):
            return None  # an answer to the restated question only
        values = self._whole(list(h.getSolution().col_value))
        if values is None:
            return None
        objective = sum(c * v for c, v in zip(costs, values, strict=True))  # as asked
        return f"Optimal - objective value {objective:.8g}", values

    def _limit(self, until: float) -> None:
        """Let the next solve run until `until` (time.monotonic()). HiGHS's clock runs on from
        one solve of a run to the next, so its limit is counted from where that clock is."""
        left = max(until - time.monotonic(), 0.05)
        self._highs.setOptionValue("time_limit", self._highs.getRunTime() + left)

    def _whole(self, values: list[float]) -> list[float] | None:
        """Return the values with the children made whole (see _vertex); None: not possible."""
        if self._relaxed and self._integral:
            return self._vertex(values, self._integral, self._relaxed)
        return values

    def _write(self, first: str, values: list[float]) -> None:
        """Write the answer as CBC writes its solution file: a status line, then the values
        (none: no solution)."""
        lines = [first]
        if values:
            lines += [
                f"{i} {name} {value:.10g} 0"
                for i, (name, value) in enumerate(zip(self._names, values, strict=True))
            ]
        with open(self._solution, "w") as file:
            file.write("\n".join(lines) + "\n")

    def _vertex(
        self, values: list[float], integral: list[Any], relaxed: list[int]
    ) -> list[float] | None:
        """Return the solution with the relaxed columns whole (None: none found, or stopped).

        With every other integer column fixed at its value, what is left is a network flow
        with whole-number limits; simplex ends at a vertex of it, and every vertex is whole.
        """
        import highspy

        h = self._highs
        skip = set(relaxed)
        fixed = [
            i
            for i, kind in enumerate(integral)
            if kind != highspy.HighsVarType.kContinuous and i not in skip
        ]
        at = [float(round(values[i])) for i in fixed]
        h.changeColsBounds(len(fixed), fixed, at, at)
        h.changeColsIntegrality(len(fixed), fixed, [highspy.HighsVarType.kContinuous] * len(fixed))
        h.setOptionValue("solver", "simplex")
        # HiGHS's clock runs on from the search, which may have used the whole time limit
        # (an answer found, not proven): the flow, a small linear programme, gets a second.
        h.setOptionValue("time_limit", h.getRunTime() + 1.0)
        if self._stopped:
            return None
        h.solve()
        if self._stopped or h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        vertex = list(h.getSolution().col_value)
        if any(abs(vertex[i] - round(vertex[i])) > 1e-6 for i in relaxed):
            return None
        return vertex

    def poll(self) -> int | None:
        """Return None while HiGHS runs, then 0 (an answer written, or none) or 1 (it failed)."""
        return None if self._thread.is_alive() else self.returncode

    def kill(self) -> None:
        """Stop HiGHS (it looks for the request now and then, within milliseconds)."""
        self._stopped = True
        with contextlib.suppress(Exception):
            self._highs.cancelSolve()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the run to end (at most timeout seconds, if given); return its returncode
        (None while it still runs).

        A stopped run is asked again while it lasts: a request made just before highspy
        started its solve would otherwise be lost (starting clears it).
        """
        until = None if timeout is None else time.monotonic() + timeout
        while self._thread.is_alive() and (until is None or time.monotonic() < until):
            if self._stopped:
                with contextlib.suppress(Exception):
                    self._highs.cancelSolve()
            self._thread.join(0.02)
        return self.returncode
