"""NEA's agency register: `flask agencies import/list/stats`, status history and snapshots, lookup
by licence number, phone and name (typos, swapped words, Kiswahili), verdicts, counted checks.
Real database; files written to tmp_path; the demo register is the lookup fixture."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from hotline.agencies import cli as agencies_cli
from hotline.agencies import register as agencies
from hotline.agencies.lookup import MAX_QUERY, MIN_SCORE, lookup, name_key, registration_key
from hotline.core.csv_import import RowError, import_file
from hotline.core.models import Agency, AgencyLookup, AgencyStatusChange, RegisterSnapshot
from hotline.core.time import kenya_today

HEADER = "name,registration_number,status,expiry_date,licence_type,phone,email"
GOOD = [
    "Alpha Demo Recruiters Ltd,NEA/T/001,licensed,2099-01-01,both,0700000301,a@alpha.demo.invalid",
    "Beta Demo Agency & Co.,NEA/T/002,LICENSE_EXPIRED,2020-01-01,local,,",
]
TODAY = date(2026, 11, 22)


def csv_file(tmp_path, *rows: str, header: str = HEADER, name: str = "agencies.csv"):
    """An agencies.csv in tmp_path from a header and rows."""
    path = tmp_path / name
    path.write_text("\n".join([header, *rows, ""]), encoding="utf-8")
    return path


def run(app, *args):
    return app.test_cli_runner().invoke(args=["agencies", *map(str, args)])


@pytest.fixture
def demo(app, ext):
    """The demo register, imported as the seed does."""
    report = import_file(agencies.DEMO_FILE, agencies.SPEC, ext.session_scope)
    assert report.counts.added == 12
    return ext


def find(ext, query):
    with ext.session_scope() as session:
        return lookup(session, query)


def top(ext, query) -> str | None:
    result = find(ext, query)
    return result.candidates[0].registration_number if result.candidates else None


# --- normalisers and rows ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw", ["NEA/DEMO/001", "nea demo 001", " Nea-Demo-001 ", "NEA\\DEMO\\001", "nea/ demo /001"]
)
def test_registration_numbers_in_odd_formats_have_one_key(raw):
    assert registration_key(raw) == "NEADEMO001"


def test_name_key_folds_legal_forms_and_and():
    assert name_key("Jua Kali Placement Agency & Co.") == name_key("JUA KALI placement agency and Company")
    assert name_key("Sunrise Recruiters Ltd") == name_key("Sunrise Recruiters Limited")
    assert name_key("Sunrise Recruiters Ltd") == "sunrise recruiters"
    assert name_key("Kampuni ya Sunrise Recruiters") == "sunrise recruiters"
    assert name_key("Company Ltd") == "company ltd"  # nothing but noise keeps its words


def test_every_status_and_neaims_value_is_accepted():
    for raw, status in [("LICENSE_PAID", "licensed"), ("license_expired", "expired"),
                        ("LICENSE_DEREGISTERED", "deregistered"), ("LICENSE_PENDING", "pending"),
                        *[(s, s) for s in agencies.STATUSES]]:
        row = agencies.validate_row(dict(name="X", registration_number="1", status=raw, expiry_date="",
                                         licence_type="local", phone="", email=""))
        assert row.status == status


def test_a_bad_row_names_every_problem():
    with pytest.raises(RowError) as error:
        agencies.validate_row(dict(name="", registration_number="//", status="ok", expiry_date="31/12/2025",
                                   licence_type="abroad", phone="12", email="nobody"))
    message = str(error.value)
    for column in agencies.COLUMNS:
        assert column in message


# --- import --------------------------------------------------------------------------------------

def test_import_then_reimport_changes_nothing(app, ext, tmp_path):
    path = csv_file(tmp_path, *GOOD)
    result = run(app, "import", path, "--snapshot-date", "2026-11-01")
    assert result.exit_code == 0, result.output
    assert "agencies: added 2, updated 0, unchanged 0" in result.output
    with ext.session_scope() as session:
        stamps = sorted(session.scalars(select(Agency.updated_at)))
    again = run(app, "import", path, "--snapshot-date", "2026-11-01")
    assert "added 0, updated 0, unchanged 2" in again.output
    with ext.session_scope() as session:
        assert sorted(session.scalars(select(Agency.updated_at))) == stamps
        assert session.scalar(select(func.count(AgencyStatusChange.id))) == 2  # first sight only
        assert session.scalar(select(func.count(RegisterSnapshot.id))) == 1
        beta = session.scalar(select(Agency).where(Agency.registration_key == "NEAT002"))
        assert (beta.status, beta.phone, beta.email) == ("expired", None, None)
    later = run(app, "import", path, "--snapshot-date", "2026-11-20")  # same register, confirmed later
    assert "unchanged 2" in later.output
    with ext.session_scope() as session:
        dates = sorted(session.scalars(select(RegisterSnapshot.snapshot_date)))
        assert dates == [date(2026, 11, 1), date(2026, 11, 20)]
        assert agencies.snapshot_age_days(session, TODAY) == 2


def test_a_status_change_between_two_imports_is_kept(app, ext, tmp_path):
    run(app, "import", csv_file(tmp_path, *GOOD), "--snapshot-date", "2026-10-01")
    revoked = GOOD[0].replace("licensed", "revoked").replace("0700000301", "0700000399")
    second = csv_file(tmp_path, revoked, GOOD[1], name="b.csv")
    result = run(app, "import", second, "--snapshot-date", "2026-11-01")
    assert "added 0, updated 1, unchanged 1" in result.output
    with ext.session_scope() as session:
        alpha = session.scalar(select(Agency).where(Agency.registration_key == "NEAT001"))
        history = session.execute(
            select(AgencyStatusChange.old_status, AgencyStatusChange.new_status,
                   AgencyStatusChange.snapshot_date)
            .where(AgencyStatusChange.agency_id == alpha.id).order_by(AgencyStatusChange.id)
        ).all()
        assert alpha.phone == "+254700000399"
        assert history == [(None, "licensed", date(2026, 10, 1)), ("licensed", "revoked", date(2026, 11, 1))]
        assert lookup(session, "alpha demo recruiters").candidates[0].status == "revoked"  # index rebuilt


def test_a_corrected_register_of_the_same_date_reaches_lookups(app, ext, tmp_path):
    run(app, "import", csv_file(tmp_path, *GOOD), "--snapshot-date", "2026-11-01")
    assert top(ext, "NEA T 001") == "NEA/T/001" and find(ext, "NEA T 001").candidates[0].status == "licensed"
    fixed = GOOD[0].replace("licensed", "suspended")
    run(app, "import", csv_file(tmp_path, fixed, GOOD[1], name="b.csv"), "--snapshot-date", "2026-11-01")
    assert find(ext, "NEA T 001").candidates[0].status == "suspended"
    with ext.session_scope() as session:
        assert session.scalar(select(func.count(RegisterSnapshot.id))) == 1


def test_a_bad_csv_imports_nothing_and_names_lines(app, ext, tmp_path):
    bad = csv_file(tmp_path, GOOD[0], "Gamma,NEA/T/003,closed,2025-13-01,local,,x@y",
                   "Alpha again,nea t 001,licensed,,local,,")
    result = run(app, "import", bad)
    assert result.exit_code == 1
    assert "line 3: status 'closed'" in result.output and "expiry_date '2025-13-01'" in result.output
    assert "line 4: duplicate of line 2 (same registration_number)" in result.output
    with ext.session_scope() as session:
        assert session.scalar(select(func.count(Agency.id))) == 0
        assert session.scalar(select(func.count(RegisterSnapshot.id))) == 0
    skipped = run(app, "import", bad, "--skip-invalid")
    assert skipped.exit_code == 0 and "added 0" in skipped.output  # both Alpha rows are dropped
    assert run(app, "import", csv_file(tmp_path, *GOOD, header="name,status")).exit_code == 1


# --- lookup --------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["NEA/DEMO/001", "nea demo 001", "Nea-Demo-001", "  neademo001  "])
def test_lookup_by_licence_number_in_odd_formats(demo, query):
    result = find(demo, query)
    assert result.kind == "registration" and top(demo, query) == "NEA/DEMO/001"


@pytest.mark.parametrize("query", ["0700000205", "+254 700 000 205", "254700000205"])
def test_lookup_by_phone(demo, query):
    result = find(demo, query)
    assert result.kind == "phone" and result.candidates[0].registration_number == "NEA/DEMO/005"


@pytest.mark.parametrize(
    ("query", "number"),
    [
        ("Demo Sunrise Overseas Recruiters Ltd", "NEA/DEMO/001"),  # exact
        ("sunrise overseas", "NEA/DEMO/001"),  # part of the name
        ("Sunrsie Oversaes Recruiters", "NEA/DEMO/001"),  # typos
        ("Sunrisf Overseas", "NEA/DEMO/001"),  # multi-tap slip: e and f share key 3
        ("overseas recruiters sunrise", "NEA/DEMO/001"),  # transposed words
        ("jua kali placement agency and company", "NEA/DEMO/002"),  # & / Co. written out
        ("Juakali placement", "NEA/DEMO/002"),
        ("kampuni ya Tumaini Gulf Manpower", "NEA/DEMO/003"),  # Kiswahili filler
        ("wakala wa ajira Nyota", "NEA/DEMO/006"),
        ("Harakka Jobs Abrod", "NEA/DEMO/005"),
        ("kazi nje haraka", "NEA/DEMO/005"),  # Kiswahili: jobs abroad
        ("Mwangasa Kareers", "NEA/DEMO/008"),  # sound-alike spelling
    ],
)
def test_lookup_by_name_finds_through_typos(demo, query, number):
    result = find(demo, query)
    assert result.kind == "name", result
    assert number in [c.registration_number for c in result.candidates], result
    assert len(result.candidates) <= 3 and all(c.score >= MIN_SCORE for c in result.candidates)


@pytest.mark.parametrize(
    "query", ["Zebra Logistics Holdings", "xyz", "12345", "!!!", "Ltd", "NEA/DEMO/999", "0700000299"]
)
def test_a_name_that_matches_nothing_well_is_not_found(demo, query):
    assert find(demo, query).kind == "none"


@pytest.mark.parametrize("query", ["", "   ", None])
def test_an_empty_query_is_none(demo, query):
    assert find(demo, query).kind == "none"


def test_a_2kb_query_is_cut_at_200_characters_before_any_work(demo):
    """Only the first MAX_QUERY characters are read (how fast that is: bench/agencies, `overlong`)."""
    name = "Demo Sunrise Overseas Recruiters"
    with demo.session_scope() as session:
        long = lookup(session, f"{name} {'x' * 2048}")
        assert long == lookup(session, f"{name} {'x' * 2048}"[:MAX_QUERY])
        assert [(c.registration_number, c.score) for c in long.candidates] == [("NEA/DEMO/001", 90.0)]
        just_inside = lookup(session, "x" * (MAX_QUERY - len(name)) + name)
        assert [c.registration_number for c in just_inside.candidates] == ["NEA/DEMO/001"]
        assert lookup(session, "x" * MAX_QUERY + name).kind == "none"  # the name starts past the cut
        repeated = lookup(session, "sunrise " * 256)
        assert repeated.kind == "name"
        assert [c.registration_number for c in repeated.candidates] == ["NEA/DEMO/001"]


# --- verdicts, counts, stats -------------------------------------------------------------------

def test_verdicts(demo):
    with demo.session_scope() as session:
        by_number = {a.registration_number: a for a in session.scalars(select(Agency))}
        kinds = {n: agencies.verdict(a, TODAY) for n, a in by_number.items()}
        assert kinds["NEA/DEMO/001"] == agencies.Verdict("licensed", until=date(2099, 12, 31), abroad=True)
        assert kinds["NEA/DEMO/002"].abroad is False
        assert kinds["NEA/DEMO/003"] == agencies.Verdict("expired", since=date(2024, 3, 31), abroad=True)
        lapsed = agencies.Verdict("expired", since=date(2020, 1, 31))  # licensed, but the expiry passed
        assert kinds["NEA/DEMO/012"] == lapsed
        assert {v.kind for v in kinds.values()} == {*agencies.STATUSES}
        assert agencies.verdict(None, TODAY).kind == "not_found"
        candidate = lookup(session, "NEA/DEMO/005").candidates[0]
        assert agencies.verdict(candidate, TODAY).kind == "suspended"
        kept = {"id": 1, "name": "X", "status": "licensed", "expiry": "2025-01-31", "licence_type": "both"}
        lapsed = agencies.Verdict("expired", since=date(2025, 1, 31), abroad=True)
        assert agencies.verdict_of(kept, TODAY) == lapsed
        assert agencies.verdict_of(None, TODAY).kind == "not_found"
        assert agencies.snapshot_date(session) == kenya_today()


def test_a_clear_winner_stands_alone(demo):
    assert len(find(demo, "Demo Sunrise Overseas Recruiters Ltd").candidates) == 1
    assert len(find(demo, "demo").candidates) == 3  # every demo name: up to three, best first


def test_lookups_are_counted_and_stats_show_them(app, demo):
    with demo.session_scope() as session:
        ids = {a.registration_number: a.id for a in session.scalars(select(Agency))}
        today = kenya_today()
        for _ in range(3):
            agencies.record_lookup(session, ids["NEA/DEMO/006"], "revoked", "ussd", 47, today)
        agencies.record_lookup(session, ids["NEA/DEMO/001"], "licensed", "sms", None, today)
        agencies.record_lookup(session, None, "not_found", "ussd", 1, today)
    with demo.session_scope() as session:
        assert session.scalar(select(func.count(AgencyLookup.id))) == 5
        tables = agencies.stats(session, 7, kenya_today())
        assert tables["unlicensed"] == [("Demo Nyota Employment Bureau", "NEA/DEMO/006", 3)]
        assert ("Demo Nyota Employment Bureau", "revoked", 3) in tables["per_agency"]
    result = run(app, "stats", "--days", "7")
    assert result.exit_code == 0, result.output
    assert "Demo Nyota Employment Bureau" in result.output and "(not found)" in result.output
    assert "+2547" not in result.output


def test_list_and_seed_demo(app, ext):
    runner = app.test_cli_runner()
    for _ in range(2):
        assert "demo agencies: 12 in the register" in runner.invoke(args=["seed", "--demo"]).output
    with ext.session_scope() as session:
        # the second run changed nothing
        assert session.scalar(select(func.count(AgencyStatusChange.id))) == 12
    listing = run(app, "list")
    assert "NEA/DEMO/012" in listing.output
    assert f"register snapshot: {kenya_today().isoformat()} (today)" in listing.output


def test_list_shows_the_snapshot_date_and_flags_an_old_one(app, tmp_path):
    register = tmp_path / "register.csv"
    register.write_bytes(agencies.DEMO_FILE.read_bytes())
    with time_machine.travel(datetime(2026, 11, 22, 9, tzinfo=UTC), tick=False):
        assert run(app, "import", str(register), "--snapshot-date", "2026-10-22").exit_code == 0
        first = run(app, "list").output.splitlines()[0]
    assert first == "register snapshot: 2026-10-22 (31 days old, older than 30 days: import a fresh register)"


@pytest.mark.parametrize(
    ("taken", "shown"),
    [
        (None, "no date recorded: import the register with --snapshot-date"),
        (date(2026, 11, 23), "2026-11-23 (in the future: check the --snapshot-date it was imported with)"),
        (TODAY, "2026-11-22 (today)"),
        (date(2026, 11, 21), "2026-11-21 (1 day old)"),
        (date(2026, 10, 23), "2026-10-23 (30 days old)"),
        (date(2026, 10, 22), "2026-10-22 (31 days old, older than 30 days: import a fresh register)"),
    ],
)
def test_describe_snapshot(taken, shown):
    assert agencies_cli.describe_snapshot(taken, TODAY) == shown


@pytest.mark.parametrize("command", [[], ["import"], ["stats"], ["list"]])
def test_help(app, command):
    result = run(app, *command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output
