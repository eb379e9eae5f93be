"""`flask seed`: the 47 counties, and with `--demo` fictitious tips, focal points, agencies and contacts."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from hotline.accounts import two_factor, users
from hotline.agencies import register as agencies
from hotline.contacts import contacts_csv
from hotline.contacts.service import new_salt
from hotline.core.counties import all_counties
from hotline.core.csv_import import import_file
from hotline.core.extensions import current
from hotline.core.models import Contact, County, InboundSms, Suppression, UssdSessionEnd
from hotline.core.privacy import encrypt_contact, engagement_key, reporter_key, suppression_key
from hotline.core.time import utcnow
from hotline.tips import focal_points, referrals
from hotline.tips import submission as tips
from hotline.ussd.cli import DEMO_PHONE


def seed_counties(session) -> int:
    """Insert or correct the 47 counties; returns how many changed."""
    changed = 0
    stored = {county.code: county for county in session.scalars(select(County))}  # one query, not 47
    for info in all_counties():
        county = stored.get(info.code)
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
    # Kakamega's, for the demo focal point's console (kakamega@demo.hotline.ke): one the reporter
    # may be called back about, one child case, one recruitment fraud.
    dict(
        kind="forced_labour",
        county_code=37,
        place="Sugarcane farm near Mumias",
        description="Workers from Busia kept on the farm, wages withheld to repay transport.",
        danger="no",
        callback=True,
    ),
    dict(
        kind="child_marriage",
        county_code=37,
        place="Village near Malava",
        description="Girl of 14 taken out of school to be married next month.",
        children="yes",
    ),
    dict(
        kind="recruitment_fraud",
        county_code=37,
        place="Bus stage, Kakamega town",
        description="Man collecting fees from young women for hotel jobs in Dubai; no office.",
    ),
)


# The demo's console accounts (development only: `flask seed --demo` refuses production). Their
# password and authenticator keys are public, printed by `make run`: enter a key in an authenticator
# app, or print a code with `flask users code EMAIL`.
DEMO_PASSWORD = "demo-hotline-2026"
# (e-mail, role, county code, phone of the demo focal point the account is, TOTP key)
DEMO_ACCOUNTS = (
    ("kakamega@demo.hotline.ke", "focal_point", 37, "+254700000101", "DEMOKAKAMEGAFOCALPOINTKEYAAAAAAA"),
    ("nairobi@demo.hotline.ke", "focal_point", 47, "+254700000111", "DEMONAIROBIFOCALPOINTKEYAAAAAAAA"),
    ("secretariat@demo.hotline.ke", "secretariat", None, None, "DEMOSECRETARIATKEYAAAAAAAAAAAAAA"),
    ("auditor@demo.hotline.ke", "auditor", None, None, "DEMOAUDITORKEYAAAAAAAAAAAAAAAAAA"),
    ("admin@demo.hotline.ke", "admin", None, None, "DEMOADMINKEYAAAAAAAAAAAAAAAAAAAA"),
    # A campaign manager with a phone of their own: the studio's test sends reach it in the simulator.
    ("manager@demo.hotline.ke", "campaign_manager", None, "+254700000121",
     "DEMOCAMPAIGNMANAGERKEYAAAAAAAAAA"),
)


def seed_demo_accounts(ext) -> int:
    """Make the demo console accounts that are missing, their authenticators set up; returns how many."""
    made = 0
    with ext.session_scope() as session:
        for email, role, county_code, phone, key in DEMO_ACCOUNTS:
            if users.find(session, email) is not None:
                continue
            user = users.create(session, email, role, DEMO_PASSWORD, county_code=county_code, phone=phone,
                                name=f"Demo {email.split('@')[0].title()}", actor="seed")
            users.enrol(user, two_factor.seal(key, ext.config.contact_key), utcnow())
            made += 1
    return made


def demo_accounts_text(console_url: str) -> str:
    """The demo accounts as `make run` prints them."""
    lines = [f"  Console:                         {console_url}/sign-in",
             f"  Demo accounts (password {DEMO_PASSWORD}; authenticator key, or `flask users code EMAIL`):"]
    for email, role, _, _, key in DEMO_ACCOUNTS:
        lines.append(f"    {email:29} {role:16} {two_factor.grouped(key)}")
    return "\n".join(lines)


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
        seed_demo_accounts(ext)  # the same line whether made now or before (test_cli compares two runs)
        accounts = f"demo console accounts: {len(DEMO_ACCOUNTS)}, password {DEMO_PASSWORD}"
        click.echo(f"{accounts} (`flask users list`)")
        report = import_file(agencies.DEMO_FILE, agencies.SPEC, ext.session_scope)
        click.echo(f"demo agencies: {len(report.checked.rows)} in the register (`flask agencies list`)")
        spec = contacts_csv.spec_for(ext.config.phone_hash_key)
        report = import_file(contacts_csv.DEMO_FILE, spec, ext.session_scope)
        click.echo(f"demo contacts: {report.counts}")
        with ext.session_scope() as session:
            referrals.seed_demo(session)
        click.echo(f"demo referral organisations: {len(referrals.DEMO_ORGANISATIONS)} in the directory")
        seed_demo_past_retention(ext)
        click.echo(
            "demo data past its retention: 3 USSD session ends and 2 inbound SMS from 100 days ago, "
            "a contact opted out 3 years ago (`flask purge --dry-run` lists them)"
        )


# A contact of the demo list who opted out three years ago: past RETAIN_OPTED_OUT_NUMBER_DAYS (730).
DEMO_OLD_CONTACT = "+254700003099"


def seed_demo_past_retention(ext) -> int:
    """Add demo rows old enough for a dry-run purge to list (once: a purge removes them for good, and
    the old contact's keyed hash then says it was there); returns how many were added."""
    now, added = utcnow(), 0
    then = now - timedelta(days=100)
    with ext.session_scope() as session:
        for number in range(1, 4):
            if session.get(UssdSessionEnd, f"demo-old-{number}") is None:
                session.add(UssdSessionEnd(
                    session_id=f"demo-old-{number}", status="Success", last_screen="main", language="en",
                    duration_ms=30_000, hops=4, received_at=then,
                ))
                added += 1
        for number in range(1, 3):
            if session.get(InboundSms, f"demo-old-{number}") is None:
                old = InboundSms(at_id=f"demo-old-{number}", keyword="HELP", received_at=then, sent_at=then)
                session.add(old)
                added += 1
        key = ext.config.phone_hash_key
        known = session.scalar(select(Contact.id).where(Contact.phone == DEMO_OLD_CONTACT))
        if known is None and session.get(Suppression, suppression_key(DEMO_OLD_CONTACT, key)) is None:
            joined, left = now - timedelta(days=4 * 365), now - timedelta(days=3 * 365)
            session.add(Contact(
                phone=DEMO_OLD_CONTACT, engagement_key=engagement_key(DEMO_OLD_CONTACT, key), county_code=47,
                language="en", consent_source="Demo old list", consented_at=joined, opted_out_at=left,
                opt_out_source="sms", salt=new_salt(), created_at=joined, updated_at=left,
            ))
            added += 1
    return added


def seed_demo_tips(ext) -> None:
    """Submit the demo tips and queue their routing at once, as the USSD path does for a real one (the
    reporter's engagement counted and sealed on the tip for the campaigns' safety rule)."""
    key = reporter_key(DEMO_PHONE, ext.config.phone_hash_key)
    engaged = engagement_key(DEMO_PHONE, ext.config.phone_hash_key)
    unrouted = []
    for number, demo in enumerate(DEMO_TIPS, 1):
        fields = {name: value for name, value in demo.items() if name != "callback"}
        if demo.get("callback"):  # the reporter said yes to a call back: their number, encrypted
            fields["callback_contact"] = encrypt_contact(DEMO_PHONE, ext.config.contact_key)
        new = tips.NewTip(channel="ussd", source_id=f"demo:{number}", reporter_key=key, **fields)
        tip = tips.submit_tip(ext.session_scope, new, engaged)
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
