"""The search over class counts (listing.structures), run in a process of its own.

In the planner's process the search and the solver's listing share one interpreter lock, so
the race between them slows whichever would win: on multi-age schools, where the search
finishes first, the race took about a fifth longer than the search alone. Run in a worker
process, the search has a core of its own while the solver lists in the planner's process.

Workers are started when planning starts and kept for later listings, one for each listing
running at once. A listing that finds no worker ready (one is still starting, or none can be
started) races in threads instead (listing.first_to_finish); both ways list the same
structures.

The worker reads pickled requests on its standard input and writes pickled replies on its
standard output: ("list", number, scenario, bounds, question) is answered by ("listed",
number, structures) or, after ("stop", number), by ("stopped", number); an error by ("error",
number, its text). End of input ends the worker.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import traceback
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from crunch_xl.model import Scenario
from crunch_xl.planner.formulation import Question
from crunch_xl.planner.ranking import Caps
from crunch_xl.planner.school import School, Structure

# -- in the planner's process ---------------------------------------------------------------


class Listing:
    """One listing sent to a worker: `finished` is set when it has answered or given up."""

    def __init__(self, worker: _Worker, number: int) -> None:
        self._worker = worker
        self.number = number
        self.finished = threading.Event()
        self._answer: list[Structure] | None = None
        self._error: str | None = None

    def settle(self, answer: list[Structure] | None, error: str | None = None) -> None:
        """Record the worker's reply (None and no error: it gave up) and mark it finished."""
        self._answer, self._error = answer, error
        self.finished.set()

    @property
    def answered(self) -> bool:
        """Return whether the worker listed every structure (call once finished)."""
        return self._answer is not None or self._error is not None

    def answer(self) -> list[Structure]:
        """Return the structures listed, or raise the worker's error (call once answered)."""
        if self._error is not None:
            raise RuntimeError(f"the search over class counts failed in its worker:\n{self._error}")
        assert self._answer is not None
        return self._answer

    def stop(self) -> None:
        """Ask the worker to stop this listing (it is free again once it has)."""
        if not self.finished.is_set():
            self._worker.send(("stop", self.number))


class _Worker:
    """A worker process and the thread reading its replies."""

    def __init__(self) -> None:
        # The worker imports the same crunch_xl as this process, installed or not.
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, path]))}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "crunch_xl.planner.listing_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
        self.ready = threading.Event()
        self.alive = True
        self.closing = False
        self.current: Listing | None = None
        self._lock = threading.Lock()
        threading.Thread(target=self._read, name="crunch-xl listing worker", daemon=True).start()

    def send(self, message: tuple[Any, ...]) -> None:
        """Send a request; a worker that has gone is marked so, and its listing given up."""
        try:
            with self._lock:
                assert self._process.stdin is not None
                pickle.dump(message, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self._process.stdin.flush()
        except (OSError, ValueError):
            self._gone()

    def _read(self) -> None:
        assert self._process.stdout is not None
        try:
            while True:
                reply = pickle.load(self._process.stdout)
                if reply[0] == "ready":
                    self.ready.set()
                    continue
                listing = self.current
                if listing is None or listing.number != reply[1]:
                    continue
                self.current = None
                if reply[0] == "listed":
                    listing.settle(reply[2])
                elif reply[0] == "error":
                    listing.settle(None, reply[2])
                else:
                    listing.settle(None)
                _free(self)
        except (EOFError, OSError, pickle.UnpicklingError):
            self._gone()

    def _gone(self) -> None:
        global _unstartable
        if not self.ready.is_set() and not self.closing:
            # It ended before it was ready (no Python to run it, say): none is started again.
            _unstartable = True
        self.alive = False
        listing, self.current = self.current, None
        if listing is not None:
            listing.settle(None)

    def close(self) -> None:
        """End the worker: its input closes, and it is killed if it does not end at once."""
        self.closing = True
        self.alive = False
        try:
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._process.wait(timeout=1.0)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self._process.kill()


_POOL_LOCK = threading.Lock()
#: Workers with no listing running.
_IDLE: list[_Worker] = []
_ALL: list[_Worker] = []
_numbers = iter(range(1, sys.maxsize))
_exiting = False
_unstartable = False


def warm() -> None:
    """Start a worker unless one is free already (it takes a moment to start)."""
    with _POOL_LOCK:
        if not any(worker.alive for worker in _IDLE):
            _start()


def start(scenario: Scenario, bounds: Caps, question: Question) -> Listing | None:
    """Send a listing to a free worker that is ready (None: there is none now; one is
    started for later listings)."""
    with _POOL_LOCK:
        _IDLE[:] = [worker for worker in _IDLE if worker.alive]
        worker = next((w for w in _IDLE if w.ready.is_set()), None)
        if worker is None:
            if not _IDLE:
                _start()
            return None
        _IDLE.remove(worker)
        listing = Listing(worker, next(_numbers))
        worker.current = listing
    worker.send(("list", listing.number, scenario, bounds, question))
    return listing


def _start() -> None:
    global _unstartable
    if _exiting or _unstartable:
        return
    try:
        worker = _Worker()
    except OSError:
        _unstartable = True
        return
    _IDLE.append(worker)
    _ALL.append(worker)


def _free(worker: _Worker) -> None:
    with _POOL_LOCK:
        if worker.alive and worker not in _IDLE:
            _IDLE.append(worker)


def close_all() -> None:
    """End every worker; later listings start new ones."""
    with _POOL_LOCK:
        workers = list(_ALL)
        _ALL.clear()
        _IDLE.clear()
    for worker in workers:
        worker.close()


@atexit.register
def _at_exit() -> None:
    # A planning thread still running as the process exits must not start a worker that
    # would outlive it.
    global _exiting
    with _POOL_LOCK:
        _exiting = True
    close_all()


# -- in the worker --------------------------------------------------------------------------


def _serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """List structures for each request until the input ends."""
    from crunch_xl.planner.listing import structures
    from crunch_xl.planner.search import answers

    jobs: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
    stopped: set[int] = set()
    # The input ends when the planner's process does, however it ends: a listing running
    # then stops too.
    ended = threading.Event()

    def read() -> None:
        try:
            while True:
                message = pickle.load(requests)
                if message[0] == "stop":
                    stopped.add(message[1])
                else:
                    jobs.put(message)
        except (EOFError, OSError, pickle.UnpicklingError):
            ended.set()
            jobs.put(None)

    def reply(message: tuple[Any, ...]) -> None:
        pickle.dump(message, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()

    threading.Thread(target=read, daemon=True).start()
    reply(("ready",))
    school: School | None = None
    while (job := jobs.get()) is not None:
        _, number, scenario, bounds, question = job
        try:
            if school is None or school.scenario != scenario:
                school = School(scenario)
            steps = structures(school, bounds, partial(answers, school, question=question))
            try:
                while number not in stopped and not ended.is_set():
                    next(steps)
            except StopIteration as done:
                reply(("listed", number, done.value))
                continue
            reply(("stopped", number))
        except Exception:  # noqa: BLE001 - every error goes back to the planner
            reply(("error", number, traceback.format_exc()))


if __name__ == "__main__":
    # Ctrl-C reaches every process of the console: the planner stops this one.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _replies, sys.stdout = sys.stdout.buffer, sys.stderr
    _serve(sys.stdin.buffer, _replies)
