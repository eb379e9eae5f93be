"""Retention (hotline.retention.purge and `flask purge`): exactly what is old and closed goes, never
anything open; a closed tip keeps its de-identified row; a dry run changes nothing and counts the
same; a second run finds nothing; each run is in the audit log; the settings are checked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from hotline.core import engagement
from hotline.core.config import ConfigError, from_env
from hotline.core.models import (
    AuditEvent,
    CaseEvent,
    CaseMessage,
    Contact,
    Engagement,
    InboundSms,
    OutboundSms,
    Referral,
    ReferralOrganisation,
    Suppression,
    Tip,
    TipUpdate,
    UnmatchedDeliveryReport,
    UssdSessionEnd,
)
from hotline.core.privacy import engagement_key, suppression_key
from hotline.retention.purge import PURGED_REPORTER_KEY, purge

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
OLD_CONTACT, KEPT_CONTACT, SUBSCRIBED = "+254711000731", "+254711000729", "+254711000001"
# What the fixture has past retention, hand-counted (the tip closed 366 days ago and what hangs off it).
EXPECTED = {
    "closed_tips": 1,
    "tip_notes": 1,
    "tip_messages": 1,
    "tip_updates": 1,
    "tip_referral_details": 1,
    "tip_sms": 1,
    "ussd_sessions": 1,
    "inbound_sms": 1,
    "reporter_sms_numbers": 2,  # the sent and the failed one; never pending, sending or uncertain
    "opted_out_contacts": 1,
    "delivery_reports": 1,
    "engagement": 1,
    "audit_log": 1,
}


def _tip(number: int, status: str, created: datetime, closed: datetime | None, **fields) -> Tip:
    return Tip(
        reference=f"REF{number}",
        channel="ussd",
        source_id=f"session-{number}",
        kind="forced_labour",
        county_code=37,
        place=f"Place {number}",
        description=f"Description {number}",
        reporter_key=f"{number:064x}",
        callback_contact=f"token-{number}",
        safety_seal=f"seal-{number}",
        case_status=status,
        created_at=created,
        closed_at=closed,
        closure_reason="resolved" if closed else None,
        folder="closed" if status.startswith("Closed") else "active",
        **fields,
    )


@pytest.fixture
def old_data(ext):
    """Every kind of data on both sides of its retention, at NOW."""
    key = ext.config.phone_hash_key
    with ext.session_scope() as session:
        organisation = ReferralOrganisation(name="Kakamega Police", kind="police", county_code=37)
        tips = {
            "open": _tip(1, "Active", NOW - 730 * DAY, None),
            "expired": _tip(2, "Closed", NOW - 400 * DAY, NOW - 366 * DAY),
            "recent": _tip(3, "ClosedReferred", NOW - 400 * DAY, NOW - 364 * DAY),
            "reopened": _tip(4, "Active", NOW - 1000 * DAY, None),
            "followup": _tip(5, "FollowUp", NOW - 1000 * DAY, NOW - 900 * DAY),
        }
        session.add_all([organisation, *tips.values()])
        session.flush()
        for tip in tips.values():
            session.add_all(
                [
                    CaseEvent(
                        tip_id=tip.id, kind="note", text=f"note on {tip.reference}", at=NOW - 500 * DAY
                    ),
                    CaseMessage(tip_id=tip.id, direction="in", text="my answer", source_id=f"msg-{tip.id}"),
                    TipUpdate(tip_id=tip.id, author="reporter", text="more news", source_id=f"upd-{tip.id}"),
                    Referral(
                        tip_id=tip.id,
                        organisation=organisation,
                        referred_on=date(2025, 5, 1),
                        reason="Other",
                        details="Victim at the Lurambi house",
                    ),
                    OutboundSms(
                        dedupe_key=f"tip:{tip.id}",
                        purpose="tip",
                        tip_id=tip.id,
                        state="sent",
                        message=f"New tip at {tip.place}",
                    ),
                ]
            )
        for state in ("pending", "sending", "uncertain", "sent", "failed"):
            session.add(
                OutboundSms(
                    dedupe_key=f"reply:{state}",
                    purpose="reply",
                    to_token=f"token-{state}",
                    state=state,
                    message="Thank you",
                )
            )
        for age, name in ((91, "old"), (89, "kept")):
            session.add(UssdSessionEnd(session_id=name, status="Success", received_at=NOW - age * DAY))
            session.add(InboundSms(at_id=name, keyword="HELP", received_at=NOW - age * DAY))
        for age, name in ((31, "old"), (29, "kept")):
            session.add(
                UnmatchedDeliveryReport(
                    message_id=name, status="Success", phone_key="k" * 64, received_at=NOW - age * DAY
                )
            )
        for phone, opted_out in (
            (OLD_CONTACT, NOW - 731 * DAY),
            (KEPT_CONTACT, NOW - 729 * DAY),
            (SUBSCRIBED, None),
        ):
            session.add(
                Contact(
                    phone=phone,
                    engagement_key=engagement_key(phone, key),
                    language="en",
                    consent_source="fair",
                    consented_at=NOW - 1000 * DAY,
                    opted_out_at=opted_out,
                    opt_out_source="sms" if opted_out else None,
                    salt=1,
                )
            )
        engagement.record(session, "a" * 64, "dialled", at=NOW - 401 * DAY)
        engagement.record(session, "b" * 64, "dialled", at=NOW - 399 * DAY)
        seven_years = NOW - 2557 * DAY
        session.add(AuditEvent(at=seven_years - DAY, actor="old@example.org", action="signed_in"))
        session.add(AuditEvent(at=seven_years + DAY, actor="kept@example.org", action="signed_in"))
    return tips


def counts(report) -> dict:
    return {kind.name: kind.count for kind in report.kinds}


def test_purge_removes_exactly_what_is_old_and_closed(ext, old_data):
    with ext.session_scope() as session:
        report = purge(session, ext.config, NOW)
    assert counts(report) == EXPECTED
    with ext.session_scope() as session:
        tips = {tip.reference: tip for tip in session.scalars(select(Tip))}
        expired = tips["REF2"]
        assert (expired.place, expired.description, expired.callback_contact, expired.safety_seal) == (
            None,
        ) * 4
        assert (expired.source_id, expired.reporter_key) == (None, PURGED_REPORTER_KEY)
        # The de-identified row stays: kind, county, dates, status, reason.
        assert (expired.kind, expired.county_code, expired.case_status, expired.closure_reason) == (
            "forced_labour",
            37,
            "Closed",
            "resolved",
        )
        assert expired.created_at is not None and expired.closed_at is not None
        for reference in ("REF1", "REF3", "REF4", "REF5"):
            assert tips[reference].description == f"Description {reference[3:]}"
            assert tips[reference].callback_contact == f"token-{reference[3:]}"
        texts = {
            tip_id: (note, message, update, details, sms)
            for tip_id, note, message, update, details, sms in session.execute(
                select(
                    Tip.id,
                    CaseEvent.text,
                    CaseMessage.text,
                    TipUpdate.text,
                    Referral.details,
                    OutboundSms.message,
                )
                .join(CaseEvent, CaseEvent.tip_id == Tip.id)
                .join(CaseMessage, CaseMessage.tip_id == Tip.id)
                .join(TipUpdate, TipUpdate.tip_id == Tip.id)
                .join(Referral, Referral.tip_id == Tip.id)
                .join(OutboundSms, OutboundSms.tip_id == Tip.id)
                .order_by(Tip.reference)  # REF1, REF2, ...: ids differ between runs on PostgreSQL
            )
        }
        assert texts[expired.id] == (None, "", "", None, "")
        assert [t for tip_id, t in texts.items() if tip_id != expired.id] == [
            (
                f"note on REF{n}",
                "my answer",
                "more news",
                "Victim at the Lurambi house",
                f"New tip at Place {n}",
            )
            for n in (1, 3, 4, 5)
        ]
        referral = session.scalar(select(Referral).where(Referral.tip_id == expired.id))
        assert (referral.organisation.name, referral.referred_on, referral.reason) == (
            "Kakamega Police",
            date(2025, 5, 1),
            "Other",
        )
        query = select(OutboundSms.state, OutboundSms.to_token).where(OutboundSms.purpose == "reply")
        tokens = dict(session.execute(query).all())
        assert tokens == {
            "pending": "token-pending",
            "sending": "token-sending",
            "uncertain": "token-uncertain",
            "sent": None,
            "failed": None,
        }
        assert session.scalars(select(UssdSessionEnd.session_id)).all() == ["kept"]
        assert session.scalars(select(InboundSms.at_id)).all() == ["kept"]
        assert session.scalars(select(UnmatchedDeliveryReport.message_id)).all() == ["kept"]
        assert session.scalar(select(func.count(Engagement.id))) == 1
        phones = {
            c.phone: (c.erased_at is not None, c.engagement_key is None)
            for c in session.scalars(select(Contact))
        }
        assert phones == {None: (True, True), KEPT_CONTACT: (False, False), SUBSCRIBED: (False, False)}
        erased = session.scalar(select(Contact).where(Contact.phone.is_(None)))
        assert erased.opt_out_source == "sms" and erased.opted_out_at is not None  # its own opt-out stays
        suppressed = session.get(Suppression, suppression_key(OLD_CONTACT, ext.config.phone_hash_key))
        assert suppressed is not None and suppressed.source == "erased"
        actors = session.scalars(select(AuditEvent.actor).order_by(AuditEvent.id)).all()
        assert actors == ["kept@example.org", "retention"]
        entry = session.scalar(select(AuditEvent).where(AuditEvent.action == "purge"))
        assert entry.detail["closed_tips"] == {"days": 365, "count": 1}
        assert entry.detail["audit_log"] == {"days": 2557, "count": 1}


def test_a_dry_run_changes_nothing_and_counts_the_same_and_a_second_run_finds_nothing(ext, old_data):
    with ext.session_scope() as session:
        dry = purge(session, ext.config, NOW, dry_run=True)
    assert counts(dry) == EXPECTED and dry.total == 14
    with ext.session_scope() as session:
        assert session.scalar(select(Tip.description).where(Tip.reference == "REF2")) == "Description 2"
        assert session.scalar(select(func.count(AuditEvent.id))) == 3  # the two old ones and the dry run's
    with ext.session_scope() as session:
        assert counts(purge(session, ext.config, NOW)) == EXPECTED
    with ext.session_scope() as session:
        again = purge(session, ext.config, NOW + timedelta(minutes=5))
    assert again.total == 0 and set(counts(again)) == set(EXPECTED)
    with ext.session_scope() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["signed_in", "purge_dry_run", "purge", "purge"]


def test_flask_purge_prints_a_table_per_kind(app, ext, old_data):
    with time_machine.travel(NOW, tick=False):
        dry = app.test_cli_runner().invoke(args=["purge", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        lines = {line.split("  ")[0]: line.split() for line in dry.output.splitlines()}
        assert lines["closed tips: text, call-back number, reporter key"][-3:] == ["365", "days", "1"]
        assert lines["reporters' numbers on SMS sent or failed"][-2:] == ["failed", "2"]
        assert "dry run: 14 rows in all (written to the audit log)" in dry.output
        done = app.test_cli_runner().invoke(args=["purge"])
        assert "removed" in done.output.splitlines()[0] and "14 rows in all" in done.output
        again = app.test_cli_runner().invoke(args=["purge"])
        assert "nothing is past its retention" in again.output
    assert "--dry-run" in app.test_cli_runner().invoke(args=["purge", "--help"]).output


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("RETAIN_AUDIT_DAYS", "30", "RETAIN_AUDIT_DAYS must be from 365 to 36500 days, not 30"),
        ("RETAIN_USSD_SESSIONS_DAYS", "ninety", "RETAIN_USSD_SESSIONS_DAYS must be a whole number of days"),
        ("RETAIN_CLOSED_TIP_TEXT_DAYS", "0", "RETAIN_CLOSED_TIP_TEXT_DAYS must be from 1 to 36500 days"),
    ],
)
def test_a_bad_retention_setting_is_refused_with_its_name(tmp_path, name, value, words):
    with pytest.raises(ConfigError, match=words):
        from_env(tmp_path, {"HOTLINE_ENV": "development", name: value})


def test_retention_settings_have_their_documented_defaults_and_can_be_changed(tmp_path):
    config = from_env(tmp_path, {"HOTLINE_ENV": "development", "RETAIN_INBOUND_SMS_DAYS": "30"})
    assert config.retention_days == {
        "RETAIN_USSD_SESSIONS_DAYS": 90,
        "RETAIN_INBOUND_SMS_DAYS": 30,
        "RETAIN_CLOSED_TIP_TEXT_DAYS": 365,
        "RETAIN_OPTED_OUT_NUMBER_DAYS": 730,
        "RETAIN_DELIVERY_REPORTS_DAYS": 30,
        "RETAIN_ENGAGEMENT_DAYS": 400,
        "RETAIN_AUDIT_DAYS": 2557,
    }
