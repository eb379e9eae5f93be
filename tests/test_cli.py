"""The command line: seed, the terminal phone against a live server, --help everywhere (the funnel:
test_ussd_funnel.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from hotline.core.models import County, Engagement, FocalPoint, Tip, UssdSessionEnd
from hotline.core.privacy import engagement_key, open_engagement

COMMANDS = [["db"], ["db", "upgrade"], ["seed"], ["ussd"], ["ussd", "dial"], ["ussd", "funnel"], ["worker"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(app, command):
    result = app.test_cli_runner().invoke(args=[*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_seed_is_idempotent_and_demo_adds_demo_tips(app, ext):
    runner = app.test_cli_runner()
    assert "47 present, 0 added" in runner.invoke(args=["seed"]).output
    first = runner.invoke(args=["seed", "--demo"]).output
    again = runner.invoke(args=["seed", "--demo"]).output
    assert again == first.replace(
        "added 10, updated 0, unchanged 0", "added 0, updated 0, unchanged 10"
    ).replace("added 40, updated 0, unchanged 0", "added 0, updated 0, unchanged 40")
    with ext.session_scope() as session:
        assert session.scalar(select(func.count(County.code))) == 47
        assert session.scalar(select(func.count(Tip.id))) == 6


def test_seed_demo_refuses_to_run_in_production(make_app, ext):
    with ext.session_scope() as session:
        session.execute(delete(County))
    result = make_app(env="production").test_cli_runner().invoke(args=["seed", "--demo"])
    assert result.exit_code == 2 and "--demo adds fictitious tips" in result.output
    assert "not in production" in result.output
    with ext.session_scope() as session:  # nothing written, not even the counties
        assert session.scalar(select(func.count(County.code))) == 0
        assert session.scalar(select(func.count(Tip.id))) == 0
        assert session.scalar(select(func.count(FocalPoint.id))) == 0


def test_db_upgrade_is_safe_to_repeat(app):
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "database at head" in result.output


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        (
            ["1", "3", "nai", "Agency office, Moi Avenue", "99", "2", "2", "2", "1"],
            "Report sent. Reference: ",
        ),
        (
            ["6", "2", "1", "3", "nai", "Ofisi ya wakala", "Walichukua pasipoti", "2", "2", "2", "1"],
            "Ripoti imetumwa. Namba ya kumbukumbu: ",
        ),
    ],
    ids=["english", "kiswahili"],
)
def test_dial_completes_a_tip_over_http(app, ext, live_server, inputs, expected):
    args = ["ussd", "dial", "--url", live_server, "--phone", "0733000111"]
    for value in inputs:
        args += ["-i", value]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert expected in result.output and "[session ended]" in result.output
    with ext.session_scope() as session:
        assert session.scalar(select(Tip.county_code)) == 47


def test_dial_interactively(app, ext, live_server):
    result = app.test_cli_runner().invoke(args=["ussd", "dial", "--url", live_server], input="4\n0\n")
    assert "Police 999 or 112" in result.output and "1. Report trafficking" in result.output
    assert "[hung up]" in result.output
    with ext.session_scope() as session:  # the phone sent AT's end-of-session notification
        ended = session.scalars(select(UssdSessionEnd)).one()
        assert (ended.status, ended.last_screen) == ("Incomplete", "main")
        [dial] = session.scalars(select(Engagement)).all()  # the dial counts for campaign effect, apart
        key = ext.config.phone_hash_key
        assert (open_engagement(dial.sealed_key, key), dial.signal) == (
            engagement_key("+254700000001", key),
            "dialled",
        )


def test_dial_explains_bad_input(app):
    result = app.test_cli_runner().invoke(args=["ussd", "dial", "--phone", "banana"])
    assert result.exit_code == 2 and "Invalid value for --phone" in result.output
    result = app.test_cli_runner().invoke(args=["ussd", "dial", "--url", "http://127.0.0.1:1", "-i", "1"])
    assert result.exit_code == 1 and "is the service running?" in result.output
