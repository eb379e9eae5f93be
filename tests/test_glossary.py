"""The glossary: every screen, SMS and status uses its words, and the validator refuses the others."""

from __future__ import annotations

from datetime import date

import pytest

from flows.glossary import TERMS, violations
from flows.texts import LANGUAGES, TEXTS, date_words
from flows.validate import problems
from hotline.sms.texts import REPLIES, STAFF_REPLIES
from hotline.tips.followup import STATUS
from hotline.ussd.service import engine


def test_every_term_has_both_languages_and_a_reason():
    assert {term.name for term in TERMS} >= {
        "report",
        "reference code",
        "anonymous",
        "county team",
        "job agency",
        "licence",
        "register",
    }
    for term in TERMS:
        assert term.en and term.sw and term.why
        assert set(term.forbidden) <= set(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_ussd_text_uses_the_glossary(lang):
    assert [v for key, value in TEXTS[lang].items() for v in violations(lang, key, value)] == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_sms_reply_and_status_uses_the_glossary(lang):
    found = [
        v
        for key, value in REPLIES[lang].items()
        for v in violations(lang, key, value, staff=key in STAFF_REPLIES)
    ]
    found += [v for key, value in STATUS[lang].items() for v in violations(lang, f"status.{key}", value)]
    assert found == []


@pytest.mark.parametrize(
    ("lang", "text", "word"),
    [
        ("sw", "Tuma HALI na nambari yako.", "nambari"),  # read as "your phone number"
        ("sw", "Ripoti imetumwa. Namba {ref}", "Namba {ref}"),
        ("sw", "Tuma HALI na namba yako.", "namba yako"),
        ("en", "Report sent. Ref {ref}", "Ref"),
        ("en", "The license has expired.", "license"),
        ("sw", "Hayupo kwenye sajili ya NEA.", "Hayupo"),
        ("sw", "Piga bure.", "bure"),
        ("en", "Your report went to the focal point.", "focal point"),
    ],
)
def test_the_validator_fails_a_text_with_a_forbidden_word(monkeypatch, lang, text, word):
    monkeypatch.setitem(TEXTS[lang], "followup.no_message", text)
    found = [p for p in problems(engine()) if "followup.no_message" in p]
    assert any(f"says {word!r}" in p for p in found), found


def test_the_allowed_words_pass():
    assert violations("sw", "x", "Namba ya kumbukumbu: {ref}. Namba za msaada bila malipo. Namba hii.") == []
    assert violations("sw", "x", "Kumbukumbu {ref}: imepokelewa.") == []
    assert violations("en", "x", "Reference {ref}. Send TIP and what you saw. Safety tips.") == []


def test_staff_texts_may_say_focal_point_but_not_a_bare_nambari():
    assert violations("en", "ack", "This number is not registered as a focal point.", staff=True) == []
    assert violations("sw", "ack", "Nambari hii haijasajiliwa.", staff=True) != []


@pytest.mark.parametrize(
    ("day", "en", "sw"),
    [
        (date(2099, 12, 31), "31 Dec 2099", "31 Des 2099"),
        (date(2026, 11, 28), "28 Nov 2026", "28 Nov 2026"),
        (date(2024, 3, 1), "1 Mar 2024", "1 Mac 2024"),
        (date(2025, 8, 9), "9 Aug 2025", "9 Ago 2025"),
        (date(2025, 5, 15), "15 May 2025", "15 Mei 2025"),
        (date(2025, 10, 2), "2 Oct 2025", "2 Okt 2025"),
    ],
)
def test_dates_read_as_people_write_them(day, en, sw):
    assert (date_words("en", day), date_words("sw", day)) == (en, sw)
