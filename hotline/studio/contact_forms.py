"""The contacts pages' forms: find a number, opt it out (the CSRF token only), forget it (the number
in a hidden field, so it stays out of URLs, and whether the secretariat confirmed), upload a CSV.

They check only what the form itself can: the number is read by `privacy.normalise_phone` in the
view, and a file by the contacts CSV's own checks (`hotline.contacts.contacts_csv`), in their words.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, StringField


class FindForm(FlaskForm):
    """One phone number, as a caller says it (0712…, +254 712 …)."""

    phone = StringField(
        "Phone number", render_kw={"type": "tel", "autocomplete": "off", "inputmode": "tel", "required": True}
    )


class OptOutForm(FlaskForm):
    """Opting a contact out: the button and its CSRF token."""


class UploadForm(FlaskForm):
    """A contacts CSV and whether to import its good rows when some are bad."""

    file = FileField("Contacts file (CSV, UTF-8)", render_kw={"accept": ".csv,text/csv"})
    skip_invalid = BooleanField("Skip bad rows: import the good ones even if some are bad")


class ForgetForm(FlaskForm):
    """Forgetting a number: the number found (hidden, posted back) and the confirmation step."""

    phone = HiddenField()
    confirmed = HiddenField()
