"""The administrator's words: counts, grade names, lists and verdicts, written one way everywhere.

Every sentence crunch-xl shows (on the console, on a result sheet, in the JSON, in a watched
folder's log) builds its counts and lists here, so "1 class", "no composites" and "options 1,
3 and 4" read the same wherever they appear.
"""

from __future__ import annotations

from collections.abc import Iterable

from crunch_xl.model import Option, Result, Status


def plural(one: str) -> str:
    """Return the plural of a noun: ``class`` -> ``classes``, ``grade`` -> ``grades``."""
    return one + ("es" if one.endswith(("s", "x", "ch", "sh")) else "s")


def count(
    number: int,
    one: str,
    many: str | None = None,
    *,
    zero: str | None = None,
    single: str | None = None,
) -> str:
    """Return the number with its noun, e.g. ``1 class`` or ``3 classes``.

    ``many`` is the plural (default: ``plural(one)``); ``zero``, when given, replaces the
    number 0, e.g. ``no composites``; ``single`` the number 1, e.g. ``a K/1 class``.
    """
    noun = one if number == 1 else (many or plural(one))
    if number == 0 and zero is not None:
        return f"{zero} {noun}"
    if number == 1 and single is not None:
        return f"{single} {noun}"
    return f"{number} {noun}"


def agree(number: int, one: str, many: str) -> str:
    """Return the word that agrees with a count: ``agree(1, "is", "are")`` is ``is``."""
    return one if number == 1 else many


def children(number: int) -> str:
    """Return ``1 child`` / ``3 children``."""
    return count(number, "child", "children")


def classes(number: int) -> str:
    """Return ``1 class`` / ``3 classes``."""
    return count(number, "class")


def grade(label: str) -> str:
    """Return a grade's name in a sentence: ``Year 2`` as typed, a bare ``2`` as ``Grade 2``."""
    return f"Grade {label}" if len(label) <= 2 or label[0].isdigit() else label


def join(items: Iterable[str]) -> str:
    """Return ``a``, ``a and b`` or ``a, b and c``."""
    listed = list(items)
    if len(listed) <= 1:
        return "".join(listed)
    return ", ".join(listed[:-1]) + " and " + listed[-1]


def numbered(one: str, numbers: Iterable[int]) -> str:
    """Return a noun with its numbers: ``option 2``, ``options 1, 3 and 4``."""
    listed = [str(number) for number in numbers]
    return f"{one if len(listed) == 1 else plural(one)} {join(listed)}"


def describe(option: Option) -> str:
    """Return "1 composite, 2 spare places in the fullest class, largest class 24"."""
    return (
        f"{count(option.composites, 'composite', zero='no')}, "
        f"{count(option.spare, 'spare place')} in the fullest class, "
        f"largest class {option.largest}"
    )


def verdict(result: Result) -> str:
    """Return the one-line verdict for a scenario, e.g. "Solved: best plan has 1 composite…"."""
    best = result.options[0] if result.options else None
    if result.status is Status.SOLVED and best is not None:
        proof = "proven best" if best.proven else "not proven best"
        full = [label for label, room in best.headroom.items() if room.more == 0]
        tight = f"; no room for one more child in {join(grade(g) for g in full)}" if full else ""
        return f"Solved: best plan has {describe(best)} ({proof}){tight}"
    if result.status is Status.TIMEOUT:
        if best is None:
            return "Time limit reached before any plan was found"
        return f"Time limit reached: best plan found has {describe(best)} (not proven best)"
    if result.status is Status.INFEASIBLE:
        return f"Impossible: {result.message or 'no plan obeys every rule'}"
    if result.status is Status.INVALID:
        return f"Not planned, fix the scenario sheet: {result.message}"
    return "Solved"
