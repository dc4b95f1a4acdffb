"""The administrator's words: counts and lists read the same wherever they appear."""

from __future__ import annotations

import pytest

from crunch_xl import words


@pytest.mark.parametrize(
    ("number", "one", "zero", "expected"),
    [
        (1, "class", None, "1 class"),
        (3, "class", None, "3 classes"),
        (0, "composite", "no", "no composites"),
        (0, "composite", None, "0 composites"),
        (2, "spare place", None, "2 spare places"),
        (1, "scenario", None, "1 scenario"),
    ],
)
def test_counts(number: int, one: str, zero: str | None, expected: str) -> None:
    assert words.count(number, one, zero=zero) == expected


def test_numbered_lists_read_as_a_sentence() -> None:
    assert words.numbered("option", [2]) == "option 2"
    assert words.numbered("option", [1, 3]) == "options 1 and 3"
    assert words.numbered("option", [1, 3, 4]) == "options 1, 3 and 4"


def test_children_and_grades() -> None:
    assert words.children(1) == "1 child"
    assert words.children(5) == "5 children"
    assert words.grade("2") == "Grade 2"
    assert words.grade("Year 2") == "Year 2"


def test_a_count_may_say_its_one_in_words_and_a_word_agrees_with_it() -> None:
    assert words.count(1, "K/1 class", single="a") == "a K/1 class"
    assert words.count(2, "K/1 class", single="a") == "2 K/1 classes"
    assert words.count(1, "more teacher", single="one") == "one more teacher"
    assert words.count(3, "more teacher", single="one") == "3 more teachers"
    assert [words.agree(n, "is", "are") for n in (0, 1, 2)] == ["are", "is", "are"]
