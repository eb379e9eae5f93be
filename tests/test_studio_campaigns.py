"""The campaign studio's pages (hotline.studio.campaign_views) through Flask's test client: the list,
the builder and its live estimate, bad input answered in words (never a 500), drafts edited, copied
and deleted, the test send, send with its confirmation, the controls and the uncertain decision, the
report and its export; who may open what; every change in the audit log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from campaigns import service
from hotline.contacts.service import new_salt
from hotline.core.models import AuditEvent, Campaign, CampaignBatch, CampaignRecipient, Contact, OutboundSms
from hotline.core.privacy import decrypt_contact, engagement_key
from hotline.core.time import utcnow
from tests.console import csrf_token, make_user, sign_in_client
from tests.test_campaign_safety import report

STUDIO = "/console/campaigns"
MANAGER_PHONE = "+254700000121"
EN = "Jobs abroad? Check the agency first: dial *384*1234#"
SW = "Kazi ng'ambo? Hakiki wakala kwanza: piga *384*1234#"


def add_contacts(ext, count: int, county=lambda n: 47, language=lambda n: "en" if n % 3 else "sw",
                 source=lambda n: "ussd"):
    key = ext.config.phone_hash_key
    with ext.session_scope() as session:
        for n in range(count):
            number = f"+2547105{n:05d}"
            session.add(Contact(phone=number, engagement_key=engagement_key(number, key),
                                county_code=county(n), language=language(n), consent_source=source(n),
                                consented_at=datetime(2026, 1, 1, tzinfo=UTC), salt=new_salt()))


def builder_fields(**overrides) -> MultiDict:
    """A builder form: two languages, one variant, 10% held out; overrides replace a field."""
    fields = {
        "name": "November safety",
        "variant": ["A"],
        "message-A-en": EN,
        "message-A-sw": SW,
        "holdout": "10",
        "start": "",
        "hours_from": "08:00",
        "hours_until": "18:00",
        "rate": "100",
        "attribution_days": "14",
    }
    fields.update(overrides)
    data = MultiDict()
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(name, item)
    return data


@pytest.fixture
def signed_in(ext, app):
    """A test client signed in with the given role (a new account each time)."""

    def sign_in(role: str, phone: str | None = None):
        client = app.test_client()
        sign_in_client(client, make_user(ext, role, phone=phone))
        return client

    return sign_in


@pytest.fixture
def manager(signed_in):
    return signed_in("campaign_manager", phone=MANAGER_PHONE)


def post(client, path: str, data, form_path: str = f"{STUDIO}/new"):
    data = MultiDict(data)
    data["csrf_token"] = csrf_token(client, form_path)
    return client.post(path, data=data)


def make_draft(ext, name="nov", variants=("A",), holdout=0.1) -> int:
    messages = {}
    for variant in variants:
        messages[(variant, "en")] = f"{EN} ({variant})"
        messages[(variant, "sw")] = f"{SW} ({variant})"
    with ext.session_scope() as session:
        new = service.NewCampaign(name=name, messages=messages, holdout_share=holdout, hours=(0, 24 * 60))
        return service.create(session, new).id


def campaign_actions(ext) -> list[tuple[str, str]]:
    with ext.session_scope() as session:
        ours = select(AuditEvent).where(AuditEvent.action.like("campaign.%")).order_by(AuditEvent.id)
        events = session.scalars(ours)
        return [(event.action, event.target) for event in events]


def count(ext, model) -> int:
    with ext.session_scope() as session:
        return session.scalar(select(func.count()).select_from(model))


# --- Who may open what.

def test_a_focal_point_cannot_open_the_studio(signed_in):
    client = signed_in("focal_point")
    for path in (f"{STUDIO}/", f"{STUDIO}/new"):
        response = client.get(path)
        assert response.status_code == 403
        assert "Your role may not open this page" in response.get_data(as_text=True)


def test_a_campaign_manager_cannot_open_the_tip_inbox(manager):
    response = manager.get("/console/")
    assert response.status_code == 403
    assert "Campaigns" in response.get_data(as_text=True)  # the bar shows the studio, not the inbox


def test_the_secretariat_reads_the_studio_and_changes_nothing(ext, signed_in):
    campaign_id = make_draft(ext)
    client = signed_in("secretariat")
    listing = client.get(f"{STUDIO}/").get_data(as_text=True)
    assert "nov" in listing and "New campaign" not in listing and "Duplicate" not in listing
    detail = client.get(f"{STUDIO}/{campaign_id}")
    assert detail.status_code == 200 and "Test send" not in detail.get_data(as_text=True)
    assert client.get(f"{STUDIO}/{campaign_id}/report").status_code == 200
    assert client.get(f"{STUDIO}/new").status_code == 403
    assert client.get(f"{STUDIO}/{campaign_id}/edit").status_code == 403
    assert client.get(f"{STUDIO}/{campaign_id}/send").status_code == 403
    token = csrf_token(client, f"{STUDIO}/{campaign_id}")
    for action in ("duplicate", "delete", "send", "pause", "cancel", "test-send", "uncertain/skip"):
        response = client.post(f"{STUDIO}/{campaign_id}/{action}", data={"csrf_token": token})
        assert response.status_code == 403, action
    assert client.post(f"{STUDIO}/estimate", data={"csrf_token": token}).status_code == 403
    assert count(ext, Campaign) == 1 and campaign_actions(ext) == []


# --- The builder.

def test_a_two_language_campaign_with_a_variant_is_saved_as_a_draft_and_audited(ext, manager):
    form = manager.get(f"{STUDIO}/new").get_data(as_text=True)
    assert 'name="message-A-en"' in form and 'name="message-A-sw"' in form
    assert "08:00" in form and "18:00" in form  # Safaricom's promotional hours by default
    response = post(manager, f"{STUDIO}/new", builder_fields(**{
        "variant": ["A", "B"], "message-B-en": "Ask before you pay an agency.",
        "message-B-sw": "Uliza kabla ya kulipa wakala.", "county": ["47", "37"], "language": ["en", "sw"],
        "holdout": "12.5", "start": "2026-11-23T09:00", "hours_until": "00:00", "rate": "50",
    }))
    assert response.status_code == 302, response.get_data(as_text=True)
    with ext.session_scope() as session:
        campaign = session.scalar(select(Campaign))
        assert response.location.endswith(f"{STUDIO}/{campaign.id}")
        assert (campaign.state, campaign.county_codes) == ("draft", [37, 47])
        assert campaign.languages == ["en", "sw"]
        assert (campaign.holdout_share, campaign.hours_from, campaign.hours_until, campaign.rate) == (
            0.125, 480, 1440, 50)
        assert campaign.start_at.replace(tzinfo=UTC) == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
        assert {(m.variant, m.language): m.text for m in campaign.messages}[("B", "sw")] == (
            "Uliza kabla ya kulipa wakala.")
        assert campaign.created_by_id is not None
    assert campaign_actions(ext) == [("campaign.created", f"campaign:{campaign.id} November safety")]


def test_add_and_remove_a_variant_redraw_the_form_and_keep_what_was_typed(ext, manager):
    added = post(manager, f"{STUDIO}/new", builder_fields(action="add_variant"))
    page = added.get_data(as_text=True)
    assert added.status_code == 200 and 'name="message-B-en"' in page and EN in page
    removed = post(manager, f"{STUDIO}/new", builder_fields(
        action="remove_variant:B", variant=["A", "B"], **{"message-B-en": "gone"}))
    page = removed.get_data(as_text=True)
    assert 'name="message-B-en"' not in page and EN in page and "gone" not in page
    assert count(ext, Campaign) == 0


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        ({"holdout": "150"}, "percentage from 0 to below 100, not 150"),
        ({"holdout": "nan"}, "percentage from 0 to below 100"),
        ({"holdout": "ten"}, "The holdout share is a percentage, like 10"),
        ({"county": ["99"]}, "Unknown county &#39;99&#39;"),
        ({"county": ["Nairobi"]}, "Unknown county &#39;Nairobi&#39;"),
        ({"message-A-en": "x" * 500}, "takes 4 SMS; keep it to 3"),
        ({"message-A-en": "x" * 5000}, "far too long"),
        ({"message-A-sw": ""}, "The audience includes sw but no message is written in it."),
        ({"variant": ["A", "B"], "message-B-en": "Only English"}, "Variant B has no message in sw"),
        ({"message-A-en": "", "message-A-sw": ""}, "Write at least one message."),
        ({"rate": "0"}, "The rate is a whole number of SMS a second from 1 to 10,000"),
        ({"rate": "１２"}, "The rate is a whole number"),
        ({"hours_from": "18:00", "hours_until": "18:00"}, "is not a window of the day"),
        ({"hours_from": "25:00"}, "is not a window of the day"),
        ({"start": "tomorrow"}, "The start is a date and time"),
        ({"attribution_days": "400"}, "from 1 to 365"),
        ({"name": ""}, "A campaign needs a name of 1 to 80 characters."),
        ({"language": ["fr"]}, "Unknown language &#39;fr&#39;"),
    ],
)
def test_bad_input_shows_the_builder_again_with_the_reason(ext, manager, overrides, said):
    fields = builder_fields(**{"language": ["en", "sw"], **overrides})
    response = post(manager, f"{STUDIO}/new", fields)
    assert response.status_code == 400
    assert said in response.get_data(as_text=True)
    assert count(ext, Campaign) == 0 and campaign_actions(ext) == []


def test_a_name_in_use_is_refused(ext, manager):
    make_draft(ext, "November safety")
    response = post(manager, f"{STUDIO}/new", builder_fields())
    assert response.status_code == 400
    assert "There is already a campaign named &#39;November safety&#39;." in response.get_data(as_text=True)


# --- The live estimate.

def test_the_estimate_counts_the_audience_and_says_what_effect_can_be_seen_and_writes_nothing(ext, manager):
    add_contacts(ext, 300)
    token = csrf_token(manager, f"{STUDIO}/new")
    data = builder_fields(csrf_token=token, county=["47"])
    response = manager.post(f"{STUDIO}/estimate", data=data, headers={"HX-Request": "true",
                                                                      "X-Console-Background": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "300 contacts" in page
    assert "held out you can detect a rise from 2.0% to" in page
    assert "KES" in page and "segments" in page.lower()
    assert count(ext, Campaign) == 0 and count(ext, CampaignRecipient) == 0
    # Nobody in the audience: figures of zero, not an error.
    empty = manager.post(f"{STUDIO}/estimate", data=builder_fields(csrf_token=token, county=["1"]))
    assert empty.status_code == 200 and "0 contacts" in empty.get_data(as_text=True)


def test_the_estimate_and_the_confirmation_count_a_recent_reporter_as_suppressed_for_safety(ext, manager):
    add_contacts(ext, 40, language=lambda n: "en")
    report(ext, "+254710500007")  # contact 7 reported a tip: left out of the campaign and its holdout
    token = csrf_token(manager, f"{STUDIO}/new")
    page = manager.post(f"{STUDIO}/estimate", data=builder_fields(csrf_token=token)).get_data(as_text=True)
    assert 'data-figure="audience">39 contacts' in page and 'data-figure="suppressed">1 ' in page
    campaign_id = make_draft(ext)
    confirm = manager.get(f"{STUDIO}/{campaign_id}/send").get_data(as_text=True)
    assert 'data-figure="audience">39 contacts' in confirm and "Suppressed for safety</dt><dd>1<" in confirm
    post(manager, f"{STUDIO}/{campaign_id}/send", {}, form_path=f"{STUDIO}/{campaign_id}/send")
    detail = manager.get(f"{STUDIO}/{campaign_id}").get_data(as_text=True)
    assert "Suppressed for safety</dt><dd>1<" in detail
    assert "+254710500007" not in detail


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        ({"holdout": "150%"}, "percentage from 0 to below 100"),
        ({"county": ["99", "x"]}, "Unknown county"),
        ({"rate": "-1", "hours_from": "x", "start": "yesterday"}, "The rate is a whole number"),
        ({"message-A-en": "€" * 300}, "takes 4 SMS"),
        ({"variant": ["Z", "<script>"]}, "0 contacts"),  # unknown variants: variant A only
        ({"message-A-en": "", "message-A-sw": ""}, "Write at least one message."),
    ],
)
def test_the_estimate_answers_nonsense_with_a_plain_message(ext, manager, overrides, said):
    token = csrf_token(manager, f"{STUDIO}/new")
    response = manager.post(f"{STUDIO}/estimate", data=builder_fields(csrf_token=token, **overrides))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and said in page, page
    assert "<script>" not in page


def test_the_live_estimate_gives_the_expected_split_and_the_send_confirmation_the_exact_draw(ext, manager):
    add_contacts(ext, 200)
    campaign_id = make_draft(ext, holdout=0.2)
    token = csrf_token(manager, f"{STUDIO}/{campaign_id}/edit")
    data = builder_fields(csrf_token=token, campaign=str(campaign_id), holdout="20", name="nov")
    page = manager.post(f"{STUDIO}/estimate", data=data).get_data(as_text=True)
    assert 'data-figure="held_out">about 40 ' in page and "expected split" in page
    confirmation = manager.get(f"{STUDIO}/{campaign_id}/send").get_data(as_text=True)
    with ext.session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        size, held_out = service.start(session, campaign)
        session.rollback()
    assert f'data-figure="held_out">{held_out} ' in confirmation


# --- Drafts: edit, duplicate, delete.

def test_a_draft_is_edited_duplicated_and_deleted_and_each_is_audited(ext, manager):
    campaign_id = make_draft(ext, variants=("A", "B"))
    form = manager.get(f"{STUDIO}/{campaign_id}/edit").get_data(as_text=True)
    assert f"{EN} (B)" in form
    edited = post(manager, f"{STUDIO}/{campaign_id}/edit", builder_fields(name="nov"),
                  form_path=f"{STUDIO}/{campaign_id}/edit")
    assert edited.status_code == 302
    with ext.session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        assert {(m.variant, m.language) for m in campaign.messages} == {("A", "en"), ("A", "sw")}
        seed = campaign.seed
    copied = post(manager, f"{STUDIO}/{campaign_id}/duplicate", {})
    assert copied.status_code == 302 and copied.location.endswith("/edit")
    with ext.session_scope() as session:
        copy = session.scalar(select(Campaign).where(Campaign.name == "nov (copy)"))
        assert copy.state == "draft" and copy.seed != seed and len(copy.messages) == 2
        copy_id = copy.id
    deleted = post(manager, f"{STUDIO}/{copy_id}/delete", {})
    assert deleted.status_code == 302
    assert count(ext, Campaign) == 1
    assert [action for action, _ in campaign_actions(ext)] == [
        "campaign.updated", "campaign.duplicated", "campaign.deleted"]


def test_a_sent_campaign_cannot_be_edited_or_deleted_but_can_be_copied(ext, manager):
    add_contacts(ext, 20)
    campaign_id = make_draft(ext)
    with ext.session_scope() as session:
        service.start(session, session.get(Campaign, campaign_id))
    assert manager.get(f"{STUDIO}/{campaign_id}/edit").status_code == 302
    refused = post(manager, f"{STUDIO}/{campaign_id}/delete", {})
    assert refused.status_code == 302
    assert "only a draft can be deleted" in manager.get(refused.location).get_data(as_text=True)
    assert post(manager, f"{STUDIO}/{campaign_id}/duplicate", {}).status_code == 302
    assert count(ext, Campaign) == 2


def test_the_service_refuses_to_change_anything_but_a_draft(ext):
    add_contacts(ext, 5)
    campaign_id = make_draft(ext)
    with ext.session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        service.start(session, campaign)
        with pytest.raises(service.CampaignError, match="only a draft can be edited"):
            service.update_draft(session, campaign, service.as_request(campaign))
        with pytest.raises(service.CampaignError, match="only a draft can be deleted"):
            service.delete_draft(session, campaign)


# --- Test send, send, controls.

def test_a_test_send_queues_an_sms_to_the_managers_own_phone_and_counts_nowhere(ext, manager):
    campaign_id = make_draft(ext, variants=("A", "B"))
    page = manager.get(f"{STUDIO}/{campaign_id}").get_data(as_text=True)
    assert page.count("Test send to my phone") == 4
    response = post(manager, f"{STUDIO}/{campaign_id}/test-send", {"variant": "B", "language": "sw"},
                    form_path=f"{STUDIO}/{campaign_id}")
    assert response.status_code == 302
    with ext.session_scope() as session:
        [sms] = session.scalars(select(OutboundSms)).all()
        assert (sms.purpose, sms.message, sms.tip_id) == ("campaign_test", f"{SW} (B)", None)
        assert decrypt_contact(sms.to_token, ext.config.contact_key) == MANAGER_PHONE
        assert MANAGER_PHONE not in str(sms.to_token)
    assert count(ext, CampaignRecipient) == 0
    assert [action for action, _ in campaign_actions(ext)] == ["campaign.test_sent"]
    assert "ending 121" in manager.get(response.location).get_data(as_text=True)
    missing = post(manager, f"{STUDIO}/{campaign_id}/test-send", {"variant": "C", "language": "sw"},
                   form_path=f"{STUDIO}/{campaign_id}")
    assert missing.status_code == 404


def test_without_a_phone_the_test_send_says_how_to_add_one_and_the_account_page_adds_it(ext, app):
    client, user = app.test_client(), make_user(ext, "campaign_manager")
    sign_in_client(client, user)
    campaign_id = make_draft(ext)
    page = client.get(f"{STUDIO}/{campaign_id}").get_data(as_text=True)
    assert "Your account has no phone number" in page and "My account" in page
    response = post(client, f"{STUDIO}/{campaign_id}/test-send", {"variant": "A", "language": "en"},
                    form_path=f"{STUDIO}/{campaign_id}")
    assert response.status_code == 302 and count(ext, OutboundSms) == 0
    # The account page takes the number, after a fresh authenticator code.
    wrong = post(client, "/console/account/phone", {"phone": "0700 000 121", "code": "000000"},
                 form_path="/console/account")
    assert wrong.status_code == 400 and "That code is not right" in wrong.get_data(as_text=True)
    with time_machine.travel(utcnow(), tick=False) as clock:
        clock.shift(40)  # a new authenticator step for each code
        bad = post(client, "/console/account/phone", {"phone": "12", "code": user.code()},
                   form_path="/console/account")
        assert bad.status_code == 400 and "is not a mobile number" in bad.get_data(as_text=True)
        clock.shift(40)
        saved = post(client, "/console/account/phone", {"phone": "0700 000 121", "code": user.code()},
                     form_path="/console/account")
        assert saved.status_code == 302
        assert MANAGER_PHONE in client.get("/console/account").get_data(as_text=True)
        sent = post(client, f"{STUDIO}/{campaign_id}/test-send", {"variant": "A", "language": "en"},
                    form_path=f"{STUDIO}/{campaign_id}")
        assert sent.status_code == 302 and count(ext, OutboundSms) == 1
    with ext.session_scope() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "phone_changed")).all()
        assert [event.detail for event in events] == [{"set": True}]
        assert all(MANAGER_PHONE not in str(event.detail) for event in events)


def test_a_focal_point_changes_no_phone_on_the_account_page(signed_in):
    client = signed_in("focal_point")
    assert 'id="phone"' not in client.get("/console/account").get_data(as_text=True)
    refused = post(client, "/console/account/phone", {"phone": "0700 000 999", "code": "000000"},
                   form_path="/console/account")
    assert refused.status_code == 403


def test_send_confirms_audience_and_cost_then_starts_and_queues_the_dispatcher(ext, manager):
    add_contacts(ext, 90)
    campaign_id = make_draft(ext)
    confirm = manager.get(f"{STUDIO}/{campaign_id}/send").get_data(as_text=True)
    assert 'data-figure="audience">90 contacts' in confirm and "KES" in confirm and "held out" in confirm
    response = post(manager, f"{STUDIO}/{campaign_id}/send", {}, form_path=f"{STUDIO}/{campaign_id}/send")
    assert response.status_code == 302
    with ext.session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign.state == "sending" and campaign.audience_size == 90
    assert ext.queues["campaigns"].count == 1
    assert campaign_actions(ext)[-1][0] == "campaign.started"
    again = post(manager, f"{STUDIO}/{campaign_id}/send", {}, form_path=f"{STUDIO}/{campaign_id}")
    assert "not a draft" in manager.get(again.location).get_data(as_text=True)
    progress = manager.get(f"{STUDIO}/{campaign_id}/progress", headers={"X-Console-Background": "1"})
    text = progress.get_data(as_text=True)
    assert progress.status_code == 200 and 'hx-trigger="every 5s"' in text and "Last minutes" in text


def test_pause_resume_and_cancel_are_audited_and_refused_out_of_turn(ext, manager):
    add_contacts(ext, 30)
    campaign_id = make_draft(ext)
    with ext.session_scope() as session:
        service.start(session, session.get(Campaign, campaign_id))
    detail = f"{STUDIO}/{campaign_id}"
    assert post(manager, f"{detail}/resume", {}, form_path=detail).status_code == 302
    assert "only a paused one can resume" in manager.get(detail).get_data(as_text=True)
    for control in ("pause", "resume", "cancel"):
        assert post(manager, f"{detail}/{control}", {}, form_path=detail).status_code == 302
    with ext.session_scope() as session:
        assert session.get(Campaign, campaign_id).state == "cancelled"
    assert [action for action, _ in campaign_actions(ext)] == [
        "campaign.paused", "campaign.resumed", "campaign.cancelled"]
    assert post(manager, f"{detail}/stop", {}, form_path=detail).status_code == 404


def test_uncertain_recipients_are_resent_or_skipped_from_the_page(ext, manager):
    add_contacts(ext, 12)
    campaign_id = make_draft(ext, holdout=0)
    with ext.session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        service.start(session, campaign)
        session.flush()
        ids = sorted(session.scalars(select(CampaignRecipient.id)))
        batch = CampaignBatch(campaign_id=campaign_id, variant="A", language="en", kind="retry",
                              first_recipient_id=ids[0], last_recipient_id=ids[3], size=4, state="held")
        session.add(batch)
        session.flush()
        for recipient in session.scalars(select(CampaignRecipient).where(CampaignRecipient.id.in_(ids[:4]))):
            recipient.state, recipient.batch_id = "uncertain", batch.id
    detail = f"{STUDIO}/{campaign_id}"
    page = manager.get(detail).get_data(as_text=True)
    assert "4 recipients are uncertain" in page and "Resend" in page and "Skip" in page
    assert post(manager, f"{detail}/uncertain/skip", {}, form_path=detail).status_code == 302
    with ext.session_scope() as session:
        chosen = select(CampaignRecipient.state).where(CampaignRecipient.id.in_(ids[:4]))
        states = session.scalars(chosen).all()
    assert set(states) == {"skipped"}
    assert campaign_actions(ext)[-1][0] == "campaign.uncertain_skipped"
    nothing_left = post(manager, f"{detail}/uncertain/resend", {}, form_path=detail)
    assert "has no uncertain recipients" in manager.get(nothing_left.location).get_data(as_text=True)


# --- List and report.

def test_the_list_shows_state_audience_and_the_drafts_actions(ext, manager):
    add_contacts(ext, 40)
    make_draft(ext, "draft one")
    sent_id = make_draft(ext, "sent one")
    with ext.session_scope() as session:
        service.start(session, session.get(Campaign, sent_id))
    page = manager.get(f"{STUDIO}/").get_data(as_text=True)
    assert "draft one" in page and "sent one" in page and "Sending" in page and "After sending" in page
    assert page.count(">Edit<") == 1 and page.count(">Delete<") == 1 and page.count(">Duplicate<") == 2


def test_the_report_page_and_its_html_export(ext, manager):
    add_contacts(ext, 60)
    campaign_id = make_draft(ext)
    with ext.session_scope() as session:
        service.start(session, session.get(Campaign, campaign_id))
    page = manager.get(f"{STUDIO}/{campaign_id}/report").get_data(as_text=True)
    assert "Delivery" in page and "By county" in page and "Attribution window" in page
    assert "Any engagement:" in page
    export = manager.get(f"{STUDIO}/{campaign_id}/report.html")
    assert export.status_code == 200 and export.mimetype == "text/html"
    disposition = f'attachment; filename="campaign-{campaign_id}-report.html"'
    assert export.headers["Content-Disposition"] == disposition
    assert "<!DOCTYPE html>" in export.get_data(as_text=True)
    assert manager.get(f"{STUDIO}/999999/report").status_code == 404
