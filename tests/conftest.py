"""Fixtures: a real Redis server this test session starts, a real database (SQLite, or
PostgreSQL when TEST_DATABASE_URL is set), migrated with Alembic, and AT-shaped requests built
from defaults plus overrides."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import MetaData, create_engine, delete, select, text
from werkzeug.serving import make_server

from hotline import create_app
from hotline.core import audit, randomness
from hotline.core.config import TEST_SUITE_MARKER, Config, normalise_database_url
from hotline.core.db import upgrade
from hotline.core.models import AuditEvent, Base, County
from hotline.seed import seed_counties

TEST_PHONE = "+254711000001"
# The test stacks' (connect, read) timeout for AT: generous, so a simulator that a busy machine slows
# past a second is not taken for a lost answer. Tests that lose an answer on purpose make the
# simulator wait LOST_ANSWER_DELAY before answering: always longer than the read timeout.
AT_TIMEOUT = (3, 3)
LOST_ANSWER_DELAY = 4.0
# Every test draws the same reference codes, contact salts and campaign seeds, whatever ran before it.
TEST_SEED = 20261128
# The console's fixtures (a served console, Playwright's browser, make_user, sign_in): tests/console.py.
pytest_plugins = ("tests.console",)
# Only the test suite may run with HOTLINE_ENV=testing (its subprocesses inherit this).
os.environ[TEST_SUITE_MARKER] = "1"


@pytest.fixture(autouse=True)
def seeded_randomness():
    """The service's random draws from a generator seeded afresh for each test (`hotline.randomness`)."""
    randomness.seed(TEST_SEED)
    yield
    randomness.seed(None)


# Every port this session handed out: none is handed out twice, even after its socket closed.
_handed_out: set[int] = set()


def listening_socket() -> socket.socket:
    """A socket listening on a port the kernel chose, which stays ours until `serve` takes it over:
    no other test, and no other test session on this machine, can take the port in between."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    _handed_out.add(sock.getsockname()[1])
    return sock


def free_port() -> int:
    """A port nobody listens on now, never handed out before in this session (for a program that
    binds it itself, like redis-server; a server of ours takes a `listening_socket` instead)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


ROOT = Path(__file__).resolve().parent.parent


def serve(app, sock: socket.socket | None = None):
    """Serve a WSGI app from a thread on `sock` (a fresh `listening_socket` if none); returns
    (server, thread). Stop it with `stop`."""
    sock = sock or listening_socket()
    server = make_server("127.0.0.1", sock.getsockname()[1], app, threaded=True, fd=sock.fileno())
    sock.close()  # the server holds its own duplicate of the socket
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    return server, thread


def stop(server, thread) -> None:
    """Stop a server `serve` started and close its socket."""
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class RedisServer:
    """A private redis-server process that tests may stop and start again (same port)."""

    def __init__(self, directory):
        self.executable = shutil.which("redis-server")
        if not self.executable:
            pytest.exit("redis-server is not installed: run `make test`, which installs it", returncode=2)
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        args = [
            self.executable,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                client.ping()
                client.close()
                return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.running:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


# PostgreSQL functions the migrations made (the audit log's trigger function), but not an extension's.
OUR_FUNCTIONS = text(
    "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = 'public' AND NOT EXISTS "
    "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
)


def _drop_everything(url: str) -> None:
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    if engine.dialect.name == "postgresql":  # else the next upgrade's CREATE FUNCTION finds them there
        with engine.begin() as connection:
            for (function,) in connection.execute(OUR_FUNCTIONS).all():
                connection.execute(text(f"DROP FUNCTION IF EXISTS {function} CASCADE"))
    engine.dispose()


def _migrated_sqlite_template() -> Path:
    """An empty SQLite database at the newest migration, made once per set of migrations.

    Every pytest session (and every mutant `make mutation` tries) copies it instead of running the
    migrations again; its name carries a hash of the migration files, so a new migration makes a new one.
    """
    versions = sorted((ROOT / "migrations").rglob("*.py"))
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in versions)).hexdigest()[:16]
    template = Path(tempfile.gettempdir()) / f"hotline-test-template-{digest}.db"
    if not template.exists():
        scratch = template.with_suffix(f".{os.getpid()}.tmp")
        upgrade(f"sqlite:///{scratch}")
        os.replace(scratch, template)  # atomic: a concurrent session sees all of it or none
    return template


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if os.environ.get("TEST_DATABASE_URL"):
        url = normalise_database_url(os.environ["TEST_DATABASE_URL"])
        _drop_everything(url)
        upgrade(url)
        return url
    path = tmp_path_factory.mktemp("db") / "test.db"
    shutil.copyfile(_migrated_sqlite_template(), path)
    return normalise_database_url(f"sqlite:///{path}")


@pytest.fixture
def config(database_url, redis_server) -> Config:
    # The USSD path's Redis timeout is 50 ms in production; a healthy Redis on a busy test machine can
    # take longer than that, and the breaker would then refuse what the test checks. Tests of the
    # timeout and the breaker (test_breaker.py) set a short one themselves, against a stopped Redis.
    return Config(
        env="testing",
        database_url=database_url,
        redis_url=redis_server.url,
        secret_key="test",
        ussd_redis_timeout=2.0,
    )


# Kept between tests: the 47 counties, reference data that tips, focal points and contacts point at and
# that every test needs as `flask seed` leaves them. Rather than emptied and refilled, they are put right
# in place by `seed_counties`, which writes only what a test deleted or renamed (test_cli deletes them
# all). A county a test added would stay: no test adds one.
KEPT_TABLES = frozenset({County.__table__})


def emptied_tables() -> list:
    """Every table the models declare but the kept ones, children before parents (their foreign keys).

    Read from the metadata at each use, after `create_app` imported every feature: a new model's
    table is emptied without anyone listing it. (alembic_version is no model's, so it stays.)
    """
    return [table for table in reversed(Base.metadata.sorted_tables) if table not in KEPT_TABLES]


@pytest.fixture
def stack_settings():
    """Config fields a test's hotline-and-simulator stack runs with (override by parametrizing)."""
    return {}


@pytest.fixture
def make_app(config, redis_server):
    """Build apps with config overrides; each test starts with empty tables and an empty Redis."""
    if not redis_server.running:
        redis_server.start()
    built = []

    def build(**overrides):
        app = create_app(config.replace(**overrides))
        built.append(app)
        return app

    first = build()
    ext = first.extensions["hotline"]
    ext.redis.flushdb()
    with ext.session_scope() as session:
        # The audit log refuses DELETE, except with its triggers lifted: only when it has rows to delete.
        if session.scalar(select(AuditEvent.id).limit(1)) is not None:
            with audit.lifted(session.connection()):
                session.execute(delete(AuditEvent))
        for table in emptied_tables():
            session.execute(delete(table))
        seed_counties(session)
    yield build
    for app in built:
        app.extensions["hotline"].engine.dispose()
        app.extensions["hotline"].redis.close()
        app.extensions["hotline"].ussd_redis.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def ext(app):
    return app.extensions["hotline"]


@pytest.fixture
def client(app):
    return app.test_client()


def ussd_form(**overrides) -> dict:
    """An AT USSD request: defaults plus overrides."""
    form = {
        "sessionId": f"ATUid_{uuid.uuid4().hex}",
        "serviceCode": "*384*1234#",
        "phoneNumber": TEST_PHONE,
        "networkCode": "63902",
        "text": "",
    }
    form.update(overrides)
    return form


class Phone:
    """Plays a handset through AT: keeps the session id and the `*`-joined inputs."""

    def __init__(self, client, number: str = TEST_PHONE, query: str = ""):
        self.client = client
        self.number = number
        self.query = query
        self.inputs: list[str] = []
        self.session_id = ""
        self.last = ""

    def dial(self) -> str:
        """Start a new session; returns the first screen (with its CON/END prefix)."""
        self.session_id = f"ATUid_{uuid.uuid4().hex}"
        self.inputs = []
        return self.post("")

    def send(self, *values: str) -> str:
        """Type each value in turn; returns the last screen."""
        for value in values:
            self.inputs.append(value)
            self.post("*".join(self.inputs))
        return self.last

    def post(self, text: str) -> str:
        """Send one request with `text` as AT would."""
        form = ussd_form(sessionId=self.session_id, phoneNumber=self.number, text=text)
        response = self.client.post("/ussd" + self.query, data=form)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, body
        assert response.mimetype == "text/plain"
        assert body.startswith(("CON ", "END ")), body
        self.last = body
        return body


@pytest.fixture
def phone(client):
    return Phone(client)


@pytest.fixture
def live_server(app):
    """The app on a real port, in a thread, for clients that speak HTTP (the dial CLI)."""
    server, thread = serve(app)
    yield f"http://127.0.0.1:{server.port}"
    stop(server, thread)
