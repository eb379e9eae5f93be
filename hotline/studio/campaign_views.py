"""The campaign studio's pages: list, builder with its live estimate, test send, send and the
controls, live progress, uncertain batches, and the report."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("studio", __name__, url_prefix="/console/campaigns")
