"""`flask ussd funnel` (hotline.ussd.funnel): where callers give up, screen by screen, in words, over a
range of Nairobi days; counted in SQL; clear refusals of bad dates. Real database."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import event

from hotline.core.models import UssdSessionEnd
from hotline.ussd import funnel
from hotline.ussd.service import engine
from tests.conftest import Phone

# 10:00 in Nairobi on 28 Nov 2026: the default range is 30 Oct to 28 Nov 2026 (Nairobi days).
NOW = datetime(2026, 11, 28, 7, tzinfo=UTC)
FIRST_MOMENT = datetime(2026, 10, 29, 21, tzinfo=UTC)  # 30 Oct 00:00 in Nairobi
LAST_MOMENT = datetime(2026, 11, 28, 20, 59, 59, tzinfo=UTC)  # 28 Nov 23:59:59 in Nairobi
MID = datetime(2026, 11, 15, 9, tzinfo=UTC)

# (last screen, AT's status, received at, how many): 20 sessions in the range, 2 just outside it.
ENDED = [
    ("main", "Incomplete", FIRST_MOMENT, 1),
    ("main", "Incomplete", MID, 3),
    ("tip_kind", "Incomplete", MID, 2),
    ("tip_kind", "TimedOut", MID, 1),
    ("tip_story", "Incomplete", MID, 5),
    ("tip_story", "Failed", LAST_MOMENT, 1),
    ("tip_sent", "Success", MID, 4),
    ("tip_sent_urgent", "Success", LAST_MOMENT, 1),
    ("tip_where", "Incomplete", MID, 1),  # a screen since renamed
    (None, "Incomplete", MID, 1),
    ("main", "Incomplete", datetime(2026, 10, 29, 20, 59, 59, tzinfo=UTC), 1),  # 29 Oct in Nairobi
    ("tip_story", "Incomplete", datetime(2026, 11, 28, 21, tzinfo=UTC), 1),  # 29 Nov in Nairobi
]

LEGEND = [
    "finished: the service ended the session on a closing screen (AT status Success)",
    "dropped: the caller hung up or timed out, or the network failed (any other status)",
    "share dropped: of all sessions in the range",
]


def record(ext, ended) -> None:
    with ext.session_scope() as session:
        n = 0
        for screen, status, at, count in ended:
            for _ in range(count):
                n += 1
                row = UssdSessionEnd(session_id=f"s{n}", status=status, last_screen=screen, received_at=at)
                session.add(row)


def cells(output: str) -> list[list[str]]:
    """The table's rows (not its heading, rule or total), each as its cells."""
    lines = output.splitlines()
    rows = lines[lines.index("") + 2 : next(i for i, line in enumerate(lines) if line.startswith("---"))]
    return [re.split(r"  +", row.strip()) for row in rows]


def run(app, *args: str):
    with time_machine.travel(NOW, tick=False):
        return app.test_cli_runner().invoke(args=["ussd", "funnel", *args])


def test_every_screen_of_the_flow_has_a_name_of_its_own():
    screens = list(engine().flow.screens)
    assert [s for s in screens if s not in funnel.SCREEN_NAMES] == []
    names = [funnel.SCREEN_NAMES[s] for s in screens]
    assert len(set(names)) == len(names), "two screens read the same"
    assert funnel.NOT_KNOWN not in names
    assert funnel.ANSWERS <= set(screens), "an answer screen the flow no longer has"


def test_the_last_30_days_screen_by_screen_in_the_order_of_the_menu(app, ext):
    record(ext, ENDED)
    result = run(app)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "USSD sessions that ended from 30 Oct 2026 to 28 Nov 2026 (Nairobi time): 20",
        'Most callers drop at "Report: what happened": 6 of 20 (30.0%).',
        "",
        "screen                  ended there  finished  dropped  share dropped",
        "Main menu                         4         0        4          20.0%",
        "Report: kind of case              3         0        3          15.0%",
        "Report: what happened             6         0        6          30.0%",
        "Report sent                       4         4        0           0.0%",
        "Report sent (urgent)              1         1        0           0.0%",
        "(old screen tip_where)            1         0        1           5.0%",
        "(screen not known)                1         0        1           5.0%",
        "----------------------  -----------  --------  -------  -------------",
        "Total                            20         5       15          75.0%",
        "",
        *LEGEND,
    ]


LAST_DAY = [["Report: what happened", "1", "0", "1", "50.0%"],
            ["Report sent (urgent)", "1", "1", "0", "0.0%"]]


@pytest.mark.parametrize(
    ("args", "days", "rows"),
    [
        (["--days", "1"], "from 28 Nov 2026 to 28 Nov 2026 (Nairobi time): 2", LAST_DAY),
        (["--since", "2026-11-28"], "from 28 Nov 2026 to 28 Nov 2026 (Nairobi time): 2", LAST_DAY),
        (["--since", "2026-10-30", "--until", "2026-10-30"],
         "from 30 Oct 2026 to 30 Oct 2026 (Nairobi time): 1", [["Main menu", "1", "0", "1", "100.0%"]]),
        (["--until", "2026-10-30"],  # the 30 days up to --until
         "from 1 Oct 2026 to 30 Oct 2026 (Nairobi time): 2", [["Main menu", "2", "0", "2", "100.0%"]]),
        (["--since", "2026-10-29", "--until", "2026-11-29"],
         "from 29 Oct 2026 to 29 Nov 2026 (Nairobi time): 22", None),
    ],
    ids=["days", "since", "one-day", "until", "wider"],
)
def test_a_range_counts_whole_nairobi_days(app, ext, args, days, rows):
    record(ext, ENDED)
    output = run(app, *args).output
    assert output.splitlines()[0] == f"USSD sessions that ended {days}"
    if rows:
        assert cells(output) == rows


def test_a_tie_names_each_screen_and_answers_are_marked_and_left_out_of_it(app, ext):
    record(ext, [("agency_query", "Incomplete", MID, 1), ("tip_place", "TimedOut", MID, 1),
                 ("help", "Incomplete", MID, 2), ("agency_found", "Incomplete", MID, 2),
                 ("safety_joined", "Success", MID, 1)])
    output = run(app).output
    assert output.splitlines()[1] == (
        'Most callers drop at "Report: where exactly" and "Agency check: name or licence": '
        "1 of 7 at each (14.3%)."
    )
    assert cells(output) == [
        ["Report: where exactly", "1", "0", "1", "14.3%"],
        ["Agency check: name or licence", "1", "0", "1", "14.3%"],
        ["Agency check: verdict *", "2", "0", "2", "28.6%"],
        ["Help lines *", "2", "0", "2", "28.6%"],
        ["Safety SMS: joined", "1", "1", "0", "0.0%"],
    ]
    assert "Total                                    7         1        6          85.7%" in output
    assert output.endswith(
        "*: the screen answers the caller (a verdict, the help lines, a report's status): one who\n"
        "   hangs up there may have what they came for, so the line at the top leaves it out\n"
    )


@pytest.mark.parametrize(
    ("ended", "line"),
    [
        ([("tip_sent", "Success", MID, 2)], "No caller dropped: every session ended on a closing screen."),
        ([("tip_sent", "Success", MID, 2), ("help", "Incomplete", MID, 1)],
         "No caller dropped before an answer (screens marked *)."),
    ],
    ids=["none", "only-after-an-answer"],
)
def test_nobody_dropped(app, ext, ended, line):
    record(ext, ended)
    assert run(app).output.splitlines()[1] == line


def test_nothing_in_the_range(app, ext):
    record(ext, ENDED[-2:])  # both just outside it
    result = run(app)
    assert (result.exit_code, result.output) == (
        0, "No USSD sessions ended from 30 Oct 2026 to 28 Nov 2026 (Nairobi time).\n"
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--since", "2026-11-31"], "Invalid value for '--since': '2026-11-31': there is no such day"),
        (["--until", "28/11/2026"],
         "Invalid value for '--until': '28/11/2026' is not a date written YYYY-MM-DD (e.g. 2026-11-28)"),
        (["--since", "2026-11-28", "--until", "2026-11-01"],
         "Invalid value for --until: 1 Nov 2026 is before --since (28 Nov 2026)"),
        (["--since", "2026-11-29"], "Invalid value for --since: 29 Nov 2026 is after today (28 Nov 2026)"),
        (["--days", "0"], "Invalid value for '--days': 0 is not in the range 1<=x<=3660."),
        (["--days", "7", "--since", "2026-11-01"],
         "Invalid value for --days: give --days or --since/--until, not both"),
    ],
    ids=["no-such-day", "not-iso", "until-before-since", "since-after-today", "zero-days", "days-and-since"],
)
def test_bad_dates_get_one_clear_line(app, args, error):
    result = run(app, *args)
    assert result.exit_code == 2
    assert [line for line in result.output.splitlines() if line.startswith("Error:")] == [f"Error: {error}"]
    assert "Traceback" not in result.output


def test_counted_in_sql_in_one_query(app, ext):
    record(ext, ENDED)
    statements = []

    def seen(connection, cursor, statement, *rest):
        statements.append(statement)

    event.listen(ext.engine, "before_cursor_execute", seen)
    try:
        with ext.session_scope() as session:
            found = funnel.ended_by_screen(session, engine().flow, date(2026, 10, 30), date(2026, 11, 28))
    finally:
        event.remove(ext.engine, "before_cursor_execute", seen)
    [query] = [s for s in statements if "ussd_session_end" in s]
    assert "GROUP BY ussd_session_end.last_screen" in query
    assert (found.total.sessions, found.total.finished, len(found.rows)) == (20, 5, 7)


def test_sessions_played_through_the_webhooks(app, client):
    """AT's end-of-session notifications carry no screen: the one the service last showed is kept."""
    ended = [([], "Incomplete"), (["1"], "Incomplete"), (["1"], "Failed"),
             (["1", "1", "kak", "Near the market", "99", "1", "2", "1", "1"], "Success")]
    for n, (inputs, status) in enumerate(ended):
        phone = Phone(client, number=f"+25471100{n:04d}")
        phone.dial()
        phone.send(*inputs)
        client.post("/ussd/events", data={"sessionId": phone.session_id, "phoneNumber": phone.number,
                                          "status": status})
    output = app.test_cli_runner().invoke(args=["ussd", "funnel"]).output
    assert output.splitlines()[1] == 'Most callers drop at "Report: kind of case": 2 of 4 (50.0%).'
    assert cells(output) == [
        ["Main menu", "1", "0", "1", "25.0%"],
        ["Report: kind of case", "2", "0", "2", "50.0%"],
        ["Report sent (urgent)", "1", "1", "0", "0.0%"],
    ]
