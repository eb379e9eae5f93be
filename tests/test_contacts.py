"""The contacts service: joining, leaving, bulk opt-out and unreachable numbers, and the counts.
Real database; every function runs inside the session scope a webhook or job would use."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hotline.contacts import service as contacts
from hotline.core import randomness
from hotline.core.models import Contact, Suppression
from hotline.core.privacy import engagement_key, reporter_key
from hotline.core.time import as_utc

A, B, C = "+254711000101", "+254711000102", "+254711000103"
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def row(ext, phone) -> Contact | None:
    with ext.session_scope() as session:
        contact = contacts.find(session, phone)
        if contact is not None:
            session.expunge(contact)
        return contact


def join(ext, phone, at=T0, **overrides):
    values = dict(source="sms", language="en", phone_hash_key=ext.config.phone_hash_key, at=at)
    values.update(overrides)
    with ext.session_scope() as session:
        return contacts.subscribe(session, phone, **values).id


def leave(ext, phone, source="sms", at=T0):
    with ext.session_scope() as session:
        return contacts.opt_out(
            session, phone, source=source, phone_hash_key=ext.config.phone_hash_key, at=at
        )


def test_a_new_contact_gets_consent_an_engagement_key_not_the_reporter_key_and_a_salt(ext):
    join(ext, A, language="sw", county_code=37)
    contact = row(ext, A)
    assert (contact.language, contact.county_code, contact.consent_source) == ("sw", 37, "sms")
    assert as_utc(contact.consented_at) == T0 and contact.opted_out_at is None
    assert contact.engagement_key == engagement_key(A, ext.config.phone_hash_key)
    assert contact.engagement_key != reporter_key(A, ext.config.phone_hash_key)
    assert 0 <= contact.salt < contacts.SALT_MODULUS
    assert contacts.is_subscribed(contact)


def test_salts_are_draws_below_the_prime_from_the_services_random_source():
    randomness.seed(11)
    expected = random.Random(11)
    assert [contacts.new_salt() for _ in range(200)] == [expected.randrange(2**31 - 1) for _ in range(200)]


def test_joining_again_keeps_the_first_consent(ext):
    first = join(ext, A, source="ussd")
    again = join(ext, A, source="sms", at=T0 + timedelta(days=3), language="sw")
    contact = row(ext, A)
    assert first == again
    assert (contact.consent_source, as_utc(contact.consented_at), contact.language) == ("ussd", T0, "sw")


def test_leaving_and_joining_again_records_the_new_consent(ext):
    join(ext, A, source="Demo forum", county_code=1)
    assert leave(ext, A, at=T0 + timedelta(days=1)) is True
    assert leave(ext, A, at=T0 + timedelta(days=2)) is False  # already out: nothing changes
    left = row(ext, A)
    assert (left.opt_out_source, as_utc(left.opted_out_at)) == ("sms", T0 + timedelta(days=1))
    assert not contacts.is_subscribed(left)
    later = T0 + timedelta(days=5)
    join(ext, A, source="ussd", at=later)
    back = row(ext, A)
    assert (back.opted_out_at, back.opt_out_source) == (None, None)
    assert (back.consent_source, as_utc(back.consented_at), back.county_code) == ("ussd", later, 1)


def test_an_unknown_number_that_opts_out_is_kept_as_a_keyed_hash_only(ext):
    assert leave(ext, B, source="at_opt_out") is True
    assert row(ext, B) is None  # not a contact: its number is not stored
    with ext.session_scope() as session:
        [kept] = session.scalars(select(Suppression)).all()
        assert (kept.source, kept.day) == ("at_opt_out", T0.date())
        assert "711000102" not in kept.suppression_key
        assert contacts.stats(session)["suppressed"] == [("at_opt_out", 1)]
    assert leave(ext, B) is False
    join(ext, B)  # only the person can undo it
    assert contacts.is_subscribed(row(ext, B))
    with ext.session_scope() as session:
        assert session.scalars(select(Suppression)).all() == []


def test_bulk_opt_out_and_unreachable_count_only_what_changed(ext):
    ids = [join(ext, phone) for phone in (A, B, C)]
    with ext.session_scope() as session:
        assert contacts.opt_out_ids(session, ids[:2], source="blacklist") == 2
        assert contacts.opt_out_ids(session, [*ids[:2], ids[0]], source="blacklist") == 0
        assert contacts.mark_unreachable(session, [ids[2]], "InvalidPhoneNumber") == 1
        assert contacts.mark_unreachable(session, [ids[2]], "UnsupportedNumberType") == 0
        assert contacts.opt_out_ids(session, [], source="blacklist") == 0
    assert (
        row(ext, A).opt_out_source == "blacklist" and row(ext, C).unreachable_reason == "InvalidPhoneNumber"
    )
    assert not contacts.is_subscribed(row(ext, C))


def test_joining_by_sms_again_clears_unreachable(ext):
    contact_id = join(ext, A, source="Demo forum")
    with ext.session_scope() as session:
        contacts.mark_unreachable(session, [contact_id], "UnsupportedNumberType")
    join(ext, A, source="sms")
    assert contacts.is_subscribed(row(ext, A))


def test_stats_by_state_county_language_and_source(ext):
    join(ext, A, county_code=37, source="Demo forum")
    join(ext, B, county_code=37, language="sw", source="sms")
    c_id = join(ext, C, source="Demo forum")
    leave(ext, B)
    with ext.session_scope() as session:
        contacts.mark_unreachable(session, [c_id], "InvalidPhoneNumber")
        tables = contacts.stats(session)
    assert tables["total"] == [("all", 1, 1, 1)]
    assert sorted(tables["county"], key=str) == sorted([(37, 1, 1, 0), (None, 0, 0, 1)], key=str)
    assert sorted(tables["language"]) == [("en", 1, 0, 1), ("sw", 0, 1, 0)]
    assert sorted(tables["consent source"]) == [("Demo forum", 1, 0, 1), ("sms", 0, 1, 0)]
    assert tables["opt-out source"] == [("sms", 0, 1, 0)]
    with ext.session_scope() as session:
        assert len(list(session.scalars(select(Contact)))) == 3
