"""`flask tips list`, `show` and `export` (hotline.tips.cli, hotline.evidence.cli): the filters,
what is never shown, clear refusals of bad arguments, and the audit log. Real database."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hotline.core.models import AuditEvent, CaseEvent, FocalPoint, Tip
from hotline.core.privacy import encrypt_contact, reporter_key
from hotline.tips.reference import check_digit, display, new_reference

NUMBER = "+254712345678"


@pytest.fixture
def tips(ext):
    """Three tips; the first with a call-back number, a note and an acknowledgement by SMS."""
    key = reporter_key(NUMBER, ext.config.phone_hash_key)
    with ext.session_scope() as session:
        officer = FocalPoint(county_code=37, name="Officer Achieng", phone="+254700000101")
        session.add(officer)
        session.flush()
        made = [
            Tip(
                reference=new_reference(),
                channel="ussd",
                kind="child_marriage",
                county_code=37,
                place="Behind the chief's camp near the river crossing",
                description="A girl of 14",
                reporter_key=key,
                callback_contact=encrypt_contact(NUMBER, ext.config.contact_key),
                urgent=True,
                children="yes",
                created_at=datetime(2026, 11, 2, 6, tzinfo=UTC),
                acknowledged_at=datetime(2026, 11, 2, 7, tzinfo=UTC),
                acknowledged_by_id=officer.id,
                folder="active",
                status="acknowledged",
            ),
            Tip(
                reference=new_reference(),
                channel="sms",
                kind="forced_labour",
                county_code=47,
                place="Industrial area",
                reporter_key=key,
                created_at=datetime(2026, 11, 5, 6, tzinfo=UTC),
            ),
            Tip(
                reference=new_reference(),
                channel="ussd",
                kind="forced_labour",
                county_code=37,
                place="Lurambi",
                reporter_key=key,
                created_at=datetime(2026, 11, 9, 6, tzinfo=UTC),
            ),
        ]
        session.add_all(made)
        session.flush()
        session.add(
            CaseEvent(
                tip_id=made[0].id,
                at=datetime(2026, 11, 2, 8, tzinfo=UTC),
                kind="note",
                text="Spoke to the chief",
            )
        )
        return [(tip.id, tip.reference) for tip in made]


def audit_entries(ext, action):
    with ext.session_scope() as session:
        return [
            (e.user_id, e.actor, e.tip_id, e.detail)
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        ]


@pytest.mark.parametrize("command", [["tips", "list"], ["tips", "show"], ["tips", "export"]], ids=" ".join)
def test_every_new_command_has_help(app, command):
    result = app.test_cli_runner().invoke(args=[*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_list_filters_like_the_inbox_shows_no_key_and_is_audited(app, ext, tips):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tips", "list", "--county", "37"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3  # a header and Kakamega's two tips, newest first
    assert lines[1].startswith(display(tips[2][1])) and lines[2].startswith(display(tips[0][1]))
    assert "urgent children" in lines[2] and "Behind the chief's camp…" in lines[2]
    assert "river crossing" not in result.output and "A girl of 14" not in result.output
    assert (
        reporter_key(NUMBER, ext.config.phone_hash_key) not in result.output
        and "712345678" not in result.output
    )
    by_kind = runner.invoke(args=["tips", "list", "--kind", "forced_labour", "--channel", "sms"]).output
    assert by_kind.count("Industrial area") == 1 and len(by_kind.splitlines()) == 2
    assert len(runner.invoke(args=["tips", "list", "--status", "active"]).output.splitlines()) == 2
    dated = runner.invoke(args=["tips", "list", "--since", "2026-11-05", "--until", "2026-11-05"]).output
    assert len(dated.splitlines()) == 2 and "Industrial area" in dated
    assert runner.invoke(args=["tips", "list", "--text", "nothing like it"]).output == "no tips match\n"
    entries = audit_entries(ext, "tips_listed")
    assert len(entries) == 5 and entries[0][0] is None and entries[0][1].startswith("cli:")
    assert entries[0][3] == {"county": "37", "limit": 50, "shown": 2}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--county", "48"], "48 is not a county code"),
        (["--kind", "smuggling"], "'smuggling' is not one of"),
        (["--since", "2026-11-31"], "does not match the format"),
        (["--since", "2026-11-09", "--until", "2026-11-01"], "--since is after --until"),
        (["--limit", "0"], "0 is not in the range"),
    ],
)
def test_list_refuses_bad_filters_clearly(app, args, message):
    result = app.test_cli_runner().invoke(args=["tips", "list", *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_show_prints_every_field_and_the_timeline_never_the_number(app, ext, tips):
    tip_id, reference = tips[0]
    typed = " ".join(display(reference).split("-"))  # as a reporter types it, with spaces
    result = app.test_cli_runner().invoke(args=["tips", "show", typed])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"Reference:         {display(reference)}" in out
    assert "Call-back number:  given" in out and "Kakamega" in out and "A girl of 14" in out
    assert "Acknowledged:      2026-11-02 10:00 by Officer Achieng" in out
    assert "Received by USSD" in out and "Spoke to the chief" in out and "Acknowledged by SMS (ACK)" in out
    assert "712345678" not in out and reporter_key(NUMBER, ext.config.phone_hash_key) not in out
    other = app.test_cli_runner().invoke(args=["tips", "show", tips[1][1]]).output
    assert "Call-back number:  not given" in other
    entries = audit_entries(ext, "tip_viewed")
    assert [(e[0], e[2]) for e in entries] == [(None, tip_id), (None, tips[1][0])]
    assert entries[0][1].startswith("cli:")


def test_show_refuses_malformed_and_unknown_references(app, ext, tips):
    runner = app.test_cli_runner()
    reference = tips[0][1]
    mistyped = reference[:-2] + reference[-1] + reference[-2]
    if mistyped == reference:  # two equal digits at the end: change one instead
        mistyped = reference[:-1] + str((int(reference[-1]) + 1) % 10)
    result = runner.invoke(args=["tips", "show", mistyped])
    assert result.exit_code == 1 and "is not a valid reference" in result.output
    unknown = "12345678901" + check_digit("12345678901")
    result = runner.invoke(args=["tips", "show", unknown])
    assert result.exit_code == 1 and f"no tip has the reference {display(unknown)}" in result.output
    assert audit_entries(ext, "tip_viewed") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--table", "victims"], "'victims' is not one of"),
        (["--format", "xlsx"], "'xlsx' is not one of"),
        (["--year", "1999"], "The year must be from 2000"),
        (["--year", "2026", "--since", "2026-01-01"], "Give a year or dates"),
        (["--since", "2026-11-09", "--until", "2026-11-01"], "is after the last"),
        (["--table", "annual", "--free-text"], "Free text is only in the case-level table"),
        (["--table", "annual", "--since", "2026-01-01"], "give --year, not dates"),
        (["--since", "tomorrow"], "does not match the format"),
    ],
)
def test_export_refuses_bad_arguments_clearly(app, ext, args, message):
    result = app.test_cli_runner().invoke(args=["tips", "export", *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert audit_entries(ext, "dataset_exported") == []


def test_export_to_a_file_shows_progress_and_is_audited(app, ext, tips, tmp_path):
    target = tmp_path / "cases.csv"
    result = app.test_cli_runner().invoke(
        args=["tips", "export", "--output", str(target), "--since", "2026-11-03"]
    )
    assert result.exit_code == 0, result.output
    assert "2 rows written to" in result.output
    rows = list(csv.DictReader(target.read_text(encoding="utf-8").splitlines()))
    assert [row["county_name"] for row in rows] == ["Nairobi City", "Kakamega"]
    entries = audit_entries(ext, "dataset_exported")
    assert entries == [
        (
            None,
            entries[0][1],
            None,
            {
                "table": "cases",
                "format": "csv",
                "rows": 2,
                "free_text": False,
                "filters": {"since": "2026-11-03"},
            },
        )
    ]
    described = json.loads(app.test_cli_runner().invoke(args=["tips", "export", "--describe"]).output)
    assert described["fields"][0]["name"] == "row_id" and "rows" not in described
    unwritable = app.test_cli_runner().invoke(
        args=["tips", "export", "--output", str(tmp_path / "no" / "x.csv")]
    )
    assert unwritable.exit_code == 1 and "cannot write" in unwritable.output


def test_export_json_with_free_text_to_stdout(app, tips):
    result = app.test_cli_runner().invoke(args=["tips", "export", "--format", "json", "--free-text"])
    document = json.loads(result.output)
    assert [row["place"] for row in document["rows"]] == [
        "Behind the chief's camp near the river crossing",
        "Industrial area",
        "Lurambi",
    ]
    assert document["fields"][-1]["name"] == "description" and document["filters"] == {"free_text": "True"}
