"""What guards every console page: CSRF tokens, the idle timeout, the session cookie's flags, the
security headers, and error pages a person can read.

CSRF is checked on every POST of the app except the Africa's Talking callbacks, which carry no
cookie and no token (`exempt_from_csrf`, called by the app factory once every blueprint is
registered). Referrer-Policy is `same-origin` rather than `no-referrer`: Flask-WTF checks over
HTTPS that a POST's Referer is this site, and browsers send none under `no-referrer`; `same-origin`
still sends nothing to any other site, so a case address never leaves the console.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import Forbidden, HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from hotline.accounts.identity import SEEN
from hotline.africastalking.webhooks import http_error
from hotline.core import audit
from hotline.core.extensions import current
from hotline.core.time import utcnow

CONSOLE = "/console"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HTML_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# A request the page makes by itself (htmx polling the inbox) sends this header: it is no activity,
# so it neither keeps a session alive nor counts towards the idle timeout's "last seen".
BACKGROUND_HEADER = "X-Console-Background"
IDLE_MESSAGE = "You were signed out after {minutes} minutes without activity."
csrf = CSRFProtect()


def init_app(app) -> None:
    """CSRF, the idle timeout, cookie flags, headers and error pages."""
    config = app.extensions["hotline"].config
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=config.production,
        # The token lives as long as the session: the idle timeout, not the token, ends a visit.
        WTF_CSRF_TIME_LIMIT=None,
    )
    if config.proxy_hops:
        # Only headers set by our own proxies are believed: one a client sends itself is not.
        hops = config.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
    csrf.init_app(app)
    app.before_request(end_idle_session)
    app.after_request(security_headers)
    app.register_error_handler(CSRFError, csrf_error)
    for error in (Forbidden, NotFound, MethodNotAllowed, RequestEntityTooLarge):
        app.register_error_handler(error, error_page)


def exempt_from_csrf(app, blueprint_names) -> None:
    """No CSRF check for these blueprints: Africa's Talking posts to them without cookie or token."""
    for name in blueprint_names:
        csrf.exempt(app.blueprints[name])


def _console_request() -> bool:
    return request.path == CONSOLE or request.path.startswith(CONSOLE + "/")


def end_idle_session():
    """Sign out a console session left without activity for `console_idle_minutes`; else note this visit."""
    if not _console_request() or not current_user.is_authenticated:
        return None
    minutes = current().config.console_idle_minutes
    now = utcnow().timestamp()
    seen = session.get(SEEN)
    if seen is not None and now - seen > minutes * 60:
        ext = current()
        db = ext.sessions()
        audit.record(db, current_user.row(), "idle_timeout", ip=request.remote_addr,
                     detail={"idle_minutes": int((now - seen) // 60)})
        db.commit()
        logout_user()
        session.clear()
        flash(IDLE_MESSAGE.format(minutes=minutes), "error")
        if request.headers.get("HX-Request"):
            return ("Signed out: reload the page to sign in again.", 401, {"HX-Refresh": "true"})
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("accounts.sign_in", next=target))
    if not request.headers.get(BACKGROUND_HEADER):
        session[SEEN] = now
    return None


def security_headers(response):
    """CSP and friends on every HTML page; no caching of console pages (they hold case data)."""
    if response.mimetype == "text/html":
        for name, value in HTML_HEADERS.items():
            response.headers.setdefault(name, value)
    if _console_request():
        response.headers["Cache-Control"] = "no-store"
    return response


def csrf_error(exc: CSRFError):
    """A form sent without its token, or with an old one: 400 and what to do."""
    if not _console_request():
        return http_error(exc)
    return render_template(
        "console/error.html",
        title="Form expired",
        message="This form could not be accepted (its security token is missing or out of date). "
        "Go back, reload the page and send it again.",
        code=400,
    ), 400


TITLES = {403: "Not allowed", 404: "Not found", 405: "Not allowed here", 413: "Too large"}
MESSAGES = {
    403: "Your role may not open this page.",
    404: "There is nothing here, or it is not yours to see.",
    405: "This address does not take that kind of request.",
    413: "What you sent is too large.",
}


def error_page(exc: HTTPException):
    """Console errors as a page (AT's callbacks keep their plain or END answers)."""
    if not _console_request():
        return http_error(exc)
    code = exc.code or 400
    # A view's own words (abort(404, "No such tip.")) over the generic ones Werkzeug wrote for machines.
    own_words = exc.description != type(exc).description
    message = exc.description if own_words or code not in MESSAGES else MESSAGES[code]
    title = TITLES.get(code, exc.name)
    response = render_template("console/error.html", title=title, message=message, code=code)
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    return response, code, headers
