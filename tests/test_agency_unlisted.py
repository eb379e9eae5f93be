"""The names job seekers check that are not in NEA's register: kept as a name key, never a number, and
listed by `flask agencies stats` once checked 5 times or more, for NEA to look into."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from hotline.agencies import register as agencies
from hotline.agencies.lookup import typed_name_key
from hotline.core.models import Agency, AgencyLookup, Tip
from tests.test_agency_check import check
from tests.test_sms_intake import text_in

DEMO = "hotline/agencies/data/demo_agencies.csv"
NOW = datetime(2026, 11, 28, 9, tzinfo=UTC)  # noon in Nairobi
TODAY = date(2026, 11, 28)


@pytest.fixture
def register(app):
    result = app.test_cli_runner().invoke(args=["agencies", "import", DEMO, "--snapshot-date", "2026-11-20"])
    assert result.exit_code == 0, result.output


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def kept(ext) -> list[tuple[str, str | None]]:
    """Every check as (verdict, query key), oldest first."""
    with ext.session_scope() as session:
        rows = session.execute(select(AgencyLookup.verdict, AgencyLookup.query_key).order_by(AgencyLookup.id))
        return [tuple(row) for row in rows]


def checked(ext, *names: str, day: date = TODAY, verdict: str = "not_found") -> None:
    """One check of each name, on `day`, as the USSD and SMS paths record it."""
    with ext.session_scope() as session:
        for name in names:
            agencies.record_lookup(session, None, verdict, "ussd", today=day, query=name)


def unlisted(ext, days: int = 30) -> list[tuple]:
    with ext.session_scope() as session:
        return agencies.stats(session, days, TODAY)["unlisted"]


def stats_output(app, days: int = 30) -> str:
    result = app.test_cli_runner().invoke(args=["agencies", "stats", "--days", str(days)])
    assert result.exit_code == 0, result.output
    return result.output


# -- what is kept -------------------------------------------------------------------------------


def test_a_name_checked_by_ussd_and_not_found_keeps_its_key(ext, client, register):
    _, screen = check(client, "Kwanza Global Placements Ltd")
    assert "Not in the NEA register" in screen
    check(client, "NEA/DEMO/001")  # found: nothing typed is kept
    assert kept(ext) == [("not_found", "kwanza global placements"), ("licensed", None)]


def test_a_name_checked_by_sms_and_not_found_keeps_its_key(ext, client, register):
    text_in(client, "AGENCY Kampuni ya Baobab Travel Consultants Limited")
    text_in(client, "WAKALA demo nyota employment bureau")  # found
    assert kept(ext) == [("not_found", "baobab travel consultants"), ("revoked", None)]


@pytest.mark.parametrize(
    "query",
    ["0712 345 678", "+254712345678", "NEA/XYZ/999", "nea / 99-1", "RA-2019-45", "NEA999", "RA 2019 45"],
)
def test_a_number_checked_keeps_nothing_by_ussd(ext, client, register, query):
    _, screen = check(client, query)
    assert "Not in the NEA register" in screen
    assert kept(ext) == [("not_found", None)]


@pytest.mark.parametrize("query", ["0712345678", "ID 12345678", "info@baobab.co.ke", "Baobab 0712 345 678"])
def test_a_number_or_address_checked_keeps_nothing_by_sms(ext, client, register, query):
    text_in(client, f"AGENCY {query}")
    assert kept(ext) == [("not_found", None)]


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("Sunrise Jobs Ltd", "sunrise jobs"),
        ("sunrise  jobs limited", "sunrise jobs"),
        ("  SUNRISE JOBS  ", "sunrise jobs"),
        ("Wakala wa Sunrise Jobs & Co.", "sunrise jobs"),
        ("Sunrise Jobs Agency", "sunrise jobs"),
        ("Ajira Bora", "ajira bora"),  # as people say it, not translated as matching does
        ("Jobs 4 U", "jobs 4 u"),  # a digit in a name of several words
        ("A1 Recruiters", "a1 recruiters"),
        ("Hakuna Matata 2024", "hakuna matata 2024"),
        # Never a number: a phone, an ID, a licence number, an address, or no letters at all.
        ("0712345678", None),
        ("+254 712 345 678", None),
        ("0712-345-678", None),
        ("Sunrise 0712 345 678", None),  # seven digits in a row however spaced
        ("Sunrise 071234567", None),
        ("ID 12345678", None),
        ("NEA/DEMO/001", None),
        ("nea / 12-3", None),
        ("RA-2019-45 Nairobi", None),  # a word with a digit joined by a dash
        ("24/7 Recruiters", None),  # as a licence number is: left out rather than risk one
        ("NEA123", None),  # one word with a digit
        ("RA 2019 45", None),  # more digits than letters
        ("kazi@sunrise.co.ke", None),
        ("123 456", None),
        ("", None),
        ("   ", None),
        ("عمل", None),  # no letter once in ASCII
        ("Ñairobi Jobs", "nairobi jobs"),
    ],
)
def test_only_a_name_is_kept_and_as_its_key(query, key):
    assert typed_name_key(query) == key


def test_a_check_that_found_an_agency_keeps_nothing_typed(ext):
    checked(ext, "Sunrise Jobs", verdict="licensed")
    checked(ext, "Sunrise Jobs", verdict="expired")
    assert kept(ext) == [("licensed", None), ("expired", None)]


def test_a_name_as_long_as_lookup_reads_keeps_a_key_the_column_holds(ext):
    checked(ext, "Sunrise " * 40)
    assert kept(ext) == [("not_found", ("sunrise " * 25).strip())]


# -- what `flask agencies stats` lists ----------------------------------------------------------


def test_four_checks_of_a_name_are_not_listed_and_five_are(app, ext):
    checked(ext, *["Sunrise Jobs"] * 4)
    assert unlisted(ext) == []
    assert "none with 5 or more checks" in stats_output(app)
    checked(ext, "Sunrise Jobs")
    assert unlisted(ext) == [("sunrise jobs", 5, 1, TODAY, TODAY)]


def test_spellings_that_normalise_alike_count_together(ext):
    checked(
        ext,
        "Sunrise Jobs Ltd",
        "sunrise  jobs limited",
        "SUNRISE JOBS",
        "Kampuni ya Sunrise Jobs",
        "Sunrise Jobs Agency",
        "Sunrise Job",  # another name, though lookup would take it for the same
    )
    assert unlisted(ext) == [("sunrise jobs", 5, 1, TODAY, TODAY)]


def test_only_checks_in_the_window_count_and_the_days_are_told(ext):
    checked(ext, "Baobab Travel", day=TODAY - timedelta(days=30))  # a day before a 30-day window
    checked(ext, "Baobab Travel", day=TODAY - timedelta(days=29))  # its first day
    checked(ext, "Baobab Travel", "Baobab Travel", day=TODAY - timedelta(days=3))
    checked(ext, "Baobab Travel", day=TODAY - timedelta(days=1))
    assert unlisted(ext) == []  # 4 in the last 30 days
    checked(ext, "Baobab Travel")
    assert unlisted(ext) == [("baobab travel", 5, 4, date(2026, 10, 30), TODAY)]
    assert unlisted(ext, days=31) == [("baobab travel", 6, 5, date(2026, 10, 29), TODAY)]
    assert unlisted(ext, days=4) == []


def test_the_most_checked_come_first_and_twenty_at_most(ext):
    for n in range(22):
        checked(ext, *[f"Agency Number {chr(ord('a') + n)}"] * (5 + n % 3))
    listed = unlisted(ext)
    assert len(listed) == 20
    assert [(key, checks) for key, checks, *_ in listed[:3]] == [
        ("number c", 7),
        ("number f", 7),
        ("number i", 7),
    ]
    assert [checks for _, checks, *_ in listed] == sorted((checks for _, checks, *_ in listed), reverse=True)


def test_a_name_the_register_now_matches_is_left_out(app, ext, tmp_path):
    checked(ext, *["Baobab Travel Consultants"] * 5, *["Kwanza Global"] * 6)
    assert [key for key, *_ in unlisted(ext)] == ["kwanza global", "baobab travel consultants"]
    added = tmp_path / "register.csv"
    added.write_text(
        "name,registration_number,status,expiry_date,licence_type,phone,email\n"
        "Baobab Travel Consultants Ltd,NEA/NEW/001,licensed,2099-12-31,local,,\n"
    )
    result = app.test_cli_runner().invoke(args=["agencies", "import", str(added)])
    assert result.exit_code == 0, result.output
    assert [key for key, *_ in unlisted(ext)] == ["kwanza global"]


def test_stats_prints_the_names_for_nea_with_dates_people_read(app, ext):
    checked(ext, *["Sunrise Jobs Ltd"] * 3, day=date(2026, 11, 2))
    checked(ext, *["sunrise jobs limited"] * 4, day=TODAY)
    checked(ext, *["Kwanza Global"] * 5, day=date(2026, 11, 20))
    checked(ext, *["Baobab Travel"] * 4, day=TODAY)
    output = stats_output(app)
    section = next(part for part in output.split("\n\n") if part.startswith("names checked"))
    assert section == (
        "names checked but not in NEA's register (5 or more checks, last 30 days): for NEA to look into\n"
        "name           checks  days  first checked  last checked\n"
        "Sunrise Jobs   7       2     2 Nov 2026     28 Nov 2026\n"
        "Kwanza Global  5       1     20 Nov 2026    20 Nov 2026"
    )
    assert "Baobab" not in output  # 4 checks
    assert "2 Nov 2026   -       3" in output  # the checks per day and county
    assert "2026-11" not in output


def test_stats_prints_the_day_an_agency_was_last_flagged_as_people_read_it(app, ext):
    with ext.session_scope() as session:
        agency = Agency(
            name="Gulf Dreams Ltd",
            registration_number="NEA/123",
            registration_key="NEA123",
            name_key="gulf dreams",
            status="revoked",
            licence_type="international",
        )
        session.add(agency)
        session.flush()
        flagged_at = datetime(2026, 11, 27, 22, 30, tzinfo=UTC)  # 28 Nov in Nairobi
        session.add(
            Tip(
                reference="TESTREF1",
                channel="ussd",
                source_id="test:flag",
                kind="recruitment_fraud",
                reporter_key="k",
                agency_id=agency.id,
                agency_flagged_at=flagged_at,
            )
        )
    assert "Gulf Dreams Ltd  NEA/123       1        28 Nov 2026\n" in stats_output(app)


def test_stats_says_when_no_name_has_five_checks(app, ext):
    output = stats_output(app, days=1)
    assert "agency / verdict (last 1 day)\n" in output
    assert (
        "names checked but not in NEA's register (5 or more checks, last 1 day): for NEA to look into\n"
        "name                        checks  days  first checked  last checked\n"
        "none with 5 or more checks\n"
    ) in output


def test_stats_help_names_the_table(app):
    result = app.test_cli_runner().invoke(args=["agencies", "stats", "--help"])
    assert result.exit_code == 0 and "not in NEA's register" in " ".join(result.output.split())
