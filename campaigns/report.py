"""A campaign's reach and effect: what was sent and delivered, to whom, at what cost, and whether
the people it reached did more than the holdout.

Reach counts unique numbers with a Success delivery report (one recipient row per contact, so it
never counts messages twice). Effect is intention to treat: everyone assigned a variant counts as
treated, delivered or not, against everyone held out; an outcome counts when the contact dialled
the hotline, reported a tip, checked an agency or sent an SMS (STOP aside: opt-outs are counted
apart) within the attribution window.

Engagement is matched through the contact's engagement key and counted by Africa/Nairobi day
(`hotline.engagement`): tips, dials, checks and SMS carry nothing a contact row shares, and
engagement rows carry the key only sealed, so the window is whole days too: from the day of the
campaign's start, for `days` days. An event on the first day before the first send counts, one on
the last day after the exact end does not; both groups are measured the same way, so the
comparison stays fair. Opt-outs (on the contact row) use the same days.

Every breakdown (county, network, variant, day) follows one rule, so that its rows add up to the
totals row, field by field: the keyed rows count the treated (everyone assigned a variant), and the
whole held-out group is one more row, `HELD_OUT_ROW` ("held out (no message)"), the same in every
table. A treated recipient with no network (never accepted by AT) is in the network table's
"unknown" row; one never sent (queued, suppressed, cancelled, refused before sending) is in the day
table's "not sent" row; one with no county in the county table's "unknown" row.

Built for large campaigns: one GROUP BY over the campaign's recipients, rolled up here; the
window's (few) engagement rows read by the day index and opened here, each person's signals ORed;
then, 500 keys a query, the contacts' engagement-key index leads to this campaign's recipients.
Only engaged recipients reach Python, never the whole audience.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from sqlalchemy import Date, String, and_, any_, bindparam, cast, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from campaigns.effect import Effect, difference, unmeasured
from hotline.africastalking.statuses import ACCEPTED, DELIVERED, FAILED, NETWORK_NAMES, STATUS_NAMES
from hotline.core.engagement import day_of, day_start, seal_key
from hotline.core.models import Campaign, CampaignRecipient, Contact, County, Engagement, utcnow
from hotline.core.privacy import open_engagement

log = logging.getLogger(__name__)

ENGAGEMENT = ("dialled", "tip", "agency_check", "sms")
SIGNALS = (*ENGAGEMENT, "any")
SIGNAL_LABELS = {
    "dialled": "dialled the hotline",
    "tip": "reported a tip",
    "agency_check": "checked an agency",
    "sms": "sent an SMS",
    "any": "any of these",
}
NOT_SENT_YET = {"queued", "retry", "sending"}
UNKNOWN = "unknown"
NOT_SENT = "not sent"  # the day table's row for treated recipients with no send time
HELD_OUT_ROW = "held out (no message)"  # the held-out group's row in every breakdown
HOLDOUT, TREATED = "held out", "treated"  # engagement groups besides the variants
BITS = {"dialled": 1, "tip": 2, "agency_check": 4, "sms": 8, "opt_out": 16}
ANY = 1 | 2 | 4 | 8  # any engagement; an opt-out is not one
CHUNK = 500  # engagement keys per lookup of their recipients


@dataclass
class Funnel:
    """Counts of one slice of the audience, from assignment to delivery report, and its cost."""

    audience: int = 0
    held_out: int = 0
    treated: int = 0
    sent: int = 0  # accepted by AT
    delivered: int = 0  # delivery report Success: unique numbers reached
    failed: int = 0  # not accepted by AT, or a final failed delivery report
    awaiting_report: int = 0  # accepted, no final delivery report yet
    not_sent_yet: int = 0
    suppressed: int = 0
    cancelled: int = 0
    uncertain: int = 0  # AT's answer lost and no delivery report: waiting for resend or skip
    skipped: int = 0  # uncertain, and the campaign manager chose not to send again
    cost: Decimal = Decimal(0)  # KES


@dataclass
class Slice:
    """One row of a breakdown (a county, a variant, a day, a network) and its funnel."""

    key: str
    funnel: Funnel

    @property
    def is_holdout(self) -> bool:
        """Whether this is the held-out group's row (`HELD_OUT_ROW`), not a key's."""
        return self.key == HELD_OUT_ROW


@dataclass
class Window:
    """The attribution window: campaign start to start + days; signals count by Nairobi day, from
    `first_day` to `last_day` inclusive."""

    days: int
    start: datetime | None
    end: datetime | None
    open: bool
    first_day: date | None = None
    last_day: date | None = None

    @property
    def closed(self) -> bool:
        """The window has started and ended: the effect figures are final."""
        return self.end is not None and not self.open


@dataclass
class CampaignReport:
    """Everything `render` shows about one campaign."""

    campaign_id: int
    name: str
    state: str
    status: str  # not started | window open | final
    holdout_share: float
    started_at: datetime | None
    finished_at: datetime | None
    generated_at: datetime
    totals: Funnel
    reach: int
    failed_by_reason: dict[str, int]
    failed_by_network: dict[str, int]
    by_network: list[Slice]
    by_county: list[Slice]
    by_variant: list[Slice]
    by_day: list[Slice]
    window: Window
    opt_outs: Effect  # opted out within the window, treated vs held out
    effects: dict[str, Effect]  # signal -> treated vs held out
    effects_by_variant: dict[str, dict[str, Effect]] = field(default_factory=dict)


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes: they were stored in UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _as_date(value) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _outcome(held_out: bool, state, code, delivery_status, failure_reason) -> tuple[str, bool, str | None]:
    """(funnel field, accepted by AT, failure reason) of one group of recipients."""
    if held_out:
        return "held_out", False, None
    # A delivery report means AT took the message, whatever the row's state says.
    accepted = state == "sent" or code in ACCEPTED or delivery_status is not None
    if accepted:
        if delivery_status == DELIVERED:
            return "delivered", True, None
        if delivery_status in FAILED:
            return "failed", True, failure_reason or delivery_status
        return "awaiting_report", True, None
    if state in NOT_SENT_YET:
        return "not_sent_yet", False, None
    if state in ("suppressed", "cancelled", "uncertain", "skipped"):
        return state, False, None
    # Not accepted by AT: its per-recipient status code (and the status the sender kept) says why.
    name = failure_reason or STATUS_NAMES.get(code, "not accepted")
    reason = f"{code} {name}" if code is not None else name
    return "failed", False, reason


def _count(funnel: Funnel, held_out: bool, outcome: str, accepted: bool, n: int, cost: Decimal) -> None:
    funnel.audience += n
    funnel.cost += cost
    if held_out:
        funnel.held_out += n
        return
    funnel.treated += n
    funnel.sent += n if accepted else 0
    setattr(funnel, outcome, getattr(funnel, outcome) + n)


@contextmanager
def _tuned(session):
    """Per dialect: on PostgreSQL, planner settings fit for this report, for its queries only.

    The planner multiplies per-column distinct counts, expects a huge number of groups and would
    sort a million rows on disk instead of hashing a few thousand groups; for the same reason it
    prices a parallel aggregate too high, though the partial aggregates are tiny: free parallel
    setup and tuples let it split the scan over the server's cores (0.89 s -> 0.56 s for a million
    recipients on two). JIT compiling costs more than it saves here.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    settings = {"work_mem": "64MB", "jit": "off", "parallel_setup_cost": "0", "parallel_tuple_cost": "0"}
    before = {name: session.execute(select(func.current_setting(name))).scalar_one() for name in settings}
    for name, value in settings.items():
        session.execute(select(func.set_config(name, value, True)))
    try:
        yield
    finally:
        for name, value in before.items():
            session.execute(select(func.set_config(name, value, True)))


def _nairobi_date(session, column):
    """SQL for the Africa/Nairobi calendar date of a timestamp column (the one dialect switch)."""
    if session.get_bind().dialect.name == "postgresql":
        # A fixed offset: cheaper per row than a named zone, and Kenya keeps no DST.
        return cast(func.timezone(text("interval '3 hours'"), column), Date)
    return func.date(column, "+3 hours")  # SQLite keeps UTC text


def signal_masks(session, first: date, after: date) -> tuple[dict[str, int], int]:
    """Engagement key -> bit mask of `BITS` for the signals of Nairobi days `first` to `after`
    (exclusive), read by the day index and opened here; and how many rows it could open."""
    phone_hash_key = seal_key(session)
    masks: dict[str, int] = defaultdict(int)
    unreadable = 0
    in_days = and_(Engagement.day >= first, Engagement.day < after)
    rows = session.execute(select(Engagement.sealed_key, Engagement.signal).where(in_days))
    seen = 0
    for sealed, signal in rows:
        seen += 1
        try:
            key = open_engagement(sealed, phone_hash_key)
        except (InvalidTag, ValueError):  # sealed under another PHONE_HASH_KEY, or damaged
            unreadable += 1
            continue
        masks[key] |= BITS.get(signal, 0)
    if unreadable:
        log.warning("campaigns: %d engagement rows not sealed under this PHONE_HASH_KEY", unreadable)
    return masks, seen - unreadable


def contact_filter(session, keys: list[str]):
    """`Contact.engagement_key` among `keys` (at most `CHUNK` on SQLite): on PostgreSQL one array
    parameter, half the time of 500 bound values, same index plan, and no limit on its length."""
    if session.get_bind().dialect.name == "postgresql":
        return Contact.engagement_key == any_(bindparam("keys", keys, type_=ARRAY(String)))
    return Contact.engagement_key.in_(keys)


def _engaged_masks(session, window: Window) -> dict[str, int]:
    """Engagement key -> bit mask of `BITS`, for everyone with a signal or an opt-out in the window's
    days: the window's engagement rows (`signal_masks`), and the contacts who opted out in those
    days (by the opt-out index). Never a scan of every contact."""
    first, after = window.first_day, window.last_day + timedelta(days=1)
    masks, _ = signal_masks(session, first, after)
    opted_out = select(Contact.engagement_key).where(
        Contact.opted_out_at >= day_start(first),
        Contact.opted_out_at < day_start(after),
        Contact.engagement_key.is_not(None),  # erased: its opt-out can be matched to no recipient
    )
    for key in session.scalars(opted_out):
        masks[key] |= BITS["opt_out"]
    return masks


def _recipient_groups(session, campaign_id: int):
    """The one scan of the campaign's recipients, grouped by everything the report breaks down by."""
    r = CampaignRecipient
    day = _nairobi_date(session, r.sent_at).label("day")
    columns = (
        r.held_out,
        r.variant,
        r.state,
        r.at_status_code,
        r.delivery_status,
        r.failure_reason,
        r.network_code,
        r.county_code,
        day,
    )
    query = (
        select(*columns, func.count().label("n"), func.sum(r.cost).label("cost"))
        .where(r.campaign_id == campaign_id)
        .group_by(*columns)
    )
    with _tuned(session):
        return session.execute(query).all()


class _Engaged(NamedTuple):
    held_out: bool
    variant: str | None
    mask: int
    n: int


def _engagement(session, campaign_id: int, window: Window) -> list[_Engaged]:
    """Recipients engaged in the window by (held out, variant, engagement mask): from the (few)
    engaged keys to their contacts and to this campaign's recipient rows, by index, in one query
    (`CHUNK` keys a query on SQLite)."""
    masks = _engaged_masks(session, window)
    keys = list(masks)
    r = CampaignRecipient
    counts: Counter[tuple[bool, str | None, int]] = Counter()
    # PostgreSQL takes every key as one array parameter (one round trip); SQLite `CHUNK` at a time.
    size = len(keys) or 1 if session.get_bind().dialect.name == "postgresql" else CHUNK
    for start in range(0, len(keys), size):
        wanted = contact_filter(session, keys[start : start + size])
        query = (
            select(Contact.engagement_key, r.held_out, r.variant)
            .join(r, and_(r.contact_id == Contact.id, r.campaign_id == campaign_id))
            .where(wanted)
        )
        for key, held_out, variant in session.execute(query):
            counts[bool(held_out), variant, masks[key]] += 1
    return [_Engaged(held_out, variant, mask, n) for (held_out, variant, mask), n in counts.items()]


def _window(campaign: Campaign, window_days: int | None, now: datetime) -> Window:
    days = window_days or campaign.attribution_days or 14
    start = _utc(campaign.started_at)
    end = start + timedelta(days=days) if start else None
    first = day_of(start) if start else None
    last = first + timedelta(days=days - 1) if first else None
    return Window(days, start, end, open=end is not None and now < end, first_day=first, last_day=last)


def build(
    session, campaign_id: int, window_days: int | None = None, now: datetime | None = None
) -> CampaignReport:
    """The reach-and-effect report of one campaign; LookupError if there is no such campaign."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"no campaign with id {campaign_id}")
    now = _utc(now) or utcnow()
    window = _window(campaign, window_days, now)
    names = dict(session.execute(select(County.code, County.name)).all())

    totals = Funnel()
    slices: dict[str, dict] = {name: defaultdict(Funnel) for name in ("network", "county", "variant", "day")}
    failed_by_reason: dict[str, int] = defaultdict(int)
    failed_by_network: dict[str, int] = defaultdict(int)
    # Engaged contacts per group: HOLDOUT, TREATED (all variants) and each variant.
    engaged: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in _recipient_groups(session, campaign_id):
        held_out, n, cost = bool(row.held_out), row.n, row.cost or Decimal(0)
        outcome, accepted, reason = _outcome(
            held_out, row.state, row.at_status_code, row.delivery_status, row.failure_reason
        )
        network = NETWORK_NAMES.get(row.network_code, row.network_code) if row.network_code else UNKNOWN
        day = _as_date(row.day)
        keys = {
            "county": names.get(row.county_code, UNKNOWN) if row.county_code is not None else UNKNOWN,
            "network": network,
            "variant": row.variant or UNKNOWN,
            "day": day.isoformat() if day is not None else NOT_SENT,
        }
        targets = [totals]
        for name, key in keys.items():  # one rule for every breakdown: see the module
            targets.append(slices[name][HELD_OUT_ROW if held_out else key])
        for funnel in targets:
            _count(funnel, held_out, outcome, accepted, n, cost)
        if outcome == "failed":
            failed_by_reason[reason] += n
            failed_by_network[network] += n
    for row in _engagement(session, campaign_id, window) if window.start else ():
        for group in (HOLDOUT,) if row.held_out else (TREATED, row.variant or UNKNOWN):
            for name, bit in BITS.items():
                engaged[group][name] += row.n if row.mask & bit else 0
            engaged[group]["any"] += row.n if row.mask & ANY else 0

    def ordered(name: str, key=lambda kv: kv[0]) -> list[Slice]:
        """The breakdown's rows: keyed rows by `key`, then unknown or not sent, then the holdout."""
        last = {UNKNOWN: 1, NOT_SENT: 1, HELD_OUT_ROW: 2}
        return [
            Slice(k, f) for k, f in sorted(slices[name].items(), key=lambda kv: (last.get(kv[0], 0), key(kv)))
        ]

    held = engaged[HOLDOUT]

    def effects(group: str, n: int) -> dict[str, Effect]:
        if window.start is None:
            return {s: unmeasured(n, totals.held_out, "not started") for s in SIGNALS}
        return {s: difference(engaged[group][s], n, held[s], totals.held_out) for s in SIGNALS}

    by_variant = ordered("variant")
    variants = [v for v in by_variant if not v.is_holdout]
    opt_outs = (
        unmeasured(totals.treated, totals.held_out, "not started")
        if window.start is None
        else difference(engaged[TREATED]["opt_out"], totals.treated, held["opt_out"], totals.held_out)
    )
    return CampaignReport(
        campaign_id=campaign.id,
        name=campaign.name,
        state=campaign.state,
        status="not started" if window.start is None else "window open" if window.open else "final",
        holdout_share=campaign.holdout_share,
        started_at=window.start,
        finished_at=_utc(campaign.finished_at),
        generated_at=now,
        totals=totals,
        reach=totals.delivered,
        failed_by_reason=_by_count(failed_by_reason),
        failed_by_network=_by_count(failed_by_network),
        by_network=ordered("network", key=lambda kv: (-kv[1].treated, kv[0])),
        by_county=ordered("county"),
        by_variant=by_variant,
        by_day=ordered("day"),
        window=window,
        opt_outs=opt_outs,
        effects=effects(TREATED, totals.treated),
        effects_by_variant={v.key: effects(v.key, v.funnel.treated) for v in variants},
    )


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
