"""The directory's forms. They hold what was typed as text and check only the CSRF token: every field
is then checked by the directory's service (`hotline.tips.focal_points`, `hotline.tips.referrals`),
with the very words a CSV import uses, and each refusal is shown beside its field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from hotline.core.counties import all_counties
from hotline.tips.referrals import KINDS, NATIONAL


def county_choices(national: tuple[str, str]) -> list[tuple[str, str]]:
    """The counties by name, after the national choice (its value and label)."""
    counties = sorted(all_counties(), key=lambda county: county.name)
    return [national, *((str(county.code), f"{county.name} ({county.code})") for county in counties)]


class FocalPointForm(FlaskForm):
    """One focal point: the columns of focal_points.csv."""

    county_code = SelectField("County", validate_choice=False)
    name = StringField("Name")
    organisation = StringField("Organisation (optional)")
    phone = StringField("Mobile phone (tips come by SMS)", render_kw={"type": "tel", "autocomplete": "off"})
    priority = StringField("Priority (1 is notified first)", default="1", render_kw={"inputmode": "numeric"})
    active = BooleanField("Active (receives tips)", default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No county chosen for you: a forgotten choice is an error, not a national entry.
        choices = [("", "Choose a county"), *county_choices(("0", "National CTiP secretariat (0)"))]
        self.county_code.choices = [SelectChoice(*choice) for choice in choices]

    def values(self) -> dict[str, str]:
        """What was typed, as the CSV import would read it."""
        typed = {name: (self[name].data or "") for name in ("county_code", "name", "organisation", "phone",
                                                              "priority")}
        return {**typed, "active": "true" if self.active.data else "false"}


class OrganisationForm(FlaskForm):
    """One referral organisation."""

    county_code = SelectField("County", validate_choice=False)
    name = StringField("Name")
    kind = SelectField("Kind", choices=[SelectChoice(*item) for item in KINDS.items()], validate_choice=False)
    phone = StringField("Phone (optional)", render_kw={"type": "tel", "autocomplete": "off"})
    email = StringField("E-mail (optional)", render_kw={"type": "email", "autocomplete": "off"})
    active = BooleanField("Active (offered in the referral form)", default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        national = (NATIONAL, "National (every county)")
        self.county_code.choices = [SelectChoice(*choice) for choice in county_choices(national)]

    def values(self) -> dict[str, str]:
        """What was typed, for `referrals.check_entry`."""
        typed = {name: (self[name].data or "") for name in ("county_code", "name", "kind", "phone", "email")}
        return {**typed, "active": "true" if self.active.data else "false"}


def show_problems(form: FlaskForm, problems: dict[str, str]) -> None:
    """Put each refused field's reason beside it."""
    for name, problem in problems.items():
        form[name].errors = [*form[name].errors, problem]
