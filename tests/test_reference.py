"""Reference codes: keypad digits, a check digit that catches typos, and no guessable order."""

from __future__ import annotations

import random

import pytest

from hotline.core import randomness
from hotline.tips.reference import CODE_SPACE, check_digit, display, format_of, new_reference, normalise


@pytest.fixture
def draw():
    """New references from a seeded generator: the same codes every run."""
    rng = random.Random(20261122)
    return lambda: new_reference(rng.choice)


def test_new_references_are_twelve_digits_in_four_groups_that_pass_their_check(draw):
    # Not asserted: that the draws differ. Two tips may draw one code (the insert then draws again);
    # an unseeded `len(set(codes)) == 2000` over 10^8 old codes failed by chance in 2% of runs.
    codes = [draw() for _ in range(2000)]
    assert all(len(code) == 12 and code.isdigit() and normalise(code) == code for code in codes)
    assert all(format_of(code) == "current" for code in codes)
    assert all(len(display(code).split("-")) == 4 for code in codes)


def test_the_new_code_space_is_a_thousand_times_the_old_one():
    assert CODE_SPACE == {"current": 10**11, "old": 10**8}


def test_a_reference_is_eleven_digits_drawn_at_once_from_the_services_source_and_its_check_digit():
    randomness.seed(5)
    body = f"{random.Random(5).randrange(10**11):011d}"
    code = new_reference()
    assert code == body + check_digit(body) and normalise(code) == code


def test_old_nine_digit_codes_are_still_accepted():
    body = "48217730"
    old = body + check_digit(body)
    assert normalise(display(old)) == old and format_of(old) == "old"
    assert display(old) == f"482-177-30{old[-1]}"


@pytest.mark.parametrize("length", [9, 12])
def test_every_single_digit_mistake_is_caught(draw, length):
    code = draw()[: length - 1]
    code += check_digit(code)
    for position in range(length):
        for digit in "0123456789":
            if digit != code[position]:
                typo = code[:position] + digit + code[position + 1 :]
                assert normalise(typo) is None


def test_every_swap_of_neighbouring_digits_is_caught(draw):
    for _ in range(200):
        code = draw()
        for i in range(len(code) - 1):
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
                assert normalise(swapped) is None


def test_typed_forms_are_accepted(draw):
    code = draw()
    for typed in (display(code), f" {code} ", code[:3] + " " + code[3:], display(code).replace("-", "/")):
        assert normalise(typed) == code
    for junk in ("", "abc", "12345", code + "1", code[:-1], None, "４８２１７７３０５", "²" * 12):
        assert normalise(junk) is None
    # Only spaces, dashes, dots and slashes separate digits: a letter is refused, not dropped.
    for letter in "XxO":
        assert normalise(code[:6] + letter + code[6:]) is None


def test_the_check_digit_is_damms_so_references_given_before_stay_valid():
    assert check_digit("572") == "4"  # the worked example of Damm's algorithm
    assert check_digit("48217730541") == "7" and check_digit("48217730") == "2"
    assert normalise("482-177-305-417") == "482177305417" and normalise("482-177-302") == "482177302"
