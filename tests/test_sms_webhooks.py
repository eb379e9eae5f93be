"""`/sms/opt-out`, AT's bulk opt-out callback: token, bad numbers, idempotence, no SMS sent."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.contacts import service as contacts
from hotline.core.models import Contact, OutboundSms, Suppression
from hotline.core.time import as_utc

PHONE = "+254733000888"


def opt_out_form(**overrides) -> dict:
    """AT's bulk opt-out notification: defaults plus overrides."""
    form = {"senderId": "HOTLINE", "phoneNumber": PHONE}
    form.update(overrides)
    return form


def suppressions(ext) -> list[tuple[str, str]]:
    """What is kept of numbers that opted out without joining: (suppression key, source)."""
    with ext.session_scope() as session:
        return session.execute(select(Suppression.suppression_key, Suppression.source)).all()


def contact(ext, phone=PHONE):
    with ext.session_scope() as session:
        found = contacts.find(session, phone)
        if found is not None:
            session.expunge(found)
        return found


def test_an_opt_out_stops_a_subscribed_contact_once_and_sends_nothing(ext, client):
    with ext.session_scope() as session:
        contacts.subscribe(
            session, PHONE, source="Demo forum", language="sw", phone_hash_key=ext.config.phone_hash_key
        )
    first = client.post("/sms/opt-out", data=opt_out_form())
    assert (first.status_code, first.get_data(as_text=True)) == (200, "ok\n")
    left = contact(ext)
    assert left.opt_out_source == "at_opt_out" and not contacts.is_subscribed(left)
    again = client.post("/sms/opt-out", data=opt_out_form(phoneNumber="254733000888"))
    assert again.status_code == 200
    assert as_utc(contact(ext).opted_out_at) == as_utc(left.opted_out_at)
    with ext.session_scope() as session:
        assert session.scalar(select(func.count(OutboundSms.id))) == 0


def test_an_opt_out_of_an_unknown_number_is_kept_as_a_keyed_hash_only(ext, client):
    assert client.post("/sms/opt-out", data=opt_out_form(senderId="")).status_code == 200
    assert contact(ext) is None
    [(key, source)] = suppressions(ext)
    assert source == "at_opt_out" and "733000888" not in key
    assert client.post("/sms/opt-out", data=opt_out_form()).status_code == 200
    assert len(suppressions(ext)) == 1
    with ext.session_scope() as session:
        assert session.scalar(select(func.count(Contact.id))) == 0


def test_a_missing_or_bad_number_is_a_400_with_a_reason(ext, client):
    missing = client.post("/sms/opt-out", data={"senderId": "HOTLINE"})
    assert (missing.status_code, missing.get_data(as_text=True)) == (
        400,
        "bad request: missing field phoneNumber\n",
    )
    bad = client.post("/sms/opt-out", data=opt_out_form(phoneNumber="not-a-number"))
    assert bad.status_code == 400 and "phoneNumber is not a phone number" in bad.get_data(as_text=True)
    assert bad.mimetype == "text/plain"
    assert contact(ext) is None


def test_the_webhook_token_is_required(make_app):
    app = make_app(webhook_token="s3cret")
    client = app.test_client()
    assert client.post("/sms/opt-out", data=opt_out_form()).status_code == 403
    assert client.post("/sms/opt-out?token=wrong", data=opt_out_form()).status_code == 403
    assert suppressions(app.extensions["hotline"]) == []
    assert client.post("/sms/opt-out?token=s3cret", data=opt_out_form()).status_code == 200
    assert [source for _, source in suppressions(app.extensions["hotline"])] == ["at_opt_out"]
