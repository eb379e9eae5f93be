"""Delivery reports: the webhook checks and buffers them in Redis, a worker applies them in batches.

AT posts one report per status change of one SMS, read into a `DeliveryReport` by the adapter
(`hotline.africastalking.sms_forms`). They arrive out of order and sometimes twice. So:

- the webhook does one RPUSH of a compact line (no number in it: only its delivery key,
  `privacy.delivery_key`, which is not the reporter key and is stored next to no number), and
  queues the applying job when the buffer was empty; with Redis down it applies the report itself;
- the applying job goes on the `campaigns` queue, behind any campaign slice already waiting: both
  are bulk work that queues itself again slice after slice, and one first-in-first-out queue makes
  them take turns, one applying job waiting at a time (`APPLY_QUEUED`). On `default`, which a
  worker serves first, and with a job each time the buffer filled again, a sending campaign's own
  reports kept its next slice waiting until they stopped;
- `take` moves a batch from the buffer to a per-batch "applying" list in one Lua call, and `done`
  drops that list once the database has the batch: a worker that dies in between leaves the list,
  which `stale` hands to the next worker (applying twice changes nothing);
- `apply` folds a batch to one report per message id, updates campaign recipients and service SMS
  (status, failure reason, network and AT's retry count, for both alike) with one set-based UPDATE
  per table (`hotline.bulk`) that never overwrites a final state, and keeps reports for unknown ids
  in `unmatched_delivery_report` for reconciliation.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC

import redis
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hotline.africastalking.sms_forms import DeliveryReport
from hotline.africastalking.statuses import FINAL
from hotline.contacts import service as contacts
from hotline.core import bulk
from hotline.core.models import CampaignRecipient, OutboundSms, UnmatchedDeliveryReport
from hotline.core.privacy import delivery_key, normalise_phone
from hotline.core.queues import enqueue

log = logging.getLogger(__name__)

BUFFER = "sms:delivery:buffer"
APPLYING = "sms:delivery:applying"  # sorted set: applying-list key -> when it was taken
APPLY_JOB = "workers.delivery.apply_delivery_reports"
APPLY_JOB_ID = "apply-delivery-reports"
APPLY_QUEUE = "campaigns"  # turn about with campaign slices (see above)
# Set while an applying job waits in its queue, so that one waits at a time; a flag whose job was
# lost (Redis flushed, say) expires, and the sweeper queues the job again.
APPLY_QUEUED = "sms:delivery:apply-queued"
APPLY_QUEUED_SECONDS = 60

_TAKE = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return items end
redis.call('LTRIM', KEYS[1], #items, -1)
for i = 1, #items, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 999, #items)))
end
redis.call('ZADD', KEYS[3], ARGV[2], KEYS[2])
return items
"""


def encode(report: DeliveryReport) -> str:
    """One tab-separated line for the buffer."""
    fields = (report.message_id, report.status, report.failure_reason, report.network_code, report.phone_key)
    retries = "" if report.retry_count is None else str(report.retry_count)
    return "\t".join(value or "" for value in fields) + f"\t{report.received_at:.3f}\t{retries}"


def decode(line: bytes | str) -> DeliveryReport:
    """The report `encode` wrote (also a line buffered before the retry count was kept)."""
    text = line.decode() if isinstance(line, bytes) else line
    message_id, status, reason, network, key, received, *rest = text.split("\t")
    retries = int(rest[0]) if rest and rest[0] else None
    return DeliveryReport(
        message_id, status, reason or None, network or None, key or None, float(received), retries
    )


def phone_key(phone: str, phone_hash_key: str) -> str:
    """The key a delivery report keeps for its number (`privacy.delivery_key`: never the reporter key on
    tips); a sender matches its reports with the same call."""
    return delivery_key(normalise_phone(phone), phone_hash_key)


def buffer(client: redis.Redis, queues, report: DeliveryReport) -> None:
    """Buffer one report; queue the applying job when the buffer was empty. RedisError: not buffered."""
    if client.rpush(BUFFER, encode(report)) == 1:
        queue_apply(queues)


def queue_apply(queues) -> bool:
    """Queue the job that applies buffered reports, unless one is waiting already (it will take these
    too), taking turns with campaign slices; False when Redis refused (the sweeper retries)."""
    client = queues[APPLY_QUEUE].connection
    try:
        if not client.set(APPLY_QUEUED, "1", nx=True, ex=APPLY_QUEUED_SECONDS):
            return True
        enqueue(queues, APPLY_QUEUE, APPLY_JOB, retry=None)
        return True
    except redis.RedisError as exc:
        log.warning("delivery reports: applying job not queued (%s)", type(exc).__name__)
        return False


def applying_started(client: redis.Redis) -> None:
    """The applying job has started: reports buffered from now on queue the next one."""
    client.delete(APPLY_QUEUED)


def take(client: redis.Redis, count: int) -> tuple[str, list[DeliveryReport]]:
    """Move up to `count` buffered reports to an applying list; returns its key and the reports."""
    key = f"{APPLYING}:{uuid.uuid4().hex}"
    lines = client.eval(_TAKE, 3, BUFFER, key, APPLYING, count, time.time())
    return key, [decode(line) for line in lines]


def done(client: redis.Redis, key: str) -> None:
    """The reports of applying list `key` are in the database: forget them."""
    pipe = client.pipeline()
    pipe.delete(key)
    pipe.zrem(APPLYING, key)
    pipe.execute()


def stale(client: redis.Redis, older_than: float) -> list[tuple[str, list[DeliveryReport]]]:
    """Applying lists a worker took more than `older_than` s ago and never finished (it died)."""
    keys = client.zrangebyscore(APPLYING, "-inf", time.time() - older_than)
    found = []
    for key in keys:
        key = key.decode() if isinstance(key, bytes) else key
        found.append((key, [decode(line) for line in client.lrange(key, 0, -1)]))
    return found


def pending(client: redis.Redis) -> int:
    """How many reports wait in the buffer."""
    return client.llen(BUFFER)


@dataclass
class Applied:
    """What applying a batch did."""

    campaign: int = 0
    service: int = 0
    unmatched: int = 0
    ignored: int = 0  # duplicates, late reports after a final one, older copies in the batch
    blacklisted_contacts: list[int] = field(default_factory=list)


def fold(reports: list[DeliveryReport]) -> dict[str, DeliveryReport]:
    """One report per message id: the first final one, else the latest."""
    standing: dict[str, DeliveryReport] = {}
    for report in reports:
        before = standing.get(report.message_id)
        newer = report.final or report.received_at >= (before.received_at if before else 0)
        if before is None or (not before.final and newer):
            standing[report.message_id] = report
    return standing


def apply(session: Session, reports: list[DeliveryReport]) -> Applied:
    """Apply a batch of reports to the database (idempotent; a final state is never undone)."""
    standing = fold(reports)
    result = Applied(ignored=len(reports) - len(standing))
    if not standing:
        return result
    changes, final, result.blacklisted_contacts = _campaign_changes(session, standing)
    bulk.update_rows(session, _recipients, changes, guard=_NOT_FINAL.format(table=_recipients.name))
    result.campaign, result.ignored = len(changes), result.ignored + final
    if result.blacklisted_contacts:
        contacts.opt_out_ids(session, result.blacklisted_contacts, source="blacklist")
    if standing:
        changes, final = _service_changes(session, standing)
        bulk.update_rows(session, _service_sms, changes, guard=_NOT_FINAL.format(table=_service_sms.name))
        result.service, result.ignored = len(changes), result.ignored + final
    if standing:
        keep_unmatched(session, list(standing.values()))
        result.unmatched = len(standing)
    return result


def _settled(report: DeliveryReport) -> dict:
    return {
        "delivery_status": report.status,
        "failure_reason": (report.failure_reason or report.status) if report.failed else None,
        "delivered_at": report.received if report.delivered else None,
        "network_code": report.network_code,
        "retry_count": report.retry_count,
    }


# Rows already final are left alone: a late or duplicate report never undoes a final state.
_NOT_FINAL = "({table}.delivery_status IS NULL OR {table}.delivery_status NOT IN ({final}))".replace(
    "{final}", ", ".join(f"'{status}'" for status in sorted(FINAL))
)
_recipients, _service_sms = CampaignRecipient.__table__, OutboundSms.__table__


def _campaign_changes(session, standing: dict[str, DeliveryReport]):
    rows = session.execute(
        select(
            CampaignRecipient.id,
            CampaignRecipient.at_message_id,
            CampaignRecipient.delivery_status,
            CampaignRecipient.contact_id,
        ).where(bulk.one_of(session, CampaignRecipient.at_message_id, list(standing)))
    ).all()
    changes, final, blacklisted = [], 0, []
    for row_id, message_id, status, contact_id in rows:
        report = standing.pop(message_id)
        if status in FINAL:
            final += 1
            continue
        changes.append({"id": row_id, **_settled(report)})
        if report.blacklisted:
            blacklisted.append(contact_id)
    return changes, final, blacklisted


def _service_changes(session, standing: dict[str, DeliveryReport]):
    rows = session.execute(
        select(OutboundSms.id, OutboundSms.at_message_id, OutboundSms.delivery_status).where(
            bulk.one_of(session, OutboundSms.at_message_id, list(standing))
        )
    ).all()
    changes, final = [], 0
    for row_id, message_id, status in rows:
        report = standing.pop(message_id)
        if status in FINAL:
            final += 1
            continue
        changes.append({"id": row_id, **_settled(report)})
    return changes, final


def keep_unmatched(session: Session, reports: list[DeliveryReport]) -> None:
    """Keep reports for ids no SMS has (yet); the same (id, status) twice is kept once."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    values = [
        {
            "message_id": r.message_id,
            "status": r.status,
            "failure_reason": r.failure_reason,
            "network_code": r.network_code,
            "phone_key": r.phone_key,
            "received_at": r.received,
            "retry_count": r.retry_count,
        }
        for r in reports
    ]
    session.execute(dialect.insert(UnmatchedDeliveryReport).values(values).on_conflict_do_nothing())


def claim_unmatched(session: Session, message_ids: list[str]) -> Applied:
    """Apply the kept reports of ids that just became known (a send recorded after its report)."""
    if not message_ids:
        return Applied()
    rows = session.scalars(
        select(UnmatchedDeliveryReport).where(
            bulk.one_of(session, UnmatchedDeliveryReport.message_id, message_ids)
        )
    ).all()
    if not rows:
        return Applied()
    reports = [as_report(row) for row in rows]
    kept_ids = [row.id for row in rows]
    session.execute(delete(UnmatchedDeliveryReport).where(UnmatchedDeliveryReport.id.in_(kept_ids)))
    return apply(session, reports)


def as_report(row: UnmatchedDeliveryReport) -> DeliveryReport:
    """A kept report as a DeliveryReport again."""
    received = row.received_at if row.received_at.tzinfo else row.received_at.replace(tzinfo=UTC)
    return DeliveryReport(
        row.message_id,
        row.status,
        row.failure_reason,
        row.network_code,
        row.phone_key,
        received.timestamp(),
        row.retry_count,
    )
