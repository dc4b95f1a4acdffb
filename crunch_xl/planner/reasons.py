"""Why each option is shown and how it differs from option 1, in the administrator's words."""

from __future__ import annotations

from collections import Counter

from crunch_xl import words
from crunch_xl.model import Kind, Priority, SchoolClass
from crunch_xl.planner.options import Why

_FOR = {
    Priority.FEWEST_COMPOSITES: "fewest composites",
    Priority.SMALLEST_CLASSES: "smallest classes",
    Priority.EVEN_CLASSES: "even classes",
}


def reason(
    why: Why,
    priority: Priority,
    classes: list[SchoolClass],
    first: list[SchoolClass],
    *,
    tied: bool = False,
) -> str:
    """Return why an option is shown, then how it differs from option 1.

    tied: the option ties option 1 on every measure of the ranking, which the reason says
    whatever else it shows.
    """
    if why is Why.BEST:
        return f"Best for {_FOR[priority]}"
    lead = {
        Why.EQUALLY_GOOD: "Equally good as option 1",
        Why.NEXT_BEST: f"Next best for {_FOR[priority]}",
        Why.COVERING: "Best plan that covers the estimates",
        Why.TRADE_OFF: _trade(classes, first),
    }[why]
    if tied and why is not Why.EQUALLY_GOOD:
        lead = f"Equally good as option 1 ({lead[0].lower()}{lead[1:]})"
    differences = differ(classes, first)
    return f"{lead}: {differences}" if differences else lead


def _trade(classes: list[SchoolClass], first: list[SchoolClass]) -> str:
    """Return what a trade-off step trades: composites against spare places."""
    extra = _composites(classes) - _composites(first)
    spare = min(c.spare for c in classes) - min(c.spare for c in first)
    more_or_fewer = "more" if extra > 0 else "fewer"
    places = words.count(abs(spare), "spare place")
    gain = "more" if spare > 0 else "fewer"
    room = f"{places} {gain} in the fullest class"
    if extra == 0:
        return f"As many composites, {room}"
    return f"{words.count(abs(extra), 'composite')} {more_or_fewer}, {room}"


def _composites(classes: list[SchoolClass]) -> int:
    return sum(1 for c in classes if c.is_composite)


def differ(classes: list[SchoolClass], first: list[SchoolClass]) -> str:
    """Return how these classes differ from option 1's: classes gained or lost per grade,
    composites that replace others, and kinds whose classes fill up."""
    mine, theirs = Counter(c.kind for c in classes), Counter(c.kind for c in first)
    order = _order(classes, first).__getitem__
    parts = []
    added = sorted(set((mine - theirs).elements()), key=order)
    dropped = sorted(set((theirs - mine).elements()), key=order)
    new_composites = [k for k in added if len(k) > 1]
    old_composites = [k for k in dropped if len(k) > 1]
    if len(new_composites) == 1 and len(old_composites) == 1:
        parts.append(f"a {_name(new_composites[0])} class instead of a {_name(old_composites[0])}")
    else:
        parts += [f"{_some(mine[k] - theirs[k], _name(k))} more" for k in new_composites]
        parts += [
            f"no {_name(k)} class"
            if mine[k] == 0
            else f"{_some(theirs[k] - mine[k], _name(k))} fewer"
            for k in old_composites
        ]
    for kind in sorted(set(added) | set(dropped), key=order):
        if len(kind) > 1:
            continue
        change = mine[kind] - theirs[kind]
        grade = words.grade(kind[0])
        if change > 0:
            parts.append(f"{grade} gains {words.classes(change)}")
        else:
            parts.append(f"{grade} loses {words.classes(-change)}")
    full = [kind for kind in _full(classes) if kind not in _full(first)]
    if full:
        names = [words.grade(kind[0]) if len(kind) == 1 else _name(kind) for kind in full]
        parts.append(f"a full class in {words.join(names)}")
    return "; ".join(parts)


def _some(number: int, name: str) -> str:
    """Return ``a 4/5 class`` or ``2 4/5 classes``."""
    return words.count(number, f"{name} class", single="a")


def _name(kind: Kind) -> str:
    return "/".join(kind) if len(kind) > 1 else words.grade(kind[0])


def _full(classes: list[SchoolClass]) -> list[Kind]:
    """Return the kinds with a full class, in class order."""
    found: list[Kind] = []
    for c in classes:
        if c.is_full and c.kind not in found:
            found.append(c.kind)
    return found


def _order(classes: list[SchoolClass], first: list[SchoolClass]) -> dict[Kind, int]:
    position: dict[Kind, int] = {}
    for c in first + classes:
        position.setdefault(c.kind, len(position))
    return position


__all__ = ["differ", "reason"]
