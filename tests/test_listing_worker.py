"""The search over class counts in a worker process: the same structures, and no worker that
hangs a listing or outlives its use."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.suite import generate_school
from crunch_xl.model import Scenario
from crunch_xl.planner import listing_worker, plan
from crunch_xl.planner.formulation import Question
from crunch_xl.planner.listing import first_to_finish, structures
from crunch_xl.planner.listing_worker import Listing
from crunch_xl.planner.ranking import Caps
from crunch_xl.planner.school import School
from crunch_xl.planner.search import answers

pytestmark = pytest.mark.timeout(120)


def rural(number: int) -> Scenario:
    """Return a suite rural school at its teachers, every teacher used."""
    school, teachers = generate_school("rural", number)
    return replace(school, teachers=teachers, use_every_teacher=True)


def sent(s: Scenario, caps: Caps) -> Listing:
    """Return a listing of the level sent to a worker, once one is ready to take it."""
    deadline = time.perf_counter() + 60
    while (listing := listing_worker.start(s, caps, Question(caps))) is None:
        assert time.perf_counter() < deadline, "no worker was ready within a minute"
        time.sleep(0.05)
    return listing


def listed_here(s: Scenario, caps: Caps) -> list:
    school = School(s)
    question = Question(caps)
    return first_to_finish([structures(school, caps, lambda t: answers(school, t, question))])


@pytest.mark.parametrize(
    ("number", "caps"),
    [(1, Caps()), (4, Caps(spare=2)), (2, Caps(composites=3, range=4))],
    ids=["rural-01", "rural-04-spare-2", "rural-02-range-4"],
)
def test_a_worker_lists_the_same_structures_as_this_process(number: int, caps: Caps) -> None:
    s = rural(number)
    listing = sent(s, caps)
    assert listing.finished.wait(60)
    assert listing.answered
    assert listing.answer() == listed_here(s, caps)
    assert listing.answer(), "a level with structures to compare"


def test_a_stopped_listing_frees_its_worker_for_the_next() -> None:
    s = rural(2)
    first = sent(s, Caps())
    first.stop()
    assert first.finished.wait(30)
    second = sent(s, Caps(spare=2))
    assert second.finished.wait(60)
    assert second.answer() == listed_here(s, Caps(spare=2))


def test_an_error_in_the_worker_is_raised_in_the_planner() -> None:
    listing = sent(None, Caps())  # type: ignore[arg-type]
    assert listing.finished.wait(30)
    with pytest.raises(RuntimeError, match="failed in its worker"):
        listing.answer()


def test_a_worker_that_ends_mid_listing_gives_it_up_and_planning_goes_on() -> None:
    s = rural(2)
    listing = sent(s, Caps())
    listing_worker.close_all()
    assert listing.finished.wait(30), "a listing waited on a worker that had ended"
    result = plan(replace(s, alternatives=2))
    assert result.options and result.options[0].proven


@pytest.mark.parametrize("python", ["/bin/false", "/no/such/python"], ids=["ends", "missing"])
def test_with_no_worker_to_be_had_the_planner_lists_in_threads(python: str) -> None:
    # A Python that cannot run the worker (it ends at once, or is not there at all): the
    # planner gives the same options as with a worker, and does not keep starting one.
    script = (
        "import sys, json\n"
        "from dataclasses import replace\n"
        "from benchmarks.suite import generate_school\n"
        "from crunch_xl.planner import plan, listing_worker\n"
        f"sys.executable = {python!r}\n"
        "school, teachers = generate_school('rural', 2)\n"
        "s = replace(school, teachers=teachers, use_every_teacher=True)\n"
        "options = [[str(o) for o in plan(s).options] for _ in range(3)]\n"
        "print(json.dumps({'options': options[0], 'same': options.count(options[0]) == 3,\n"
        "                  'workers': len(listing_worker._ALL)}))\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["same"]
    assert found["workers"] <= 1
    s = rural(2)
    assert found["options"] == [str(o) for o in plan(s).options]
