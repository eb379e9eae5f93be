"""The referral organisations directory (hotline.tips.referrals): checks by field, the organisations a
county's tip can be referred to, edits and deactivation in the audit log, the demo organisations.
Real database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.core.csv_import import FieldErrors
from hotline.core.models import AuditEvent, ReferralOrganisation, User
from hotline.tips import referrals

POLICE = dict(county_code="37", name="Kakamega Police gender desk", kind="police",
              phone="020 2000137", email="")


@pytest.fixture
def secretariat(ext) -> int:
    """A secretariat console account (its id): the one who keeps the directory."""
    with ext.session_scope() as session:
        user = User(email="desk@ctip.example", password_hash="-", role="secretariat", session_token="t")
        session.add(user)
        session.flush()
        return user.id


def add(ext, user_id=None, **overrides) -> int:
    with ext.session_scope() as session:
        by = session.get(User, user_id) if user_id else None
        return referrals.add(session, {**POLICE, **overrides}, by).id


def names(organisations) -> list[str]:
    return [organisation.name for organisation in organisations]


def test_an_organisation_is_added_normalised_and_audited(ext, secretariat):
    organisation_id = add(ext, secretariat, email="Desk@Police.example.ORG")
    with ext.session_scope() as session:
        added = session.get(ReferralOrganisation, organisation_id)
        assert (added.county_code, added.kind, added.phone, added.email, added.active) == (
            37, "police", "+254202000137", "desk@police.example.org", True)
        event = session.scalars(select(AuditEvent)).one()
        assert (event.actor, event.action, event.target) == (
            "desk@ctip.example", "referral_organisation.added",
            f"referral_organisation:{organisation_id} Kakamega Police gender desk (Kakamega)")
        assert event.detail["phone"] == "+254202000137"


@pytest.mark.parametrize("field, value, problem", [
    ("name", "", "name is empty"),
    ("name", "n" * 161, "name is longer than 160 characters (161)"),
    ("kind", "army", "kind 'army' is not one of police, dci_atu, children, labour, shelter, ngo, health, "
                     "other"),
    ("county_code", "48", "county '48' is not a Kenyan county (1-47, or national)"),
    ("county_code", "Kakamega", "county 'Kakamega' is not a Kenyan county (1-47, or national)"),
    ("phone", "12345", "phone '12345' is not a valid Kenyan number"),
    ("phone", "+441632960000", "phone '+441632960000' is not a valid Kenyan number"),
    ("phone", "call us", "phone 'call us' is not a phone number"),
    ("email", "desk@", "e-mail 'desk@' is not an e-mail address (name@example.org)"),
    ("email", "a b@example.org", "e-mail 'a b@example.org' is not an e-mail address (name@example.org)"),
])
def test_a_bad_field_is_named_with_its_reason_and_nothing_is_added(ext, field, value, problem):
    with ext.session_scope() as session, pytest.raises(FieldErrors) as refused:
        referrals.add(session, {**POLICE, field: value}, None)
    assert refused.value.problems == {field: problem}
    with ext.session_scope() as session:
        assert session.scalars(select(ReferralOrganisation)).all() == []
        assert session.scalars(select(AuditEvent)).all() == []


@pytest.mark.parametrize("county", ["", "0", "national"])
def test_a_national_organisation_has_no_county_and_phone_and_email_may_be_empty(ext, county):
    organisation_id = add(ext, county_code=county, kind="dci_atu", name="DCI ATU", phone="", email="")
    with ext.session_scope() as session:
        added = session.get(ReferralOrganisation, organisation_id)
        assert (added.county_code, added.phone, added.email) == (None, None, None)


def test_a_name_is_taken_once_per_county(ext):
    add(ext)
    with ext.session_scope() as session, pytest.raises(FieldErrors) as refused:
        referrals.add(session, {**POLICE, "name": "KAKAMEGA police gender desk"}, None)
    taken = "Kakamega Police gender desk is already in the directory for Kakamega"
    assert refused.value.problems == {"name": taken}
    add(ext, county_code="47")  # the same name elsewhere is another office


def test_a_county_tip_is_offered_its_countys_active_organisations_then_the_national_ones(ext):
    add(ext)
    add(ext, name="Kakamega shelter", kind="shelter", phone="")
    add(ext, county_code="47", name="Nairobi Police gender desk")
    add(ext, county_code="national", name="DCI ATU", kind="dci_atu")
    closed = add(ext, name="Closed shelter", kind="shelter", phone="")
    with ext.session_scope() as session:
        referrals.deactivate(session, session.get(ReferralOrganisation, closed), None)
        assert names(referrals.organisations_for(session, 37)) == [
            "Kakamega Police gender desk", "Kakamega shelter", "DCI ATU"]
        assert names(referrals.organisations_for(session, 47)) == ["Nairobi Police gender desk", "DCI ATU"]
        assert names(referrals.organisations_for(session, None)) == ["DCI ATU"]
        assert names(referrals.directory(session, "national")) == ["DCI ATU"]
        assert names(referrals.directory(session, "37")) == [
            "Kakamega Police gender desk", "Closed shelter", "Kakamega shelter"]
        assert len(referrals.directory(session)) == 5


def test_an_edit_records_what_changed_and_deactivating_is_recorded_once(ext, secretariat):
    organisation_id = add(ext, secretariat)
    with ext.session_scope() as session:
        user = session.get(User, secretariat)
        organisation = session.get(ReferralOrganisation, organisation_id)
        assert referrals.edit(session, organisation, POLICE, user) == {}
        changes = referrals.edit(session, organisation, {**POLICE, "kind": "dci_atu", "phone": ""}, user)
        assert changes == {"kind": ["police", "dci_atu"], "phone": ["+254202000137", None]}
        assert referrals.deactivate(session, organisation, user) is True
        assert referrals.deactivate(session, organisation, user) is False
        changes = referrals.edit(session, organisation, {**POLICE, "active": "true"}, user)
        assert changes["active"] == [False, True]
    with ext.session_scope() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        assert [(event.action, event.detail) for event in events][1:] == [
            ("referral_organisation.changed", {"kind": ["police", "dci_atu"],
                                               "phone": ["+254202000137", None]}),
            ("referral_organisation.deactivated", {"active": [True, False]}),
            ("referral_organisation.changed", {"kind": ["dci_atu", "police"],
                                               "phone": [None, "+254202000137"], "active": [False, True]}),
        ]


def test_every_kind_has_a_label():
    assert referrals.kind_label("dci_atu") == "DCI anti-trafficking unit"
    kinds = {"police", "dci_atu", "children", "labour", "shelter", "ngo", "health", "other"}
    assert set(referrals.KINDS) == kinds


def test_the_demo_organisations_are_added_once(app, ext):
    result = app.test_cli_runner().invoke(args=["seed", "--demo"])
    assert "demo referral organisations: 6 in the directory" in result.output, result.output
    with ext.session_scope() as session:
        kakamega = referrals.organisations_for(session, 37)
        assert [o.kind for o in kakamega] == ["children", "police", "dci_atu"]
        assert all(o.phone.startswith(("+25420", "+2547000")) for o in referrals.directory(session))
        assert referrals.seed_demo(session) == 0
