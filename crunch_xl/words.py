"""The administrator's words: counts, grade names and lists, written one way everywhere."""

from __future__ import annotations

from collections.abc import Iterable


def count(number: int, one: str, many: str | None = None) -> str:
    """Return the number with its noun, e.g. ``1 class`` or ``3 classes`` (many: one + "s")."""
    return f"{number} {one if number == 1 else (many or one + 's')}"


def children(number: int) -> str:
    """Return ``1 child`` / ``3 children``."""
    return count(number, "child", "children")


def classes(number: int) -> str:
    """Return ``1 class`` / ``3 classes``."""
    return count(number, "class", "classes")


def grade(label: str) -> str:
    """Return a grade's name in a sentence: ``Year 2`` as typed, a bare ``2`` as ``Grade 2``."""
    return f"Grade {label}" if len(label) <= 2 or label[0].isdigit() else label


def join(items: Iterable[str]) -> str:
    """Return ``a``, ``a and b`` or ``a, b and c``."""
    listed = list(items)
    if len(listed) <= 1:
        return "".join(listed)
    return ", ".join(listed[:-1]) + " and " + listed[-1]
