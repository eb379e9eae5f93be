"""/console/dashboard: the dashboard's page and its CSV downloads."""

from __future__ import annotations

from flask import Blueprint

from hotline.accounts.access import roles_required
from hotline.oversight import DASHBOARD_ROLES

bp = Blueprint("oversight", __name__, url_prefix="/console/dashboard")


@bp.get("")
@roles_required(*DASHBOARD_ROLES)
def dashboard():
    """The dashboard (being built: issue 14)."""
    return "The dashboard is being built.", 200, {"Content-Type": "text/plain; charset=utf-8"}
