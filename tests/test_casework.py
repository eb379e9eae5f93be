"""The case desk's actions: each changes the tip as it should, lands on the timeline and in the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from hotline.agencies import signals
from hotline.core.models import (
    AuditEvent,
    CaseEvent,
    FocalPoint,
    OutboundSms,
    ReferralOrganisation,
    Tip,
)
from hotline.core.privacy import encrypt_contact
from hotline.tips import casework, followup, inbox, routing
from hotline.tips.casework import CaseError, NotAllowed
from hotline.tips.timeline import timeline
from tests.builders import add_agency
from tests.test_inbox import KAKAMEGA, NAIROBI, add_tip, viewer_of

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
CALLBACK = "+254722333444"


@pytest.fixture
def session(ext):
    with ext.session_scope() as session:
        yield session


@pytest.fixture
def desk(session, ext):
    """Kakamega's two focal points, Nairobi's one, the secretariat's; an urgent Kakamega tip sent to both."""
    a = FocalPoint(
        county_code=KAKAMEGA, name="Officer A", organisation="CCO", phone="+254700000101", priority=1
    )
    b = FocalPoint(county_code=KAKAMEGA, name="Officer B", phone="+254700000102", priority=2)
    n = FocalPoint(county_code=NAIROBI, name="Officer N", phone="+254700000147", priority=1)
    s = FocalPoint(county_code=0, name="Secretariat", phone="+254700000190", priority=1)
    session.add_all([a, b, n, s])
    session.flush()
    tip = add_tip(
        session,
        1,
        urgent=True,
        priority=0,
        callback_contact=encrypt_contact(CALLBACK, ext.config.contact_key),
    )
    routing.notify_stage(session, ext.config, tip, 0, NOW)
    tip.routing_started_at = NOW
    return {
        "tip": tip,
        "a": a,
        "b": b,
        "n": n,
        "officer_a": viewer_of(session, "focal_point", KAKAMEGA, a.id),
        "officer_b": viewer_of(session, "focal_point", KAKAMEGA, b.id),
        "secretariat": viewer_of(session, "secretariat"),
    }


def events(session, tip, kind=None) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.tip_id == tip.id).order_by(CaseEvent.id)
    return [e for e in session.scalars(query) if kind is None or e.kind == kind]


def audited(session, action) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_acknowledge_is_the_sms_ack_the_others_are_told_and_the_reporter_sees_it(session, desk):
    tip = desk["tip"]
    ids = casework.acknowledge(session, desk["officer_a"], tip, NOW)
    assert (tip.status, tip.folder, tip.acknowledged_by_id, tip.escalate_at) == (
        "acknowledged",
        "active",
        desk["a"].id,
        None,
    )
    [notice] = [session.get(OutboundSms, i) for i in ids]
    assert notice.focal_point_id == desk["b"].id and "acknowledged by Officer A (CCO)" in notice.message
    assert followup.status_words(tip, "en") == "taken up by the county team"
    [event] = events(session, tip, "acknowledged")
    assert event.user_id == desk["officer_a"].user_id and event.focal_point_id == desk["a"].id
    assert audited(session, "acknowledged")[0].tip_id == tip.id
    with pytest.raises(CaseError, match="Already acknowledged by Officer A"):
        casework.acknowledge(session, desk["officer_b"], tip, NOW)


def test_someone_without_a_directory_entry_acknowledges_by_user(session, desk):
    tip = desk["tip"]
    ids = casework.acknowledge(session, desk["secretariat"], tip, NOW)
    assert tip.acknowledged_by_id is None and tip.acknowledged_at is not None
    messages = [session.get(OutboundSms, i).message for i in ids]
    assert len(messages) == 2 and all("acknowledged by CTiP secretariat" in m for m in messages)
    assert events(session, tip, "acknowledged")[0].user_id == desk["secretariat"].user_id


def test_assign_to_an_active_focal_point_of_the_county_only(session, desk):
    tip = desk["tip"]
    casework.assign(session, desk["officer_a"], tip, desk["b"].id, NOW)
    assert tip.assigned_focal_point_id == desk["b"].id
    assert events(session, tip, "assigned")[0].detail == {"focal_point_id": desk["b"].id, "name": "Officer B"}
    with pytest.raises(CaseError, match="Already assigned"):
        casework.assign(session, desk["officer_a"], tip, desk["b"].id, NOW)
    for wrong in (desk["n"].id, 99999):
        with pytest.raises(CaseError, match="active focal point"):
            casework.assign(session, desk["officer_a"], tip, wrong, NOW)
    desk["a"].active = False
    with pytest.raises(CaseError):
        casework.assign(session, desk["officer_b"], tip, desk["a"].id, NOW)


def test_the_reporters_additions_go_to_the_assigned_focal_point_alone(session, desk):
    tip = desk["tip"]
    casework.assign(session, desk["officer_a"], tip, desk["b"].id, NOW)
    session.flush()
    session.refresh(tip)
    _update, ids = followup.add_information(session, tip, "They moved", tip.reporter_key, "ussd:add-1", NOW)
    sent_to = [session.get(OutboundSms, sms_id).focal_point_id for sms_id in ids]
    assert sent_to == [desk["b"].id]


def test_the_secretariat_moves_a_tip_and_it_is_routed_there_as_new(session, ext, desk):
    tip = desk["tip"]
    casework.acknowledge(session, desk["officer_a"], tip, NOW)
    with pytest.raises(NotAllowed):
        casework.move(session, ext.config, desk["officer_a"], tip, NAIROBI, NOW)
    with pytest.raises(CaseError, match="already in Kakamega"):
        casework.move(session, ext.config, desk["secretariat"], tip, KAKAMEGA, NOW)
    with pytest.raises(CaseError, match="Choose a county"):
        casework.move(session, ext.config, desk["secretariat"], tip, 99, NOW)
    ids = casework.move(session, ext.config, desk["secretariat"], tip, NAIROBI, NOW)
    [notice] = [session.get(OutboundSms, i) for i in ids]
    assert notice.focal_point_id == desk["n"].id and notice.purpose == "tip" and "Nairobi" in notice.message
    assert (tip.county_code, tip.folder, tip.status, tip.acknowledged_at) == (NAIROBI, "new", "routed", None)
    assert tip.escalate_at == NOW + timedelta(minutes=ext.config.escalation_after(tip.kind, tip.urgent))
    # Kakamega's officers were sent it, so they still see it; the rest of Kakamega no longer does.
    assert inbox.find(session, desk["officer_a"], tip.reference) is tip
    assert inbox.find(session, viewer_of(session, "focal_point", KAKAMEGA), tip.reference) is None
    assert events(session, tip, "moved")[0].detail == {"from_county": KAKAMEGA, "to_county": NAIROBI}


def test_notes_are_kept_as_written_within_their_length(session, desk):
    tip = desk["tip"]
    casework.add_note(session, desk["officer_a"], tip, "  <script>alert(1)</script> called the chief  ", NOW)
    assert events(session, tip, "note")[0].text == "<script>alert(1)</script> called the chief"
    with pytest.raises(CaseError, match="Write the note"):
        casework.add_note(session, desk["officer_a"], tip, "   ", NOW)
    with pytest.raises(CaseError, match="2001 characters long; at most 2000"):
        casework.add_note(session, desk["officer_a"], tip, "x" * 2001, NOW)
    assert len(audited(session, "note")) == 1


def test_close_needs_a_reason_and_reopen_puts_the_tip_back(session, desk):
    tip = desk["tip"]
    viewer = desk["officer_a"]
    with pytest.raises(CaseError, match="needs a reason"):
        casework.set_status(session, viewer, tip, "Closed", NOW)
    with pytest.raises(CaseError, match="Choose a status"):
        casework.set_status(session, viewer, tip, "Open", NOW)
    casework.set_status(session, viewer, tip, "Closed", NOW, reason="not_trafficking")
    assert (tip.folder, tip.status, tip.case_status, tip.closure_reason) == (
        "closed",
        "closed",
        "Closed",
        "not_trafficking",
    )
    assert tip.closed_at == NOW and tip.escalate_at is None
    assert followup.status_words(tip, "en") == "closed"
    with pytest.raises(CaseError, match="closed: reopen it first"):
        casework.acknowledge(session, viewer, tip, NOW)
    casework.set_status(session, viewer, tip, "Active", NOW)
    assert (tip.folder, tip.status, tip.closed_at, tip.closure_reason) == ("new", "routed", None, None)
    casework.acknowledge(session, viewer, tip, NOW)
    casework.set_status(session, viewer, tip, "FollowUp", NOW)
    assert (tip.folder, tip.status) == ("followup", "acknowledged")
    casework.set_status(session, viewer, tip, "ClosedReferred", NOW, reason="referred")
    casework.set_status(session, viewer, tip, "Active", NOW)
    assert (tip.folder, tip.status) == ("active", "acknowledged")
    assert [e.detail["after"] for e in events(session, tip, "status")] == [
        "Closed",
        "Active",
        "FollowUp",
        "ClosedReferred",
        "Active",
    ]
    assert len(audited(session, "status")) == 5
    titles = [entry.title for entry in timeline(session, tip) if entry.title.startswith("Status")]
    assert titles[0] == "Status: Closed, reason: not trafficking"
    assert titles[3] == "Status: Closed (referred), reason: referred"


def test_refer_to_an_organisation_of_the_county_or_a_national_one(session, desk):
    tip = desk["tip"]
    local = ReferralOrganisation(county_code=KAKAMEGA, name="Kakamega police", kind="police")
    national = ReferralOrganisation(county_code=None, name="DCI anti-trafficking unit", kind="dci_atu")
    elsewhere = ReferralOrganisation(county_code=NAIROBI, name="Nairobi shelter", kind="shelter")
    retired = ReferralOrganisation(county_code=KAKAMEGA, name="Old NGO", kind="ngo", active=False)
    session.add_all([local, national, elsewhere, retired])
    session.flush()
    assert [o.name for o in casework.organisations(session, tip)] == [
        "Kakamega police",
        "DCI anti-trafficking unit",
    ]
    viewer = desk["officer_a"]
    for organisation in (elsewhere, retired):
        with pytest.raises(CaseError, match="Choose an organisation"):
            casework.refer(session, viewer, tip, organisation.id, date(2026, 11, 28), "Other", None, NOW)
    with pytest.raises(CaseError, match="reason"):
        casework.refer(session, viewer, tip, local.id, date(2026, 11, 28), "Because", None, NOW)
    with pytest.raises(CaseError, match="future"):
        casework.refer(session, viewer, tip, local.id, date(2026, 11, 29), "Other", None, NOW)
    referral = casework.refer(
        session,
        viewer,
        tip,
        national.id,
        date(2026, 11, 27),
        "AdditionalServicesRequired",
        " Needs a shelter ",
        NOW,
    )
    assert (referral.organisation_id, referral.details, referral.user_id) == (
        national.id,
        "Needs a shelter",
        viewer.user_id,
    )
    assert events(session, tip, "referral")[0].detail["referral_id"] == referral.id
    assert audited(session, "referral")[0].tip_id == tip.id
    shown = [entry for entry in timeline(session, tip) if entry.kind == "referral"]
    expected = [("Additional services required", "Needs a shelter")]
    assert [(entry.state, entry.text) for entry in shown] == expected


def test_a_duplicate_closes_links_both_timelines_and_counts_once(session, desk):
    tip, viewer = desk["tip"], desk["officer_a"]
    original = add_tip(session, 0)
    nairobi = add_tip(session, 2, county_code=NAIROBI)
    with pytest.raises(CaseError, match="No tip you can see"):
        casework.mark_duplicate(session, viewer, tip, nairobi.reference, NOW)
    with pytest.raises(CaseError, match="itself"):
        casework.mark_duplicate(session, viewer, tip, tip.reference, NOW)
    before = inbox.counts(session, viewer)
    casework.mark_duplicate(session, viewer, tip, original.reference, NOW)
    assert (tip.duplicate_of_id, tip.folder, tip.closure_reason) == (original.id, "closed", "duplicate")
    assert events(session, tip, "duplicate")[0].detail == {"of": original.reference}
    assert events(session, original, "duplicate")[0].detail == {"duplicate": tip.reference}
    after = inbox.counts(session, viewer)
    assert after["new"] == before["new"] - 1 and after["closed"] == before["closed"] == 0
    with pytest.raises(CaseError, match="already marked"):
        casework.mark_duplicate(session, viewer, tip, original.reference, NOW)
    other = add_tip(session, 3)
    with pytest.raises(CaseError, match="is itself a duplicate"):
        casework.mark_duplicate(session, viewer, other, tip.reference, NOW)
    with pytest.raises(CaseError, match="stays closed"):
        casework.set_status(session, viewer, tip, "Active", NOW)


def test_flag_the_agency_once_and_nea_sees_it_in_the_agency_stats(app, session, desk):
    tip = desk["tip"]
    with pytest.raises(CaseError, match="names no recruitment agency"):
        casework.flag_agency(session, desk["officer_a"], tip, NOW)
    agency = add_agency(
        session,
        name="Gulf Dreams Ltd",
        registration_number="NEA/123",
        registration_key="NEA123",
        name_key="gulf dreams",
        licence_type="international",
    )
    tip.agency_id = agency.id
    casework.flag_agency(session, desk["officer_a"], tip, NOW)
    assert tip.agency_flagged_at == NOW and audited(session, "agency_flag")[0].detail == {
        "agency_id": agency.id
    }
    with pytest.raises(CaseError, match="already flagged"):
        casework.flag_agency(session, desk["officer_a"], tip, NOW)
    assert signals.flagged(session, 7, date(2026, 11, 30)) == [
        ("Gulf Dreams Ltd", "NEA/123", 1, date(2026, 11, 28))
    ]
    assert signals.flagged(session, 1, date(2026, 11, 30)) == []
    session.commit()
    result = app.test_cli_runner().invoke(args=["agencies", "stats", "--days", "3660"])
    assert "flagged by the case desk" in result.output and "Gulf Dreams Ltd  NEA/123" in result.output


def test_reveal_needs_the_right_person_a_reason_and_a_fresh_code(session, ext, desk):
    tip, config = desk["tip"], ext.config
    with pytest.raises(NotAllowed):
        casework.reveal(session, config, desk["officer_a"], tip, "call back", True, NOW)
    casework.acknowledge(session, desk["officer_a"], tip, NOW)
    with pytest.raises(CaseError, match="Write the reason"):
        casework.reveal(session, config, desk["officer_a"], tip, " ", True, NOW)
    with pytest.raises(CaseError, match="code is wrong"):
        casework.reveal(session, config, desk["officer_a"], tip, "to call back", False, NOW)
    assert casework.reveal(session, config, desk["officer_a"], tip, "to call back", True, NOW) == CALLBACK
    with pytest.raises(NotAllowed):
        casework.reveal(session, config, desk["officer_b"], tip, "curious", True, NOW)
    casework.assign(session, desk["officer_a"], tip, desk["b"].id, NOW)
    assert casework.reveal(session, config, desk["officer_b"], tip, "assigned to me", True, NOW) == CALLBACK
    assert casework.reveal(session, config, desk["secretariat"], tip, "triage", True, NOW) == CALLBACK
    [refused] = audited(session, "reveal_refused")
    reveals = audited(session, "reveal")
    assert [r.detail["reason"] for r in reveals] == ["to call back", "assigned to me", "triage"]
    assert refused.detail["reason"] == "to call back"
    for row in session.scalars(select(AuditEvent)):
        assert CALLBACK not in str(row.detail) and CALLBACK[1:] not in str(row.detail)
    nothing = add_tip(session, 5)
    with pytest.raises(CaseError, match="no call-back number"):
        casework.reveal(session, config, desk["secretariat"], nothing, "triage", True, NOW)


def test_every_action_is_refused_on_a_tip_while_it_is_closed(session, ext, desk):
    tip, viewer = desk["tip"], desk["secretariat"]
    casework.set_status(session, viewer, tip, "Closed", NOW, reason="resolved")
    for action in (
        lambda: casework.acknowledge(session, viewer, tip, NOW),
        lambda: casework.assign(session, viewer, tip, desk["b"].id, NOW),
        lambda: casework.move(session, ext.config, viewer, tip, NAIROBI, NOW),
    ):
        with pytest.raises(CaseError, match="reopen"):
            action()
    assert isinstance(session.get(Tip, tip.id), Tip)
