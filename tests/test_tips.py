"""Tips' use cases: queueing a tip's routing."""

from __future__ import annotations

import redis
from rq import Queue

from hotline.tips import submission as tips


class CountingConnection(redis.Connection):
    """A real Redis connection that counts the requests it sends (each one a round trip)."""

    sent = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.sent += 1
        return super().send_packed_command(command, check_health)


def test_queueing_a_tips_routing_is_one_redis_round_trip(ext):
    # It runs before the USSD `END` screen, so every round trip shows in the reporter's wait.
    client = redis.Redis.from_url(ext.config.redis_url, connection_class=CountingConnection)
    queues = {"tips": Queue("tips", connection=client)}  # long-lived, as in the app
    assert tips.queue_routing(queues, 41) is True  # the first connects and asks the server's version
    CountingConnection.sent = 0
    assert tips.queue_routing(queues, 42) is True
    assert CountingConnection.sent == 1
    queue = Queue("tips", connection=ext.redis)
    assert queue.job_ids == ["route-tip-41", "route-tip-42"]
    job = queue.fetch_job("route-tip-42")
    assert (job.func_name, job.args, job.retries_left) == ("workers.routing.route_tip", (42,), 5)
    assert queue in Queue.all(connection=ext.redis)  # the queue is registered, as RQ does itself
    client.close()


def test_a_tips_routing_job_is_the_job_rq_itself_would_queue(ext):
    # `queue_routing` writes RQ's job hash with a script of its own (hotline.prepared_jobs): the
    # worker must find exactly what RQ's enqueue would have written, field by field.
    from hotline.core.queues import enqueue

    queues = {"tips": Queue("tips", connection=ext.redis)}
    enqueue(queues, "tips", "workers.routing.route_tip", 7, job_id="route-tip-7")
    by_rq = ext.redis.hgetall("rq:job:route-tip-7")
    ext.redis.flushdb()
    assert tips.queue_routing(queues, 7) is True
    assert tips.queue_routing(queues, 7) is True  # queued again (the sweeper): the same hash
    prepared = ext.redis.hgetall("rq:job:route-tip-7")
    for moment in (b"created_at", b"enqueued_at"):
        assert len(by_rq.pop(moment)) == len(prepared.pop(moment))
    assert prepared == by_rq
    assert ext.redis.smembers("rq:queues") == {b"rq:queue:tips"}
    assert queues["tips"].job_ids == ["route-tip-7", "route-tip-7"]  # as RQ's enqueue twice would
    job = queues["tips"].fetch_job("route-tip-7")
    assert (job.func_name, job.args, job.retries_left, job.retry_intervals) == (
        "workers.routing.route_tip", (7,), 5, [10, 30, 60, 300, 900]
    )
