"""The export scan: tips full of numbers, keys and e-mail addresses, exported as every table in both
formats, with and without free text, through `flask tips export`; nothing that leads to a person
may come out. Also the redaction of free text, format by format. Real database."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from hotline.core.models import AgencyLookup, FocalPoint, Referral, ReferralOrganisation
from hotline.core.privacy import encrypt_contact, reporter_key
from hotline.evidence.redaction import redact
from hotline.tips.reference import display
from tests.builders import add_agency, add_tip

PHONES = [
    "0712 345 678",
    "+254712345678",
    "254-712-345678",
    "0712345678",
    "+44 20 7946 0958",
    "0733-123-456",
    "(020) 222 2222",
    "+254 7 1234 5678",
    "07 12 34 56 78",
    "0712.345.678",
]
EMAILS = ["wanjiru@example.com", "j.o+tips@mail.co.ke", "0712345678@gmail.com"]
LONG_NUMBER = re.compile(r"\d(?:[\s\-.()]{0,2}\d){8,}")  # nine or more digits, spaced or dashed
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
TABLES = [("cases", False), ("cases", True), ("county-month", False), ("annual", False)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 0712 345 678 now", "call [phone] now"),
        ("+254712345678", "[phone]"),
        ("254-712-345678 or +44 20 7946 0958", "[phone] or [phone]"),
        ("0712345678, at 07 12 34 56 78", "[phone], at [phone]"),
        ("mail j.o+tips@mail.co.ke", "mail [email]"),
        ("0712345678@gmail.com", "[email]"),
        ("0 7 1 2 3 4 5 6 7 8", "[phone]"),
        ("12 girls, 3 boys, born 2009", "12 girls, 3 boys, born 2009"),
        ("07１２345678", "[phone]"),  # full-width digits, as some phones type them
    ],
)
def test_redaction_replaces_numbers_and_addresses(text, expected):
    assert redact(text) == expected


@pytest.fixture
def loaded(ext):
    """Tips whose text is full of numbers and addresses; the secrets an export must never show."""
    secrets = {"keys": [], "references": [], "tokens": []}
    with ext.session_scope() as session:
        officer = FocalPoint(county_code=37, name="Officer Wanjiru Achieng", phone="+254700000101")
        agency = add_agency(session, phone="+254722000111", email="fly@agency.example")
        organisation = ReferralOrganisation(
            county_code=37,
            name="Kakamega Police",
            kind="police",
            phone="+254711000111",
            email="desk@police.example",
        )
        session.add_all([officer, organisation])
        session.flush()
        for i, phone in enumerate(PHONES):
            number = f"+2547{i:02d}{i:06d}"
            key = reporter_key(number, ext.config.phone_hash_key)
            token = encrypt_contact(number, ext.config.contact_key)
            tip = add_tip(
                session,
                datetime(2026, 6, 1, tzinfo=UTC) + timedelta(days=i),
                channel="ussd" if i % 2 else "sms",
                county_code=37 if i % 3 else 47,
                place=f"Near {phone}",
                description=f"Call {phone} or write to {EMAILS[i % 3]}; agent {EMAILS[(i + 1) % 3]}",
                reporter_key=key,
                callback_contact=token,
                agency_id=agency.id,
                acknowledged_by_id=officer.id,
                assigned_focal_point_id=officer.id,
                acknowledged_at=datetime(2026, 6, 1, 1, tzinfo=UTC) + timedelta(days=i),
            )
            session.add(
                Referral(
                    tip_id=tip.id,
                    organisation_id=organisation.id,
                    referred_on=date(2026, 6, 20),
                    reason="Other",
                    details=f"Phoned them on {phone}",
                )
            )
            secrets["keys"].append(key)
            secrets["references"].append(tip.reference)
            secrets["tokens"].append(token)
        session.add(
            AgencyLookup(
                agency_id=agency.id, verdict="revoked", channel="ussd", county_code=37, day=date(2026, 6, 2)
            )
        )
    return secrets


def test_no_export_holds_a_number_key_reference_or_address(app, loaded):
    runner = app.test_cli_runner()
    for table, free_text in TABLES:
        for fmt in ("csv", "json"):
            args = ["tips", "export", "--table", table, "--format", fmt, "--year", "2026"]
            result = runner.invoke(args=args + (["--free-text"] if free_text else []))
            assert result.exit_code == 0, result.output
            text = result.output
            assert text.strip(), (table, fmt)
            assert not LONG_NUMBER.search(text), (table, fmt, free_text, LONG_NUMBER.search(text).group())
            assert not EMAIL.search(text), (table, fmt, free_text, EMAIL.search(text).group())
            for key in loaded["keys"]:
                assert key not in text and key[:16] not in text
            for reference in loaded["references"]:
                assert reference not in text and display(reference) not in text
            for token in loaded["tokens"]:
                assert token not in text
            for word in ("Wanjiru", "Kakamega Police", "Fly Ltd", "+254", "gmail"):
                assert word not in text
            if free_text:
                assert text.count("[phone]") >= 2 * len(PHONES) and "[email]" in text
