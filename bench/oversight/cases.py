"""The oversight benchmark's tips and their case work: every tip's row and its timeline (the focal points'
SMS and escalations, acknowledgement, assignment, notes, referrals, status changes, messages with the
reporter, additions, the SMS that made an SMS tip and its reply), written as they are drawn.

What three years of a national hotline could look like: tips more and more frequent (the last year holds
about 44 % of them), the desk's county and kind mixes, one in five by SMS, a tenth urgent; about 87 %
acknowledged after a lognormal delay (some past the deadline, hotline.core.config's DEFAULT_ESCALATION),
about a tenth escalated, cases closed after a lognormal few weeks (so older tips are nearly all closed,
a few stay open for good), about a quarter referred to the county's organisations of every kind, a fifth
with a call-back number (an opaque stand-in for the Fernet token).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

from desk.load import (  # bench/ is on sys.path, as bench/oversight/data.py sets it
    CLOSURES,
    EXTRA,
    KIND_WEIGHTS,
    MESSAGES_IN,
    MESSAGES_OUT,
    NOTES,
    PLACES,
    WHAT,
    WHO,
    county_picker,
    references,
    weighted,
)

from flows.menu import TIP_KINDS
from hotline.core.config import DEFAULT_ESCALATION
from hotline.tips.casework import REFERRAL_REASONS
from hotline.tips.referrals import KINDS as ORGANISATION_KINDS

GROWTH = 2.0  # the last day of a span sees 1 + GROWTH times the first day's volume
REFERRAL_KINDS = {"police": 30, "dci_atu": 10, "children": 20, "labour": 15, "shelter": 8, "ngo": 10,
                  "health": 5, "other": 2}
UNACKNOWLEDGED_CLOSURES = (("duplicate", 4), ("insufficient_information", 4), ("not_trafficking", 2))
ADDITIONS = ("They moved the girls to another house.", "The agent has a new office in town.",
             "Two more boys were taken yesterday.", "The van came again on Friday night.")
FAILURES = (("AbsentSubscriber", 3), ("DeliveryFailure", 4), ("UserIsInactive", 1))

TIP_COLUMNS = ("id", "reference", "channel", "source_id", "kind", "county_code", "place", "description",
               "danger", "children", "urgent", "language", "reporter_key", "callback_contact", "status",
               "created_at", "routing_started_at", "acknowledged_at", "acknowledged_by_id",
               "escalation_level", "case_status", "folder", "priority", "closure_reason", "closed_at",
               "assigned_focal_point_id", "agency_id", "agency_flagged_at")
OUTBOUND_COLUMNS = ("id", "dedupe_key", "purpose", "tip_id", "focal_point_id", "to_token", "message", "state",
                    "attempts", "created_at", "sent_at", "at_message_id", "at_status_code", "delivery_status",
                    "failure_reason", "delivered_at")
COLUMNS = {
    "tip": TIP_COLUMNS,
    "outbound_sms": OUTBOUND_COLUMNS,
    "case_event": ("tip_id", "at", "kind", "focal_point_id", "text", "detail"),
    "case_message": ("tip_id", "direction", "text", "created_at", "read_at"),
    "tip_update": ("tip_id", "author", "text", "state", "created_at"),
    "referral": ("id", "tip_id", "organisation_id", "referred_on", "reason", "details", "created_at"),
    "inbound_sms": ("at_id", "keyword", "tip_id", "received_at", "sent_at"),
}


def moments(rng, count: int, end: datetime, days: float) -> list[datetime]:
    """`count` moments in the `days` before `end`, oldest first, ever more frequent (density 1 + GROWTH·x)."""
    g, span = GROWTH, days * 86400
    # The inverse of the distribution function of a density rising linearly over the span.
    spots = sorted((-1 + math.sqrt(1 + rng.random() * g * (2 + g))) / g for _ in range(count))
    start = end - timedelta(days=days)
    return [start + timedelta(seconds=x * span) for x in spots]


def token(rng, prefix: str = "gAAAAA", bits: int = 480) -> str:
    """An opaque stand-in for a Fernet token (the benchmark never decrypts one)."""
    return f"{prefix}{rng.getrandbits(bits):0{bits // 4}x}"


class Outbound:
    """Numbers the SMS the service sent (tips, escalations, replies), shared by every loader of them."""

    def __init__(self, rng, table):
        self.rng, self.table, self.last_id = rng, table, 0
        self.failure_of = weighted(rng, FAILURES)

    def write(self, dedupe_key: str, purpose: str, at: datetime, end: datetime, message: str, *,
              tip_id=None, focal_point_id=None, to_token=None) -> None:
        """One SMS as AT and its delivery report left it; those of the last day may still wait for one."""
        rng = self.rng
        self.last_id += 1
        sent = at + timedelta(seconds=rng.uniform(1, 20))
        if rng.random() < 0.01:  # AT refused it: failed, never sent
            row = ("failed", 1, at, None, None, 403, None, None, None)
        else:
            roll = rng.random()
            status, reason = ("Success", None) if roll < 0.9 else ("Failed", self.failure_of())
            delivered = sent + timedelta(seconds=rng.uniform(2, 120))
            if delivered > end - timedelta(hours=1) and rng.random() < 0.5:
                status, reason, delivered = "Sent", None, None  # no final report yet
            row = ("sent", 1, at, sent, f"ATXid_bench{self.last_id}", 101, status, reason, delivered)
        state, attempts, created, sent_at, message_id, code, status, reason, delivered = row
        self.table.write((self.last_id, dedupe_key, purpose, tip_id, focal_point_id, to_token, message, state,
                          attempts, created, sent_at, message_id, code, status, reason, delivered))


class Cases:
    """Draws tips oldest first and writes each with its timeline to the tables' streams."""

    def __init__(self, rng, tables, end: datetime, days: float, people: dict[int, list[int]],
                 organisations: dict[tuple[int | None, str], tuple[int, str]], agencies: int):
        self.rng, self.tables, self.end, self.days = rng, tables, end, days
        self.people, self.organisations, self.agencies = people, organisations, agencies
        self.outbound = Outbound(rng, tables["outbound_sms"])
        self.county_of = county_picker(rng)
        self.kind_of = weighted(rng, [(kind, KIND_WEIGHTS.get(kind, 1)) for kind in TIP_KINDS])
        self.closure_of = weighted(rng, [(reason, 3 if reason == "resolved" else 1) for reason in CLOSURES
                                         if reason != "referred"])
        self.unacknowledged_closure_of = weighted(rng, UNACKNOWLEDGED_CLOSURES)
        self.organisation_kind_of = weighted(rng, REFERRAL_KINDS.items())
        self.referral_reason_of = weighted(rng, zip(REFERRAL_REASONS, (70, 10, 20), strict=True))
        self.referrals = 0
        self.inbound = 0

    def write(self, count: int, progress) -> tuple[list[datetime], list[str]]:
        """Write `count` tips and their timelines; every tip's creation time and reference, by id."""
        created = moments(self.rng, count, self.end, self.days)
        codes = references(self.rng, count)
        for tip_id, (at, reference) in enumerate(zip(created, codes, strict=True), 1):
            self.tip(tip_id, reference, at)
            if tip_id % 5000 == 0:
                progress(5000)
        progress(count % 5000)
        return created, codes

    def tip(self, tip_id: int, reference: str, created: datetime) -> None:
        """One tip and its timeline."""
        rng, end = self.rng, self.end
        county, kind = self.county_of(), self.kind_of()
        channel = "sms" if rng.random() < 0.2 else "ussd"
        danger = rng.choices(("yes", "no", "unsure"), (10, 60, 30))[0]
        children = "yes" if kind in ("child_labour", "child_marriage") else rng.choices(
            ("yes", "no", "unsure"), (8, 62, 30))[0]
        urgent = danger == "yes"
        deadline = DEFAULT_ESCALATION["urgent" if urgent else "default"]
        stage = self.people.get(county or 0, self.people[0])
        stages = [*stage, *self.people[0]] if county else list(stage)
        # Acknowledgement: a lognormal delay in minutes (urgent tips are seen faster, yet often late).
        delay = rng.lognormvariate(math.log(9), 1.0) if urgent else rng.lognormvariate(math.log(200), 1.2)
        acknowledged_at = created + timedelta(minutes=delay)
        acknowledged = rng.random() < 0.87 and acknowledged_at < end
        if not acknowledged:
            acknowledged_at = None
        by = rng.choice(stage) if acknowledged else None
        # Closure: a few weeks after the tip, lognormal; some cases stay open for good.
        closed_at = created + timedelta(days=rng.lognormvariate(math.log(21), 1.1))
        if acknowledged:
            closed_at = max(closed_at, acknowledged_at + timedelta(hours=1))
        closed = rng.random() > 0.04 and closed_at < end
        referred = acknowledged and rng.random() < 0.29
        if not closed:
            closed_at, reason = None, None
        elif referred and rng.random() < 0.85:
            reason = "referred"
        else:
            reason = self.closure_of() if acknowledged else self.unacknowledged_closure_of()
        if acknowledged:
            level = min(3, int(delay // deadline))
        elif closed:
            level = 1 if rng.random() < 0.3 else 0
        else:
            level = min(3, int((end - created).total_seconds() / 60 // deadline))
        follow_up = not closed and acknowledged and end - created > timedelta(days=30) and rng.random() < 0.6
        case_status = ("ClosedReferred" if reason == "referred" else "Closed") if closed else (
            "FollowUp" if follow_up else "Active")
        folder = "closed" if closed else "new" if not acknowledged else "followup" if follow_up else "active"
        status = "closed" if closed else "acknowledged" if acknowledged else "routed"
        agency = rng.randint(1, self.agencies) if kind == "recruitment_fraud" and rng.random() < 0.4 else None
        flagged_at = acknowledged_at if agency and acknowledged and rng.random() < 0.5 else None
        callback = token(rng) if rng.random() < 0.2 else None
        assigned = by if acknowledged and rng.random() < 0.6 else None
        description = f"{rng.choice(WHO).capitalize()} {rng.choice(WHAT)}. {rng.choice(EXTRA)}".strip()
        self.tables["tip"].write((
            tip_id, reference, channel, f"bench:{tip_id}", kind, county,
            rng.choice(PLACES).capitalize() if rng.random() < 0.9 else None,
            description if rng.random() < 0.8 else None, danger, children, urgent, rng.choice(("en", "sw")),
            f"{rng.getrandbits(256):064x}", callback, status, created, created, acknowledged_at, by, level,
            case_status, folder, 0 if urgent or children == "yes" else 1, reason, closed_at, assigned, agency,
            flagged_at,
        ))
        self.notifications(tip_id, created, stages, urgent, level, deadline)
        if channel == "sms":
            self.sms_tip(tip_id, created)
        if acknowledged:
            self.work(tip_id, county, created, acknowledged_at, by, assigned, referred, closed_at, callback)
        if closed:
            before = "FollowUp" if rng.random() < 0.2 else "Active"
            detail = json.dumps({"before": before, "after": case_status, "reason": reason})
            self.tables["case_event"].write((tip_id, closed_at, "status", by, None, detail))

    def notifications(self, tip_id: int, created: datetime, stages: list[int], urgent: bool, level: int,
                      deadline: int) -> None:
        """The focal points' SMS: the first stage (both county focal points when urgent), then one per
        escalation, each to the next focal point along."""
        told = stages[:2] if urgent else stages[:1]
        sends = [(fp, "tip", created) for fp in told]
        for step in range(1, level + 1):
            nxt = [fp for fp in stages if fp not in told][:1]
            told += nxt
            sends += [(fp, "escalation", created + timedelta(minutes=deadline * step)) for fp in nxt]
        for focal_point_id, purpose, at in sends:
            if at < self.end:
                self.outbound.write(f"tip:{tip_id}:notify:{focal_point_id}", purpose,
                                    at + timedelta(seconds=self.rng.uniform(2, 30)), self.end,
                                    "Hotline report (bench)", tip_id=tip_id, focal_point_id=focal_point_id)

    def sms_tip(self, tip_id: int, created: datetime) -> None:
        """The SMS that made an SMS tip (no number kept), and the reply to its sender (number encrypted)."""
        self.inbound += 1
        at_id = f"ATXid_in_tip{self.inbound}"
        self.tables["inbound_sms"].write((at_id, "tip", tip_id, created, created - timedelta(seconds=3)))
        self.outbound.write(f"reply:{at_id}", "reply", created, self.end, "Asante. Ref (bench)",
                            to_token=token(self.rng))

    def work(self, tip_id, county, created, acknowledged_at, by, assigned, referred, closed_at,
             callback) -> None:
        """The case team's timeline of an acknowledged tip."""
        rng, events, end = self.rng, self.tables["case_event"], closed_at or self.end
        events.write((tip_id, acknowledged_at, "acknowledged", by, None, '{"by_sms": 0}'))
        if assigned:
            at = acknowledged_at + timedelta(minutes=rng.randint(1, 120))
            detail = json.dumps({"focal_point_id": assigned, "name": f"Bench Officer {assigned}"})
            events.write((tip_id, min(at, end), "assigned", by, None, detail))
        span = (end - acknowledged_at).total_seconds()
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            at = acknowledged_at + timedelta(seconds=rng.random() * span)
            events.write((tip_id, at, "note", by, rng.choice(NOTES), None))
        if referred:
            for _ in range(1 if rng.random() < 0.8 else 2):
                at = acknowledged_at + timedelta(seconds=rng.random() * min(span, 14 * 86400))
                self.refer(tip_id, county, at)
        if rng.random() < 0.14:
            at = acknowledged_at + timedelta(seconds=rng.random() * min(span, 3 * 86400))
            self.tables["case_message"].write((tip_id, "out", rng.choice(MESSAGES_OUT), at,
                                               at + timedelta(hours=5) if rng.random() < 0.7 else None))
            if callback:
                self.outbound.write(f"message:{tip_id}:waiting", "message_waiting", at, self.end,
                                    "A message waits for you (bench)", tip_id=tip_id, to_token=callback)
            if rng.random() < 0.7:
                self.tables["case_message"].write((tip_id, "in", rng.choice(MESSAGES_IN),
                                                   at + timedelta(hours=6), None))
        if rng.random() < 0.07:
            at = created + timedelta(seconds=rng.random() * min(span, 7 * 86400))
            author = rng.choice(("reporter", "caller"))
            self.tables["tip_update"].write((tip_id, author, rng.choice(ADDITIONS), "forwarded", at))

    def refer(self, tip_id: int, county: int | None, at: datetime) -> None:
        """A referral to the county's organisation of a drawn kind (the national one for no county)."""
        kind = self.organisation_kind_of()
        organisation_id, name = self.organisations[(county, kind)]
        self.referrals += 1
        details = "Reporter's place shared with the officer." if self.rng.random() < 0.5 else None
        self.tables["referral"].write((self.referrals, tip_id, organisation_id, at.date(),
                                       self.referral_reason_of(), details, at))
        detail = json.dumps({"referral_id": self.referrals, "organisation": name})
        self.tables["case_event"].write((tip_id, at, "referral", None, None, detail))


def organisation_rows() -> list[tuple]:
    """One referral organisation of every kind per county and nationally: (county_code, name, kind, phone)."""
    rows = []
    for code in (None, *range(1, 48)):
        for n, (kind, label) in enumerate(ORGANISATION_KINDS.items()):
            where = f"county {code}" if code else "national"
            rows.append((code, f"{label} ({where}, bench)", kind, f"+25470{code or 0:02d}9{n:04d}"))
    return rows
