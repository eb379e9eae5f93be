"""The aggregate tables (hotline.evidence.aggregates), counted by hand: tips by county, Nairobi
month and kind, and the Advisory Committee's annual figures, as published after suppression.
Real database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flows.menu import TIP_KINDS
from hotline.core.models import AgencyLookup, Campaign, Referral, ReferralOrganisation
from hotline.evidence import aggregates
from tests.builders import add_agency, add_tip

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
X, SMALL = "x", "<5"


def kinds(**counts) -> list:
    return [counts.get(kind, 0) for kind in TIP_KINDS]


def test_county_month_kind_is_counted_by_nairobi_month_and_suppressed(ext):
    november = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    with ext.session_scope() as session:
        for i in range(6):
            add_tip(session, november + timedelta(hours=i))
        # 31 October 22:00 UTC is 1 November in Nairobi: a November tip.
        add_tip(session, datetime(2026, 10, 31, 22, 0, tzinfo=UTC), kind="child_labour")
        add_tip(session, november, kind="child_labour")
        for i in range(7):
            add_tip(session, november + timedelta(days=1, hours=i), county_code=47)
        add_tip(session, datetime(2026, 10, 15, tzinfo=UTC), county_code=47, kind="other")
        add_tip(session, datetime(2025, 11, 15, tzinfo=UTC))  # another year
    with ext.session_scope() as session:
        table = aggregates.county_month_kind(session, date(2026, 1, 1), date(2026, 12, 31), NOW)
        assert [f.name for f in table.fields] == ["month", "county_code", "county_name", *TIP_KINDS, "total"]
        assert table.rows == [
            # October: one tip; every count of its table is that 1.
            ["2026-10", "47", "Nairobi City", *kinds(other=SMALL), SMALL],
            ["2026-10", "total", "All counties", *kinds(other=SMALL), SMALL],
            # November: Kakamega's 2 child labour tips are "<5", so its total and the grand total are
            # hidden; forced labour's column (6 + 7) has nothing hidden and stays.
            ["2026-11", "37", "Kakamega", *kinds(forced_labour=6, child_labour=SMALL), X],
            ["2026-11", "47", "Nairobi City", *kinds(forced_labour=7), 7],
            ["2026-11", "total", "All counties", *kinds(forced_labour=13, child_labour=SMALL), X],
        ]


def test_annual_figures_are_counted_by_hand_and_suppressed(ext):
    start = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    with ext.session_scope() as session:
        organisation = ReferralOrganisation(county_code=37, name="Home", kind="shelter")
        session.add(organisation)
        session.flush()
        made = []
        for i in range(30):
            created = start + timedelta(days=i)
            if i < 20:  # acknowledged after an hour: within the day's deadline
                acknowledged = created + timedelta(hours=1)
            elif i < 23:  # after two days: late
                acknowledged = created + timedelta(days=2)
            else:
                acknowledged = None
            made.append(add_tip(session, created, acknowledged_at=acknowledged))
        for tip in made[:8]:
            tip.case_status, tip.closure_reason, tip.folder = "Closed", "resolved", "closed"
        for tip in made[8:10]:
            tip.case_status, tip.closure_reason, tip.folder = "Closed", "duplicate", "closed"
        for tip in made[:6]:
            session.add(
                Referral(
                    tip_id=tip.id,
                    organisation_id=organisation.id,
                    referred_on=date(2026, 4, 1),
                    reason="Other",
                )
            )
        session.add(
            Referral(
                tip_id=made[0].id,
                organisation_id=organisation.id,
                referred_on=date(2026, 4, 2),
                reason="Other",
            )
        )  # a second referral of the same tip: still one tip referred
        agency = add_agency(session)
        made[11].agency_id = made[12].agency_id = agency.id
        add_tip(session, datetime(2025, 12, 31, 20, 0, tzinfo=UTC))  # 31 December 23:00 in Nairobi: 2025
        for verdict, n in (("licensed", 12), ("not_found", 5)):
            session.add_all(
                AgencyLookup(verdict=verdict, channel="ussd", day=date(2026, 6, 1)) for _ in range(n)
            )
        session.add(AgencyLookup(verdict="revoked", channel="ussd", day=date(2025, 6, 1)))  # another year
        session.add(
            Campaign(
                name="Safe jobs",
                state="done",
                seed=1,
                started_at=datetime(2026, 5, 1, tzinfo=UTC),
                finished_at=datetime(2026, 5, 2, tzinfo=UTC),
            )
        )
    with ext.session_scope() as session:
        raw = aggregates.annual_figures(session, ext.config, 2026, NOW)
        table = aggregates.annual(session, ext.config, 2026, NOW)
    assert raw["tips_received"] == 30 and raw["acknowledged_late"] == 3 and raw["referred"] == 6
    published = {row[1]: row[3] for row in table.rows}
    assert published == {
        "tips_received": X,  # its line has the 3 late ones, "<5": 30 - 20 - 7 would give them back
        "acknowledged_within_deadline": 20,
        "acknowledged_late": SMALL,
        "not_acknowledged": 7,
        "referred": 6,
        "closed": X,
        "closed_resolved": 8,
        "closed_referred": 0,
        "closed_not_trafficking": 0,
        "closed_duplicate": SMALL,
        "closed_insufficient_information": 0,
        "lookups_all": 17,
        "lookups_licensed": 12,
        "lookups_unlicensed": 0,
        "lookups_not_found": 5,
        "agency_reported": SMALL,
        "agencies_reported": SMALL,
        "reach": 0,
        "treated": 0,
        "held_out": 0,
        "effect": "no holdout: nothing to compare with",
    }
    assert table.rows[-1][0] == "campaign: Safe jobs"
