"""Every webhook refuses a request without the right `?token=`: 403, and nothing changes.

The routes are read from the app's URL map when the tests are collected, so a webhook added later
is covered without touching this file. A route that is not a webhook must be listed in
`NOT_WEBHOOKS` with the reason; any other route that answers a tokenless request with anything
but 403 fails here.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hotline import create_app
from hotline.core.config import Config
from hotline.core.models import Base
from tests.conftest import ussd_form

TOKEN = "the-right-token-0123456789-0123456789"

# Routes that are not AT's callbacks, by endpoint, with why they take no token.
NOT_WEBHOOKS = {
    "health.healthz": "the load balancer's probe: reads only, and must answer without secrets",
    "home.index": "the page naming the endpoints: reads nothing stored, shows no secret",
    "static": "Flask's static files: none are served, and they would change nothing",
}
# The console's pages are for people signed in, not for AT: a session and CSRF tokens guard them
# (tests/test_accounts.py checks that every one of them is guarded).
CONSOLE = "/console"

# A well-formed request per webhook, so that only the token can be what refuses it. A webhook added
# later without an entry here is sent an empty form: it must still answer 403, before reading it.
FORMS = {
    "/ussd": ussd_form(text="1"),
    "/ussd/events": {
        "sessionId": "ATUid_token",
        "serviceCode": "*384*1234#",
        "networkCode": "63902",
        "phoneNumber": "+254711000001",
        "status": "Incomplete",
        "durationInMillis": "41230",
        "hopsCount": "4",
        "date": "2026-11-22 10:00:00",
    },
    "/sms/inbound": {
        "id": "ATXid_token",
        "from": "+254711000001",
        "to": "21606",
        "text": "TIP men locked in a yard",
        "date": "2026-11-22 10:00:00",
    },
    "/sms/opt-out": {"phoneNumber": "+254711000001", "senderId": "HOTLINE"},
    "/sms/delivery": {"id": "ATXid_token", "status": "Success", "phoneNumber": "+254711000001"},
}

WRONG_TOKENS = {"no token": "", "empty token": "?token=", "wrong token": "?token=wrong"}


def _routes() -> list[tuple[str, str]]:
    """(path, method) of every route but the listed non-webhooks, from an app built without connecting."""
    app = create_app(
        Config(env="testing", database_url="sqlite://", redis_url="redis://127.0.0.1:1/0", secret_key="x")
    )
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_WEBHOOKS or rule.rule.startswith(CONSOLE):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.rule, method))
    return sorted(found)


ROUTES = _routes()


def _state(ext) -> dict:
    """Rows per table, and every Redis key: what a refused request must leave as it was."""
    with ext.session_scope() as session:
        rows = {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }
    return {"rows": rows, "redis": sorted(ext.redis.keys("*"))}


def test_the_routes_read_from_the_url_map_include_every_known_webhook():
    assert {path for path, method in ROUTES if method == "POST"} >= set(FORMS)


@pytest.mark.parametrize(("path", "method"), ROUTES)
def test_a_webhook_without_the_right_token_is_a_403_and_changes_nothing(make_app, path, method):
    app = make_app(webhook_token=TOKEN)
    ext = app.extensions["hotline"]
    client = app.test_client()
    form = FORMS.get(path, {})
    before = _state(ext)
    for query in WRONG_TOKENS.values():
        response = client.open(path + query, method=method, data=form)
        assert response.status_code == 403, (query, response.get_data(as_text=True))
    assert _state(ext) == before
    # The same request with the token is let through: the 403s above came from the token alone.
    assert client.open(f"{path}?token={TOKEN}", method=method, data=form).status_code != 403


@pytest.mark.parametrize(
    ("path", "body"),
    [("/ussd", "END Forbidden."), ("/ussd/events", "forbidden\n"), ("/sms/inbound", "forbidden\n")],
)
def test_a_refused_callback_says_forbidden_in_the_form_its_caller_reads_and_closes(make_app, path, body):
    response = make_app(webhook_token=TOKEN).test_client().post(path, data=FORMS[path])
    answer = (response.status_code, response.get_data(as_text=True), response.mimetype)
    assert answer == (403, body, "text/plain")
    assert response.headers["Connection"] == "close"  # its body was never read


@pytest.mark.parametrize(
    ("path", "body"),
    [("/ussd", "END Sorry: method not allowed."), ("/sms/inbound", "405 Method Not Allowed\n")],
)
def test_a_wrong_method_is_a_405_with_allow_in_the_form_its_caller_reads(make_app, path, body):
    response = make_app(webhook_token=TOKEN).test_client().put(f"{path}?token={TOKEN}", data=FORMS[path])
    answer = (response.status_code, response.get_data(as_text=True), response.mimetype)
    assert answer == (405, body, "text/plain")
    assert response.headers["Allow"] == "POST"
    assert response.headers["Connection"] == "close"


@pytest.mark.parametrize("path", ["/ussd", "/sms/inbound", "/sms/delivery"])
def test_a_callback_whose_body_was_read_keeps_its_connection(make_app, path):
    response = make_app(webhook_token=TOKEN).test_client().post(f"{path}?token={TOKEN}", data=FORMS[path])
    assert response.status_code == 200
    assert "Connection" not in response.headers
