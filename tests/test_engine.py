"""The flow engine on its own: navigation, lists, free text, replay."""

from __future__ import annotations

from flows.engine import State, clean_text
from hotline.ussd.service import engine


def run(*inputs: str, lang: str = "en", replay: bool = False) -> State:
    state = engine().start(lang)
    for value in inputs:
        engine().feed(state, value, ctx=None, replay=replay)
    return state


def test_inputs_joined_with_star_are_separate_on_menus_but_whole_in_free_text():
    state = run("1*1*kak*Plot 5*B")
    assert state.screen == "tip_story"
    assert state.answers == {"kind": "forced_labour", "county": "37", "place": "Plot 5*B"}


def test_replay_treats_every_star_as_a_separator():
    state = run("1*1*kak*Plot 5*B", replay=True)
    assert state.answers["place"] == "Plot 5" and state.answers["description"] == "B"


def test_a_unique_prefix_selects_the_county_and_several_narrow_the_list():
    assert run("1", "1", "nai").answers["county"] == "47"
    assert run("1", "1", "taveta").answers["county"] == "6"
    narrowed = run("1", "1", "b")
    assert narrowed.screen == "tip_county" and narrowed.filter == "b"
    text = engine().render(narrowed).text
    assert "1. Baringo" in text and "Kakamega" not in text


def test_skip_only_where_offered():
    assert run("1", "1", "99").screen == "tip_place"
    assert run("1", "1", "99", "99").answers["place"] == "99"  # place cannot be skipped: 99 is the answer


def test_empty_free_text_asks_again():
    state = run("1", "1", "99", "   ")
    assert state.screen == "tip_place" and state.hint == "hint.required"


def test_free_text_is_cleaned_and_capped():
    assert clean_text("a\x00b\tc\n d  ") == "a b c d"
    state = run("1", "1", "99", "x" * 5000)
    assert len(state.answers["place"]) == 300


def test_the_stack_is_bounded():
    state = run(*(["1", "98", "98", "0", "0", "00"] * 30))
    assert len(state.stack) <= 40


def test_state_survives_a_round_trip_through_json():
    state = run("1", "2", "ka")
    assert State.from_dict(state.to_dict()) == state


def test_replay_keeps_a_star_typed_inside_the_place():
    stopped_there = run("1*1*kak*Shauri Moyo market * stall 5", replay=True)
    assert stopped_there.screen == "tip_story"
    assert stopped_there.answers["place"] == "Shauri Moyo market * stall 5"
    whole = run("1*1*kak*Shauri Moyo market * stall 5*Men took their IDs*1*2*2", replay=True)
    assert whole.screen == "tip_confirm"
    assert (whole.answers["place"], whole.answers["description"]) == (
        "Shauri Moyo market * stall 5",
        "Men took their IDs",
    )
    answers = whole.answers
    assert (answers["danger"], answers["children"], answers["callback"]) == ("yes", "no", "no")


def test_replay_keeps_a_star_typed_inside_what_happened():
    stopped_there = run("1*1*kak*Lurambi*He said * call me*later", replay=True)
    assert stopped_there.screen == "tip_danger"
    assert stopped_there.answers["description"] == "He said * call me*later"
    whole = run("1*1*kak*Lurambi*He said * call me*later*3*1*2", replay=True)
    assert (whole.answers["place"], whole.answers["description"]) == ("Lurambi", "He said * call me*later")
    assert whole.screen == "tip_confirm"
    assert (whole.answers["danger"], whole.answers["children"]) == ("unsure", "yes")


def test_replay_of_a_skipped_story_and_of_free_text_ending_a_journey():
    skipped = run("1*1*kak*Lurambi*99*2", replay=True)
    assert skipped.answers == {"kind": "forced_labour", "county": "37", "place": "Lurambi", "danger": "no"}
    assert engine().free_text_span(engine().flow["followup_add"], ["a", "b", "c"]) == 3
