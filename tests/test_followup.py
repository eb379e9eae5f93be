"""Follow-up lookups against guessing: the per-number limit, the service-wide budget of failed
lookups with its alarm, old codes, Redis down, and information added from other numbers.

Through `/ussd` and `/sms/inbound` with a real Redis and database. References are drawn from a
seeded generator and the clock is frozen inside one hour, so every run is the same.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select, text

from hotline.core.config import Config
from hotline.core.models import OutboundSms, Tip, TipUpdate, utcnow
from hotline.core.privacy import reporter_key
from hotline.core.time import as_utc
from hotline.tips import followup
from hotline.tips.reference import CODE_SPACE, check_digit, display, new_reference
from tests.conftest import TEST_PHONE, Phone
from tests.test_sms_intake import replies, text_in

OTHER_REPORTER = "+254722000099"
MIDMORNING = datetime(2026, 11, 24, 7, 5, tzinfo=UTC)
NOON = datetime(2026, 11, 24, 9, 5, tzinfo=UTC)


@pytest.fixture
def draw():
    """Valid references from a seeded generator."""
    rng = random.Random(9)
    return lambda: new_reference(rng.choice)


@pytest.fixture
def frozen():
    """The clock inside one budget window (it moves on, but never past the hour)."""
    with time_machine.travel(MIDMORNING, tick=True) as traveller:
        yield traveller


def plant(ext, code: str, phone: str = OTHER_REPORTER) -> str:
    """A tip with this reference, reported from `phone`."""
    with ext.session_scope() as session:
        session.add(
            Tip(
                reference=code,
                channel="ussd",
                source_id=f"test:{code}",
                kind="other",
                reporter_key=reporter_key(phone, ext.config.phone_hash_key),
            )
        )
    return code


def old_code(rng_seed: int) -> str:
    """A reference in the format given before 12-digit codes."""
    body = "".join(random.Random(rng_seed).choice("0123456789") for _ in range(8))
    return body + check_digit(body)


def follow_up(client, number: str, typed: str) -> str:
    """Dial from `number`, choose follow-up and type a reference; the screen shown."""
    phone = Phone(client, number=number)
    phone.dial()
    return phone.send("3", typed)


def guesser(n: int) -> str:
    return f"+25473300{n:04d}"


def error_records(caplog):
    return [r for r in caplog.records if r.name == "hotline.tips.followup" and r.levelno == logging.ERROR]


def test_once_the_failed_lookup_budget_is_spent_only_own_reports_are_answered_with_one_alarm(
    make_app, draw, frozen, caplog
):
    app = make_app(followup_failed_lookups_per_hour=3)
    ext, client = app.extensions["hotline"], app.test_client()
    own = plant(ext, draw(), phone=TEST_PHONE)
    victim = plant(ext, draw())
    misses = [draw() for _ in range(4)]

    typo = victim[:-1] + str((int(victim[-1]) + 1) % 10)  # fails its check digit: no lookup, no cost
    assert follow_up(client, guesser(0), typo).startswith("CON Reference not found.")
    for n, miss in enumerate(misses[:3], 1):
        assert follow_up(client, guesser(n), display(miss)).startswith("CON Reference not found.")
    assert app.test_client().get("/healthz").json["followup_lookups"]["current"] == {
        "failed": 3,
        "budget": 3,
        "window_seconds": 3600,
        "alarm": False,
    }

    with caplog.at_level(logging.ERROR, logger="hotline.tips.followup"):
        busy = follow_up(client, guesser(4), misses[3])
        # A real code from a number that did not report it is refused the same way: no hit leaks.
        assert follow_up(client, guesser(5), display(victim)) == busy
        assert follow_up(client, guesser(6), misses[0]) == busy
    assert busy.startswith("CON Cannot check references now. Try later.")
    assert len(error_records(caplog)) == 1
    assert "budget" in error_records(caplog)[0].getMessage()

    mine = follow_up(client, TEST_PHONE, display(own))
    assert mine.startswith(f"CON Report {display(own)}: received.")

    health = app.test_client().get("/healthz")
    assert health.status_code == 200
    assert health.json["followup_lookups"]["current"]["alarm"] is True

    frozen.move_to(NOON)  # a new window: the budget is back
    assert follow_up(client, guesser(7), display(victim)).startswith(f"CON Report {display(victim)}:")
    assert app.test_client().get("/healthz").json["followup_lookups"]["current"]["alarm"] is False


def test_found_references_cost_no_budget(make_app, draw, frozen):
    app = make_app(followup_failed_lookups_per_hour=1)
    ext, client = app.extensions["hotline"], app.test_client()
    codes = [plant(ext, draw()) for _ in range(3)]
    for n, code in enumerate(codes):
        assert follow_up(client, guesser(n), code).startswith(f"CON Report {display(code)}:")
    assert app.test_client().get("/healthz").json["followup_lookups"]["current"]["failed"] == 0


def test_old_nine_digit_codes_keep_working_within_their_own_daily_budget(make_app, draw, frozen):
    app = make_app(followup_old_failed_lookups_per_day=1)
    ext, client = app.extensions["hotline"], app.test_client()
    old = plant(ext, old_code(1))
    assert follow_up(client, guesser(0), display(old)).startswith(f"CON Report {display(old)}: received.")
    assert follow_up(client, OTHER_REPORTER, old).startswith(f"CON Report {display(old)}:")

    assert follow_up(client, guesser(1), old_code(2)).startswith("CON Reference not found.")
    assert follow_up(client, guesser(2), display(old)).startswith("CON Cannot check references now.")
    assert follow_up(client, OTHER_REPORTER, display(old)).startswith(f"CON Report {display(old)}:")
    # The current format's budget is separate: one format's guessing does not lock out the other.
    assert follow_up(client, guesser(3), draw()).startswith("CON Reference not found.")
    report = app.test_client().get("/healthz").json["followup_lookups"]
    assert (report["old"]["alarm"], report["old"]["window_seconds"], report["current"]["alarm"]) == (
        True,
        24 * 3600,
        False,
    )


def test_with_redis_down_only_own_reports_are_answered(make_app, draw, redis_server):
    app = make_app()
    ext, client = app.extensions["hotline"], app.test_client()
    own = plant(ext, draw(), phone=TEST_PHONE)
    victim = plant(ext, draw())
    redis_server.stop()
    try:
        assert follow_up(client, TEST_PHONE, own).startswith(f"CON Report {display(own)}: received.")
        assert follow_up(client, guesser(0), victim).startswith("CON Cannot check references now.")
    finally:
        redis_server.start()


def test_status_by_sms_shares_the_budget(make_app, draw, frozen):
    app = make_app(followup_failed_lookups_per_hour=1)
    ext, client = app.extensions["hotline"], app.test_client()
    own = plant(ext, draw(), phone=guesser(9))
    text_in(client, f"STATUS {draw()}", phone=guesser(0))
    text_in(client, f"STATUS {display(plant(ext, draw()))}", phone=guesser(1))
    text_in(client, f"HALI {display(own)}", phone=guesser(9))
    sent = replies(ext)
    assert sent[0][1].startswith("We could not find reference")
    assert sent[1][1] == "We cannot check references right now. Please try again later."
    assert sent[2][1] == f"Kumbukumbu {display(own)}: imepokelewa."


def test_the_default_limits_leave_an_attacker_with_1000_sims_under_one_hit_a_year():
    config, sims, live_tips, hours = Config(), 1000, 100_000, 24 * 365
    per_number = sims * config.followup_lookups_per_hour * hours
    current = min(per_number, config.followup_failed_lookups_per_hour * hours)
    old = min(per_number, config.followup_old_failed_lookups_per_day * 365)
    # However the live tips split between the formats, each guess hits at most this often.
    worst = live_tips * max(current / CODE_SPACE["current"], old / CODE_SPACE["old"])
    assert worst < 1
    assert per_number * live_tips / CODE_SPACE["current"] > 1  # the per-number limit alone would not do


def test_information_added_twice_from_one_session_is_kept_once(ext, draw):
    code = plant(ext, draw())
    with ext.session_scope() as session:
        tip = session.scalar(select(Tip).where(Tip.reference == code))
        key = reporter_key(OTHER_REPORTER, ext.config.phone_hash_key)
        first, _ = followup.add_information(session, tip, "Moved to Mumias", key, "ussd:S1", utcnow())
        again, ids = followup.add_information(session, tip, "Moved to Mumias", key, "ussd:S1", utcnow())
        assert (again.id, ids) == (first.id, [])
    with ext.session_scope() as session:
        assert [u.state for u in session.scalars(select(TipUpdate))] == ["forwarded"]
        assert session.scalars(select(OutboundSms)).all() == []  # nobody was notified of the tip yet


def test_every_follow_up_key_in_redis_expires_within_its_hour(make_app, draw, frozen):
    app = make_app(followup_failed_lookups_per_hour=1)
    ext = app.extensions["hotline"]
    with ext.session_scope() as session:
        for n in range(3):  # the third miss finds the budget spent and raises the alarm
            key = reporter_key(guesser(n), ext.config.phone_hash_key)
            followup.look_up(session, ext.redis, ext.config, key, draw())
    assert followup.budget_report(ext.redis, ext.config)["current"]["alarm"] is True
    ttls = {key: ext.redis.ttl(key) for key in ext.redis.scan_iter("followup:*")}
    assert len(ttls) == 5  # three numbers' counts, the budget and its alarm
    assert all(0 < ttl <= 3600 for ttl in ttls.values()), ttls


def test_a_status_with_no_words_reads_as_received_and_an_unknown_language_in_english():
    assert followup.status_words(Tip(status="routed"), "fr") == "with the county team"
    assert followup.status_words(Tip(status="archived"), "sw") == "imepokelewa"
    assert followup.status_words(Tip(status="archived"), "en") == "received"


@pytest.mark.parametrize(
    "status, case_status, english, kiswahili",
    [
        ("received", "Active", "received", "imepokelewa"),
        ("routed", "Active", "with the county team", "iko na timu ya kaunti"),
        ("acknowledged", "Active", "taken up by the county team", "inashughulikiwa na timu ya kaunti"),
        ("acknowledged", "FollowUp", "followed up by the county team", "inafuatiliwa na timu ya kaunti"),
        ("routed", "FollowUp", "followed up by the county team", "inafuatiliwa na timu ya kaunti"),
        ("closed", "Closed", "closed", "imefungwa"),
        ("closed", "ClosedReferred", "closed", "imefungwa"),  # never "referred to the police"
        ("acknowledged", "ClosedReferred", "closed", "imefungwa"),
        ("closed", "Active", "closed", "imefungwa"),  # closed by the routing stage alone
    ],
)
def test_the_status_words_follow_the_case_in_neutral_words(status, case_status, english, kiswahili):
    tip = Tip(status=status, case_status=case_status)
    assert (followup.status_words(tip, "en"), followup.status_words(tip, "sw")) == (english, kiswahili)


def test_every_status_fits_the_follow_up_screens_whole_and_names_no_police():
    words = [word for table in followup.STATUS.values() for word in table.values()]
    assert max(len(word) for word in words) <= 33
    assert not any(("polisi" in word or "police" in word or "refer" in word) for word in words)


def hold(ext, code: str, *texts: str) -> list[int]:
    """Information added to the tip with this reference from another number: held; their ids."""
    with ext.session_scope() as session:
        tip = session.scalar(select(Tip).where(Tip.reference == code))
        key = reporter_key(guesser(1), ext.config.phone_hash_key)
        return [
            followup.add_information(session, tip, text, key, f"ussd:S{n}", utcnow())[0].id
            for n, text in enumerate(texts)
        ]


def test_information_added_is_stamped_with_the_moment_it_was_added(ext, draw):
    code = plant(ext, draw())
    added = datetime(2026, 3, 1, 4, 5, 6, tzinfo=UTC)  # not the wall clock
    with ext.session_scope() as session:
        tip = session.scalar(select(Tip).where(Tip.reference == code))
        key = reporter_key(guesser(1), ext.config.phone_hash_key)
        update, _ = followup.add_information(session, tip, "Moved to Mumias", key, "ussd:S1", added)
        update_id = update.id
    with ext.session_scope() as session:
        assert as_utc(session.get(TipUpdate, update_id).created_at) == added


def test_held_updates_are_listed_oldest_first_whatever_order_the_database_returns(ext, draw):
    ids = hold(ext, plant(ext, draw()), "first", "second", "third")
    with ext.session_scope() as session:
        sqlite = session.bind.dialect.name == "sqlite"
        if sqlite:  # SQLite returns rows in id order anyway; this makes a select without ORDER BY reverse
            session.execute(text("PRAGMA reverse_unordered_selects = ON"))
        try:
            held = [(update.id, update.text) for update in followup.held_updates(session)]
        finally:
            if sqlite:
                session.execute(text("PRAGMA reverse_unordered_selects = OFF"))
    assert held == list(zip(ids, ["first", "second", "third"], strict=True))


def test_rejecting_a_held_update_again_keeps_it_rejected_with_the_first_review_time(ext, draw):
    [update_id] = hold(ext, plant(ext, draw()), "Ignore the first report")
    first, later = datetime(2026, 3, 1, 8, 0, tzinfo=UTC), datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    for now in (first, later):
        with ext.session_scope() as session:
            followup.reject_update(session, update_id, now)
    with ext.session_scope() as session:
        update = session.get(TipUpdate, update_id)
        assert (update.state, as_utc(update.reviewed_at)) == ("rejected", first)


def test_an_accepted_update_cannot_be_rejected_nor_a_rejected_one_accepted(ext, draw):
    accepted, rejected = hold(ext, plant(ext, draw()), "accept me", "reject me")
    reviewed = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    with ext.session_scope() as session:
        assert followup.accept_update(session, accepted, reviewed) == []  # nobody holds the tip yet
        followup.reject_update(session, rejected, reviewed)
    for act, update_id in ((followup.reject_update, accepted), (followup.accept_update, rejected)):
        with ext.session_scope() as session, pytest.raises(followup.UnknownUpdate) as refused:
            act(session, update_id, datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
        assert refused.value.args == (update_id,)
    with ext.session_scope() as session:
        states = [(u.id, u.state, as_utc(u.reviewed_at)) for u in session.scalars(select(TipUpdate))]
    assert sorted(states) == [(accepted, "accepted", reviewed), (rejected, "rejected", reviewed)]


@pytest.mark.parametrize("act", [followup.accept_update, followup.reject_update])
def test_accepting_or_rejecting_an_unknown_update_raises_unknown_update_with_its_id(ext, act):
    with ext.session_scope() as session, pytest.raises(followup.UnknownUpdate) as refused:
        act(session, 424242, utcnow())
    assert refused.value.args == (424242,)


def test_a_number_gets_its_hourly_lookups_then_is_refused_until_the_clock_hour_ends(make_app, draw):
    app = make_app(followup_lookups_per_hour=2)
    ext = app.extensions["hotline"]
    key = reporter_key(guesser(0), ext.config.phone_hash_key)

    def ask() -> str | None:
        with ext.session_scope() as session:
            return followup.look_up(session, ext.redis, ext.config, key, draw()).refused

    with time_machine.travel(datetime(2026, 11, 24, 7, 40, tzinfo=UTC), tick=False):
        assert [ask(), ask(), ask()] == [None, None, "too_many"]
    with time_machine.travel(datetime(2026, 11, 24, 7, 59, 59, tzinfo=UTC), tick=False):
        assert ask() == "too_many"
    with time_machine.travel(datetime(2026, 11, 24, 8, 0, 0, tzinfo=UTC), tick=False):
        assert ask() is None


def test_a_strangers_lookup_is_refused_as_busy_when_redis_cannot_count_the_budget(ext, draw, frozen):
    victim = plant(ext, draw())
    # Redis answers, but refuses to count the budget (as when it fails between the two calls).
    ext.redis.set(followup._budget_key("current", followup._window(3600)), "not a number")
    with ext.session_scope() as session:
        key = reporter_key(guesser(0), ext.config.phone_hash_key)
        found = followup.look_up(session, ext.redis, ext.config, key, victim)
    assert found == followup.Lookup(refused="busy")
