"""Counts in the administrator's words: "1 class", "3 classes"."""


def count(number: int, one: str, many: str | None = None) -> str:
    """Return the number with its noun, e.g. ``1 class`` or ``3 classes`` (many: one + "s")."""
    return f"{number} {one if number == 1 else (many or one + 's')}"
