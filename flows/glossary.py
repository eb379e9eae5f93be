"""The few words that must be the same on every screen and in every SMS, in both languages.

Each term names the words to use and the words that must not stand for it. `flows.validate` fails
a text that uses a forbidden word, so a new text cannot bring one back. The reason matters most
for the reference code: in Kiswahili "nambari" (and "namba yako") is read as the caller's own
phone number, so "HALI na nambari yako" told people to send their phone number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """One term: what to say in each language, and patterns (regular expressions) never to use."""

    name: str
    en: str
    sw: str
    forbidden: dict[str, tuple[str, ...]]
    why: str
    reporters_only: bool = False  # staff texts (SMS to focal points) may use the forbidden words


TERMS = (
    Term(
        "reference code",
        en="reference",
        sw="namba ya kumbukumbu (short: kumbukumbu)",
        forbidden={
            "en": (r"(?<!\{)\bref\b(?!\})", r"\bref no\b"),
            # A bare "nambari", "namba {ref}" or "namba yako" reads as the caller's phone number.
            "sw": (r"\bnambari\b", r"\bnamba\s*\{ref\}", r"\bnamba\s+yako\b", r"\bnamba\s+ya\s+ripoti\b"),
        },
        why="the code of a report, never to be mistaken for a phone number",
    ),
    Term(
        "report",
        en="report",
        sw="ripoti",
        forbidden={"en": (r"(?-i:\btip\b)",)},
        why="'tip' is our word, not a reporter's (the SMS keyword TIP, in capitals, is allowed)",
    ),
    Term(
        "anonymous",
        en="anonymous",
        sw="bila jina",
        forbidden={"sw": (r"\bbila kujulikana\b", r"\bkwa siri\b")},
        why="a reporter is never asked their name; 'siri' is kept for 'private'",
    ),
    Term(
        "county team",
        en="county team",
        sw="timu ya kaunti",
        forbidden={
            "en": (r"\bfocal point\b", r"\bNRM\b"),
            "sw": (r"\bafisa wa NRM\b", r"\bmaafisa wa kaunti\b"),
        },
        why="reporters meet 'the county team'; 'focal point' is staff language",
        reporters_only=True,
    ),
    Term(
        "job agency",
        en="agency",
        sw="wakala (plural mawakala)",
        forbidden={"sw": (r"\bhayupo\b", r"\bameondolewa\b", r"\byupi\b")},
        why="an agency is a company: Kiswahili agrees with it as a thing (ina, haina, haipo), not a person",
    ),
    Term(
        "licence",
        en="licence",
        sw="leseni",
        forbidden={"en": (r"\blicense\b",), "sw": (r"\blaisensi\b",)},
        why="Kenyan (British) spelling; 'license' is American",
    ),
    Term(
        "register",
        en="NEA register",
        sw="rejista ya NEA",
        forbidden={"sw": (r"\bsajili\b",), "en": (r"\bNEAIMS\b",)},
        why="'rejista' is the Kenyan word (rejista ya wapigakura); NEAIMS is NEA's system, not its register",
    ),
    Term(
        "free of charge",
        en="free",
        sw="bila malipo",
        forbidden={"sw": (r"\bbure\b",)},
        why="after a noun 'bure' can read as 'useless'",
    ),
)




def violations(language: str, key: str, value: str, staff: bool = False) -> list[str]:
    """Every forbidden word in text `key` (case ignored unless a pattern says otherwise), as
    sentences naming the term and the word to use. `staff`: the text goes to staff only."""
    found = []
    for term in TERMS:
        if staff and term.reporters_only:
            continue
        for pattern in term.forbidden.get(language, ()):
            match = re.search(pattern, value, re.IGNORECASE)
            if match:
                use = term.en if language == "en" else term.sw
                found.append(
                    f"text {key!r} ({language}) says {match.group(0)!r} for the {term.name}: "
                    f"use {use!r} ({term.why})"
                )
    return found
