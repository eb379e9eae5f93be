"""`flask tips …`: the case team's commands on tips, for a secretariat working from a terminal.

`list` and `show` read tips as the secretariat's console does (every county) and write each use to
the audit log as `cli:<login name>`: they show personal data. Neither ever shows a reporter key
or number; `show` says whether a call-back number was given, never the number (the console's
reveal, with its second factor, is the one way to it).

Information added to a tip from a number other than the reporter's is held (anyone holding a
reference could send it); the case team reads it here and accepts it, which forwards it to
whoever holds the tip, or rejects it, which keeps it on record unsent.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from flows.menu import TIP_KINDS
from hotline.core import audit
from hotline.core.counties import by_code, name_of
from hotline.core.extensions import current
from hotline.core.models import Agency, Tip, utcnow
from hotline.core.time import kenya_time
from hotline.messaging import outbound
from hotline.tips import followup, inbox, reference, timeline
from hotline.tips.casework import CASE_STATUSES, CLOSURE_REASONS
from hotline.tips.reference import display

LIST_LIMIT, LIST_MAX = 50, 1000
PLACE_WIDTH = 24  # the list shows where, briefly: the rest of the text is for `show`


@click.group("tips")
def tips_group():
    """Tips: information held for the case team."""


@tips_group.command("held-updates")
@with_appcontext
def held_updates_command():
    """List information added from other numbers, waiting to be accepted or rejected."""
    with current().session_scope() as session:
        held = followup.held_updates(session)
        if not held:
            click.echo("no held updates")
        for update in held:
            tip = session.get(Tip, update.tip_id)
            when = update.created_at.strftime("%Y-%m-%d %H:%M")
            click.echo(f"{update.id:>6}  report {display(tip.reference)}  {when}  {update.text}")


@tips_group.command("accept-update")
@click.argument("update_id", type=int)
@with_appcontext
def accept_update_command(update_id):
    """Accept a held update: it is forwarded by SMS to whoever holds the tip."""
    ext = current()
    try:
        with ext.session_scope() as session:
            ids = followup.accept_update(session, update_id, utcnow())
    except followup.UnknownUpdate:
        raise click.ClickException(f"no held or accepted update {update_id}") from None
    queued = outbound.queue_send(ext.queues, ids)
    click.echo(
        f"update {update_id} accepted; {len(ids)} SMS to send ({queued} queued, the sweeper sends the rest)"
    )


@tips_group.command("reject-update")
@click.argument("update_id", type=int)
@with_appcontext
def reject_update_command(update_id):
    """Reject a held update: kept on record, never forwarded."""
    try:
        with current().session_scope() as session:
            followup.reject_update(session, update_id, utcnow())
    except followup.UnknownUpdate:
        raise click.ClickException(f"no held or rejected update {update_id}") from None
    click.echo(f"update {update_id} rejected")


def _county(ctx, param, value):
    if value is not None and value not in by_code():
        raise click.BadParameter(f"{value} is not a county code (1-47)")
    return value


@tips_group.command("list")
@click.option("--county", type=int, callback=_county, help="Constitutional county code, 1-47.")
@click.option("--kind", type=click.Choice(TIP_KINDS))
@click.option("--channel", type=click.Choice(("ussd", "sms")))
@click.option("--status", "--folder", "folder", type=click.Choice((*inbox.FOLDERS, inbox.TRIAGE)),
              help="The inbox folder (triage: no county, not closed).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Received on or after, YYYY-MM-DD (Kenya).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Received on or before, YYYY-MM-DD (Kenya).")
@click.option("--text", help="Words in the place or description.")
@click.option("--limit", type=click.IntRange(1, LIST_MAX), default=LIST_LIMIT, show_default=True)
@with_appcontext
def list_command(county, kind, channel, folder, since, until, text, limit):
    """List tips, newest first, filtered like the inbox (audited)."""
    if since and until and since > until:
        raise click.BadParameter("--since is after --until", param_hint="--since")
    filters = inbox.Filters(county=county, kind=kind, channel=channel, text=text,
                            since=since and since.date(), until=until and until.date())
    query = select(Tip).where(*filters.conditions())
    if folder:
        query = query.where(*inbox.folder_condition(folder))
    with current().session_scope() as session:
        tips = list(session.scalars(query.order_by(Tip.created_at.desc(), Tip.id.desc()).limit(limit)))
        detail = {**filters.as_query(), "folder": folder, "limit": limit, "shown": len(tips)}
        audit.record(session, None, "tips_listed", actor=audit.cli_actor(),
                     detail={k: v for k, v in detail.items() if v is not None})
        if not tips:
            click.echo("no tips match")
            return
        click.echo(f"{'reference':<16}  {'received (EAT)':<16}  {'county':<16}  {'kind':<19}  "
                   f"{'channel':<7}  {'status':<14}  {'flags':<15}  place")
        for tip in tips:
            marks = (("urgent", tip.urgent), ("children", tip.children == "yes"))
            flags = " ".join(name for name, on in marks if on) or "-"
            place = (tip.place or "").replace("\n", " ")
            place = place if len(place) <= PLACE_WIDTH else place[: PLACE_WIDTH - 1] + "…"
            status = CASE_STATUSES.get(tip.case_status, tip.case_status)
            click.echo(f"{display(tip.reference):<16}  {kenya_time(tip.created_at):<16}  "
                       f"{(name_of(tip.county_code) or '-'):<16}  {tip.kind:<19}  {tip.channel:<7}  "
                       f"{status:<14}  {flags:<15}  {place}")


def _facts(session, tip: Tip) -> list[tuple[str, str]]:
    """Every field of the tip as `show` prints it: no reporter key, no number."""
    agency = session.get(Agency, tip.agency_id) if tip.agency_id else None
    duplicate_of = session.get(Tip, tip.duplicate_of_id) if tip.duplicate_of_id else None
    closed = CLOSURE_REASONS.get(tip.closure_reason, tip.closure_reason or "-")
    return [
        ("Reference", display(tip.reference)),
        ("Received", f"{kenya_time(tip.created_at)} EAT by {tip.channel.upper()}"),
        ("Kind", tip.kind.replace("_", " ")),
        ("County", name_of(tip.county_code) or "not known"),
        ("Place", tip.place or "-"),
        ("Description", tip.description or "-"),
        ("Danger", tip.danger),
        ("Children", tip.children),
        ("Urgent", "yes" if tip.urgent else "no"),
        ("Language", tip.language),
        ("Call-back number", "given" if tip.callback_contact else "not given"),
        ("Status", CASE_STATUSES.get(tip.case_status, tip.case_status) + f" (folder {tip.folder})"),
        ("Closure reason", closed if tip.closed_at else "-"),
        ("Closed", kenya_time(tip.closed_at)),
        ("Acknowledged", kenya_time(tip.acknowledged_at)
         + (f" by {tip.acknowledged_by.name}" if tip.acknowledged_by else "")),
        ("Escalation level", str(tip.escalation_level)),
        ("Assigned to", tip.assigned_focal_point.name if tip.assigned_focal_point else "-"),
        ("Agency", f"{agency.name} ({agency.registration_number}, {agency.status})" if agency else "-"),
        ("Duplicate of", display(duplicate_of.reference) if duplicate_of else "-"),
    ]


@tips_group.command("show")
@click.argument("ref")
@with_appcontext
def show_command(ref):
    """Show a tip by its reference: every field and its timeline, no reporter number (audited)."""
    code = reference.normalise(ref)
    if code is None:
        raise click.ClickException(f"{ref!r} is not a valid reference: 12 digits like 482-177-305-419 "
                                   "(9 for older reports), the last a check digit that catches a typo")
    with current().session_scope() as session:
        tip = session.scalar(select(Tip).where(Tip.reference == code))
        if tip is None:
            raise click.ClickException(f"no tip has the reference {display(code)}")
        audit.record(session, None, "tip_viewed", actor=audit.cli_actor(), tip_id=tip.id,
                     target=tip.reference)
        for label, value in _facts(session, tip):
            click.echo(f"{label + ':':<18} {value}")
        click.echo("\nTimeline (EAT):")
        for entry in timeline.timeline(session, tip):
            line = f"  {kenya_time(entry.at)}  {entry.title}"
            line += f" - {entry.who}" if entry.who else ""
            line += f" [{entry.state}]" if entry.state else ""
            click.echo(line)
            if entry.text:
                click.echo("      " + entry.text.replace("\n", "\n      "))
