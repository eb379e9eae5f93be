"""How the studio's pages say things: the live estimate of a campaign being built, the list's rows
with their effect headline, the verdict of an effect in words. Plain values for the templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import redis as redis_errors
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns import audience, baseline, effect, live, report
from campaigns.charts import forest_plot
from campaigns.effect import Effect
from campaigns.hours import finish, next_opening, show
from campaigns.render import FUNNEL, FUNNEL_LABELS, interval, window_text
from campaigns.service import NewCampaign, unsaved
from hotline.core.counties import all_counties, name_of
from hotline.core.models import Campaign, Contact
from hotline.core.time import NAIROBI, as_utc, duration, kenya_time
from hotline.studio.forms import LANGUAGE_NAMES

ESTIMATE_SEED = 20261123  # a new campaign's estimate draws with a fixed seed: the figures do not jump
MAIN_OUTCOME = "any"  # any engagement: dialled, reported, checked an agency or sent an SMS
STATE_LABELS = {
    "draft": "Draft",
    "sending": "Sending",
    "paused": "Paused",
    "done": "Sent",
    "cancelled": "Cancelled",
}
STATE_BADGES = {"draft": "", "sending": "ok", "paused": "warn", "done": "ok", "cancelled": "danger"}


def when(moment: datetime | None) -> str:
    """A stored time as Nairobi reads it: `2026-11-23 08:00 EAT`, or `-`."""
    return f"{kenya_time(moment)} EAT" if moment else "-"


def percent(value: float | None, digits: int = 1) -> str:
    """0.0213 as `2.1%`."""
    return "-" if value is None else f"{value * 100:.{digits}f}%"




def consent_sources(session: Session) -> list[str]:
    """The consent sources the contacts carry, for the builder's choice."""
    return list(session.scalars(select(Contact.consent_source).distinct().order_by(Contact.consent_source)))


def counties_text(codes: list[int] | None) -> str:
    """The counties of an audience in words."""
    if not codes:
        return "every county"
    names = sorted(name_of(code) or str(code) for code in codes)
    return ", ".join(names) if len(names) <= 6 else f"{', '.join(names[:5])} and {len(names) - 5} more"


def audience_text(campaign: Campaign) -> str:
    """Who a campaign is for, in one line."""
    parts = [counties_text(campaign.county_codes)]
    languages = audience.campaign_languages(campaign)
    parts.append(" and ".join(LANGUAGE_NAMES.get(lang, lang) for lang in languages) or "no language")
    if campaign.sources:
        parts.append("consent from " + ", ".join(campaign.sources))
    return "; ".join(parts)


def sentence(text: str) -> str:
    """A phrase as a sentence: capital first, full stop last."""
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def verdict(effect: Effect) -> str:
    """What an effect says, as a sentence (`Effect.verdict`: too few to say, no measurable effect, ...)."""
    return sentence(effect.verdict)


# --- The live estimate.

@dataclass
class MessageRow:
    """One (variant, language) of an estimate."""

    variant: str
    language: str
    recipients: int
    parts: int
    encoding: str
    characters: int
    segments: int


@dataclass
class EstimateView:
    """What the builder's live estimate shows."""

    audience: int
    held_out: int
    treated: int
    suppressed: int
    messages: list[MessageRow]
    segments: int
    cost: Decimal
    price: Decimal
    starts: str
    ends: str
    sending: str
    rate: int
    hours: str
    baseline: baseline.Baseline
    rise: float | None
    sentence: str
    exact: bool = True  # False: held out and variants are the draw's expected split


def estimate_campaign(
    session: Session, campaign: Campaign, price: Decimal, now: datetime, cache=None, exact: bool = True
) -> EstimateView:
    """Audience, holdout, segments, cost, sending time and detectable effect of a (saved or unsaved)
    campaign; reads only (`cache`: Redis, where the 90-day baseline is kept for an hour). `exact`
    draws every contact as sending will (the send confirmation); otherwise the holdout and variants
    are the draw's expected split of the audience (the live estimate: a count per language)."""
    figures = (audience.estimate if exact else audience.expected)(session, campaign, price, now)
    rows = []
    for (variant, language), (parts, code, length) in sorted(figures.messages.items()):
        count = figures.recipients.get((variant, language), 0)
        rows.append(MessageRow(variant, language, count, parts, code, length, count * parts))
    seconds = figures.treated / max(1, campaign.rate)
    start_at = as_utc(campaign.start_at) if campaign.start_at else None
    begin = next_opening(max(start_at, now) if start_at else now, campaign.hours_from, campaign.hours_until)
    end = finish(begin, campaign.hours_from, campaign.hours_until, seconds)
    base = baseline.rate(session, campaign.attribution_days, now, cache)
    rise = effect.detectable_rise(base.rate, figures.treated, figures.held_out)
    return EstimateView(
        audience=figures.audience,
        held_out=figures.held_out,
        treated=figures.treated,
        suppressed=figures.safety_suppressed,
        messages=rows,
        segments=figures.segments,
        cost=figures.cost,
        price=price,
        starts=begin.astimezone(NAIROBI).strftime("%a %Y-%m-%d %H:%M EAT"),
        ends=end.astimezone(NAIROBI).strftime("%a %Y-%m-%d %H:%M EAT"),
        sending=duration(seconds, round_up=True, days_after_hours=24),
        rate=campaign.rate,
        hours=show(campaign.hours_from, campaign.hours_until).replace("-", " to "),
        baseline=base,
        rise=rise,
        sentence=sentence(effect.mde_sentence(base.rate, rise, campaign.holdout_share, figures.held_out)),
        exact=figures.exact,
    )


def estimate_new(
    session: Session, new: NewCampaign, seed: int | None, price: Decimal, now: datetime, cache=None
) -> EstimateView:
    """The estimate of what the builder holds, from an unsaved campaign (nothing is written)."""
    campaign = unsaved(new, ESTIMATE_SEED if seed is None else seed)
    return estimate_campaign(session, campaign, price, now, cache, exact=False)


# --- The list.

@dataclass
class ListRow:
    """One campaign in the list."""

    id: int
    name: str
    state: str
    state_label: str
    badge: str
    audience: str
    size: int | None
    held_out: int | None
    sent: int
    delivered: int
    started: str
    headline: str


HEADLINE_KEY = "campaign:{id}:headline"
HEADLINE_FINAL_TTL = 30 * 24 * 3600  # once the window closed, the figures no longer change
HEADLINE_OPEN_TTL = 600


def headline(session: Session, redis, campaign: Campaign, now: datetime) -> str:
    """The main outcome's verdict of a campaign sent in full (cached: a report is costly), else why none."""
    if campaign.state == "draft":
        return ""
    if campaign.state in ("sending", "paused"):
        return "After sending"
    key = HEADLINE_KEY.format(id=campaign.id)
    cached = _cached(redis, key)
    if cached is not None:
        return cached
    built = report.build(session, campaign.id, now=now)
    text = verdict(built.effects[MAIN_OUTCOME])
    if built.status == "window open":
        text = f"So far: {text}"
    try:
        redis.set(key, text, ex=HEADLINE_OPEN_TTL if built.window.open else HEADLINE_FINAL_TTL)
    except redis_errors.RedisError:  # a cache that is down only costs time
        pass
    return text


def _cached(redis, key: str) -> str | None:
    try:
        value = redis.get(key)
    except redis_errors.RedisError:  # a cache that is down only costs time
        return None
    return value.decode() if isinstance(value, bytes) else value


def list_rows(session: Session, redis, campaigns: list[Campaign], now: datetime) -> list[ListRow]:
    """The list's rows: state, audience, sent, delivered (reach), started, effect headline."""
    counts = live.figures(session, [c.id for c in campaigns if c.state != "draft"])
    rows = []
    for campaign in campaigns:
        figures = counts.get(campaign.id, live.Figures())
        rows.append(
            ListRow(
                id=campaign.id,
                name=campaign.name,
                state=campaign.state,
                state_label=STATE_LABELS.get(campaign.state, campaign.state),
                badge=STATE_BADGES.get(campaign.state, ""),
                audience=audience_text(campaign),
                size=campaign.audience_size,
                held_out=campaign.held_out,
                sent=figures.sent,
                delivered=figures.delivered,
                started=kenya_time(campaign.started_at, missing=""),
                headline=headline(session, redis, campaign, now),
            )
        )
    return rows


# --- The report.

@dataclass
class EffectRow:
    """One outcome (or variant) against the holdout."""

    label: str
    treated: str
    held_out: str
    difference: str
    verdict: str
    effect: Effect


def _effect_row(label: str, measured: Effect) -> EffectRow:
    def group(x: int, n: int, rate: float | None) -> str:
        return f"{x:,} of {n:,} ({percent(rate, 2)})"

    return EffectRow(
        label,
        group(measured.treated_x, measured.treated_n, measured.treated_rate),
        group(measured.held_out_x, measured.held_out_n, measured.held_out_rate),
        interval(measured),
        verdict(measured),
        measured,
    )


def report_context(campaign: Campaign, built: report.CampaignReport) -> dict:
    """What the report page shows, from `campaigns.report.build`."""
    outcomes = [_effect_row(report.SIGNAL_LABELS[s], built.effects[s]) for s in report.SIGNALS]
    outcomes.append(_effect_row("opted out", built.opt_outs))
    by_variant = [
        _effect_row(f"variant {variant}", effects[MAIN_OUTCOME])
        for variant, effects in built.effects_by_variant.items()
    ]
    plot_rows = [(row.label, row.effect) for row in outcomes[:-1]]
    return {
        "built": built,
        "funnel": [(FUNNEL_LABELS[name], getattr(built.totals, name)) for name in FUNNEL if name != "cost"],
        "cost": built.totals.cost,
        "window": sentence(window_text(built.window)),
        "started": when(built.started_at),
        "finished": when(built.finished_at),
        "outcomes": outcomes,
        "by_variant": by_variant,
        "main": outcomes[report.SIGNALS.index(MAIN_OUTCOME)],
        "plot": forest_plot(plot_rows),
        "variant_plot": forest_plot([(r.label, r.effect) for r in by_variant], "Any engagement, by variant")
        if by_variant
        else None,
        "breakdowns": [
            ("County", built.by_county),
            ("Network", built.by_network),
            ("Variant", built.by_variant),
            ("Day (Nairobi)", built.by_day),
        ],
        "columns": [
            ("audience", "Audience"),
            ("held_out", "Held out"),
            ("treated", "Treated"),
            ("sent", "Sent"),
            ("delivered", "Delivered"),
            ("failed", "Failed"),
        ],
        "holdout": f"{built.holdout_share:.0%}",
        "reach_by_county": reach_by_county(built),
    }


def reach_by_county(built: report.CampaignReport) -> dict[int, int]:
    """Unique numbers reached per county code, for the shaded map (the report keys counties by name)."""
    codes = {county.name: county.code for county in all_counties()}
    return {codes[s.key]: s.funnel.delivered for s in built.by_county if s.key in codes}
