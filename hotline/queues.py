"""The one helper every job is enqueued through."""

from __future__ import annotations

from rq import Queue, Retry

# Jobs retry with backoff; a job must be safe to run twice.
DEFAULT_RETRY = Retry(max=5, interval=[10, 30, 60, 300, 900])


def enqueue(queues: dict[str, Queue], queue: str, job: str, *args, job_id: str | None = None, **options):
    """Put `job` (a dotted path into `workers`) with id arguments on `queue`."""
    options.setdefault("retry", DEFAULT_RETRY)
    options.setdefault("failure_ttl", 7 * 24 * 3600)
    return queues[queue].enqueue(job, *args, job_id=job_id, **options)
