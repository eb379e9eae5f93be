"""The enqueue helper and whether a queued job will still run, against the real Redis."""

from __future__ import annotations

from rq.job import JobStatus

from hotline.core.queues import enqueue, job_status


def test_a_job_a_dead_worker_popped_will_not_run_and_one_queued_again_will(ext):
    queue = ext.queues["tips"]
    enqueue(ext.queues, "tips", "workers.routing.route_tip", 1, job_id="route-tip-1")
    assert job_status(queue, "route-tip-1") == JobStatus.QUEUED
    assert ext.redis.lpop(queue.key) == b"route-tip-1"  # a worker's BLPOP, the worker then killed
    assert job_status(queue, "route-tip-1") is None  # the hash still says queued: it will not run
    enqueue(ext.queues, "tips", "workers.routing.route_tip", 1, job_id="route-tip-1")
    assert job_status(queue, "route-tip-1") == JobStatus.QUEUED
    assert job_status(queue, "route-tip-2") is None  # never queued
