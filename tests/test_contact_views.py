"""The contacts pages (hotline.studio.contact_views) through Flask's test client: who may do what,
finding a number however it is typed, opting out by hand (recorded with who did it), uploading a
contacts CSV with the CLI's line-numbered checks, every lookup and change audited without the number,
and bad input answered with the form's error, never a 500."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from hotline.contacts import service as contacts
from hotline.core.models import AuditEvent, Contact
from tests.console import csrf_token, make_user, sign_in_client

INDEX = "/console/contacts/"
FIND = "/console/contacts/find"
UPLOAD = "/console/contacts/upload"
NUMBER = "+254712345678"
HEADER = "phone,county_code,language,consent_source,consented_at"
GOOD = ["0711000101,37,en,Kakamega fair,2026-10-01", "+254 711 000 102,1,sw,Radio call-in,2026-10-02 14:30"]


@pytest.fixture
def signed_in(ext, app):
    """A test client signed in with the given role (a new account each time), and the account."""

    def sign_in(role: str, **details):
        client = app.test_client()
        user = make_user(ext, role, **details)
        sign_in_client(client, user)
        return client, user

    return sign_in


@pytest.fixture
def contact(ext) -> int:
    """A subscribed contact at NUMBER (Kakamega, Kiswahili, consent at a county fair)."""
    with ext.session_scope() as session:
        found = contacts.subscribe(session, NUMBER, source="Kakamega fair", language="sw",
                                   phone_hash_key=ext.config.phone_hash_key, county_code=37,
                                   at=datetime(2026, 10, 1, 9, 0, tzinfo=UTC))
        return found.id


def find(client, typed: str):
    return client.post(FIND, data={"csrf_token": csrf_token(client, INDEX), "phone": typed})


def opt_out(client, contact_id: int):
    return client.post(f"/console/contacts/{contact_id}/opt-out",
                       data={"csrf_token": csrf_token(client, INDEX)})


def upload(client, text: str | bytes, skip: bool = False, name: str = "contacts.csv"):
    data = text.encode() if isinstance(text, str) else text
    form = {"csrf_token": csrf_token(client, UPLOAD), "file": (io.BytesIO(data), name)}
    if skip:
        form["skip_invalid"] = "y"
    return client.post(UPLOAD, data=form, content_type="multipart/form-data")


def csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows, ""])


def audit_entries(ext, action: str) -> list[tuple]:
    with ext.session_scope() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return [(e.actor, e.target, e.detail) for e in session.scalars(query)]


def contact_count(ext) -> int:
    with ext.session_scope() as session:
        return session.scalar(select(func.count()).select_from(Contact))


def test_a_focal_point_may_open_none_of_the_contacts_pages(signed_in, contact):
    client, _ = signed_in("focal_point")
    assert client.get(INDEX).status_code == 403
    assert client.get(UPLOAD).status_code == 403
    assert find(client, NUMBER).status_code == 403
    assert opt_out(client, contact).status_code == 403
    assert "Contacts" not in client.get("/console/account").text.split("<main>")[0]  # not in the bar


def test_the_secretariat_reads_the_counts_but_may_not_find_opt_out_or_upload(ext, signed_in, contact):
    client, _ = signed_in("secretariat")
    page = client.get(INDEX)
    assert page.status_code == 200 and "Kakamega" in page.text and "Kiswahili" in page.text
    assert 'action="/console/contacts/find"' not in page.text and "Upload a contacts file" not in page.text
    assert find(client, NUMBER).status_code == 403
    assert client.get(UPLOAD).status_code == 403
    assert opt_out(client, contact).status_code == 403
    with ext.session_scope() as session:
        assert session.get(Contact, contact).opted_out_at is None
    assert audit_entries(ext, "contact_looked_up") == []


def test_the_counts_show_counties_by_name_languages_and_sources(ext, signed_in, contact):
    with ext.session_scope() as session:
        key = ext.config.phone_hash_key
        contacts.subscribe(session, "+254712000002", source="Radio call-in", language="en",
                           phone_hash_key=key)
        contacts.opt_out(session, "+254712000002", source="sms", phone_hash_key=key)
        contacts.opt_out(session, "+254712000003", source="ussd", phone_hash_key=key)  # never joined
    client, _ = signed_in("campaign_manager")
    page = client.get(INDEX).text
    for words in ("Kakamega", "County not known", "Kiswahili", "English", "Kakamega fair", "Radio call-in",
                  "by SMS (STOP)", "Opted out without joining", 'name="phone"'):
        assert words in page, words
    assert NUMBER not in page  # counts only: no number is listed


@pytest.mark.parametrize("typed", ["0712 345 678", "+254712345678", "254712345678", "+254 (712) 345-678"])
def test_a_manager_finds_a_number_however_it_is_typed_and_the_lookup_is_audited(
    ext, signed_in, contact, typed, caplog
):
    client, user = signed_in("campaign_manager")
    caplog.set_level(logging.DEBUG)
    page = find(client, typed)
    assert page.status_code == 200
    for words in (NUMBER, "Kakamega fair, on 2026-10-01 12:00 EAT", "Kiswahili", "Kakamega",
                  "Subscribed: gets campaign SMS", "Opt out"):
        assert words in page.text, words
    assert "safety" not in page.text.lower()
    assert audit_entries(ext, "contact_looked_up") == [(user.email, f"contact {contact}", {"found": True})]
    assert "712345678" not in caplog.text


@pytest.mark.parametrize("typed", ["", "hello", "12", "+254 7" + "1" * 30])
def test_a_number_that_is_no_number_gets_the_forms_error_and_400(ext, signed_in, contact, typed):
    client, _ = signed_in("campaign_manager")
    page = find(client, typed)
    assert page.status_code == 400
    assert "Type a phone number, as 0712 345 678" in page.text and 'class="field invalid"' in page.text
    assert audit_entries(ext, "contact_looked_up") == []


def test_a_number_that_is_no_contact_says_so_and_one_that_opted_out_before_joining_too(ext, signed_in):
    with ext.session_scope() as session:
        contacts.opt_out(session, "+254712000009", source="sms", phone_hash_key=ext.config.phone_hash_key)
    client, user = signed_in("campaign_manager")
    assert "This number is not a contact: no campaign SMS goes to it" in find(client, "0712000008").text
    assert "opted out before ever joining" in find(client, "0712000009").text
    assert audit_entries(ext, "contact_looked_up") == [(user.email, None, {"found": False})] * 2


def test_a_manager_opts_a_contact_out_by_hand_recorded_with_who_did_it(ext, signed_in, contact, caplog):
    client, user = signed_in("campaign_manager", email="wanjiru@iom.example.org")
    caplog.set_level(logging.DEBUG)
    page = opt_out(client, contact)
    assert page.status_code == 200
    assert "Opted out: they get no more campaign SMS." in page.text
    assert "by hand in the console by wanjiru@iom.example.org" in page.text
    assert 'data-confirm="Opt' not in page.text  # no second opt-out button
    with ext.session_scope() as session:
        row = session.get(Contact, contact)
        assert (row.opt_out_source, row.opted_out_by_id) == ("console", user.user_id)
        assert row.opted_out_at is not None and not contacts.is_subscribed(row)
    assert "They had opted out already." in opt_out(client, contact).text
    entries = audit_entries(ext, "contact_opted_out")
    assert entries == [(user.email, f"contact {contact}", {"changed": True}),
                       (user.email, f"contact {contact}", {"changed": False})]
    # Finding the number again shows when, how and by whom.
    assert "by hand in the console by wanjiru@iom.example.org" in find(client, NUMBER).text
    assert "712345678" not in caplog.text


def test_opting_out_needs_the_forms_token_and_a_contact_that_exists(ext, signed_in, contact):
    client, _ = signed_in("campaign_manager")
    assert client.post(f"/console/contacts/{contact}/opt-out").status_code == 400
    assert opt_out(client, contact + 1000).status_code == 404
    with ext.session_scope() as session:
        assert session.get(Contact, contact).opted_out_at is None


def test_an_upload_imports_a_good_file_and_the_same_file_again_changes_nothing(ext, signed_in):
    client, user = signed_in("campaign_manager")
    assert 'enctype="multipart/form-data"' in client.get(UPLOAD).text
    page = upload(client, csv(*GOOD))
    assert page.status_code == 200 and "Imported" in page.text
    assert "<dt>Added</dt><dd>2</dd>" in page.text
    again = upload(client, csv(*GOOD))
    assert "<dt>Added</dt><dd>0</dd>" in again.text and "<dt>Unchanged</dt><dd>2</dd>" in again.text
    assert contact_count(ext) == 2
    [first, second] = audit_entries(ext, "contacts_uploaded")
    assert first == (user.email, None, {"good_rows": 2, "bad_rows": 0, "imported": True, "added": 2,
                                        "updated": 0, "unchanged": 0, "kept_opted_out": 0})
    assert second[2]["unchanged"] == 2
    assert "0711000101" not in str(first) and "+254711000101" not in str(first)


def test_a_file_with_a_bad_row_imports_nothing_unless_bad_rows_are_skipped(ext, signed_in):
    client, _ = signed_in("campaign_manager")
    bad = csv(GOOD[0], "0711000103,99,en,Fair,2026-10-01", GOOD[1], "not a phone,1,fr,Fair,2026-10-01")
    page = upload(client, bad)
    assert page.status_code == 400
    assert "2 bad rows: nothing was imported" in page.text and "tick “skip bad rows”" in page.text
    assert "line 3: county_code &#39;99&#39; is not a Kenyan county" in page.text
    assert "line 5: phone &#39;not a phone&#39; is not a phone number" in page.text
    assert contact_count(ext) == 0
    page = upload(client, bad, skip=True)
    assert page.status_code == 200 and "<dt>Added</dt><dd>2</dd>" in page.text
    assert "2 bad rows, listed below" in page.text and "line 3:" in page.text
    assert contact_count(ext) == 2


@pytest.mark.parametrize("content, words", [
    (b"phone,county_code\n0711000101,37\n", "line 1: missing column language, consent_source, consented_at"),
    (csv("0711000101,37,en,Mkutano wa k\u00e9nya,2026-10-01").encode("latin-1"),
     "line 2: byte 0xe9 is not UTF-8"),
    (b"", "line 1: no header row"),
])
def test_a_file_that_is_no_contacts_csv_gets_a_clear_message(ext, signed_in, content, words):
    client, _ = signed_in("campaign_manager")
    page = upload(client, content)
    assert page.status_code == 400 and words in page.text and "Nothing was imported" in page.text
    assert contact_count(ext) == 0
    [(_, _, detail)] = audit_entries(ext, "contacts_uploaded")
    assert detail == {"imported": False, "file_rejected": True}


def test_no_file_or_a_file_too_big_gets_a_clear_message(ext, signed_in):
    client, _ = signed_in("campaign_manager")
    token = csrf_token(client, UPLOAD)
    page = client.post(UPLOAD, data={"csrf_token": token}, content_type="multipart/form-data")
    assert page.status_code == 400 and "Choose a CSV file to upload." in page.text
    big = csv(*[f"07110{n:05d},37,en,Fair,2026-10-01" for n in range(260_000)])
    assert len(big) > 8 * 2**20
    # Encoded by hand: Werkzeug's own encoding spools a big body to a temporary file it leaves open.
    body = (f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n--b\r\n'
            'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n' + big + "\r\n--b--\r\n")
    page = client.post(UPLOAD, data=body.encode(), content_type="multipart/form-data; boundary=b")
    assert page.status_code == 413 and "The file is larger than 8 MB: nothing was imported" in page.text
    assert contact_count(ext) == 0
    # A form under the limit but over the webhooks' 64 KB goes through.
    page = upload(client, csv(*[f"07110{n:05d},37,en,Fair,2026-10-01" for n in range(3000)]))
    assert page.status_code == 200 and "<dt>Added</dt><dd>3,000</dd>" in page.text


HELD = "/console/contacts/held"
FORGET = "/console/contacts/forget"


def test_the_secretariat_sees_what_is_held_and_forgets_a_number_after_confirming(ext, signed_in, contact):
    client, user = signed_in("secretariat")
    page = client.post(HELD, data={"csrf_token": csrf_token(client, INDEX), "phone": "0712 345 678"})
    assert page.status_code == 200 and "Kakamega fair" in page.text and "Forget" in page.text
    token = csrf_token(client, INDEX)
    asked = client.post(FORGET, data={"csrf_token": token, "phone": NUMBER})
    assert asked.status_code == 200 and "Forget this number?" in asked.text
    with ext.session_scope() as session:
        assert session.get(Contact, contact).phone == NUMBER  # nothing happens before the confirmation
    done = client.post(FORGET, data={"csrf_token": token, "phone": NUMBER, "confirmed": "yes"},
                       environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert done.status_code == 200 and f"contact {contact} has no number any more" in done.text
    with ext.session_scope() as session:
        forgotten = session.get(Contact, contact)
        assert (forgotten.phone, forgotten.opt_out_source) == (None, "erased")
        entry = session.scalar(select(AuditEvent).where(AuditEvent.action == "contact_forgotten"))
        assert (entry.user_id, entry.actor, entry.target, entry.ip) == (
            user.user_id, user.email, f"contact {contact}", "10.1.2.3")
    assert audit_entries(ext, "contact_shown") == [(user.email, f"contact {contact}", {"found": True})]
    # The counts page now says how that contact left.
    assert "erased: the number was forgotten or past its retention" in client.get(INDEX).text


@pytest.mark.parametrize("role", ["campaign_manager", "focal_point", "auditor"])
def test_only_the_secretariat_may_see_what_is_held_or_forget(ext, signed_in, contact, role):
    client, _ = signed_in(role, **({"county_code": 37} if role == "focal_point" else {}))
    token = csrf_token(client, "/console/account")
    assert client.post(HELD, data={"csrf_token": token, "phone": NUMBER}).status_code == 403
    confirmed = {"csrf_token": token, "phone": NUMBER, "confirmed": "yes"}
    assert client.post(FORGET, data=confirmed).status_code == 403
    with ext.session_scope() as session:
        assert session.get(Contact, contact).phone == NUMBER
    assert audit_entries(ext, "contact_forgotten") == []
