"""The case-level dataset (hotline.evidence.dataset): exact rows for hand-built tips (the HTCDS
mapping, the Nairobi week, the flags, the first referral), the stable row id, the JSON's field
descriptions, dates. Real database."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from hotline.core.models import Referral, ReferralOrganisation, Tip
from hotline.evidence import dataset
from hotline.evidence.fields import ATTRIBUTION
from tests.builders import add_agency, add_tip

KAKAMEGA, NAIROBI = 37, 47
NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def organisation(session, kind: str, name: str) -> ReferralOrganisation:
    entry = ReferralOrganisation(
        county_code=KAKAMEGA, name=name, kind=kind, phone="+254711000111", email="desk@org.example"
    )
    session.add(entry)
    session.flush()
    return entry


@pytest.fixture
def tips(ext):
    """Four tips whose every column is counted by hand below; their ids in order."""
    with ext.session_scope() as session:
        police, shelter = organisation(session, "police", "Police"), organisation(session, "shelter", "Home")
        agency = add_agency(session)
        # Sunday 22:30 UTC is Monday 01:30 in Nairobi: ISO week 45, not 44.
        a = add_tip(
            session,
            datetime(2026, 11, 1, 22, 30, tzinfo=UTC),
            kind="child_marriage",
            acknowledged_at=datetime(2026, 11, 2, 8, 30, tzinfo=UTC),
            case_status="ClosedReferred",
            closure_reason="referred",
            folder="closed",
            closed_at=datetime(2026, 11, 6, tzinfo=UTC),
        )
        # Two referrals: the first by date (the shelter) fills the HTCDS referral fields.
        session.add_all(
            [
                Referral(
                    tip_id=a.id,
                    organisation_id=police.id,
                    referred_on=date(2026, 11, 5),
                    reason="AdditionalServicesRequired",
                    details="Call 0712 345 678",
                ),
                Referral(
                    tip_id=a.id, organisation_id=shelter.id, referred_on=date(2026, 11, 3), reason="Other"
                ),
            ]
        )
        # Urgent: 15 minutes to acknowledge; 20 is late. Escalated once, reports an agency, no county.
        b = add_tip(
            session,
            datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
            kind="armed_conflict",
            urgent=True,
            county_code=None,
            acknowledged_at=datetime(2026, 11, 3, 9, 20, tzinfo=UTC),
            escalation_level=1,
            agency_id=agency.id,
            children="yes",
            danger="yes",
        )
        # Not acknowledged, 3 hours old of 24: pending.
        c = add_tip(
            session,
            datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
            kind="recruitment_fraud",
            channel="sms",
            county_code=NAIROBI,
        )
        # Not acknowledged and two days old: no. Closed as not trafficking.
        d = add_tip(
            session,
            datetime(2026, 10, 31, 9, 0, tzinfo=UTC),
            kind="organ_removal",
            case_status="Closed",
            closure_reason="not_trafficking",
            folder="closed",
            closed_at=datetime(2026, 11, 2, tzinfo=UTC),
        )
        session.flush()
        return [a.id, b.id, c.id, d.id]


def export(ext, fmt="csv", **options) -> str:
    out = io.StringIO()
    with ext.session_scope() as session:
        table = dataset.table(session, ext.config, now=NOW, **options)
        from hotline.evidence import formats

        written = formats.write(table, out, fmt)
    text = out.getvalue()
    assert written == (len(json.loads(text)["rows"]) if fmt == "json" else text.count("\n") - 1)
    return text


def test_rows_are_exactly_as_counted_by_hand(ext, tips):
    rows = list(csv.DictReader(io.StringIO(export(ext))))
    a, b, c, d = (dataset.row_id(tip_id, ext.config) for tip_id in tips)
    common = {
        "referrals": "0",
        "cas_ReferredOrganisation": "",
        "referred_organisation_kind": "",
        "cas_OutgoingReferralDate": "",
        "cas_ReasonForOutgoingReferral": "",
        "cas_ReasonForCaseClosure": "",
        "urgent": "no",
        "children": "unsure",
        "danger": "unsure",
        "escalated": "no",
        "agency_reported": "no",
        "channel": "ussd",
        "cas_Status": "Active",
        "outcome": "open",
    }
    assert rows == [
        {
            **common,
            "row_id": a,
            "week": "2026-W45",
            "county_code": "37",
            "county_name": "Kakamega",
            "kind": "child_marriage",
            "vic_TypeOfExploitation": "ForcedMarriage",
            "acknowledged_within_deadline": "yes",
            "cas_Status": "ClosedReferred",
            "cas_ReasonForCaseClosure": "Referred",
            "outcome": "referred",
            "referrals": "2",
            "cas_ReferredOrganisation": "NGO",
            "referred_organisation_kind": "shelter",
            "cas_OutgoingReferralDate": "2026-11-03",
            "cas_ReasonForOutgoingReferral": "Other",
        },
        {
            **common,
            "row_id": b,
            "week": "2026-W45",
            "county_code": "",
            "county_name": "",
            "kind": "armed_conflict",
            "vic_TypeOfExploitation": "ForcedMilitaryByNonStateActors",
            "urgent": "yes",
            "children": "yes",
            "danger": "yes",
            "acknowledged_within_deadline": "no",
            "escalated": "yes",
            "agency_reported": "yes",
        },
        {
            **common,
            "row_id": c,
            "week": "2026-W45",
            "county_code": "47",
            "county_name": "Nairobi City",
            "channel": "sms",
            "kind": "recruitment_fraud",
            "vic_TypeOfExploitation": "Other",
            "acknowledged_within_deadline": "pending",
        },
        {
            **common,
            "row_id": d,
            "week": "2026-W44",
            "county_code": "37",
            "county_name": "Kakamega",
            "kind": "organ_removal",
            "vic_TypeOfExploitation": "OrganRemoval",
            "acknowledged_within_deadline": "no",
            "cas_Status": "Closed",
            "cas_ReasonForCaseClosure": "Not trafficking",
            "outcome": "not_trafficking",
        },
    ]


def test_the_row_id_is_stable_keyed_and_neither_reference_nor_id(ext, tips):
    first, again = export(ext), export(ext)
    assert first == again  # the same tips, the same rows: exports made apart join on row_id
    ids = [row["row_id"] for row in csv.DictReader(io.StringIO(first))]
    assert len(set(ids)) == 4 and all(len(i) == 16 for i in ids)
    other_key = dataset.row_id(tips[0], ext.config.replace(phone_hash_key="another key"))
    assert other_key != ids[0]
    with ext.session_scope() as session:
        for tip_id in tips:
            reference = session.get(Tip, tip_id).reference
            assert reference not in first and str(tip_id) not in ids


def test_dates_cut_by_kenyan_day_and_free_text_only_when_asked(ext, tips):
    # Saturday 31 October in Kenya holds tip d only; 1 November (Kenya) holds none (a is the 2nd there).
    rows = list(csv.DictReader(io.StringIO(export(ext, since=date(2026, 10, 31), until=date(2026, 11, 1)))))
    assert [row["kind"] for row in rows] == ["organ_removal"]
    plain = export(ext)
    assert "place" not in plain.splitlines()[0] and "Lurambi" not in plain
    free = list(csv.DictReader(io.StringIO(export(ext, free_text=True))))
    assert free[0]["place"] == "Lurambi market" and free[0]["description"] == "Men locked in a yard"


def test_json_describes_each_field_and_streams_the_same_rows(ext, tips):
    document = json.loads(export(ext, "json"))
    assert document["attribution"] == ATTRIBUTION and "CC BY 4.0" in ATTRIBUTION
    assert document["generated_at"] == "2026-11-03T12:00:00+00:00"
    names = [f["name"] for f in document["fields"]]
    assert names == [f.name for f in dataset.fields()]
    described = {f["name"]: f for f in document["fields"]}
    assert described["cas_Status"]["htcds"] is True and described["cas_Status"]["label"] == "Status"
    assert described["cas_Status"]["values"] == ["Active", "FollowUp", "Closed", "ClosedReferred"]
    assert described["week"]["htcds"] is False and described["week"]["description"]
    assert set(described["vic_TypeOfExploitation"]["values"]) >= set(dataset.EXPLOITATION.values())
    csv_rows = list(csv.DictReader(io.StringIO(export(ext))))
    assert [row["row_id"] for row in document["rows"]] == [row["row_id"] for row in csv_rows]
    assert document["rows"][0]["referrals"] == 2 and document["rows"][1]["county_code"] is None


def test_every_kind_maps_to_an_htcds_type_of_exploitation():
    allowed = set(dataset.fields()[6].values)
    from flows.menu import TIP_KINDS

    mapped = {kind: dataset.EXPLOITATION.get(kind, "Other") for kind in TIP_KINDS}
    assert set(mapped.values()) <= allowed
    assert [kind for kind, value in mapped.items() if value == "Other"] == [
        "recruitment_fraud",
        "documents_taken",
        "missing_person",
        "slavery",
        "other",
    ]
    assert dataset.week_of(datetime(2026, 1, 1, tzinfo=UTC) - timedelta(hours=1)) == "2026-W01"
