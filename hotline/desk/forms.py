"""The case desk's forms: the inbox's filters (GET) and one FlaskForm per case action (POST, CSRF).

Each action form has its own prefix, so the case page holds them all without two fields sharing an
id. Choices that depend on the tip (focal points, organisations) are filled in by the view.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, Form, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from flows.menu import TIP_KINDS
from flows.texts import text
from hotline.tips import casework, inbox
from hotline.tips.conversation import MESSAGE_MAX_LENGTH


def options(pairs) -> list[SelectChoice]:
    """A select's options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


ANSWERS = options([("", "Any"), ("yes", "Yes"), ("no", "No"), ("unsure", "Unsure")])


def _blank_int(value):
    return int(value) if value not in (None, "") and str(value).isdigit() else None


def kind_label(kind: str) -> str:
    """A tip kind in the console's words."""
    return text("en", "kind." + kind)


class FilterForm(Form):
    """The inbox's filters, read from the query string (no CSRF: a GET changes nothing)."""

    county = SelectField("County", coerce=_blank_int, validate_choice=False)
    kind = SelectField("Kind", validate_choice=False)
    channel = SelectField("Channel", choices=options([("", "Any"), ("ussd", "USSD"), ("sms", "SMS")]))
    danger = SelectField("In danger now", choices=ANSWERS)
    children = SelectField("Children", choices=ANSWERS)
    agency = StringField("Agency id", validators=[Optional(), Regexp(r"^\d{1,9}$", message="A number.")])
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])
    text = StringField("Place or description", validators=[Optional(), Length(max=inbox.SEARCH_MAX)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.county.choices = options([("", "Any"), *inbox.county_choices()])
        self.kind.choices = options([("", "Any")] + [(kind, kind_label(kind)) for kind in TIP_KINDS])

    def filters(self) -> inbox.Filters:
        """The valid filters (a field that failed its check is left out)."""
        self.validate()

        def good(field):
            return None if field.errors or field.data in ("", None) else field.data

        return inbox.Filters(
            county=good(self.county),
            kind=good(self.kind) if good(self.kind) in TIP_KINDS else None,
            channel=good(self.channel),
            danger=good(self.danger),
            children=good(self.children),
            agency=int(self.agency.data) if good(self.agency) else None,
            since=good(self.since),
            until=good(self.until),
            text=good(self.text),
        )


class AcknowledgeForm(FlaskForm):
    """Acknowledge: nothing to fill in."""


class AssignForm(FlaskForm):
    """Assign to a focal point of the tip's county."""

    focal_point = SelectField("Focal point", coerce=int, validators=[InputRequired()])


class MoveForm(FlaskForm):
    """Move to another county (secretariat)."""

    county = SelectField("County", coerce=int, validators=[InputRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.county.choices = options(inbox.county_choices())


class NoteForm(FlaskForm):
    """An internal note."""

    text = TextAreaField(
        "Note",
        validators=[
            DataRequired("Write the note."),
            Length(max=casework.NOTE_MAX, message=f"A note is at most {casework.NOTE_MAX} characters."),
        ],
    )


class StatusForm(FlaskForm):
    """The case status (HTCDS cas_Status) and, to close, a reason."""

    status = SelectField("Status", choices=options(casework.CASE_STATUSES.items()))
    reason = SelectField(
        "Reason (to close)",
        choices=options([("", "-"), *casework.CLOSURE_REASONS.items()]),
        validators=[Optional()],
    )


class ReferForm(FlaskForm):
    """A referral: organisation, date, HTCDS reason, details."""

    organisation = SelectField("Organisation", coerce=int, validators=[InputRequired()])
    referred_on = DateField("Date", validators=[InputRequired("Give the date of the referral.")])
    reason = SelectField("Reason", choices=options(casework.REFERRAL_REASONS.items()))
    details = TextAreaField(
        "Details",
        validators=[
            Optional(),
            Length(
                max=casework.DETAILS_MAX, message=f"Details are at most {casework.DETAILS_MAX} characters."
            ),
        ],
    )


class DuplicateForm(FlaskForm):
    """Mark as a duplicate of another tip, by its reference."""

    reference = StringField(
        "Reference of the original tip", validators=[DataRequired("Give a reference."), Length(max=30)]
    )


class FlagForm(FlaskForm):
    """Flag the linked agency for NEA: nothing to fill in."""


class RevealForm(FlaskForm):
    """Reveal the call-back number: a fresh authenticator code and a reason."""

    code = StringField(
        "Authenticator code",
        validators=[
            DataRequired("Give a fresh code from your app."),
            Regexp(r"^\s*\d{6}\s*$", message="Six digits."),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    reason = StringField(
        "Reason",
        validators=[DataRequired("Say why you need the number."), Length(max=casework.REASON_MAX)],
    )


class MessageForm(FlaskForm):
    """A message to the anonymous reporter (read in the USSD follow-up)."""

    text = TextAreaField(
        "Message",
        validators=[
            DataRequired("Write a message first."),
            Length(max=1000, message=f"A message is at most {MESSAGE_MAX_LENGTH} characters."),
        ],
    )
