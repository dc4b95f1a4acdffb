"""Plain data for crunch-xl: scenarios in, options and results out (stdlib only).

The names are the administrator's words: a *grade* has children and class-size limits, a
*composite* is a class kind made of two or more grades, an *option* is one allocation of every
child to a class, ranked by the scenario's priority.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from crunch_xl.errors import Problem

#: A class kind: the grade labels of a straight class (one label) or a composite (two or more),
#: in teaching order.
Kind = tuple[str, ...]

#: Sheet-scoped defined name that marks a sheet as written by crunch-xl, whatever its name.
RESULT_SHEET_MARK = "crunch_xl_result"


def structure_of(classes: Mapping[Kind, int]) -> tuple[tuple[Kind, int], ...]:
    """Return a structure as sorted (kind, classes) pairs, kinds with no class left out."""
    return tuple(sorted((kind, count) for kind, count in classes.items() if count > 0))


def composites_of(classes: Mapping[Kind, int]) -> int:
    """Return the composite classes of a structure (classes of kinds with several grades)."""
    return sum(count for kind, count in classes.items() if len(kind) > 1)


class Priority(StrEnum):
    """How options are ranked (the scenario's "Priority" setting)."""

    FEWEST_COMPOSITES = "Fewest composites"
    SMALLEST_CLASSES = "Smallest classes"
    EVEN_CLASSES = "Even classes"


class Status(StrEnum):
    """Outcome of planning one scenario."""

    SOLVED = "solved"
    INFEASIBLE = "infeasible"
    INVALID = "invalid"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class Grade:
    """One grade: its children and the limits on its straight classes.

    The estimates are the fewest and most children the grade might have next year (None:
    the children number itself).
    """

    label: str
    children: int
    smallest: int
    largest: int
    fewest_classes: int | None = None
    most_classes: int | None = None
    low_estimate: int | None = None
    high_estimate: int | None = None

    @property
    def estimates(self) -> tuple[int, int]:
        """Return the (low, high) enrolment to plan for; both are the children without one."""
        low = self.children if self.low_estimate is None else self.low_estimate
        high = self.children if self.high_estimate is None else self.high_estimate
        return low, high

    @property
    def has_estimates(self) -> bool:
        """Return whether the grade's enrolment may move (an estimate differs from it)."""
        return self.estimates != (self.children, self.children)


@dataclass(frozen=True)
class Composite:
    """An allowed composite class kind; blank limits are derived from its grades."""

    grades: Kind
    smallest: int | None = None
    largest: int | None = None
    fewest_classes: int | None = None
    most_classes: int | None = None

    @property
    def name(self) -> str:
        """Return the composite's name as the administrator writes it, e.g. ``K/1``."""
        return "/".join(self.grades)


@dataclass(frozen=True)
class Scenario:
    """One scenario sheet: everything the planner needs, nothing about Excel."""

    name: str
    grades: tuple[Grade, ...]
    composites: tuple[Composite, ...] = ()
    teachers: int = 1
    use_every_teacher: bool = True
    composite_minimum: int = 1
    alternatives: int = 3
    priority: Priority = Priority.FEWEST_COMPOSITES

    def grade(self, label: str) -> Grade:
        """Return the grade with this label."""
        for grade in self.grades:
            if grade.label == label:
                return grade
        raise KeyError(label)

    @property
    def children(self) -> int:
        """Return the number of children in every grade together."""
        return sum(grade.children for grade in self.grades)

    def size_limits(self, kind: Kind) -> tuple[int, int]:
        """Return (smallest, largest) size allowed for a class of this kind (SPEC rules 2-3)."""
        if len(kind) == 1:
            grade = self.grade(kind[0])
            return grade.smallest, grade.largest
        composite = self.composite(kind)
        grades = [self.grade(label) for label in kind]
        smallest = composite.smallest
        largest = composite.largest
        if smallest is None:
            smallest = max(grade.smallest for grade in grades)
        if largest is None:
            largest = min(grade.largest for grade in grades)
        return smallest, largest

    def composite(self, kind: Kind) -> Composite:
        """Return the allowed composite with exactly these grades."""
        for composite in self.composites:
            if composite.grades == kind:
                return composite
        raise KeyError("/".join(kind))

    def count_limits(self, kind: Kind) -> tuple[int | None, int | None]:
        """Return (fewest, most) classes of this kind the scenario asks for (None: no limit)."""
        item: Grade | Composite = self.grade(kind[0]) if len(kind) == 1 else self.composite(kind)
        return item.fewest_classes, item.most_classes

    def class_range(self, kind: Kind) -> tuple[int, int]:
        """Return (fewest, most) classes of this kind any allocation may run: the scenario's
        own counts, with 0 where it gives no fewest, and never more than the teachers."""
        fewest, most = self.count_limits(kind)
        return fewest or 0, self.teachers if most is None else min(most, self.teachers)

    @property
    def kinds(self) -> list[Kind]:
        """Return every class kind allowed: each grade's straight class, then each composite."""
        return [(grade.label,) for grade in self.grades] + [c.grades for c in self.composites]

    @property
    def has_estimates(self) -> bool:
        """Return whether some grade's enrolment is given as a range."""
        return any(grade.has_estimates for grade in self.grades)


@dataclass(frozen=True)
class SchoolClass:
    """One class of an option: its name, kind, children of each grade and its largest size."""

    name: str
    kind: Kind
    counts: dict[str, int]
    #: The most children this class may have: its grade's largest class, or the composite's
    #: own or derived one (SPEC rules 2-3).
    largest: int

    @property
    def size(self) -> int:
        """Return the number of children in the class."""
        return sum(self.counts.values())

    @property
    def spare(self) -> int:
        """Return the places left in the class before it reaches its largest size."""
        return self.largest - self.size

    @property
    def is_full(self) -> bool:
        """Return whether the class has no place left."""
        return self.spare <= 0

    @property
    def is_composite(self) -> bool:
        """Return whether the class mixes two or more grades."""
        return len(self.kind) > 1


@dataclass(frozen=True)
class Room:
    """How many children a grade could lose or gain with an option's classes (SPEC: headroom)."""

    fewer: int
    more: int


@dataclass
class Option:
    """One allocation of every child to a class, with its rank among the scenario's options."""

    rank: int
    classes: list[SchoolClass]
    #: True when the planner proved this option best for its purpose (option 1: best overall).
    proven: bool = True
    #: Why this option is offered and how it differs from option 1, in words.
    reason: str = ""
    #: True when the option ties option 1 on every measure of the ranking.
    equally_good: bool = False
    #: Each grade's room with these classes (re-split), every other grade unchanged.
    headroom: dict[str, Room] = field(default_factory=dict)
    #: Whether the classes hold every enrolment within the estimates (None: none given).
    covers_estimates: bool | None = None
    #: True for the best structure that covers the estimates.
    best_covering: bool = False

    @property
    def composites(self) -> int:
        """Return the number of composite classes."""
        return sum(1 for c in self.classes if c.is_composite)

    @property
    def spare(self) -> int:
        """Return the places left in the fullest class, each class against its own limit."""
        return min(c.spare for c in self.classes)

    @property
    def largest(self) -> int:
        """Return the size of the largest class."""
        return max(c.size for c in self.classes)

    @property
    def smallest(self) -> int:
        """Return the size of the smallest class."""
        return min(c.size for c in self.classes)

    @property
    def range(self) -> int:
        """Return largest minus smallest class size."""
        return self.largest - self.smallest

    @property
    def spread(self) -> int:
        """Return the biggest, over grades, of largest minus smallest class holding that grade."""
        sizes: dict[str, list[int]] = {}
        for c in self.classes:
            for label, count in c.counts.items():
                if count > 0:
                    sizes.setdefault(label, []).append(c.size)
        return max((max(s) - min(s) for s in sizes.values()), default=0)

    @property
    def structure(self) -> Counter[Kind]:
        """Return how many classes of each kind the option runs."""
        return Counter(c.kind for c in self.classes)

    def classes_of(self, label: str) -> int:
        """Return the number of classes that contain children of this grade."""
        return sum(1 for c in self.classes if c.counts.get(label, 0) > 0)


class Repair(StrEnum):
    """What a suggested change changes (SPEC section 3, a suggestion's `field`)."""

    TEACHERS = "teachers"
    USE_EVERY_TEACHER = "use every teacher"
    COMPOSITE_MINIMUM = "composite minimum"
    SMALLEST_CLASS = "smallest class"
    LARGEST_CLASS = "largest class"
    ALLOW_COMPOSITE = "allow composite"


@dataclass(frozen=True)
class Suggestion:
    """One single change that makes an infeasible scenario solvable (SPEC section 3)."""

    text: str
    field: Repair
    #: The grade or composite changed ("2", "K/1"), the composite allowed, or None.
    target: str | None
    value: int | bool | None
    #: The fewest composites any plan needs after the change (None when not worked out).
    composites: int | None = None


@dataclass
class Result:
    """The outcome of planning one scenario sheet."""

    sheet: str
    status: Status
    message: str = ""
    seconds: float = 0.0
    options: list[Option] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    #: Valid-but-suspicious input worth a look even when solved.
    warnings: list[str] = field(default_factory=list)
    #: The scenario as read (None when the sheet was invalid).
    scenario: Scenario | None = None
    #: When the estimates cannot all be covered by one structure, why (else "").
    estimates_message: str = ""
    #: Every wrong cell of an invalid sheet, in sheet order (``message`` says them in words).
    problems: list[Problem] = field(default_factory=list)

    def grade_labels(self) -> list[str]:
        """Return the grade labels in teaching order: the scenario's, then any found in a class."""
        labels = [grade.label for grade in self.scenario.grades] if self.scenario else []
        for option in self.options:
            for school_class in option.classes:
                for label in (*school_class.kind, *school_class.counts):
                    if label not in labels:
                        labels.append(label)
        return labels


@dataclass
class Report:
    """What processing one workbook did: results per scenario sheet and where they went."""

    file: Path
    results: list[Result] = field(default_factory=list)
    #: Where the results were written (None when nothing was written).
    output: Path | None = None
    #: Things worth telling the user: skipped blank sheets, sheets that look like broken
    #: scenarios, results written beside the original, and why.
    notes: list[str] = field(default_factory=list)
    #: Parts of the user's workbook that writing into it would have lost.
    lost: list[str] = field(default_factory=list)

    @property
    def all_solved(self) -> bool:
        """Return whether every scenario was solved (and there was at least one)."""
        return bool(self.results) and all(r.status is Status.SOLVED for r in self.results)
