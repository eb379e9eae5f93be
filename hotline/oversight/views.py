"""/console/dashboard: the dashboard's page and its CSV downloads.

The page is aggregate figures: viewing it is not audited. A CSV download is an export and is
(`dashboard_exported`, with the chart and the arguments). The scope comes from the signed-in
viewer before anything is computed, so a focal point's page and CSVs hold their county only.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, url_for

from flows.menu import TIP_KINDS
from hotline.accounts.access import current_viewer, roles_required
from hotline.core import audit
from hotline.core.counties import all_counties
from hotline.core.extensions import current
from hotline.core.models import User
from hotline.core.time import kenya_time, kenya_today, utcnow
from hotline.oversight import DASHBOARD_ROLES, cache
from hotline.oversight.dashboard import CHARTS, build
from hotline.oversight.scope import DAYS, Scope, kind_label, scope_of, window_from
from hotline.oversight.tables import county_name
from hotline.tips.inbox import TRIAGE

bp = Blueprint("oversight", __name__, url_prefix="/console/dashboard")
dashboard_roles = roles_required(*DASHBOARD_ROLES)
INBOX_ROLES = ("secretariat", "focal_point")  # the auditor has no inbox: their map has no links


def _links(scope: Scope, role: str, window) -> tuple[dict[int, str], str | None]:
    """Inbox links per county code for the map and tables, and the triage queue's for "No county"."""
    if role not in INBOX_ROLES or scope.nothing:
        return {}, None
    since = window.first_day.isoformat()
    query = {"since": since, **({"kind": window.kind} if window.kind else {})}
    codes = [scope.county] if scope.county is not None else [c.code for c in all_counties()]
    links = {code: url_for("desk.inbox", county=code, folder="new", **query) for code in codes}
    national = scope.national and role == "secretariat"
    triage = url_for("desk.inbox", folder=TRIAGE, **query) if national else None
    return links, triage


@bp.get("", endpoint="dashboard")
@dashboard_roles
def dashboard():
    """The dashboard: a filter form, the map, then each chart with its table and CSV link."""
    viewer = current_viewer()
    scope = scope_of(viewer)
    window, problems = window_from(request.args, kenya_today())
    ext, now = current(), utcnow()
    board = cache.cached(ext.redis, ext.config, scope, window, now,
                         lambda: build(ext.sessions(), ext.config, scope, window, now))
    links, triage = _links(scope, viewer.role, window)
    return render_template(
        "oversight/dashboard.html",
        board=board,
        problems=problems,
        days_options=DAYS,
        kinds=[(kind, kind_label(kind)) for kind in TIP_KINDS],
        links=links,
        triage=triage,
        query=window.as_query(),
        county_label=None if scope.national else _county_label(scope),
        as_of=kenya_time(board.as_of)[-5:],
        cache_seconds=cache.CACHE_SECONDS,
    )


def _county_label(scope: Scope) -> str:
    return "no county" if scope.nothing else county_name(scope.county)


@bp.get("/<chart>.csv", endpoint="csv")
@dashboard_roles
def chart_csv(chart: str):
    """One chart's table as CSV (UTF-8, a header row), audited as an export."""
    if chart not in CHARTS:
        abort(404, "There is no such chart.")
    viewer = current_viewer()
    window, problems = window_from(request.args, kenya_today())
    if problems:  # a download is not the page: better no file than another window's figures
        message = " ".join(p.split(";")[0] + "." for p in problems) + " Choose from the dashboard's form."
        return message, 400, {"Content-Type": "text/plain; charset=utf-8"}
    ext, now, scope = current(), utcnow(), scope_of(viewer)
    session = ext.sessions()
    # The page's figures when they are kept (the CSV then says what the page said), else this chart's.
    board = cache.kept(ext.redis, ext.config, scope, window, now) or build(
        session, ext.config, scope, window, now, only=chart)
    body = board.sections[chart].table.csv()
    audit.record(session, session.get(User, viewer.user_id), "dashboard_exported",
                 target=f"dashboard:{chart}", detail={"chart": chart, **window.as_query(),
                 "county": scope.county}, ip=request.remote_addr)
    session.commit()
    name = f"dashboard-{chart}-{window.days}d{'-' + window.kind if window.kind else ''}-{window.today}.csv"
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Type": "text/csv; charset=utf-8",
    })
