"""The studio's forms. The builder holds what was typed (`Draft`), read from the posted fields and
turned into a `campaigns.service.NewCampaign` by `Draft.request`, which names each bad field in
words a campaign manager reads; the service then checks the rest (messages, counties, name) and
says why in its own words. The other forms only carry the CSRF token (or one choice)."""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass, field
from datetime import datetime

from flask_wtf import FlaskForm
from wtforms import HiddenField

from campaigns.errors import CampaignError
from campaigns.hours import parse_hours, show
from campaigns.service import LANGUAGES, MAX_RATE, NewCampaign
from hotline.core.counties import by_code
from hotline.core.models import Campaign
from hotline.core.numbers import ascii_digits
from hotline.core.time import NAIROBI, as_utc

LANGUAGE_NAMES = {"en": "English", "sw": "Kiswahili"}
VARIANT_NAMES = tuple(string.ascii_uppercase[:5])  # A/B tests of up to five variants
MESSAGE_MAX_LENGTH = 1000  # far beyond three SMS: the service says how many it would take
_CLOCK = re.compile(r"^\d{1,2}:\d{2}$", re.ASCII)


class Problems(CampaignError):
    """Fields of the builder that cannot be read: field name -> what is wrong with it."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__(" ".join(problems.values()))


class BuilderForm(FlaskForm):
    """The builder's CSRF token; its fields are read by `Draft` (variants make their number vary)."""


class ActionForm(FlaskForm):
    """A POST that changes a campaign: only the CSRF token."""


class TestSendForm(FlaskForm):
    """Which message to send to one's own phone."""

    variant = HiddenField()
    language = HiddenField()


@dataclass
class Draft:
    """The builder's fields as typed (text), so a refused form shows again as it was."""

    name: str = ""
    variants: list[str] = field(default_factory=lambda: ["A"])
    messages: dict[tuple[str, str], str] = field(default_factory=dict)  # (variant, language) -> text
    counties: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    holdout: str = "10"
    start: str = ""
    hours_from: str = "08:00"
    hours_until: str = "18:00"
    rate: str = "100"
    attribution_days: str = "14"

    @classmethod
    def from_form(cls, data) -> Draft:
        """What the builder posted (a MultiDict)."""
        variants = [v for v in dict.fromkeys(data.getlist("variant")) if v in VARIANT_NAMES] or ["A"]
        messages = {}
        for variant in variants:
            for language in LANGUAGES:
                # Browsers send a textarea's line breaks as CRLF; the counter (and AT) see LF.
                text = data.get(f"message-{variant}-{language}", "").replace("\r\n", "\n").strip()
                if text:
                    messages[(variant, language)] = text
        return cls(
            name=data.get("name", "").strip(),
            variants=variants,
            messages=messages,
            counties=data.getlist("county"),
            languages=data.getlist("language"),
            sources=data.getlist("source"),
            holdout=data.get("holdout", "").strip(),
            start=data.get("start", "").strip(),
            hours_from=data.get("hours_from", "").strip(),
            hours_until=data.get("hours_until", "").strip(),
            rate=data.get("rate", "").strip(),
            attribution_days=data.get("attribution_days", "").strip(),
        )

    @classmethod
    def from_campaign(cls, campaign: Campaign, name: str | None = None) -> Draft:
        """A saved campaign's settings, to edit."""
        start = as_utc(campaign.start_at)
        window = show(campaign.hours_from, campaign.hours_until)
        hours_from, hours_until = window.split("-")
        return cls(
            name=campaign.name if name is None else name,
            variants=sorted({m.variant for m in campaign.messages}) or ["A"],
            messages={(m.variant, m.language): m.text for m in campaign.messages},
            counties=[str(code) for code in campaign.county_codes or ()],
            languages=list(campaign.languages or ()),
            sources=list(campaign.sources or ()),
            holdout=f"{campaign.holdout_share * 100:g}",
            start=start.astimezone(NAIROBI).strftime("%Y-%m-%dT%H:%M") if start else "",
            hours_from=hours_from,
            hours_until="00:00" if hours_until == "24:00" else hours_until,
            rate=str(campaign.rate),
            attribution_days=str(campaign.attribution_days),
        )

    def add_variant(self) -> None:
        """One more variant, named by the next free letter (up to five)."""
        free = [name for name in VARIANT_NAMES if name not in self.variants]
        if free:
            self.variants.append(free[0])

    def remove_variant(self, variant: str) -> None:
        """Drop a variant and its messages (the first one always stays)."""
        if variant in self.variants and len(self.variants) > 1:
            self.variants.remove(variant)
            self.messages = {key: text for key, text in self.messages.items() if key[0] != variant}

    def request(self) -> NewCampaign:
        """The campaign asked for; `Problems` names each field that cannot be read."""
        problems: dict[str, str] = {}

        def read(name: str, parse):
            try:
                return parse()
            except (CampaignError, ValueError) as exc:
                problems[name] = str(exc)
                return None

        counties = read("county", self._county_codes)
        holdout = read("holdout", self._holdout_share)
        start = read("start", self._start_at)
        hours = read("hours", self._hours)
        rate = read("rate", lambda: _whole(self.rate, "The rate", 1, MAX_RATE, "SMS a second"))
        days = read("attribution_days", lambda: _whole(self.attribution_days, "The window", 1, 365, "days"))
        unknown = [lang for lang in self.languages if lang not in LANGUAGES]
        if unknown:
            problems["language"] = f"Unknown language {unknown[0]!r}: English (en) or Kiswahili (sw)."
        too_long = [key for key, text in self.messages.items() if len(text) > MESSAGE_MAX_LENGTH]
        if too_long:
            variant, language = too_long[0]
            problems[f"message-{variant}-{language}"] = (
                f"The {LANGUAGE_NAMES[language]} message of variant {variant} is far too long "
                f"(over {MESSAGE_MAX_LENGTH} characters): keep it to 3 SMS."
            )
        if not self.messages:
            problems["messages"] = "Write at least one message."
        if problems:
            raise Problems(problems)
        return NewCampaign(
            name=self.name,
            messages=dict(self.messages),
            county_codes=counties or None,
            languages=sorted(set(self.languages)) or None,
            sources=sorted(set(self.sources)) or None,
            holdout_share=holdout,
            start_at=start,
            hours=hours,
            rate=rate,
            attribution_days=days,
        )

    def _county_codes(self) -> list[int]:
        codes = []
        for text in self.counties:
            if not ascii_digits(text) or len(text) > 3 or int(text) not in by_code():
                raise ValueError(f"Unknown county {text!r}: choose counties from the list (1 to 47).")
            codes.append(int(text))
        return codes

    def _holdout_share(self) -> float:
        text = self.holdout.removesuffix("%").strip()
        try:
            percent = float(text)
        except ValueError:
            raise ValueError(f"The holdout share is a percentage, like 10, not {self.holdout!r}.") from None
        if not math.isfinite(percent) or not 0 <= percent < 100:
            raise ValueError(f"The holdout share is a percentage from 0 to below 100, not {self.holdout}.")
        return round(percent / 100, 6)

    def _start_at(self) -> datetime | None:
        if not self.start:
            return None
        try:
            moment = datetime.fromisoformat(self.start)
        except ValueError:
            wrong = f"The start is a date and time like 2026-11-23T09:00, not {self.start!r}."
            raise ValueError(wrong) from None
        return moment.replace(tzinfo=NAIROBI) if moment.tzinfo is None else moment

    def _hours(self) -> tuple[int, int]:
        start, until = self.hours_from or "08:00", self.hours_until or "18:00"
        if not (_CLOCK.match(start) and _CLOCK.match(until)):
            raise ValueError(f"Sending hours are times like 08:00 and 18:00, not {start!r} and {until!r}.")
        if until in ("00:00", "0:00"):
            until = "24:00"  # until midnight
        try:
            return parse_hours(f"{start}-{until}")
        except CampaignError:
            raise ValueError(f"{start} to {until} is not a window of the day (from before until).") from None


def _whole(text: str, what: str, low: int, high: int, unit: str) -> int:
    """A whole number from low to high; ValueError naming `what` otherwise."""
    if not ascii_digits(text) or len(text) > 7 or not low <= int(text) <= high:
        raise ValueError(f"{what} is a whole number of {unit} from {low} to {high:,}, not {text!r}.")
    return int(text)
