"""/console/users: the admin's list of console accounts, with create, deactivate and reset of the
second factor, through the same service as `flask users`."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from hotline.accounts import users
from hotline.accounts.access import current_viewer, roles_required
from hotline.core.counties import all_counties, name_of
from hotline.core.extensions import current
from hotline.core.models import User
from hotline.core.time import kenya_time
from hotline.core.viewer import ROLE_LABELS, ROLES

bp = Blueprint("users", __name__, url_prefix="/console/users")


class NewUserForm(FlaskForm):
    """A new console account; they set up their authenticator at their first sign-in."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES])
    county = SelectField("County (focal points)", validators=[Optional()], choices=[
        SelectChoice("", "—"),
        *(SelectChoice(str(county.code), f"{county.code:02d} {county.name}") for county in all_counties()),
    ])
    phone = StringField("Phone (focal points: their SMS number)", validators=[Optional(), Length(max=20)])
    name = StringField("Name (a focal point not yet in the directory)",
                       validators=[Optional(), Length(max=120)])
    password = PasswordField("First password (at least 12 characters)",
                             validators=[DataRequired(), Length(max=users.MAX_PASSWORD_LENGTH)])


def _accounts(session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.active.desc(), User.role, User.email)))


def _list(form: NewUserForm, status: int = 200):
    session = current().sessions()
    return render_template("console/accounts/users.html", accounts=_accounts(session), form=form,
                           county_name=name_of, labels=ROLE_LABELS, enrolled=users.enrolled,
                           when=partial(kenya_time, missing="never")), status


@bp.get("")
@roles_required("admin")
def index():
    """Every console account, and the form for a new one."""
    return _list(NewUserForm())


@bp.post("")
@roles_required("admin")
def create():
    """Make an account from the form; a refusal is shown on the form."""
    form = NewUserForm()
    if not form.validate_on_submit():
        return _list(form, 400)
    session = current().sessions()
    try:
        user = users.create(
            session, form.email.data, form.role.data, form.password.data,
            county_code=int(form.county.data) if form.county.data else None,
            phone=form.phone.data or None, name=form.name.data or None, by=_me(session),
        )
    except users.UserError as exc:
        session.rollback()
        form.form_errors.append(str(exc))
        return _list(form, 400)
    session.commit()
    flash(f"Account {user.email} made: they set up an authenticator app at their first sign-in.", "success")
    return redirect(url_for(".index"))


def _me(session) -> User:
    return session.get(User, current_viewer().user_id)


def _account(session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/<int:user_id>/deactivate")
@roles_required("admin")
def deactivate(user_id: int):
    """Close an account; its sessions end at once."""
    session = current().sessions()
    user = _account(session, user_id)
    if user.id == current_viewer().user_id:
        flash("You cannot deactivate your own account: ask another administrator.", "error")
        return redirect(url_for(".index"))
    users.deactivate(session, user, by=_me(session))
    session.commit()
    flash(f"{user.email} is deactivated and signed out everywhere.", "success")
    return redirect(url_for(".index"))


@bp.post("/<int:user_id>/reset-two-factor")
@roles_required("admin")
def reset_two_factor(user_id: int):
    """Forget an account's authenticator (a lost phone): they set it up again at their next sign-in."""
    session = current().sessions()
    user = _account(session, user_id)
    users.reset_two_factor(session, user, by=_me(session))
    session.commit()
    flash(f"Two-factor sign-in of {user.email} reset: they set it up again at their next sign-in.", "success")
    return redirect(url_for(".index"))
