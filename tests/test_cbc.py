"""crunch_xl.cbc: the bundled CBC raced with two settings (real CBC processes, real files)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pulp
import pytest

from crunch_xl import cbc, counting, highs
from crunch_xl.counting import CountingModel, Limits, Outcome
from crunch_xl.model import Composite, Grade, Priority, Scenario

#: CBC runs as they start: the process and the commands it was given.
Runs = list[tuple[subprocess.Popen[bytes], list[str]]]


def knapsack(capacity: int) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """Return a small integer model with a known optimum (items 0..5, weights 3..8)."""
    problem = pulp.LpProblem("knapsack", pulp.LpMaximize)
    items = [problem.add_variable(f"take_{i}", 0, 1, pulp.LpBinary) for i in range(6)]
    weights = [3, 4, 5, 6, 7, 8]
    values = [4, 5, 7, 8, 9, 11]
    problem += pulp.lpSum(v * x for v, x in zip(values, items, strict=True))
    problem += pulp.lpSum(w * x for w, x in zip(weights, items, strict=True)) <= capacity
    return problem, items


@pytest.fixture(autouse=True)
def own_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give pulp a temporary folder of this test's own (others may be solving meanwhile)."""
    for name in ("TMPDIR", "TMP", "TEMP"):
        monkeypatch.setenv(name, str(tmp_path))


def leftovers() -> set[Path]:
    """Return pulp's temporary files in the folder it writes them to."""
    folder = Path(cbc.bundled_cbc().tmpDir)
    assert folder.name.startswith("test_"), folder  # this test's own folder
    return set(folder.glob("*-pulp.*"))


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Runs:
    """Return the CBC runs cbc.solve starts: real processes and their commands, as they start."""
    recorded: Runs = []
    real = cbc._start

    def record(path: str, commands: list[str], exited: threading.Event) -> subprocess.Popen[bytes]:
        process = real(path, commands, exited)
        recorded.append((process, commands))
        return process

    monkeypatch.setattr(cbc, "_start", record)
    return recorded


def test_the_race_answers_as_pulps_own_cbc_does() -> None:
    ours, taken = knapsack(15)
    before = leftovers()
    cbc.solve(ours, 10)
    theirs, expected = knapsack(15)
    theirs.solve(cbc.bundled_cbc())
    assert ours.status == pulp.LpStatusOptimal
    assert pulp.value(ours.objective) == pulp.value(theirs.objective) == 20
    assert [x.value() for x in taken] == [x.value() for x in expected]
    assert leftovers() == before


def test_an_impossible_model_is_reported_infeasible() -> None:
    problem, items = knapsack(15)
    problem += items[0] + items[1] >= 3  # two binaries cannot add up to 3
    cbc.solve(problem, 10)
    assert problem.status == pulp.LpStatusInfeasible


def test_a_model_impossible_even_in_fractions_starts_no_solver(
    runs: Runs, highs_runs: list[highs.Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    for first in (True, False):
        monkeypatch.setattr(cbc, "RELAXATION_FIRST", first)
        problem, items = knapsack(15)
        problem += items[0] + items[1] >= 3
        cbc.solve(problem, 10)
        assert problem.status == pulp.LpStatusInfeasible
        assert (len(runs) == 0) is first  # HiGHS proved its relaxation impossible, at once
    assert highs_runs == []


def test_a_model_impossible_only_in_whole_numbers_is_left_to_the_solvers(runs: Runs) -> None:
    problem, items = knapsack(15)
    problem += 2 * items[0] + 2 * items[1] == 3  # 0.75 + 0.75, but no two binaries
    cbc.solve(problem, 10)
    assert problem.status == pulp.LpStatusInfeasible
    assert len(runs) == 1


def test_the_relaxation_reads_every_row_as_pulp_writes_it() -> None:
    # Constants on either side, all three senses: whether HiGHS finds the relaxation
    # impossible agrees with CBC solving the same model with every variable continuous.
    rows = random.Random(7)
    impossible = 0
    for case in range(60):
        problem = pulp.LpProblem(f"rows_{case}", pulp.LpMinimize)
        x = [problem.add_variable(f"x{i}", rows.choice([0, -3, None]), 4) for i in range(3)]
        for r in range(3):
            left = pulp.lpSum(rows.randint(-3, 3) * v for v in x) + rows.randint(-5, 5)
            right = rows.randint(-6, 6) + rows.randint(-1, 1) * x[r]
            sense = rows.choice(["<=", ">=", "=="])
            constraint = {"<=": left <= right, ">=": left >= right, "==": left == right}[sense]
            problem += constraint, f"row_{r}"
        expected = problem.copy()
        expected.solve(cbc.bundled_cbc())
        said = cbc._relaxation(problem).impossible()
        assert said == (expected.status == pulp.LpStatusInfeasible), case
        impossible += said
    assert 5 < impossible < 55  # both answers were tried


@pytest.fixture
def highs_runs(monkeypatch: pytest.MonkeyPatch) -> list[highs.Run]:
    """Return the HiGHS runs cbc.solve starts as its second racer, as they start."""
    recorded: list[highs.Run] = []
    real = highs.Run

    def record(*args: Any, **kwargs: Any) -> highs.Run:
        run = real(*args, **kwargs)
        recorded.append(run)
        return run

    monkeypatch.setattr(highs, "Run", record)
    return recorded


@pytest.mark.parametrize("second", ["cbc", "highs"])
def test_both_racers_race_when_neither_answers_at_once(
    second: str, monkeypatch: pytest.MonkeyPatch, runs: Runs, highs_runs: list[highs.Run]
) -> None:
    # No head start: the second racer always joins (CBC's defaults, or HiGHS); the answer is
    # still exact and nothing is left behind (files, processes or threads).
    monkeypatch.setattr(cbc, "HEAD_START", 0.0)
    monkeypatch.setattr(cbc, "SECOND", second)
    before = leftovers()
    for capacity, best in ((15, 20), (10, 13), (2, 0)):
        problem, _ = knapsack(capacity)
        cbc.solve(problem, 10)
        assert problem.status == pulp.LpStatusOptimal
        assert pulp.value(problem.objective) == best
    assert leftovers() == before
    assert len(runs) + len(highs_runs) == 6
    assert len(highs_runs) == (3 if second == "highs" else 0)
    assert all(process.poll() is not None for process, _ in runs)
    assert all(run.poll() is not None for run in highs_runs)


def two_grades() -> Scenario:
    """Return a small school: no composite needed, one for classes of at most 21."""
    grades = (Grade("K", 40, 10, 24), Grade("1", 22, 10, 24))
    return Scenario("Plan A", grades, (Composite(("K", "1")),), teachers=3)


def stall_cbc(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    """Put a process that only sleeps where each CBC would start: only HiGHS can answer."""
    stalled: list[subprocess.Popen[bytes]] = []

    def stall(path: str, commands: list[str], exited: threading.Event) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        stalled.append(process)
        return process

    monkeypatch.setattr(cbc, "_start", stall)
    return stalled


def test_an_answer_from_highs_is_taken_and_the_cbc_stopped(
    monkeypatch: pytest.MonkeyPatch, highs_runs: list[highs.Run]
) -> None:
    # The first racer here never answers (a process that only sleeps, in CBC's place), so the
    # answer can only be HiGHS's: read in like CBC's, and the first racer stopped.
    stalled = stall_cbc(monkeypatch)
    monkeypatch.setattr(cbc, "HEAD_START", 0.05)
    before = leftovers()
    problem, items = knapsack(15)
    clock = time.perf_counter()
    cbc.solve(problem, 30)
    assert time.perf_counter() - clock < 10
    assert problem.status == pulp.LpStatusOptimal
    assert pulp.value(problem.objective) == 20
    weights = [3, 4, 5, 6, 7, 8]
    assert sum(w * (x.value() or 0) for w, x in zip(weights, items, strict=True)) <= 15
    assert len(highs_runs) == 1 and highs_runs[0].poll() == 0
    assert all(process.poll() is not None for process in stalled)
    assert leftovers() == before


def test_highs_answers_a_counting_question_with_the_children_as_a_flow(
    monkeypatch: pytest.MonkeyPatch, highs_runs: list[highs.Run]
) -> None:
    # HiGHS is told the children per grade and kind are whole once the class counts are
    # (highs.Run, whole_by_flow); its answer is still whole, valid and the fewest composites.
    stalled = stall_cbc(monkeypatch)
    monkeypatch.setattr(cbc, "HEAD_START", 0.05)
    model = CountingModel(two_grades())
    solve, composites = model.solve("composites", Limits({"largest": 21}), 30)
    assert solve.outcome is Outcome.OPTIMAL and composites == 1
    assert solve.allocation is not None and model.obeys_rules(solve.allocation)
    assert solve.allocation.measure("largest") <= 21
    assert len(highs_runs) == 1
    assert len(highs_runs[0]._whole_by_flow) == 4  # K and 1 alone, and each in K/1
    assert all(process.poll() is not None for process in stalled)


def test_a_model_whose_solves_were_slow_is_raced_by_highs_at_once(
    monkeypatch: pytest.MonkeyPatch, highs_runs: list[highs.Run]
) -> None:
    model = CountingModel(two_grades())
    model.solve("composites", Limits(), 30)  # the real CBC: the model's first run
    monkeypatch.setattr(counting, "HARD_FROM", 0.0)  # every model has been slow
    stall_cbc(monkeypatch)
    monkeypatch.setattr(cbc, "HEAD_START", 60.0)  # a model not hard would wait for CBC
    clock = time.perf_counter()
    solve, composites = model.solve("composites", Limits({"largest": 21}), 30)
    assert time.perf_counter() - clock < 10
    assert solve.outcome is Outcome.OPTIMAL and composites == 1
    assert len(highs_runs) == 1


def test_without_highspy_the_second_racer_is_cbc(
    monkeypatch: pytest.MonkeyPatch, runs: Runs, highs_runs: list[highs.Run]
) -> None:
    monkeypatch.setattr(cbc, "HEAD_START", 0.0)
    monkeypatch.setattr(highs, "available", lambda: False)
    problem, _ = knapsack(15)
    cbc.solve(problem, 10)
    assert pulp.value(problem.objective) == 20
    assert len(runs) == 2 and not highs_runs


def test_highs_alone_answers_when_asked_and_no_cbc_runs(
    monkeypatch: pytest.MonkeyPatch, runs: Runs, highs_runs: list[highs.Run]
) -> None:
    before = leftovers()
    for capacity, best in ((15, 20), (10, 13)):
        problem, _ = knapsack(capacity)
        cbc.solve(problem, 10, only_highs=True)
        assert problem.status == pulp.LpStatusOptimal
        assert pulp.value(problem.objective) == best
    assert not runs and len(highs_runs) == 2
    assert leftovers() == before
    monkeypatch.setattr(highs, "available", lambda: False)
    with pytest.raises(pulp.PulpSolverError, match="HiGHS"):
        cbc.solve(knapsack(15)[0], 10, only_highs=True)


def hard_school() -> Scenario:
    """Return a K-12 school at its fewest teachers, where CBC needs seconds (the benchmark's
    k12-02 T: its fewest composites with every class at most 30 take CBC 2-3 s)."""
    counts = [122, 125, 111, 138, 135, 104, 126, 122, 105, 139, 102, 104, 140]
    largest = [21, 26, 26, 29, 28, 28, 29, 32, 29, 32, 30, 28, 28]
    smallest = [17, 15, 17, 16, 16, 16, 15, 17, 17, 16, 17, 16, 15]
    most = {"7": 5, "11": 5, "12": 5}
    labels = ["K", *(str(g) for g in range(1, 13))]
    grades = tuple(
        Grade(label, n, low, high, most_classes=most.get(label))
        for label, n, low, high in zip(labels, counts, smallest, largest, strict=True)
    )
    composites = (
        Composite(("K", "1"), largest=25),
        Composite(("1", "2"), largest=26),
        Composite(("3", "4")),
        Composite(("4", "5")),
        Composite(("5", "6"), largest=26),
        Composite(("6", "7")),
        Composite(("7", "8")),
        Composite(("8", "9")),
        Composite(("11", "12"), largest=26),
        Composite(("1", "2", "3"), largest=25),
        Composite(("6", "7", "8")),
        Composite(("9", "10", "11"), largest=22),
    )
    return Scenario(
        "K-12",
        grades,
        composites,
        teachers=57,
        composite_minimum=6,
        priority=Priority.SMALLEST_CLASSES,
    )


def test_the_time_limit_stops_every_racer(runs: Runs, highs_runs: list[highs.Run]) -> None:
    # The race needs about a second for this question (0.9-1.3 s, the fewest composites with
    # every class at most 31: 16): 0.3 s runs out before it is settled.
    model = CountingModel(hard_school())
    clock = time.perf_counter()
    solve, _ = model.solve("composites", Limits({"largest": 31}), 0.3)
    elapsed = time.perf_counter() - clock
    assert elapsed < 0.3 + cbc.GRACE + 1.0, elapsed  # 1 s to spare for a loaded machine
    assert 1 <= len(runs) <= len(cbc.SETTINGS)
    assert all(process.poll() is not None for process, _ in runs)
    assert all(run.poll() is not None for run in highs_runs)
    assert solve.outcome in (Outcome.FEASIBLE, Outcome.UNKNOWN)


def test_our_own_search_answering_first_stops_cbc(
    monkeypatch: pytest.MonkeyPatch, runs: Runs
) -> None:
    monkeypatch.setattr(cbc, "SEARCH_AFTER", 0.0)
    problem, _ = knapsack(15)
    before = leftovers()
    found = cbc.solve(problem, 10, meanwhile=iter([None, "ours"]))
    assert found == "ours"
    assert problem.status == pulp.LpStatusNotSolved  # CBC's answer was never read in
    assert all(process.poll() is not None for process, _ in runs)
    assert leftovers() == before


def test_cbc_answers_when_our_own_search_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cbc, "SEARCH_AFTER", 0.0)
    problem, _ = knapsack(15)
    assert cbc.solve(problem, 10, meanwhile=iter([None, None])) is None
    assert problem.status == pulp.LpStatusOptimal
    assert pulp.value(problem.objective) == 20


def test_cbc_begins_from_a_start_and_still_finds_the_best() -> None:
    problem, items = knapsack(15)
    valid = dict(zip(items, [0, 0, 1, 0, 0, 1], strict=True))  # weights 5 + 8, worth 18
    assert cbc.solve(problem, 10, start=valid) is None
    assert problem.status == pulp.LpStatusOptimal
    assert pulp.value(problem.objective) == 20


def test_a_question_a_known_allocation_answers_starts_no_cbc(
    runs: Runs,
) -> None:
    grades = (Grade("K", 40, 10, 24), Grade("1", 22, 10, 24))
    model = CountingModel(Scenario("Plan A", grades, (Composite(("K", "1")),), teachers=3))
    first, _ = model.solve(None, Limits(), 30)
    assert first.allocation is not None
    count = len(runs)
    again, _ = model.solve(None, Limits({"largest": first.allocation.measure("largest")}), 30)
    assert again.allocation == first.allocation
    assert len(runs) == count


def test_a_feasibility_answer_is_remembered_as_the_fewest_composites(
    runs: Runs,
) -> None:
    # A feasibility question minimises composites too: asked next with the same limits, the
    # planner's composites question needs no second solve, and gets the same proven answer.
    grades = (Grade("K", 30, 10, 24), Grade("1", 30, 10, 24), Grade("2", 30, 10, 24))
    composites = (Composite(("K", "1")), Composite(("1", "2")))
    school = Scenario("Plan A", grades, composites, teachers=4)
    model = CountingModel(school)
    first, _ = model.solve(None, Limits({"largest": 23}), 30)
    count = len(runs)
    fewest, value = model.solve("composites", Limits({"largest": 23}), 30)
    assert len(runs) == count
    assert fewest.allocation == first.allocation
    cold, expected = CountingModel(school).solve("composites", Limits({"largest": 23}), 30)
    assert cold.found and value == expected == 2  # K and 2 each share a class with 1


def test_limits_tighter_than_proven_impossible_ones_start_no_cbc(
    runs: Runs,
) -> None:
    grades = (Grade("K", 40, 10, 24), Grade("1", 22, 10, 24))
    model = CountingModel(Scenario("Plan A", grades, (Composite(("K", "1")),), teachers=3))
    none, _ = model.solve(None, Limits({"largest": 20}), 30)  # 62 children in 3 classes
    assert none.outcome is Outcome.INFEASIBLE
    count = len(runs)
    for caps in ({"largest": 19}, {"largest": 20, "composites": 0}, {"largest": 18}):
        again, _ = model.solve("composites", Limits(caps), 30)
        assert again.outcome is Outcome.INFEASIBLE
    assert len(runs) == count
    looser, _ = model.solve(None, Limits({"largest": 21}), 30)  # 21 + 21 + 20
    assert looser.found and len(runs) > count


def test_a_model_cbc_settles_quickly_is_then_solved_without_preprocessing(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    def preprocessing(run: tuple[subprocess.Popen[bytes], list[str]]) -> bool:
        commands = run[1]
        return "-preprocess" not in commands or commands[commands.index("-preprocess") + 1] != "off"

    school = two_grades()
    for quick_below, second_preprocessed in ((60.0, False), (0.0, True)):
        monkeypatch.setattr(counting, "QUICK_BELOW", quick_below)
        model = CountingModel(school)
        model.solve("composites", Limits(), 30)
        assert preprocessing(runs[-1])  # the model has had no CBC run yet
        model.solve("composites", Limits({"largest": 21}), 30)
        assert preprocessing(runs[-1]) is second_preprocessed


def waiting_spare() -> subprocess.Popen[bytes]:
    """Return the CBC the next solve takes (solves start spares in the background)."""
    path = cbc.bundled_cbc().path
    cbc._SPARES.replenish(path)
    return cbc._SPARES._waiting[path][0]


def test_each_solve_hands_its_model_to_a_cbc_started_before_it(runs: Runs) -> None:
    cbc.solve(knapsack(15)[0], 10)  # leaves a spare waiting
    for capacity, best in ((10, 13), (15, 20)):
        spare = waiting_spare()
        assert spare.poll() is None
        problem, _ = knapsack(capacity)
        cbc.solve(problem, 10)
        assert runs[-1][0] is spare
        assert pulp.value(problem.objective) == best
    assert len({process.pid for process, _ in runs}) == len(runs)  # a CBC solves one model


def test_a_spare_does_not_carry_the_model_before_into_the_next() -> None:
    # CBC run interactively on two models answered the second, impossible one with the
    # first one's best solution; each spare solves one model, so that cannot happen.
    for _ in range(3):
        feasible, _ = knapsack(15)
        cbc.solve(feasible, 10)
        assert feasible.status == pulp.LpStatusOptimal
        impossible, items = knapsack(15)
        impossible += items[0] + items[1] >= 3
        cbc.solve(impossible, 10)
        assert impossible.status == pulp.LpStatusInfeasible


def test_a_spare_that_has_gone_is_replaced(runs: Runs) -> None:
    cbc.solve(knapsack(15)[0], 10)
    spare = waiting_spare()
    spare.kill()
    spare.wait()
    problem, _ = knapsack(10)
    cbc.solve(problem, 10)
    assert runs[-1][0] is not spare
    assert pulp.value(problem.objective) == 13


def test_paths_with_spaces_are_given_to_cbc_as_arguments(
    runs: Runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CBC splits what it reads at spaces, so a temporary folder such as a Windows profile
    # "C:\\Users\\Jo Smith\\AppData\\Local\\Temp" goes on its command line instead.
    folder = tmp_path / "Jo Smith"
    folder.mkdir()
    for name in ("TMPDIR", "TMP", "TEMP"):
        monkeypatch.setenv(name, str(folder))
    problem, _ = knapsack(15)
    cbc.solve(problem, 10)
    assert pulp.value(problem.objective) == 20
    process, commands = runs[-1]
    assert process.args == [cbc.bundled_cbc().path, *commands]
    assert not list(folder.iterdir())


def test_without_spares_each_solve_starts_its_own_cbc(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cbc, "PRESTART", False)
    problem, _ = knapsack(15)
    cbc.solve(problem, 10)
    assert pulp.value(problem.objective) == 20
    assert runs[-1][0].args == [cbc.bundled_cbc().path, *runs[-1][1]]


@pytest.mark.skipif(sys.platform == "win32", reason="looks for the process by its id")
def test_no_cbc_outlives_the_python_that_started_it() -> None:
    script = (
        "import os, sys\n"
        "from tests.test_cbc import knapsack\n"
        "from crunch_xl import cbc\n"
        "cbc.solve(knapsack(15)[0], 10)\n"
        "path = cbc.bundled_cbc().path\n"
        "cbc._SPARES.replenish(path)\n"
        "print(*(spare.pid for spare in cbc._SPARES._waiting[path]))\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    spares = [int(pid) for pid in done.stdout.split()]
    assert len(spares) == cbc.SPARES
    time.sleep(0.2)
    for pid in spares:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


#: What a thread asks of the hard school as Python exits: one question, or a whole plan
#: (whose next question would start as the one under way is stopped).
_ASKED = {
    "a question": "CountingModel(hard_school()).solve('composites', Limits({'largest': 30}), 30)",
    "a plan": "plan(hard_school())",
}


@pytest.mark.skipif(sys.platform == "win32", reason="looks for the process by its id")
@pytest.mark.parametrize("asked", list(_ASKED))
def test_a_solve_still_running_when_python_exits_leaves_nothing_behind(
    asked: str, tmp_path: Path
) -> None:
    # As a watched folder's planning thread on Ctrl-C: Python exits without waiting for the
    # thread, so the solve never reaches its own clean-up. Python exits as soon as HiGHS
    # (joined after the head start) races CBC.
    script = (
        "import sys, threading, time\n"
        "from tests.test_cbc import hard_school\n"
        "from crunch_xl import cbc, highs\n"
        "from crunch_xl.counting import CountingModel, Limits\n"
        "from crunch_xl.plan import plan\n"
        "started = []\n"
        "real = cbc._start\n"
        "def record(*args):\n"
        "    process = real(*args)\n"
        "    started.append(process)\n"
        "    return process\n"
        "cbc._start = record\n"
        "runs = []\n"
        "real_run = highs.Run\n"
        "def record_run(*args, **kwargs):\n"
        "    run = real_run(*args, **kwargs)\n"
        "    runs.append(run)\n"
        "    return run\n"
        "highs.Run = record_run\n"
        f"threading.Thread(target=lambda: {_ASKED[asked]}, daemon=True).start()\n"
        "until = time.monotonic() + 30\n"
        "while not any(run.poll() is None for run in runs) and time.monotonic() < until:\n"
        "    time.sleep(0.005)\n"
        "print(sum(run.poll() is None for run in runs), flush=True)\n"
        "print(*(process.pid for process in started if process.poll() is None), flush=True)\n"
        "sys.exit(0)\n"
    )
    root = Path(__file__).resolve().parents[1]
    environment = {**os.environ, "TMPDIR": str(tmp_path), "TMP": str(tmp_path)}
    environment["TEMP"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=environment, capture_output=True, text=True
    )
    # A HiGHS run still going as Python ended aborted it ("terminate called without an
    # active exception"): the exit status is 0 only because it was stopped first.
    assert done.returncode == 0, done.stderr
    highs_running, cbc_running = done.stdout.split("\n", 1)
    assert int(highs_running) == 1, "HiGHS was not racing as Python exited: nothing was tested"
    time.sleep(0.2)
    for pid in (int(pid) for pid in cbc_running.split()):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert list(tmp_path.glob("*-pulp.*")) == []


def test_a_start_worked_out_while_cbc_runs_begins_one_more_cbc(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cbc, "SEARCH_AFTER", 0.0)
    monkeypatch.setattr(cbc, "HEAD_START", 10.0)  # no second setting: only ours joins
    problem, items = knapsack(15)
    asked: list[bool] = []

    def later() -> dict[pulp.LpVariable, float]:
        asked.append(True)
        return dict(zip(items, [0, 0, 1, 0, 0, 1], strict=True))  # weights 5 + 8, worth 18

    cbc.solve(problem, 10, later=later)
    assert problem.status == pulp.LpStatusOptimal
    assert pulp.value(problem.objective) == 20
    if len(runs) == 2:  # unless the first CBC had answered before the start was worked out
        assert "-mips" not in runs[0][1] and "-mips" in runs[1][1]
    assert asked == [True] or len(runs) == 1
    assert all(process.poll() is not None for process, _ in runs)


def test_no_start_is_worked_out_for_a_cbc_that_answers_in_time(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cbc, "SEARCH_AFTER", 30.0)
    problem, _ = knapsack(15)
    cbc.solve(problem, 10, later=lambda: pytest.fail("worked out a start"))
    assert pulp.value(problem.objective) == 20
    assert len(runs) == 1


def teachers_model(teachers: int) -> tuple[pulp.LpProblem, highs.Restated]:
    """Return a model like the counting model (100 children in straight classes of at most
    20 or composites of at most 25, one class per teacher, fewest composites) and the same
    question with the fewest classes first (at most one class per teacher)."""
    problem = pulp.LpProblem("classes", pulp.LpMinimize)
    straight = problem.add_variable("straight", 0, 10, pulp.LpInteger)
    composite = problem.add_variable("composite", 0, 10, pulp.LpInteger)
    problem += composite
    problem += straight + composite == teachers, "one_class_per_teacher"
    problem += 20 * straight + 25 * composite >= 100, "every_child_placed"
    costs = {"straight": teachers + 1, "composite": teachers + 2}
    restated = highs.Restated(costs, "one_class_per_teacher", None, teachers, (teachers, teachers))
    return problem, restated


@pytest.mark.parametrize(
    ("teachers", "status", "composites", "cbcs"),
    [
        (4, pulp.LpStatusOptimal, 4, 1),  # four classes at fewest: the restated answer stands
        (5, pulp.LpStatusOptimal, 0, 2),  # four classes would do: the question as asked
        (3, pulp.LpStatusInfeasible, None, 1),  # nothing with three: nor as asked
    ],
)
def test_cbc_tries_the_question_restated_first_where_asked(
    teachers: int,
    status: int,
    composites: int | None,
    cbcs: int,
    monkeypatch: pytest.MonkeyPatch,
    runs: Runs,
    highs_runs: list[highs.Run],
) -> None:
    monkeypatch.setattr(cbc, "HEAD_START", 60.0)  # CBC alone
    monkeypatch.setattr(cbc, "RELAXATION_FIRST", False)  # three classes: not even in fractions
    before = leftovers()
    problem, restated = teachers_model(teachers)
    cbc.solve(problem, 10, restated=restated, restated_for_cbc=True)
    assert problem.status == status
    if composites is not None:
        assert pulp.value(problem.objective) == composites
        assert problem.get_constraint_by_name("one_class_per_teacher").value() == 0  # the rule kept
    assert len(runs) == cbcs and not highs_runs
    assert runs[0][1][1].endswith("r.mps")  # the restated model first
    assert all(not commands[1].endswith("r.mps") for _, commands in runs[1:])
    asked, _ = teachers_model(teachers)
    cbc.solve(asked, 10)  # not restated: one CBC, the same answer
    assert asked.status == status and len(runs) == cbcs + 1
    if composites is not None:
        assert pulp.value(asked.objective) == composites
    assert leftovers() == before
