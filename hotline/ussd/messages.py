"""The follow-up's messages from the case team (menu 3): read them one by one, answer one.

Only the tip's reporter (the caller's reporter key is the tip's) reads or answers; `find_report`
shows the news to nobody else, and each action checks again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flows.engine import State
from hotline.core.models import Tip, utcnow
from hotline.messaging import outbound
from hotline.tips import conversation, followup

if TYPE_CHECKING:
    from hotline.ussd.service import UssdContext


def read_message(state: State, ctx: UssdContext) -> str | None:
    """Show the oldest unread message and mark it read; the last one has no "next" option."""
    with ctx.ext.session_scope() as session:
        tip = _own_tip(session, state, ctx)
        waiting = conversation.unread(session, tip) if tip else []
        if not waiting:
            return "followup_no_message"
        conversation.mark_read(session, waiting[0], utcnow())
        state.params["message"] = waiting[0].text
    return "followup_message_last" if len(waiting) == 1 else None


def send_answer(state: State, ctx: UssdContext) -> None:
    """Keep the reporter's answer (once per USSD session) and tell the case team it came."""
    with ctx.ext.session_scope() as session:
        tip = _own_tip(session, state, ctx)
        if tip is None:
            return
        ids = conversation.add_reply(
            session,
            ctx.ext.config,
            tip,
            ctx.reporter_key,
            state.answers.get("answer", ""),
            f"ussd:{ctx.request.session_id}",
            utcnow(),
        )
    outbound.queue_send(ctx.ext.ussd_queues, ids)


def _own_tip(session, state: State, ctx: UssdContext) -> Tip | None:
    """The tip being followed up, if the caller reported it; None for anyone else."""
    tip = followup.find(session, state.params.get("reference", ""))
    return tip if tip is not None and tip.reporter_key == ctx.reporter_key else None
