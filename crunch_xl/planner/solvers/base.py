"""What every solver backend offers: solve a PuLP model within a time limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar, Protocol

import pulp

#: The objective of every model the planner asks about counts whole classes or children, so
#: an answer within this of the best bound is optimal; solvers stop there instead of proving
#: the last fraction.
OBJECTIVE_GAP = 0.99


class Outcome(Enum):
    """How one solve ended."""

    OPTIMAL = "optimal"
    #: Stopped by the time limit with a solution, not proven optimal.
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    #: Stopped by the time limit (or failed) with nothing found.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Answer:
    """A solve's outcome and the value of every variable, by name, when it found a solution."""

    outcome: Outcome
    values: dict[str, float] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        """Return whether the answer carries a solution."""
        return self.outcome in (Outcome.OPTIMAL, Outcome.FEASIBLE)


class Backend(Protocol):
    """A MIP solver."""

    name: ClassVar[str]

    @classmethod
    def available(cls) -> bool:
        """Return whether the solver can run here."""
        ...

    def solve(
        self, problem: pulp.LpProblem, seconds: float, *, relaxed: bool = False, first: bool = False
    ) -> Answer:
        """Return the answer to the model within about `seconds` (never raises for a model).

        relaxed: solve it with every variable continuous (its linear relaxation): INFEASIBLE
        then proves the model itself has no solution; any other answer proves nothing.
        first: any solution will do: the first found is OPTIMAL (the objective only guides).
        """
        ...
