"""`flask seed`: the 47 counties, and with `--demo` fictitious tips, focal points, agencies and contacts."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from hotline.agencies import register as agencies
from hotline.contacts import cli as contacts_cli
from hotline.core.counties import all_counties
from hotline.core.csv_import import import_file
from hotline.core.extensions import current
from hotline.core.models import County
from hotline.core.privacy import reporter_key
from hotline.tips import focal_points, referrals
from hotline.tips import submission as tips
from hotline.ussd.cli import DEMO_PHONE


def seed_counties(session) -> int:
    """Insert or correct the 47 counties; returns how many changed."""
    changed = 0
    for info in all_counties():
        county = session.get(County, info.code)
        if county is None:
            session.add(County(code=info.code, name=info.name, former_province=info.former_province))
            changed += 1
        elif (county.name, county.former_province) != (info.name, info.former_province):
            county.name, county.former_province = info.name, info.former_province
            changed += 1
    return changed


DEMO_TIPS = (
    dict(
        kind="recruitment_fraud",
        county_code=47,
        place="Agency office, Moi Avenue",
        description="Agency asks KES 80,000 for a job in the Gulf; keeps passports.",
        danger="no",
    ),
    dict(
        kind="child_labour",
        county_code=3,
        place="Sand harvesting site near the river",
        description="Children of about 12 years carrying sand during school hours.",
        children="yes",
    ),
    dict(
        kind="servitude",
        county_code=1,
        place="House in Nyali",
        danger="yes",
        description="Housemaid locked in, not paid for months.",
    ),
)


@click.command("seed")
@click.option("--demo", is_flag=True, help="Also add fictitious demo tips, focal points, agencies, contacts.")
@with_appcontext
def seed_command(demo):
    """Load the 47 counties (and demo data with --demo). Safe to run again."""
    ext = current()
    if demo and ext.config.production:
        # Fictitious tips would reach real focal points, demo contacts would get campaigns.
        raise click.UsageError("--demo adds fictitious tips, focal points and contacts: not in production")
    with ext.session_scope() as session:
        changed = seed_counties(session)
    click.echo(f"counties: 47 present, {changed} added or corrected")
    if demo:
        # Focal points first: the demo tips are routed as soon as a worker takes their jobs.
        report = import_file(focal_points.DEMO_FILE, focal_points.SPEC, ext.session_scope)
        click.echo(f"demo focal points: {report.counts}")
        seed_demo_tips(ext)
        report = import_file(agencies.DEMO_FILE, agencies.SPEC, ext.session_scope)
        click.echo(f"demo agencies: {len(report.checked.rows)} in the register (`flask agencies list`)")
        spec = contacts_cli.spec_for(ext.config.phone_hash_key)
        report = import_file(contacts_cli.DEMO_FILE, spec, ext.session_scope)
        click.echo(f"demo contacts: {report.counts}")
        with ext.session_scope() as session:
            referrals.seed_demo(session)
        click.echo(f"demo referral organisations: {len(referrals.DEMO_ORGANISATIONS)} in the directory")


def seed_demo_tips(ext) -> None:
    """Submit the demo tips and queue their routing at once, as the USSD path does for a real one."""
    key = reporter_key(DEMO_PHONE, ext.config.phone_hash_key)
    unrouted = []
    for number, fields in enumerate(DEMO_TIPS, 1):
        new = tips.NewTip(channel="ussd", source_id=f"demo:{number}", reporter_key=key, **fields)
        tip = tips.submit_tip(ext.session_scope, new)
        click.echo(f"demo tip {tip.reference} ({new.kind})")
        if tip.routing_started_at is None:  # seeded before and already routed: nothing to queue
            unrouted.append(tip.id)
    queued = sum(tips.queue_routing(ext.queues, tip_id, ext.session_scope) for tip_id in unrouted)
    if not unrouted:
        click.echo("demo tips: routed already")
    elif queued < len(unrouted):
        click.echo(
            f"demo tips: Redis is down, {len(unrouted) - queued} not queued for routing yet; "
            "a worker's sweep queues them once Redis is back"
        )
    else:
        click.echo(f"demo tips: {queued} queued for routing (the worker sends them to the focal points)")
