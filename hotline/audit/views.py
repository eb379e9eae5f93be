"""/console/audit: the audit log, read-only, for the auditor (and the secretariat)."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, render_template, request
from wtforms import DateField, Form, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from hotline.accounts.access import roles_required
from hotline.audit import log as audit_log
from hotline.core.extensions import current
from hotline.core.time import kenya_time

bp = Blueprint("audit", __name__, url_prefix="/console/audit")


class FilterForm(Form):
    """The filters, read from the query string (a GET changes nothing, so it carries no CSRF token)."""

    actor = StringField("Who", validators=[Optional(), Length(max=254)])
    action = SelectField("Action", choices=[SelectChoice("", "Any")], validate_choice=False)
    reference = StringField("Tip reference", validators=[Optional(), Length(max=40)])
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])


@bp.get("")
@roles_required("auditor", "secretariat")
def log():
    """Newest entries first, with filters and older pages."""
    session = current().sessions()
    form = FilterForm(request.args)
    form.action.choices = [SelectChoice("", "Any"), *map(SelectChoice, audit_log.actions(session))]
    before = request.args.get("before", type=int)
    if form.validate():
        filters = audit_log.Filters(
            actor=form.actor.data or "", action=form.action.data or "", reference=form.reference.data or "",
            since=form.since.data, until=form.until.data,
        )
        result = audit_log.page(session, filters, before=before)
    else:
        result = audit_log.Page([], None)
    filters = {name: value for name, value in request.args.items() if name != "before" and value}
    older = {**filters, "before": result.older} if result.older else None
    newest = filters if before is not None else None
    return render_template("console/audit/log.html", form=form, page=result, older=older, newest=newest,
                           when=partial(kenya_time, seconds=True))
