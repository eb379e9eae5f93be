"""The end-of-session notification and the health check."""

from __future__ import annotations

from sqlalchemy import select

from hotline.core.models import UssdSessionEnd
from tests.conftest import ussd_form


def event(**overrides) -> dict:
    form = {
        "sessionId": "ATUid_1",
        "serviceCode": "*384*1234#",
        "networkCode": "63902",
        "phoneNumber": "+254711000001",
        "status": "Incomplete",
        "cost": "KES 0.0",
        "durationInMillis": "41230",
        "hopsCount": "4",
        "input": "1*1*secret words",
        "lastAppResponse": "CON ...",
        "errorMessage": "",
        "date": "2026-11-22 10:00:00",
    }
    form.update(overrides)
    return form


def test_session_end_is_stored_once_without_number_or_input(ext, client):
    client.post("/ussd", data=ussd_form(sessionId="ATUid_1", text=""))
    client.post("/ussd", data=ussd_form(sessionId="ATUid_1", text="1"))
    assert client.post("/ussd/events", data=event()).status_code == 200
    assert client.post("/ussd/events", data=event(status="Failed")).status_code == 200  # AT retried
    with ext.session_scope() as session:
        [row] = session.scalars(select(UssdSessionEnd)).all()
        values = {c.name: getattr(row, c.name) for c in UssdSessionEnd.__table__.columns}
    assert (row.status, row.last_screen, row.language, row.duration_ms, row.hops) == (
        "Incomplete",
        "tip_kind",
        "en",
        41230,
        4,
    )
    assert "secret" not in str(values) and "711000001" not in str(values)


def test_malformed_session_end_is_a_400(client):
    response = client.post("/ussd/events", data=event(status=""))
    assert (
        response.status_code == 400
        and response.get_data(as_text=True) == "bad request: missing field status\n"
    )
    assert client.post("/ussd/events", data=event(sessionId="")).status_code == 400
    assert client.post("/ussd/events", data=event(durationInMillis="soon")).status_code == 200


def test_health_reports_database_redis_and_queues(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "database": "ok",
        "redis": "ok",
        "queues": {"tips": 0, "default": 0, "campaigns": 0},
        "delivery_reports_buffered": 0,
        "sms_overdue": 0,
        "followup_lookups": {
            "current": {"failed": 0, "budget": 50, "window_seconds": 3600, "alarm": False},
            "old": {"failed": 0, "budget": 2, "window_seconds": 86400, "alarm": False},
        },
        "status": "ok",
    }


def test_unknown_paths_and_methods_are_plain_4xx(client):
    assert client.get("/ussd").status_code == 405
    assert client.get("/ussd").get_data(as_text=True).startswith("END ")
    assert client.get("/nope").status_code == 404
