"""Plain-Python checks of an option against a scenario's rules, and the ranking key.

Independent of the planner and of the baseline's model: the benchmark uses them to catch an
allocation that breaks a rule and a planner's option 1 that a baseline answer beats.
"""

from __future__ import annotations

from collections import Counter

from crunch_xl.model import Option, Priority, Scenario


def measures(scenario: Scenario, option: Option) -> dict[str, int]:
    """Return the option's measures (SPEC section 1), worked out from its classes alone."""
    sizes = [school_class.size for school_class in option.classes]
    spare = min(
        scenario.size_limits(school_class.kind)[1] - school_class.size
        for school_class in option.classes
    )
    spread = 0
    for grade in scenario.grades:
        holding = [c.size for c in option.classes if grade.label in c.kind]
        if holding:
            spread = max(spread, max(holding) - min(holding))
    return {
        "composites": sum(len(c.kind) > 1 for c in option.classes),
        "spare": spare,
        "largest": max(sizes),
        "range": max(sizes) - min(sizes),
        "spread": spread,
    }


#: Each priority's ranking (SPEC section 1): measures most important first, "larger is better".
RANKINGS: dict[Priority, tuple[tuple[str, bool], ...]] = {
    Priority.FEWEST_COMPOSITES: (
        ("composites", False),
        ("spare", True),
        ("spread", False),
        ("largest", False),
    ),
    Priority.SMALLEST_CLASSES: (
        ("spare", True),
        ("composites", False),
        ("spread", False),
        ("largest", False),
    ),
    Priority.EVEN_CLASSES: (("range", False), ("composites", False), ("spread", False)),
}


def ranking_key(scenario: Scenario, option: Option) -> tuple[int, ...]:
    """Return the option's sort key under the scenario's priority (smaller is better)."""
    values = measures(scenario, option)
    return tuple(
        -values[name] if larger else values[name] for name, larger in RANKINGS[scenario.priority]
    )


def rule_breaks(scenario: Scenario, option: Option) -> list[str]:
    """Return every rule of SPEC section 1 the option breaks, in words (empty when it obeys all)."""
    breaks: list[str] = []
    allowed = set(scenario.kinds)
    labels = {grade.label for grade in scenario.grades}
    placed: Counter[str] = Counter()
    for school_class in option.classes:
        name, kind = school_class.name, school_class.kind
        if kind not in allowed:
            breaks.append(f"{name}: class kind {'/'.join(kind)} is not allowed")
            continue
        for label, count in school_class.counts.items():
            if label not in labels or label not in kind:
                breaks.append(f"{name}: holds grade {label!r}, not one of its kind")
            if not isinstance(count, int) or count < 0:
                breaks.append(f"{name}: {count!r} children of grade {label}")
            placed[label] += count
        smallest, largest = scenario.size_limits(kind)
        if not smallest <= school_class.size <= largest:
            breaks.append(f"{name}: {school_class.size} children, allowed {smallest}-{largest}")
        if len(kind) > 1:
            for label in kind:
                if school_class.counts.get(label, 0) < scenario.composite_minimum:
                    breaks.append(
                        f"{name}: {school_class.counts.get(label, 0)} of grade {label}, "
                        f"composite minimum {scenario.composite_minimum}"
                    )
    for grade in scenario.grades:
        if placed[grade.label] != grade.children:
            breaks.append(f"grade {grade.label}: {placed[grade.label]} placed of {grade.children}")
    classes = len(option.classes)
    if scenario.use_every_teacher and classes != scenario.teachers:
        breaks.append(f"{classes} classes for {scenario.teachers} teachers (every teacher used)")
    if not scenario.use_every_teacher and classes > scenario.teachers:
        breaks.append(f"{classes} classes for only {scenario.teachers} teachers")
    structure = option.structure
    for kind in scenario.kinds:
        fewest, most = scenario.count_limits(kind)
        if fewest is not None and structure[kind] < fewest:
            breaks.append(f"{structure[kind]} classes of {'/'.join(kind)}, fewest {fewest}")
        if most is not None and structure[kind] > most:
            breaks.append(f"{structure[kind]} classes of {'/'.join(kind)}, most {most}")
    return breaks
