"""The desk's pages through Flask's test client: scope, every action's POST-redirect-GET, bad input
(400 with the form's errors, never a 500), escaping, CSRF, the reveal, the polled rows, page weight."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from hotline.core.models import (
    AuditEvent,
    CaseMessage,
    FocalPoint,
    OutboundSms,
    ReferralOrganisation,
    Tip,
    User,
)
from hotline.core.privacy import encrypt_contact
from hotline.core.time import utcnow
from hotline.desk.views import ACTIONS
from hotline.tips import routing
from hotline.tips.reference import display
from tests.console import csrf_token, make_user, sign_in_client
from tests.test_inbox import KAKAMEGA, NAIROBI, add_tip

CALLBACK = "+254722333444"


@pytest.fixture
def tips(ext):
    """A Kakamega tip with a call-back number (sent to Kakamega's officer), and a Nairobi one."""
    officer = make_user(ext, "focal_point", KAKAMEGA)
    with ext.session_scope() as session:
        session.add(FocalPoint(county_code=0, name="Secretariat", phone="+254700000190"))
        kakamega = add_tip(
            session,
            1,
            created_at=utcnow(),
            callback_contact=encrypt_contact(CALLBACK, ext.config.contact_key),
        )
        routing.notify_stage(session, ext.config, kakamega, 0, utcnow())
        nairobi = add_tip(session, 2, county_code=NAIROBI, created_at=utcnow())
        return {"officer": officer, "kakamega": kakamega.reference, "nairobi": nairobi.reference}


@pytest.fixture
def officer(client, tips):
    sign_in_client(client, tips["officer"])
    return client


def post(client, ref, action, **fields):
    token = csrf_token(client, f"/console/t/{ref}")
    data = {f"{action}-{name}": value for name, value in fields.items()}
    return client.post(f"/console/t/{ref}/{action}", data={f"{action}-csrf_token": token, **data})


def tip_of(ext, reference) -> Tip:
    with ext.session_scope() as session:
        return session.scalar(select(Tip).where(Tip.reference == reference))


def test_every_desk_view_is_for_focal_points_and_the_secretariat(app):
    views = [name for name in app.view_functions if name.startswith("desk.")]
    assert sorted(views) == ["desk.act", "desk.case", "desk.inbox", "desk.inbox_rows"]
    for name in views:
        assert app.view_functions[name].roles == ("focal_point", "secretariat")


def test_signed_out_is_sent_to_sign_in_and_other_roles_get_403(client, ext, tips):
    assert client.get("/console/").status_code == 302
    assert client.get("/console/rows", headers={"HX-Request": "true"}).status_code == 401
    sign_in_client(client, make_user(ext, "auditor"))
    response = client.get(f"/console/t/{tips['kakamega']}")
    assert response.status_code == 403 and "<html" in response.get_data(as_text=True)


def test_the_inbox_lists_the_county_tips_with_a_countdown_and_polls_its_rows(officer, ext, tips):
    page = officer.get("/console/").get_data(as_text=True)
    assert display(tips["kakamega"]) in page and display(tips["nairobi"]) not in page
    assert 'data-label="Acknowledge"' in page and re.search(r'class="countdown">in \d+ (min|h)', page)
    assert 'hx-trigger="every 20s"' in page and 'data-folder="new">1<' in page
    rows = officer.get("/console/rows?folder=new", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert rows.lstrip().startswith("{#") is False and "<tbody" in rows and 'hx-swap-oob="true"' in rows
    with ext.session_scope() as session:
        session.scalar(select(Tip).where(Tip.reference == tips["kakamega"])).escalate_at = (
            utcnow() - timedelta(minutes=3)
        )
    late = officer.get("/console/rows?folder=new").get_data(as_text=True)
    assert 'class="countdown overdue">overdue' in late


def test_filters_and_bad_filter_values_never_fail(officer, tips):
    assert display(tips["kakamega"]) in officer.get("/console/?text=lurambi&danger=unsure").get_data(
        as_text=True
    )
    page = officer.get("/console/?kind=slavery&county=37").get_data(as_text=True)
    assert display(tips["kakamega"]) not in page
    assert '<option value="slavery" selected>' in page and '<option value="37" selected>Kakamega' in page
    for query in (
        "county=abc",
        "since=2026-99-01",
        "agency=x",
        "after=1.2.3.4",
        "folder=../../x",
        "text=" + "x" * 500,
    ):
        assert officer.get(f"/console/?{query}").status_code == 200


def test_another_countys_tip_and_unknown_references_are_404(officer, tips):
    for path in (
        f"/console/t/{tips['nairobi']}",
        "/console/t/123",
        "/console/t/<script>",
        "/console/t/000000000000",
    ):
        response = officer.get(path)
        assert response.status_code == 404 and "no tip with this reference" in response.get_data(as_text=True)
    assert post(officer, tips["kakamega"], "nonsense").status_code == 404
    token = csrf_token(officer, f"/console/t/{tips['kakamega']}")
    response = officer.post(
        f"/console/t/{tips['nairobi']}/note", data={"note-csrf_token": token, "note-text": "x"}
    )
    assert response.status_code == 404


def test_acknowledge_then_close_with_a_reason_by_post_redirect_get(officer, ext, tips):
    ref = tips["kakamega"]
    response = post(officer, ref, "acknowledge")
    assert response.status_code == 302 and response.location.endswith(f"/console/t/{ref}")
    page = officer.get(f"/console/t/{ref}").get_data(as_text=True)
    assert ACTIONS["acknowledge"].done in page and "Acknowledged in the console" in page
    assert tip_of(ext, ref).status == "acknowledged"
    assert post(officer, ref, "acknowledge").status_code == 302  # done already: a flash, no error
    response = post(officer, ref, "status", status="Closed", reason="")
    assert response.status_code == 400 and "Closing a case needs a reason." in response.get_data(as_text=True)
    assert post(officer, ref, "status", status="Closed", reason="resolved").status_code == 302
    assert (tip_of(ext, ref).folder, tip_of(ext, ref).closure_reason) == ("closed", "resolved")


def test_notes_are_shown_as_text_and_oversized_ones_are_refused(officer, ext, tips):
    ref = tips["kakamega"]
    assert post(officer, ref, "note", text="<script>alert('x')</script><b>bold</b>").status_code == 302
    page = officer.get(f"/console/t/{ref}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>alert" not in page
    response = post(officer, ref, "note", text="y" * 2001)
    assert response.status_code == 400 and "A note is at most 2000 characters." in response.get_data(
        as_text=True
    )
    assert post(officer, ref, "note", text="   ").status_code == 400


def test_a_post_without_its_csrf_token_is_refused(officer, tips):
    response = officer.post(f"/console/t/{tips['kakamega']}/note", data={"note-text": "x"})
    assert response.status_code == 400


def test_assign_refer_duplicate_and_message(officer, ext, tips):
    ref = tips["kakamega"]
    with ext.session_scope() as session:
        officer_row = session.scalar(select(User).where(User.email == tips["officer"].email))
        organisation = ReferralOrganisation(county_code=KAKAMEGA, name="Kakamega police", kind="police")
        session.add(organisation)
        session.flush()
        organisation_id, focal_point_id = organisation.id, officer_row.focal_point_id
        other = add_tip(session, 3, created_at=utcnow()).reference
    assert post(officer, ref, "assign", focal_point=str(focal_point_id)).status_code == 302
    assert post(officer, ref, "assign", focal_point="99999").status_code == 400
    today = utcnow().date().isoformat()
    response = post(
        officer, ref, "refer", organisation=str(organisation_id), referred_on=today, reason="Other"
    )
    assert response.status_code == 302
    assert (
        post(officer, ref, "refer", organisation=str(organisation_id), referred_on="yesterday").status_code
        == 400
    )
    response = post(officer, ref, "message", text="Are you safe now? " * 10)
    assert response.status_code == 400 and "Please shorten it." in response.get_data(as_text=True)
    assert post(officer, ref, "message", text="Are you safe now?").status_code == 302
    with ext.session_scope() as session:
        assert session.scalar(select(CaseMessage.text)) == "Are you safe now?"
    assert post(officer, other, "duplicate", reference=display(ref)).status_code == 302
    page = officer.get(f"/console/t/{ref}").get_data(as_text=True)
    assert (
        "Assigned to Officer" in page
        and "Referred to Kakamega police" in page
        and "Message to the reporter" in page
    )
    assert f"Report {display(other)} marked a duplicate of this one" in page
    assert post(officer, ref, "duplicate", reference="999").status_code == 400


def test_move_is_the_secretariats_only(officer, client, ext, tips):
    assert post(officer, tips["kakamega"], "move", county=str(NAIROBI)).status_code == 403


def test_reveal_needs_a_fresh_code_shows_the_number_once_and_is_audited(officer, ext, tips):
    ref, user = tips["kakamega"], tips["officer"]
    post(officer, ref, "acknowledge")
    response = post(officer, ref, "reveal", code="000000", reason="to call back")
    assert response.status_code == 400 and "code is wrong" in response.get_data(as_text=True)
    response = post(officer, ref, "reveal", code=user.code(), reason="to call back")
    body = response.get_data(as_text=True)
    assert (
        response.status_code == 200 and CALLBACK in body and response.headers["Cache-Control"] == "no-store"
    )
    assert 'data-expires-in="60"' in body
    assert CALLBACK not in officer.get(f"/console/t/{ref}").get_data(as_text=True)
    with ext.session_scope() as session:
        actions = [(e.action, (e.detail or {}).get("reason")) for e in session.scalars(select(AuditEvent))]
    assert ("reveal", "to call back") in actions and ("reveal_refused", "to call back") in actions


def test_the_case_page_with_its_assets_stays_under_150_kb(officer, tips):
    page = officer.get(f"/console/t/{tips['kakamega']}").get_data()
    assets = re.findall(rb'(?:src|href)="(/static/[^"]+)"', page)
    weight = len(page)
    for asset in assets:
        response = officer.get(asset.decode())
        weight += len(response.get_data())
        response.close()
    assert weight < 150_000


def test_the_secretariat_triages_a_tip_without_county_by_moving_it(client, ext, tips):
    sign_in_client(client, make_user(ext, "secretariat"))
    with ext.session_scope() as session:
        loose = add_tip(session, 5, county_code=None, created_at=utcnow()).reference
    page = client.get("/console/?folder=triage").get_data(as_text=True)
    assert display(loose) in page and display(tips["kakamega"]) not in page and "Needs triage" in page
    assert post(client, loose, "move", county=str(KAKAMEGA)).status_code == 302
    moved = tip_of(ext, loose)
    assert (moved.county_code, moved.status, moved.folder) == (KAKAMEGA, "routed", "new")
    with ext.session_scope() as session:
        told = session.scalars(select(OutboundSms).where(OutboundSms.tip_id == moved.id)).all()
        assert told and all(sms.focal_point.county_code == KAKAMEGA for sms in told)
    assert display(loose) not in client.get("/console/?folder=triage").get_data(as_text=True)
    assert "Moved from no county to Kakamega" in client.get(f"/console/t/{loose}").get_data(as_text=True)


def test_opening_a_case_page_is_audited_and_a_refused_one_is_not_shown(officer, ext, tips):
    assert officer.get(f"/console/t/{tips['kakamega']}").status_code == 200
    assert officer.get(f"/console/t/{tips['nairobi']}").status_code == 404
    with ext.session_scope() as session:
        viewed = session.scalars(select(AuditEvent).where(AuditEvent.action == "tip_viewed")).all()
        assert [(e.target, e.actor) for e in viewed] == [(tips["kakamega"], tips["officer"].email)]
