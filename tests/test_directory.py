"""The directory pages (hotline.directory.views) through Flask's test client: who may open them, the
forms' errors beside their fields in the CSV import's words, every change in the audit log, and bad
input answered with a page, never a 500."""

from __future__ import annotations

import pytest
from markupsafe import escape
from sqlalchemy import select

from hotline.core.models import AuditEvent, FocalPoint, ReferralOrganisation
from hotline.tips import focal_points
from tests.console import csrf_token, make_user, sign_in_client

FOCAL_POINTS = "/console/directory/focal-points"
ORGANISATIONS = "/console/directory/organisations"
ENTRY = dict(county_code="37", name="Officer Kakamega", organisation="County children's office",
             phone="0700 000 101", priority="1", active="y")
POLICE = dict(county_code="37", kind="police", name="Kakamega Police gender desk", phone="020 2000137",
              email="", active="y")


@pytest.fixture
def signed_in(ext, app):
    """A test client signed in with the given role (a new account each time)."""

    def sign_in(role: str):
        client = app.test_client()
        sign_in_client(client, make_user(ext, role))
        return client

    return sign_in


def post(client, path: str, form_path: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, form_path), **data})


def entries(ext) -> list[tuple]:
    with ext.session_scope() as session:
        return [(fp.county_code, fp.phone, fp.name, fp.priority, fp.active)
                for fp in focal_points.directory(session)]


def audit_actions(ext) -> list[tuple]:
    with ext.session_scope() as session:
        directory_changes = select(AuditEvent).where(AuditEvent.action.like("%.%")).order_by(AuditEvent.id)
        events = session.scalars(directory_changes)
        return [(e.actor, e.action, e.target, e.detail) for e in events]


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in (FOCAL_POINTS, ORGANISATIONS, FOCAL_POINTS + "/new", ORGANISATIONS + "/new"):
        response = client.get(path)
        assert response.status_code == 302 and "/console/sign-in" in response.location


@pytest.mark.parametrize("role", ["focal_point", "campaign_manager", "auditor"])
def test_other_roles_get_403_on_every_page(signed_in, role):
    client = signed_in(role)
    for path in (FOCAL_POINTS, FOCAL_POINTS + "/new", ORGANISATIONS, ORGANISATIONS + "/new",
                 "/console/directory/"):
        response = client.get(path)
        assert response.status_code == 403 and "Your role may not open this page" in response.text


def test_the_secretariat_adds_a_focal_point_and_it_is_audited(ext, signed_in):
    client = signed_in("secretariat")
    response = post(client, FOCAL_POINTS + "/new", FOCAL_POINTS + "/new", **ENTRY)
    assert response.status_code == 302 and response.location.endswith(f"{FOCAL_POINTS}?county=37")
    assert entries(ext) == [(37, "+254700000101", "Officer Kakamega", 1, True)]
    page = client.get(response.location).text
    assert "Officer Kakamega added" in page and 'href="tel:+254700000101"' in page
    [(actor, action, target, detail)] = audit_actions(ext)
    assert (actor, action) == ("secretariat1@example.org", "focal_point.added")
    assert target.endswith("Officer Kakamega (Kakamega)") and detail["phone"] == "+254700000101"


@pytest.mark.parametrize("field, value", [
    ("phone", "0123"), ("phone", "+254202222222"), ("county_code", "99"), ("priority", "0"),
    ("name", "n" * 121), ("name", ""),
])
def test_a_refused_field_shows_the_imports_reason_beside_it(ext, signed_in, field, value):
    client = signed_in("admin")
    response = post(client, FOCAL_POINTS + "/new", FOCAL_POINTS + "/new", **{**ENTRY, field: value})
    assert response.status_code == 200
    reason = focal_points.PARSERS[field]
    with pytest.raises(ValueError) as imported:
        reason(value)
    assert f'<small class="error" role="alert">{escape(str(imported.value))}</small>' in response.text
    assert entries(ext) == [] and audit_actions(ext) == []


def test_html_in_a_name_is_shown_as_text(ext, signed_in):
    client = signed_in("secretariat")
    post(client, FOCAL_POINTS + "/new", FOCAL_POINTS + "/new", **{**ENTRY, "name": "<b>Bold</b> officer"})
    page = client.get(FOCAL_POINTS).text
    assert "&lt;b&gt;Bold&lt;/b&gt; officer" in page and "<b>Bold</b>" not in page


def test_an_edit_shows_the_entry_changes_it_and_audits_what_changed(ext, signed_in):
    client = signed_in("admin")
    post(client, FOCAL_POINTS + "/new", FOCAL_POINTS + "/new", **ENTRY)
    focal_point_id = next(fp_id for fp_id, in _ids(ext, FocalPoint))
    path = f"{FOCAL_POINTS}/{focal_point_id}"
    form = client.get(path).text
    assert 'value="Officer Kakamega"' in form and '<option selected value="37">' in form
    response = post(client, path, path, **{**ENTRY, "priority": "2", "phone": "+254700000109"})
    assert response.status_code == 302
    assert "changed phone, priority" in client.get(response.location).text
    assert audit_actions(ext)[-1][1:] == ("focal_point.changed", audit_actions(ext)[-1][2], {
        "phone": ["+254700000101", "+254700000109"], "priority": [1, 2]})


def test_deactivating_needs_its_token_and_unknown_ids_are_404(ext, signed_in):
    client = signed_in("secretariat")
    post(client, FOCAL_POINTS + "/new", FOCAL_POINTS + "/new", **ENTRY)
    focal_point_id = next(fp_id for fp_id, in _ids(ext, FocalPoint))
    refused = client.post(f"{FOCAL_POINTS}/{focal_point_id}/deactivate")
    assert refused.status_code == 400 and "Form expired" in refused.text
    assert entries(ext)[0][-1] is True
    done = post(client, f"{FOCAL_POINTS}/{focal_point_id}/deactivate", FOCAL_POINTS)
    assert done.status_code == 302 and entries(ext)[0][-1] is False
    assert [action for _a, action, _t, _d in audit_actions(ext)][-1] == "focal_point.deactivated"
    for path in (f"{FOCAL_POINTS}/999999", f"{ORGANISATIONS}/999999"):
        assert client.get(path).status_code == 404
        assert post(client, path + "/deactivate", FOCAL_POINTS).status_code == 404


def test_the_county_filter_narrows_the_list_and_ignores_nonsense(ext, signed_in):
    client = signed_in("secretariat")
    post(client, FOCAL_POINTS + "/new", FOCAL_POINTS + "/new", **ENTRY)
    nairobi = {**ENTRY, "county_code": "47", "name": "Nairobi"}
    post(client, FOCAL_POINTS + "/new", FOCAL_POINTS + "/new", **nairobi)
    assert "Nairobi" not in client.get(FOCAL_POINTS + "?county=37").text.split("<table")[-1]
    for nonsense in ("abc", "99", "<script>"):
        page = client.get(FOCAL_POINTS, query_string={"county": nonsense})
        assert page.status_code == 200
        assert "Officer Kakamega" in page.text and "Nairobi City (47)</td>" in page.text


def test_the_secretariat_keeps_the_referral_directory(ext, signed_in):
    client = signed_in("secretariat")
    response = post(client, ORGANISATIONS + "/new", ORGANISATIONS + "/new", **POLICE)
    assert response.status_code == 302
    organisation_id = next(org_id for org_id, in _ids(ext, ReferralOrganisation))
    page = client.get(ORGANISATIONS).text
    assert "Kakamega Police gender desk" in page and "Police (gender and children&#39;s desk)" in page
    bad = post(client, f"{ORGANISATIONS}/{organisation_id}", f"{ORGANISATIONS}/{organisation_id}",
               **{**POLICE, "email": "desk@", "phone": "12"})
    assert escape("e-mail 'desk@' is not an e-mail address (name@example.org)") in bad.text
    assert escape("phone '12' is not a valid Kenyan number") in bad.text
    post(client, f"{ORGANISATIONS}/{organisation_id}", f"{ORGANISATIONS}/{organisation_id}",
         **{**POLICE, "county_code": "national", "kind": "dci_atu"})
    post(client, f"{ORGANISATIONS}/{organisation_id}/deactivate", ORGANISATIONS)
    assert [(action, detail) for _a, action, _t, detail in audit_actions(ext)][1:] == [
        ("referral_organisation.changed", {"county_code": [37, None], "kind": ["police", "dci_atu"]}),
        ("referral_organisation.deactivated", {"active": [True, False]}),
    ]


def test_an_admin_reads_the_referral_directory_but_does_not_change_it(ext, signed_in):
    keeper = signed_in("secretariat")
    post(keeper, ORGANISATIONS + "/new", ORGANISATIONS + "/new", **POLICE)
    organisation_id = next(org_id for org_id, in _ids(ext, ReferralOrganisation))
    admin = signed_in("admin")
    page = admin.get(ORGANISATIONS).text
    assert "Kakamega Police gender desk" in page
    assert "Add an organisation" not in page and "Deactivate" not in page
    assert admin.get(ORGANISATIONS + "/new").status_code == 403
    assert admin.get(f"{ORGANISATIONS}/{organisation_id}").status_code == 403
    assert post(admin, f"{ORGANISATIONS}/{organisation_id}/deactivate", ORGANISATIONS).status_code == 403


def _ids(ext, model):
    with ext.session_scope() as session:
        return list(session.execute(select(model.id).order_by(model.id)))
