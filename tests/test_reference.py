"""Reference codes: keypad digits, a check digit that catches typos, and no guessable order."""

from __future__ import annotations

from hotline.reference import check_digit, display, new_reference, normalise


def test_new_references_are_nine_digits_that_pass_their_check():
    codes = {new_reference() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(code) == 9 and code.isdigit() and normalise(code) == code for code in codes)


def test_every_single_digit_mistake_is_caught():
    code = new_reference()
    for position in range(9):
        for digit in "0123456789":
            if digit != code[position]:
                typo = code[:position] + digit + code[position + 1 :]
                assert normalise(typo) is None


def test_every_swap_of_neighbouring_digits_is_caught():
    for _ in range(200):
        code = new_reference()
        for i in range(8):
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
                assert normalise(swapped) is None


def test_typed_forms_are_accepted():
    body = "48217730"
    code = body + check_digit(body)
    assert display(code) == f"482-177-30{code[-1]}"
    for typed in (display(code), f" {code} ", code[:3] + " " + code[3:], display(code).replace("-", "/")):
        assert normalise(typed) == code
    for junk in ("", "abc", "12345", code + "1", None):
        assert normalise(junk) is None
