"""The GSM 03.38 alphabet: what a USSD screen or an SMS may contain and still fit 160 characters."""

from __future__ import annotations

import math

BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table characters take two septets (escape + char).
EXTENDED = set("^{}\\[~]|€")

# Common look-alikes that phones produce, mapped to their GSM-7 twins.
_FOLD = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\t": " "})


def is_gsm7(text: str) -> bool:
    """True when every character is in GSM-7 (basic or extension table)."""
    return all(ch in BASIC or ch in EXTENDED for ch in text)


def septets(text: str) -> int:
    """The length of `text` in GSM-7 septets (extension characters count twice)."""
    return sum(2 if ch in EXTENDED else 1 for ch in text)


def fit(text: str, limit: int) -> str:
    """The longest start of `text` that takes at most `limit` septets."""
    used = 0
    for at, ch in enumerate(text):
        used += 2 if ch in EXTENDED else 1
        if used > limit:
            return text[:at]
    return text


def to_gsm7(text: str, replacement: str = "?") -> str:
    """`text` with look-alikes folded and anything else outside GSM-7 replaced."""
    folded = text.translate(_FOLD)
    return "".join(ch if ch in BASIC or ch in EXTENDED else replacement for ch in folded)


def offending(text: str) -> str:
    """The characters of `text` that are not GSM-7, for error messages."""
    return "".join(sorted({ch for ch in text if ch not in BASIC and ch not in EXTENDED}))


def encoding(text: str) -> str:
    """How an SMS of `text` is encoded: "GSM-7", or "UCS-2" when one character is outside it."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def segments(text: str) -> int:
    """How many SMS `text` takes: 160 GSM-7 septets or 70 UCS-2 units alone, 153 or 67 joined."""
    if is_gsm7(text):
        single, joined, length = 160, 153, septets(text)
    else:
        # UCS-2 counts UTF-16 code units, so an emoji takes two.
        single, joined, length = 70, 67, len(text.encode("utf-16-le")) // 2
    return 1 if length <= single else math.ceil(length / joined)
