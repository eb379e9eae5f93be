"""Agency verdicts in words: the name shortened at words, the verdict as a sentence, the register dated."""

from __future__ import annotations

from datetime import date

import pytest

from flows.gsm import septets
from flows.menu import VERDICT_LENGTH
from flows.texts import LANGUAGES
from hotline.agencies.verdicts import (
    as_typed,
    register_text,
    shorten_name,
    shorten_names,
    verdict_lines,
    verdict_sentence,
)

KINDS = ("licensed", "expired", "suspended", "revoked", "deregistered", "pending", "not_found")
TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    ("name", "limit", "shown"),
    [
        ("Sunrise Overseas Recruiters Ltd", 40, "Sunrise Overseas Recruiters Ltd"),  # fits: untouched
        ("Sunrise Overseas Recruiters Ltd", 28, "Sunrise Overseas Recruiters"),  # the legal suffix first
        ("Sunrise Overseas Recruiters Ltd", 20, "Sunrise Overseas"),  # then common words
        ("Jua Kali Placement Agency & Co.", 14, "Jua Kali"),  # no "&" left hanging
        ("Kenya Overseas Domestic Workers and Hospitality Ltd", 24, "Kenya Overseas..."),  # at a word
        ("Tumaini  Gulf\tManpower", 40, "Tumaini Gulf Manpower"),  # spaces made single
        ("Supercalifragilisticexpialidocious", 14, "Supercalifr..."),  # one word too long: the only cut
        ("Nyota", 0, ""),
    ],
)
def test_names_are_shortened_by_words(name, limit, shown):
    assert shorten_name(name, limit) == shown
    assert septets(shorten_name(name, limit)) <= limit


def test_names_on_a_pick_list_that_would_read_the_same_keep_the_words_that_tell_them_apart():
    names = [
        "Sunrise International Recruitment Services Ltd",
        "Sunrise International Employment Bureau Ltd",
        "Baraka Domestic Staffing Ltd",
    ]
    assert [shorten_name(name, 26) for name in names][:2] == ["Sunrise International"] * 2
    assert shorten_names(names, 26) == [
        "Sunrise Recruitment...",
        "Sunrise Employment Bureau",
        "Baraka Domestic Staffing",
    ]


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("kwanza global", "Kwanza Global"),
        ("KWANZA  global", "KWANZA global"),
        ("0712 345 678", "0712 345 678"),
    ],
)
def test_a_name_not_in_the_register_is_shown_as_typed_with_capitals_if_it_had_none(typed, shown):
    assert as_typed(typed) == shown


def test_a_name_outside_gsm7_is_folded_not_refused():
    assert shorten_name("Café “Jobs” Agency", 30) == 'Café "Jobs" Agency'


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("abroad", [False, True])
@pytest.mark.parametrize("old", [False, True])
def test_every_verdict_leaves_room_for_a_readable_name(lang, kind, abroad, old):
    snapshot = date(2026, 9, 30) if old else date(2026, 11, 20)
    register = register_text(lang, snapshot, TODAY)
    name = "Kenya Overseas Domestic Workers and Hospitality Recruitment"  # 60 characters
    lines = verdict_lines(lang, name, kind, abroad, date(2099, 12, 31), register, VERDICT_LENGTH)
    shown, sentence, dated = lines.split("\n")
    assert septets(lines) <= VERDICT_LENGTH
    assert sentence == verdict_sentence(lang, kind, abroad, date(2099, 12, 31)) and dated == register
    # Even with an old register, the name keeps its first two words.
    room = VERDICT_LENGTH - septets(sentence) - septets(register) - 2
    assert room >= (12 if old else 14), (room, lines)
    assert shown.startswith("Kenya"), lines


def test_the_register_says_which_and_when():
    assert register_text("en", date(2026, 11, 20), TODAY) == "NEA register of 20 Nov"
    assert register_text("sw", date(2026, 11, 20), TODAY) == "Rejista ya NEA, 20 Nov"
    assert register_text("en", date(2026, 10, 1), TODAY) == "Old NEA register of 1 Oct 2026"
    assert register_text("sw", date(2026, 10, 1), TODAY) == "Rejista ya zamani, 1 Okt 2026"
    assert register_text("en", None, TODAY) == ""


@pytest.mark.parametrize(
    ("lang", "kind", "when", "sentence"),
    [
        ("en", "licensed", None, "Licensed. Local jobs only."),  # no expiry in the register: no "to ,"
        ("sw", "licensed", None, "Ina leseni, kazi nchini tu."),
        ("en", "expired", None, "Licence expired. Do not pay."),
        ("sw", "expired", date(2024, 3, 31), "Leseni iliisha 31 Mac 2024. Usilipe."),
        ("sw", "licensed", date(2099, 12, 31), "Ina leseni hadi 31 Des 2099, kazi nchini tu."),
    ],
)
def test_verdict_sentences(lang, kind, when, sentence):
    assert verdict_sentence(lang, kind, False, when) == sentence
