"""What the simulated phones received: `/api/messages` for tests and scripts, `/` for people.

`GET /api/messages?phone=+2547…&since=…` lists messages oldest first; `since` is a messageId (the
messages after it) or an ISO 8601 time (those received later; naive means UTC). Each message shows
AT's answer for it (`status`) and what its delivery reports said (`delivery_status`,
`failure_reason`, and `delivery_reports`, one entry per attempt to post one, with `http_status`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, jsonify, render_template, request

from simulator.extensions import current

bp = Blueprint("inbox", __name__)

# The page reloads itself so a developer sees an SMS arrive without touching anything.
REFRESH_SECONDS = 3


@bp.get("/api/messages")
def list_messages():
    """Every SMS received, oldest first; `?phone=+2547…` keeps one phone's, `?since=` later ones."""
    phone = request.args.get("phone", "").strip() or None
    since = request.args.get("since", "").strip() or None
    after_id = moment = None
    if since and since.startswith("ATXid_"):
        after_id = since
    elif since:
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            return jsonify({"error": "since must be a message id (ATXid_…) or an ISO 8601 time"}), 400
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    found = current().messages.messages(phone, after_id=after_id, since=moment)
    return jsonify([message.to_json() for message in found])


@bp.delete("/api/messages")
def clear_messages():
    """Forget every SMS (for tests)."""
    return jsonify({"deleted": current().messages.clear()})


@bp.get("/")
def inbox_page():
    """An HTML page with each simulated phone and the SMS it received."""
    config = current().config
    return render_template("inbox.html", phones=current().messages.by_phone(), refresh=REFRESH_SECONDS,
                           short_code=config.short_code, hotline_url=config.hotline_url)
