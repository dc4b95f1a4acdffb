"""The flows behind the search over class counts: a placement carried down a step is one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crunch_xl.model import Kind
from crunch_xl.planner.flows import partly_fits, still_placed


@st.composite
def partial_choices(draw: st.DrawFn) -> dict:
    """Return a small school's kinds in reading order, a choice of the first few kinds'
    classes, and the next kind with a number of classes for it."""
    labels = [str(i) for i in range(draw(st.integers(2, 4)))]
    children = {label: draw(st.integers(0, 40)) for label in labels}
    kinds: list[Kind] = [(label,) for label in labels]
    kinds += [tuple(labels[i : i + 2]) for i in range(len(labels) - 1) if draw(st.booleans())]
    sizes = {}
    for kind in kinds:
        smallest = draw(st.integers(1, 15))
        sizes[kind] = (smallest, smallest + draw(st.integers(0, 15)))
    most = {kind: draw(st.integers(0, 3)) for kind in kinds}
    chosen_count = draw(st.integers(0, len(kinds) - 1))
    chosen = [(kind, draw(st.integers(0, most[kind]))) for kind in kinds[:chosen_count]]
    nxt = kinds[chosen_count]
    return {
        "children": children,
        "chosen": chosen,
        "next": (nxt, draw(st.integers(0, most[nxt]))),
        "later": [(kind, most[kind]) for kind in kinds[chosen_count + 1 :]],
        "sizes": sizes,
        "minimum": draw(st.integers(1, 3)),
        "teachers": draw(st.integers(1, 8)),
        "lowest": draw(st.integers(0, 8)),
        "composites": draw(st.one_of(st.none(), st.integers(0, 3))),
    }


@settings(max_examples=400, deadline=None)
@given(c=partial_choices())
def test_a_placement_still_placed_a_step_down_is_one_the_flow_finds_there(c: dict) -> None:
    kind, classes = c["next"]
    chosen = [(k, n) for k, n in c["chosen"] if n > 0]
    used = sum(n for _, n in chosen)
    composites = sum(n for k, n in chosen if len(k) > 1)
    budget = None if c["composites"] is None else c["composites"] - composites
    before = partly_fits(
        c["children"],
        chosen,
        [(kind, c["next"][1] + 1), *c["later"]],
        c["sizes"],
        c["minimum"],
        (max(0, c["lowest"] - used), c["teachers"] - used),
        budget,
    )
    if before is None:
        return
    after_used = used + classes
    after_budget = None if budget is None else budget - (classes if len(kind) > 1 else 0)
    left = (max(0, c["lowest"] - after_used), c["teachers"] - after_used)
    args = (c["sizes"], c["minimum"], left, after_budget)
    if still_placed(before, kind, classes, c["later"], *args):
        running = chosen + ([(kind, classes)] if classes else [])
        assert partly_fits(c["children"], running, c["later"], *args) is not None
