"""`GET /healthz` when a dependency is down: a clear 503 naming it, never a 500 or a traceback."""

from __future__ import annotations

import socket
import threading

import pytest


@pytest.fixture
def closed_port():
    """A port bound by the test that accepts no connection: a database server that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    "database",
    ["postgresql+psycopg://hotline@127.0.0.1:{port}/hotline", "sqlite:////nonexistent-{port}/hotline.db"],
    ids=["postgresql refusing connections", "sqlite file out of reach"],
)
def test_healthz_with_the_database_down_answers_503_saying_so(make_app, closed_port, database):
    app = make_app(database_url=database.format(port=closed_port))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "degraded"
    assert response.json["database"] == "error: OperationalError"
    assert response.json["redis"] == "ok" and response.json["sms_overdue"] is None
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.fixture
def stalled_port():
    """A port bound by the test that takes connections and never answers: a database server stuck."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # the kernel completes the handshakes; nobody ever reads or writes
        yield sock.getsockname()[1]


def test_healthz_with_a_postgresql_that_never_answers_gives_up_and_answers_503(make_app, stalled_port):
    app = make_app(
        database_url=f"postgresql+psycopg://hotline@127.0.0.1:{stalled_port}/hotline",
        database_connect_timeout=2,
    )
    answers = []
    asking = threading.Thread(target=lambda: answers.append(app.test_client().get("/healthz")), daemon=True)
    asking.start()
    asking.join(timeout=60)  # a bound, not a speed test: without a connect timeout it waits for ever
    [response] = answers
    assert response.status_code == 503
    assert response.json["database"] == "error: OperationalError"
