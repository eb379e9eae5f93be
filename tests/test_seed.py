"""`flask seed --demo` routes its demo tips at once: their jobs are queued when they are seeded, so a
worker sends them to the demo focal points without waiting for the sweep; with Redis down, seeding
still succeeds, says so, and the next worker's start-up sweep routes them. The demo console accounts
sign in with the printed password and keys."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

import simulator
from hotline.accounts import users
from hotline.core.models import FocalPoint, Tip, User
from hotline.core.privacy import decrypt_contact, reporter_key
from hotline.seed import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo_accounts
from hotline.tips.reference import display
from hotline.tips.submission import routing_job_id
from hotline.ussd.cli import DEMO_PHONE
from tests.conftest import AT_TIMEOUT, listening_socket, serve, stop
from tests.console import DemoUser, sign_in_client

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
    assert "demo tips: 6 queued for routing" in result.output
    ext = app.extensions["hotline"]
    with ext.session_scope() as session:
        ids = list(session.scalars(select(Tip.id)))
    assert sorted(ext.queues["tips"].job_ids) == sorted(routing_job_id(tip_id) for tip_id in ids)
    # A worker started now: the tips are seconds old, younger than the sweep's 30 s guard, so
    # only the queued jobs can route them.
    assert runner.invoke(args=["worker", "--burst"]).exit_code == 0
    mombasa, kilifi, *kakamega, nairobi = references(app)  # county codes 1, 3, 37 (three), 47
    assert len(kakamega) == 3
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
    assert "demo tips: Redis is down, 6 not queued for routing yet" in result.output
    with app.extensions["hotline"].session_scope() as session:
        assert None not in session.scalars(select(Tip.routing_queue_failed_at)).all()
    assert runner.invoke(args=["worker", "--burst"]).exit_code == 0  # its start-up sweep, at once
    for phone in DEMO_FOCAL_POINTS:
        assert len(inbox(sim_url, phone)) == 1


def test_demo_console_accounts_sign_in_and_kakamega_has_its_demo_tips(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed", "--demo"]).exit_code == 0
    again = runner.invoke(args=["seed", "--demo"])
    assert "demo console accounts: 6, password demo-hotline-2026" in again.output
    assert seed_demo_accounts(app.extensions["hotline"]) == 0  # none made twice
    ext = app.extensions["hotline"]
    with ext.session_scope() as session:
        accounts = {user.email: user for user in session.scalars(select(User))}
        assert set(accounts) == {email for email, *_ in DEMO_ACCOUNTS}
        kakamega = accounts["kakamega@demo.hotline.ke"]
        entry = session.get(FocalPoint, kakamega.focal_point_id)
        assert (entry.county_code, entry.phone) == (37, "+254700000101")  # the demo file's Kakamega 1
        assert all(users.enrolled(user) for user in accounts.values())
        tips = session.scalars(select(Tip).where(Tip.county_code == 37)).all()
        assert len(tips) == 3
        assert {tip.reporter_key for tip in tips} == {reporter_key(DEMO_PHONE, ext.config.phone_hash_key)}
        [callback] = [tip for tip in tips if tip.callback_contact]
        assert decrypt_contact(callback.callback_contact, ext.config.contact_key) == DEMO_PHONE
        assert any(tip.children == "yes" and tip.priority == 0 for tip in tips)
    for email, _, _, _, key in DEMO_ACCOUNTS:
        response = sign_in_client(app.test_client(), DemoUser(email, DEMO_PASSWORD, key))
        assert response.status_code == 302
