"""The directory pages: the focal points that SMS routing notifies (secretariat and admins keep them) and
the organisations cases are referred to (the secretariat keeps them; admins may read them).

Admins keep users and the focal-point directory (they see no tip content); the referral directory is
the secretariat's working list, so an admin reads it but does not change it. Every change goes through
the directory's service and is written to the audit log there, in the same transaction.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hotline.accounts.access import roles_required
from hotline.core.counties import NATIONAL, by_code, name_of
from hotline.core.csv_import import FieldErrors
from hotline.core.extensions import current
from hotline.core.models import FocalPoint, ReferralOrganisation, User
from hotline.directory.forms import FocalPointForm, OrganisationForm, county_choices, show_problems
from hotline.tips import focal_points, referrals

bp = Blueprint("directory", __name__, url_prefix="/console/directory")
KEEPERS = ("secretariat", "admin")  # the focal-point directory
ORGANISATION_KEEPERS = ("secretariat",)  # the referral directory; admins read it


def _county_filter(national: str) -> str:
    """The county asked for in the query string ('' for all), if it is one; else all."""
    county = request.args.get("county", "")
    return county if county == national or (county.isdigit() and int(county) in by_code()) else ""


def _editor(session) -> User:
    return session.get(User, current_user.user_id)


@bp.get("/")
@roles_required(*KEEPERS)
def index():
    """The directory starts with the focal points."""
    return redirect(url_for("directory.focal_points"))


@bp.get("/focal-points", endpoint="focal_points")
@roles_required(*KEEPERS)
def focal_points_page():
    """Every focal point by county, then in the order tips reach them; a county filter."""
    county = _county_filter(str(NATIONAL))
    with current().session_scope() as session:
        entries = focal_points.directory(session, int(county) if county else None)
    choices = county_choices(("", "Every county"))
    choices.insert(1, (str(NATIONAL), "National CTiP secretariat (0)"))
    return render_template("console/directory/focal_points.html", entries=entries, county=county,
                           choices=choices, county_name=lambda code: name_of(code) or "National secretariat")



@bp.route("/focal-points/new", methods=["GET", "POST"])
@roles_required(*KEEPERS)
def focal_point_new():
    """Add a focal point: the CSV import's checks, field by field."""
    form = FocalPointForm()
    if form.validate_on_submit():
        with current().session_scope() as session:
            try:
                entry = focal_points.add(session, form.values(), _editor(session), ip=request.remote_addr)
            except FieldErrors as refused:
                show_problems(form, refused.problems)
            else:
                flash(f"{entry.name} added: the next tip of the county reaches them.", "success")
                return redirect(url_for("directory.focal_points", county=entry.county_code))
    return render_template("console/directory/focal_point_form.html", form=form, entry=None)


@bp.route("/focal-points/<int:focal_point_id>", methods=["GET", "POST"])
@roles_required(*KEEPERS)
def focal_point_edit(focal_point_id: int):
    """Change a focal point (priority, phone, …); what changed goes to the audit log."""
    with current().session_scope() as session:
        entry = session.get(FocalPoint, focal_point_id) or abort(404)
        form = FocalPointForm(obj=None if request.method == "POST" else entry)
        if request.method == "GET":
            form.county_code.data, form.priority.data = str(entry.county_code), str(entry.priority)
        if form.validate_on_submit():
            try:
                by, ip = _editor(session), request.remote_addr
                changes = focal_points.edit(session, entry, form.values(), by, ip)
            except FieldErrors as refused:
                show_problems(form, refused.problems)
            else:
                flash(f"{entry.name}: {_said(changes)}", "success")
                return redirect(url_for("directory.focal_points", county=entry.county_code))
        return render_template("console/directory/focal_point_form.html", form=form, entry=entry)


@bp.post("/focal-points/<int:focal_point_id>/deactivate")
@roles_required(*KEEPERS)
def focal_point_deactivate(focal_point_id: int):
    """Stop sending tips to a focal point (the entry stays, for the timelines that name them)."""
    form = FocalPointForm()  # the CSRF token only
    if not form.validate_on_submit():
        abort(400)
    with current().session_scope() as session:
        entry = session.get(FocalPoint, focal_point_id) or abort(404)
        if focal_points.deactivate(session, entry, _editor(session), request.remote_addr):
            flash(f"{entry.name} deactivated: they receive no more tips.", "success")
        county = entry.county_code
    return redirect(url_for("directory.focal_points", county=county))


@bp.get("/organisations", endpoint="organisations")
@roles_required(*ORGANISATION_KEEPERS, "admin")
def organisations_page():
    """The referral organisations by county (national first), with a county filter."""
    county = _county_filter(referrals.NATIONAL)
    with current().session_scope() as session:
        entries = referrals.directory(session, county or None)
    choices = county_choices(("", "Every county"))
    choices.insert(1, (referrals.NATIONAL, "National (every county)"))
    return render_template("console/directory/organisations.html", entries=entries, county=county,
                           choices=choices, where=referrals.where, kind_label=referrals.kind_label,
                           may_edit=current_user.role in ORGANISATION_KEEPERS)


@bp.route("/organisations/new", methods=["GET", "POST"])
@roles_required(*ORGANISATION_KEEPERS)
def organisation_new():
    """Add a referral organisation."""
    form = OrganisationForm()
    if form.validate_on_submit():
        with current().session_scope() as session:
            try:
                entry = referrals.add(session, form.values(), _editor(session), ip=request.remote_addr)
            except FieldErrors as refused:
                show_problems(form, refused.problems)
            else:
                flash(f"{entry.name} added to the referral directory.", "success")
                return redirect(url_for("directory.organisations"))
    return render_template("console/directory/organisation_form.html", form=form, entry=None)


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@roles_required(*ORGANISATION_KEEPERS)
def organisation_edit(organisation_id: int):
    """Change a referral organisation; what changed goes to the audit log."""
    with current().session_scope() as session:
        entry = session.get(ReferralOrganisation, organisation_id) or abort(404)
        form = OrganisationForm(obj=None if request.method == "POST" else entry)
        if request.method == "GET":
            form.county_code.data = str(entry.county_code) if entry.county_code else referrals.NATIONAL
        if form.validate_on_submit():
            try:
                changes = referrals.edit(session, entry, form.values(), _editor(session), request.remote_addr)
            except FieldErrors as refused:
                show_problems(form, refused.problems)
            else:
                flash(f"{entry.name}: {_said(changes)}", "success")
                return redirect(url_for("directory.organisations"))
        return render_template("console/directory/organisation_form.html", form=form, entry=entry)


@bp.post("/organisations/<int:organisation_id>/deactivate")
@roles_required(*ORGANISATION_KEEPERS)
def organisation_deactivate(organisation_id: int):
    """Offer an organisation no more (past referrals keep naming it)."""
    if not OrganisationForm().validate_on_submit():
        abort(400)
    with current().session_scope() as session:
        entry = session.get(ReferralOrganisation, organisation_id) or abort(404)
        if referrals.deactivate(session, entry, _editor(session), request.remote_addr):
            flash(f"{entry.name} deactivated: no longer offered for referrals.", "success")
    return redirect(url_for("directory.organisations"))


def _said(changes: dict[str, list]) -> str:
    """A flash message's account of an edit."""
    if not changes:
        return "nothing changed."
    return "changed " + ", ".join(name.replace("_", " ") for name in changes) + "."
