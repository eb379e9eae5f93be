"""The focal-point directory: `flask focal-points import` through the CSV import core, `list`,
the demo data, and `for_county` for routing. Real database, files written to tmp_path."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.core.csv_import import RowError
from hotline.core.models import FocalPoint
from hotline.tips import focal_points

HEADER = "county_code,name,organisation,phone,priority,active"
GOOD = [
    "37,Officer Kakamega A,County children's office,0700000101,1,true",
    "37,Officer Kakamega B,County children's office,+254 700 000 102,2,yes",
    "01,Officer Mombasa,,254700000121,1,TRUE",
    "0,Secretariat Desk,National CTiP secretariat,+254700000191,1,1",
]


def csv_file(tmp_path, *rows: str, header: str = HEADER, name: str = "focal_points.csv", bom: bool = False):
    """A focal_points.csv in tmp_path from a header and rows."""
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + "\n".join([header, *rows, ""]).encode())
    return path


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["focal-points", *map(str, args)])


def directory(ext) -> list[tuple]:
    """Every focal point as (county_code, phone, name, organisation, priority, active)."""
    with ext.session_scope() as session:
        rows = session.scalars(select(FocalPoint).order_by(FocalPoint.county_code, FocalPoint.phone))
        return [(f.county_code, f.phone, f.name, f.organisation, f.priority, f.active) for f in rows]


def test_a_good_file_imports(app, ext, tmp_path):
    result = run(app, "import", csv_file(tmp_path, *GOOD))
    assert result.exit_code == 0, result.output
    assert "focal points: added 4, updated 0, unchanged 0" in result.output
    assert directory(ext) == [
        (0, "+254700000191", "Secretariat Desk", "National CTiP secretariat", 1, True),
        (1, "+254700000121", "Officer Mombasa", "", 1, True),
        (37, "+254700000101", "Officer Kakamega A", "County children's office", 1, True),
        (37, "+254700000102", "Officer Kakamega B", "County children's office", 2, True),
    ]


def test_reimporting_the_same_file_changes_nothing(app, ext, tmp_path):
    path = csv_file(tmp_path, *GOOD)
    run(app, "import", path)
    with ext.session_scope() as session:
        stamps = sorted(session.scalars(select(FocalPoint.updated_at)))
    result = run(app, "import", path)
    assert result.exit_code == 0 and "added 0, updated 0, unchanged 4" in result.output
    with ext.session_scope() as session:
        assert sorted(session.scalars(select(FocalPoint.updated_at))) == stamps


def test_reimport_updates_priority_and_active(app, ext, tmp_path):
    run(app, "import", csv_file(tmp_path, *GOOD))
    changed = [
        "37,Officer Kakamega A,County children's office,0700000101,2,no",
        "37,Officer Kakamega B,County children's office,0700000102,1,yes",
        *GOOD[2:],
    ]
    result = run(app, "import", csv_file(tmp_path, *changed, name="changed.csv"))
    assert result.exit_code == 0 and "added 0, updated 2, unchanged 2" in result.output
    kakamega = [row for row in directory(ext) if row[0] == 37]
    assert [(phone, priority, active) for _c, phone, _n, _o, priority, active in kakamega] == [
        ("+254700000101", 2, False),
        ("+254700000102", 1, True),
    ]
    with ext.session_scope() as session:
        assert [fp.phone for fp in focal_points.for_county(session, 37)] == ["+254700000102"]


BAD = [
    "48,Officer Nowhere,,0700000150,1,true",  # line 6
    "x,Officer X,,0700000151,1,true",  # line 7
    "47,,,0700000152,1,true",  # line 8
    "47,Officer Short Phone,,123,1,true",  # line 9
    "47,Officer Zero,,0700000153,0,true",  # line 10
    "47,Officer Maybe,,0700000154,1,maybe",  # line 11
    "37,Officer Kakamega A again,County children's office,+254700000101,3,true",  # line 12
]


def test_bad_rows_are_named_by_line_and_reason_and_nothing_is_imported(app, ext, tmp_path):
    result = run(app, "import", csv_file(tmp_path, *GOOD, *BAD))
    assert result.exit_code == 1
    expected = [
        "focal_points.csv: line 6: county_code 48 is not a Kenyan county (1-47, or 0 for the national",
        "focal_points.csv: line 7: county_code 'x' is not a number",
        "focal_points.csv: line 8: name is empty",
        "focal_points.csv: line 9: phone '123' is not a phone number",
        "focal_points.csv: line 10: priority '0' is not a whole number from 1 (notified first) to 99",
        "focal_points.csv: line 11: active 'maybe' is not true or false",
        "focal_points.csv: line 12: duplicate of line 2 (same county_code and phone); neither is imported",
    ]
    lines = result.output.splitlines()
    for prefix in expected:
        assert any(line.startswith(prefix) for line in lines), (prefix, result.output)
    assert "focal_points.csv: 7 bad rows, nothing imported" in result.output
    assert "--skip-invalid to import the 3 good rows." in result.output
    assert directory(ext) == []


def test_skip_invalid_imports_the_good_rows_and_still_lists_the_bad(app, ext, tmp_path):
    result = run(app, "import", "--skip-invalid", csv_file(tmp_path, *GOOD, *BAD))
    assert result.exit_code == 0, result.output
    assert "line 6: county_code 48" in result.output and "line 12: duplicate of line 2" in result.output
    assert "skipped 7 bad rows" in result.output
    assert "focal points: added 3, updated 0, unchanged 0" in result.output
    # Both lines of the duplicate are left out: which one is right is the editor's call.
    assert [row[1] for row in directory(ext)] == ["+254700000191", "+254700000121", "+254700000102"]


def test_a_row_with_several_problems_names_them_all(tmp_path):
    row = dict(county_code="99", name="", organisation="", phone="0700000101", priority="1", active="true")
    with pytest.raises(RowError, match="county_code 99 .*; name is empty"):
        focal_points.validate_row(row)


@pytest.mark.parametrize(
    ("phone", "reason"),
    [("0202222222", "not a mobile number"), ("+14155550100", "not a valid Kenyan number"), ("", "empty")],
)
def test_phones_must_be_kenyan_mobiles(phone, reason):
    row = dict(county_code="1", name="A", organisation="", phone=phone, priority="1", active="true")
    with pytest.raises(RowError, match=reason):
        focal_points.validate_row(row)


def test_a_bom_is_accepted(app, ext, tmp_path):
    result = run(app, "import", csv_file(tmp_path, *GOOD, bom=True))
    assert result.exit_code == 0 and "added 4" in result.output


def test_bytes_that_are_not_utf8_reject_the_file(app, ext, tmp_path):
    path = csv_file(tmp_path, *GOOD)
    path.write_bytes(path.read_bytes() + "47,Officer Mùthoni,,0700000160,1,true\n".encode("cp1252"))
    result = run(app, "import", path)
    assert result.exit_code == 1
    assert "focal_points.csv: line 6: byte 0xf9 is not UTF-8" in result.output
    assert "nothing imported" in result.output
    assert directory(ext) == []


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("county_code,name,organisation,phone,priority", "line 1: missing column active"),
        (HEADER + ",email", "line 1: unknown column email"),
        ("", "line 1: no header row"),
    ],
)
def test_a_wrong_header_rejects_the_file(app, ext, tmp_path, header, message):
    result = run(app, "import", csv_file(tmp_path, *GOOD[:1], header=header))
    assert result.exit_code == 1 and message in result.output
    assert "the header must be county_code,name,organisation,phone,priority,active" in result.output
    assert directory(ext) == []


def test_quoted_fields_blank_rows_and_short_rows(app, ext, tmp_path):
    rows = ['3,"Officer Kilifi, Malindi","Office\nsecond line",0700000131,1,true', "", ",,,,,", "3,Short"]
    result = run(app, "import", csv_file(tmp_path, *rows))
    assert result.exit_code == 1
    assert "line 6: expected 6 fields, found 2" in result.output  # the quoted field spans lines 2-3


def test_list_prints_the_directory(app, tmp_path):
    assert "no focal points yet" in run(app, "list").output
    run(app, "import", csv_file(tmp_path, *GOOD))
    lines = run(app, "list").output.splitlines()
    assert lines[0].split() == ["county", "priority", "active", "name", "organisation", "phone"]
    assert lines[1].startswith("0 National secretariat") and lines[-1].endswith("+254700000102")
    only = run(app, "list", "--county", "37").output.splitlines()
    assert len(only) == 3 and all(line.startswith("37 Kakamega") for line in only[1:])
    assert run(app, "list", "--county", "48").exit_code == 2


def test_for_county_gives_active_ones_by_priority(app, ext, tmp_path):
    run(app, "import", csv_file(tmp_path, *GOOD, "37,Officer Off,,0700000103,1,false"))
    with ext.session_scope() as session:
        assert [fp.priority for fp in focal_points.for_county(session, 37)] == [1, 2]
        assert [fp.name for fp in focal_points.for_county(session, 0)] == ["Secretariat Desk"]
        assert focal_points.for_county(session, 4) == []


def test_seed_demo_loads_the_demo_focal_points(app, ext):
    runner = app.test_cli_runner()
    first, again = (runner.invoke(args=["seed", "--demo"]).output for _ in range(2))
    assert "demo focal points: added 10, updated 0, unchanged 0" in first
    assert "demo focal points: added 0, updated 0, unchanged 10" in again
    with ext.session_scope() as session:
        assert len(focal_points.for_county(session, 0)) == 2
        for county in (37, 47, 1, 3):
            assert focal_points.for_county(session, county), county
        assert all(fp.name.startswith("Demo ") for fp in session.scalars(select(FocalPoint)))


@pytest.mark.parametrize("command", [[], ["import"], ["list"]], ids=lambda c: " ".join(c) or "group")
def test_help(app, command):
    result = run(app, *command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
