"""`flask campaigns …`: create, estimate, send, pause, resume, cancel, status, report, and the
decision on recipients left uncertain by a lost answer: resend-uncertain, skip-uncertain."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal

import click
from flask.cli import with_appcontext
from rq import Worker

from campaigns import audience, service, uncertain
from campaigns.errors import CampaignError
from campaigns.hours import NAIROBI, local_time, parse_hours, show
from campaigns.queueing import queue_dispatch
from campaigns.report_cli import report_command
from flows.engine import name_matches
from hotline.core.counties import all_counties
from hotline.core.extensions import current
from hotline.core.models import Campaign, utcnow
from hotline.core.numbers import ascii_digits
from hotline.core.time import as_utc


@click.group("campaigns")
def campaigns_group():
    """SMS awareness campaigns: create, estimate, send, watch and evaluate them."""


campaigns_group.add_command(report_command)


def _messages(values: tuple[str, ...]) -> dict[tuple[str, str], str]:
    messages = {}
    for value in values:
        head, sep, text = value.partition("=")
        if not sep:
            raise click.BadParameter(
                f"{value!r}: write LANG=TEXT or VARIANT/LANG=TEXT", param_hint="--message"
            )
        variant, _, language = head.strip().rpartition("/")
        key = ((variant or "A").strip().upper(), language.strip().lower())
        if key in messages:
            raise click.BadParameter(f"two messages for variant {key[0]} in {key[1]}", param_hint="--message")
        messages[key] = text.strip()
    return messages


def _counties(values: tuple[str, ...]) -> list[int] | None:
    codes = []
    for value in values:
        text = value.strip()
        if ascii_digits(text):
            codes.append(int(text))
            continue
        found = [county for county in all_counties() if name_matches(county.name, text)]
        if len(found) != 1:
            choices = ", ".join(c.name for c in found[:5]) or "none"
            raise click.BadParameter(
                f"{value!r} matches {len(found)} counties ({choices})", param_hint="--county"
            )
        codes.append(found[0].code)
    return codes or None


def _holdout(text: str) -> float:
    text = text.strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise click.BadParameter(f"{text!r}: give a share like 0.1 or 10%", param_hint="--holdout") from None
    return share


def _start(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: give a time like 2026-11-23T09:00", param_hint="--start"
        ) from None
    return moment.replace(tzinfo=NAIROBI) if moment.tzinfo is None else moment


def _run(action):
    """Run `action(session)` in one transaction; a CampaignError becomes a clean CLI error."""
    try:
        with current().session_scope() as session:
            return action(session)
    except CampaignError as exc:
        raise click.ClickException(str(exc)) from None


@campaigns_group.command("create")
@click.argument("name")
@click.option(
    "--message",
    "messages",
    multiple=True,
    required=True,
    metavar="[VARIANT/]LANG=TEXT",
    help="A message: en=TEXT, sw=TEXT; for an A/B test B/en=TEXT, B/sw=TEXT. Repeat.",
)
@click.option("--county", "counties", multiple=True, metavar="CODE|NAME", help="Only these counties. Repeat.")
@click.option(
    "--language",
    "languages",
    multiple=True,
    type=click.Choice(["en", "sw"]),
    help="Only contacts with this language (default: the languages of the messages).",
)
@click.option("--source", "sources", multiple=True, help="Only contacts with this consent source. Repeat.")
@click.option("--holdout", default="0.1", show_default=True, help="Share held out at random: 0.1 or 10%.")
@click.option("--seed", type=int, help="Seed of the random draw (default: a new random one, recorded).")
@click.option("--start", help="Do not send before this Nairobi time, e.g. 2026-11-23T09:00.")
@click.option(
    "--hours", default=show(8 * 60, 18 * 60), show_default=True, help="Allowed sending hours (EAT)."
)
@click.option("--rate", type=int, default=100, show_default=True, help="At most this many SMS per second.")
@click.option(
    "--attribution-days",
    type=int,
    default=14,
    show_default=True,
    help="Days after the start in which engagement counts towards the effect.",
)
@with_appcontext
def create_command(
    name, messages, counties, languages, sources, holdout, seed, start, hours, rate, attribution_days
):
    """Create a draft campaign (nothing is sent until `send`)."""
    try:
        window = parse_hours(hours)
    except CampaignError as exc:
        raise click.BadParameter(str(exc), param_hint="--hours") from None
    new = service.NewCampaign(
        name=name,
        messages=_messages(messages),
        county_codes=_counties(counties),
        languages=list(languages) or None,
        sources=list(sources) or None,
        holdout_share=_holdout(holdout),
        seed=seed,
        start_at=_start(start),
        hours=window,
        rate=rate,
        attribution_days=attribution_days,
    )
    campaign_id = _run(lambda session: service.create(session, new).id)
    click.echo(
        f"Created campaign {name!r} (id {campaign_id}), a draft. Next: flask campaigns estimate {name!r}"
    )


@campaigns_group.command("estimate")
@click.argument("campaign")
@with_appcontext
def estimate_command(campaign):
    """Audience, held-out count, SMS segments and cost, before anything is sent."""
    click.echo(_run(lambda session: _estimate(session, campaign)))


def _estimate(session, name_or_id: str) -> str:
    campaign = service.find(session, name_or_id)
    figures = audience.estimate(session, campaign, Decimal(current().config.sms_price_kes))
    lines = [
        f"Campaign {campaign.name!r} ({campaign.state})",
        f"  audience      {figures.audience:>10,}  consented contacts matching {_filters(campaign)}",
        f"  held out      {figures.held_out:>10,}  "
        f"({campaign.holdout_share:.0%} drawn at random, get nothing)",
        f"  to send       {figures.treated:>10,}",
        f"  left out      {figures.safety_suppressed:>10,}  "
        "for their safety (a tip open or made in the last 30 days: counted, never listed)",
    ]
    for (variant, language), (parts, code, length) in sorted(figures.messages.items()):
        count = figures.recipients.get((variant, language), 0)
        lines.append(
            f"  variant {variant} {language}  {count:>10,}  x {parts} segment{'s' if parts > 1 else ''} "
            f"({length} characters, {code})"
        )
    lines += [
        f"  segments      {figures.segments:>10,}",
        f"  cost          KES {figures.cost:,.2f}  at KES {figures.price_per_segment} per segment",
        f"  sending       {show(campaign.hours_from, campaign.hours_until)} EAT, at most {campaign.rate}/s"
        f" (about {_duration(figures.treated / campaign.rate)} of sending)",
    ]
    return "\n".join(lines)


def _filters(campaign: Campaign) -> str:
    parts = []
    if campaign.county_codes:
        parts.append("counties " + ",".join(map(str, campaign.county_codes)))
    parts.append("languages " + ",".join(audience.campaign_languages(campaign)))
    if campaign.sources:
        parts.append("sources " + ",".join(campaign.sources))
    return "; ".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@campaigns_group.command("send")
@click.argument("campaign")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Show progress until it is sent.")
@with_appcontext
def send_command(campaign, yes, wait):
    """Draw the audience and start sending (inside the allowed hours, by the worker)."""
    ext = current()
    if not yes:
        click.echo(_run(lambda session: _estimate(session, campaign)))
        click.confirm("Send it?", abort=True)
    started = time.monotonic()

    def start(session):
        chosen = service.find(session, campaign)
        size, held_out = service.start(session, chosen)
        return chosen.id, chosen.name, size, held_out, as_utc(chosen.next_send_at)

    campaign_id, name, size, held_out, due = _run(start)
    click.echo(
        f"Drew the audience of {name!r}: {size:,} contacts, {held_out:,} held out, "
        f"{size - held_out:,} to send ({time.monotonic() - started:.1f} s)."
    )
    queue_dispatch(ext, campaign_id, at=due)
    if due > utcnow():
        click.echo(f"Sending starts {local_time(due)}: its start time or the allowed sending hours.")
        return
    if wait:
        _watch(campaign_id)
    else:
        click.echo(f"Sending in the worker. Follow it with: flask campaigns status {name!r}")


def _watch(campaign_id: int) -> None:
    """A progress bar until the campaign is sent, paused, cancelled or waits for its hours."""
    ext = current()

    def read():
        with ext.session_scope() as session:
            campaign = session.get(Campaign, campaign_id)
            due = as_utc(campaign.next_send_at) if campaign.next_send_at else None
            return campaign.state, due, service.progress(session, campaign)

    state, _, figures = read()
    warned = False
    begun = time.monotonic()
    with click.progressbar(length=figures.to_send, label="Sending", show_pos=True, show_eta=True) as bar:
        done = 0
        while True:
            state, due, figures = read()
            bar.update(figures.settled - done)
            done = figures.settled
            if state != "sending":
                break
            if figures.to_go == 0 and figures.uncertain:
                break  # only the manager's decision on the uncertain ones is left
            if due is not None and due > utcnow() and (due - utcnow()).total_seconds() > 60:
                state = "waiting"
                break
            if not warned and done == 0 and time.monotonic() - begun > 10 and not Worker.all(ext.redis):
                click.echo("\nNo worker is running: start one with `flask worker` (make run starts one).")
                warned = True
            time.sleep(1)
    click.echo(_status_line(campaign_id))


@campaigns_group.command("pause")
@click.argument("campaign")
@with_appcontext
def pause_command(campaign):
    """Stop sending after the batch in flight."""
    name = _run(lambda session: _act(session, campaign, service.pause))
    click.echo(f"Paused {name!r}. Resume with: flask campaigns resume {name!r}")


@campaigns_group.command("resume")
@click.argument("campaign")
@with_appcontext
def resume_command(campaign):
    """Go on sending a paused campaign."""
    name = _run(lambda session: _act(session, campaign, service.resume))
    campaign_id, due = _run(lambda session: _due(service.find(session, name)))
    queue_dispatch(current(), campaign_id)
    message = f"Resumed {name!r}."
    if due > utcnow():
        message += f" Sending starts {local_time(due)}: its start time or the allowed sending hours."
    click.echo(message)


def _due(campaign: Campaign) -> tuple[int, datetime]:
    return campaign.id, as_utc(campaign.next_send_at)


@campaigns_group.command("cancel")
@click.argument("campaign")
@with_appcontext
def cancel_command(campaign):
    """Stop for good: nobody not yet sent will be."""

    def run(session):
        found = service.find(session, campaign)
        return found.name, service.cancel(session, found)

    name, cancelled = _run(run)
    click.echo(f"Cancelled {name!r}: {cancelled:,} recipients will not be sent it.")


def _act(session, campaign, action) -> str:
    found = service.find(session, campaign)
    action(session, found)
    return found.name


@campaigns_group.command("status")
@click.argument("campaign", required=False)
@with_appcontext
def status_command(campaign):
    """Every campaign at a glance, or one in detail."""
    if campaign:
        campaign_id = _run(lambda session: service.find(session, campaign).id)
        click.echo(_status_line(campaign_id, detail=True))
        return
    with current().session_scope() as session:
        rows = session.query(Campaign).order_by(Campaign.id).all()
        if not rows:
            click.echo("No campaigns yet. Create one with: flask campaigns create NAME --message en=TEXT")
        for row in rows:
            click.echo(_status_line(row.id))


def _status_line(campaign_id: int, detail: bool = False) -> str:
    with current().session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        figures = service.progress(session, campaign)
        by_state = figures.by_state
        line = (
            f"{campaign.name}: {campaign.state}; audience {figures.audience:,}, "
            f"held out {figures.held_out:,}, "
            f"sent {by_state.get('sent', 0):,}, failed {by_state.get('failed', 0):,}, "
            f"suppressed {by_state.get('suppressed', 0):,}, "
            f"to go {figures.to_go:,}"
        )
        if by_state.get("skipped"):
            line += f", skipped {by_state['skipped']:,}"
        if campaign.safety_suppressed:
            line += f", left out for safety {campaign.safety_suppressed:,}"
        if figures.uncertain:
            line += f"; {figures.uncertain:,} recipients uncertain: resend or skip"
        due = as_utc(campaign.next_send_at) if campaign.next_send_at else None
        if campaign.state == "sending" and due and due > utcnow():
            line += f"; next batch {local_time(due)}"
        if not detail:
            return line
        lines = [
            line,
            f"  hours {show(campaign.hours_from, campaign.hours_until)} EAT, rate {campaign.rate}/s, "
            f"holdout {campaign.holdout_share:.0%}, seed {campaign.seed}",
        ]
        for message in campaign.messages:
            lines.append(f"  {message.variant}/{message.language}: {message.text}")
        if campaign.last_error:
            lines.append(f"  last error: {campaign.last_error}")
        if figures.uncertain:
            lines.append(
                f"  AT's answer to their batch was lost and no delivery report came: they may have it.\n"
                f"  Decide with: flask campaigns resend-uncertain {campaign.name!r}  "
                f"or: flask campaigns skip-uncertain {campaign.name!r}"
            )
        return "\n".join(lines)


@campaigns_group.command("resend-uncertain")
@click.argument("campaign")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def resend_uncertain_command(campaign, yes):
    """Send the campaign again to its uncertain recipients (some may then have it twice).

    Uncertain recipients were in a batch whose answer from AT was lost and for which no delivery
    report came within CAMPAIGN_RECONCILE_SECONDS. The worker sends them within the campaign's
    allowed hours and rate. A delivery report that arrives before then still settles a recipient.
    """
    name, count = _run(lambda session: _uncertain(session, campaign))
    if not yes:
        click.confirm(
            f"{count:,} recipients of {name!r} may already have this campaign. Send it to them again?",
            abort=True,
        )

    def resend(session):
        found = service.find(session, campaign)
        key = current().config.phone_hash_key
        return found.id, found.state, uncertain.resend(session, found, utcnow(), key)

    campaign_id, state, queued = _run(resend)
    if state == "sending":
        queue_dispatch(current(), campaign_id)
        click.echo(f"Queued {queued:,} uncertain recipients of {name!r} again: the worker sends them.")
    else:
        click.echo(
            f"Queued {queued:,} uncertain recipients of {name!r} again: they are sent when you resume it "
            f"(flask campaigns resume {name!r})."
        )


@campaigns_group.command("skip-uncertain")
@click.argument("campaign")
@with_appcontext
def skip_uncertain_command(campaign):
    """Never send the campaign to its uncertain recipients: mark them skipped.

    Uncertain recipients were in a batch whose answer from AT was lost and for which no delivery
    report came within CAMPAIGN_RECONCILE_SECONDS: AT may or may not have sent them the campaign.
    """

    def skip(session):
        found = service.find(session, campaign)
        key = current().config.phone_hash_key
        return found.name, uncertain.skip(session, found, utcnow(), key), found.state

    name, skipped, state = _run(skip)
    click.echo(f"Skipped {skipped:,} uncertain recipients of {name!r}; they will not be sent it. ({state})")


def _uncertain(session, name_or_id: str) -> tuple[str, int]:
    found = service.find(session, name_or_id)
    return found.name, uncertain.require(session, found)
