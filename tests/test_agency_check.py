"""Checking a recruitment agency as a job seeker: USSD menu 2 and AGENCY/WAKALA by SMS."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select

from hotline.core.models import Agency, AgencyLookup, OutboundSms, Tip
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
        ("nea demo 001", "Demo Sunrise Overseas\nLicensed to 31 Dec 2099. Jobs abroad too.\nNEA register of"),
        ("Jua Kali Placement", "Demo Jua Kali Placement\nLicensed to 30 Jun 2099. Local jobs only."),
        ("Tumaini Gulf Manpower Ltd", "Demo Tumaini Gulf\nLicence expired 31 Mar 2024. Do not pay."),
        ("NEA/DEMO/006", "Demo Nyota Employment\nLicence cancelled (revoked). Do not pay."),
        ("0700000205", "Demo Haraka Jobs Abroad\nLicence suspended. Do not pay any fees."),
        # licensed on paper, but past expiry
        ("Imani Home Care Recruiters", "Demo Imani Home Care\nLicence expired 31 Jan 2020. Do not pay."),
        # not found: the name line is what was typed, so the caller sees what was checked
        ("Kwanza Global Placements", "Kwanza Global Placements\nNo licence found. Do not pay any fees."),
    ],
)
def test_verdicts_in_english(client, register, query, expected):
    _, screen = check(client, query)
    assert screen.startswith(f"CON {expected}")
    assert "1. Warning signs\n2. Report it" in screen and len(screen) - 4 <= 160


def test_verdict_in_kiswahili(client, register):
    _, screen = check(client, "nea-demo-003", lang="sw")
    assert screen == (
        "CON Demo Tumaini Gulf Manpower\nLeseni iliisha 31 Mac 2024. Usilipe.\nRejista ya NEA, 20 Nov\n"
        "1. Dalili za hatari\n2. Ripoti\n0 Rudi 00 Mwanzo"
    )


def test_a_60_character_name_keeps_whole_words_on_the_verdict_screen(app, client):
    name = "Kenya Overseas Domestic Workers and Hospitality Recruitment Ltd"[:60]
    header = "name,registration_number,status,expiry_date,licence_type,phone,email"
    rows = f"{header}\n{name},NEA/60/1,licensed,2099-12-31,both,,\n"
    path = app.instance_path + "/sixty.csv"
    with open(path, "w") as handle:
        handle.write(rows)
    result = app.test_cli_runner().invoke(args=["agencies", "import", path, "--snapshot-date", "2026-11-20"])
    assert result.exit_code == 0, result.output
    for lang in ("en", "sw"):
        _, screen = check(client, "NEA/60/1", lang=lang)
        shown = screen.removeprefix("CON ").split("\n")[0]
        words = shown.removesuffix("...").split()
        assert len(name) == 60 and len(screen) - 4 <= 160
        assert words and all(word in name.split() for word in words), shown  # no word cut inside
        assert shown.endswith("...") or shown == "Kenya Overseas Domestic Workers"


def test_several_matches_offer_a_pick_list(client, register):
    phone, screen = check(client, "Demo Recruiters")
    choices = (
        "Which one?\n1. Demo Imani Home Care\n2. Demo Sunrise Overseas\n"
        "3. Demo Pwani Hospitality\n0 Back 00 Menu"
    )
    assert screen == f"CON {choices}"
    assert phone.send("9") == f"CON Not a choice. Try again.\n{choices}"
    assert phone.send("1") == (
        "CON Demo Imani Home Care\nLicence expired 31 Jan 2020. Do not pay.\nNEA register of 20 Nov\n"
        "1. Warning signs\n2. Report it\n0 Back 00 Menu"
    )


def test_warning_signs_and_reporting_the_agency(ext, client, register):
    phone, _ = check(client, "NEA DEMO 005")
    assert "passport taken" in phone.send("1")
    phone.send("0", "2")
    # The report says what it is about and does not ask its kind again: the place first, then the county.
    assert phone.last == (
        "CON Report about Demo Haraka Jobs Abroad Ltd\n"
        "Where did you deal with them? Town, estate or office:\n0 Back 00 Menu"
    )
    assert phone.send("Moi Avenue office").startswith("CON County?")
    confirm = phone.send("nai", "They took KES 50,000 and my passport", "2", "2", "2")
    named = "Demo Haraka Jobs Abroad, Nairobi City: Moi Avenue office"
    assert confirm.startswith(f"CON Send this report?\n{named}\n")
    end = phone.send("1")
    assert end.startswith("END Report sent.")
    with ext.session_scope() as session:
        tip = session.scalars(select(Tip)).one()
        assert tip.kind == "recruitment_fraud" and tip.agency_id is not None and tip.county_code == 47
        assert tip.place == "Moi Avenue office"


def test_an_agency_report_dropped_halfway_is_resumed_with_its_agency(client, register):
    phone, _ = check(client, "NEA DEMO 005", "2", "Moi Avenue office")  # report it, the place, then drop
    assert phone.dial().startswith("CON You did not finish last time.")
    assert phone.send("1").startswith("CON County?")
    assert phone.send("0").startswith("CON Report about Demo Haraka Jobs Abroad Ltd\n")


def test_reporting_an_agency_not_in_the_register_names_what_was_typed(client, register):
    phone, _ = check(client, "Kwanza Global Placements", "2")
    assert phone.last.startswith("CON Report about Kwanza Global Placements\n")


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
    assert replies[0] == (
        "Demo Tumaini Gulf Manpower Limited\nLicence expired 31 Mar 2024. Do not pay.\n"
        "NEA register of 20 Nov"
    )
    assert replies[1] == (
        "Demo Nyota Employment Bureau\nLeseni imefutwa. Usilipe ada yoyote.\nRejista ya NEA, 20 Nov"
    )
    assert replies[2] == "Please send AGENCY followed by the agency's name or licence number."


def test_a_check_after_midnight_in_nairobi_counts_on_that_day(ext, client, register):
    with time_machine.travel(datetime(2026, 11, 28, 22, 30, tzinfo=UTC), tick=False):  # 01:30 on the 29th
        check(client, "NEA/DEMO/001")
    with ext.session_scope() as session:
        assert session.scalar(select(AgencyLookup.day)) == date(2026, 11, 29)


def test_several_agencies_by_sms_are_listed_with_their_licence_numbers_and_whole_words(ext, client, register):
    form = {"id": "s-several", "from": "+254733000667", "to": "21606", "text": "AGENCY Demo Recruiters"}
    assert client.post("/sms/inbound", data=form).status_code == 200
    with ext.session_scope() as session:
        [reply] = session.scalars(select(OutboundSms.message)).all()
        names = {agency.registration_number: agency.name for agency in session.scalars(select(Agency))}
    assert reply.startswith("Several agencies match: 1) ")
    listed = re.findall(r"\d\) (.+?) \((NEA/DEMO/\d+)\)", reply)
    assert len(listed) == 3
    for shown, number in listed:
        assert set(shown.removesuffix("...").split()) <= set(names[number].split()), (shown, names[number])
