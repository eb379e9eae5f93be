"""A campaign's audience: who matches, who is held out, who gets which variant, and what it costs.

Every contact carries a random `salt` drawn once, uniform in [0, P) with P = 2^31 - 1 (a prime). A
campaign's seed picks (a, b) and (c, d); a contact is held out when `(a*salt + b) mod P` falls below
`holdout_share * P`, and a treated contact gets variant number `(c*salt + d) mod P mod n`. For one
campaign these draws are independent across contacts (the salts are), different campaigns draw
differently, and the same seed always draws the same: the assignment is random, reproducible and,
being plain integer arithmetic, computed by the database in one INSERT ... SELECT for a million
contacts. Each recipient row records the outcome (held out or not, variant).

Contacts at risk (`campaigns.safety`: a tip open or made in the last 30 days) are drawn neither in
nor out: they get no recipient row at all, and only their number is kept, as
`Campaign.safety_suppressed` (the estimate shows it too). Leaving them out before the draw keeps the
comparison fair: each is out of both arms alike, whatever their salt would have drawn.

Two estimates: `estimate` computes the draw itself for every contact (exact: what `start` will
draw), for the CLI and the send confirmation; `expected` counts the audience per language (an
index-only count of a partial index, `ix_contact_audience`) and splits it by the holdout share and
the variants as the draw will on average, for the builder's live estimate, which runs as the manager
types. The two differ by the draw's chance alone (for 100,000 contacts and 10% held out, the held-out
count's standard deviation is about 95).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, and_, case, func, insert, literal, not_, select
from sqlalchemy.orm import Session

from campaigns import safety
from flows.gsm import encoding, segments
from hotline.contacts.service import SALT_MODULUS
from hotline.core import bulk
from hotline.core.models import Campaign, CampaignRecipient, Contact, utcnow

P = SALT_MODULUS


@dataclass(frozen=True)
class Draw:
    """The integers a campaign's seed stands for."""

    holdout_a: int
    holdout_b: int
    variant_c: int
    variant_d: int

    @classmethod
    def of(cls, seed: int) -> Draw:
        """The draw of `seed` (the same seed, the same draw)."""
        rng = random.Random(seed)
        return cls(rng.randrange(1, P), rng.randrange(P), rng.randrange(1, P), rng.randrange(P))


def audience_filter(campaign: Campaign):
    """The WHERE clause of the campaign's audience: consented, not opted out, reachable, matching."""
    conditions = [Contact.opted_out_at.is_(None), Contact.unreachable_reason.is_(None)]
    if campaign.county_codes:
        conditions.append(Contact.county_code.in_(campaign.county_codes))
    conditions.append(Contact.language.in_(campaign_languages(campaign)))
    if campaign.sources:
        conditions.append(Contact.consent_source.in_(campaign.sources))
    return and_(*conditions)


def campaign_languages(campaign: Campaign) -> list[str]:
    """The audience's languages: those asked for, else those the campaign has a message in."""
    written = sorted({message.language for message in campaign.messages})
    return [lang for lang in campaign.languages if lang in written] if campaign.languages else written


def variants(campaign: Campaign) -> list[str]:
    """The campaign's variants, in order (A, B, ...)."""
    return sorted({message.variant for message in campaign.messages})


def _columns(campaign: Campaign):
    """held_out and variant as SQL expressions of the contact's salt."""
    draw = Draw.of(campaign.seed)
    salt = Contact.salt
    holdout_draw = (literal(draw.holdout_a, BigInteger) * salt + draw.holdout_b) % P
    threshold = round(campaign.holdout_share * P)
    held_out = holdout_draw < threshold
    names = variants(campaign)
    variant_draw = ((literal(draw.variant_c, BigInteger) * salt + draw.variant_d) % P) % len(names)
    variant = case(*((variant_draw == number, name) for number, name in enumerate(names)), else_=names[0])
    return held_out, case((held_out, None), else_=variant)


@dataclass(frozen=True)
class Drawn:
    """What a draw put in the campaign, and how many it left out for their safety."""

    audience: int
    held_out: int
    safety_suppressed: int


def draw_audience(session: Session, campaign: Campaign, now: datetime | None = None) -> Drawn:
    """Insert one recipient row per matching contact not at risk (INSERT ... SELECT)."""
    at_risk = sorted(safety.at_risk_contacts(session, now or utcnow()))
    held_out, variant = _columns(campaign)
    chosen = select(
        literal(campaign.id),
        Contact.id,
        case((held_out, True), else_=False),
        variant,
        Contact.language,
        Contact.county_code,
        case((held_out, "held_out"), else_="queued"),
        literal(0),
    ).where(audience_filter(campaign))
    if at_risk:
        chosen = chosen.where(not_(bulk.one_of(session, Contact.id, at_risk)))
    target = (
        CampaignRecipient.campaign_id,
        CampaignRecipient.contact_id,
        CampaignRecipient.held_out,
        CampaignRecipient.variant,
        CampaignRecipient.language,
        CampaignRecipient.county_code,
        CampaignRecipient.state,
        CampaignRecipient.attempts,
    )
    session.execute(insert(CampaignRecipient).from_select([c.key for c in target], chosen))
    audience, held = session.execute(
        select(func.count(), func.count().filter(CampaignRecipient.held_out)).where(
            CampaignRecipient.campaign_id == campaign.id
        )
    ).one()
    left_out = sum(count for *_group, count in _groups(session, campaign, at_risk))
    return Drawn(audience, held, left_out)


def _groups(session: Session, campaign: Campaign, only: list[int] | None = None) -> list[tuple]:
    """(held out, variant, language, contacts) of the audience, or of its contacts among `only`."""
    held_out, variant = _columns(campaign)
    rows = []
    for chunk in [None] if only is None else safety.chunks(only):
        where = audience_filter(campaign)
        if chunk is not None:
            where = and_(where, bulk.one_of(session, Contact.id, chunk))
        drawn = (
            select(held_out.label("held_out"), variant.label("variant"), Contact.language.label("language"))
            .where(where)
            .subquery()
        )
        rows += session.execute(
            select(drawn.c.held_out, drawn.c.variant, drawn.c.language, func.count()).group_by(
                drawn.c.held_out, drawn.c.variant, drawn.c.language
            )
        ).all()
    return rows


@dataclass
class Estimate:
    """What a campaign would send, before anything is sent."""

    audience: int = 0
    held_out: int = 0
    safety_suppressed: int = 0  # left out of audience and holdout: a tip open or made in the last 30 days
    # (variant, language) -> recipients
    recipients: dict[tuple[str, str], int] = field(default_factory=dict)
    # (variant, language) -> (segments per message, encoding, characters)
    messages: dict[tuple[str, str], tuple[int, str, int]] = field(default_factory=dict)
    price_per_segment: Decimal = Decimal("0.80")
    exact: bool = True  # False: held out and variants are the draw's expected split (`expected`)

    @property
    def treated(self) -> int:
        """Those who would get a message."""
        return self.audience - self.held_out

    @property
    def segments(self) -> int:
        """SMS segments in all."""
        return sum(n * self.messages[key][0] for key, n in self.recipients.items() if key in self.messages)

    @property
    def cost(self) -> Decimal:
        """Estimated cost in KES."""
        return self.segments * self.price_per_segment


def estimate(
    session: Session, campaign: Campaign, price_per_segment: Decimal, now: datetime | None = None
) -> Estimate:
    """Audience, held-out count, recipients per variant and language, segments and cost; the contacts
    at risk are left out, and counted."""
    # The audience's groups, less the at-risk contacts' own groups (a few thousand rows by primary
    # key): cheaper on a million contacts than a NOT IN on the big GROUP BY, and the same counts.
    counts: dict[tuple, int] = defaultdict(int)
    for is_held_out, variant_name, language, count in _groups(session, campaign):
        counts[(bool(is_held_out), variant_name, language)] += count
    result = Estimate(price_per_segment=price_per_segment)
    at_risk = sorted(safety.at_risk_contacts(session, now or utcnow()))
    for is_held_out, variant_name, language, count in _groups(session, campaign, at_risk):
        counts[(bool(is_held_out), variant_name, language)] -= count
        result.safety_suppressed += count
    recipients: dict[tuple[str, str], int] = defaultdict(int)
    for (is_held_out, variant_name, language), count in counts.items():
        result.audience += count
        if is_held_out:
            result.held_out += count
        elif count:
            recipients[(variant_name, language)] += count
    result.recipients = dict(sorted(recipients.items()))
    result.messages = {
        (m.variant, m.language): (segments(m.text), encoding(m.text), len(m.text)) for m in campaign.messages
    }
    return result


def expected(
    session: Session, campaign: Campaign, price_per_segment: Decimal, now: datetime | None = None
) -> Estimate:
    """As `estimate`, but with the holdout and the variants split as the draw will on average: one
    count per language instead of drawing every contact, for the builder's live estimate."""
    counts: dict[str, int] = defaultdict(int)
    per_language = select(Contact.language, func.count()).group_by(Contact.language)
    for language, count in session.execute(per_language.where(audience_filter(campaign))):
        counts[language] += count
    result = Estimate(price_per_segment=price_per_segment, exact=False)
    for chunk in safety.chunks(sorted(safety.at_risk_contacts(session, now or utcnow()))):
        at_risk = and_(audience_filter(campaign), bulk.one_of(session, Contact.id, chunk))
        for language, count in session.execute(per_language.where(at_risk)):
            counts[language] -= count
            result.safety_suppressed += count
    names = variants(campaign)
    recipients: dict[tuple[str, str], int] = {}
    for language, count in sorted(counts.items()):
        held = round(count * campaign.holdout_share)
        result.audience += count
        result.held_out += held
        share, extra = divmod(count - held, len(names))
        for number, name in enumerate(names):
            recipients[(name, language)] = share + (1 if number < extra else 0)
    result.recipients = {key: n for key, n in sorted(recipients.items()) if n}
    result.messages = {
        (m.variant, m.language): (segments(m.text), encoding(m.text), len(m.text)) for m in campaign.messages
    }
    return result
