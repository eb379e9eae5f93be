"""The flow validator over every screen in every language, and proof that it catches faults."""

from __future__ import annotations

import pytest

from flows.model import Option, Screen, flow_of
from flows.texts import LANGUAGES, TEXTS
from flows.validate import problems, screen_problems
from hotline.ussd.service import engine


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("screen_id", sorted(engine().flow.screens))
def test_every_screen_fits_160_gsm7_characters_in_every_language(screen_id, lang):
    assert screen_problems(engine(), engine().flow[screen_id], lang) == []


def test_the_hotline_flow_has_no_problems():
    assert problems(engine()) == []


def test_main_menu_numbering_is_the_spec_numbering():
    labels = [option.label for option in engine().flow["main"].options]
    assert labels == [
        "main.report",
        "main.agency",
        "main.follow_up",
        "main.help",
        "main.safety_sms",
        "main.language",
    ]


def _engine_for(screens):
    from flows.engine import Engine

    return Engine(flow_of("main", screens), engine().actions, engine().conditions)


def test_validator_finds_dangling_and_unreachable_screens():
    broken = _engine_for(
        [
            Screen("main", "menu", "main", options=(Option("main.report", "nowhere"),)),
            Screen("island", "info", "help"),
        ]
    )
    found = problems(broken)
    assert "screen 'main' links to missing screen 'nowhere'" in found
    assert "screen 'island' cannot be reached" in found


def test_validator_finds_screens_that_are_too_long():
    broken = _engine_for(
        [
            Screen(
                "main",
                "menu",
                "tip.confirm",
                params=(("kind", 60), ("county", 60), ("place", 60)),
                options=(Option("tip.confirm.send", "main"),),
            ),
        ]
    )
    assert any("is 2" in p and "characters" in p for p in problems(broken))


def test_validator_finds_characters_outside_gsm7(monkeypatch):
    monkeypatch.setitem(TEXTS["sw"], "main.report", "Ripoti “sasa”")
    found = problems(engine())
    assert "text 'main.report' (sw) has non-GSM-7 '“”'" in found
    assert any(p.startswith("screen 'main' (sw) has non-GSM-7") for p in found)


def test_validator_finds_missing_translations_and_unknown_actions(monkeypatch):
    monkeypatch.delitem(TEXTS["sw"], "help")
    broken = _engine_for(
        [Screen("main", "menu", "main", options=(Option("main.help", "main", action="fly"),))]
    )
    found = problems(broken)
    assert "text 'help' exists in en but not in sw" in found
    assert "screen 'main' uses unknown action 'fly'" in found
