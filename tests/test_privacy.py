"""Phone numbers become reporter keys; call-back numbers are encrypted."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic import command
from cryptography.exceptions import InvalidTag
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

from hotline.core.config import DEV_CONTACT_KEY, normalise_database_url
from hotline.core.db import alembic_config, upgrade
from hotline.core.errors import InvalidPhoneNumber
from hotline.core.privacy import (
    decrypt_contact,
    delivery_key,
    encrypt_contact,
    engagement_key,
    mask_phone,
    normalise_phone,
    open_engagement,
    reporter_key,
    seal_engagement,
    suppression_key,
)
from tests.conftest import Phone
from workers.delivery import apply_delivery_reports


@pytest.mark.parametrize(
    "raw", ["+254712345678", "254712345678", "0712345678", "+254 712 345 678", " 0712-345-678 "]
)
def test_kenyan_numbers_in_every_usual_form_normalise_to_e164(raw):
    assert normalise_phone(raw) == "+254712345678"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "not a phone number"),
        ("", "not a phone number"),
        ("abc", "not a phone number"),
        ("+1", "not a phone number"),
        ("12", "not a possible phone number"),
        ("0712", "not a possible phone number"),
        ("254712345", "not a possible phone number"),  # 254 is the country code, not part of the number
        ("254abc", "not a possible phone number"),
    ],
)
def test_junk_is_not_a_number_and_the_error_says_why(raw, reason):
    with pytest.raises(InvalidPhoneNumber) as raised:
        normalise_phone(raw)
    assert str(raised.value) == reason  # `flask ussd dial --phone` shows it


def test_reporter_key_is_stable_per_key_and_reveals_nothing():
    key = reporter_key("+254712345678", "k1")
    assert key == reporter_key("+254712345678", "k1") != reporter_key("+254712345678", "k2")
    assert len(key) == 64 and "712345678" not in key


# What each pseudonym of +254712345678 is under PHONE_HASH_KEY "phone-hash-key": stored values that
# later releases must find again (a changed label, HKDF length or info would lose every suppression,
# contact and delivery report match).
PSEUDONYMS = {
    reporter_key: "6336f36213f54a29e9a3959aab6288742c8e48ec9cb50a4ea5dcfcec9e94e10b",
    engagement_key: "c7c49c3295ba1a43fe986906c3b53a2ab9e2cdc8d2eb4b78d9e53a455f99713e",
    delivery_key: "2cd916cd6f0558e4035f3a1cec45092c70501a041a7fd75e9bf327ad924d94f0",
    suppression_key: "3e67e1589c92dbc85a9517e0097a060a50c10e3d2829b53ce565ec80f82e18a3",
}


@pytest.mark.parametrize("pseudonym", PSEUDONYMS, ids=lambda f: f.__name__)
def test_each_pseudonym_of_a_number_is_the_same_in_every_release(pseudonym):
    assert pseudonym("+254712345678", "phone-hash-key") == PSEUDONYMS[pseudonym]


def test_an_engagement_key_sealed_by_an_earlier_release_still_opens():
    sealed = (
        "u8rUEhWhJhZU7o1NjlZ0YlaSHPSq06Ze0K6vvfJmrdQymy5+p06zwphFn8AQn9PAEeGT4eeKDeyU79HJx6xchvfYRhsug4qANvfk"
        "+qVFAt6qaFmWauHl7A6DoGI="
    )
    assert open_engagement(sealed, "phone-hash-key") == PSEUDONYMS[engagement_key]


def test_call_back_numbers_are_encrypted():
    token = encrypt_contact("+254712345678", DEV_CONTACT_KEY)
    assert "712345678" not in token
    assert decrypt_contact(token, DEV_CONTACT_KEY) == "+254712345678"


def test_an_engagement_key_sealed_twice_gives_unrelated_values_that_open_only_with_the_key():
    key = engagement_key("+254712345678", "k1")
    first, second = seal_engagement(key, "k1"), seal_engagement(key, "k1")
    assert first != second and key not in first and key not in second
    assert open_engagement(first, "k1") == open_engagement(second, "k1") == key
    with pytest.raises(InvalidTag):
        open_engagement(first, "k2")


def test_masked_numbers_for_logs():
    assert mask_phone("+254712345678") == "+254*******78"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("+254712", "+254*12"), ("+25471", "***"), ("12", "***"), ("", "***")],
)
def test_a_number_of_six_characters_or_fewer_is_masked_whole_and_one_of_seven_hides_one(phone, masked):
    # Four leading and two trailing characters would be all of a six-character one.
    assert mask_phone(phone) == masked


# -- the database as a reader without the application's keys sees it ------------------------

REPORTER = "+254722000123"  # reports, dials, checks an agency, texts, joins awareness SMS
STRANGER = "+254722000456"  # never joined: only says STOP
# Tables that speak of tips, dials, agency checks and inbound SMS, and tables that speak of numbers.
TIP_SIDE = (
    "tip",
    "reporter",
    "ussd_session_end",
    "agency_lookup",
    "inbound_sms",
    "tip_update",
    "outbound_sms",
)
NUMBER_SIDE = ("contact", "suppression", "unmatched_delivery_report", "engagement")
LINKING_LENGTH = 16  # shorter strings (languages, statuses, keywords, county names) link nobody


def _text_in(client, phone: str, text: str) -> None:
    form = {"id": f"ATXid_{uuid.uuid4().hex}", "from": phone, "to": "21606", "text": text}
    assert client.post("/sms/inbound", data=form).status_code == 200


def _session_ended(client, phone: Phone) -> None:
    form = {
        "sessionId": phone.session_id,
        "phoneNumber": phone.number,
        "status": "Success",
        "networkCode": "63902",
    }
    assert client.post("/ussd/events", data=form).status_code == 200


def _delivery_report(client, message_id: str, phone: str) -> None:
    form = {"id": message_id, "status": "Success", "phoneNumber": phone, "networkCode": "63902"}
    assert client.post("/sms/delivery", data=form).status_code == 200


def _every_value(engine) -> dict[str, list[tuple[str, object]]]:
    """Every (column, value) of every table, read through reflection: what a database reader sees."""
    metadata = MetaData()
    metadata.reflect(engine)
    found: dict[str, list[tuple[str, object]]] = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            found[table.name] = [
                (column, value)
                for row in connection.execute(select(table)).mappings()
                for column, value in row.items()
                if value is not None
            ]
    return found


def _rows(engine, name: str) -> list[dict]:
    """Every row of one table, read through reflection."""
    metadata = MetaData()
    metadata.reflect(engine, only=[name])
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(metadata.tables[name])).mappings()]


def _reporter_does_everything(app, client) -> None:
    """REPORTER dials, reports, checks an agency, texts and joins awareness SMS; STRANGER says STOP."""
    reporter = Phone(client, number=REPORTER)
    reporter.dial()
    end = reporter.send("1", "1", "kak", "Near the market", "99", "1", "2", "1", "1")  # with a call back
    assert end.startswith("END ")
    _session_ended(client, reporter)
    reporter.dial()
    reporter.send("2", "Kwanza Global Placements")  # an agency check
    _session_ended(client, reporter)
    reporter.dial()
    reporter.send("6", "2")  # language: remembered for the reporter key
    _text_in(client, REPORTER, "TIP a man at the stage keeps our passports")
    _text_in(client, REPORTER, "AGENCY Kwanza Global")
    _text_in(client, REPORTER, "START")  # the same person joins awareness SMS
    _text_in(client, STRANGER, "STOP")  # a number that never joined leaves
    _delivery_report(client, "ATXid_unknown_1", REPORTER)
    _delivery_report(client, "ATXid_unknown_2", STRANGER)
    with app.app_context():
        apply_delivery_reports()


def test_no_database_value_links_a_tip_dial_check_or_sms_to_a_number(app, ext, client):
    _reporter_does_everything(app, client)
    tables = _every_value(ext.engine)
    assert tables["tip"] and tables["contact"] and tables["unmatched_delivery_report"]

    def linking(names) -> dict[str, set[str]]:
        values: dict[str, set[str]] = {}
        for name in names:
            for column, value in tables.get(name, ()):
                if isinstance(value, str) and len(value) >= LINKING_LENGTH:
                    values.setdefault(value, set()).add(f"{name}.{column}")
        return values

    tip_side, number_side = linking(TIP_SIDE), linking(NUMBER_SIDE)
    shared = {value: (tip_side[value], number_side[value]) for value in tip_side.keys() & number_side.keys()}
    assert shared == {}

    # The reporter's number is stored once, as the contact's (SMS need it); the stranger's nowhere.
    for number, allowed in ((REPORTER, {"contact.phone"}), (STRANGER, set())):
        digits = number[4:]  # 722000123: every written form of the number contains it
        where = {
            f"{name}.{column}"
            for name, rows in tables.items()
            for column, value in rows
            if digits in str(value)
        }
        assert where == allowed, number


def test_engagement_rows_hold_no_value_a_contact_row_holds(app, ext, client):
    # An engagement row is written in the transaction of the tip, dial, check or SMS it counts (on
    # PostgreSQL they share `xmin` and sit side by side): any value it shared with a contact would
    # carry that tie on to the contact's number.
    _reporter_does_everything(app, client)
    tables = _every_value(ext.engine)
    contact_values = {str(value) for _, value in tables["contact"] if len(str(value)) >= LINKING_LENGTH}
    assert contact_values and len(tables["engagement"]) >= 6
    found = {
        f"engagement.{column}"
        for column, value in tables["engagement"]
        for contact_value in contact_values
        if contact_value in str(value)
    }
    assert found == set()


def test_a_database_reader_cannot_tell_which_engagement_rows_are_one_persons(app, ext, client):
    _reporter_does_everything(app, client)
    rows = _rows(ext.engine, "engagement")
    # What a reader sees: the day and the signal repeat, nothing else does.
    for column in rows[0].keys() - {"day", "signal"}:
        values = [row[column] for row in rows]
        assert len(set(values)) == len(values), f"engagement.{column} repeats: it groups rows"
    # With the key, most of them are the reporter's: dials, tips, the check and the SMS.
    key = ext.config.phone_hash_key
    mine = [row for row in rows if open_engagement(row["sealed_key"], key) == engagement_key(REPORTER, key)]
    assert {row["signal"] for row in mine} == {"dialled", "tip", "agency_check", "sms"}


@pytest.fixture
def empty_database_url(tmp_path):
    """A database to migrate from scratch: a SQLite file, or with TEST_DATABASE_URL (PostgreSQL) a
    scratch schema of that database, dropped afterwards."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url or url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/old.db"
        return
    url = normalise_database_url(url)
    schema = f"migration_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        scratch = make_url(url).update_query_dict({"options": f"-c search_path={schema} -c timezone=UTC"})
        yield scratch.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_the_privacy_migration_rekeys_contacts_carries_their_engagement_sealed_and_suppresses_never_joined(
    empty_database_url,
):
    url = empty_database_url
    key = "migration-test-key"
    contact_phone, never_joined, reporter = "+254722000123", "+254722000456", "+254722000789"
    old = {number: reporter_key(number, key) for number in (contact_phone, never_joined, reporter)}
    upgrade(url, "0004")
    engine = create_engine(url)
    with engine.begin() as connection:
        rows = [
            (contact_phone, old[contact_phone], "partner", None, None),
            (never_joined, old[never_joined], "never_joined", "2026-06-02 10:00:00", "sms"),
        ]
        for phone, rkey, source, opted_out_at, opt_out_source in rows:
            connection.execute(
                text(
                    "INSERT INTO contact (phone, reporter_key, language, consent_source, consented_at,"
                    " opted_out_at, opt_out_source, salt, created_at, updated_at) VALUES (:phone, :rkey,"
                    " 'en', :source, '2026-06-01 00:00:00', :opted_out_at, :opt_out_source, 1,"
                    " '2026-06-01 00:00:00', '2026-06-01 00:00:00')"
                ),
                dict(
                    phone=phone,
                    rkey=rkey,
                    source=source,
                    opted_out_at=opted_out_at,
                    opt_out_source=opt_out_source,
                ),
            )
        for number in (contact_phone, reporter):  # 22:30 UTC is the next day in Nairobi
            connection.execute(
                text(
                    "INSERT INTO ussd_session_end (session_id, reporter_key, status, received_at)"
                    " VALUES (:id, :rkey, 'Success', '2026-06-01 22:30:00')"
                ),
                dict(id=f"s-{number}", rkey=old[number]),
            )
        connection.execute(
            text(
                "INSERT INTO unmatched_delivery_report (message_id, status, phone_key, received_at)"
                " VALUES ('m1', 'Success', :contact, '2026-06-01 00:00:00'),"
                " ('m2', 'Success', :reporter, '2026-06-01 00:00:00')"
            ),
            dict(contact=old[contact_phone], reporter=old[reporter]),
        )
    with pytest.raises(RuntimeError, match="PHONE_HASH_KEY"):  # contacts to rekey, and no key to do it
        upgrade(url)
    upgrade(url, phone_hash_key=key)

    with engine.connect() as connection:
        contacts_left = connection.execute(text("SELECT phone, engagement_key FROM contact")).all()
        engaged = connection.execute(text("SELECT sealed_key, day, signal FROM engagement")).all()
        suppressed = connection.execute(text("SELECT suppression_key, source, day FROM suppression")).all()
        kept = dict(
            connection.execute(text("SELECT message_id, phone_key FROM unmatched_delivery_report")).all()
        )
    engine.dispose()
    assert contacts_left == [(contact_phone, engagement_key(contact_phone, key))]
    assert [(open_engagement(sealed, key), str(day), signal) for sealed, day, signal in engaged] == [
        (engagement_key(contact_phone, key), "2026-06-02", "dialled")  # only contacts' history is kept
    ]
    assert [(k, source, str(day)) for k, source, day in suppressed] == [
        (suppression_key(never_joined, key), "sms", "2026-06-02")
    ]
    assert kept == {"m1": delivery_key(contact_phone, key), "m2": None}

    command.downgrade(alembic_config(url, key), "0008_ussd_state_backup")  # and back, for a rollback
    with engine.connect() as connection:
        assert connection.execute(text("SELECT phone, reporter_key FROM contact")).all() == [
            (contact_phone, old[contact_phone])
        ]
    engine.dispose()
    upgrade(url, phone_hash_key=key)
