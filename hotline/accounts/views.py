"""The sign-in pages: password, then the authenticator code (set up at the first sign-in, with
recovery codes), sign-out, the user's own account page and the landing page of the roles that see
no tips. Every success and failure is written to the audit log."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from hotline.accounts import throttle, two_factor, users
from hotline.accounts.access import roles_required
from hotline.accounts.forms import CodeForm, PhoneForm, SignInForm
from hotline.accounts.identity import SECOND_FACTOR, SEEN, ConsoleUser
from hotline.accounts.navigation import console_nav
from hotline.core import audit
from hotline.core.counties import name_of
from hotline.core.errors import InvalidPhoneNumber
from hotline.core.extensions import current
from hotline.core.models import User
from hotline.core.privacy import normalise_phone
from hotline.core.time import utcnow
from hotline.core.viewer import ROLES

bp = Blueprint("accounts", __name__, url_prefix="/console")
NEXT = "next"


def safe_next(target: str | None) -> str | None:
    """`target` when it is a page of this console (a path under /console), else None."""
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not (parts.path == "/console" or parts.path.startswith("/console/")):
        return None
    return target


def landing() -> str:
    """Where a signed-in user starts: the inbox for the tip roles, else the list of their pages."""
    if current_user.sees_tips and "desk.inbox" in current_app.view_functions:
        return url_for("desk.inbox")
    return url_for("accounts.home")


def landing_or_sign_in() -> str:
    """The landing page when signed in, else the sign-in page (the brand link of every page)."""
    if current_user.is_authenticated and current_user.signed_in:
        return landing()
    return url_for("accounts.sign_in")


def _address() -> str | None:
    return request.remote_addr


def _locked_page(template: str, form, email: str, user: User | None = None, **context):
    """Refuse without checking anything: too many failures for this account or address."""
    wait = throttle.locked_for(email, _address())
    if not wait:
        return None
    db = current().sessions()
    audit.record(db, user, "sign_in_locked", actor=email, ip=_address())
    db.commit()
    error = f"Too many attempts: try again in {throttle.minutes(wait)} minutes."
    return render_template(template, form=form, error=error, **context), 429


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """First step: e-mail and password."""
    if current_user.is_authenticated and current_user.signed_in:
        return redirect(safe_next(request.args.get(NEXT)) or landing())
    form = SignInForm()
    if not form.validate_on_submit():
        return render_template("console/accounts/sign_in.html", form=form)
    email = users.normal_email(form.email.data)
    locked = _locked_page("console/accounts/sign_in.html", form, email)
    if locked:
        return locked
    db = current().sessions()
    user = users.authenticate(db, email, form.password.data)
    if user is None:
        throttle.note_failure(email, _address())
        audit.record(db, None, "sign_in_failed", actor=email, ip=_address(), detail={"step": "password"})
        db.commit()
        return render_template("console/accounts/sign_in.html", form=form, error="Wrong e-mail or password.")
    next_page = safe_next(request.args.get(NEXT))
    session.clear()  # nothing of an earlier visitor's session carries over
    login_user(ConsoleUser(user))
    session[SEEN] = utcnow().timestamp()
    if next_page:
        session[NEXT] = next_page
    db.commit()  # a password rehashed with newer parameters
    return redirect(url_for("accounts.two_factor_step" if users.enrolled(user) else "accounts.setup"))


@bp.route("/two-factor", methods=["GET", "POST"])
def two_factor_step():
    """Second step: the authenticator app's code, or a recovery code."""
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.sign_in"))
    if current_user.signed_in:
        return redirect(landing())
    db = current().sessions()
    user = current_user.row()
    if not users.enrolled(user):
        return redirect(url_for("accounts.setup"))
    form = CodeForm()
    template = "console/accounts/two_factor.html"
    if not form.validate_on_submit():
        return render_template(template, form=form)
    locked = _locked_page(template, form, user.email, user)
    if locked:
        return locked
    code = form.code.data.strip()
    if two_factor.verify(db, user, code, utcnow()):
        _signed_in(user, "authenticator")
        return redirect(session.pop(NEXT, None) or landing())
    if not two_factor.is_code(code) and two_factor.use_recovery_code(db, user, code):
        audit.record(db, user, "recovery_code_used", ip=_address(),
                     detail={"left": two_factor.recovery_codes_left(user)})
        flash(f"You used a recovery code: {two_factor.recovery_codes_left(user)} left. "
              "Make new ones on your account page if you are running out.", "success")
        _signed_in(user, "recovery_code")
        return redirect(session.pop(NEXT, None) or landing())
    _second_factor_failed(db, user)
    return render_template(template, form=form, error="That code is not right, or was used already.")


def _second_factor_failed(db, user: User) -> None:
    throttle.note_failure(user.email, _address())
    audit.record(db, user, "two_factor_failed", ip=_address())
    db.commit()


def _signed_in(user: User, method: str) -> None:
    """Both steps done: the session is signed in (audited, committed)."""
    db = current().sessions()
    session[SECOND_FACTOR] = True
    session[SEEN] = utcnow().timestamp()
    user.last_sign_in_at = utcnow()
    audit.record(db, user, "sign_in", ip=_address(), detail={"method": method})
    db.commit()
    throttle.clear(user.email)


@bp.route("/two-factor/setup", methods=["GET", "POST"])
def setup():
    """First sign-in: scan the QR code (or type the key), confirm with a code, keep the recovery codes."""
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.sign_in"))
    db = current().sessions()
    user = current_user.row()
    if users.enrolled(user):
        return redirect(landing() if current_user.signed_in else url_for("accounts.two_factor_step"))
    key = current().config.contact_key
    if user.totp_secret is None:  # kept across reloads: a code scanned a minute ago stays good
        user.totp_secret = two_factor.seal(two_factor.new_secret(), key)
        db.commit()
    secret = two_factor.unseal(user.totp_secret, key)
    form = CodeForm()
    context = {
        "form": form,
        "qr": two_factor.qr_code(two_factor.provisioning_uri(secret, user.email)),
        "key": two_factor.grouped(secret),
    }
    template = "console/accounts/setup.html"
    if not form.validate_on_submit():
        return render_template(template, **context)
    locked = _locked_page(template, user=user, email=user.email, **context)
    if locked:
        return locked
    if not two_factor.verify(db, user, form.code.data, utcnow()):
        _second_factor_failed(db, user)
        return render_template(template, error="That code is not right: check the phone's clock, then "
                               "type the code the app shows now.", **context)
    user.totp_confirmed_at = utcnow()
    codes = two_factor.new_recovery_codes(user)
    audit.record(db, user, "two_factor_enrolled", ip=_address())
    _signed_in(user, "authenticator")
    return render_template("console/accounts/recovery_codes.html", codes=codes,
                           continue_url=session.pop(NEXT, None) or landing())


@bp.post("/sign-out")
def sign_out():
    """End this session."""
    if current_user.is_authenticated:
        db = current().sessions()
        audit.record(db, current_user.row(), "sign_out", ip=_address())
        db.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "success")
    return redirect(url_for("accounts.sign_in"))


@bp.get("/home")
@roles_required(*ROLES)
def home():
    """The pages this user may open (the landing page of the roles that see no tips)."""
    return render_template("console/accounts/home.html", pages=console_nav())


WRONG_CODE = "That code is not right, or was used already."


def _account_page(user: User, form=None, phone_form=None, error=None, phone_error=None, status=200):
    page = render_template(
        "console/accounts/account.html", user=user, form=form or CodeForm(),
        phone_form=phone_form or PhoneForm(),
        left=two_factor.recovery_codes_left(user), county_name=name_of(user.county_code), error=error,
        phone_error=phone_error, own_phone=user.role != "focal_point",
    )
    return page, status


@bp.get("/account")
@roles_required(*ROLES)
def account():
    """The user's own account: role, county, phone, recovery codes left."""
    return _account_page(current_user.row())


@bp.post("/account/phone")
@roles_required(*ROLES)
def change_phone():
    """Set (or clear) one's own mobile number after a fresh authenticator code; audited, never logged.

    A focal point's number is their SMS directory entry, which the directory's keepers change.
    """
    db = current().sessions()
    user = current_user.row()
    form = PhoneForm()
    if user.role == "focal_point":
        abort(403, "A focal point's number is their directory entry: the secretariat changes it.")
    if not (form.validate_on_submit() and two_factor.verify(db, user, form.code.data.strip(), utcnow())):
        _second_factor_failed(db, user)
        return _account_page(user, phone_form=form, phone_error=WRONG_CODE, status=400)
    typed = (form.phone.data or "").strip()
    try:
        user.phone = normalise_phone(typed) if typed else None
    except InvalidPhoneNumber:
        db.commit()  # the spent code stays spent
        return _account_page(user, phone_form=form, status=400,
                             phone_error=f"{typed!r} is not a mobile number: write it as +2547… or 07….")
    audit.record(db, user, "phone_changed", ip=_address(), detail={"set": user.phone is not None})
    db.commit()
    flash("Your mobile number was saved." if user.phone else "Your mobile number was removed.", "success")
    return redirect(url_for(".account"))


@bp.post("/account/recovery-codes")
@roles_required(*ROLES)
def renew_recovery_codes():
    """Ten new recovery codes (the old ones stop working), after a fresh authenticator code."""
    db = current().sessions()
    user = current_user.row()
    form = CodeForm()
    if not (form.validate_on_submit() and two_factor.verify(db, user, form.code.data, utcnow())):
        _second_factor_failed(db, user)
        return _account_page(user, form=form, error=WRONG_CODE, status=400)
    codes = two_factor.new_recovery_codes(user)
    audit.record(db, user, "recovery_codes_renewed", ip=_address())
    db.commit()
    return render_template("console/accounts/recovery_codes.html", codes=codes,
                           continue_url=url_for(".account"))
