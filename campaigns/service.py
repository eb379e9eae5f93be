"""Campaign use cases shared by the CLI and the jobs: create, send, pause, resume, cancel, status.

States: `draft` (created, nothing drawn) -> `sending` (audience drawn; the dispatcher works through
it inside the allowed hours) <-> `paused` -> `done` or `cancelled`. A state change takes effect
within one batch: the dispatcher reads the state before every batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaigns import audience
from campaigns.errors import CampaignError
from campaigns.hours import DEFAULT_HOURS, next_opening
from flows.gsm import segments
from hotline.core import randomness
from hotline.core.models import Campaign, CampaignMessage, CampaignRecipient, County, utcnow
from hotline.core.numbers import ascii_digits
from hotline.core.time import as_utc

LANGUAGES = ("en", "sw")
MAX_SEGMENTS = 3
MAX_RATE = 10_000
UNFINISHED = ("queued", "retry", "sending")


@dataclass
class NewCampaign:
    """What a campaign manager asks for."""

    name: str
    messages: dict[tuple[str, str], str]  # (variant, language) -> text
    county_codes: list[int] | None = None
    languages: list[str] | None = None
    sources: list[str] | None = None
    holdout_share: float = 0.1
    seed: int | None = None
    start_at: datetime | None = None
    hours: tuple[int, int] = DEFAULT_HOURS
    rate: int = 100
    attribution_days: int = 14


def find(session: Session, name_or_id: str) -> Campaign:
    """The campaign named (or numbered) so; CampaignError when there is none."""
    campaign = session.scalar(select(Campaign).where(Campaign.name == name_or_id.strip()))
    number = name_or_id.strip()
    if campaign is None and ascii_digits(number) and int(number) < 2**31:  # ids fit an INTEGER column
        campaign = session.get(Campaign, int(number))
    if campaign is None:
        raise CampaignError(f"no campaign named {name_or_id!r} (see `flask campaigns status`)")
    return campaign


def check(session: Session, new: NewCampaign, replacing: Campaign | None = None) -> str:
    """Refuse a campaign that cannot be made as asked (CampaignError); returns its name as kept.

    `replacing` is the draft being edited: its own name is not taken by itself.
    """
    name = new.name.strip()
    if not name or len(name) > 80:
        raise CampaignError("a campaign needs a name of 1 to 80 characters")
    taken = session.scalar(select(Campaign.id).where(Campaign.name == name))
    if taken and (replacing is None or taken != replacing.id):
        raise CampaignError(f"there is already a campaign named {name!r}")
    check_settings(session, new)
    return name


def check_settings(session: Session, new: NewCampaign) -> None:
    """Refuse messages, shares, rate, window, languages or counties that cannot be (CampaignError)."""
    _check_messages(new.messages)
    if not 0 <= new.holdout_share < 1:
        raise CampaignError("the holdout share must be at least 0 and below 1 (e.g. 0.1 for 10%)")
    if not 1 <= new.rate <= MAX_RATE:
        raise CampaignError(f"the rate must be 1 to {MAX_RATE} messages per second")
    if not 1 <= new.attribution_days <= 365:
        raise CampaignError("the attribution window must be 1 to 365 days")
    for language in new.languages or ():
        if language not in LANGUAGES:
            raise CampaignError(f"unknown language {language!r}: use en or sw")
        if language not in {lang for _, lang in new.messages}:
            raise CampaignError(f"the audience includes {language} but no message is written in it")
    if new.county_codes:
        known = set(session.scalars(select(County.code)))
        unknown = sorted(set(new.county_codes) - known)
        if unknown:
            raise CampaignError(f"unknown county code(s): {', '.join(map(str, unknown))} (1 to 47)")


def create(session: Session, new: NewCampaign, created_by_id: int | None = None) -> Campaign:
    """A draft campaign, checked: messages, languages, counties, shares, rate."""
    name = check(session, new)
    campaign = Campaign(
        name=name,
        state="draft",
        seed=new.seed if new.seed is not None else randomness.randbelow(2**62),
        created_by_id=created_by_id,
    )
    _settle(campaign, new)
    session.add(campaign)
    session.flush()
    _write_messages(session, campaign, new.messages)
    return campaign


def unsaved(new: NewCampaign, seed: int) -> Campaign:
    """A campaign row as `new` asks, with its messages, never added to a session: for an estimate."""
    campaign = Campaign(name=new.name.strip(), state="draft", seed=seed)
    _settle(campaign, new)
    campaign.messages = [
        CampaignMessage(variant=variant, language=language, text=text)
        for (variant, language), text in sorted(new.messages.items())
    ]
    return campaign


def _settle(campaign: Campaign, new: NewCampaign) -> None:
    """Copy a checked request's settings onto the campaign row (all but name, state, seed, messages)."""
    campaign.county_codes = sorted(set(new.county_codes)) if new.county_codes else None
    campaign.languages = sorted(set(new.languages)) if new.languages else None
    campaign.sources = sorted(set(new.sources)) if new.sources else None
    campaign.holdout_share = new.holdout_share
    campaign.start_at = new.start_at.astimezone(UTC) if new.start_at else None
    campaign.hours_from, campaign.hours_until = new.hours
    campaign.rate = new.rate
    campaign.attribution_days = new.attribution_days


def _write_messages(session: Session, campaign: Campaign, messages: dict[tuple[str, str], str]) -> None:
    for (variant, language), text in sorted(messages.items()):
        session.add(CampaignMessage(campaign_id=campaign.id, variant=variant, language=language, text=text))
    session.flush()
    session.refresh(campaign)


def _draft(campaign: Campaign, doing: str) -> None:
    if campaign.state != "draft":
        raise CampaignError(
            f"campaign {campaign.name!r} is {campaign.state}, not a draft: only a draft can be {doing}"
        )


def update_draft(session: Session, campaign: Campaign, new: NewCampaign) -> Campaign:
    """Change a draft to what `new` asks (the same checks as `create`); its seed stays."""
    _draft(campaign, "edited")
    campaign.name = check(session, new, replacing=campaign)
    _settle(campaign, new)
    for message in list(campaign.messages):
        session.delete(message)
    session.flush()  # the old (variant, language) rows go before the new ones come
    _write_messages(session, campaign, new.messages)
    return campaign


def as_request(campaign: Campaign, name: str | None = None) -> NewCampaign:
    """What a campaign asked for, as a request (to edit or copy it)."""
    return NewCampaign(
        name=campaign.name if name is None else name,
        messages={(m.variant, m.language): m.text for m in campaign.messages},
        county_codes=list(campaign.county_codes) if campaign.county_codes else None,
        languages=list(campaign.languages) if campaign.languages else None,
        sources=list(campaign.sources) if campaign.sources else None,
        holdout_share=campaign.holdout_share,
        start_at=as_utc(campaign.start_at) if campaign.start_at else None,
        hours=(campaign.hours_from, campaign.hours_until),
        rate=campaign.rate,
        attribution_days=campaign.attribution_days,
    )


def copy_name(session: Session, name: str) -> str:
    """A free name for a copy of the campaign named `name`: "name (copy)", "name (copy 2)", ..."""
    for number in range(1, 1000):
        suffix = " (copy)" if number == 1 else f" (copy {number})"
        candidate = name[: 80 - len(suffix)] + suffix
        if not session.scalar(select(Campaign.id).where(Campaign.name == candidate)):
            return candidate
    raise CampaignError(f"too many copies of {name!r}: rename some")


def duplicate(session: Session, campaign: Campaign, created_by_id: int | None = None) -> Campaign:
    """A new draft with the campaign's messages and settings (any state), a new name and a new seed."""
    return create(session, as_request(campaign, copy_name(session, campaign.name)), created_by_id)


def delete_draft(session: Session, campaign: Campaign) -> None:
    """Delete a draft and its messages (nothing was drawn or sent for it)."""
    _draft(campaign, "deleted")
    for message in list(campaign.messages):
        session.delete(message)
    session.flush()
    session.delete(campaign)
    session.flush()


def _check_messages(messages: dict[tuple[str, str], str]) -> None:
    if not messages:
        raise CampaignError("a campaign needs at least one message (--message en=TEXT)")
    by_variant: dict[str, set[str]] = {}
    for (variant, language), text in messages.items():
        if language not in LANGUAGES:
            raise CampaignError(f"unknown language {language!r} in a message: use en or sw")
        if not variant.isalnum() or len(variant) > 8:
            raise CampaignError(f"a variant is named by up to 8 letters or digits, not {variant!r}")
        if not text.strip():
            raise CampaignError(f"the {language} message of variant {variant} is empty")
        if segments(text) > MAX_SEGMENTS:
            raise CampaignError(
                f"the {language} message of variant {variant} takes {segments(text)} SMS; keep it to "
                f"{MAX_SEGMENTS} (459 GSM-7 characters, fewer with characters outside GSM-7)"
            )
        by_variant.setdefault(variant, set()).add(language)
    languages = set().union(*by_variant.values())
    for variant, written in sorted(by_variant.items()):
        if written != languages:
            missing = ", ".join(sorted(languages - written))
            raise CampaignError(
                f"variant {variant} has no message in {missing}: every variant needs each language"
            )


def start(session: Session, campaign: Campaign, now: datetime | None = None) -> tuple[int, int]:
    """Draw the audience of a draft campaign and mark it sending; returns (audience, held out).

    Contacts at risk (`campaigns.safety`) are left out of both; `campaign.safety_suppressed` counts them.
    """
    if campaign.state != "draft":
        raise CampaignError(
            f"campaign {campaign.name!r} is {campaign.state}, not a draft: it was sent already"
        )
    now = now or utcnow()
    drawn = audience.draw_audience(session, campaign, now)
    size, held_out = drawn.audience, drawn.held_out
    if size == 0:
        raise CampaignError(f"campaign {campaign.name!r} has nobody in its audience: nothing was sent")
    campaign.audience_size, campaign.held_out = size, held_out
    campaign.safety_suppressed = drawn.safety_suppressed  # counted, never listed (campaigns.safety)
    campaign.state = "sending"
    campaign.next_send_at = first_due(campaign, now)
    return size, held_out


def first_due(campaign: Campaign, now: datetime) -> datetime:
    """When a campaign may send, from `now`: not before its start time, and inside its hours."""
    start_at = as_utc(campaign.start_at) if campaign.start_at else now
    return next_opening(max(start_at, now), campaign.hours_from, campaign.hours_until)


def pause(session: Session, campaign: Campaign) -> None:
    """Stop sending after the batch in flight; `resume` goes on where it stopped."""
    if campaign.state != "sending":
        raise CampaignError(f"campaign {campaign.name!r} is {campaign.state}; only a sending one can pause")
    campaign.state = "paused"


def resume(session: Session, campaign: Campaign, now: datetime | None = None) -> None:
    """Go on sending a paused campaign."""
    if campaign.state != "paused":
        raise CampaignError(f"campaign {campaign.name!r} is {campaign.state}; only a paused one can resume")
    campaign.state = "sending"
    campaign.next_send_at = first_due(campaign, now or utcnow())  # a pause does not skip its start time


def cancel(session: Session, campaign: Campaign, now: datetime | None = None) -> int:
    """Stop for good: nobody not yet sent will be; returns how many were cancelled."""
    if campaign.state in ("done", "cancelled"):
        raise CampaignError(f"campaign {campaign.name!r} is {campaign.state} already")
    campaign.state, campaign.finished_at = "cancelled", now or utcnow()
    result = session.execute(
        update(CampaignRecipient)
        .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.state.in_(("queued", "retry")))
        .values(state="cancelled")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


@dataclass(frozen=True)
class Progress:
    """Where a campaign stands."""

    state: str
    audience: int
    held_out: int
    by_state: dict[str, int]

    @property
    def to_send(self) -> int:
        """Recipients who are meant to get a message."""
        return self.audience - self.held_out

    @property
    def settled(self) -> int:
        """Recipients the dispatcher is finished with (sent, failed, suppressed, cancelled, uncertain…)."""
        return self.to_send - self.to_go

    @property
    def to_go(self) -> int:
        """Recipients still to be sent (or waiting for AT's answer)."""
        return sum(self.by_state.get(state, 0) for state in UNFINISHED)

    @property
    def uncertain(self) -> int:
        """Recipients whose batch's answer was lost with no delivery report: resend or skip them."""
        return self.by_state.get("uncertain", 0)


def progress(session: Session, campaign: Campaign) -> Progress:
    """Recipients per state."""
    rows = session.execute(
        select(CampaignRecipient.state, func.count())
        .where(CampaignRecipient.campaign_id == campaign.id)
        .group_by(CampaignRecipient.state)
    ).all()
    by_state = dict(rows)
    return Progress(campaign.state, sum(by_state.values()), by_state.get("held_out", 0), by_state)
