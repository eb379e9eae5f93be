"""The app factory: what every request costs before a view runs."""

from __future__ import annotations

from flask import session
from flask.sessions import NullSession, SecureCookieSession

from tests.conftest import ussd_form


def test_webhooks_get_no_signed_cookie_session(client):
    # Flask opens the session before it matches the URL: the webhook must be known by its path.
    with client:
        assert client.post("/ussd", data=ussd_form()).text.startswith("CON ")
        assert isinstance(session._get_current_object(), NullSession)
    with client:
        client.get("/healthz")
        assert isinstance(session._get_current_object(), NullSession)
    with client:
        client.get("/no-such-page")
        assert isinstance(session._get_current_object(), SecureCookieSession)
