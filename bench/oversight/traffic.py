"""The oversight benchmark's other rows: NEA's register and the agency checks against it, USSD sessions'
ends, the keyword SMS and their replies, campaign contacts (some opted out years ago) with four
campaigns sent to them, engagement, suppressed numbers, console users and eight years of audit log.

Each table's volume is a share of the tips (`SHARES`), so a small load keeps the proportions of the
full one; everything is spread over the same years as the tips and grows as they do (cases.moments).
"""

from __future__ import annotations

import bisect
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

from cases import Outbound, moments, token
from desk.load import county_picker, weighted

from hotline.contacts.service import SALT_MODULUS
from hotline.core.privacy import engagement_key, seal_engagement

# Rows per tip (agency checks, USSD session ends, keyword SMS other than tips, contacts, engagement,
# suppressed numbers, audit entries) and campaign recipients per contact.
SHARES = {"agency_lookup": 0.3, "ussd_session_end": 1.5, "inbound_sms": 0.1, "contact": 0.2,
          "engagement": 0.15, "suppression": 0.005, "audit_event": 0.5}
AUDIENCE_SHARE = 0.4  # of the contacts subscribed when a campaign is sent
AGENCIES = 3000
AGENCY_STATUSES = (("licensed", 60), ("expired", 20), ("suspended", 6), ("revoked", 6), ("deregistered", 4),
                   ("pending", 4))
SCREENS = (("tip_confirm", 30), ("main", 25), ("agency_verdict", 12), ("tip_story", 8), ("tip_county", 6),
           ("followup_status", 6), ("agency_query", 5), ("tip_danger", 3), ("language", 3), ("resume", 2))
KEYWORDS = (("agency", 40), ("help", 20), ("start", 15), ("stop", 10), ("unknown", 15))
CONSENT_SOURCES = (("ussd", 4), ("sms", 2), ("partner", 3), ("event", 1))
DELIVERY = (("Success", 880), ("Failed", 70), ("Rejected", 10), ("Expired", 10), (None, 30))
CAMPAIGNS_DAYS_AGO = (900, 600, 300, 40)
SIGNALS = (("dialled", 60), ("sms", 20), ("agency_check", 15), ("tip", 5))
ACTIONS = (("sign_in", 30), ("sign_out", 10), ("sign_in_failed", 4), ("tip_viewed", 20), ("acknowledged", 8),
           ("note", 8), ("status", 8), ("referral", 3), ("assigned", 3), ("reveal", 1), ("message_sent", 2),
           ("contact_looked_up", 1), ("user_created", 1), ("two_factor_failed", 1))
TIP_ACTIONS = {"tip_viewed", "acknowledged", "note", "status", "referral", "assigned", "reveal",
               "message_sent"}
AUDIT_YEARS = 8
PRICE = Decimal("0.8000")


def agencies(rng, table, end: datetime) -> list[str]:
    """NEA's register: AGENCIES agencies (ids 1..AGENCIES); their statuses, by id - 1."""
    status_of, statuses = weighted(rng, AGENCY_STATUSES), []
    for agency_id in range(1, AGENCIES + 1):
        status = status_of()
        statuses.append(status)
        number = f"NEA/PEA/{2015 + agency_id % 10}/{agency_id:05d}"
        table.write((agency_id, f"Bench Recruitment Agency {agency_id} Ltd", number,
                     number.replace("/", "").lower(), f"bench recruitment agency {agency_id}", status,
                     date(2027, 1 + agency_id % 12, 1), rng.choice(("local", "international", "both")),
                     f"+25472{agency_id:07d}", f"info{agency_id}@agency.bench.example", end))
    return statuses


def agency_lookups(rng, table, count: int, end: datetime, days: float, statuses: list[str]) -> None:
    """Agency checks by USSD and SMS: a quarter of names not in the register, the others' agency's status."""
    county_of = county_picker(rng)
    for lookup_id, at in enumerate(moments(rng, count, end, days), 1):
        agency_id = rng.randint(1, len(statuses)) if rng.random() < 0.75 else None
        verdict = statuses[agency_id - 1] if agency_id else "not_found"
        table.write((lookup_id, agency_id, verdict, "ussd" if rng.random() < 0.8 else "sms", county_of(),
                     at.date()))


def session_ends(rng, table, count: int, end: datetime, days: float) -> None:
    """AT's end-of-session notifications: no number, no input."""
    screen_of = weighted(rng, SCREENS)
    for n, at in enumerate(moments(rng, count, end, days), 1):
        status = rng.choices(("Success", "Incomplete", "Failed"), (55, 40, 5))[0]
        table.write((f"ATUid_bench{n}", status, screen_of(), rng.choice(("en", "sw")),
                     "63902" if rng.random() < 0.75 else "63903", int(rng.lognormvariate(10.3, 0.6)),
                     rng.randint(1, 12), "Session timed out" if status == "Failed" else None, at))


def keyword_sms(rng, table, outbound: Outbound, count: int, end: datetime, days: float) -> None:
    """Keyword SMS other than tips (AGENCY, HELP, START, STOP, …), each answered by an SMS to the sender."""
    keyword_of = weighted(rng, KEYWORDS)
    for n, at in enumerate(moments(rng, count, end, days), 1):
        at_id = f"ATXid_in_kw{n}"
        table.write((at_id, keyword_of(), None, at, at - timedelta(seconds=rng.randint(1, 30))))
        outbound.write(f"reply:{at_id}", "reply", at, end, "Reply (bench)", to_token=token(rng))


class Contacts:
    """Campaign contacts and what was sent to them; remembers what the campaigns draw on."""

    def __init__(self, rng, end: datetime, phone_hash_key: str):
        self.rng, self.end, self.key = rng, end, phone_hash_key
        # Each contact's (consented, opted out, county, language), by id - 1.
        self.subscribed: list[tuple[datetime, datetime | None, int, str]] = []
        self.keys: list[str] = []

    def write(self, table, count: int) -> None:
        """`count` contacts consented over four years; a tenth opted out since (some over two years ago)."""
        rng, county_of, source_of = self.rng, county_picker(self.rng), weighted(self.rng, CONSENT_SOURCES)
        for contact_id in range(1, count + 1):
            phone = f"+2547{contact_id:08d}"
            key = engagement_key(phone, self.key)
            consented = self.end - timedelta(days=rng.uniform(30, 4 * 365))
            opted_out = consented + (self.end - consented) * rng.random() if rng.random() < 0.1 else None
            county, language = county_of() or 47, "sw" if rng.random() < 1 / 3 else "en"
            self.subscribed.append((consented, opted_out, county, language))
            self.keys.append(key)
            table.write((contact_id, phone, key, county, language, source_of(), consented, opted_out,
                         rng.choice(("sms", "ussd", "at_opt_out")) if opted_out else None, None,
                         rng.randrange(SALT_MODULUS), consented, opted_out or consented))

    def campaigns(self, connection, table) -> list[int]:
        """Four national campaigns, done, each sent to AUDIENCE_SHARE of the contacts subscribed then."""
        rng, delivery_of = self.rng, weighted(self.rng, DELIVERY)
        ids, recipient_id = [], 0
        for number, days_ago in enumerate(CAMPAIGNS_DAYS_AGO, 1):
            sent = self.end - timedelta(days=days_ago)
            eligible = [n for n, (consented, opted_out, _c, _l) in enumerate(self.subscribed)
                        if consented < sent and (opted_out is None or opted_out > sent)]
            audience = sorted(rng.sample(eligible, int(len(eligible) * AUDIENCE_SHARE)))
            held = sum(1 for _ in audience if rng.random() < 0.1)
            campaign_id = connection.execute(
                "INSERT INTO campaign (name, state, languages, holdout_share, seed, start_at, hours_from,"
                " hours_until, rate, attribution_days, audience_size, held_out, safety_suppressed,"
                " created_at, started_at, finished_at) VALUES (%s, 'done', '[\"en\", \"sw\"]', 0.1, %s,"
                " %s, 480, 1080, 100, 14, %s, %s, 0, %s, %s, %s) RETURNING id",
                (f"bench-oversight-{number}", number, sent, len(audience), held, sent - timedelta(days=2),
                 sent, sent + timedelta(hours=8))).fetchone()[0]
            ids.append(campaign_id)
            for index in audience:
                recipient_id += 1
                _consented, _opted_out, county, language = self.subscribed[index]
                common = (recipient_id, campaign_id, index + 1, language, county)
                if rng.random() < 0.1:
                    table.write((*common, True, None, "held_out", 0, *(None,) * 9))
                    continue
                at = sent + timedelta(seconds=rng.uniform(0, 8 * 3600))
                status = delivery_of()
                delivered = at + timedelta(seconds=rng.uniform(2, 90)) if status else None
                table.write((*common, False, rng.choice("AB"), "sent", 1, f"ATXid_camp{recipient_id}", 101,
                             PRICE, at, status, "DeliveryFailure" if status == "Failed" else None,
                             "63902" if rng.random() < 0.7 else "63903", 0 if status else None, delivered))
        return ids

    def engagement(self, table, count: int, days: float) -> None:
        """Dials, SMS, checks and tips on days: half by contacts, sealed as hotline.core.engagement does."""
        rng, signal_of = self.rng, weighted(self.rng, SIGNALS)
        for at in moments(rng, count, self.end, days):
            by_contact = self.keys and rng.random() < 0.5
            key = rng.choice(self.keys) if by_contact else f"{rng.getrandbits(256):064x}"
            table.write((at.date(), signal_of(), seal_engagement(key, self.key)))


def suppressions(rng, table, count: int, end: datetime, days: float) -> None:
    """Numbers that opted out without ever joining: their suppression keys only."""
    for at in moments(rng, count, end, days):
        table.write((f"{rng.getrandbits(256):064x}", rng.choice(("sms", "ussd", "at_opt_out")), at.date()))


def users(table, people: dict[int, list[int]], end: datetime) -> list[tuple[int, str, str]]:
    """Console accounts that nobody can sign in to (no usable password): each focal point's, five of the
    secretariat, two auditors, a campaign manager and an administrator; (id, e-mail, role) of each."""
    accounts = [(f"fp{fp}@oversight.bench.example", "focal_point", code, fp)
                for code, fps in people.items() if code for fp in fps]
    accounts += [(f"secretariat{n}@oversight.bench.example", "secretariat", None, None) for n in range(5)]
    accounts += [(f"auditor{n}@oversight.bench.example", "auditor", None, None) for n in range(2)]
    accounts += [("campaigns@oversight.bench.example", "campaign_manager", None, None),
                 ("admin@oversight.bench.example", "admin", None, None)]
    made = []
    for user_id, (email, role, county, focal_point_id) in enumerate(accounts, 1):
        table.write((user_id, email, "!no-password", role, county, focal_point_id, f"{user_id:064x}", True,
                     end - timedelta(days=AUDIT_YEARS * 365)))
        made.append((user_id, email, role))
    return made


def audit_log(rng, table, count: int, end: datetime, accounts, tip_times: list[datetime],
              tip_references: list[str]) -> None:
    """Eight years of the audit log: sign-ins and the like throughout, case actions on tips made before
    them (mostly recent ones) once there are tips."""
    action_of = weighted(rng, ACTIONS)
    for event_id, at in enumerate(moments(rng, count, end, AUDIT_YEARS * 365), 1):
        action = action_of()
        user_id, email, _role = rng.choice(accounts)
        made = bisect.bisect_right(tip_times, at)  # tips made before this moment
        tip_id = target = detail = None
        if action in TIP_ACTIONS and made:
            tip_id = max(1, made - int(rng.expovariate(1 / 20000)))
            target = tip_references[tip_id - 1]
        elif action in TIP_ACTIONS:
            action = "sign_in"
        if action == "sign_in_failed":
            user_id, detail = None, '{"reason": "password"}'
        elif action == "status":
            detail = json.dumps({"before": "Active", "after": "Closed", "reason": "resolved"})
        table.write((event_id, at, user_id, email, action, tip_id, target, detail,
                     f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"))


COLUMNS = {
    "agency": ("id", "name", "registration_number", "registration_key", "name_key", "status", "expiry_date",
               "licence_type", "phone", "email", "updated_at"),
    "agency_lookup": ("id", "agency_id", "verdict", "channel", "county_code", "day"),
    "ussd_session_end": ("session_id", "status", "last_screen", "language", "network_code", "duration_ms",
                         "hops", "error_message", "received_at"),
    "contact": ("id", "phone", "engagement_key", "county_code", "language", "consent_source", "consented_at",
                "opted_out_at", "opt_out_source", "unreachable_reason", "salt", "created_at", "updated_at"),
    "campaign_recipient": ("id", "campaign_id", "contact_id", "language", "county_code", "held_out",
                           "variant", "state", "attempts", "at_message_id", "at_status_code", "cost",
                           "sent_at", "delivery_status", "failure_reason", "network_code", "retry_count",
                           "delivered_at"),
    "engagement": ("day", "signal", "sealed_key"),
    "suppression": ("suppression_key", "source", "day"),
    "console_user": ("id", "email", "password_hash", "role", "county_code", "focal_point_id", "session_token",
                     "active", "created_at"),
    "audit_event": ("id", "at", "user_id", "actor", "action", "tip_id", "target", "detail", "ip"),
}
