"""`GET /`: the page naming the callbacks, the health check and how to dial, with no secret on it."""

from __future__ import annotations

# What Africa's Talking must be told, and the load balancer's probe.
PATHS = ("/ussd", "/ussd/events", "/sms/inbound", "/sms/opt-out", "/sms/delivery", "/healthz")
TOKEN = "home-token-0123456789-0123456789-0123"


def test_the_page_names_every_callback_health_and_how_to_dial(client):
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    for path in PATHS:
        assert f"http://localhost{path}" in page
    assert "*384*1234#" in page and "make dial" in page
    assert "http://127.0.0.1:5001" in page  # no AT account: SMS go to the local simulator
    assert "Set-Cookie" not in response.headers  # nothing to keep between visits
    # Self-contained: nothing fetched from elsewhere, nothing run; its one stylesheet is its own file
    # (the Content-Security-Policy allows no inline style).
    assert "<script" not in page and "src=" not in page and "<style" not in page
    assert page.count("<link") == 2 and '<link rel="stylesheet" href="/static/home.css">' in page
    assert '<link rel="icon" href="data:,">' in page  # an empty icon: the browser asks for no favicon
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    with client.get("/static/home.css") as stylesheet:
        assert stylesheet.status_code == 200 and stylesheet.mimetype == "text/css"


def test_the_token_is_named_never_shown(make_app):
    client = make_app(webhook_token=TOKEN).test_client()
    page = client.get("/").get_data(as_text=True)
    assert "/ussd?token=WEBHOOK_TOKEN" in page and TOKEN not in page


def test_with_an_africas_talking_account_the_simulator_is_not_mentioned(make_app):
    client = make_app(at_username="hotline", at_api_key="key").test_client()
    page = client.get("/").get_data(as_text=True)
    assert "simulator" not in page and "*384*1234#" in page


def test_the_page_only_answers_get(client):
    response = client.post("/")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
