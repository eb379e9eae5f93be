"""The sign-in forms (Flask-WTF: each carries the session's CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    """E-mail and password: the first step."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)],
                             render_kw={"autocomplete": "current-password"})


class PhoneForm(FlaskForm):
    """One's own mobile number (campaign test SMS go there), confirmed with an authenticator code."""

    phone = StringField("Mobile number", validators=[Length(max=20)],
                        render_kw={"type": "tel", "autocomplete": "tel", "placeholder": "+2547…"})
    code = StringField("Authenticator code", validators=[DataRequired(), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class CodeForm(FlaskForm):
    """An authenticator code (or, where allowed, a recovery code): the second step."""

    code = StringField("Code", validators=[DataRequired(), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True,
                                  "autocapitalize": "off", "spellcheck": "false"})
