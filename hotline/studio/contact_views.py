"""Campaign contacts in the console: find a number, opt it out by hand, upload a contacts CSV, counts."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("contacts", __name__, url_prefix="/console/contacts")
