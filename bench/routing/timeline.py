"""Where each tip's time went, from the timestamps the stack keeps anyway (all on this machine's
wall clock, with microseconds):

- the simulator's `received_at` of each SMS (`GET /api/messages`): when AT "accepted" it;
- RQ's `enqueued_at`, `started_at` and `ended_at` of each `route-tip-<id>` job (kept in Redis
  for 500 s after the job ends);
- the tip's row: its id, for the job's name.

With the driver's `END` times these split a tip's latency into the wait in the queue (END → the
worker starts the job) and the job itself (start → the SMS reaches AT), and tell how many routing
jobs one worker gets through per second when the queue is never empty.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime

import redis

# The first line of a focal point's SMS: `[URGENT ]Hotline report 123-456-789`.
NAMED = re.compile(r"Hotline report (\d{3}(?:-\d{3}){2,3})")


def epoch(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 time (`Z`, an offset, or naive meaning UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (0.0 for no values)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(max(1, math.ceil(p / 100 * len(ordered))), len(ordered)) - 1]


def spread(values: list[float]) -> dict:
    """p50, p95 and max of durations in seconds, as milliseconds."""
    return {name: round(percentile(values, p) * 1000, 1) for name, p in (("p50_ms", 50), ("p95_ms", 95),
                                                                          ("max_ms", 100))}


def collect_sms(stack, phone: str, references: set[str], deadline: float,
                every: float = 0.2) -> dict[str, list[dict]]:
    """Poll the simulator until an SMS to `phone` names every reference, or `deadline` (monotonic).

    Returns each reference's SMS, oldest first (more than one is a duplicate send). Only the
    poll's end depends on how often it polls: the times are the simulator's own.
    """
    found: dict[str, list[dict]] = {}
    last_id = None
    while True:
        for message in stack.messages(phone=phone, since=last_id):
            last_id = message["id"]
            named = NAMED.search(message["message"])
            if named and named.group(1) in references:
                found.setdefault(named.group(1), []).append(message)
        if references <= found.keys() or time.monotonic() >= deadline:
            return found
        time.sleep(every)


def tip_ids(stack, references: list[str]) -> dict[str, int]:
    """The database id of each tip, by its reference as shown (123-456-789-012)."""
    rows = stack.query("SELECT reference, id FROM tip")
    wanted = {reference.replace("-", ""): reference for reference in references}
    return {wanted[stored]: tip_id for stored, tip_id in rows if stored in wanted}


def routing_jobs(redis_url: str, ids: list[int]) -> dict[int, tuple[float, float, float]]:
    """RQ's enqueued, started and ended times of each tip's routing job (those Redis still has)."""
    client = redis.Redis.from_url(redis_url)
    pipe = client.pipeline(transaction=False)
    for tip_id in ids:
        pipe.hmget(f"rq:job:route-tip-{tip_id}", "enqueued_at", "started_at", "ended_at")
    times = {}
    for tip_id, fields in zip(ids, pipe.execute(), strict=True):
        if all(fields):
            times[tip_id] = tuple(epoch(value.decode()) for value in fields)
    client.close()
    return times


def worker_pace(jobs: list[tuple[float, float, float]]) -> dict:
    """How fast the one worker went: job durations, the gaps between back-to-back jobs, jobs/s.

    A gap counts only when the next job was already waiting as the previous ended, so it is RQ's
    own cost between jobs (bookkeeping, the next dequeue), not idle time.
    """
    ordered = sorted(jobs, key=lambda job: job[1])
    durations = [ended - started for _enqueued, started, ended in ordered]
    gaps = [following[1] - previous[2] for previous, following in zip(ordered, ordered[1:], strict=False)
            if following[0] <= previous[2]]
    per_job = _mean(durations) + _mean(gaps)
    return {
        "jobs": len(ordered),
        "job_ms": spread(durations),
        "gap_ms": spread(gaps),
        "back_to_back": len(gaps),
        "jobs_per_s_when_busy": round(1 / per_job, 1) if per_job else None,
    }


def _mean(values: list[float]) -> float:
    """The mean, 0.0 for no values."""
    return sum(values) / len(values) if values else 0.0
