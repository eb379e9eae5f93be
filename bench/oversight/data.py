"""Load the oversight benchmark's database: 1,000,000 tips over three years ending now, with their case work
and everything the dashboard, the export and the purge read, written to PostgreSQL with COPY.

Run it from the repository root with the project's virtualenv:

    .venv/bin/python bench/oversight/data.py                 # 1,000,000 tips into bench_oversight
    .venv/bin/python bench/oversight/data.py --fresh         # load again even if it is loaded
    .venv/bin/python bench/oversight/data.py --tips 2000 --database-url postgresql://postgres@127.0.0.1:5432/test_bench

The database is created if it does not exist, migrated (`hotline.core.db.upgrade`, as `flask db
upgrade` does) and its counties seeded; then, unless it already holds this loader's data of the same
seed and size (a JSON note in the database's comment says what was loaded, and when the data ends),
every table but the counties is emptied and loaded from one seeded generator: the tips and their
timelines by `cases.py`, the rest by `traffic.py`. Each table has its own connection and COPY stream,
all open at once, so the generator writes every row once, as it draws it, and PostgreSQL takes them in
while the next are drawn (foreign keys are not checked during the load: `session_replication_role =
replica`; the generator makes them consistent). Then the sequences are set past the ids written, and
VACUUM ANALYZE.
Times are relative to the moment of the load ("now"): the note keeps it as `end`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(REPO), str(REPO / "bench"), str(HERE)]

import click  # noqa: E402
import psycopg  # noqa: E402
import traffic  # noqa: E402
from cases import COLUMNS as CASE_COLUMNS  # noqa: E402
from cases import Cases, organisation_rows  # noqa: E402
from desk.load import focal_points  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_oversight"
LOADER = 1  # bump when what is drawn changes: a database loaded by another version is loaded again
YEARS = 3
COLUMNS = {**CASE_COLUMNS, **traffic.COLUMNS}


class Table:
    """One table's COPY stream on its own connection; `rows` counts what was written."""

    def __init__(self, stack: ExitStack, url: str, name: str):
        self.connection = stack.enter_context(psycopg.connect(url))
        # The tables are written side by side, each in its own transaction, so a row may name one
        # not committed yet: foreign keys are checked by the generator, not here.
        self.connection.execute("SET session_replication_role = replica")
        self.copy = stack.enter_context(self.connection.cursor().copy(
            sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, COLUMNS[name])))))
        self.rows = 0

    def write(self, row: tuple) -> None:
        """Write one row."""
        self.copy.write_row(row)
        self.rows += 1


class Tables(dict):
    """Every table's stream, opened when first written to; `close` ends the COPYs and commits them."""

    def __init__(self, url: str):
        super().__init__()
        self.url, self.stack = url, ExitStack()

    def __missing__(self, name: str) -> Table:
        table = self[name] = Table(self.stack, self.url, name)
        return table

    def close(self) -> dict[str, int]:
        """End every COPY and commit each table (psycopg's context exits do both); the rows per table."""
        written = {name: table.rows for name, table in self.items()}
        self.stack.close()
        return written

    def abort(self, error: BaseException) -> None:
        """End every COPY with `error`, rolling each table back."""
        self.stack.__exit__(type(error), error, error.__traceback__)


def note(url: str) -> dict | None:
    """What the database says was loaded into it (the JSON note in its comment), or None."""
    with psycopg.connect(url) as connection:
        found = connection.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()"
        ).fetchone()[0]
    try:
        return json.loads(found) if found else None
    except ValueError:
        return None


def create(url: str) -> None:
    """Create the database at `url` unless it exists (on the same server, through its `postgres`)."""
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare(url: str) -> None:
    """Migrate the database to the newest revision and seed the counties (both idempotent)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from hotline.core.config import normalise_database_url
    from hotline.core.db import upgrade
    from hotline.seed import seed_counties

    upgrade(normalise_database_url(url))
    engine = create_engine(normalise_database_url(url))
    with Session(engine) as session, session.begin():
        seed_counties(session)
    engine.dispose()


def empty(url: str) -> None:
    """Empty every table but the counties and Alembic's (its ids restart)."""
    with psycopg.connect(url) as connection:
        names = [row[0] for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename NOT IN ('county', 'alembic_version') ORDER BY tablename")]
        connection.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
            sql.SQL(", ").join(map(sql.Identifier, names))))


def ensure(url: str, tips: int, seed: int, fresh: bool = False, say=print) -> dict:
    """The database at `url` (libpq URL) migrated and holding the load of `tips` tips from `seed`: loaded
    unless it already was (or always with `fresh`); the load's note (rows per table, `end`, seconds)."""
    create(url)
    prepare(url)
    wanted = {"loader": LOADER, "seed": seed, "tips": tips}
    loaded = note(url)
    if not fresh and loaded and all(loaded.get(k) == v for k, v in wanted.items()):
        say(f"already loaded ({tips:,} tips, seed {seed}, data ending {loaded['end']}): nothing to do")
        return loaded
    started = time.perf_counter()
    empty(url)
    end = datetime.now(UTC).replace(microsecond=0)
    written = load(url, tips, seed, end, say)
    loaded = {**wanted, "end": end.isoformat(), "rows": written,
              "seconds": round(time.perf_counter() - started, 1)}
    with psycopg.connect(url, autocommit=True) as connection:
        name = connection.execute("SELECT current_database()").fetchone()[0]
        connection.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(json.dumps(loaded))))
    return loaded


def load(url: str, tips: int, seed: int, end: datetime, say=print) -> dict[str, int]:
    """Draw and write everything for `tips` tips over the YEARS before `end` into the emptied database."""
    rng, days, started = random.Random(seed), YEARS * 365, time.perf_counter()

    def step(what: str) -> None:
        say(f"  {time.perf_counter() - started:6.1f} s  {what}")

    def share(table: str) -> int:
        return max(1, round(tips * traffic.SHARES[table]))

    from hotline.core.config import DEV_PHONE_HASH_KEY

    tables = Tables(url)
    with psycopg.connect(url) as connection:
        people = focal_points(connection)
        organisations = {}
        with connection.cursor() as cursor:
            for code, name, kind, phone in organisation_rows():
                cursor.execute("INSERT INTO referral_organisation (county_code, name, kind, phone, active,"
                               " updated_at) VALUES (%s, %s, %s, %s, true, now()) RETURNING id",
                               (code, name, kind, phone))
                organisations[(code, kind)] = (cursor.fetchone()[0], name)
        try:
            step("agencies and console users")
            statuses = traffic.agencies(rng, tables["agency"], end)
            accounts = traffic.users(tables["console_user"], people, end)
            cases = Cases(rng, tables, end, days, people, organisations, len(statuses))
            with click.progressbar(length=tips, label=f"  tips and their case work ({tips:,})",
                                   file=sys.stderr) as bar:
                created, codes = cases.write(tips, bar.update)
            step("agency checks, USSD session ends, keyword SMS")
            traffic.agency_lookups(rng, tables["agency_lookup"], share("agency_lookup"), end, days, statuses)
            traffic.session_ends(rng, tables["ussd_session_end"], share("ussd_session_end"), end, days)
            traffic.keyword_sms(rng, tables["inbound_sms"], cases.outbound, share("inbound_sms"), end, days)
            step("contacts, campaigns, engagement, suppressions")
            contacts = traffic.Contacts(rng, end, DEV_PHONE_HASH_KEY)
            contacts.write(tables["contact"], share("contact"))
            contacts.campaigns(connection, tables["campaign_recipient"])
            contacts.engagement(tables["engagement"], share("engagement"), days)
            traffic.suppressions(rng, tables["suppression"], share("suppression"), end, days)
            step("audit log")
            traffic.audit_log(rng, tables["audit_event"], share("audit_event"), end, accounts, created, codes)
            step("committing")
            written = tables.close()
        except BaseException as error:
            tables.abort(error)
            raise
        connection.commit()
        step("sequences")
        restart_sequences(connection)
    with psycopg.connect(url, autocommit=True) as connection:
        step("VACUUM ANALYZE")
        connection.execute("VACUUM ANALYZE")
    step("done")
    return dict(sorted(written.items()))


def restart_sequences(connection: psycopg.Connection) -> None:
    """Set every table's id sequence past the ids the load wrote (the app inserts after them)."""
    serial = connection.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND column_name = 'id' AND column_default LIKE 'nextval%%'").fetchall()
    for (name,) in serial:
        connection.execute(sql.SQL(
            "SELECT setval(pg_get_serial_sequence({table}, 'id'), coalesce(max(id), 0) + 1, false)"
            " FROM {ident}").format(table=sql.Literal(name), ident=sql.Identifier(name)))
    connection.commit()


def parse_args(argv=None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tips", type=int, default=1_000_000, help="tips to load (1000000)")
    parser.add_argument("--seed", type=int, default=14, help="random seed of the data (14)")
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"an existing database ({DEFAULT_URL})")
    parser.add_argument("--fresh", action="store_true", help="load again even if the same load is there")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Load (or find loaded) the database; 0 when it holds the data."""
    args = parse_args(argv)
    if args.tips < 1:
        raise SystemExit("--tips must be at least 1")
    loaded = ensure(args.database_url, args.tips, args.seed, args.fresh,
                    lambda line: print(line, file=sys.stderr, flush=True))
    rows = ", ".join(f"{table} {count:,}" for table, count in loaded["rows"].items())
    print(f"{args.database_url}: {loaded['tips']:,} tips (seed {loaded['seed']}) ending {loaded['end']},"
          f" loaded in {loaded['seconds']} s: {rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
