"""/console/dashboard: who may open it and what each role sees (map, links, scope), bad query
arguments, and the CSV downloads (their rows, their audit entries). The figures themselves are
checked in tests/test_oversight.py, with the same fixtures."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from hotline.core.models import AuditEvent, Tip
from tests.console import make_user, sign_in_client
from tests.test_oversight import ESCALATION, KAKAMEGA, NOW, ago, fill
from workers.sweeper import sweep_dashboard


@pytest.fixture
def app(make_app):
    return make_app(escalation_minutes=dict(ESCALATION))


@pytest.fixture(autouse=True)
def at_noon_in_nairobi():
    with time_machine.travel(NOW, tick=False):
        yield


def signed_in(app, ext, role, **fields):
    client = app.test_client()
    sign_in_client(client, make_user(ext, role, **fields))
    return client


def page(client, query="") -> str:
    response = client.get("/console/dashboard" + query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def downloaded(client, path) -> list[list[str]]:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8"))))


def exports(ext) -> list[AuditEvent]:
    with ext.session_scope() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == "dashboard_exported")).all()


def test_the_secretariat_sees_every_county_with_links_to_its_inbox(app, ext):
    fill(ext)
    client = signed_in(app, ext, "secretariat")
    html = page(client)
    assert "<title>Kakamega: 3 tips</title>" in html and "<title>Mombasa: 2 tips</title>" in html
    # A county with no tip in the window says 0; one tip is "1 tip".
    assert "<title>Nairobi City: 1 tip</title>" in html and "<title>Turkana: 0 tips</title>" in html
    assert 'href="/console/?county=37&amp;folder=new&amp;since=2026-03-20"' in html
    assert 'href="/console/?folder=triage&amp;since=2026-03-20"' in html  # the "No county" row
    for chart in ("counties", "weeks", "acknowledgement", "escalations", "outcomes", "referrals",
                  "agencies", "reach"):
        assert f'href="/console/dashboard/{chart}.csv?days=90"' in html
    assert 'style="' not in html and "<script>" not in html
    # The kind filter narrows the map and its links.
    forced = page(client, "?days=365&kind=forced_labour")
    assert "<title>Kakamega: 2 tips</title>" in forced  # t1 and t7
    assert 'county=37&amp;folder=new&amp;since=2025-06-18&amp;kind=forced_labour' in forced
    assert exports(ext) == []  # viewing aggregate figures is not an export


def test_the_auditor_sees_every_county_without_inbox_links(app, ext):
    fill(ext)
    html = page(signed_in(app, ext, "auditor"))
    assert "<title>Kakamega: 3 tips</title>" in html
    assert 'href="/console/?' not in html


def test_a_focal_point_sees_and_downloads_their_county_only(app, ext):
    fill(ext)
    client = signed_in(app, ext, "focal_point", county_code=KAKAMEGA)
    html = page(client)
    assert "<h1>Dashboard: Kakamega</h1>" in html
    assert "<title>Kakamega: 3 tips</title>" in html and "<title>Mombasa: no data</title>" in html
    assert 'href="/console/?county=37&amp;folder=new&amp;since=2026-03-20"' in html
    assert "county=1&amp;" not in html and "folder=triage" not in html
    assert downloaded(client, "/console/dashboard/counties.csv?days=90") == [
        ["County", "Tips"], ["Kakamega", "3"], ["Total", "3"]]
    assert downloaded(client, "/console/dashboard/reach.csv?days=365") == [
        ["County", "Contacts reached"], ["Kakamega", "2"], ["Total (each contact once)", "2"]]
    assert [e.detail for e in exports(ext)] == [
        {"chart": "counties", "days": "90", "county": KAKAMEGA},
        {"chart": "reach", "days": "365", "county": KAKAMEGA}]


def test_a_csv_download_is_the_table_and_is_audited(app, ext):
    fill(ext)
    client = signed_in(app, ext, "secretariat", email="sec@example.org")
    assert downloaded(client, "/console/dashboard/escalations.csv?days=30&kind=forced_labour") == [
        ["County", "Tips", "Escalated", "Share escalated"],
        ["Mombasa", "1", "0", "0.0000"], ["Kakamega", "1", "0", "0.0000"], ["Total", "2", "0", "0.0000"]]
    assert downloaded(client, "/console/dashboard/referrals.csv") == [
        ["Organisation type", "Referrals", "Tips referred"],
        ["Police (gender and children's desk)", "1", "1"], ["Shelter", "2", "1"], ["NGO", "1", "1"],
        ["Health", "1", "1"], ["Total", "5", "3"]]
    first, second = exports(ext)
    assert (first.actor, first.target, first.detail) == (
        "sec@example.org", "dashboard:escalations",
        {"chart": "escalations", "days": "30", "kind": "forced_labour", "county": None})
    assert second.detail == {"chart": "referrals", "days": "90", "county": None}


def test_bad_arguments_fall_back_on_the_page_and_are_refused_for_a_download(app, ext):
    fill(ext)
    client = signed_in(app, ext, "secretariat")
    html = page(client, "?days=7&kind=nonsense")
    assert "Days must be 30, 90 or 365; showing the last 90 days." in html
    assert "There is no such kind of tip; showing every kind." in html
    assert "<title>Kakamega: 3 tips</title>" in html
    assert "Days must be" in page(client, "?days=%F0%9F%98%80")
    response = client.get("/console/dashboard/counties.csv?days=7")
    assert response.status_code == 400 and b"Days must be 30, 90 or 365" in response.data
    assert client.get("/console/dashboard/nonsense.csv").status_code == 404
    assert exports(ext) == []


@pytest.mark.parametrize("role", ["campaign_manager", "admin"])
def test_other_roles_are_refused(app, ext, role):
    client = signed_in(app, ext, role)
    assert client.get("/console/dashboard").status_code == 403
    assert client.get("/console/dashboard/counties.csv").status_code == 403
    assert exports(ext) == []


def test_signed_out_is_sent_to_sign_in(client):
    response = client.get("/console/dashboard/counties.csv?days=30")
    assert response.status_code == 302 and "/console/sign-in" in response.location


def test_figures_are_kept_for_two_minutes_and_a_download_matches_the_page(app, ext):
    fill(ext)
    client = signed_in(app, ext, "secretariat")
    first = page(client)
    assert "<title>Kakamega: 3 tips</title>" in first and "Figures as of 12:00 (Nairobi time)" in first
    with ext.session_scope() as session:
        session.add(Tip(reference="999999999999", channel="ussd", kind="servitude", county_code=KAKAMEGA,
                        reporter_key="k", created_at=ago(minutes=5)))
    with time_machine.travel(NOW + timedelta(seconds=119), tick=False):
        assert "<title>Kakamega: 3 tips</title>" in page(client)  # kept
        assert downloaded(client, "/console/dashboard/counties.csv")[1] == ["Kakamega", "3"]
        # Another window was not kept: its download is computed, fresh.
        assert downloaded(client, "/console/dashboard/counties.csv?days=30")[1] == ["Kakamega", "4"]
    with time_machine.travel(NOW + timedelta(seconds=120), tick=False):
        again = page(client)
        assert "<title>Kakamega: 4 tips</title>" in again and "Figures as of 12:02" in again


def test_the_sweep_keeps_the_national_figures_warm(app, ext):
    fill(ext)
    client = signed_in(app, ext, "auditor")
    with app.app_context():
        assert sweep_dashboard() == [30, 90, 365]  # none kept yet: all three computed
    with ext.session_scope() as session:
        session.add(Tip(reference="999999999999", channel="ussd", kind="servitude", county_code=KAKAMEGA,
                        reporter_key="k", created_at=ago(minutes=5)))
    with time_machine.travel(NOW + timedelta(seconds=40), tick=False):
        with app.app_context():
            assert sweep_dashboard() == []  # fresh: nothing computed
        # Served as the sweep kept them: the new tip is not in (Kakamega's fourth tip is 200 days old).
        for days, tips in (("", 3), ("?days=30", 3), ("?days=365", 4)):
            html = page(client, days)
            assert f"<title>Kakamega: {tips} tips</title>" in html and "Figures as of 12:00" in html
    with time_machine.travel(NOW + timedelta(seconds=50), tick=False):
        with app.app_context():
            assert sweep_dashboard() == [30, 90, 365]  # older than 45 s: computed again
    with time_machine.travel(NOW + timedelta(seconds=100), tick=False):
        html = page(client, "?days=365")  # kept by the sweep at 12:00:50, still fresh at 12:01:40
        assert "<title>Kakamega: 5 tips</title>" in html and "Figures as of 12:00" in html
        assert "<title>Kakamega: 4 tips</title>" in page(client, "?days=30")
        # One kind is not kept warm: its first viewer computes it.
        assert "Figures as of 12:01" in page(client, "?kind=servitude")
