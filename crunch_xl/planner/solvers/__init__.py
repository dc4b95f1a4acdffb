"""One interface to the MIP solvers: give a PuLP model and a time limit, get an answer.

The planner never knows which solver runs its models (STYLE: `problem.solve(solver)`); each
backend lives in a module of its own. Every answer the planner keeps is either a proof (a
question has no solution, or a solution is optimal) or a structure the planner checks itself,
so which solver answered never changes a plan, only how long it took.
"""

from __future__ import annotations

from crunch_xl.planner.solvers.base import Answer, Backend, Outcome
from crunch_xl.planner.solvers.cbc import Cbc
from crunch_xl.planner.solvers.highs import Highs

#: Solvers by the name the command line uses; the first is the default.
BACKENDS: dict[str, type[Backend]] = {"highs": Highs, "cbc": Cbc}
SOLVERS = tuple(BACKENDS)
DEFAULT_SOLVER = SOLVERS[0]


def backend(name: str) -> Backend:
    """Return the backend of this name (ValueError: no such solver)."""
    try:
        return BACKENDS[name]()
    except KeyError:
        raise ValueError(f"unknown solver {name!r}; choose one of {', '.join(SOLVERS)}") from None


def available_solvers() -> list[str]:
    """Return the names of the solvers that can run here."""
    return [name for name, kind in BACKENDS.items() if kind.available()]


__all__ = [
    "BACKENDS",
    "DEFAULT_SOLVER",
    "SOLVERS",
    "Answer",
    "Backend",
    "Outcome",
    "available_solvers",
    "backend",
]
