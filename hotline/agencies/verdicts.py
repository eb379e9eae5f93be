"""A licence verdict in words a job seeker reads on one screen or in one SMS, in both languages.

The verdict is three lines: the agency's name on its own, the verdict as a sentence, and the
register it comes from ("NEA register of 28 Nov"). The name gets the room the other two
leave; too long a name loses its legal suffix and common words first ("Ltd", "Recruitment
Agency"), then is cut at a word, never inside one, and ends with "...".
"""

from __future__ import annotations

import re
from datetime import date

from flows.gsm import fit, septets, to_gsm7
from flows.texts import date_words, text

STALE_AFTER_DAYS = 30
NAME_LENGTH = 60  # the longest name shown, even where there is room (an SMS)
ELLIPSIS = "..."  # GSM-7 has no single-character ellipsis

# Dropped first when a name does not fit: legal forms, then words most agency names share.
LEGAL_SUFFIXES = {"ltd", "limited", "co", "company", "inc", "llc", "plc", "llp"}
COMMON_WORDS = {
    "agency", "agencies", "recruitment", "recruiters", "recruiting", "employment", "consultants",
    "consultancy", "consulting", "services", "international", "bureau", "placement", "placements",
    "manpower", "solutions", "enterprises", "group",
}  # fmt: skip
# Never left at the end of a shortened name ("Jua Kali &").
JOINERS = {"&", "and", "of", "the", "-", "na", "ya", "wa"}


def verdict_lines(
    language: str,
    name: str | None,
    kind: str,
    abroad: bool,
    when: date | None,
    register: str,
    limit: int,
) -> str:
    """The name, the verdict and the register on three lines, in at most `limit` GSM-7 characters."""
    sentence = verdict_sentence(language, kind, abroad, when)
    rest = "\n".join(part for part in (sentence, register) if part)
    room = min(limit - septets(rest) - 1, NAME_LENGTH)
    shown = shorten_name(name or "", room)
    return f"{shown}\n{rest}" if shown else rest


def verdict_sentence(language: str, kind: str, abroad: bool, when: date | None) -> str:
    """The verdict as a sentence: `Licensed to 31 Dec 2099. Local jobs only.` and the like."""
    key = "agency.v.licensed_abroad" if kind == "licensed" and abroad else f"agency.v.{kind}"
    if when is None and kind in ("licensed", "expired"):
        key += "_open"  # the register gave no date
    return text(language, key).format(date=date_words(language, when) if when else "")


def as_typed(query: str) -> str:
    """What a caller typed, to name an agency the register does not have: "kwanza global" reads
    "Kwanza Global" (anything with a capital or no letters is kept as typed)."""
    query = " ".join(query.split())
    return query.title() if query.islower() else query


def register_text(language: str, snapshot: date | None, today: date) -> str:
    """Which register the verdict comes from, said as old when it is more than 30 days old."""
    if snapshot is None:
        return ""
    old = (today - snapshot).days > STALE_AFTER_DAYS
    key = "agency.register_old" if old else "agency.register"
    # A recent register's date needs no year (it is at most 30 days old): room for the name.
    return text(language, key).format(date=date_words(language, snapshot, year=old))


def shorten_names(names: list[str], limit: int) -> list[str]:
    """Each name shortened as `shorten_name` does, unless two would then read the same ("Sunrise
    International Recruitment Ltd" and "Sunrise International Employment Bureau" both "Sunrise
    International"): those keep their first word and the words that tell them apart."""
    shown = [shorten_name(name, limit) for name in names]
    out = []
    for name, short in zip(names, shown, strict=True):
        twins = [other for other, twin in zip(names, shown, strict=True) if twin == short and other != name]
        if not twins:
            out.append(short)
            continue
        first, *rest = name.split()
        shared = set.intersection(*({word.lower() for word in twin.split()} for twin in twins))
        telling = [word for word in rest if word.lower() not in shared]
        out.append(shorten_name(" ".join([first, *telling]), limit, drop_common=False))
    return out


def shorten_name(name: str, limit: int, drop_common: bool = True) -> str:
    """`name` in at most `limit` GSM-7 characters, never cut inside a word when a word fits."""
    words = to_gsm7(" ".join(name.split())).split(" ")
    words = [word for word in words if word]
    if limit <= 0 or not words:
        return ""
    if _fits(words, limit):
        return " ".join(words)
    for droppable in (LEGAL_SUFFIXES, COMMON_WORDS) if drop_common else (LEGAL_SUFFIXES,):
        # From the end: a name's distinctive words come first ("Sunrise Overseas Recruitment Ltd").
        for at in range(len(words) - 1, 0, -1):
            if at < len(words) and _fold(words[at]) in droppable:
                del words[at]
                words = _tidy(words)
                if _fits(words, limit):
                    return " ".join(words)
    kept: list[str] = []
    for word in words:
        if septets(" ".join(_tidy([*kept, word])) + ELLIPSIS) > limit:
            break
        kept.append(word)
    kept = _tidy(kept)
    if kept:
        return " ".join(kept) + ELLIPSIS
    # One word longer than the room: the only case where a word is cut.
    return fit(words[0], limit - len(ELLIPSIS)) + ELLIPSIS if limit > len(ELLIPSIS) else ""


def _tidy(words: list[str]) -> list[str]:
    while len(words) > 1 and words[-1].lower() in JOINERS:
        words = words[:-1]
    return words


def _fits(words: list[str], limit: int) -> bool:
    return septets(" ".join(words)) <= limit


def _fold(word: str) -> str:
    return re.sub(r"[^a-z]", "", word.lower())

