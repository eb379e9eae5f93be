"""Delivery reports for the benchmark: AT's form posts for the webhook phase, and the buffered mix
(with its recipients in PostgreSQL) for the applying phase.

The webhook load reuses the USSD benchmark's raw-socket `Call` and `Tally` (`bench/ussd`): a closed
loop of `concurrency` clients, each posting its next report as soon as the previous reply arrives.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "ussd"))  # the USSD benchmark's driver

from driver import TIMEOUT, Call, Target  # noqa: E402
from tally import Tally  # noqa: E402

NETWORK_CODE = "63902"
# AT's failure reasons (hotline/africastalking/statuses.py); UserInBlackList also opts the contact out.
REASONS = ("InsufficientCredit", "UserIsInactive", "UserInBlackList", "UserAccountSuspended",
           "NotNetworkSubcriber", "UserDoesNotExist", "DeliveryFailure", "DoNotDisturbRejection",
           "InvalidLinkId", "UserNotSubscribedToProduct")
INTERMEDIATE = ("Sent", "Buffered")


def form(message_id: str, phone: str, status: str, reason: str | None = None) -> bytes:
    """One report as AT posts it, form-encoded."""
    fields = {"id": message_id, "status": status, "phoneNumber": phone, "networkCode": NETWORK_CODE}
    if reason:
        fields["failureReason"] = reason
    fields["retryCount"] = "0"
    return urlencode(fields).encode()


class Posts:
    """Request bytes of a stream of realistic reports, numbered from 1 (both targets get the same)."""

    def __init__(self, target: Target, path: str, seed: int = 1):
        self.number = 0
        self.rng = random.Random(seed)
        self.head = (f"POST {path} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n").encode()

    def next(self) -> bytes:
        """The next report's request."""
        self.number += 1
        draw = self.rng.random()
        status = "Success" if draw < 0.7 else "Failed" if draw < 0.8 else INTERMEDIATE[draw < 0.9]
        reason = self.rng.choice(REASONS) if status == "Failed" else None
        body = form(f"ATXid_{self.number:032x}", f"+2547{self.number % 10**8:08d}", status, reason)
        return self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body


async def closed_loop(target: Target, posts: Posts, concurrency: int, warmup: float,
                      duration: float) -> tuple[Tally, int]:
    """Keep `concurrency` posts in flight; the window's tally and every 200 answered (warm-up too)."""
    loop = asyncio.get_running_loop()
    start = time.perf_counter() + warmup
    end = start + duration
    tally = Tally(window=duration)
    finished = loop.create_future()
    state = {"running": concurrency, "ok": 0}

    def done(call: Call, failure: str | None) -> None:
        status, body = call.reply()
        failure = failure or (None if status == b"200" else f"status {status.decode(errors='replace')}: "
                              f"{body[:80]!r}")
        if failure is None:
            state["ok"] += 1
        if start <= call.finished < end:
            if failure:
                tally.error(failure)
            else:
                tally.latencies.append(call.finished - call.started)
        elif failure and call.started >= start:
            tally.error(failure)
        post()

    def post() -> None:
        if time.perf_counter() >= end:
            state["running"] -= 1
            if state["running"] == 0 and not finished.done():
                finished.set_result(None)
            return
        Call(loop, target, posts.next(), done).start()

    for _ in range(concurrency):
        post()
    await asyncio.wait_for(finished, warmup + duration + TIMEOUT + 5)
    return tally, state["ok"]


@dataclass
class Mix:
    """The applying phase's reports, in arrival order, and what each recipient must end with."""

    lines: list[str] = field(default_factory=list)  # delivery_reports.encode() lines
    final: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (status, reason)
    unknown: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)


def make_mix(message_ids: list[str], seed: int, unknown_share: float = 0.005) -> Mix:
    """Reports for `message_ids`: one final each (88% Success, 10% Failed with a reason, 1% Rejected,
    1% Expired), an intermediate first for 20%, a late one after the final for 3%, the final twice
    for 5%; plus reports for unknown ids. Sorted by when AT would post them."""
    from hotline.messaging.delivery_reports import DeliveryReport, encode  # run from the repository root

    rng = random.Random(seed)
    mix = Mix()
    events: list[tuple[float, DeliveryReport]] = []
    now = time.time()
    spread = len(message_ids) / 2000  # seconds of sending: 2,000 SMS a second
    unknown = [f"ATXid_unknown{n:019x}" for n in range(int(len(message_ids) * unknown_share))]
    for message_id in message_ids + unknown:
        sent = now - spread + rng.random() * spread
        draw = rng.random()
        if draw < 0.88:
            status, reason = "Success", None
        elif draw < 0.98:
            status, reason = "Failed", rng.choice(REASONS)
        else:
            status, reason = ("Rejected", rng.choice(REASONS)) if draw < 0.99 else ("Expired", None)
        final = DeliveryReport(message_id, status, reason, NETWORK_CODE, None, sent + 1 + rng.random())
        events.append((final.received_at, final))
        kinds = ["final"]
        if rng.random() < 0.2:
            step = DeliveryReport(message_id, rng.choice(INTERMEDIATE), None, NETWORK_CODE, None, sent)
            events.append((sent + rng.random() * 0.9, step))
            kinds.append("intermediate")
        if rng.random() < 0.03:
            late = final.received_at + 0.5 + rng.random()
            events.append((late, DeliveryReport(message_id, rng.choice(INTERMEDIATE), None, NETWORK_CODE,
                                                None, late)))
            kinds.append("late")
        if rng.random() < 0.05:
            again = final.received_at + rng.random() * 5
            events.append((again, DeliveryReport(message_id, status, reason, NETWORK_CODE, None, again)))
            kinds.append("duplicate")
        for kind in kinds:
            mix.counts[kind] = mix.counts.get(kind, 0) + 1
        if message_id.startswith("ATXid_unknown"):
            mix.unknown.add(message_id)
        else:
            mix.final[message_id] = (status, reason or (status if status != "Success" else None))
    events.sort(key=lambda event: event[0])
    mix.lines = [encode(report) for _, report in events]
    mix.counts["unknown_ids"] = len(unknown)
    mix.counts["reports"] = len(mix.lines)
    return mix


SEED_CONTACTS = """
INSERT INTO contact (phone, engagement_key, language, consent_source, consented_at, salt,
                     created_at, updated_at)
SELECT '+2547' || lpad(g::text, 8, '0'), md5(g::text), 'sw', 'bench', now(), g, now(), now()
FROM generate_series(1, :count) AS g
"""
SEED_RECIPIENTS = """
INSERT INTO campaign_recipient (campaign_id, contact_id, held_out, language, state, attempts, at_message_id,
                                at_status_code, sent_at)
SELECT :campaign, c.id, false, 'sw', 'sent', 1, 'ATXid_bench' || lpad(c.id::text, 21, '0'), 101, now()
FROM contact AS c WHERE c.consent_source = 'bench'
"""


def seed_recipients(session, count: int) -> list[str]:
    """A sending campaign with `count` contacts and recipients that AT accepted; their message ids."""
    from sqlalchemy import select, text

    from hotline.core.models import Campaign, CampaignRecipient

    campaign = Campaign(name="bench delivery reports", state="sending", seed=1)
    session.add(campaign)
    session.flush()
    session.execute(text(SEED_CONTACTS), {"count": count})
    session.execute(text(SEED_RECIPIENTS), {"campaign": campaign.id})
    return list(session.scalars(select(CampaignRecipient.at_message_id)
                                .where(CampaignRecipient.campaign_id == campaign.id)
                                .order_by(CampaignRecipient.id)))


def check_applied(session, mix: Mix) -> list[str]:
    """What the database got wrong against the mix (an empty list: every report applied once)."""
    from sqlalchemy import select

    from hotline.core.models import CampaignRecipient, UnmatchedDeliveryReport

    problems = []
    rows = session.execute(select(CampaignRecipient.at_message_id, CampaignRecipient.delivery_status,
                                  CampaignRecipient.failure_reason)).all()
    wrong = [(mid, (status, reason), mix.final.get(mid)) for mid, status, reason in rows
             if mix.final.get(mid) != (status, reason)]
    if wrong:
        problems.append(f"{len(wrong)} of {len(rows)} recipients without their final status, e.g. "
                        + "; ".join(f"{mid}: got {got}, want {want}" for mid, got, want in wrong[:3]))
    kept = set(session.scalars(select(UnmatchedDeliveryReport.message_id)))
    if kept != mix.unknown:
        problems.append(f"unmatched reports: {len(kept)} ids kept, {len(mix.unknown)} unknown ids sent, "
                        f"{len(kept - mix.unknown)} of them known")
    return problems
