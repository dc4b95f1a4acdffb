"""Running pulp's bundled CBC, raced by a second solver on one model; the first answer taken.

CBC's time on one question is erratic on the hardest schools (K-12 at the fewest teachers):
the same model took 0.1 s with its cuts off and over 8 s with them on, and the other way
round on the next model; random seeds did not change that. So a solve starts CBC with its
cuts and primal heuristics off: these small models are settled by branching, and on 39 hard
questions of the benchmark suite that setting took 31 s in all, CBC's defaults 101 s. One cut
generator is back on, mixed-integer rounding: the rounding of a kind's class count against its
children is what the branching proves, and those cuts proved k12-02 T+1's three hardest
questions impossible 2-3x faster (see benchmarks/README.md, item 30). A solve
that has not finished after a head start gets a second racer on the same model file: HiGHS
(highs.py), or where highspy is missing CBC with its defaults. The first to answer wins and
the other is stopped. Most solves finish within the head start and never start a second one.
A racer still running half a second past its time limit is stopped too, so a scenario's time
limit holds.

A solve may be given a start: values of some variables that make up a valid allocation. Both
CBCs then begin from it (a "MIP start"), so their bound only has to catch up with it: on K-12
schools CBC searched seconds for the allocation that its bound then proved best at once.

Starting a CBC process takes about 6 ms, most of a small school's 10-15 ms solve. So a CBC is
started ahead of need (a "spare", see _Spares) and sits waiting for its commands on standard
input; a solve hands it its model and starts the next spare, which loads while the solve runs
and Python builds the next model. A spare solves one model only, then exits: CBC run
interactively on several models carries the previous model's best solution into the next
(it reported an impossible model as solved that way).

Where highspy is installed, a solve without a start first asks HiGHS, in this process, whether
the model's linear relaxation (whole-number rules dropped) has any solution: where it has none,
the model has none, and no CBC is needed. Three in four of the benchmark suite's impossible
questions are settled so, in 1-2 ms on primary schools instead of CBC's 3-20 ms.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Generic, Protocol, TypeVar, cast

import pulp

from crunch_xl import highs

#: CBC settings raced, in the order they start: cuts (but mixed-integer rounding) and
#: heuristics off, then its defaults.
SETTINGS: tuple[tuple[str, ...], ...] = (
    ("-cuts", "off", "-mixedIntegerRoundingCuts", "on", "-heur", "off"),
    (),
)
#: Added to the first setting for a quick model (see solve).
QUICK = ("-preprocess", "off")
#: Seconds the first setting runs alone before the second racer joins. 0.1 rather than 0.25
#: since CBC keeps its rounding cuts: a school's first slow question, which HiGHS often settles
#: at once, took half as long on large-02 T-1 and k12-01 T-1, and the whole suite 15.17 s ->
#: 14.70 s paired (benchmarks/README.md, item 32) ...
HEAD_START = 0.1
#: ... or, on a hard model (see solve), the second racer being HiGHS.
HARD_HEAD_START = 0.02
#: The second racer: "highs" (HiGHS, where highspy is installed; see highs.py) or "cbc"
#: (CBC with the second of SETTINGS, also where highspy is missing).
SECOND = "highs"
#: Seconds a CBC may run past its time limit before it is stopped (it checks its clock only
#: now and then, and was seen running seconds over).
GRACE = 0.5
#: Seconds CBC runs alone before our own search (if any) starts beside it: most solves take
#: 10-30 ms, and the search would only slow noticing that they are done.
SEARCH_AFTER = 0.05
#: Whether solves use CBCs started ahead of need (see _Spares).
PRESTART = True
#: CBCs kept waiting: a spare needs about 4 ms to load.
SPARES = 2
#: Whether a solve without a start first asks HiGHS whether the model's linear relaxation
#: has any solution (see highs.Relaxation), where highspy is installed.
RELAXATION_FIRST = True

T = TypeVar("T")


class _Racer(Protocol):
    """What the race needs of a solver running beside it: a CBC process or a HiGHS run."""

    returncode: int | None

    def poll(self) -> int | None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int | None: ...


#: Seconds between looks at the running solvers (and steps of our own search), at most.
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


def solve(
    problem: pulp.LpProblem,
    seconds: float,
    start: Mapping[pulp.LpVariable, float] | None = None,
    meanwhile: Iterator[T | None] | None = None,
    *,
    quick: bool = False,
    later: Callable[[], Mapping[pulp.LpVariable, float] | None] | None = None,
    hard: bool = False,
    whole_by_flow: Collection[pulp.LpVariable] = (),
    only_highs: bool = False,
    restated: highs.Restated | None = None,
    restated_for_cbc: bool = False,
) -> T | None:
    """Solve the problem with the bundled CBC, raced by HiGHS; status and values go into it.

    start, when given, holds values of some variables of a valid solution to begin from.
    meanwhile, when given, is a search of our own for an answer, run step by step while CBC
    works (it yields None after each step, an answer when it has one); if it answers first,
    CBC is stopped and its answer returned, with the problem left as it was. Otherwise the
    return is None. quick, for a model CBC settles in milliseconds, turns CBC's preprocessing
    off in the first setting: on small schools that is about a tenth of each solve, while on
    K-12 schools it made some questions ten times slower. later, when given, works out a
    start (like start's) once CBC has run SEARCH_AFTER without answering; a CBC begun from
    it, with the first setting, joins the race (where CBC answers at once, or the start is
    None, nothing more runs). hard, for a model that has kept solvers busy before, lets HiGHS
    join after HARD_HEAD_START instead of HEAD_START. whole_by_flow names integer variables
    HiGHS may solve as continuous (see highs.Run). only_highs: HiGHS alone answers, at once
    (the planner's solver "highs"); no CBC runs. restated, when given (by the problem's names),
    is the question put another way, which HiGHS tries first (see highs.Restated);
    restated_for_cbc: the first CBC tries it first too (see _AskedAfter). Without a start, a
    model whose linear relaxation HiGHS proves impossible is reported infeasible at once
    (RELAXATION_FIRST). Like ``problem.solve``: raises pulp.PulpSolverError when no solver
    could answer.
    """
    solver = bundled_cbc(timeLimit=seconds)
    if not solver.available():
        raise pulp.PulpSolverError(f"CBC is not available at {solver.path}")
    if only_highs and not highs.available():
        raise pulp.PulpSolverError("HiGHS (highspy) is not installed")
    if _CLOSING.is_set():
        raise pulp.PulpSolverError("Python is exiting")
    # A start is a solution, so only a model without one may be impossible.
    relax = RELAXATION_FIRST and not start and highs.available()
    if relax and _relaxation(problem).impossible():
        problem.assignStatus(pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible)
        return None
    files = list(
        solver.create_tmp_files(
            problem.name, "mps", "mst", "b.mst", "a.sol", "b.sol", "c.sol", "r.mps"
        )
    )
    running: list[tuple[_Racer, str]] = []
    solving = _Solving(running, files, solver)
    _SOLVING.add(solving)
    try:
        model, begin, begin_later, *solutions, solution_later, restated_model = files
        variables, variable_names, constraint_names, _ = problem.writeMPS(model, rename=1)
        # An MPS file holds no sense of optimisation: CBC is told, as pulp does.
        plain = ["-import", os.path.abspath(model)]
        if problem.sense == pulp.LpMaximize:
            plain.append("-max")
        model_args = list(plain)
        if start:
            _write_start(begin, start, variable_names)
            model_args += ["-mips", os.path.abspath(begin)]
        deadline = time.monotonic() + seconds
        exited = threading.Event()
        opening = (*SETTINGS[0], *QUICK) if quick else SETTINGS[0]

        def join_from(values: Mapping[pulp.LpVariable, float]) -> None:
            left = deadline - time.monotonic()
            if left > 0:
                _write_start(begin_later, values, variable_names)
                args = [*plain, "-mips", os.path.abspath(begin_later)]
                commands = _commands(args, opening, solution_later, left)
                running.append((_start(solver.path, commands, exited), solution_later))

        ours = _Search(meanwhile, _Later(later, join_from))
        head, answer = 0.0, None
        if not only_highs:
            commands = _commands(model_args, opening, solutions[0], seconds)
            first: _Racer | None = None
            if restated is not None and restated_for_cbc:
                written = _write_restated(problem, restated, restated_model)
                if written == (variable_names, constraint_names):  # its answers read alike
                    other = [restated_model if arg == model else arg for arg in commands]

                    def asked() -> subprocess.Popen[bytes]:
                        left = deadline - time.monotonic()
                        again = _commands(model_args, opening, solutions[0], left)
                        return _start(solver.path, again, exited)

                    first = _AskedAfter(
                        _start(solver.path, other, exited),
                        asked,
                        solutions[0],
                        constraint_names[restated.row],
                        restated,
                    )
            if first is None:
                first = _start(solver.path, commands, exited)
            running.append((first, solutions[0]))
            head = HARD_HEAD_START if hard else HEAD_START
            answer = _first_answer(running, time.monotonic() + head, ours, exited)
        left = deadline - time.monotonic()
        if answer is None and ours.answer is None and not _CLOSING.is_set():
            if only_highs or (left > head and SECOND == "highs" and highs.available()):
                named = {variable_names[v.name]: value for v, value in (start or {}).items()}
                maximise = problem.sense == pulp.LpMaximize
                second: _Racer = highs.Run(
                    model,
                    solutions[1],
                    left,
                    maximise=maximise,
                    start=named,
                    exited=exited,
                    whole_by_flow={
                        variable_names[v.name] for v in whole_by_flow if v.name in variable_names
                    },
                    restated=None
                    if restated is None
                    else restated.renamed(variable_names, constraint_names),
                )
                running.append((second, solutions[1]))
            elif left > head:
                commands = _commands(model_args, SETTINGS[1], solutions[1], left)
                running.append((_start(solver.path, commands, exited), solutions[1]))
            answer = _first_answer(running, deadline + GRACE, ours, exited)
        if ours.answer is not None:
            return ours.answer
        if answer is None or _CLOSING.is_set():  # a CBC running past its limit: stopped below
            raise pulp.PulpSolverError("CBC stopped without an answer")
        status, values, _, _, _, solution_status = solver.readsol_MPS(
            answer, problem, variables, variable_names, constraint_names
        )
        problem.assignVarsVals(values)
        problem.assignStatus(status, solution_status)
        return None
    finally:
        solving.stop()
        _SOLVING.discard(solving)  # only now: Python, exiting, waits for this (_stop_solving)
        if PRESTART and not _CLOSING.is_set():  # spares load while the next model is built
            _SPARES.replenish(solver.path)


def _write_restated(
    problem: pulp.LpProblem, restated: highs.Restated, path: str
) -> tuple[dict[str, str], dict[str, str]] | None:
    """Write the question put another way as an MPS file; return its names of columns and
    rows (None: pulp cannot say it, such as a row bounded on both sides)."""
    row = problem.get_constraint_by_name(restated.row)
    if row is None or problem.sense != pulp.LpMinimize:  # CBC is told "-max" for the asked one
        return None
    if restated.lower is None and restated.upper is not None:
        sense, bound = pulp.LpConstraintLE, restated.upper
    elif restated.upper is None and restated.lower is not None:
        sense, bound = pulp.LpConstraintGE, restated.lower
    elif restated.lower == restated.upper and restated.lower is not None:
        sense, bound = pulp.LpConstraintEQ, restated.lower
    else:
        return None
    other = pulp.LpProblem(problem.name, pulp.LpMinimize)
    columns = problem.variablesDict()
    other += pulp.lpSum(
        cost * columns[name] for name, cost in restated.costs.items() if name in columns
    )
    terms = pulp.LpAffineExpression(list(row.items()))  # without the row's own bound
    for constraint in problem.constraints():  # in order, so the file names them alike
        if constraint.name == restated.row:
            constraint = pulp.LpConstraint(terms, sense, restated.row, bound)
        other.addConstraint(constraint)  # the rules are shared, not copied, nor changed
    _, variable_names, constraint_names, _ = other.writeMPS(path, rename=1)
    return variable_names, constraint_names


def _relaxation(problem: pulp.LpProblem) -> highs.Relaxation:
    """Return the problem's constraints and bounds, whole-number rules dropped."""
    relaxation = highs.Relaxation()
    column: dict[pulp.LpVariable, int] = {}
    for constraint in problem.constraints():
        for variable, value in constraint.items():
            at = column.get(variable)
            if at is None:
                at = column[variable] = len(column)
                relaxation.column_lower.append(variable.lowBound)
                relaxation.column_upper.append(variable.upBound)
            relaxation.index.append(at)
            relaxation.values.append(value)
        relaxation.starts.append(len(relaxation.index))
        # pulp keeps "expression + constant (sense) 0"
        bound = -constraint.constant
        sense = constraint.sense
        relaxation.row_lower.append(bound if sense != pulp.LpConstraintLE else None)
        relaxation.row_upper.append(bound if sense != pulp.LpConstraintGE else None)
    return relaxation


def _write_start(
    path: str, start: Mapping[pulp.LpVariable, float], names: Mapping[str, str]
) -> None:
    """Write a MIP start in CBC's solution format, under the names the MPS file gives."""
    lines = ["Stopped on time - objective value 0"]
    lines += [f"{i} {names[var.name]} {value:g} 0" for i, (var, value) in enumerate(start.items())]
    with open(path, "w") as file:
        file.write("\n".join(lines) + "\n")


def _commands(
    model: list[str], settings: tuple[str, ...], solution: str, seconds: float
) -> list[str]:
    """Return CBC's command line for one run: the model, its settings, where its answer goes."""
    commands = [*model, "-sec", f"{max(seconds, 0.05):.3f}", "-timeMode", "elapsed", *settings]
    return [*commands, "-solve", "-printingOptions", "all", "-solution", os.path.abspath(solution)]


def _start(path: str, commands: list[str], exited: threading.Event) -> subprocess.Popen[bytes]:
    """Start one CBC on the commands (a spare where one is waiting); return its process.

    A thread waits for it and sets `exited` the moment it ends, so its answer is taken
    without waiting for the next look (most solves take 10-30 ms, a look every few ms
    was a tenth of that).
    """
    process = _SPARES.take(path) if PRESTART and _typeable(commands) else None
    if process is not None:
        try:
            assert process.stdin is not None
            process.stdin.write(_typed(commands))
            process.stdin.close()
        except OSError:  # the spare has gone (stopped from outside): start one as usual
            process.kill()
            process.wait()
            process = None
    if process is None:
        process = _launch([path, *commands])
    threading.Thread(target=_signal_exit, args=(process, exited), daemon=True).start()
    return process


def _launch(args: list[str]) -> subprocess.Popen[bytes]:
    """Start CBC; with the binary alone as args, it waits for commands on standard input."""
    startup = None
    if os.name == "nt":  # no console window flashing up for each solve
        startup = subprocess.STARTUPINFO()  # type: ignore[attr-defined,unused-ignore]
        startup.dwFlags |= subprocess.STARTF_USESHOWWINDOW  # type: ignore[attr-defined,unused-ignore]
    return subprocess.Popen(
        args,
        stdin=subprocess.PIPE if len(args) == 1 else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        startupinfo=startup,
    )


def _typeable(commands: list[str]) -> bool:
    """Return whether the commands can be typed to CBC (it splits what it reads at spaces)."""
    return not any(ch.isspace() for word in commands for ch in word)


def _typed(commands: list[str]) -> bytes:
    """Return command-line arguments as the lines CBC reads on its standard input."""
    lines: list[list[str]] = []
    for word in commands:
        if word.startswith("-"):
            lines.append([word[1:]])
        else:
            lines[-1].append(word)
    return "".join(" ".join(line) + "\n" for line in [*lines, ["quit"]]).encode()


class _Spares:
    """CBCs started ahead of need, SPARES per CBC binary, each waiting for its commands.

    take hands out the longest waiting CBC (None when there is none, or it has gone);
    replenish starts more. Those left waiting when Python exits are stopped then (and a CBC
    whose standard input closes exits by itself, so none outlives a Python that is killed).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, list[subprocess.Popen[bytes]]] = {}
        self._owner = os.getpid()

    def take(self, path: str) -> subprocess.Popen[bytes] | None:
        with self._lock:
            if os.getpid() != self._owner:  # a forked copy: the spares are its parent's
                self._waiting, self._owner = {}, os.getpid()
            waiting = self._waiting.get(path)
            process = waiting.pop(0) if waiting else None
        if process is not None and process.poll() is not None:
            process.wait()
            return None  # it has gone (stopped from outside)
        return process

    def replenish(self, path: str) -> None:
        with self._lock:
            if os.getpid() != self._owner:
                return
            waiting = self._waiting.setdefault(path, [])
            with contextlib.suppress(OSError):
                while len(waiting) < SPARES:
                    waiting.append(_launch([path]))

    def stop(self) -> None:
        with self._lock:
            waiting = [process for spares in self._waiting.values() for process in spares]
            self._waiting = {}
        for process in waiting:
            process.kill()
            process.wait()


_SPARES = _Spares()
atexit.register(_SPARES.stop)


class _Solving:
    """One solve's racers and temporary files, to stop and remove when it ends."""

    def __init__(
        self, running: list[tuple[_Racer, str]], files: list[str], solver: pulp.PULP_CBC_CMD
    ) -> None:
        self.running = running
        self.files = files
        self.solver = solver
        self.pid = os.getpid()

    def stop(self, exiting: bool = False) -> None:
        """Stop every racer still running and remove the solve's files.

        exiting: Python is exiting, and waits for each racer at most _EXIT_WAIT seconds. A
        HiGHS run is a thread of this process: still running as Python ends, it aborts it.
        """
        self.kill()
        for process, _ in list(self.running):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(_EXIT_WAIT if exiting else None)
        self.solver.delete_tmp_files(*self.files)

    def kill(self) -> None:
        """Ask every racer still running to stop, without waiting for it."""
        for process, _ in list(self.running):
            if process.poll() is None:
                process.kill()


#: Solves under way. A solve in a thread Python does not wait for when it exits (a watched
#: folder's planning, on Ctrl-C) never reaches its own clean-up: its CBC would run on to
#: its time limit, its files would stay in the temporary folder, and a HiGHS run still going
#: would abort Python as it ends ("terminate called without an active exception"). So these
#: are stopped at exit.
_SOLVING: set[_Solving] = set()
#: Seconds Python, exiting, waits for each racer of such a solve to stop (HiGHS stops
#: within milliseconds of being asked, CBC at once).
_EXIT_WAIT = 5.0


#: Set as Python exits: no solve starts, and each under way ends (see _SOLVING).
_CLOSING = threading.Event()


def _stop_solving() -> None:
    """Stop the solves under way as Python exits (their threads may go on meanwhile).

    Each solve then ends by itself, stopping its racers and removing its files; one that
    has not within _EXIT_WAIT is stopped from here.
    """
    _CLOSING.set()
    for solving in _ours():
        with contextlib.suppress(Exception):
            solving.kill()
    until = time.monotonic() + _EXIT_WAIT
    while _ours() and time.monotonic() < until:
        time.sleep(0.01)
    for solving in _ours():
        with contextlib.suppress(Exception):
            solving.stop(exiting=True)


def _ours() -> list[_Solving]:
    """Return the solves under way in this process (a forked copy holds its parent's too)."""
    return [solving for solving in list(_SOLVING) if solving.pid == os.getpid()]


atexit.register(_stop_solving)


def _signal_exit(process: subprocess.Popen[bytes], exited: threading.Event) -> None:
    process.wait()
    exited.set()


class _Later:
    """A start worked out once CBC has run SEARCH_AFTER, for a CBC that joins the race."""

    def __init__(
        self,
        find: Callable[[], Mapping[pulp.LpVariable, float] | None] | None,
        join: Callable[[Mapping[pulp.LpVariable, float]], None],
    ) -> None:
        self.find = find
        self.join = join
        self.begin = time.monotonic() + SEARCH_AFTER

    def run(self) -> None:
        """Work out the start and let a CBC begin from it, once, when its time has come."""
        if self.find is None or time.monotonic() < self.begin:
            return
        find, self.find = self.find, None
        values = find()
        if values:
            self.join(values)


class _Search(Generic[T]):
    """Our own search, run in steps between looks at the CBCs; keeps its answer.

    Also runs `later` (a start for one more CBC), when there is one.
    """

    def __init__(self, steps: Iterator[T | None] | None, later: _Later | None = None) -> None:
        self.steps = steps
        self.answer: T | None = None
        self.begin = time.monotonic() + SEARCH_AFTER
        self.later = later

    def run(self, until: float) -> bool:
        """Run steps until `until` or an answer; return False when there is nothing to run."""
        if self.later is not None:
            self.later.run()
        if self.steps is None or time.monotonic() < self.begin:
            return False
        while self.answer is None and time.monotonic() < until:
            found = next(self.steps, _DONE)
            if found is _DONE:
                self.steps = None
                return False
            self.answer = cast(T | None, found)
        return True


_DONE = object()


class _AskedAfter:
    """One racer: a CBC on the question put another way (highs.Restated), followed where its
    answer settles nothing by a CBC on the question as asked, into the same solution file.

    The restated question is settled by "infeasible", or by an optimal answer whose row value
    settles it (highs.Restated.settled_by); the file is read for that value (CBC prints every
    row's value, by the MPS file's names: row is the restated row's).
    """

    def __init__(
        self,
        first: subprocess.Popen[bytes],
        asked: Callable[[], subprocess.Popen[bytes]],
        solution: str,
        row: str,
        restated: highs.Restated,
    ) -> None:
        self._process = first
        self._asked: Callable[[], subprocess.Popen[bytes]] | None = asked
        self._solution = solution
        self._row = row
        self._restated = restated
        self._stopped = False
        self.returncode: int | None = None

    def poll(self) -> int | None:
        code = self._process.poll()
        if code is None:
            return None
        if self._asked is not None and not self._stopped:
            asked, self._asked = self._asked, None
            if not (code == 0 and self._settled()):
                with contextlib.suppress(OSError):
                    os.remove(self._solution)
                self._process = asked()
                return None
        self.returncode = code
        return code

    def _settled(self) -> bool:
        with contextlib.suppress(OSError, ValueError, IndexError), open(self._solution) as file:
            first = file.readline().lower()
            if "infeasible" in first:
                return True
            if not first.startswith("optimal"):
                return False
            for line in file:
                words = line.split()
                if words and words[0] == "**":
                    words = words[1:]
                if len(words) > 2 and words[1] == self._row:
                    return self._restated.settled_by(float(words[2]))
        return False

    def kill(self) -> None:
        self._stopped = True
        self._process.kill()

    def wait(self, timeout: float | None = None) -> int | None:
        return self._process.wait(timeout)


def _first_answer(
    running: list[tuple[_Racer, str]],
    until: float,
    ours: _Search[T],
    exited: threading.Event,
) -> str | None:
    """Return the solution file of the first CBC to answer (None: none by `until`, or ours did).

    A CBC that stopped at its time limit without settling the question only answers when
    every other one has stopped too (they share one deadline).
    """
    while time.monotonic() < until and ours.answer is None and not _CLOSING.is_set():
        done = [(p, s) for p, s in running if p.poll() is not None]
        for process, solution in done:
            if process.returncode == 0 and _settled(solution):
                return solution
        if len(done) == len(running):
            usable = [s for p, s in done if p.returncode == 0 and os.path.exists(s)]
            return usable[0] if usable else None
        if not ours.run(min(time.monotonic() + _POLL, until)) and exited.wait(_POLL):
            exited.clear()  # every process is looked at again before the next wait
    return None


def _settled(solution: str) -> bool:
    """Return whether a CBC solution file says the question was settled (optimal/infeasible)."""
    with contextlib.suppress(OSError), open(solution) as file:
        first = file.readline().lower()
        return first.startswith("optimal") or "infeasible" in first
    return False
