"""The case desk's pages: the inbox (`/console/`, its rows polled by htmx) and the case page
(`/console/t/<reference>`) with one POST per action, answered by a redirect and a flash.

Every view is for focal points and the secretariat; every tip comes through `hotline.tips.inbox`,
scoped by the viewer, so a tip outside one's scope is a 404 like an unknown one. Bad input shows
the case page again with the form's errors (400). A revealed call-back number is rendered once,
in the POST's answer, never in a URL, a flash (the session cookie) or a log line.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from hotline.accounts import two_factor
from hotline.accounts.access import current_viewer, roles_required
from hotline.core.extensions import current
from hotline.core.models import Agency, Tip, User
from hotline.core.time import kenya_time, kenya_today, utcnow
from hotline.desk import forms, present
from hotline.messaging import outbound
from hotline.tips import casework, conversation, inbox
from hotline.tips.casework import CaseError, NotAllowed
from hotline.tips.reference import display
from hotline.tips.timeline import timeline

bp = Blueprint("desk", __name__, url_prefix="/console")
desk_roles = roles_required("focal_point", "secretariat")
POLL_SECONDS = 20


def _listing() -> dict:
    viewer, session = current_viewer(), current().sessions()
    folder = request.args.get("folder", "new")
    if folder not in inbox.folders_for(viewer):
        folder = "new"
    form = forms.FilterForm(request.args)
    filters = form.filters()
    visible = inbox.scope(session, viewer)  # worked out once for the page and the counts
    page = inbox.page(
        session,
        viewer,
        folder,
        filters,
        request.args.get("after"),
        request.args.get("before"),
        visible=visible,
    )
    now = utcnow()
    query = filters.as_query()
    here = {key: request.args[key] for key in ("after", "before") if request.args.get(key)}
    return {
        "folder": folder,
        "folders": [(name, inbox.FOLDER_LABELS[name]) for name in inbox.folders_for(viewer)],
        "counts": {
            name: inbox.count_words(n) for name, n in inbox.counts(session, viewer, filters, visible).items()
        },
        "form": form,
        "filters": filters,
        "query": query,
        "rows": [present.row(tip, now) for tip in page.tips],
        "next_url": page.next_cursor
        and url_for("desk.inbox", folder=folder, after=page.next_cursor, **query),
        "previous_url": page.previous_cursor
        and url_for("desk.inbox", folder=folder, before=page.previous_cursor, **query),
        "rows_url": url_for("desk.inbox_rows", folder=folder, **here, **query),
        "poll_seconds": POLL_SECONDS,
    }


@bp.get("/", endpoint="inbox")
@desk_roles
def inbox_page():
    """The inbox: folder tabs with counts, filters, a page of tips."""
    return render_template("console/desk/inbox.html", **_listing())


@bp.get("/rows", endpoint="inbox_rows")
@desk_roles
def inbox_rows():
    """The inbox's rows and folder counts, polled by htmx so a new tip appears without a reload."""
    return render_template("console/desk/_rows.html", oob=True, **_listing())


@dataclass(frozen=True)
class Action:
    """A case action: its form, what it is called, and what the page says once it is done."""

    form: type[FlaskForm]
    title: str
    done: str


ACTIONS = {
    "acknowledge": Action(forms.AcknowledgeForm, "Acknowledge", "Acknowledged: the others were told by SMS."),
    "assign": Action(forms.AssignForm, "Assign", "Assigned."),
    "move": Action(
        forms.MoveForm, "Move to another county", "Moved: the county's focal points were sent it."
    ),
    "note": Action(forms.NoteForm, "Add a note", "Note added."),
    "status": Action(forms.StatusForm, "Change the status", "Status changed."),
    "refer": Action(forms.ReferForm, "Refer", "Referral recorded."),
    "message": Action(
        forms.MessageForm, "Message the reporter", "Message kept: the reporter reads it by USSD."
    ),
    "duplicate": Action(forms.DuplicateForm, "Mark as a duplicate", "Marked as a duplicate and closed."),
    "flag": Action(forms.FlagForm, "Flag the agency for NEA", "Agency flagged for NEA."),
    "reveal": Action(forms.RevealForm, "Reveal the call-back number", ""),
}


def _tip(reference: str) -> Tip:
    tip = inbox.find(current().sessions(), current_viewer(), reference)
    if tip is None:
        abort(404, "There is no tip with this reference that you can open.")
    return tip


def _forms(session, viewer, tip: Tip, given: dict) -> dict[str, FlaskForm]:
    """The action forms the viewer may use on this tip, each with its choices."""
    built = {}
    for name, action in ACTIONS.items():
        built[name] = given.get(name) or action.form(prefix=name, formdata=None)
    built["assign"].focal_point.choices = forms.options(
        (fp.id, f"{fp.name} ({fp.organisation})" if fp.organisation else fp.name)
        for fp in casework.assignable(session, tip)
    )
    built["refer"].organisation.choices = forms.options(
        (o.id, o.name) for o in casework.organisations(session, tip)
    )
    if not given.get("refer"):
        built["refer"].referred_on.data = kenya_today()
    closed = tip.folder == "closed"
    hidden = {
        "acknowledge": tip.acknowledged_at is not None or closed,
        "assign": closed or not built["assign"].focal_point.choices,
        "move": closed or not viewer.national,
        "refer": not built["refer"].organisation.choices,
        "duplicate": tip.duplicate_of_id is not None,
        "flag": tip.agency_id is None or tip.agency_flagged_at is not None,
        "reveal": tip.callback_contact is None or not casework.may_reveal(viewer, tip),
    }
    return {name: form for name, form in built.items() if not hidden.get(name)}


def _case(tip: Tip, given: dict | None = None, status: int = 200, revealed: str | None = None):
    session, viewer, now = current().sessions(), current_viewer(), utcnow()
    agency = session.get(Agency, tip.agency_id) if tip.agency_id else None
    original = session.get(Tip, tip.duplicate_of_id) if tip.duplicate_of_id else None
    page = render_template(
        "console/desk/case.html",
        tip=tip,
        shown=display(tip.reference),
        display=display,
        facts=present.facts(tip, now),
        agency=present.agency_facts(agency, tip, kenya_today()),
        original=original and original.reference,
        duplicates=casework.duplicates(session, tip),
        entries=timeline(session, tip),
        when=kenya_time,
        forms=_forms(session, viewer, tip, given or {}),
        actions=ACTIONS,
        opened=next(iter(given), None) if given else None,
        revealed=revealed,
        reveal_seconds=current().config.reveal_seconds,
        message_max=conversation.MESSAGE_MAX_LENGTH,
    )
    headers = {"Cache-Control": "no-store"} if revealed else {}
    return page, status, headers


@bp.get("/t/<reference>", endpoint="case")
@desk_roles
def case_page(reference: str):
    """The case page: the tip, its agency, its timeline and the actions (each opening is audited)."""
    tip = _tip(reference)
    session = current().sessions()
    casework.viewed(session, current_viewer(), tip, utcnow())
    session.commit()
    return _case(tip)


@bp.post("/t/<reference>/<action>", endpoint="act")
@desk_roles
def act(reference: str, action: str):
    """Do one case action; redirect back to the case page with a flash, or show the form's errors."""
    tip = _tip(reference)
    if action not in ACTIONS:
        abort(404)
    ext, viewer, session, now = current(), current_viewer(), current().sessions(), utcnow()
    form = ACTIONS[action].form(prefix=action)
    usable = _forms(session, viewer, tip, {action: form})
    if action not in usable:
        never = {"move": not viewer.national, "reveal": not casework.may_reveal(viewer, tip)}
        if never.get(action):
            abort(403)
        flash("That action is not open on this case now (someone may have done it already).", "error")
        return redirect(url_for("desk.case", reference=tip.reference))
    if not form.validate_on_submit():
        return _case(tip, {action: form}, 400)
    try:
        if action == "reveal":
            return _reveal(tip, form)
        ids = _do(action, form, session, viewer, tip, now)
    except NotAllowed:
        session.rollback()
        abort(403)
    except (CaseError, ValueError) as exc:
        session.rollback()
        form.form_errors.append(str(exc))
        return _case(session.get(Tip, tip.id), {action: form}, 400)
    session.commit()
    outbound.queue_send(ext.queues, ids)
    flash(ACTIONS[action].done, "success")
    return redirect(url_for("desk.case", reference=tip.reference))


def _do(action: str, form, session, viewer, tip: Tip, now) -> list[int]:
    config = current().config
    if action == "acknowledge":
        return casework.acknowledge(session, viewer, tip, now)
    if action == "assign":
        casework.assign(session, viewer, tip, form.focal_point.data, now)
    elif action == "move":
        return casework.move(session, config, viewer, tip, form.county.data, now)
    elif action == "note":
        casework.add_note(session, viewer, tip, form.text.data, now)
    elif action == "status":
        casework.set_status(session, viewer, tip, form.status.data, now, reason=form.reason.data or None)
    elif action == "refer":
        casework.refer(
            session,
            viewer,
            tip,
            form.organisation.data,
            form.referred_on.data,
            form.reason.data,
            form.details.data,
            now,
        )
    elif action == "message":
        return conversation.post_message(session, config, tip, viewer.user_id, form.text.data, now)
    elif action == "duplicate":
        casework.mark_duplicate(session, viewer, tip, form.reference.data, now)
    elif action == "flag":
        casework.flag_agency(session, viewer, tip, now)
    return []


def _reveal(tip: Tip, form):
    """Check the fresh code, show the number once (no-store), and keep the audit entry either way."""
    ext, viewer, session, now = current(), current_viewer(), current().sessions(), utcnow()
    user = session.get(User, viewer.user_id)
    fresh = two_factor.verify(session, user, form.code.data.strip(), now)
    try:
        number = casework.reveal(session, ext.config, viewer, tip, form.reason.data, fresh, now)
    except NotAllowed:
        session.rollback()
        abort(403)
    except CaseError as exc:
        session.commit()  # the refused attempt stays in the audit log
        form.form_errors.append(str(exc))
        return _case(tip, {"reveal": form}, 400)
    session.commit()
    return _case(tip, revealed=number)
