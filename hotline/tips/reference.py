"""Reference codes: digits only (easy on any keypad), random, with a Damm check digit.

New codes are eleven random digits and a check digit, shown in groups of three as
`482-177-305-419`; codes given before that (eight digits and a check digit, `482-177-305`) keep
working. The Damm check digit catches every single mistyped digit and every swap of two
neighbouring digits, so a typo is answered without a database lookup and costs no guess. With
10^11 codes and a service-wide budget of failed lookups (`hotline.followup`), codes cannot be
enumerated: the README shows the arithmetic.
"""

from __future__ import annotations

from hotline.core import randomness
from hotline.core.numbers import ascii_digits

# Damm's totally anti-symmetric quasigroup of order 10.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

# Random digits before the check digit, by format: what new tips get, and what older tips have.
BODY_DIGITS = 11
OLD_BODY_DIGITS = 8
FORMATS = {BODY_DIGITS + 1: "current", OLD_BODY_DIGITS + 1: "old"}
CODE_SPACE = {"current": 10**BODY_DIGITS, "old": 10**OLD_BODY_DIGITS}
DIGITS = "0123456789"


def check_digit(digits: str) -> str:
    """The Damm check digit of a string of digits."""
    interim = 0
    for char in digits:
        interim = _DAMM[interim][int(char)]
    return str(interim)


def new_reference(choice=None) -> str:
    """A fresh random reference: 11 digits and their check digit (stored without dashes).

    `choice` draws one digit when a test brings its own generator; else the whole number is drawn at
    once from `hotline.randomness` (eleven draws cost more than the tip's insert).
    """
    if choice is None:
        body = f"{randomness.randbelow(10**BODY_DIGITS):0{BODY_DIGITS}d}"
    else:
        body = "".join(choice(DIGITS) for _ in range(BODY_DIGITS))
    return body + check_digit(body)


def normalise(text: str | None) -> str | None:
    """The stored form of a typed reference (either format), or None when malformed or failing the check."""
    digits = "".join(ch for ch in (text or "") if not ch.isspace() and ch not in "-./")
    if len(digits) not in FORMATS or not ascii_digits(digits):
        return None
    return digits if check_digit(digits) == "0" else None


def format_of(code: str) -> str:
    """`current` or `old`: which format a normalised reference has."""
    return FORMATS[len(code)]


def display(reference: str) -> str:
    """How a reference is shown to people: `482-177-305-419` (older ones `482-177-305`)."""
    return "-".join(reference[i : i + 3] for i in range(0, len(reference), 3))
