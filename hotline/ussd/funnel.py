"""The USSD drop-off funnel, for the CTiP secretariat: where callers give up, screen by screen, in words.

Read from AT's end-of-session notifications (`UssdSessionEnd`): a session AT ended with status
Success ended on a closing (END) screen the service showed, a finished journey; any other status
(Incomplete, TimedOut, Failed...) is a caller who hung up or timed out, or a network that failed, at
the last screen the service showed them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, select

from flows.texts import date_words
from hotline.africastalking.statuses import SESSION_SUCCESS
from hotline.core.models import UssdSessionEnd
from hotline.core.time import kenya_midnight

DEFAULT_DAYS = 30  # `flask ussd funnel` with no dates: the last 30 days up to today

# Every screen of the flow (`flows.menu.hotline_flow`) as the secretariat would call it; a test
# fails when a screen has none. Names of screens since removed may stay: the funnel keeps 90 days.
SCREEN_NAMES = {
    "main": "Main menu",
    "resume": "Resume an unfinished report?",
    "tip_kind": "Report: kind of case",
    "tip_county": "Report: county",
    "tip_place": "Report: where exactly",
    "tip_story": "Report: what happened",
    "tip_danger": "Report: someone in danger?",
    "tip_children": "Report: children involved?",
    "tip_callback": "Report: may we call back?",
    "tip_confirm": "Report: confirm and send",
    "tip_sent": "Report sent",
    "tip_sent_urgent": "Report sent (urgent)",
    "tip_cancelled": "Report cancelled",
    "followup_ref": "Follow-up: reference",
    "followup_status": "Follow-up: status",
    "followup_news_one": "Follow-up: status, 1 new message",
    "followup_news_many": "Follow-up: status, new messages",
    "followup_message": "Follow-up: message from the county team",
    "followup_message_last": "Follow-up: last new message",
    "followup_no_message": "Follow-up: no new message",
    "followup_answer": "Follow-up: answer the county team",
    "followup_answered": "Follow-up: answer sent",
    "followup_add": "Follow-up: add information",
    "followup_added": "Follow-up: information added",
    "followup_held": "Follow-up: information received (not the reporter)",
    "agency_query": "Agency check: name or licence",
    "agency_found": "Agency check: verdict",
    "agency_pick": "Agency check: pick one",
    "agency_verdict": "Agency check: verdict (picked from a list)",
    "agency_signs": "Agency check: warning signs",
    "agency_report": "Report about an agency: where exactly",
    "agency_county": "Report about an agency: county",
    "help": "Help lines",
    "safety_sms_off": "Safety SMS: offer to join",
    "safety_county": "Safety SMS: county",
    "safety_joined": "Safety SMS: joined",
    "safety_sms_on": "Safety SMS: offer to stop",
    "safety_left": "Safety SMS: stopped",
    "language": "Choose language",
}
# Screens that give the caller what they asked for (a verdict, the help lines, a report's status or
# messages): one who hangs up there has not given up, so the line naming the worst screen skips them.
ANSWERS = frozenset({
    "agency_found", "agency_verdict", "agency_signs", "help", "followup_status", "followup_news_one",
    "followup_news_many", "followup_message", "followup_message_last", "followup_no_message", "safety_sms_on",
})
NOT_KNOWN = "(screen not known)"  # no screen recorded: the session's state was not found at its end


def screen_name(screen: str | None) -> str:
    """A screen id as the funnel names it; an id with no name (a screen since removed) in brackets."""
    if screen is None:
        return NOT_KNOWN
    return SCREEN_NAMES.get(screen, f"(old screen {screen})")


def day_text(day: date) -> str:
    """`28 Nov 2026`: a date as the secretariat reads it."""
    return date_words("en", day)


def date_range(since: date | None, until: date | None, days: int | None, today: date) -> tuple[date, date]:
    """The first and last day to count, both included: `since` to `until` (`until` defaults to today,
    `since` to DEFAULT_DAYS days before `until`), or the `days` days up to today."""
    if since or until:
        last_day = until or today
        return since or last_day - timedelta(days=DEFAULT_DAYS - 1), last_day
    return today - timedelta(days=(days or DEFAULT_DAYS) - 1), today


@dataclass(frozen=True)
class Row:
    """The sessions that ended on one screen (or a total), of which `finished` with status Success."""

    name: str
    sessions: int
    finished: int
    answer: bool = False  # an ANSWERS screen

    @property
    def dropped(self) -> int:
        """Sessions that ended here with any status but Success."""
        return self.sessions - self.finished


@dataclass(frozen=True)
class Funnel:
    """Where the sessions that ended from `first_day` to `last_day` (Nairobi days, both included) ended."""

    first_day: date
    last_day: date
    rows: tuple[Row, ...]

    @property
    def total(self) -> Row:
        """Every session in the range."""
        return Row("Total", sum(r.sessions for r in self.rows), sum(r.finished for r in self.rows))

    def share_dropped(self, row: Row) -> float:
        """The sessions dropped at `row`, in percent of every session in the range."""
        return 100 * row.dropped / self.total.sessions if self.total.sessions else 0.0

    def most_dropped(self) -> list[Row]:
        """The screen(s) where most callers dropped (several on a tie), answers left out; none when
        nobody dropped but on answers."""
        asking = [r for r in self.rows if not r.answer]
        most = max((r.dropped for r in asking), default=0)
        return [r for r in asking if most and r.dropped == most]


def ended_by_screen(session, flow, first_day: date, last_day: date) -> Funnel:
    """Count the sessions that ended from `first_day` to `last_day` (Nairobi), by last screen.

    Counted in SQL over the `received_at` index. Rows follow the order of `flow`'s screens (the
    main menu, then the report journey step by step, then follow-up, agency check, help, safety SMS,
    language), not the largest drop first: the secretariat reads a journey top to bottom and sees
    where it thins out, and `most_dropped` names the worst screen anyway. Screens no session ended
    on are left out; screens no longer in the flow come after, and "(screen not known)" last.
    """
    finished = func.sum(case((UssdSessionEnd.status == SESSION_SUCCESS, 1), else_=0))
    counted = session.execute(
        select(UssdSessionEnd.last_screen, func.count(), finished)
        .where(
            UssdSessionEnd.received_at >= kenya_midnight(first_day),
            UssdSessionEnd.received_at < kenya_midnight(last_day + timedelta(days=1)),
        )
        .group_by(UssdSessionEnd.last_screen)
    ).all()
    by_screen = {screen: (sessions, int(done or 0)) for screen, sessions, done in counted}
    order = list(flow.screens)
    order += sorted(s for s in by_screen if s is not None and s not in flow.screens)
    order.append(None)
    rows = tuple(Row(screen_name(s), *by_screen[s], answer=s in ANSWERS) for s in order if s in by_screen)
    return Funnel(first_day, last_day, rows)


def report(found: Funnel) -> list[str]:
    """The funnel as lines of text: the date range and count, the worst screen, the table, a legend."""
    span = f"from {day_text(found.first_day)} to {day_text(found.last_day)}"
    total = found.total
    if not total.sessions:
        return [f"No USSD sessions ended {span} (Nairobi time)."]
    lines = [f"USSD sessions that ended {span} (Nairobi time): {total.sessions:,}", _worst(found), ""]
    width = max(len(_name(r)) for r in (*found.rows, total))
    columns = ("ended there", "finished", "dropped", "share dropped")

    def line(name: str, *numbers: str) -> str:
        cells = (number.rjust(len(column)) for number, column in zip(numbers, columns, strict=True))
        return "  ".join([name.ljust(width), *cells])

    def row_line(row: Row) -> str:
        share = f"{found.share_dropped(row):.1f}%"
        return line(_name(row), f"{row.sessions:,}", f"{row.finished:,}", f"{row.dropped:,}", share)

    lines += [line("screen", *columns), *(row_line(row) for row in found.rows)]
    lines += [line("-" * width, *("-" * len(c) for c in columns)), row_line(total), ""]
    lines += [
        "finished: the service ended the session on a closing screen (AT status Success)",
        "dropped: the caller hung up or timed out, or the network failed (any other status)",
        "share dropped: of all sessions in the range",
    ]
    if any(row.answer for row in found.rows):
        lines += [
            "*: the screen answers the caller (a verdict, the help lines, a report's status): one who",
            "   hangs up there may have what they came for, so the line at the top leaves it out",
        ]
    return lines


def _name(row: Row) -> str:
    return f"{row.name} *" if row.answer else row.name


def _worst(found: Funnel) -> str:
    worst = found.most_dropped()
    if not worst and any(row.dropped for row in found.rows):
        return "No caller dropped before an answer (screens marked *)."
    if not worst:
        return "No caller dropped: every session ended on a closing screen."
    quoted = [f'"{r.name}"' for r in worst]
    names = " and ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
    each = " at each" if len(worst) > 1 else ""
    return (
        f"Most callers drop at {names}: {worst[0].dropped:,} of {found.total.sessions:,}{each} "
        f"({found.share_dropped(worst[0]):.1f}%)."
    )
