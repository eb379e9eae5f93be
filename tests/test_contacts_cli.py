"""`flask contacts import` and `flask contacts stats`: the CSV import of consented contacts (bad
rows by line, --skip-invalid, idempotent, opt-outs kept), the demo file and the counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hotline.contacts import contacts_csv
from hotline.contacts import service as contacts
from hotline.core.csv_import import RowError
from hotline.core.models import Contact
from hotline.core.privacy import engagement_key, reporter_key
from hotline.core.time import as_utc

HEADER = "phone,county_code,language,consent_source,consented_at"
GOOD = [
    "0711000201,37,en,Kakamega forum,2026-10-01",  # line 2
    "+254 711 000 202,037,Kiswahili,Kakamega forum,2026-10-01 14:30",  # line 3
    "254711000203,,SW,Radio call-in,2026-10-02T08:00:00+03:00",  # line 4
    "+254711000204,1,english,Church outreach,2026-10-03T05:00:00Z",  # line 5
]


def csv_file(tmp_path, *rows: str, header: str = HEADER, name: str = "contacts.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows, ""]), encoding="utf-8")
    return path


def run(app, *args):
    return app.test_cli_runner().invoke(args=["contacts", *map(str, args)])


def everyone(ext) -> dict[str, Contact]:
    with ext.session_scope() as session:
        found = list(session.scalars(select(Contact).order_by(Contact.phone)))
        session.expunge_all()
    return {contact.phone: contact for contact in found}


def test_a_good_file_imports_with_numbers_languages_and_times_normalised(app, ext, tmp_path):
    result = run(app, "import", csv_file(tmp_path, *GOOD))
    assert result.exit_code == 0, result.output
    assert "contacts: added 4, updated 0, unchanged 0, kept opted out 0" in result.output
    found = everyone(ext)
    assert list(found) == ["+254711000201", "+254711000202", "+254711000203", "+254711000204"]
    shown = [
        (c.county_code, c.language, c.consent_source, as_utc(c.consented_at)) for c in found.values()
    ]
    assert shown == [
        (37, "en", "Kakamega forum", datetime(2026, 9, 30, 21, 0, tzinfo=UTC)),  # midnight in Nairobi
        (37, "sw", "Kakamega forum", datetime(2026, 10, 1, 11, 30, tzinfo=UTC)),
        (None, "sw", "Radio call-in", datetime(2026, 10, 2, 5, 0, tzinfo=UTC)),
        (1, "en", "Church outreach", datetime(2026, 10, 3, 5, 0, tzinfo=UTC)),
    ]
    contact = found["+254711000201"]
    assert contact.engagement_key == engagement_key(contact.phone, ext.config.phone_hash_key)
    assert contact.engagement_key != reporter_key(contact.phone, ext.config.phone_hash_key)
    assert contact.opted_out_at is None and contact.salt >= 0
    assert len({c.salt for c in found.values()}) == 4


def test_reimporting_the_same_file_changes_nothing(app, ext, tmp_path):
    path = csv_file(tmp_path, *GOOD)
    run(app, "import", path)
    before = {phone: (c.salt, c.updated_at) for phone, c in everyone(ext).items()}
    result = run(app, "import", path)
    assert result.exit_code == 0 and "added 0, updated 0, unchanged 4, kept opted out 0" in result.output
    assert {phone: (c.salt, c.updated_at) for phone, c in everyone(ext).items()} == before


def test_a_changed_row_is_updated(app, ext, tmp_path):
    run(app, "import", csv_file(tmp_path, *GOOD))
    changed = ["0711000201,47,sw,Nairobi forum,2026-10-05", *GOOD[1:]]
    result = run(app, "import", csv_file(tmp_path, *changed, name="changed.csv"))
    assert "added 0, updated 1, unchanged 3" in result.output
    contact = everyone(ext)["+254711000201"]
    assert (contact.county_code, contact.language, contact.consent_source) == (47, "sw", "Nairobi forum")


def test_an_import_never_undoes_an_opt_out(app, ext, tmp_path):
    path = csv_file(tmp_path, *GOOD)
    run(app, "import", path)
    with ext.session_scope() as session:
        hash_key = ext.config.phone_hash_key
        contacts.opt_out(session, "+254711000202", source="sms", phone_hash_key=hash_key)
        contacts.opt_out(session, "+254711000299", source="at_opt_out", phone_hash_key=hash_key)
    again = run(app, "import", csv_file(tmp_path, *GOOD, "0711000299,3,en,Kilifi forum,2026-10-04"))
    assert again.exit_code == 0, again.output
    assert "added 0, updated 0, unchanged 3, kept opted out 2" in again.output
    found = everyone(ext)
    assert found["+254711000202"].opt_out_source == "sms"
    assert "+254711000299" not in found  # opted out before joining: suppressed, never imported


def test_an_import_keeps_what_the_person_chose_but_fills_an_unknown_county(app, ext, tmp_path):
    with ext.session_scope() as session:
        contacts.subscribe(
            session, "+254711000201", source="ussd", language="sw", phone_hash_key=ext.config.phone_hash_key
        )
    result = run(app, "import", csv_file(tmp_path, *GOOD))
    assert "added 3, updated 1, unchanged 0" in result.output
    contact = everyone(ext)["+254711000201"]
    assert (contact.consent_source, contact.language, contact.county_code) == ("ussd", "sw", 37)
    assert "added 0, updated 0, unchanged 4" in run(app, "import", csv_file(tmp_path, *GOOD)).output


FUTURE = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
BAD = [
    "0711000250,37,en,Forum,2026-10-01,extra",  # line 6
    "123,37,en,Forum,2026-10-01",  # line 7
    "+14155550100,37,en,Forum,2026-10-01",  # line 8
    "0202222222,37,en,Forum,2026-10-01",  # line 9
    "0711000251,0,en,Forum,2026-10-01",  # line 10
    "0711000252,48,en,Forum,2026-10-01",  # line 11
    "0711000253,37,fr,Forum,2026-10-01",  # line 12
    "0711000254,37,en,,2026-10-01",  # line 13
    "0711000255,37,en," + "x" * 41 + ",2026-10-01",  # line 14
    "0711000256,37,en,Forum,",  # line 15
    "0711000257,37,en,Forum,01/10/2026",  # line 16
    f"0711000258,37,en,Forum,{FUTURE}",  # line 17
    "+254711000201,37,en,Forum again,2026-10-01",  # line 18
]


def test_bad_rows_are_named_by_line_and_reason_and_nothing_is_imported(app, ext, tmp_path):
    result = run(app, "import", csv_file(tmp_path, *GOOD, *BAD))
    assert result.exit_code == 1
    expected = [
        "line 6: expected 5 fields, found 6",
        "line 7: phone '123' is not a phone number",
        "line 8: phone '+14155550100' is not a valid Kenyan number",
        "line 9: phone '0202222222' is not a mobile number",
        "line 10: county_code '0' is not a Kenyan county (1-47, or empty when not known)",
        "line 11: county_code '48' is not a Kenyan county",
        "line 12: language 'fr' is not en or sw",
        "line 13: consent_source is empty",
        "line 14: consent_source is longer than 40 characters (41)",
        "line 15: consented_at is empty",
        "line 16: consented_at '01/10/2026' is not a date (YYYY-MM-DD)",
        f"line 17: consented_at '{FUTURE}' is in the future",
        "line 18: duplicate of line 2 (same phone); neither is imported",
    ]
    lines = result.output.splitlines()
    for message in expected:
        assert any(line.startswith(f"contacts.csv: {message}") for line in lines), (message, result.output)
    assert "contacts.csv: 13 bad rows, nothing imported" in result.output
    assert "--skip-invalid to import the 3 good rows." in result.output
    assert everyone(ext) == {}


def test_skip_invalid_imports_the_good_rows(app, ext, tmp_path):
    result = run(app, "import", "--skip-invalid", csv_file(tmp_path, *GOOD, *BAD))
    assert result.exit_code == 0, result.output
    assert "line 7: phone '123'" in result.output and "skipped 13 bad rows" in result.output
    assert "contacts: added 3, updated 0, unchanged 0, kept opted out 0" in result.output
    assert list(everyone(ext)) == ["+254711000202", "+254711000203", "+254711000204"]


def test_a_row_with_several_problems_names_them_all():
    row = dict(phone="12", county_code="99", language="", consent_source="", consented_at="yesterday")
    with pytest.raises(RowError) as caught:
        contacts_csv.validate_row(row)
    assert str(caught.value).count(";") == 4


def test_a_wrong_header_rejects_the_file(app, ext, tmp_path):
    result = run(
        app, "import", csv_file(tmp_path, GOOD[0], header="phone,county,language,consent_source,consented_at")
    )
    assert (
        result.exit_code == 1 and "line 1: missing column county_code; unknown column county" in result.output
    )
    assert everyone(ext) == {}


def test_a_large_file_is_imported_in_chunks(app, ext, tmp_path):
    rows = [f"+2547120{n:05d},{n % 47 + 1},{'en' if n % 2 else 'sw'},Bulk,2026-10-01" for n in range(1234)]
    path = csv_file(tmp_path, *rows)
    assert "added 1234, updated 0, unchanged 0" in run(app, "import", path).output
    with ext.session_scope() as session:
        contacts.opt_out(session, "+254712001000", source="sms", phone_hash_key=ext.config.phone_hash_key)
    assert "added 0, updated 0, unchanged 1233, kept opted out 1" in run(app, "import", path).output


def test_stats_counts_subscribed_opted_out_and_unreachable(app, ext, tmp_path):
    assert run(app, "stats").output.startswith("no contacts yet")
    run(app, "import", csv_file(tmp_path, *GOOD))
    with ext.session_scope() as session:
        contacts.opt_out(session, "+254711000202", source="sms", phone_hash_key=ext.config.phone_hash_key)
        unreachable = contacts.find(session, "+254711000204").id
        contacts.mark_unreachable(session, [unreachable], "InvalidPhoneNumber")
    output = run(app, "stats").output
    table = [line.split() for line in output.splitlines()]
    assert ["all", "2", "1", "1"] in table
    assert ["37", "Kakamega", "1", "1", "0"] in table
    assert ["(not", "known)", "1", "0", "0"] in table
    assert ["1", "Mombasa", "0", "0", "1"] in table
    assert ["sw", "1", "1", "0"] in table and ["en", "1", "0", "1"] in table
    assert ["Kakamega", "forum", "1", "1", "0"] in table
    assert ["opt-out", "source", "subscribed", "opted", "out", "unreachable"] in table


def test_seed_demo_loads_the_demo_contacts_once(app, ext):
    runner = app.test_cli_runner()
    first, again = (runner.invoke(args=["seed", "--demo"]).output for _ in range(2))
    assert "demo contacts: added 40, updated 0, unchanged 0, kept opted out 0" in first
    assert "demo contacts: added 0, updated 0, unchanged 40, kept opted out 0" in again
    found = everyone(ext)
    assert {c.language for c in found.values()} == {"en", "sw"}
    assert {c.county_code for c in found.values()} == {1, 3, 23, 37, 40, 47, None}
    assert all(phone.startswith("+2547000030") for phone in found)
    assert all(c.consent_source.startswith("Demo ") for c in found.values())


@pytest.mark.parametrize("command", [[], ["import"], ["stats"]], ids=lambda c: " ".join(c) or "group")
def test_help(app, command):
    result = run(app, *command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
