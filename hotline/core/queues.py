"""The one helper every job is enqueued through."""

from __future__ import annotations

from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

# Jobs retry with backoff; a job must be safe to run twice.
DEFAULT_RETRY = Retry(max=5, interval=[10, 30, 60, 300, 900])


def enqueue(queues: dict[str, Queue], queue: str, job: str, *args, job_id: str | None = None, **options):
    """Put `job` (a dotted path into `workers`) with id arguments on `queue`."""
    options.setdefault("retry", DEFAULT_RETRY)
    options.setdefault("failure_ttl", 7 * 24 * 3600)
    return queues[queue].enqueue(job, *args, job_id=job_id, **options)


def job_status(queue: Queue, job_id: str) -> JobStatus | None:
    """The status of job `job_id` of `queue` as far as it will still run; None when it will not.

    None for a job Redis does not hold, one that ended (finished, failed, stopped, cancelled), and
    one that says `queued` but is on no queue: a worker popped it and died (a SIGKILL between Redis
    answering its BLPOP and the job starting sends the reply to a dead socket). Jobs are safe to
    run twice, so whoever finds None may queue the job again.
    """
    try:
        status = Job.fetch(job_id, connection=queue.connection).get_status(refresh=False)
    except NoSuchJobError:
        return None
    if status == JobStatus.QUEUED:
        return status if queue.connection.lpos(queue.key, job_id) is not None else None
    return status if status in (JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED) else None
