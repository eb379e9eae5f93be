"""bench/oversight/data.py, the oversight benchmark's loader, at 2,000 tips on PostgreSQL (it writes with
COPY): every table a share of the tips, no row pointing at a missing one (the load does not check
foreign keys as it writes), case states that agree with each other, the ids' sequences past the load,
and a second run that finds the load there and leaves it. Skipped on SQLite."""

from __future__ import annotations

import importlib.util
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
TIPS = 2000

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                                reason="the benchmark's loader writes to PostgreSQL with COPY")


def loader():
    """bench/oversight/data.py as a module (it puts bench/ on sys.path; put back as it was after)."""
    saved = list(sys.path)
    try:
        path = REPO / "bench" / "oversight" / "data.py"
        spec = importlib.util.spec_from_file_location("bench_oversight_data", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


@pytest.fixture
def scratch_url():
    """A database of its own on the test server, dropped afterwards."""
    server = make_url(os.environ["TEST_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://"))
    name = f"{server.database}_oversight_loader"
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(drop)
    yield server.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(drop)


def count(connection, query: str, parameters=None) -> int:
    return connection.execute(query, parameters).fetchone()[0]


def test_loads_consistent_data_once(scratch_url):
    data = loader()
    said = []
    loaded = data.ensure(scratch_url, TIPS, 14, say=said.append)
    rows = loaded["rows"]
    tables = ("tip", "agency_lookup", "ussd_session_end", "audit_event", "contact", "engagement",
              "suppression")
    assert [rows[table] for table in tables] == [2000, 600, 3000, 1000, 400, 300, 10]
    end = datetime.fromisoformat(loaded["end"])
    with psycopg.connect(scratch_url) as connection:
        # Nothing points at a row that is not there.
        orphans = {
            "case_event": "SELECT count(*) FROM case_event e LEFT JOIN tip t ON t.id = e.tip_id"
                          " WHERE t.id IS NULL",
            "referral": "SELECT count(*) FROM referral r LEFT JOIN tip t ON t.id = r.tip_id"
                        " LEFT JOIN referral_organisation o ON o.id = r.organisation_id"
                        " WHERE t.id IS NULL OR o.id IS NULL",
            "outbound_sms": "SELECT count(*) FROM outbound_sms s LEFT JOIN tip t ON t.id = s.tip_id"
                            " LEFT JOIN focal_point f ON f.id = s.focal_point_id"
                            " WHERE (s.tip_id IS NOT NULL AND t.id IS NULL)"
                            " OR (s.focal_point_id IS NOT NULL AND f.id IS NULL)",
            "campaign_recipient": "SELECT count(*) FROM campaign_recipient r LEFT JOIN contact c"
                                  " ON c.id = r.contact_id LEFT JOIN campaign k ON k.id = r.campaign_id"
                                  " WHERE c.id IS NULL OR k.id IS NULL",
            "audit_event": "SELECT count(*) FROM audit_event a LEFT JOIN tip t ON t.id = a.tip_id"
                           " LEFT JOIN console_user u ON u.id = a.user_id"
                           " WHERE (a.tip_id IS NOT NULL AND t.id IS NULL)"
                           " OR (a.user_id IS NOT NULL AND u.id IS NULL)",
            "tip": "SELECT count(*) FROM tip t LEFT JOIN agency a ON a.id = t.agency_id"
                   " LEFT JOIN focal_point f ON f.id = t.acknowledged_by_id"
                   " WHERE (t.agency_id IS NOT NULL AND a.id IS NULL)"
                   " OR (t.acknowledged_by_id IS NOT NULL AND f.id IS NULL)",
        }
        found = {table: count(connection, query) for table, query in orphans.items()}
        assert found == dict.fromkeys(orphans, 0)
        # Case states agree: closed ones have a reason and a date, open ones neither; referred closures
        # are ClosedReferred; only acknowledged tips were referred; all within the three years.
        disagree = count(connection, """
            SELECT count(*) FROM tip WHERE
              (folder = 'closed') <> (case_status IN ('Closed', 'ClosedReferred'))
              OR (closed_at IS NULL) <> (closure_reason IS NULL)
              OR (closed_at IS NULL) <> (folder <> 'closed')
              OR (case_status = 'ClosedReferred') <> (closure_reason = 'referred')
              OR (folder = 'new') <> (acknowledged_at IS NULL AND closed_at IS NULL)
              OR acknowledged_at < created_at OR closed_at > %s OR created_at < %s""",
            (end, end - timedelta(days=3 * 365)))
        assert disagree == 0
        assert count(connection, "SELECT count(*) FROM referral r JOIN tip t ON t.id = r.tip_id"
                                 " WHERE t.acknowledged_at IS NULL") == 0
        assert count(connection, "SELECT nextval(pg_get_serial_sequence('tip', 'id'))") == TIPS + 1
    again = data.ensure(scratch_url, TIPS, 14, say=said.append)
    assert again == loaded
    assert said[-1].startswith("already loaded (2,000 tips, seed 14")
