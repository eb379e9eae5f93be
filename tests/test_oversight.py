"""hotline.oversight: every chart's figures against a handful of tips, checks and campaign
deliveries counted by hand (the comments say how), for each window, the kind filter and a focal
point's scope; and the CSV each table becomes.

Now is Wednesday 17 June 2026, 12:00 in Nairobi. The 90-day window starts on Friday 20 March
(Nairobi midnight: 19 March 21:00 UTC), the 30-day one on Tuesday 19 May (18 May 21:00 UTC).
Deadlines: urgent 15 minutes, child labour 4 hours, any other kind 24 hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from hotline.core.models import (
    Agency,
    AgencyLookup,
    Campaign,
    CampaignRecipient,
    Contact,
    Referral,
    ReferralOrganisation,
    Tip,
)
from hotline.oversight.cache import dump, load
from hotline.oversight.dashboard import build
from hotline.oversight.scope import Scope, Window, window_from
from hotline.oversight.sql import medians, monday, nairobi_week

NOW = datetime(2026, 6, 17, 9, 0, tzinfo=UTC)
TODAY = date(2026, 6, 17)
ESCALATION = {"urgent": 15, "default": 1440, "child_labour": 240}
KAKAMEGA, MOMBASA, NAIROBI = 37, 1, 47


def ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


# name: (created_at, county, kind, channel, urgent, minutes to acknowledge, escalation level,
#        case status, closure reason, reports an agency)
TIPS = {
    # Monday 15 June: within its 24 h (60 min).
    "t1": (ago(days=2), KAKAMEGA, "forced_labour", "ussd", False, 60, 0, "Active", None, False),
    # Sunday 7 June: child labour's 4 h passed before its acknowledgement (300 min); escalated once.
    "t2": (ago(days=10), KAKAMEGA, "child_labour", "sms", False, 300, 1, "Active", None, False),
    # Thursday 28 May: urgent, acknowledged in 10 min; about an agency; closed, referred twice.
    "t3": (ago(days=20), KAKAMEGA, "recruitment_fraud", "ussd", True, 10, 0, "ClosedReferred", "referred",
           True),
    # Monday 18 May 23:30 in Nairobi: half an hour before the 30-day window; never acknowledged.
    "t4": (datetime(2026, 5, 18, 20, 30, tzinfo=UTC), NAIROBI, "sexual_exploitation", "ussd", True, None, 2,
           "Active", None, False),
    # Sunday 14 June 21:30 UTC is Monday 15 June 00:30 in Nairobi: the week of 15 June. No county,
    # closed unacknowledged, so past its deadline and not waiting.
    "t5": (datetime(2026, 6, 14, 21, 30, tzinfo=UTC), None, "other", "sms", False, None, 0, "Closed",
           "not_trafficking", False),
    # An hour old: its 24 h have not passed, so it is not due yet; waiting.
    "t6": (ago(hours=1), MOMBASA, "forced_labour", "ussd", False, None, 0, "Active", None, False),
    # 200 days ago: only in the 365-day window.
    "t7": (ago(days=200), KAKAMEGA, "forced_labour", "ussd", False, 30, 0, "Active", None, False),
    # 400 days ago: in no window.
    "t8": (ago(days=400), NAIROBI, "forced_labour", "ussd", False, 5, 0, "Active", None, False),
    # Saturday 18 April: acknowledged after 1,500 min (late); about an agency; follow-up; referred twice.
    "t9": (ago(days=60), MOMBASA, "recruitment_fraud", "sms", False, 1500, 1, "FollowUp", None, True),
}


def fill(ext) -> dict[str, int]:
    """The tips above with their referrals, six agency checks and four campaigns' deliveries;
    returns the tips' ids by name."""
    ids = {}
    with ext.session_scope() as session:
        agency = Agency(name="Njia Bora", registration_number="R1", registration_key="r1",
                        name_key="njia bora", status="revoked", licence_type="local")
        session.add(agency)
        session.flush()
        for n, (name, row) in enumerate(TIPS.items()):
            created, county, kind, channel, urgent, ack, level, status, reason, about_agency = row
            tip = Tip(reference=f"{n:012d}", channel=channel, kind=kind, county_code=county, urgent=urgent,
                      reporter_key=f"key-{n}", created_at=created, escalation_level=level,
                      acknowledged_at=created + timedelta(minutes=ack) if ack is not None else None,
                      case_status=status, closure_reason=reason,
                      closed_at=NOW if reason else None, folder="closed" if reason else "active",
                      agency_id=agency.id if about_agency else None)
            session.add(tip)
            session.flush()
            ids[name] = tip.id
        organisations = {kind: ReferralOrganisation(name=f"{kind} {i}", kind=kind)
                         for i, kind in enumerate(("police", "ngo", "shelter", "health"))}
        second_shelter = ReferralOrganisation(name="shelter two", kind="shelter")
        session.add_all([*organisations.values(), second_shelter])
        session.flush()
        for tip, organisation, day in (
            ("t3", organisations["police"], date(2026, 6, 10)),
            ("t3", organisations["ngo"], date(2026, 6, 10)),
            ("t9", organisations["shelter"], date(2026, 4, 20)),  # before the 30 days
            ("t9", second_shelter, date(2026, 6, 1)),
            ("t8", organisations["health"], TODAY),  # a referral today of a tip from last year
            ("t9", organisations["police"], date(2026, 3, 19)),  # the day before the 90 days
        ):
            session.add(Referral(tip_id=ids[tip], organisation_id=organisation.id, referred_on=day,
                                 reason="Other"))
        for county, verdict, day in (
            (KAKAMEGA, "not_found", date(2026, 6, 10)),
            (KAKAMEGA, "expired", TODAY),
            (KAKAMEGA, "licensed", TODAY),  # licensed: not a signal
            (None, "revoked", date(2026, 5, 1)),
            (NAIROBI, "suspended", date(2026, 3, 19)),  # the day before the 90-day window
            (NAIROBI, "not_found", date(2026, 3, 20)),  # the 90-day window's first day
        ):
            session.add(AgencyLookup(verdict=verdict, channel="ussd", county_code=county, day=day))
        contacts = [Contact(phone=f"+25470000{n:04d}", county_code=county, consent_source="partner",
                            consented_at=ago(days=300), salt=n)
                    for n, county in enumerate((KAKAMEGA, KAKAMEGA, NAIROBI, KAKAMEGA))]
        campaigns = [Campaign(name=f"c{n}", seed=n) for n in range(4)]
        session.add_all(contacts + campaigns)
        session.flush()
        c1, c2, c3, c4 = (c.id for c in contacts)
        k1, k2, k3, k4 = (c.id for c in campaigns)
        for campaign, contact, county, status, delivered in (
            (k1, c1, KAKAMEGA, "Success", ago(days=16)),
            (k2, c1, KAKAMEGA, "Success", ago(days=7)),  # the same contact again: reached once
            (k3, c1, NAIROBI, "Success", ago(days=5)),  # and in Nairobi's campaign: one contact in all
            (k1, c2, KAKAMEGA, "Failed", None),
            (k2, c2, MOMBASA, "Success", ago(days=5)),  # drawn in Mombasa that time
            (k1, c3, NAIROBI, "Success", datetime(2026, 3, 1, tzinfo=UTC)),  # before the 90 days
            (k2, c3, NAIROBI, "Success", ago(days=5)),
            (k4, c4, KAKAMEGA, "Success", ago(days=100)),  # only in the 365 days
        ):
            session.add(CampaignRecipient(campaign_id=campaign, contact_id=contact, language="en",
                                          county_code=county, state="sent", delivery_status=status,
                                          delivered_at=delivered))
        session.add(CampaignRecipient(campaign_id=k1, contact_id=c4, language="en", county_code=KAKAMEGA,
                                      held_out=True, state="held_out"))
    return ids


@pytest.fixture
def app(make_app):
    return make_app(escalation_minutes=dict(ESCALATION))


@pytest.fixture
def filled(ext):
    return fill(ext)


NATIONAL = Scope()


def board(ext, days=90, kind=None, scope=NATIONAL, only=None):
    with time_machine.travel(NOW, tick=False), ext.session_scope() as session:
        return build(session, ext.config, scope, Window(days, TODAY, kind), NOW, only=only)


def rows(section) -> list[tuple]:
    table = section.table
    return [r.values for r in table.rows] + ([table.total] if table.total else [])


def test_tips_by_county_for_each_window_and_kind(ext, filled):
    ninety = board(ext)
    assert {code: n for code, n in ninety.map_values.items() if n} == {KAKAMEGA: 3, MOMBASA: 2, NAIROBI: 1}
    assert len(ninety.map_values) == 47  # every county has a figure, 0 included
    assert rows(ninety.sections["counties"]) == [
        ("Kakamega", 3), ("Mombasa", 2), ("Nairobi City", 1), ("No county", 1), ("Total", 7)]
    thirty = board(ext, days=30)  # t4 half an hour too early, t9 too
    assert rows(thirty.sections["counties"]) == [("Kakamega", 3), ("Mombasa", 1), ("No county", 1),
                                                 ("Total", 5)]
    year = board(ext, days=365)  # t7 too, never t8
    assert {code: n for code, n in year.map_values.items() if n} == {KAKAMEGA: 4, MOMBASA: 2, NAIROBI: 1}
    forced = board(ext, kind="forced_labour")
    # Ties go by county code: Mombasa is 1, Kakamega 37.
    assert rows(forced.sections["counties"]) == [("Mombasa", 1), ("Kakamega", 1), ("Total", 2)]


def test_tips_per_nairobi_week_by_channel_and_kind(ext, filled):
    weeks = board(ext).sections["weeks"].table
    assert [c.label for c in weeks.columns] == [
        "Week (Monday)", "Tips", "USSD", "SMS", "Forced labour", "Sexual exploitation", "Fake job or agency",
        "Child labour", "Other"]
    shown = {r.values[0]: r.values[1:] for r in weeks.rows}
    # 14 Mondays: 16 March (the week of 20 March, the window's first day) to 15 June.
    assert list(shown)[0] == "2026-03-16" and list(shown)[-1] == "2026-06-15" and len(shown) == 14
    assert shown["2026-06-15"] == (3, 2, 1, 2, 0, 0, 0, 1)  # t1, t6 by USSD; t5 (Sunday in UTC) by SMS
    assert shown["2026-06-08"] == (0,) * 8
    assert shown["2026-06-01"] == (1, 0, 1, 0, 0, 0, 1, 0)  # t2
    assert shown["2026-05-25"] == (1, 1, 0, 0, 0, 1, 0, 0)  # t3
    assert shown["2026-05-18"] == (1, 1, 0, 0, 1, 0, 0, 0)  # t4: Monday in Nairobi, Monday in UTC
    assert shown["2026-04-13"] == (1, 0, 1, 0, 0, 1, 0, 0)  # t9
    assert weeks.total == ("Total", 7, 4, 3, 2, 1, 2, 1, 1)


def test_time_to_acknowledgement_against_each_deadline(ext, filled):
    section = board(ext).sections["acknowledgement"]
    # County, tips, acknowledged, median minutes, due, within the deadline, share, waiting.
    assert rows(section) == [
        ("Kakamega", 3, 3, 60.0, 3, 2, 2 / 3, 0),  # 10, 60, 300 min: t1 and t3 in time
        ("Mombasa", 2, 1, 1500.0, 1, 0, 0.0, 1),  # t9 late; t6 not due yet, waiting
        ("Nairobi City", 1, 0, None, 1, 0, 0.0, 1),  # t4 overdue
        ("No county", 1, 0, None, 1, 0, 0.0, 0),  # t5 closed: due, not waiting
        ("Total", 7, 4, 180.0, 6, 2, 2 / 6, 2),  # 10, 60, 300, 1500: (60 + 300) / 2
    ]
    # An urgent tip acknowledged at its 15th minute exactly is in time.
    with ext.session_scope() as session:
        session.get(Tip, filled["t3"]).acknowledged_at = TIPS["t3"][0] + timedelta(minutes=15)
    kakamega = rows(board(ext).sections["acknowledgement"])[0]
    assert kakamega == ("Kakamega", 3, 3, 60.0, 3, 2, 2 / 3, 0)
    with ext.session_scope() as session:
        session.get(Tip, filled["t3"]).acknowledged_at = TIPS["t3"][0] + timedelta(minutes=15, seconds=1)
    assert rows(board(ext).sections["acknowledgement"])[0][5] == 1


def test_escalations_and_outcomes(ext, filled):
    assert rows(board(ext).sections["escalations"]) == [
        ("Kakamega", 3, 1, 1 / 3), ("Mombasa", 2, 1, 0.5), ("Nairobi City", 1, 1, 1.0),
        ("No county", 1, 0, 0.0), ("Total", 7, 3, 3 / 7)]
    assert rows(board(ext).sections["outcomes"]) == [
        ("Case status: Active", 4), ("Case status: Follow-up", 1), ("Case status: Closed", 1),
        ("Case status: Closed (referred)", 1), ("Closed as: Referred", 1), ("Closed as: Not trafficking", 1),
        ("Total tips", 7)]


def test_referrals_made_in_the_window_by_organisation_type(ext, filled):
    # Referrals made, tips referred: t9 went to two shelters, one tip referred.
    police = "Police (gender and children's desk)"
    assert rows(board(ext).sections["referrals"]) == [
        (police, 1, 1), ("Shelter", 2, 1), ("NGO", 1, 1), ("Health", 1, 1), ("Total", 5, 3)]
    assert rows(board(ext, days=30).sections["referrals"]) == [
        (police, 1, 1), ("Shelter", 1, 1), ("NGO", 1, 1), ("Health", 1, 1), ("Total", 4, 3)]
    assert rows(board(ext, days=365).sections["referrals"]) == [
        (police, 2, 2), ("Shelter", 2, 1), ("NGO", 1, 1), ("Health", 1, 1), ("Total", 6, 3)]
    assert rows(board(ext, kind="forced_labour").sections["referrals"]) == [("Health", 1, 1), ("Total", 1, 1)]


def test_agency_signals_by_county(ext, filled):
    # Checks not licensed; tips about an agency.
    assert rows(board(ext).sections["agencies"]) == [
        ("Kakamega", 2, 1), ("Mombasa", 0, 1), ("Nairobi City", 1, 0), ("No county", 1, 0), ("Total", 4, 2)]
    # The kind filter narrows the tips, not the checks (they have no kind).
    assert rows(board(ext, kind="forced_labour").sections["agencies"]) == [
        ("Kakamega", 2, 0), ("Nairobi City", 1, 0), ("No county", 1, 0), ("Total", 4, 0)]


def test_campaign_reach_counts_each_contact_once(ext, filled):
    assert rows(board(ext).sections["reach"]) == [
        ("Nairobi City", 2), ("Mombasa", 1), ("Kakamega", 1), ("Total (each contact once)", 3)]
    assert rows(board(ext, days=365).sections["reach"]) == [
        ("Kakamega", 2), ("Nairobi City", 2), ("Mombasa", 1), ("Total (each contact once)", 4)]


def test_a_focal_point_sees_their_county_only(ext, filled):
    kakamega = Scope(KAKAMEGA)
    whole = board(ext, scope=kakamega)
    assert whole.map_values == {KAKAMEGA: 3}
    assert rows(whole.sections["acknowledgement"]) == [("Kakamega", 3, 3, 60.0, 3, 2, 2 / 3, 0),
                                                       ("Total", 3, 3, 60.0, 3, 2, 2 / 3, 0)]
    assert whole.sections["weeks"].table.total == ("Total", 3, 2, 1, 1, 1, 1)
    assert rows(whole.sections["referrals"]) == [
        ("Police (gender and children's desk)", 1, 1), ("NGO", 1, 1), ("Total", 2, 1)]
    assert rows(whole.sections["agencies"]) == [("Kakamega", 2, 1), ("Total", 2, 1)]
    assert rows(whole.sections["reach"]) == [("Kakamega", 1), ("Total (each contact once)", 1)]
    assert board(ext, scope=kakamega, only="counties").sections["counties"].table.csv() == (
        "County,Tips\r\nKakamega,3\r\nTotal,3\r\n")
    nobody = board(ext, scope=Scope(nothing=True))
    assert nobody.map_values == {} and all(not s.table.rows for name, s in nobody.sections.items()
                                           if name != "weeks")


def test_each_table_as_csv(ext, filled):
    csv = board(ext, only="acknowledgement").sections["acknowledgement"].table.csv()
    assert csv.splitlines() == [
        "County,Tips,Acknowledged,Median minutes to acknowledge,Due,Within the deadline,"
        "Share within the deadline,\"Unacknowledged, open\"",
        "Kakamega,3,3,60.0,3,2,0.6667,0",
        "Mombasa,2,1,1500.0,1,0,0.0000,1",
        "Nairobi City,1,0,,1,0,0.0000,1",
        "No county,1,0,,1,0,0.0000,0",
        "Total,7,4,180.0,6,2,0.3333,2",
    ]
    weeks = board(ext, days=30, only="weeks").sections["weeks"].table.csv().splitlines()
    assert weeks[0] == "Week (Monday),Tips,USSD,SMS,Forced labour,Fake job or agency,Child labour,Other"
    assert weeks[1] == "2026-05-18,0,0,0,0,0,0,0" and weeks[-1] == "Total,5,3,2,2,1,1,1"


def test_an_empty_window_has_empty_tables(ext):
    empty = board(ext)
    assert set(empty.map_values.values()) == {0} and len(empty.map_values) == 47
    assert [name for name, s in empty.sections.items() if s.table.rows] == ["weeks"]
    assert all(s.table.total is None for name, s in empty.sections.items() if name != "weeks")


def test_query_arguments_fall_back_with_a_message():
    assert window_from({}, TODAY) == (Window(90, TODAY), [])
    assert window_from({"days": "365", "kind": "servitude"}, TODAY) == (Window(365, TODAY, "servitude"), [])
    window, problems = window_from({"days": "7", "kind": "nonsense"}, TODAY)
    assert window == Window(90, TODAY) and len(problems) == 2
    assert window_from({"days": "-30"}, TODAY)[0].days == 90
    assert Window(30, TODAY).start == datetime(2026, 5, 18, 21, 0, tzinfo=UTC)


def test_median_and_week_helpers_on_either_database(ext):
    """The exact median per group (odd and even counts, one group None) and the Nairobi week."""
    with ext.session_scope() as session:
        for n, (county, minutes) in enumerate(((1, 5), (1, 1), (1, 3), (2, 4), (2, 8), (None, 7))):
            session.add(Tip(reference=f"m{n}", channel="ussd", kind="other", reporter_key="k",
                            county_code=county, created_at=NOW, escalation_level=minutes))
    with ext.session_scope() as session:
        by_county, overall = medians(session, Tip.escalation_level, Tip.county_code, [])
        assert by_county == {1: 3.0, 2: 6.0, None: 7.0} and overall == 4.5  # 1 3 4 5 7 8
        sunday_night = datetime(2026, 6, 14, 21, 30, tzinfo=UTC)  # Monday 00:30 in Nairobi
        an_hour_before = sunday_night - timedelta(hours=1)
        for moment, first in ((sunday_night, date(2026, 6, 15)), (an_hour_before, date(2026, 6, 8))):
            session.get(Tip, session.query(Tip.id).filter_by(reference="m0").scalar()).created_at = moment
            session.flush()
            week = session.query(nairobi_week(session, Tip.created_at)).filter_by(reference="m0").scalar()
            assert monday(week) == first


def test_kept_figures_read_back_the_same(ext, filled):
    whole = board(ext)
    again = load(dump(whole), whole.scope, whole.window)
    assert again.as_of == NOW and again.map_values == whole.map_values
    for name, section in whole.sections.items():
        kept = again.sections[name]
        assert (kept.table, kept.chart, kept.legend, kept.note) == (
            section.table, section.chart, section.legend, section.note)
