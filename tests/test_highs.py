"""crunch_xl.highs: HiGHS run beside CBC on pulp's MPS files, answering in CBC's format."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pulp
import pytest
from test_cbc import knapsack

from crunch_xl import cbc, highs

pytestmark = pytest.mark.skipif(not highs.available(), reason="highspy is not installed")


def market_split() -> pulp.LpProblem:
    """Return a model no MIP solver settles in seconds (a "market split" instance)."""
    rows = random.Random(7)
    problem = pulp.LpProblem("split", pulp.LpMinimize)
    x = [problem.add_variable(f"x{j}", 0, 1, pulp.LpBinary) for j in range(40)]
    problem += pulp.lpSum(x)
    for _ in range(5):
        weights = [rows.randrange(100) for _x in x]
        problem += pulp.lpSum(w * v for w, v in zip(weights, x, strict=True)) == sum(weights) // 2
    return problem


def written(problem: pulp.LpProblem, folder: Path) -> tuple[str, dict[str, str]]:
    """Write the problem as cbc.solve does (renamed columns); return the file and the names."""
    path = str(folder / "model.mps")
    _, names, _, _ = problem.writeMPS(path, rename=1)
    return path, names


def run(
    problem: pulp.LpProblem,
    folder: Path,
    seconds: float = 10,
    start: Mapping[str, float] | None = None,
) -> tuple[highs.Run, Path]:
    """Run HiGHS on the problem to the end; return the run and its answer's file."""
    model, _ = written(problem, folder)
    solution = folder / "answer.sol"
    maximise = problem.sense == pulp.LpMaximize
    started = highs.Run(model, str(solution), seconds, maximise=maximise, start=start)
    started.wait()
    return started, solution


def read(problem: pulp.LpProblem, folder: Path, solution: Path) -> tuple[int, float | None]:
    """Read the answer the way cbc.solve reads CBC's: pulp's own reader of CBC solutions."""
    variables, names, constraints, _ = problem.writeMPS(str(folder / "again.mps"), rename=1)
    status, values, *_ = cbc.bundled_cbc().readsol_MPS(
        str(solution), problem, variables, names, constraints
    )
    problem.assignVarsVals(values)
    return status, pulp.value(problem.objective)


def test_its_answer_reads_as_cbcs_and_is_the_same(tmp_path: Path) -> None:
    for capacity, best in ((15, 20), (10, 13), (2, 0)):
        problem, _ = knapsack(capacity)
        done, solution = run(problem, tmp_path)
        assert done.returncode == 0 and done.poll() == 0
        assert solution.read_text().startswith("Optimal")
        assert read(problem, tmp_path, solution) == (pulp.LpStatusOptimal, best)


def test_an_impossible_model_is_reported_infeasible(tmp_path: Path) -> None:
    problem, items = knapsack(15)
    problem += items[0] + items[1] >= 3
    _, solution = run(problem, tmp_path)
    assert solution.read_text().startswith("Infeasible")
    assert read(problem, tmp_path, solution)[0] == pulp.LpStatusInfeasible


def test_it_begins_from_a_start_and_still_finds_the_best(tmp_path: Path) -> None:
    problem, items = knapsack(15)
    _, names = written(problem, tmp_path)
    start = {names[x.name]: v for x, v in zip(items, [0, 0, 1, 0, 0, 1], strict=True)}
    _, solution = run(problem, tmp_path, start=start)
    assert read(problem, tmp_path, solution) == (pulp.LpStatusOptimal, 20)


def test_its_time_limit_holds_and_says_nothing_is_settled(tmp_path: Path) -> None:
    problem = market_split()
    clock = time.perf_counter()
    done, solution = run(problem, tmp_path, seconds=0.5)
    assert time.perf_counter() - clock < 0.5 + 1.5  # a loaded machine may be slow to stop
    assert done.returncode == 0
    assert solution.read_text().startswith("Stopped")
    assert not cbc._settled(str(solution))


def test_a_run_that_is_stopped_ends_at_once_and_writes_nothing(tmp_path: Path) -> None:
    model, _ = written(market_split(), tmp_path)
    solution = tmp_path / "answer.sol"
    exited = threading.Event()
    started = highs.Run(model, str(solution), 60, exited=exited)
    time.sleep(0.3)
    assert started.poll() is None
    clock = time.perf_counter()
    started.kill()
    started.wait()
    assert time.perf_counter() - clock < 1.0
    assert exited.is_set()
    assert not solution.exists()


def test_an_unreadable_model_is_no_answer(tmp_path: Path) -> None:
    (tmp_path / "model.mps").write_text("not a model\n")
    solution = tmp_path / "answer.sol"
    done = highs.Run(str(tmp_path / "model.mps"), str(solution), 10)
    done.wait()
    assert not solution.exists() or not cbc._settled(str(solution))


def test_a_run_stopped_as_it_starts_still_ends_at_once(tmp_path: Path) -> None:
    # highspy clears a stop request when its solve starts; wait() asks again until it ends.
    model, _ = written(market_split(), tmp_path)
    for attempt in range(5):
        solution = tmp_path / f"answer{attempt}.sol"
        started = highs.Run(model, str(solution), 60)
        time.sleep(attempt * 0.002)
        clock = time.perf_counter()
        started.kill()
        started.wait()
        assert time.perf_counter() - clock < 1.0
        assert not solution.exists()


def highspy_continuous() -> object:
    import highspy

    return highspy.HighsVarType.kContinuous


def highspy_integer() -> object:
    import highspy

    return highspy.HighsVarType.kInteger


def placement() -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """Return a small counting model: classes of two kinds, children per grade and kind.

    Grade 1's 7 children go to kind A (at most 4 a class) or B, grade 2's 5 to B (at most 6
    a class, grade 1 included); A's classes cost 1, B's 2. Once the class counts are whole,
    the children are a flow with whole-number limits.
    """
    problem = pulp.LpProblem("placement", pulp.LpMinimize)
    a, b = (problem.add_variable(name, 0, 5, pulp.LpInteger) for name in ("classes_a", "classes_b"))
    one_a, one_b, two_b = (
        problem.add_variable(name, 0, 7, pulp.LpInteger)
        for name in ("children_1_a", "children_1_b", "children_2_b")
    )
    problem += a + 2 * b
    problem += one_a + one_b == 7
    problem += two_b == 5
    problem += one_a <= 4 * a
    problem += one_b + two_b <= 6 * b
    return problem, [one_a, one_b, two_b]


def test_columns_whole_by_flow_are_solved_as_continuous_and_answered_whole(
    tmp_path: Path,
) -> None:
    problem, children = placement()
    model, names = written(problem, tmp_path)
    solution = tmp_path / "answer.sol"
    done = highs.Run(model, str(solution), 10, whole_by_flow={names[x.name] for x in children})
    done.wait()
    # The answer went through the vertex step: every column is continuous by then.
    assert set(done._highs.getLp().integrality_) <= {highspy_continuous()}
    assert read(problem, tmp_path, solution) == (pulp.LpStatusOptimal, 4)  # A A B, or B B
    assert all(x.value() == round(x.value() or 0) for x in children)
    assert sum(x.value() or 0 for x in children[:2]) == 7


def test_a_fractional_flow_is_made_whole_by_its_vertex(tmp_path: Path) -> None:
    problem, children = placement()
    model, names = written(problem, tmp_path)
    relaxed = {names[x.name] for x in children}
    done = highs.Run(model, str(tmp_path / "answer.sol"), 10, whole_by_flow=relaxed)
    done.wait()
    # Two classes of A, one of B; grade 1's children split 6.5 / 0.5: valid, not whole.
    given = {"classes_a": 2, "classes_b": 1, "children_1_a": 6.5, "children_1_b": 0.5}
    given["children_2_b"] = 5
    columns = [names[name] for name in given]
    order = list(done._highs.getLp().col_names_)
    values = [0.0] * len(order)
    for column, value in zip(columns, given.values(), strict=True):
        values[order.index(column)] = value
    whole = [order.index(column) for column in relaxed]
    vertex = done._vertex(values, [highspy_integer()] * len(order), whole)
    assert vertex is not None
    classes_a, classes_b, one_a, one_b, two_b = (vertex[order.index(c)] for c in columns)
    assert (classes_a, classes_b, two_b) == (2, 1, 5)
    assert one_a + one_b == 7 and one_b in (0, 1)  # whole, and B has room for one more


def test_an_answer_found_at_the_time_limit_is_still_made_whole(tmp_path: Path) -> None:
    # The search uses the whole time limit (a plan found, not proven best); the flow after it
    # gets time of its own, so the plan is still written, its flow column whole.
    rows = random.Random(3)
    problem = pulp.LpProblem("packing", pulp.LpMaximize)
    # 300 items, 15 limits: HiGHS finds plans at once and had not proven one best after 20 s.
    x = [problem.add_variable(f"x{j}", 0, 1, pulp.LpBinary) for j in range(300)]
    problem += pulp.lpSum(rows.randrange(10, 100) * v for v in x)
    for _ in range(15):
        weights = [rows.randrange(10, 100) for _x in x]
        problem += pulp.lpSum(w * v for w, v in zip(weights, x, strict=True)) <= sum(weights) // 2
    # Children of six grades in six kinds of class (a transport problem), as a flow.
    flows = {
        (g, k): problem.add_variable(f"children_{g}_{k}", 0, 30, pulp.LpInteger)
        for g in range(6)
        for k in range(6)
    }
    for g in range(6):
        problem += pulp.lpSum(flows[g, k] for k in range(6)) == 17 + 3 * g
    for k in range(6):
        problem += pulp.lpSum(flows[g, k] for g in range(6)) <= 26 + k
        problem += pulp.lpSum(flows[g, k] for g in range(6)) >= 18 + k
    model, names = written(problem, tmp_path)
    solution = tmp_path / "answer.sol"
    relaxed = {names[v.name] for v in flows.values()}
    done = highs.Run(model, str(solution), 0.5, maximise=True, whole_by_flow=relaxed)
    done.wait()
    assert solution.read_text().startswith("Stopped on time - objective value")
    # The flow got a time limit past the search's (its clock runs on from the search).
    assert done._highs.getOptionValue("time_limit")[1] > 0.5
    read(problem, tmp_path, solution)
    assert all(v.value() == round(v.value() or 0) for v in flows.values())
    assert [sum(flows[g, k].value() or 0 for k in range(6)) for g in range(6)] == [
        17 + 3 * g for g in range(6)
    ]


# -- the question restated --------------------------------------------------------------------


class Recorded(highs.Run):
    """A real run that keeps what its restated question answered (None: settled nothing)."""

    restated_answers: list[tuple[str, list[float]] | None]

    def _restated_answer(
        self, restated: highs.Restated, until: float
    ) -> tuple[str, list[float]] | None:
        answer = super()._restated_answer(restated, until)
        self.restated_answers = [*getattr(self, "restated_answers", []), answer]
        return answer


def teachers_and_places(places: int) -> pulp.LpProblem:
    """Return "fewest composites, every one of 3 teachers with a class, `places` places".

    Straight classes hold 2 children, composites 5; the objective counts the composites.
    """
    problem = pulp.LpProblem("classes", pulp.LpMinimize)
    straight, composite = (problem.add_variable(n, 0, 5, pulp.LpInteger) for n in "sc")
    problem += composite
    problem += straight + composite == 3, "teachers"
    problem += 2 * straight + 5 * composite >= places, "places"
    return problem


def run_restated(places: int, folder: Path) -> tuple[Recorded, int, float | None]:
    """Run HiGHS on teachers_and_places, restated as "fewest classes first" (counting.py's)."""
    problem = teachers_and_places(places)
    path = str(folder / "model.mps")
    _, names, rows, _ = problem.writeMPS(path, rename=1)
    # Classes weigh teachers + 1, a composite one more; at most 3 classes; settled at 3.
    costs = {names["s"]: 4.0, names["c"]: 5.0}
    restated = highs.Restated(costs, rows["teachers"], None, 3, (3, 3))
    solution = folder / "answer.sol"
    done = Recorded(path, str(solution), 10, restated=restated)
    done.wait()
    return done, *read(problem, folder, solution)


def test_a_restated_answer_that_keeps_the_row_answers_the_question(tmp_path: Path) -> None:
    # 14 places in 3 classes need 3 composites; no fewer classes hold them either.
    done, status, objective = run_restated(14, tmp_path)
    assert done.restated_answers[0] is not None  # settled without the question as asked
    assert (status, objective) == (pulp.LpStatusOptimal, 3)


def test_a_restated_answer_outside_the_row_leaves_the_question_as_asked(tmp_path: Path) -> None:
    # 10 places fit in 2 composites: fewer classes than teachers, which settles nothing; the
    # question as asked then has 2 composites and 1 straight class (2 + 10 >= 10).
    done, status, objective = run_restated(10, tmp_path)
    assert done.restated_answers == [None]
    assert (status, objective) == (pulp.LpStatusOptimal, 2)


def test_a_restated_question_with_no_answer_is_infeasible(tmp_path: Path) -> None:
    done, status, _ = run_restated(16, tmp_path)  # 3 composites hold 15 at most
    assert done.restated_answers[0] == ("Infeasible - objective value 0", [])
    assert status == pulp.LpStatusInfeasible


# -- the linear relaxation asked first ------------------------------------------------------


def two_columns(row_lower: float | None, row_upper: float | None) -> highs.Relaxation:
    """Return x + y within the row's bounds, x in [0, 1] and y in [0, 1]."""
    return highs.Relaxation(
        column_lower=[0, 0],
        column_upper=[1, 1],
        row_lower=[row_lower],
        row_upper=[row_upper],
        starts=[0, 2],
        index=[0, 1],
        values=[1, 1],
    )


def test_a_relaxation_with_no_solution_is_impossible() -> None:
    assert two_columns(3, None).impossible()  # x + y >= 3
    assert two_columns(None, -1).impossible()  # x + y <= -1
    assert two_columns(2.5, 2.5).impossible()  # x + y = 2.5


def test_a_relaxation_with_a_solution_in_fractions_is_not() -> None:
    assert not two_columns(1.5, 1.5).impossible()  # x = y = 0.75: no whole answer, but one
    assert not two_columns(None, None).impossible()
    free = highs.Relaxation([None], [None], [-5], [-5], [0, 1], [0], [2.0])  # 2x = -5, x free
    assert not free.impossible()


def test_where_this_thread_runs_highs_on_more_threads_it_says_nothing() -> None:
    # HiGHS keeps one thread count per calling thread and refuses another: the relaxation
    # then proves nothing, and the question goes to the solvers.
    said: list[bool] = []

    def other_thread() -> None:
        import highspy

        busy = highspy.Highs()
        busy.setOptionValue("output_flag", False)
        busy.setOptionValue("threads", 2)
        busy.passModel(highspy.HighsLp())
        busy.run()
        said.append(two_columns(3, None).impossible())

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert said == [False]


def test_a_relaxation_highs_cannot_read_proves_nothing() -> None:
    broken = highs.Relaxation([0], [1], [3], [None], [0, 5], [0], [1.0])  # row 0 has 1 entry
    assert not broken.impossible()  # HiGHS refuses the model
    garbled = highs.Relaxation([0], [1], [3], [None], [0, 1], [0], ["one"])  # type: ignore[list-item]
    assert not garbled.impossible()  # numpy raises: no exception reaches the solve
