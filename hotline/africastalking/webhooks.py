"""The HTTP edge every Africa's Talking callback goes through: the token check, plain-text answers,
errors Flask raises itself, and `Connection: close` when a body was left unread.

Every callback must carry `?token=<WEBHOOK_TOKEN>` when a token is configured (403 otherwise).
Webhooks take POST only: any other method, OPTIONS included (no browser calls them), is a 405 with
`Allow: POST`. A body over `MAX_BODY_BYTES` is a 413 without being read. Whenever a request's body
was not read (413, 403, 405, 404), the answer says `Connection: close`: the rest of the body must
not be taken for the next request. Werkzeug's server honours it; gunicorn drops the header (WSGI
forbids hop-by-hop headers) and does the same itself: it drains an unread body of up to 64 KiB
before reading the next request on the connection, and closes the connection when it cannot.
"""

from __future__ import annotations

import hmac

from flask import Response, g, request
from werkzeug.exceptions import HTTPException

from hotline.africastalking.forms import ussd_response
from hotline.core.errors import BadRequest
from hotline.core.extensions import current


def init_app(app) -> None:
    """Answer Flask's own errors the way AT expects, and close connections with unread bodies."""
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(BadRequest, bad_request)
    app.after_request(close_when_body_unread)


def require_token(blueprint) -> None:
    """Every callback of `blueprint` is refused with a 403 unless it carries the webhook token."""
    blueprint.before_request(_refuse_without_token)


def _refuse_without_token() -> Response | None:
    if token_ok():
        return None
    return refusal(403, ussd_text="Forbidden.", text="forbidden")


def bad_request(exc: BadRequest) -> Response:
    """A callback that is not what AT sends: 400 with the reason (on `/ussd`, as an END screen)."""
    return refusal(400, ussd_text=f"Bad request: {exc}.", text=f"bad request: {exc}")


def token_ok() -> bool:
    """True when no token is configured or the request carries the right one (`?token=`)."""
    expected = current().config.webhook_token
    if not expected:
        return True
    given = request.args.get("token", "")
    return hmac.compare_digest(given.encode(), expected.encode())


def refusal(status: int, ussd_text: str, text: str) -> Response:
    """A callback turned away: on `/ussd` an END screen (AT shows it on the phone), else plain text."""
    if request.path == "/ussd":
        return ussd_response(ussd_text, end=True, status=status)
    return plain(text, status)


def plain(message: str, status: int) -> Response:
    """A short plain-text answer."""
    return Response(message + "\n", status=status, mimetype="text/plain")


def http_error(exc: HTTPException):
    """Errors Flask raises itself (too large, bad method): `/ussd` still answers with END."""
    status = exc.code or 400
    response = refusal(status, ussd_text=f"Sorry: {exc.name.lower()}.", text=f"{exc.code} {exc.name}")
    for name, value in exc.get_headers():  # `Allow` of a 405, for one
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def close_when_body_unread(response: Response) -> Response:
    """`Connection: close` when the request had a body we did not read (see the module docstring)."""
    if g.get("body_read"):  # every webhook request that got this far: nothing else to look at
        return response
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if request.content_length or chunked:
        response.headers["Connection"] = "close"
    return response
