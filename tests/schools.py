"""Schools the tests share: scenarios built in code, too large for hand checking."""

from __future__ import annotations

from crunch_xl.model import Composite, Grade, Priority, Scenario


def hard_school() -> Scenario:
    """Return a K-12 school at its fewest teachers: 1,573 children, twelve composites."""
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
