"""The focal-point directory kept one entry at a time (hotline.tips.focal_points: add, edit, deactivate):
the CSV import's own checks and words, unique (county, phone), the audit log, and routing that uses a
change for the very next tip. Real database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.core.csv_import import FieldErrors, RowError
from hotline.core.models import AuditEvent, FocalPoint, OutboundSms, Tip, User, utcnow
from hotline.tips import focal_points, routing
from hotline.tips.submission import NewTip, submit_tip

ENTRY = dict(county_code="37", name="Officer Kakamega", organisation="County children's office",
             phone="0700 000 101", priority="1", active="true")


@pytest.fixture
def secretariat(ext) -> int:
    """A secretariat console account (its id): the one who keeps the directory."""
    with ext.session_scope() as session:
        user = User(email="desk@ctip.example", password_hash="-", role="secretariat", session_token="t")
        session.add(user)
        session.flush()
        return user.id


def add(ext, user_id, **overrides) -> int:
    with ext.session_scope() as session:
        return focal_points.add(session, {**ENTRY, **overrides}, session.get(User, user_id)).id


def audit_log(ext) -> list[tuple]:
    with ext.session_scope() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.actor, e.action, e.target, e.detail) for e in events]


def test_an_entry_is_added_in_the_imports_form_and_audited(ext, secretariat):
    focal_point_id = add(ext, secretariat)
    with ext.session_scope() as session:
        added = session.get(FocalPoint, focal_point_id)
        stored = (added.county_code, added.phone, added.priority, added.active)
        assert stored == (37, "+254700000101", 1, True)
    assert audit_log(ext) == [(
        "desk@ctip.example", "focal_point.added", f"focal_point:{focal_point_id} Officer Kakamega (Kakamega)",
        {"county_code": 37, "name": "Officer Kakamega", "organisation": "County children's office",
         "phone": "+254700000101", "priority": 1, "active": True},
    )]


@pytest.mark.parametrize("field, value", [
    ("phone", "0123"),
    ("phone", "not a number"),
    ("phone", "+254202222222"),  # a landline: tips go by SMS
    ("phone", ""),
    ("county_code", "48"),
    ("county_code", "Kakamega"),
    ("name", ""),
    ("name", "x" * 121),
    ("organisation", "y" * 161),
    ("priority", "0"),
    ("priority", "first"),
    ("active", "maybe"),
])
def test_a_bad_field_is_refused_in_the_csv_imports_own_words(ext, secretariat, field, value):
    values = {**ENTRY, field: value}
    with pytest.raises(RowError) as imported:
        focal_points.validate_row(values)
    with ext.session_scope() as session, pytest.raises(FieldErrors) as typed:
        focal_points.add(session, values, session.get(User, secretariat))
    assert typed.value.problems == {field: str(imported.value)}
    with ext.session_scope() as session:
        assert session.scalars(select(FocalPoint)).all() == []
    assert audit_log(ext) == []


def test_every_bad_field_is_named_at_once(ext, secretariat):
    with ext.session_scope() as session, pytest.raises(FieldErrors) as refused:
        focal_points.add(session, {**ENTRY, "phone": "12", "priority": "", "name": " "}, None)
    assert sorted(refused.value.problems) == ["name", "phone", "priority"]


def test_a_county_has_a_phone_once_but_another_county_may_have_it_too(ext, secretariat):
    add(ext, secretariat)
    with ext.session_scope() as session, pytest.raises(FieldErrors) as refused:
        focal_points.add(session, {**ENTRY, "name": "Someone else", "phone": "+254700000101"}, None)
    assert refused.value.problems == {
        "phone": "phone +254700000101 is already in the directory for Kakamega (Officer Kakamega)"
    }
    add(ext, secretariat, county_code="0", name="Secretariat desk")  # the same person, nationally
    with ext.session_scope() as session:
        assert [fp.county_code for fp in focal_points.directory(session)] == [0, 37]


def test_an_edit_changes_what_differs_audits_it_and_refuses_a_taken_phone(ext, secretariat):
    first = add(ext, secretariat)
    second = add(ext, secretariat, name="Officer B", phone="0700000102", priority="2")
    with ext.session_scope() as session:
        user, entry = session.get(User, secretariat), session.get(FocalPoint, second)
        assert focal_points.edit(session, entry, {**ENTRY, "name": "Officer B", "phone": "0700000102",
                                                  "priority": "2"}, user) == {}
        typed = {**ENTRY, "name": "Officer B", "phone": "0700000103"}
        changes = focal_points.edit(session, entry, typed, user)
        assert changes == {"phone": ["+254700000102", "+254700000103"], "priority": [2, 1]}
        with pytest.raises(FieldErrors) as refused:
            focal_points.edit(session, entry, {**ENTRY, "name": "Officer B"}, user)
        assert list(refused.value.problems) == ["phone"]
        assert session.get(FocalPoint, first).phone == "+254700000101"
    assert [(action, detail) for _a, action, _t, detail in audit_log(ext)[2:]] == [
        ("focal_point.changed", {"phone": ["+254700000102", "+254700000103"], "priority": [2, 1]}),
    ]


def test_deactivating_stops_notifying_and_is_audited_once(ext, secretariat):
    focal_point_id = add(ext, secretariat)
    with ext.session_scope() as session:
        entry = session.get(FocalPoint, focal_point_id)
        assert focal_points.deactivate(session, entry, session.get(User, secretariat)) is True
        assert focal_points.deactivate(session, entry, session.get(User, secretariat)) is False
        assert focal_points.for_county(session, 37) == []
    actions = [action for _a, action, _t, _d in audit_log(ext)]
    assert actions == ["focal_point.added", "focal_point.deactivated"]


def route(ext, source_id: str) -> list[str]:
    """Submit a Kakamega tip and notify its first stage, as the routing job does; the phones it went to."""
    new = NewTip(channel="ussd", source_id=source_id, kind="forced_labour", reporter_key="0" * 64,
                 county_code=37, place="Lurambi market")
    tip_id = submit_tip(ext.session_scope, new).id
    with ext.session_scope() as session:
        routing.notify_stage(session, ext.config, session.get(Tip, tip_id), 0, utcnow())
    with ext.session_scope() as session:
        query = select(FocalPoint.phone).join(OutboundSms).where(OutboundSms.tip_id == tip_id)
        return sorted(session.scalars(query))


def test_routing_uses_a_change_for_the_very_next_tip(ext, secretariat):
    add(ext, secretariat, county_code="0", name="Secretariat desk", phone="0700000191")
    assert route(ext, "test:1") == ["+254700000191"]  # no county focal point yet: the secretariat
    kakamega = add(ext, secretariat)
    assert route(ext, "test:2") == ["+254700000101"]
    with ext.session_scope() as session:
        entry = session.get(FocalPoint, kakamega)
        focal_points.edit(session, entry, {**ENTRY, "phone": "0700000109"}, None)
    assert route(ext, "test:3") == ["+254700000109"]
    with ext.session_scope() as session:
        focal_points.deactivate(session, session.get(FocalPoint, kakamega), None)
    assert route(ext, "test:4") == ["+254700000191"]
