"""Delivery reports: the simulated network tells the hotline, later, what became of each SMS.

Wire format (as AT sends it): a form-encoded POST to `{HOTLINE_URL}/sms/delivery` (plus `?token=` when
WEBHOOK_TOKEN is set) with `id` (the messageId), `status`, `phoneNumber`, `networkCode`,
`failureReason` (only with Failed or Rejected) and `retryCount` ("0").

Like AT, and steered by the configuration: the final report (Success, or the number's configured
delivery failure) comes SIM_DELIVERY_DELAY s after the send; with probability SIM_INTERMEDIATE_RATE an
intermediate report (Sent or Buffered) comes first, with SIM_REORDER_RATE one comes after the final
report instead, and with SIM_DUPLICATE_RATE the final report comes twice. The choices come from one
generator seeded with SIM_SEED and drawn in send order, so a seeded run plans the same reports for the
same sends. One message's reports are posted one after another in the planned order, half a delay
apart; different messages' reports go in parallel (SIM_DELIVERY_WORKERS threads). A report the hotline
does not answer with 200 is posted again up to SIM_DELIVERY_RETRIES more times, SIM_RETRY_BACKOFF s
later and doubling. Every attempt is recorded on the message (`delivery_reports`).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import random
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import requests

from simulator import callbacks
from simulator.config import SimulatorConfig
from simulator.failures import REASONED_STATUSES, Failure
from simulator.store import MessageStore, SmsMessage, iso

log = logging.getLogger(__name__)

PATH = "/sms/delivery"
SUCCESS = "Success"
INTERMEDIATE_STATUSES = ("Sent", "Buffered")


@dataclass(frozen=True)
class DeliveryReport:
    """One report AT posts about one message."""

    message_id: str
    phone_number: str
    status: str
    failure_reason: str | None = None
    final: bool = True  # False for Sent or Buffered, which a final report follows or preceded
    duplicate: bool = False  # the second copy of a report already planned

    def form(self) -> dict[str, str]:
        """The report as AT's form fields."""
        form = {"id": self.message_id, "status": self.status, "phoneNumber": self.phone_number,
                "networkCode": callbacks.NETWORK_CODE, "retryCount": "0"}
        if self.status in REASONED_STATUSES and self.failure_reason:
            form["failureReason"] = self.failure_reason
        return form


@dataclass
class _Chain:
    """One message's reports still to post, in order, and the attempts made at the first."""

    reports: list[DeliveryReport]
    attempts: int = 0


def record_attempt(message: SmsMessage, report: DeliveryReport, attempt: int, http_status: int | None,
                   error: str | None) -> SmsMessage:
    """The message with one post attempt recorded; a final report's status beats an intermediate's."""
    entry = {"status": report.status, "failure_reason": report.failure_reason, "final": report.final,
             "duplicate": report.duplicate, "attempt": attempt, "http_status": http_status, "error": error,
             "posted_at": iso(datetime.now(UTC))}
    changes: dict = {"delivery_reports": (*message.delivery_reports, entry)}
    if report.final or not any(previous["final"] for previous in message.delivery_reports):
        changes.update(delivery_status=report.status, failure_reason=report.failure_reason)
    return replace(message, **changes)


@dataclass
class _Counts:
    pending: int = 0  # reports planned and not yet posted or given up
    posted: int = 0  # reports the hotline answered with 200
    failed: int = 0  # reports given up after every retry
    attempts: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class DeliveryReporter:
    """Plans each accepted message's reports and posts them from background threads."""

    def __init__(self, config: SimulatorConfig, store: MessageStore) -> None:
        self.config = config
        self.store = store
        self._rng = random.Random(config.seed)
        self._lock = threading.Condition()
        self._due: list[tuple[float, int, _Chain]] = []  # a heap by due time; the int breaks ties
        self._order = itertools.count()
        self._ready: queue.SimpleQueue[_Chain] = queue.SimpleQueue()
        self._counts = _Counts()
        self._started = False

    def plan(self, message_id: str, phone_number: str,
             failure: Failure | None = None) -> list[DeliveryReport]:
        """The reports for one accepted message, in posting order, drawn from the seeded generator."""
        with self._lock:
            # Always four draws, so one message's luck does not shift every later message's.
            reorder, intermediate, duplicate, kind = (self._rng.random() for _ in range(4))
        final = DeliveryReport(message_id, phone_number, failure.status if failure else SUCCESS,
                               failure.reason if failure else None)
        reports = [final]
        if duplicate < self.config.duplicate_rate:
            reports.append(replace(final, duplicate=True))
        step = DeliveryReport(message_id, phone_number, INTERMEDIATE_STATUSES[kind < 0.5], final=False)
        if reorder < self.config.reorder_rate:
            reports.append(step)
        elif intermediate < self.config.intermediate_rate:
            reports.insert(0, step)
        return reports

    @property
    def enabled(self) -> bool:
        """False when delivery reports are off (SIM_DELIVERY_REPORTS=0)."""
        return self.config.delivery_reports

    def schedule(self, message_id: str, phone_number: str, failure: Failure | None = None) -> None:
        """Post the message's reports after the delay (nothing when delivery reports are off)."""
        if not self.config.delivery_reports:
            return
        reports = self.plan(message_id, phone_number, failure)
        with self._lock:
            self._start()
            self._counts.pending += len(reports)
            self._push(self.config.delivery_delay, _Chain(reports))

    def flush(self, timeout: float) -> bool:
        """Wait until every planned report is posted or given up; False when `timeout` ran out first."""
        with self._lock:
            return self._lock.wait_for(lambda: self._counts.pending == 0, timeout)

    def stats(self) -> dict:
        """Counts of reports: pending, posted (200), failed (gave up), attempts, posted by status."""
        with self._lock:
            counts = self._counts
            return {"pending": counts.pending, "posted": counts.posted, "failed": counts.failed,
                    "attempts": counts.attempts, "by_status": dict(sorted(counts.by_status.items()))}

    def _start(self) -> None:
        # Threads start with the first send, not with the app: nothing runs for an app that sends nothing.
        if self._started:
            return
        self._started = True
        threading.Thread(target=self._dispatch, name="sim-delivery-clock", daemon=True).start()
        for number in range(self.config.delivery_workers):
            threading.Thread(target=self._work, name=f"sim-delivery-{number}", daemon=True).start()

    def _push(self, delay: float, chain: _Chain) -> None:
        heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), chain))
        self._lock.notify_all()

    def _dispatch(self) -> None:
        """Hand each chain to the workers when its next report falls due."""
        while True:
            with self._lock:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._lock.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _, _, chain = heapq.heappop(self._due)
            self._ready.put(chain)

    def _work(self) -> None:
        """Post reports as they fall due; never let an error end the thread."""
        session = requests.Session()
        while True:
            chain = self._ready.get()
            ok = False
            try:
                ok = self._post(chain.reports[0], chain.attempts + 1, session)
            except Exception:  # the simulator must outlive any bug in one report
                log.exception("delivery report for %s failed", chain.reports[0].message_id)
            with self._lock:
                self._advance(chain, ok)

    def _post(self, report: DeliveryReport, attempt: int, session: requests.Session) -> bool:
        http_status = error = None
        try:
            response = callbacks.post(self.config, PATH, report.form(), self.config.callback_timeout, session)
            http_status = response.status_code
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        if http_status != 200:
            log.warning("delivery report %s for %s: hotline answered %s", report.status, report.message_id,
                        http_status or error)
        self.store.update(report.message_id,
                          lambda message: record_attempt(message, report, attempt, http_status, error))
        return http_status == 200

    def _advance(self, chain: _Chain, ok: bool) -> None:
        """After one attempt: retry with backoff, move to the chain's next report, or finish it."""
        counts = self._counts
        counts.attempts += 1
        chain.attempts += 1
        if not ok and chain.attempts <= self.config.delivery_retries:
            self._push(self.config.retry_backoff * 2 ** (chain.attempts - 1), chain)
            return
        report = chain.reports.pop(0)
        counts.pending -= 1
        if ok:
            counts.posted += 1
            counts.by_status[report.status] = counts.by_status.get(report.status, 0) + 1
        else:
            counts.failed += 1
        chain.attempts = 0
        if chain.reports:
            self._push(self.config.delivery_delay / 2, chain)
        self._lock.notify_all()
