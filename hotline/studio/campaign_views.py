"""The campaign studio's pages: list, builder with its live estimate, test send, send and the
controls, live progress, uncertain batches, and the report.

Campaign managers act; the secretariat reads (list, detail, report) and changes nothing. Every
change goes through `campaigns.service` (and `uncertain`, `preview`) and is written to the audit log
in the same transaction; a refused one (CampaignError) comes back as the page with the reason.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from campaigns import live, preview, report, service, uncertain
from campaigns.errors import CampaignError
from campaigns.hours import show
from campaigns.queueing import queue_dispatch
from campaigns.render import html as report_html
from flows import gsm
from hotline.accounts.access import current_viewer, roles_required
from hotline.core import audit
from hotline.core.counties import all_counties
from hotline.core.extensions import current
from hotline.core.models import Campaign, User
from hotline.core.time import as_utc, utcnow
from hotline.messaging import outbound
from hotline.studio import STUDIO_ROLES, present
from hotline.studio.forms import (
    LANGUAGE_NAMES,
    VARIANT_NAMES,
    ActionForm,
    BuilderForm,
    Draft,
    Problems,
    TestSendForm,
)

bp = Blueprint("studio", __name__, url_prefix="/console/campaigns")
readers = roles_required(*STUDIO_ROLES)
managers = roles_required("campaign_manager")
POLL_SECONDS = 5


def _session():
    return current().sessions()


def _me(session) -> User:
    return session.get(User, current_viewer().user_id)


def _campaign(session, campaign_id: int) -> Campaign:
    return session.get(Campaign, campaign_id) or abort(404, "There is no such campaign.")


def _price() -> Decimal:
    return Decimal(current().config.sms_price_kes)


def _audit(session, action: str, campaign: Campaign, **detail) -> None:
    target = f"campaign:{campaign.id} {campaign.name}"[:254]
    audit.record(session, _me(session), f"campaign.{action}", target=target, detail=detail or None,
                 ip=request.remote_addr)


def _check_token() -> None:
    if not ActionForm().validate_on_submit():
        abort(400, "This form could not be accepted: reload the page and try again.")


@bp.get("/", endpoint="index")
@readers
def index():
    """Every campaign: state, audience, sent, delivered, started, effect headline; drafts' actions."""
    session = _session()
    newest_first = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    campaigns = list(session.scalars(newest_first))
    rows = present.list_rows(session, current().redis, campaigns, utcnow())
    session.commit()  # a report read for a headline may have tuned settings: end its transaction
    return render_template("studio/campaign_list.html", rows=rows, form=ActionForm(),
                           may_act=current_viewer().role == "campaign_manager")


# --- The builder.

def _builder(draft: Draft, campaign: Campaign | None, form: BuilderForm, error: str | None = None,
             problems: dict | None = None, status: int = 200):
    session = _session()
    page = render_template(
        "studio/campaign_builder.html",
        draft=draft,
        campaign=campaign,
        form=form,
        error=error,
        problems=problems or {},
        counties=sorted(all_counties(), key=lambda county: county.name),
        sources=sorted(set(present.consent_sources(session)) | set(draft.sources)),
        languages=LANGUAGE_NAMES,
        may_add=len(draft.variants) < len(VARIANT_NAMES),
        gsm_basic="".join(sorted(gsm.BASIC)),
        gsm_extended="".join(sorted(gsm.EXTENDED)),
    )
    return page, status


def _build(campaign: Campaign | None):
    """The builder's POST: add or remove a variant (the form again), or save the draft."""
    form = BuilderForm()
    draft = Draft.from_form(request.form)
    action = request.form.get("action", "save")
    if not form.validate_on_submit():
        return _builder(draft, campaign, form, "This form expired: save it again.", status=400)
    if action == "add_variant":
        draft.add_variant()
        return _builder(draft, campaign, form)
    if action.startswith("remove_variant:"):
        draft.remove_variant(action.partition(":")[2])
        return _builder(draft, campaign, form)
    session = _session()
    try:
        new = draft.request()
        if campaign is None:
            campaign = service.create(session, new, created_by_id=current_viewer().user_id)
            _audit(session, "created", campaign)
        else:
            service.update_draft(session, campaign, new)
            _audit(session, "updated", campaign)
    except Problems as refused:
        session.rollback()
        return _builder(draft, campaign, form, "Some fields need a change: see below.", refused.problems, 400)
    except CampaignError as refused:
        session.rollback()
        return _builder(draft, campaign and session.get(Campaign, campaign.id), form, _sentence(str(refused)),
                        status=400)
    session.commit()
    flash(f"Draft {campaign.name!r} saved. Test it on your phone, then send it.", "success")
    return redirect(url_for("studio.detail", campaign_id=campaign.id))


_sentence = present.sentence


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@managers
def new_campaign():
    """The builder for a new campaign; saved as a draft."""
    if request.method == "POST":
        return _build(None)
    return _builder(Draft(), None, BuilderForm())


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"], endpoint="edit")
@managers
def edit(campaign_id: int):
    """The builder for a draft."""
    campaign = _campaign(_session(), campaign_id)
    if campaign.state != "draft":
        state = present.STATE_LABELS[campaign.state].lower()
        flash(f"{campaign.name!r} is {state}: only a draft can change.", "error")
        return redirect(url_for("studio.detail", campaign_id=campaign.id))
    if request.method == "POST":
        return _build(campaign)
    return _builder(Draft.from_campaign(campaign), campaign, BuilderForm())


@bp.post("/estimate", endpoint="estimate")
@managers
def estimate():
    """The live estimate of what the builder holds (an htmx partial); writes nothing."""
    session = _session()
    draft = Draft.from_form(request.form)
    seed = None
    editing = request.form.get("campaign", "")
    if editing.isascii() and editing.isdigit() and len(editing) < 10:
        saved = session.get(Campaign, int(editing))
        seed = saved.seed if saved is not None else None
    problems: list[str] = []
    figures = None
    if not BuilderForm().validate_on_submit():
        problems.append("This form expired: reload the page.")
    else:
        try:
            new = draft.request()
            service.check_settings(session, new)
            figures = present.estimate_new(session, new, seed, _price(), utcnow(), current().redis)
        except Problems as refused:
            problems += list(refused.problems.values())
        except CampaignError as refused:
            problems.append(_sentence(str(refused)))
        finally:
            session.rollback()  # an estimate never writes
    return render_template("studio/_estimate.html", figures=figures, problems=problems)


# --- One campaign.

def _detail(campaign: Campaign, status: int = 200):
    session, viewer = _session(), current_viewer()
    me = _me(session)
    figures = service.progress(session, campaign)
    page = render_template(
        "studio/campaign_detail.html",
        campaign=campaign,
        audience=present.audience_text(campaign),
        state=present.STATE_LABELS.get(campaign.state, campaign.state),
        badge=present.STATE_BADGES.get(campaign.state, ""),
        figures=figures,
        live=_live(session, campaign) if campaign.state != "draft" else None,
        uncertain=figures.uncertain,
        languages=LANGUAGE_NAMES,
        hours=show(campaign.hours_from, campaign.hours_until).replace("-", " to "),
        when=present.when,
        may_act=viewer.role == "campaign_manager",
        phone=me.phone if me else None,
        form=ActionForm(),
        test_form=TestSendForm(),
        poll_seconds=POLL_SECONDS,
    )
    return page, status


def _live(session, campaign: Campaign) -> live.Live:
    return live.progress(session, campaign.id, utcnow())


@bp.get("/<int:campaign_id>", endpoint="detail")
@readers
def detail(campaign_id: int):
    """A campaign: its settings and messages, test send, send and the controls, live progress."""
    return _detail(_campaign(_session(), campaign_id))


@bp.get("/<int:campaign_id>/progress", endpoint="progress")
@readers
def progress(campaign_id: int):
    """The live progress block, polled by htmx while the campaign sends."""
    session = _session()
    campaign = _campaign(session, campaign_id)
    figures = service.progress(session, campaign)
    return render_template(
        "studio/_progress.html", campaign=campaign, figures=figures, live=_live(session, campaign),
        uncertain=figures.uncertain, when=present.when, poll_seconds=POLL_SECONDS,
        state=present.STATE_LABELS.get(campaign.state, campaign.state),
        may_act=current_viewer().role == "campaign_manager", form=ActionForm(),
    )


@bp.post("/<int:campaign_id>/duplicate", endpoint="duplicate")
@managers
def duplicate(campaign_id: int):
    """A new draft with this campaign's messages and settings."""
    _check_token()
    session = _session()
    original = _campaign(session, campaign_id)
    copy = service.duplicate(session, original, created_by_id=current_viewer().user_id)
    _audit(session, "duplicated", copy, original=original.id)
    session.commit()
    flash(f"Copied into the draft {copy.name!r}: change what you need, then save.", "success")
    return redirect(url_for("studio.edit", campaign_id=copy.id))


@bp.post("/<int:campaign_id>/delete", endpoint="delete")
@managers
def delete(campaign_id: int):
    """Delete a draft (nothing was sent for it)."""
    _check_token()
    session = _session()
    campaign = _campaign(session, campaign_id)
    name = campaign.name
    try:
        _audit(session, "deleted", campaign)
        service.delete_draft(session, campaign)
    except CampaignError as refused:
        session.rollback()
        flash(_sentence(str(refused)), "error")
        return redirect(url_for("studio.detail", campaign_id=campaign_id))
    session.commit()
    flash(f"Draft {name!r} deleted.", "success")
    return redirect(url_for("studio.index"))


@bp.post("/<int:campaign_id>/test-send", endpoint="test_send")
@managers
def test_send(campaign_id: int):
    """Send one message of the campaign to one's own phone (it counts nowhere in the campaign)."""
    form = TestSendForm()
    if not form.validate_on_submit():
        abort(400, "This form could not be accepted: reload the page and try again.")
    ext, session = current(), _session()
    campaign = _campaign(session, campaign_id)
    me = _me(session)
    if not me.phone:
        flash("Your account has no phone number: add it on your account page (My account), "
              "then send the test again.", "error")
        return redirect(url_for("studio.detail", campaign_id=campaign_id))
    try:
        message = preview.message_of(campaign, form.variant.data or "", form.language.data or "")
    except CampaignError as refused:
        abort(404, _sentence(str(refused)))
    sms_id = preview.send_test(session, ext.config, message, me.phone)
    _audit(session, "test_sent", campaign, variant=message.variant, language=message.language, sms=sms_id)
    session.commit()
    outbound.queue_send(ext.queues, [sms_id])
    flash(f"Test SMS of variant {message.variant} ({LANGUAGE_NAMES[message.language]}) on its way to your "
          f"phone ending {me.phone[-3:]}. It is not counted in the campaign.", "success")
    return redirect(url_for("studio.detail", campaign_id=campaign_id))


@bp.get("/<int:campaign_id>/send", endpoint="confirm_send")
@managers
def confirm_send(campaign_id: int):
    """The confirmation before sending: audience, held out, segments, cost and time, once more."""
    session = _session()
    campaign = _campaign(session, campaign_id)
    if campaign.state != "draft":
        flash(f"{campaign.name!r} was sent already.", "error")
        return redirect(url_for("studio.detail", campaign_id=campaign.id))
    figures = present.estimate_campaign(session, campaign, _price(), utcnow(), current().redis)
    session.rollback()
    return render_template("studio/campaign_send.html", campaign=campaign, figures=figures,
                           audience=present.audience_text(campaign), form=ActionForm())


@bp.post("/<int:campaign_id>/send", endpoint="send")
@managers
def send(campaign_id: int):
    """Draw the audience, mark the campaign sending and queue the dispatcher."""
    _check_token()
    ext, session = current(), _session()
    campaign = _campaign(session, campaign_id)
    try:
        size, held_out = service.start(session, campaign)
    except CampaignError as refused:
        session.rollback()
        flash(_sentence(str(refused)), "error")
        return redirect(url_for("studio.detail", campaign_id=campaign_id))
    due = as_utc(campaign.next_send_at)
    _audit(session, "started", campaign, audience=size, held_out=held_out)
    session.commit()
    queue_dispatch(ext, campaign.id, at=due)
    message = f"Sending {campaign.name!r}: {size - held_out:,} to send, {held_out:,} held out."
    if due > utcnow():
        message += f" It starts {present.when(due)} (its start time or the allowed hours)."
    flash(message, "success")
    return redirect(url_for("studio.detail", campaign_id=campaign.id))


CONTROLS = {
    "pause": ("paused", "Paused: sending stops after the batch in flight."),
    "resume": ("resumed", "Resumed."),
    "cancel": ("cancelled", "Cancelled: nobody not yet sent will be."),
}


@bp.post("/<int:campaign_id>/<any(pause, resume, cancel):control>", endpoint="control")
@managers
def control(campaign_id: int, control: str):
    """Pause, resume or cancel a campaign."""
    _check_token()
    ext, session = current(), _session()
    campaign = _campaign(session, campaign_id)
    action, done = CONTROLS[control]
    try:
        if control == "pause":
            service.pause(session, campaign)
            detail = {}
        elif control == "resume":
            service.resume(session, campaign)
            detail = {}
        else:
            detail = {"recipients_cancelled": service.cancel(session, campaign)}
    except CampaignError as refused:
        session.rollback()
        flash(_sentence(str(refused)), "error")
        return redirect(url_for("studio.detail", campaign_id=campaign_id))
    _audit(session, action, campaign, **detail)
    session.commit()
    if control == "resume":
        queue_dispatch(ext, campaign.id)
    flash(done, "success")
    return redirect(url_for("studio.detail", campaign_id=campaign_id))


@bp.post("/<int:campaign_id>/uncertain/<any(resend, skip):decision>", endpoint="uncertain")
@managers
def decide_uncertain(campaign_id: int, decision: str):
    """Resend or skip the recipients whose batch's answer was lost."""
    _check_token()
    ext, session, now = current(), _session(), utcnow()
    campaign = _campaign(session, campaign_id)
    key = ext.config.phone_hash_key
    try:
        if decision == "resend":
            count = uncertain.resend(session, campaign, now, key)
        else:
            count = uncertain.skip(session, campaign, now, key)
    except CampaignError as refused:
        session.rollback()
        flash(_sentence(str(refused)), "error")
        return redirect(url_for("studio.detail", campaign_id=campaign_id))
    _audit(session, "uncertain_resent" if decision == "resend" else "uncertain_skipped", campaign,
           recipients=count)
    state = campaign.state
    session.commit()
    if decision == "resend" and state == "sending":
        queue_dispatch(ext, campaign.id)
    words = "queued again" if decision == "resend" else "skipped: they will not be sent it"
    later = " They are sent when you resume it." if decision == "resend" and state == "paused" else ""
    flash(f"{count:,} uncertain recipients {words}.{later}", "success")
    return redirect(url_for("studio.detail", campaign_id=campaign_id))


# --- The report.

@bp.get("/<int:campaign_id>/report", endpoint="report")
@readers
def report_view(campaign_id: int):
    """The report: delivery funnel, reach by county, network, variant and day, cost, and the effect."""
    session = _session()
    campaign = _campaign(session, campaign_id)
    built = report.build(session, campaign.id, now=utcnow())
    session.commit()
    return render_template("studio/campaign_report.html", campaign=campaign,
                           **present.report_context(campaign, built))


@bp.get("/<int:campaign_id>/report.html", endpoint="report_export")
@readers
def report_export(campaign_id: int):
    """The standalone HTML report, as a download."""
    session = _session()
    campaign = _campaign(session, campaign_id)
    built = report.build(session, campaign.id, now=utcnow())
    session.commit()
    filename = f"campaign-{campaign.id}-report.html"
    return Response(report_html(built), mimetype="text/html",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
