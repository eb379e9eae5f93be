"""What the simulated phones received: `/api/messages` for tests and scripts, `/` for people."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from simulator.extensions import current

bp = Blueprint("inbox", __name__)

# The page reloads itself so a developer sees an SMS arrive without touching anything.
REFRESH_SECONDS = 3


@bp.get("/api/messages")
def list_messages():
    """Every SMS received, oldest first; `?phone=+2547…` keeps one phone's."""
    phone = request.args.get("phone", "").strip() or None
    return jsonify([message.to_json() for message in current().messages.messages(phone)])


@bp.delete("/api/messages")
def clear_messages():
    """Forget every SMS (for tests)."""
    return jsonify({"deleted": current().messages.clear()})


@bp.get("/")
def inbox_page():
    """An HTML page with each simulated phone and the SMS it received."""
    return render_template("inbox.html", phones=current().messages.by_phone(), refresh=REFRESH_SECONDS)
