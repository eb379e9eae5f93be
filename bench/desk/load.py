"""The case desk benchmark's data: 200,000 fictitious tips over the 47 counties, with their timelines,
written to PostgreSQL with COPY.

Everything is drawn from one seeded generator, so a run loads the same data every time. The mixes are
what two years of a national hotline could look like: most tips closed, a few hundred new; Nairobi,
Mombasa, Kiambu and Nakuru busier than the rest, a few percent with no county (the secretariat's
triage); three in four by USSD; a tenth urgent, a sixth about children; place and description in
everyday words (what the search looks in). About a third of the tips have more than the focal point's
SMS on their timeline: acknowledgements, notes, status changes, messages with the reporter, additions.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg

from flows.menu import TIP_KINDS
from hotline.tips.reference import check_digit

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
DAYS = 730
# Busier counties (share of all tips); the rest share what is left evenly. None: no county given.
HEAVY = {47: 0.12, 1: 0.06, 22: 0.05, 32: 0.04, 37: 0.04, 42: 0.03, 3: 0.03}
NO_COUNTY = 0.03
FOLDERS = (("closed", 0.72), ("active", 0.14), ("followup", 0.08), ("new", 0.06))
# How old a tip of each folder is, at most (days): new ones are recent, closed ones anything.
FOLDER_AGE = {"new": 10, "active": 90, "followup": 240, "closed": DAYS}
CLOSURES = ("resolved", "referred", "not_trafficking", "duplicate", "insufficient_information")
KIND_WEIGHTS = {"recruitment_fraud": 8, "forced_labour": 6, "child_labour": 5, "sexual_exploitation": 4,
                "servitude": 4, "documents_taken": 3, "child_marriage": 2, "missing_person": 2}
PLACES = ("market near the bus stage", "agency office on the main road", "house behind the church",
          "sand harvesting site by the river", "tea farm", "quarry", "bar and lodging", "construction site",
          "boda boda stage", "fishing beach", "miraa farm", "estate near the school", "matatu terminus",
          "hotel by the beach", "flower farm", "salon in the shopping centre",
          "godown in the industrial area")
WHO = ("girls of about 14", "young women", "a housemaid", "boys", "men from upcountry", "a family",
       "children", "a woman with a baby", "job seekers", "three sisters", "refugees")
WHAT = ("are kept locked in", "were promised jobs in the Gulf", "have their passports taken",
        "work without pay for months", "are beaten when they refuse", "cannot leave the compound",
        "paid KES 80,000 for a visa", "are made to carry sand during school hours",
        "were married off to an older man", "are sold at night", "owe a debt they can never pay",
        "were taken to Nairobi and not heard from")
EXTRA = ("The agent uses a phone number from Eastleigh.", "A white van comes every Friday.",
         "The owner is known to the police.", "Neighbours heard crying.", "It has gone on since June.",
         "They speak only Kiswahili.", "The agency has no licence on its wall.", "")
NOTES = ("Called the area chief, visit planned.", "Spoke with the children's officer.",
         "Police OB number obtained.", "Site visited, nobody found.", "Family traced, safe.")
MESSAGES_OUT = ("Thank you. Is the person still at the place you described?",
                "Can you tell us the name of the agency?", "Are the children there today?")
MESSAGES_IN = ("Yes they are still there", "The agency is called Bright Future", "Only in the morning")


def weighted(rng: random.Random, pairs) -> Callable[[], object]:
    values, weights = zip(*pairs, strict=True)
    cumulative, total = [], 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    return lambda: rng.choices(values, cum_weights=cumulative)[0]


def county_picker(rng: random.Random) -> Callable[[], int | None]:
    """A draw of a tip's county: the heavy ones by share, the others evenly, some with none."""
    rest = [code for code in range(1, 48) if code not in HEAVY]
    share = (1 - NO_COUNTY - sum(HEAVY.values())) / len(rest)
    return weighted(rng, [*HEAVY.items(), *((code, share) for code in rest), (None, NO_COUNTY)])


def references(rng: random.Random, count: int) -> list[str]:
    """`count` distinct reference codes in the current format (11 digits and the Damm check digit)."""
    bodies = set()
    while len(bodies) < count:
        bodies.add(f"{rng.randrange(10**11):011d}")
    return [body + check_digit(body) for body in sorted(bodies, key=lambda _b: rng.random())]


def focal_points(connection: psycopg.Connection) -> dict[int, list[int]]:
    """Two focal points per county and two for the secretariat (county 0); their ids by county."""
    rows = [(code, f"Bench Officer {code}-{n}", "Bench county office", f"+2547000{code:02d}{n:03d}", n)
            for code in range(48) for n in (1, 2)]
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO focal_point (county_code, name, organisation, phone, priority, active, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, true, now())", rows)
        cursor.execute("SELECT county_code, id FROM focal_point ORDER BY county_code, priority")
        found: dict[int, list[int]] = {}
        for code, focal_point_id in cursor.fetchall():
            found.setdefault(code, []).append(focal_point_id)
    return found


TIP_COLUMNS = ("id", "reference", "channel", "source_id", "kind", "county_code", "place", "description",
               "danger", "children", "urgent", "language", "reporter_key", "status", "created_at",
               "routing_started_at", "acknowledged_at", "acknowledged_by_id", "escalation_level",
               "case_status", "folder", "priority", "closure_reason", "closed_at", "assigned_focal_point_id")


def tips(rng: random.Random, count: int, people: dict[int, list[int]]) -> Iterator[tuple[tuple, dict]]:
    """Each tip's row (TIP_COLUMNS) and what its timeline needs to know about it."""
    county_of, folder_of = county_picker(rng), weighted(rng, FOLDERS)
    kind_of = weighted(rng, [(kind, KIND_WEIGHTS.get(kind, 1)) for kind in TIP_KINDS])
    for tip_id, reference in enumerate(references(rng, count), 1):
        county, folder, kind = county_of(), folder_of(), kind_of()
        created = NOW - timedelta(days=rng.random() * FOLDER_AGE[folder], seconds=rng.randrange(86400))
        danger = rng.choices(("yes", "no", "unsure"), (10, 60, 30))[0]
        children = "yes" if kind in ("child_labour", "child_marriage") else rng.choices(
            ("yes", "no", "unsure"), (8, 62, 30))[0]
        place = f"{rng.choice(PLACES).capitalize()}" if rng.random() < 0.9 else None
        description = f"{rng.choice(WHO).capitalize()} {rng.choice(WHAT)}. {rng.choice(EXTRA)}".strip()
        stage = people.get(county or 0, people[0])
        acknowledged = folder != "new"
        by = rng.choice(stage) if acknowledged else None
        acknowledged_at = created + timedelta(minutes=rng.randint(3, 600)) if acknowledged else None
        closed_at = created + timedelta(days=rng.randint(1, 60)) if folder == "closed" else None
        closed_at = min(closed_at, NOW) if closed_at else None
        reason = rng.choice(CLOSURES) if closed_at else None
        case_status = {"closed": "ClosedReferred" if reason == "referred" else "Closed",
                       "followup": "FollowUp"}.get(folder, "Active")
        status = {"new": "routed", "closed": "closed"}.get(folder, "acknowledged")
        row = (tip_id, reference, rng.choices(("ussd", "sms"), (3, 1))[0], f"bench:{tip_id}", kind, county,
               place, rng.choice((description, description, None)), danger, children, danger == "yes",
               rng.choice(("en", "sw")), secrets.token_hex(32), status, created, created, acknowledged_at,
               by, 0, case_status, folder, 0 if danger == "yes" or children == "yes" else 1, reason,
               closed_at, by if acknowledged and rng.random() < 0.7 else None)
        yield row, {"id": tip_id, "created": created, "stage": stage, "by": by,
                    "acknowledged_at": acknowledged_at, "closed_at": closed_at, "reason": reason}


def timeline(rng: random.Random, tip: dict, rows: dict[str, list[tuple]]) -> None:
    """The timeline rows of one tip: its SMS notification(s), and for about a third of the tips more."""
    for focal_point_id in tip["stage"][:1] if rng.random() < 0.9 else tip["stage"]:
        at = tip["created"] + timedelta(seconds=rng.randint(2, 30))
        rows["outbound_sms"].append((f"tip:{tip['id']}:notify:{focal_point_id}", "tip", tip["id"],
                                     focal_point_id, "Hotline report (bench)", "sent", 1, at, at, "Success",
                                     at + timedelta(seconds=5)))
    if rng.random() > 0.35:
        return
    if tip["acknowledged_at"]:
        rows["case_event"].append((tip["id"], tip["acknowledged_at"], "acknowledged", tip["by"], None, None))
    for n in range(rng.choice((0, 1, 1, 2, 3))):
        at = tip["created"] + timedelta(hours=2 + 5 * n)
        rows["case_event"].append((tip["id"], at, "note", None, rng.choice(NOTES), None))
    if rng.random() < 0.25:
        at = tip["created"] + timedelta(hours=1)
        rows["case_message"].append((tip["id"], "out", rng.choice(MESSAGES_OUT), at, at + timedelta(hours=3)))
        rows["case_message"].append((tip["id"], "in", rng.choice(MESSAGES_IN), at + timedelta(hours=3), None))
    if rng.random() < 0.15:
        addition = "They moved the girls to another house."
        at = tip["created"] + timedelta(days=1)
        rows["tip_update"].append((tip["id"], "reporter", addition, "forwarded", at))
    if tip["closed_at"]:
        rows["case_event"].append((tip["id"], tip["closed_at"], "status", None, None,
                                   json.dumps({"case_status": "Closed", "reason": tip["reason"]})))


TIMELINE_COLUMNS = {
    "outbound_sms": ("dedupe_key", "purpose", "tip_id", "focal_point_id", "message", "state", "attempts",
                     "created_at", "sent_at", "delivery_status", "delivered_at"),
    "case_event": ("tip_id", "at", "kind", "focal_point_id", "text", "detail"),
    "case_message": ("tip_id", "direction", "text", "created_at", "read_at"),
    "tip_update": ("tip_id", "author", "text", "state", "created_at"),
}


def load(url: str, count: int, seed: int, progress) -> dict[str, int]:
    """Load `count` tips and their timelines into the migrated, seeded database at `url` (a libpq URL);
    `progress(n)` is told of every n tips written. Returns the rows written per table."""
    rng = random.Random(seed)
    written = dict.fromkeys(("tip", *TIMELINE_COLUMNS), 0)
    with psycopg.connect(url) as connection:
        people = focal_points(connection)
        timelines: dict[str, list[tuple]] = {table: [] for table in TIMELINE_COLUMNS}
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY tip ({', '.join(TIP_COLUMNS)}) FROM STDIN") as copy:
                for n, (row, tip) in enumerate(tips(rng, count, people), 1):
                    copy.write_row(row)
                    timeline(rng, tip, timelines)
                    if n % 5000 == 0:
                        progress(5000)
                progress(count % 5000)
            written["tip"] = count
            for table, columns in TIMELINE_COLUMNS.items():
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in timelines[table]:
                        copy.write_row(row)
                written[table] = len(timelines[table])
            cursor.execute("SELECT setval(pg_get_serial_sequence('tip', 'id'), %s)", (count,))
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
    return written
