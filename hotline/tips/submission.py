"""Use cases of tips, shared by the webhooks and the jobs: submit a tip, queue it for routing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from flows.menu import TIP_KINDS
from hotline.core import engagement
from hotline.core.counties import by_code
from hotline.core.models import Tip, utcnow
from hotline.core.prepared_jobs import PreparedJob
from hotline.tips import reference

log = logging.getLogger(__name__)

# A transaction: `engine.begin` (a Connection, lightest: the USSD path) or a session scope.
Scope = Callable[[], AbstractContextManager[Connection | Session]]
ANSWERS = ("yes", "no", "unsure")


@dataclass(frozen=True)
class NewTip:
    """What a reporter told us, already free of their phone number."""

    channel: str
    source_id: str
    kind: str
    reporter_key: str
    language: str = "en"
    county_code: int | None = None
    place: str | None = None
    description: str | None = None
    danger: str = "unsure"
    children: str = "unsure"
    callback_contact: str | None = None  # Fernet token, only with consent
    agency_id: int | None = None  # a report about a recruitment agency

    def __post_init__(self):
        if self.kind not in TIP_KINDS:
            raise ValueError(f"unknown tip kind {self.kind!r}")
        if self.county_code is not None and self.county_code not in by_code():
            raise ValueError(f"unknown county code {self.county_code!r}")
        if self.danger not in ANSWERS or self.children not in ANSWERS:
            raise ValueError("danger and children are yes, no or unsure")

    def columns(self) -> dict:
        """The tip table's columns for this tip, but its reference."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        urgent = self.danger == "yes"
        # The inbox puts urgent and child cases first (Tip.priority 0).
        return {**fields, "urgent": urgent, "priority": 0 if urgent or self.children == "yes" else 1}


# One compiled Core statement, parameters passed at execution: this runs before the USSD `END`
# screen, and building an ORM insert with literal values each time costs more than the insert.
_INSERT_TIP = insert(Tip.__table__).returning(Tip.__table__.c.id)


@dataclass(frozen=True)
class Submitted:
    """A committed tip, as its submitter needs it."""

    id: int
    reference: str
    routing_started_at: datetime | None


def submit_tip(scope: Scope, new: NewTip, engagement_key: str | None = None) -> Submitted:
    """Commit the tip (once per source: a repeated submission returns the first one).

    With `engagement_key` (the reporter's, see `hotline.engagement`) the day's tip is counted for
    campaign effect in the same transaction, and the tip keeps the key sealed (`Tip.safety_seal`,
    equal to nothing else stored) so that campaigns leave the reporter out while it matters.
    """
    for _attempt in range(3):
        code = reference.new_reference()
        try:
            # Insert first: the unique source_id makes a repeat fail, and then we return the first.
            with scope() as connection:
                seal = engagement.seal(connection, engagement_key) if engagement_key is not None else None
                values = {**new.columns(), "reference": code, "safety_seal": seal}
                tip_id = connection.execute(_INSERT_TIP, values).scalar_one()
                if engagement_key is not None:
                    engagement.record(connection, engagement_key, "tip")
            return Submitted(tip_id, code, None)
        except IntegrityError:
            # Either the same submission raced us (return theirs) or a reference collided (retry).
            with scope() as connection:
                existing = find_by_source(connection, new.source_id)
            if existing:
                return existing
    raise RuntimeError("could not allocate a unique reference")


def find_by_source(connection: Connection | Session, source_id: str) -> Submitted | None:
    """The tip created by a USSD session or inbound SMS, if any."""
    row = connection.execute(
        select(Tip.id, Tip.reference, Tip.routing_started_at).where(Tip.source_id == source_id)
    ).first()
    return Submitted(*row) if row else None


def routing_job_id(tip_id: int) -> str:
    """The RQ job id of a tip's routing: one per tip, so queueing it again is harmless."""
    return f"route-tip-{tip_id}"


def queue_routing(queues, tip_id: int, scope: Scope | None = None) -> bool:
    """Put the routing job on the tips queue; False when Redis is down (the sweeper retries).

    The web path passes its `scope`: a failure is then recorded on the tip, so the next sweep (a
    worker starting as soon as Redis is back) queues it at once rather than when it is old enough.
    """
    try:
        # One Redis call with RQ's own job hash (see hotline.prepared_jobs): this runs before the
        # USSD `END` screen.
        _routing_job(queues).enqueue(tip_id, job_id=routing_job_id(tip_id))
    except redis.RedisError as exc:
        log.warning("tip %s not queued yet (%s); the sweeper will queue it", tip_id, type(exc).__name__)
        if scope is not None:
            try:
                with scope() as connection:
                    connection.execute(
                        update(Tip).where(Tip.id == tip_id).values(routing_queue_failed_at=utcnow())
                    )
            except SQLAlchemyError as db_exc:  # the tip is saved: the age-guarded sweep still finds it
                log.warning("tip %s: queueing failure not recorded (%s)", tip_id, type(db_exc).__name__)
        return False
    return True


# The routing job of each set of queues (the web path's and the ordinary client's), by identity:
# the entry keeps its queues alive, so an id is not reused while it is here.
_ROUTING_JOBS: dict[int, tuple[dict, PreparedJob]] = {}


def _routing_job(queues: dict) -> PreparedJob:
    entry = _ROUTING_JOBS.get(id(queues))
    if entry is None or entry[0] is not queues:
        if len(_ROUTING_JOBS) >= 16:  # apps built and dropped (tests): forget the old ones
            _ROUTING_JOBS.clear()
        entry = _ROUTING_JOBS[id(queues)] = (queues, PreparedJob(queues, "tips", "workers.routing.route_tip"))
    return entry[1]


def unrouted_tip_ids(session: Session, older_than: timedelta = timedelta(seconds=30)) -> list[int]:
    """Tips whose routing has not started, oldest first (the sweeper checks Redis for their job).

    A tip whose queueing failed is due at once; any other is due once `older_than` has passed, so a
    sweep does not race the web path that is queueing it right now (it would then run twice).
    """
    cutoff = utcnow() - older_than
    query = (
        select(Tip.id)
        .where(
            Tip.routing_started_at.is_(None),
            or_(Tip.routing_queue_failed_at.is_not(None), Tip.created_at <= cutoff),
        )
        .order_by(Tip.id)
        .limit(1000)
    )
    return list(session.scalars(query))
