"""Checking a recruitment agency as a job seeker: USSD menu 2 and AGENCY/WAKALA by SMS."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.core.models import AgencyLookup, OutboundSms, Tip
from tests.conftest import Phone

DEMO = "hotline/agencies/data/demo_agencies.csv"


@pytest.fixture
def register(app):
    result = app.test_cli_runner().invoke(args=["agencies", "import", DEMO, "--snapshot-date", "2026-11-20"])
    assert result.exit_code == 0, result.output


def check(client, query, *more, lang="en"):
    phone = Phone(client, number="+254733000444" if lang == "en" else "+254733000555")
    phone.dial()
    if lang == "sw":
        phone.send("6", "2")
    return phone, phone.send("2", query, *more)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("nea demo 001", "Demo Sunrise Overs: licensed to 2099-12-31, also jobs abroad.\n(NEA 2026-11-20)"),
        ("Demo Jua Kali Placement Agency and Company", "licensed to 2099-06-30, local jobs only."),
        ("Tumaini Gulf Manpower Ltd", "EXPIRED since 2024-03-31. Do not pay."),
        ("NEA/DEMO/006", "REVOKED. Do not pay any fees."),
        ("0700000205", "SUSPENDED. Do not pay any fees."),
        ("Imani Home Care Recruiters", "EXPIRED since 2020-01-31"),  # licensed on paper, but past expiry
        ("Kwanza Global Placements", "Not in the NEA register: treat as unlicensed. Do not pay."),
    ],
)
def test_verdicts_in_english(client, register, query, expected):
    _, screen = check(client, query)
    assert expected in screen
    assert "1. Warning signs\n2. Report it" in screen and len(screen) - 4 <= 160


def test_verdict_in_kiswahili(client, register):
    _, screen = check(client, "nea-demo-003", lang="sw")
    assert "IMEISHA tangu 2024-03-31. Usilipe." in screen and "1. Dalili za hatari" in screen


def test_several_matches_offer_a_pick_list(client, register):
    phone, screen = check(client, "Demo Recruiters")
    choices = (
        "Which one?\n1. Demo Imani Home Care Recru\n2. Demo Sunrise Overseas Recr\n"
        "3. Demo Pwani Hospitality ..\n0 Back 00 Menu"
    )
    assert screen == f"CON {choices}"
    assert phone.send("9") == f"CON Not a choice. Try again.\n{choices}"
    assert phone.send("1") == (
        "CON Demo Imani Home Ca: EXPIRED since 2020-01-31. Do not pay.\n(NEA 2026-11-20)\n"
        "1. Warning signs\n2. Report it\n0 Back 00 Menu"
    )


def test_warning_signs_and_reporting_the_agency(ext, client, register):
    phone, _ = check(client, "NEA DEMO 005")
    assert "passport taken" in phone.send("1")
    phone.send("0", "2")
    assert phone.last.startswith("CON County?")
    end = phone.send("nai", "Moi Avenue office", "They took KES 50,000 and my passport", "2", "2", "2", "1")
    assert end.startswith("END Report sent.")
    with ext.session_scope() as session:
        tip = session.scalars(select(Tip)).one()
        assert tip.kind == "recruitment_fraud" and tip.agency_id is not None and tip.county_code == 47


def test_lookups_are_counted_without_numbers(ext, client, register):
    check(client, "NEA/DEMO/001")
    check(client, "No Such Agency Anywhere")
    with ext.session_scope() as session:
        verdicts = sorted(row.verdict for row in session.scalars(select(AgencyLookup)))
    assert verdicts == ["licensed", "not_found"]


def test_agency_by_sms(ext, client, register):
    for at_id, text in (
        ("s1", "AGENCY NEA/DEMO/003"),
        ("s2", "wakala demo nyota employment bureau"),
        ("s3", "AGENCY"),
    ):
        form = {
            "id": at_id,
            "from": "+254733000666",
            "to": "21606",
            "text": text,
            "date": "2026-11-22 10:00:00",
        }
        assert client.post("/sms/inbound", data=form).status_code == 200
    with ext.session_scope() as session:
        replies = [row.message for row in session.scalars(select(OutboundSms).order_by(OutboundSms.id))]
    assert replies[0].startswith("Demo Tumaini Gulf Manpower Limited: EXPIRED since 2024-03-31. Do not pay.")
    assert "(NEA 2026-11-20)" in replies[0]
    assert "LESENI IMEFUTWA" in replies[1]
    assert replies[2] == "Please send AGENCY followed by the agency's name or licence number."
