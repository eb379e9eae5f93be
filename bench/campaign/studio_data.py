"""The campaign studio benchmark's data: 1,000,000 contacts, the tips and engagement of the last months,
and a national campaign sent to them three weeks ago, written to PostgreSQL with COPY.

Everything is drawn from one seeded generator, so a run loads the same data every time (but for the
nonces of the sealed keys). What it holds, so that the estimate and the report do their real work:

- **contacts**: Nairobi, Kiambu, Nakuru and Mombasa busier than the rest, two thirds English, consent
  from USSD, SMS keywords, partners and events over two years; 2 % opted out, 0.3 % unreachable; each
  with its engagement key (`privacy.engagement_key` of its number, as `flask contacts import` keeps it)
  and a random salt.
- **tips** (`--tips`, 3,000) over the last 180 days, 30 % still open; 60 % from a contact's number: the
  tip's `safety_seal` is that contact's engagement key sealed under PHONE_HASH_KEY, as at submission,
  so the safety rule opens every seal of an open or recent tip and looks its contact up.
- **engagement** over the last 100 days: 2 % of the contacts dialled, texted, checked an agency or
  reported (one to three times), and as many rows again from numbers that are not contacts, each
  sealed as `hotline.core.engagement.record` seals it: the baseline of the last 90 days and the
  report's effect open every row of their windows.
- **the campaign** `bench-national`: done, sent 21 days ago to every reachable contact but those the
  safety rule left out then, 10 % held out and two variants drawn with `campaigns.audience.Draw` (the
  rows the real draw would have made), English and Kiswahili messages, recipients COPYed as the sending
  and the delivery reports left them: 99.6 % accepted by AT, of those 90 % Success, the rest Failed with
  AT's reasons, Rejected, Expired, or still without a final report; Safaricom and Airtel.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from desk.load import weighted  # bench/ is on sys.path, as bench/campaign/console.py sets it

from campaigns.audience import Draw
from campaigns.dispatch import BATCH_LIMIT
from hotline.contacts.service import SALT_MODULUS
from hotline.core.engagement import day_of
from hotline.core.privacy import engagement_key, reporter_key, seal_engagement
from hotline.tips.reference import check_digit

CAMPAIGN = "bench-national"
SENT_DAYS_AGO = 21
HEAVY = {47: 0.16, 22: 0.06, 32: 0.05, 1: 0.04, 37: 0.04, 3: 0.03}  # county code -> share of contacts
SOURCES = (("ussd", 4), ("sms", 2), ("partner", 3), ("event", 1))
SIGNALS = (("dialled", 60), ("sms", 20), ("agency_check", 15), ("tip", 5))
MESSAGES = {
    ("A", "en"): "Offered a job abroad? Check the agency is licensed: dial *384*1234# free. STOP to end",
    ("A", "sw"): "Umepewa kazi ng'ambo? Hakiki wakala: piga *384*1234# bure. ACHA kusitisha",
    ("B", "en"): "Before you pay an agent for a job abroad, check the licence: dial *384*1234# free. STOP",
    ("B", "sw"): "Kabla ya kumlipa wakala wa kazi ng'ambo, hakiki leseni: piga *384*1234# bure. ACHA",
}
# Final delivery reports of the accepted messages (None: no final report came).
DELIVERY = (("Success", 900), ("Failed", 60), ("Rejected", 10), ("Expired", 10), (None, 20))
FAILURES = (("DeliveryFailure", 5), ("AbsentSubscriber", 3), ("UserInBlackList", 1), ("UserIsInactive", 1))
NETWORKS = (("63902", 70), ("63903", 30))
PRICE = Decimal("0.8000")  # KES a segment: each message is one segment




def _counties(rng: random.Random) -> Callable[[], int]:
    rest = [code for code in range(1, 48) if code not in HEAVY]
    share = (1 - sum(HEAVY.values())) / len(rest)
    return weighted(rng, [*HEAVY.items(), *((code, share) for code in rest)])


class Loader:
    """Writes the data through one connection; remembers what later tables need of earlier ones."""

    def __init__(self, connection: psycopg.Connection, phone_hash_key: str, seed: int, now: datetime,
                 progress: Callable[[str], None]):
        self.connection, self.key, self.now, self.say = connection, phone_hash_key, now, progress
        self.rng = random.Random(seed)
        self.keys: list[str] = []  # engagement key of contact id n + 1
        self.salts: list[int] = []
        self.reachable: list[bool] = []
        self.languages: list[str] = []
        self.county_codes: list[int] = []

    def copy(self, table: str, columns: tuple[str, ...], rows) -> int:
        """COPY `rows` into `table`; how many."""
        written = 0
        with self.connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        return written

    def contacts(self, count: int) -> int:
        """`count` consented contacts, ids 1..count."""
        rng, county_of, source_of = self.rng, _counties(self.rng), weighted(self.rng, SOURCES)
        self.say(f"contacts: {count:,}")

        def rows():
            for contact_id in range(1, count + 1):
                phone = f"+2547{contact_id:08d}"
                key = engagement_key(phone, self.key)
                county, language = county_of(), "sw" if rng.random() < 1 / 3 else "en"
                consented = self.now - timedelta(days=rng.uniform(30, 730))
                opted_out = consented + (self.now - consented) * rng.random() if rng.random() < 0.02 else None
                unreachable = "InvalidPhoneNumber" if rng.random() < 0.003 else None
                salt = rng.randrange(SALT_MODULUS)
                self.keys.append(key)
                self.salts.append(salt)
                self.reachable.append(opted_out is None and unreachable is None)
                self.languages.append(language)
                self.county_codes.append(county)
                yield (contact_id, phone, key, county, language, source_of(), consented, opted_out,
                       "sms" if opted_out else None, unreachable, salt, consented, consented)

        written = self.copy("contact", ("id", "phone", "engagement_key", "county_code", "language",
                                        "consent_source", "consented_at", "opted_out_at", "opt_out_source",
                                        "unreachable_reason", "salt", "created_at", "updated_at"), rows())
        self.connection.execute("SELECT setval(pg_get_serial_sequence('contact', 'id'), %s)", (count,))
        return written

    def tips(self, count: int) -> tuple[int, list[tuple[int, datetime, bool]]]:
        """`count` tips of the last 180 days, 60 % by contacts (sealed for the safety rule); and for each
        tip by a contact: (contact id, made at, still open)."""
        rng, by_contacts = self.rng, []
        self.say(f"tips: {count:,}")
        references = set()
        while len(references) < count:
            body = f"{rng.randrange(10**11):011d}"
            references.add(body + check_digit(body))

        def rows():
            for tip_id, reference in enumerate(sorted(references), 1):
                created = self.now - timedelta(days=rng.uniform(0, 180))
                still_open = rng.random() < 0.3
                folder = rng.choice(("new", "active", "active", "followup")) if still_open else "closed"
                if rng.random() < 0.6:
                    contact_id = rng.randrange(1, len(self.keys) + 1)
                    phone, key = f"+2547{contact_id:08d}", self.keys[contact_id - 1]
                    by_contacts.append((contact_id, created, still_open))
                else:
                    phone, key = f"+2541{rng.randrange(10**8):08d}", secrets.token_hex(32)
                yield (tip_id, reference, "ussd", f"bench:{tip_id}", "recruitment_fraud",
                       self.county_codes[rng.randrange(len(self.county_codes))], "Bench place",
                       "Bench description", "unsure", "unsure", False, "en", reporter_key(phone, self.key),
                       "closed" if folder == "closed" else "acknowledged", created, created, 0,
                       "Closed" if folder == "closed" else "Active", folder, 1,
                       min(created + timedelta(days=5), self.now) if folder == "closed" else None,
                       "resolved" if folder == "closed" else None, seal_engagement(key, self.key))

        written = self.copy("tip", ("id", "reference", "channel", "source_id", "kind", "county_code", "place",
                                    "description", "danger", "children", "urgent", "language", "reporter_key",
                                    "status", "created_at", "routing_started_at", "escalation_level",
                                    "case_status", "folder", "priority", "closed_at", "closure_reason",
                                    "safety_seal"), rows())
        self.connection.execute("SELECT setval(pg_get_serial_sequence('tip', 'id'), %s)", (count,))
        return written, by_contacts

    def engagement(self, days: int = 100, engaged_share: float = 0.02) -> int:
        """Engagement of the last `days` days: `engaged_share` of the contacts (1-3 rows each) and as
        many rows from numbers that are not contacts."""
        rng, signal_of = self.rng, weighted(self.rng, SIGNALS)
        engaged = rng.sample(range(len(self.keys)), int(len(self.keys) * engaged_share))
        self.say(f"engagement: {len(engaged):,} contacts over {days} days")

        def rows():
            for index in engaged:
                for _ in range(rng.choice((1, 1, 2, 3))):
                    yield self._event(self.keys[index], signal_of(), days)
            for _ in range(len(engaged) * 7 // 4):
                yield self._event(secrets.token_hex(32), signal_of(), days)

        return self.copy("engagement", ("day", "signal", "sealed_key"), rows())

    def _event(self, key: str, signal: str, days: int) -> tuple:
        day = day_of(self.now - timedelta(days=self.rng.uniform(0, days)))
        return day, signal, seal_engagement(key, self.key)

    def campaign(self, by_contacts: list[tuple[int, datetime, bool]], holdout_share: float = 0.1,
                 rate: int = 500) -> dict:
        """The national campaign, done, with a recipient row per contact it was drawn for."""
        rng, seed = self.rng, 2026
        sent_at = self.now - timedelta(days=SENT_DAYS_AGO)
        # Safe at the send: no tip open (open now, or closed since: approximated as open now), none in
        # the 30 days before it.
        at_risk = {contact_id for contact_id, made, still_open in by_contacts
                   if made <= sent_at and (still_open or made > sent_at - timedelta(days=30))}
        row = self.connection.execute(
            "INSERT INTO campaign (name, state, county_codes, languages, sources, holdout_share, seed,"
            " start_at, hours_from, hours_until, rate, attribution_days, audience_size, held_out,"
            " safety_suppressed, created_at, started_at, finished_at)"
            " VALUES (%s, 'done', NULL, '[\"en\", \"sw\"]', NULL, %s, %s, %s, 480, 1080, %s, 14, 0, 0, %s,"
            " %s, %s, %s) RETURNING id",
            (CAMPAIGN, holdout_share, seed, sent_at, rate, len(at_risk), sent_at - timedelta(days=1), sent_at,
             sent_at + timedelta(hours=3)),
        ).fetchone()
        campaign_id = row[0]
        with self.connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO campaign_message (campaign_id, variant, language, text) VALUES (%s, %s, %s, %s)",
                [(campaign_id, variant, language, text) for (variant, language), text in MESSAGES.items()])
        draw, threshold = Draw.of(seed), round(holdout_share * SALT_MODULUS)
        delivery_of, failure_of = weighted(rng, DELIVERY), weighted(rng, FAILURES)
        network_of, figures = weighted(rng, NETWORKS), {"audience": 0, "held_out": 0}
        self.say("campaign recipients")
        def assignments():
            """(contact index, recipient id, held out, variant) of each contact drawn, in id order."""
            recipient_id = 0
            for index, salt in enumerate(self.salts):
                if not self.reachable[index] or index + 1 in at_risk:
                    continue
                recipient_id += 1
                if (draw.holdout_a * salt + draw.holdout_b) % SALT_MODULUS < threshold:
                    yield index, recipient_id, True, None
                else:
                    variant = (draw.variant_c * salt + draw.variant_d) % SALT_MODULUS % 2
                    yield index, recipient_id, False, "AB"[variant]

        # The AT requests: BATCH_LIMIT recipients of one (variant, language) group each, one after the
        # other at the campaign's rate; [id, variant, language, first recipient id, last, size, sent at].
        batches: list[list] = []
        filling: dict[tuple[str, str], list] = {}
        for index, recipient_id, held_out, variant in assignments():
            if held_out:
                continue
            group = (variant, self.languages[index])
            batch = filling.get(group)
            if batch is None or batch[5] == BATCH_LIMIT:
                at = sent_at + timedelta(seconds=len(batches) * BATCH_LIMIT / rate)
                batch = filling[group] = [len(batches) + 1, *group, recipient_id, recipient_id, 0, at]
                batches.append(batch)
            batch[4], batch[5] = recipient_id, batch[5] + 1
        self.copy("campaign_batch", ("id", "campaign_id", "variant", "language", "kind",
                                     "first_recipient_id", "last_recipient_id", "size", "state", "claimed_at",
                                     "finished_at"),
                  ((number, campaign_id, variant, language, "forward", first, last, size, "sent", at,
                    at + timedelta(seconds=1))
                   for number, variant, language, first, last, size, at in batches))
        by_group: dict[tuple[str, str], list] = {}
        for batch in batches:
            by_group.setdefault((batch[1], batch[2]), []).append(batch)

        def rows():
            taken = dict.fromkeys(by_group, 0)  # recipients of each group written so far
            for index, recipient_id, held_out, variant in assignments():
                language = self.languages[index]
                common = (recipient_id, campaign_id, index + 1, language, self.county_codes[index])
                figures["audience"] += 1
                if held_out:
                    figures["held_out"] += 1
                    yield (*common, True, None, "held_out", 0, *(None,) * 10)
                    continue
                group = (variant, language)
                batch = by_group[group][taken[group] // BATCH_LIMIT]
                taken[group] += 1
                batch_id, at = batch[0], batch[6]
                if rng.random() < 0.004:  # refused by AT at the send
                    code, name = rng.choice(((403, "InvalidPhoneNumber"), (406, "UserInBlacklist")))
                    yield (*common, False, variant, "failed", 1, None, code, None, None, None, name, None,
                           None, None, batch_id)
                    continue
                status = delivery_of()
                reason = failure_of() if status == "Failed" else None
                yield (*common, False, variant, "sent", 1, f"ATXid_bench{index + 1}", 101, PRICE, at, status,
                       reason, network_of(), 0 if status else None,
                       at + timedelta(seconds=rng.uniform(2, 60)) if status else None, batch_id)

        self.copy("campaign_recipient", (
            "id", "campaign_id", "contact_id", "language", "county_code", "held_out", "variant", "state",
            "attempts", "at_message_id", "at_status_code", "cost", "sent_at", "delivery_status",
            "failure_reason", "network_code", "retry_count", "delivered_at", "batch_id"), rows())
        for table, last in (("campaign_recipient", figures["audience"]), ("campaign_batch", len(batches))):
            self.connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", (last,))
        self.connection.execute("UPDATE campaign SET audience_size = %s, held_out = %s WHERE id = %s",
                                (figures["audience"], figures["held_out"], campaign_id))
        figures["batches"] = len(batches)
        return {"campaign_id": campaign_id, **figures, "safety_suppressed": len(at_risk)}


def load(url: str, contacts: int, tips: int, seed: int, phone_hash_key: str,
         progress: Callable[[str], None] = print) -> dict:
    """Load everything into the migrated, seeded database at `url` (a libpq URL); the rows written."""
    now = datetime.now(UTC)
    with psycopg.connect(url) as connection:
        loader = Loader(connection, phone_hash_key, seed, now, progress)
        written = {"contact": loader.contacts(contacts)}
        written["tip"], by_contacts = loader.tips(tips)
        written["engagement"] = loader.engagement()
        written["campaign"] = loader.campaign(by_contacts)
        connection.commit()
        connection.autocommit = True
        progress("VACUUM ANALYZE")
        connection.execute("VACUUM ANALYZE")
    return written
