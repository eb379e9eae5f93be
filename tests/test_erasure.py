"""A person's rights (hotline.contacts.erasure, `flask contacts show|forget`): everything held about a
number, hand-counted; forgetting it leaves nothing a scan of every column of every table can find but
its suppression key; past campaign counts hold; an import cannot subscribe it again, joining by SMS can."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from campaigns import report as campaign_report
from hotline.contacts import erasure
from hotline.contacts import service as contacts
from hotline.contacts.contacts_csv import spec_for
from hotline.core import engagement
from hotline.core.csv_import import import_file
from hotline.core.models import (
    AuditEvent,
    Base,
    Campaign,
    CampaignRecipient,
    Contact,
    Engagement,
    Suppression,
    UnmatchedDeliveryReport,
)
from hotline.core.privacy import delivery_key, engagement_key, suppression_key

NUMBER, OTHER = "+254712345678", "+254712000999"
FORMS = ("+254712345678", "0712345678", "254712345678", "712 345 678", "712345678")
SENT = datetime(2026, 5, 4, 7, 0, tzinfo=UTC)


@pytest.fixture
def person(ext) -> int:
    """NUMBER and OTHER subscribed, both sent a campaign and reached; NUMBER dialled twice on 5 May and
    reported once on 6 May; a delivery report kept for each. Returns NUMBER's contact id."""
    key = ext.config.phone_hash_key
    with ext.session_scope() as session:
        mine, other = (
            contacts.subscribe(
                session,
                number,
                source="Kakamega fair",
                language="sw",
                phone_hash_key=key,
                county_code=37,
                at=datetime(2026, 4, 1, 6, 0, tzinfo=UTC),
            )
            for number in (NUMBER, OTHER)
        )
        campaign = Campaign(
            name="Safe jobs abroad",
            seed=1,
            state="done",
            started_at=SENT,
            attribution_days=14,
            audience_size=2,
            held_out=0,
        )
        session.add(campaign)
        session.flush()
        for number, contact in enumerate((mine, other), 1):
            session.add(
                CampaignRecipient(
                    campaign_id=campaign.id,
                    contact_id=contact.id,
                    held_out=False,
                    variant="A",
                    language="sw",
                    county_code=37,
                    state="sent",
                    at_message_id=f"ATXid_{number}",
                    at_status_code=101,
                    sent_at=SENT,
                    delivery_status="Success",
                    delivered_at=SENT,
                )
            )
        mine_key, other_key = engagement_key(NUMBER, key), engagement_key(OTHER, key)
        for signal, day in (("dialled", 5), ("dialled", 5), ("tip", 6)):
            engagement.record(session, mine_key, signal, at=datetime(2026, 5, day, 9, 0, tzinfo=UTC))
        engagement.record(session, other_key, "dialled", at=datetime(2026, 5, 5, 9, 0, tzinfo=UTC))
        for number, phone in enumerate((NUMBER, OTHER), 1):
            session.add(
                UnmatchedDeliveryReport(
                    message_id=f"ATXid_late_{number}", status="Success", phone_key=delivery_key(phone, key)
                )
            )
        return mine.id


def test_everything_held_about_a_number(ext, person):
    with ext.session_scope() as session:
        held = erasure.held_about(session, NUMBER, ext.config)
    contact = held["contact"]
    assert (contact["id"], contact["phone"], contact["county_code"], contact["language"]) == (
        person,
        NUMBER,
        37,
        "sw",
    )
    assert (contact["consent_source"], contact["opted_out_at"]) == ("Kakamega fair", None)
    assert [
        (row["name"], row["held_out"], row["state"], row["delivery_status"]) for row in held["campaigns"]
    ] == [("Safe jobs abroad", False, "sent", "Success")]
    assert held["engagement"] == [(("dialled", date(2026, 5, 5)), 2), (("tip", date(2026, 5, 6)), 1)]
    assert (held["delivery_reports"], held["suppressed"]) == (1, False)


def _values(session) -> list[tuple[str, str, str]]:
    """(table, column, value as text) of every non-null value of every column of every table."""
    found = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).mappings():
            found.extend(
                (table.name, column, str(value)) for column, value in row.items() if value is not None
            )
    return found


def test_forget_leaves_no_trace_but_the_suppression_key(ext, person):
    key = ext.config.phone_hash_key
    with ext.session_scope() as session:
        before = campaign_report.build(session, session.scalar(select(Campaign.id)))
    with ext.session_scope() as session:
        done = erasure.forget(session, NUMBER, ext.config, actor="cli:tester")
    assert done == {
        "contact_id": person,
        "contacts_erased": 1,
        "engagement_rows": 3,
        "delivery_reports": 1,
        "suppressed": True,
    }
    digits = {form.replace(" ", "") for form in FORMS}
    needles = digits | {engagement_key(NUMBER, key), delivery_key(NUMBER, key), "ATXid_1"}
    kept = suppression_key(NUMBER, key)
    with ext.session_scope() as session:
        values = _values(session)
        hits = [(table, column) for table, column, value in values if any(n in value for n in needles)]
        assert hits == []
        assert [(table, column) for table, column, value in values if kept in value] == [
            ("suppression", "suppression_key")
        ]
        erased = session.get(Contact, person)
        assert (erased.phone, erased.engagement_key, erased.opt_out_source) == (None, None, "erased")
        assert erased.erased_at is not None and erased.opted_out_at is not None
        assert session.get(Suppression, kept).source == "erased"
        # The other person's rows are all still there.
        assert session.scalar(select(Contact.phone).where(Contact.id != person)) == OTHER
        assert len(session.scalars(select(Engagement.id)).all()) == 1
        assert session.scalars(select(UnmatchedDeliveryReport.message_id)).all() == ["ATXid_late_2"]
        entry = session.scalar(select(AuditEvent).where(AuditEvent.action == "contact_forgotten"))
        assert (entry.actor, entry.target, entry.detail["engagement_rows"]) == (
            "cli:tester",
            f"contact {person}",
            3,
        )
        after = campaign_report.build(session, session.scalar(select(Campaign.id)))
    assert (
        (after.totals.audience, after.totals.sent, after.totals.delivered, after.reach)
        == (before.totals.audience, before.totals.sent, before.totals.delivered, before.reach)
        == (2, 2, 2, 2)
    )
    with ext.session_scope() as session:  # forgetting again finds nothing more
        again = erasure.forget(session, NUMBER, ext.config)
    assert again == {
        "contact_id": None,
        "contacts_erased": 0,
        "engagement_rows": 0,
        "delivery_reports": 0,
        "suppressed": True,
    }


def test_after_forget_an_import_does_not_subscribe_the_number_but_joining_by_sms_does(ext, person):
    key = ext.config.phone_hash_key
    with ext.session_scope() as session:
        erasure.forget(session, NUMBER, ext.config)
    data = (
        b"phone,county_code,language,consent_source,consented_at\n0712345678,37,sw,Radio call-in,2026-06-01\n"
    )
    report = import_file(data, spec_for(key), ext.session_scope)
    assert (report.counts.added, report.counts.kept_opted_out) == (0, 1)
    with ext.session_scope() as session:
        assert contacts.find(session, NUMBER) is None
        joined = contacts.subscribe(session, NUMBER, source="sms", language="en", phone_hash_key=key)
        assert contacts.is_subscribed(joined) and joined.id != person
        assert session.get(Suppression, suppression_key(NUMBER, key)) is None  # their own request


def test_an_erased_contacts_opt_out_is_left_out_of_the_reports_engagement(ext, person):
    with ext.session_scope() as session:
        erasure.forget(session, NUMBER, ext.config)
        session.flush()
        opted_out = campaign_report._engaged_masks(
            session, campaign_report._window(session.scalar(select(Campaign)), None, SENT)
        )
        assert None not in opted_out  # the erased contact's opt-out matches no recipient


def test_flask_contacts_show_and_forget(app, ext, person):
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["contacts", "show", "0712 345 678"])
    assert shown.exit_code == 0, shown.output
    assert f"+254712345678: contact {person}" in shown.output
    assert "campaign      Safe jobs abroad: sent, Success" in shown.output
    assert "engagement    2026-05-05 dialled: 2" in shown.output and "2026-05-06 tip: 1" in shown.output
    refused = runner.invoke(args=["contacts", "forget", NUMBER], input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    with ext.session_scope() as session:
        assert contacts.find(session, NUMBER) is not None
    forgot = runner.invoke(args=["contacts", "forget", NUMBER, "--yes"])
    assert forgot.exit_code == 0 and f"Forgot contact {person}" in forgot.output
    assert "Removed 3 engagement rows and 1 delivery reports." in forgot.output
    bad = runner.invoke(args=["contacts", "forget", "12", "--yes"])
    assert bad.exit_code == 2 and "'12' is not a phone number" in bad.output and "Traceback" not in bad.output
    with ext.session_scope() as session:
        entries = session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.target).order_by(AuditEvent.id)
        ).all()
    assert [(action, actor.startswith("cli:"), target) for action, actor, target in entries] == [
        ("contact_shown", True, f"contact {person}"),
        ("contact_forgotten", True, f"contact {person}"),
    ]
    assert all(NUMBER not in str(entry) for entry in entries)
