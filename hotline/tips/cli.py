"""`flask tips …`: the case team's commands on tips, until the console exists.

Information added to a tip from a number other than the reporter's is held (anyone holding a
reference could send it); the case team reads it here and accepts it, which forwards it to
whoever holds the tip, or rejects it, which keeps it on record unsent.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from hotline.core.extensions import current
from hotline.core.models import Tip, utcnow
from hotline.messaging import outbound
from hotline.tips import followup
from hotline.tips.reference import display


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
