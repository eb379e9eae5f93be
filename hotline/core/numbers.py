"""Numbers from outside (AT's callbacks and answers, keypads, SMS, files): ASCII digits, within bounds.

`str.isdigit()` is true for `²` and `٣`, and `int()`, `float()` and `Decimal()` accept `１２`,
`1e400`, `inf` and `nan`. None of those is a number AT or a phone's keypad sends, and each has
crashed a handler (`int('²')`, `int(float('1e400'))`, a 20-digit count into an INTEGER column).
So every digit test and every number read from outside goes through these.
"""

from __future__ import annotations

import re
from decimal import Decimal

# ASCII only (no `\d`: it matches every script's digits); longer than this is never a real value.
_NUMBER = re.compile(r"[+-]?([0-9]{1,18})(?:\.([0-9]{0,9}))?")


def ascii_digits(text: str) -> bool:
    """True when `text` is one or more of the ASCII digits 0-9 and nothing else."""
    return text.isascii() and text.isdigit()


def bounded_int(text: str | None, low: int, high: int) -> int | None:
    """The whole number in `text` (ASCII digits, optional sign, decimals dropped) within
    [low, high]; None when it is missing, malformed or out of bounds."""
    match = _NUMBER.fullmatch((text or "").strip())
    if match is None:
        return None
    value = int(match.group(1)) * (-1 if text.strip().startswith("-") else 1)
    return value if low <= value <= high else None


def bounded_decimal(text: str | None, low: Decimal, high: Decimal) -> Decimal | None:
    """The decimal number in `text` (ASCII digits, optional sign and decimals) within [low, high];
    None when it is missing, malformed or out of bounds."""
    text = (text or "").strip()
    if _NUMBER.fullmatch(text) is None:
        return None
    value = Decimal(text)
    return value if low <= value <= high else None
