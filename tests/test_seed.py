"""`flask seed --demo` routes its demo tips at once: their jobs are queued when they are seeded, so a
worker sends them to the demo focal points without waiting for the sweep; with Redis down, seeding
still succeeds, says so, and the next worker's start-up sweep routes them."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

import simulator
from hotline.core.models import Tip
from hotline.tips.reference import display
from hotline.tips.submission import routing_job_id
from tests.conftest import AT_TIMEOUT, listening_socket, serve, stop

# The demo focal points (hotline/tips/data) of the demo tips' counties: Nairobi City, Kilifi, and
# both of Mombasa's, since the Mombasa tip is urgent.
DEMO_FOCAL_POINTS = ("+254700000111", "+254700000131", "+254700000121", "+254700000122")


@pytest.fixture
def stack(make_app):
    """The hotline app sending SMS to the AT simulator on a real port."""
    sim_socket = listening_socket()
    sim_url = f"http://127.0.0.1:{sim_socket.getsockname()[1]}"
    sim = simulator.create_app({"SIM_DELIVERY_REPORTS": "0"})
    server = serve(sim, sim_socket)
    yield make_app(at_api_url=sim_url, at_timeout=AT_TIMEOUT), sim_url
    stop(*server)


def inbox(sim_url: str, phone: str) -> list[str]:
    response = requests.get(f"{sim_url}/api/messages", params={"phone": phone}, timeout=5)
    return [message["message"] for message in response.json()]


def references(app) -> list[str]:
    with app.extensions["hotline"].session_scope() as session:
        return [display(ref) for ref in session.scalars(select(Tip.reference).order_by(Tip.county_code))]


def test_demo_tips_are_queued_when_seeded_and_the_next_worker_routes_them(stack):
    app, sim_url = stack
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed", "--demo"])
    assert result.exit_code == 0, result.output
    assert "demo tips: 3 queued for routing" in result.output
    ext = app.extensions["hotline"]
    with ext.session_scope() as session:
        ids = list(session.scalars(select(Tip.id)))
    assert sorted(ext.queues["tips"].job_ids) == sorted(routing_job_id(tip_id) for tip_id in ids)
    # A worker started now: the tips are seconds old, younger than the sweep's 30 s guard, so
    # only the queued jobs can route them.
    assert runner.invoke(args=["worker", "--burst"]).exit_code == 0
    mombasa, kilifi, nairobi = references(app)  # county codes 1, 3, 47
    expected = {
        "+254700000111": nairobi, "+254700000131": kilifi, "+254700000121": mombasa, "+254700000122": mombasa,
    }
    for phone, reference in expected.items():
        [notice] = inbox(sim_url, phone)
        assert reference in notice
    again = runner.invoke(args=["seed", "--demo"])
    assert again.exit_code == 0 and "demo tips: routed already" in again.output
    assert ext.queues["tips"].job_ids == []


def test_with_redis_down_seeding_says_so_and_a_worker_routes_them_once_it_is_back(stack, redis_server):
    app, sim_url = stack
    runner = app.test_cli_runner()
    redis_server.stop()
    try:
        result = runner.invoke(args=["seed", "--demo"])
    finally:
        redis_server.start()
    assert result.exit_code == 0, result.output
    assert "demo tips: Redis is down, 3 not queued for routing yet" in result.output
    with app.extensions["hotline"].session_scope() as session:
        assert None not in session.scalars(select(Tip.routing_queue_failed_at)).all()
    assert runner.invoke(args=["worker", "--burst"]).exit_code == 0  # its start-up sweep, at once
    for phone in DEMO_FOCAL_POINTS:
        assert len(inbox(sim_url, phone)) == 1
