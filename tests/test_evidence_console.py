"""/console/dataset: the secretariat's download, streamed, in the audit log with who and from where;
every other role refused; bad choices answered on the page. Flask's test client, real database."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hotline.core.models import AuditEvent
from hotline.core.privacy import reporter_key
from tests.builders import add_tip
from tests.console import csrf_token, make_user, sign_in_client

PATH = "/console/dataset"


@pytest.fixture
def secretariat(ext, app):
    client = app.test_client()
    user = make_user(ext, "secretariat", email="desk@example.org")
    sign_in_client(client, user)
    with ext.session_scope() as session:
        for day, county in ((2, 37), (3, 47), (4, 37)):
            add_tip(
                session,
                datetime(2026, 11, day, 6, tzinfo=UTC),
                kind="servitude",
                county_code=county,
                place="Kileleshwa, call 0712 345 678",
                reporter_key=reporter_key("+254712345678", "k"),
            )
    return client, user


@pytest.mark.parametrize("role", ["focal_point", "admin", "auditor", "campaign_manager"])
def test_every_other_role_is_refused(ext, app, role):
    client = app.test_client()
    sign_in_client(client, make_user(ext, role))
    assert client.get(PATH).status_code == 403
    assert client.post(PATH, data={"table": "cases", "fmt": "csv"}).status_code in (400, 403)
    assert "Dataset" not in client.get("/console/account").get_data(as_text=True)


def test_the_secretariat_downloads_a_streamed_file_and_the_audit_log_says_so(ext, secretariat):
    client, user = secretariat
    page = client.get(PATH)
    assert page.status_code == 200 and "HTCDS" in page.get_data(as_text=True)
    assert f'href="{PATH}"' in page.get_data(as_text=True)  # its place in the bar
    form = {
        "csrf_token": csrf_token(client, PATH),
        "table": "cases",
        "fmt": "csv",
        "since": "2026-11-03",
        "free_text": "y",
    }
    response = client.post(PATH, data=form, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"] == 'attachment; filename="hotline-cases-2026-11-03.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["county_name"] for row in rows] == ["Nairobi City", "Kakamega"]
    assert rows[0]["place"] == "Kileleshwa, call [phone]" and rows[0]["vic_TypeOfExploitation"] == "Servitude"
    with ext.session_scope() as session:
        entries = session.scalars(select(AuditEvent).where(AuditEvent.action == "dataset_exported")).all()
        assert [(e.user_id, e.actor, e.ip, e.detail) for e in entries] == [
            (
                user.user_id,
                "desk@example.org",
                "10.0.0.7",
                {
                    "table": "cases",
                    "format": "csv",
                    "rows": 2,
                    "free_text": True,
                    "filters": {"since": "2026-11-03"},
                },
            )
        ]
    form.update(table="annual", fmt="json", since="", free_text="", year="2026")
    document = json.loads(client.post(PATH, data=form).get_data(as_text=True))
    figures = {row["figure"]: row["value"] for row in document["rows"]}
    assert figures["tips_received"] == "<5" and document["filters"] == {"year": "2026"}


def test_bad_choices_are_answered_on_the_page_and_nothing_is_exported(ext, secretariat):
    client, _ = secretariat
    token = csrf_token(client, PATH)
    response = client.post(
        PATH, data={"csrf_token": token, "table": "annual", "fmt": "csv", "free_text": "y"}
    )
    assert response.status_code == 400
    assert "Free text is only in the case-level table" in response.get_data(as_text=True)
    response = client.post(
        PATH,
        data={"csrf_token": token, "table": "cases", "fmt": "csv", "year": "2026", "since": "2026-01-01"},
    )
    assert response.status_code == 400 and "Give a year or dates" in response.get_data(as_text=True)
    assert client.post(PATH, data={"table": "cases", "fmt": "csv"}).status_code == 400  # no CSRF token
    with ext.session_scope() as session:
        assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "dataset_exported")) is None
