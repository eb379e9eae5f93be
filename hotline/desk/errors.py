"""The console's error pages: a 400, 403, 404 or 405 under /console/ is a page in the console's
layout that says what happened and leads back to the inbox, never a bare error or a 500."""

from __future__ import annotations

from flask import render_template, request
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: (
        "That did not work",
        "The form was incomplete or out of date. Go back, reload the page and try again.",
    ),
    403: ("Not for your role", "Your account cannot do this. Ask the secretariat if you think it should."),
    404: ("Not found", "There is no such page, or no tip with this reference that you can open."),
    405: ("Not like that", "This address does not take that kind of request."),
    409: ("Already done", "Someone changed this case meanwhile. Reload it to see what happened."),
}


def console_error(error: HTTPException):
    """The console's page for an HTTP error under /console/; elsewhere the error's own answer."""
    if not request.path.startswith("/console") or error.code not in MESSAGES:
        return error
    title, words = MESSAGES[error.code]
    if request.headers.get("HX-Request"):
        return words, error.code
    return render_template("console/desk/error.html", code=error.code, title=title, words=words), error.code


def register(app) -> None:
    """Answer the console's HTTP errors with its own page."""
    for code in MESSAGES:
        app.register_error_handler(code, console_error)
