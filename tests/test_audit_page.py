"""/console/audit: the auditor reads the log newest first, filters it, pages through it; other roles
may not; the table itself refuses UPDATE and DELETE, through the ORM as through SQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from hotline.core import audit
from hotline.core.models import AuditEvent
from hotline.tips import reference
from hotline.tips.submission import NewTip, submit_tip
from tests.console import make_user, sign_in_client

ROWS = re.compile(r"<tr>\s*<td data-label=\"When\"")
# 21:30 in Nairobi on the 27th is 18:30 UTC; 00:30 on the 28th in Nairobi is still the 27th in UTC.
LATE_ON_THE_27TH = datetime(2026, 11, 27, 18, 30, tzinfo=UTC)
EARLY_ON_THE_28TH = datetime(2026, 11, 27, 21, 30, tzinfo=UTC)


@pytest.fixture
def auditor(ext, app):
    client = app.test_client()
    sign_in_client(client, make_user(ext, "auditor", email="auditor@example.org"))
    return client


def write(ext, *entries):
    with ext.session_scope() as session:
        for action, fields in entries:
            audit.record(session, None, action, **fields)


def page_of(client, query: str = "") -> str:
    response = client.get("/console/audit" + query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def next_page(page: str) -> str:
    """The query string of the page's "Older entries" link."""
    link = re.search(r'href="/console/audit(\?[^"]+)" rel="next"', page).group(1)
    return link.replace("&amp;", "&")


def test_newest_first_and_what_each_entry_holds_escaped(ext, auditor):
    write(ext, ("reveal", {"actor": "fp@example.org", "target": "<b>bold</b>", "ip": "10.1.2.3",
                           "detail": {"reason": "<script>alert(1)</script>"}}))
    page = page_of(auditor)
    assert page.index(">reveal<") < page.index(">sign_in<")  # the auditor's own sign-in came first
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "10.1.2.3" in page


def test_filters_by_actor_action_tip_and_kenyan_dates(ext, auditor):
    new = NewTip(channel="sms", source_id="s1", kind="servitude", reporter_key="k")
    tip = submit_tip(ext.session_scope, new)
    write(
        ext,
        ("status_changed", {"actor": "fp@example.org", "tip_id": tip.id, "at": LATE_ON_THE_27TH}),
        ("note_added", {"actor": "other@example.org", "at": EARLY_ON_THE_28TH}),
    )
    assert len(ROWS.findall(page_of(auditor, "?actor=FP@EXAMPLE"))) == 1
    assert len(ROWS.findall(page_of(auditor, "?action=note_added"))) == 1
    by_tip = page_of(auditor, f"?reference={reference.display(tip.reference)}")
    assert len(ROWS.findall(by_tip)) == 1 and "status_changed" in by_tip
    assert "No tip has the reference 123-456" in page_of(auditor, "?reference=123-456")
    on_the_27th = page_of(auditor, "?since=2026-11-27&until=2026-11-27")
    assert len(ROWS.findall(on_the_27th)) == 1 and "status_changed" in on_the_27th
    on_the_28th = page_of(auditor, "?since=2026-11-28&until=2026-11-28&action=note_added")
    assert len(ROWS.findall(on_the_28th)) == 1
    # A LIKE wildcard is a character like any other: nobody's name holds one.
    assert "No entries match" in page_of(auditor, "?actor=%25")


def test_pages_of_fifty_older_and_back(ext, auditor):
    start = datetime(2026, 11, 1, tzinfo=UTC)
    write(ext, *(("export", {"actor": "sec@example.org", "target": f"export {n}",
                             "at": start + timedelta(minutes=n)}) for n in range(120)))
    first = page_of(auditor, "?action=export")
    assert len(ROWS.findall(first)) == 50 and ">export 119<" in first
    second = page_of(auditor, next_page(first))
    assert ">export 69<" in second and ">export 70<" not in second and "Newest entries" in second
    third = page_of(auditor, next_page(second))
    assert len(ROWS.findall(third)) == 20 and 'rel="next"' not in third


def test_bad_filters_get_a_form_error_not_a_500(auditor):
    page = page_of(auditor, "?since=yesterday&before=abc")
    assert "Not a valid date value." in page
    assert page_of(auditor, "?action=" + "x" * 500 + "&actor=" + "y" * 300)


@pytest.mark.parametrize("role, status", [("secretariat", 200), ("focal_point", 403), ("admin", 403),
                                          ("campaign_manager", 403)])
def test_only_the_auditor_and_the_secretariat_may_read_it(ext, app, role, status):
    client = app.test_client()
    sign_in_client(client, make_user(ext, role))
    assert client.get("/console/audit").status_code == status


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/console/audit").location == "/console/sign-in?next=/console/audit"


def test_the_page_only_reads(auditor):
    assert auditor.post("/console/audit").status_code in (400, 405)


def test_the_audit_table_refuses_update_and_delete_through_sqlalchemy(ext):
    write(ext, ("sign_in", {"actor": "someone@example.org"}))
    attempts = (
        lambda session: session.execute(update(AuditEvent).values(actor="nobody")),
        lambda session: session.execute(delete(AuditEvent)),
        lambda session: setattr(session.scalars(select(AuditEvent)).one(), "action", "nothing"),
        lambda session: session.delete(session.scalars(select(AuditEvent)).one()),
    )
    for attempt in attempts:
        with pytest.raises(DBAPIError, match="append-only"), ext.session_scope() as session:
            attempt(session)
            session.flush()
    with ext.session_scope() as session:
        [event] = session.scalars(select(AuditEvent)).all()
        assert (event.actor, event.action) == ("someone@example.org", "sign_in")
