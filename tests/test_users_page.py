"""/console/users: the admin lists, creates, deactivates accounts and resets a lost authenticator,
through the same service as `flask users`; every change audited under the admin's name."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.accounts import users
from hotline.core.models import AuditEvent, FocalPoint, User
from tests.console import PASSWORD, csrf_token, make_user, sign_in_client


@pytest.fixture
def admin(ext, app):
    client = app.test_client()
    client.user = make_user(ext, "admin", email="admin@example.org")
    sign_in_client(client, client.user)
    return client


def new_account(admin, **fields):
    form = {"csrf_token": csrf_token(admin, "/console/users"), "email": "new@example.org", "role": "auditor",
            "county": "", "phone": "", "name": "", "password": PASSWORD, **fields}
    return admin.post("/console/users", data=form)


def test_the_admin_creates_a_focal_point_linked_to_a_new_directory_entry(ext, admin):
    response = new_account(admin, email="Wanjiru@Example.org", role="focal_point", county="47",
                           phone="0711 222 333", name="Jane Wanjiru")
    assert response.location == "/console/users"
    page = admin.get("/console/users").get_data(as_text=True)
    assert "wanjiru@example.org" in page and "two-factor not set up" in page and "Nairobi City" in page
    with ext.session_scope() as session:
        user = users.find(session, "wanjiru@example.org")
        entry = session.get(FocalPoint, user.focal_point_id)
        assert (entry.county_code, entry.phone, entry.name) == (47, "+254711222333", "Jane Wanjiru")
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user_created")).all()[-1]
        assert (event.actor, event.target) == ("admin@example.org", "wanjiru@example.org")


@pytest.mark.parametrize("fields, message", [
    ({"role": "focal_point", "county": "37", "phone": "12"}, "is not a phone number"),
    ({"role": "focal_point"}, "needs --county"),
    ({"password": "short"}, "at least 12 characters"),
    ({"email": "admin@example.org"}, "There is already an account for admin@example.org."),
    ({"role": "overlord"}, "Not a valid choice"),
    ({"county": "99"}, "Not a valid choice"),
])
def test_bad_input_is_a_form_error(ext, admin, fields, message):
    response = new_account(admin, **fields)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    with ext.session_scope() as session:
        assert users.find(session, "new@example.org") is None


def test_deactivation_ends_the_other_users_session_but_not_ones_own(ext, app, admin):
    other = make_user(ext, "secretariat")
    their_client = app.test_client()
    sign_in_client(their_client, other)
    token = csrf_token(admin, "/console/users")
    response = admin.post(f"/console/users/{other.user_id}/deactivate", data={"csrf_token": token})
    assert response.location == "/console/users"
    assert their_client.get("/console/account").status_code == 302
    own = admin.post(f"/console/users/{admin.user.user_id}/deactivate", data={"csrf_token": token})
    assert "cannot deactivate your own account" in admin.get(own.location).get_data(as_text=True)
    with ext.session_scope() as session:
        assert session.get(User, admin.user.user_id).active and not session.get(User, other.user_id).active
    assert admin.post("/console/users/999999/deactivate", data={"csrf_token": token}).status_code == 404
    assert admin.post(f"/console/users/{other.user_id}/deactivate").status_code == 400  # no token


def test_reset_two_factor(ext, admin):
    other = make_user(ext, "focal_point")
    token = csrf_token(admin, "/console/users")
    response = admin.post(f"/console/users/{other.user_id}/reset-two-factor", data={"csrf_token": token})
    assert response.status_code == 302
    with ext.session_scope() as session:
        assert not users.enrolled(session.get(User, other.user_id))
        assert session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "two_factor_reset")) == (
            "admin@example.org")


@pytest.mark.parametrize("role", ["secretariat", "focal_point", "auditor", "campaign_manager"])
def test_only_admins_open_it(ext, app, role):
    client = app.test_client()
    sign_in_client(client, make_user(ext, role))
    assert client.get("/console/users").status_code == 403


def test_the_admin_sees_users_in_the_navigation(admin):
    page = admin.get("/console/home").get_data(as_text=True)
    assert 'href="/console/users"' in page and 'href="/console/audit"' not in page
