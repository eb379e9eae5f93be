"""Configuration, read once from the environment into one object that is passed on.

README.md (Configuration) lists the variables. `HOTLINE_ENV` chooses the mode: `development`
(`make run` writes it to `.env`), `testing`, or `production` (the default, so a deployment that
forgets to say what it is gets the strict checks). `testing` relaxes the checks like
`development`, so only the test suite may ask for it: tests/conftest.py sets TEST_SUITE_MARKER,
which nothing else sets.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from cryptography.fernet import Fernet

from hotline.core.errors import ConfigError
from hotline.core.numbers import ascii_digits

# Development-only keys. They are public (they are in this file), so production refuses them.
# Where Flask puts the instance folder of the `hotline` app (next to the package): `.env`, SQLite.
INSTANCE_PATH = Path(__file__).resolve().parents[2] / "instance"
DEV_PHONE_HASH_KEY = "dev-only-phone-hash-key-not-secret"
DEV_CONTACT_KEY = "ZGV2LW9ubHktY29udGFjdC1rZXktbm90LXNlY3JldCE="
# Settings whose name ends so hold a secret: production refuses any that equals a development default.
SECRET_SUFFIXES = ("_key", "_token")
# A webhook token is the only thing between the internet and the callbacks: long enough not to guess.
WEBHOOK_TOKEN_MIN_LENGTH = 32
# Set by tests/conftest.py only: without it HOTLINE_ENV=testing is refused.
TEST_SUITE_MARKER = "HOTLINE_TEST_SUITE"

DEFAULT_SERVICE_CODE = "*384*1234#"
# Where phones send SMS (STOP, JOIN, TIP...): the local simulator's short code unless set.
DEFAULT_SHORT_CODE = "21606"
SIMULATOR_URL = "http://127.0.0.1:5001"
# Minutes without an acknowledgement before a tip escalates: urgent ones, then per kind.
DEFAULT_ESCALATION = {"urgent": 15, "default": 24 * 60}
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Largest request body read (MAX_BODY_BYTES): AT's forms are under 20 KB even with a 4,000-character
# `text` of emoji; anything bigger is a 413, unread.
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Where focal points open a case: the SMS that notifies them ends with `{CONSOLE_URL}/t/<reference>`.
DEFAULT_CONSOLE_URL = "http://127.0.0.1:5000/console"
# Retention (README: Retention): days each kind of data is kept, by environment variable. A closed
# tip keeps its de-identified row; an opted-out contact keeps only the keyed hash that stops imports.
DEFAULT_RETENTION_DAYS = {
    "RETAIN_USSD_SESSIONS_DAYS": 90,  # ussd_session_end rows (the drop-off funnel)
    "RETAIN_INBOUND_SMS_DAYS": 90,  # inbound_sms rows (AT's id, keyword, time: duplicate guard)
    "RETAIN_CLOSED_TIP_TEXT_DAYS": 365,  # a closed tip's free text, call-back number, seal, ids
    "RETAIN_OPTED_OUT_NUMBER_DAYS": 730,  # an opted-out contact's number and engagement key
    "RETAIN_DELIVERY_REPORTS_DAYS": 30,  # delivery reports kept for unknown message ids (phone_key)
    "RETAIN_ENGAGEMENT_DAYS": 400,  # engagement rows: the longest attribution window (365) + 35
    "RETAIN_AUDIT_DAYS": 2557,  # the audit log: 7 years
}
# Shorter than this would break something that reads the data: the follow-up duplicate guard of AT's
# retries (a day), a campaign report's longest attribution window (365 days), the reconcile window.
MIN_RETENTION_DAYS = {"RETAIN_ENGAGEMENT_DAYS": 365, "RETAIN_AUDIT_DAYS": 365}


@dataclass(frozen=True)
class Config:
    """Everything the service reads from its environment."""

    env: str = "production"
    database_url: str = ""
    redis_url: str = DEFAULT_REDIS_URL
    at_username: str | None = None
    at_api_key: str | None = None
    at_api_url: str | None = None
    at_sender_id: str | None = None
    at_premium_replies: bool = False  # the SMS short code is premium (on-demand): replies pass linkId back
    ussd_service_code: str = DEFAULT_SERVICE_CODE
    # Named in texts that tell people where to send STOP or JOIN; None only in a production
    # environment that did not say it (then the service refuses to start: see `check`).
    sms_short_code: str | None = DEFAULT_SHORT_CODE
    webhook_token: str | None = None
    secret_key: str = ""
    phone_hash_key: str = DEV_PHONE_HASH_KEY
    contact_key: str = DEV_CONTACT_KEY
    # Tunables with sensible defaults; not part of SPEC's table but overridable in tests.
    ussd_session_ttl: int = 600
    resume_ttl: int = 15 * 60
    redis_timeout: float = 1.0
    # Seconds a PostgreSQL connection may take to open (libpq's connect_timeout; it counts 2 at least).
    database_connect_timeout: int = 5
    # The USSD path's Redis client: socket timeouts in seconds (USSD_REDIS_TIMEOUT_MS), and how long
    # it stops calling Redis after a timeout or refused connection (REDIS_BREAKER_SECONDS).
    ussd_redis_timeout: float = 0.05
    redis_breaker_seconds: float = 5.0
    escalation_minutes: dict = field(default_factory=lambda: dict(DEFAULT_ESCALATION))
    followup_lookups_per_hour: int = 10
    # Service-wide failed follow-up lookups (README: Follow-up): current codes per hour, old codes per day.
    followup_failed_lookups_per_hour: int = 50  # FOLLOWUP_FAILED_LOOKUPS_PER_HOUR
    followup_old_failed_lookups_per_day: int = 2  # FOLLOWUP_OLD_FAILED_LOOKUPS_PER_DAY
    at_timeout: tuple = (3.05, 9.05)  # the SDK's own (connect, read) timeout
    # Campaigns: KES per SMS segment for estimates; how long a batch whose answer was lost waits for
    # delivery reports before its unreported recipients are sent again; the dispatcher's lock and slice.
    sms_price_kes: str = "0.80"
    campaign_reconcile_seconds: int = 900
    campaign_lock_seconds: int = 60
    campaign_slice_seconds: float = 5.0
    # AT requests of one campaign out at once (CAMPAIGN_CONCURRENCY): at 10,000 a second, batches of
    # 1,000 leave every 0.1 s, and a request to AT takes longer than that.
    campaign_concurrency: int = 4
    # How often a worker checks that the periodic sweep is scheduled and its scheduler runs: both
    # live in Redis, so a Redis that restarts empty would otherwise stop them for good.
    worker_maintenance_seconds: int = 60
    # Service SMS (tip notices, escalations, replies): how long one still unsent waits before it
    # raises an alarm; how long an urgent tip's "maybe sent" SMS waits for delivery reports before it
    # is sent again (others wait campaign_reconcile_seconds); how long a tip's first notification may
    # go unaccepted by AT before the tip escalates to the next focal point and the secretariat.
    sms_alarm_seconds: int = 1800
    urgent_reconcile_seconds: int = 120
    unsent_escalation_seconds: int = 600
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # The console (README: The console): its public address, minutes of inactivity before a signed-in
    # session ends (CONSOLE_IDLE_MINUTES), failed sign-ins allowed per account and per address in
    # `signin_window_seconds`, and seconds a revealed call-back number stays on screen.
    console_url: str = DEFAULT_CONSOLE_URL
    console_idle_minutes: int = 30
    signin_attempts: int = 5
    signin_window_seconds: int = 900
    reveal_seconds: int = 60
    # Proxies (load balancer, TLS terminator) in front of the web process that set X-Forwarded-For and
    # -Proto (PROXY_HOPS): the console's rate limit and audit log then see the client's address.
    proxy_hops: int = 0
    # Retention: days per kind, keyed by the environment variable (DEFAULT_RETENTION_DAYS).
    retention_days: dict = field(default_factory=lambda: dict(DEFAULT_RETENTION_DAYS))
    extra: dict = field(default_factory=dict)

    @property
    def development(self) -> bool:
        """True when running on a developer's machine."""
        return self.env == "development"

    @property
    def testing(self) -> bool:
        """True under the test suite."""
        return self.env == "testing"

    @property
    def production(self) -> bool:
        """True unless explicitly development or testing."""
        return self.env not in ("development", "testing")

    @property
    def at_base_url(self) -> str:
        """Where SMS go: AT_API_URL, else AT's sandbox or live API, else the local simulator."""
        if self.at_api_url:
            return self.at_api_url.rstrip("/")
        if not self.at_username:
            return SIMULATOR_URL
        if self.at_username == "sandbox":
            return "https://api.sandbox.africastalking.com"
        return "https://api.africastalking.com"

    def escalation_after(self, kind: str, urgent: bool) -> int:
        """Minutes a tip of `kind` waits for an acknowledgement before it escalates."""
        table = self.escalation_minutes
        if urgent:
            return table.get("urgent", DEFAULT_ESCALATION["urgent"])
        return table.get(kind, table.get("default", DEFAULT_ESCALATION["default"]))

    def retain_days(self, name: str) -> int:
        """Days the kind of data behind RETAIN_<name>_DAYS is kept (its default when not set)."""
        return self.retention_days.get(name, DEFAULT_RETENTION_DAYS[name])

    def replace(self, **changes) -> Config:
        """A copy with some fields changed."""
        return replace(self, **changes)


def normalise_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at the psycopg 3 driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _dev_secret_key(instance_path: Path) -> str:
    """A random key per development instance, kept in `instance/` so sessions survive restarts."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    return key


def from_env(instance_path: Path, environ: dict | None = None) -> Config:
    """Read the configuration from the environment (and `.env` in development)."""
    env = dict(os.environ if environ is None else environ)
    mode = env.get("HOTLINE_ENV", "production").strip().lower() or "production"
    if mode == "testing" and not env.get(TEST_SUITE_MARKER):
        # An operator "testing a deployment" must not get the relaxed checks by accident.
        raise ConfigError(
            "HOTLINE_ENV=testing is reserved for the test suite (it accepts the public development "
            "keys). Use HOTLINE_ENV=development on a developer's machine and production anywhere else."
        )

    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value and value.strip() else None

    database_url = get("DATABASE_URL") or f"sqlite:///{instance_path / 'hotline.db'}"
    config = Config(
        env=mode,
        database_url=normalise_database_url(database_url),
        redis_url=get("REDIS_URL") or DEFAULT_REDIS_URL,
        at_username=get("AT_USERNAME"),
        at_api_key=get("AT_API_KEY"),
        at_api_url=get("AT_API_URL"),
        at_sender_id=get("AT_SENDER_ID"),
        at_premium_replies=_yes_no("AT_PREMIUM_REPLIES", get("AT_PREMIUM_REPLIES")),
        ussd_service_code=get("USSD_SERVICE_CODE") or DEFAULT_SERVICE_CODE,
        sms_short_code=_short_code(get("SMS_SHORT_CODE"), get("AT_SENDER_ID"), mode == "production"),
        webhook_token=get("WEBHOOK_TOKEN"),
        secret_key=get("SECRET_KEY") or "",
        phone_hash_key=get("PHONE_HASH_KEY") or DEV_PHONE_HASH_KEY,
        contact_key=get("CONTACT_KEY") or DEV_CONTACT_KEY,
        escalation_minutes=_escalation(get("ESCALATION_MINUTES")),
        sms_price_kes=_price(get("SMS_PRICE_KES")),
        campaign_reconcile_seconds=_seconds(
            "CAMPAIGN_RECONCILE_SECONDS", get("CAMPAIGN_RECONCILE_SECONDS"), 900
        ),
        campaign_concurrency=max(1, _whole(
            "CAMPAIGN_CONCURRENCY", get("CAMPAIGN_CONCURRENCY"), 4, "requests"
        )),
        worker_maintenance_seconds=max(1, _seconds(
            "WORKER_MAINTENANCE_SECONDS", get("WORKER_MAINTENANCE_SECONDS"), 60
        )),
        sms_alarm_seconds=_seconds("SMS_ALARM_SECONDS", get("SMS_ALARM_SECONDS"), 1800),
        followup_failed_lookups_per_hour=_whole_number(
            "FOLLOWUP_FAILED_LOOKUPS_PER_HOUR", get("FOLLOWUP_FAILED_LOOKUPS_PER_HOUR"), 50
        ),
        followup_old_failed_lookups_per_day=_whole_number(
            "FOLLOWUP_OLD_FAILED_LOOKUPS_PER_DAY", get("FOLLOWUP_OLD_FAILED_LOOKUPS_PER_DAY"), 2
        ),
        ussd_redis_timeout=_seconds("USSD_REDIS_TIMEOUT_MS", get("USSD_REDIS_TIMEOUT_MS"), 50) / 1000,
        redis_breaker_seconds=_seconds("REDIS_BREAKER_SECONDS", get("REDIS_BREAKER_SECONDS"), 5),
        max_body_bytes=_whole("MAX_BODY_BYTES", get("MAX_BODY_BYTES"), DEFAULT_MAX_BODY_BYTES, "bytes"),
        console_url=(get("CONSOLE_URL") or DEFAULT_CONSOLE_URL).rstrip("/"),
        console_idle_minutes=max(1, _whole(
            "CONSOLE_IDLE_MINUTES", get("CONSOLE_IDLE_MINUTES"), 30, "minutes"
        )),
        proxy_hops=_whole("PROXY_HOPS", get("PROXY_HOPS"), 0, "proxies"),
        retention_days={name: _retention(name, get(name)) for name in DEFAULT_RETENTION_DAYS},
    )
    if not config.secret_key and not config.production:
        config = config.replace(secret_key=_dev_secret_key(instance_path))
    check(config)
    return config


def _escalation(text: str | None) -> dict:
    """`urgent=15,default=1440,child_labour=240` on top of the defaults."""
    table = dict(DEFAULT_ESCALATION)
    for part in filter(None, (text or "").split(",")):
        name, _, minutes = part.partition("=")
        if not ascii_digits(minutes.strip()) or int(minutes) < 1:
            raise ConfigError(f"ESCALATION_MINUTES: {part!r} is not name=minutes")
        table[name.strip()] = int(minutes)
    return table


def _retention(name: str, text: str | None) -> int:
    """Days of one retention setting: a whole number from 1 (or its floor) to 36,500."""
    days = _whole(name, text, DEFAULT_RETENTION_DAYS[name], "days")
    least = MIN_RETENTION_DAYS.get(name, 1)
    if not least <= days <= 36500:
        raise ConfigError(
            f"{name} must be from {least} to 36500 days, not {days} (default {DEFAULT_RETENTION_DAYS[name]})"
        )
    return days


def _short_code(text: str | None, sender_id: str | None, production: bool) -> str | None:
    """SMS_SHORT_CODE, else AT_SENDER_ID when it is a short code (digits), else the simulator's
    outside production (in production, None: a wrong number in every STOP confirmation is worse
    than refusing to start)."""
    if text is None:
        if sender_id and sender_id.isascii() and sender_id.isdigit():
            return sender_id
        return None if production else DEFAULT_SHORT_CODE
    if not (text.isascii() and text.isdigit() and 3 <= len(text) <= 8):
        raise ConfigError(f"SMS_SHORT_CODE must be the short code people text, 3 to 8 digits, not {text!r}")
    return text


def _price(text: str | None) -> str:
    try:
        if text is not None and float(text) < 0:
            raise ValueError
    except ValueError:
        raise ConfigError(f"SMS_PRICE_KES must be a price in KES, like 0.80, not {text!r}") from None
    return text or "0.80"


def _yes_no(name: str, text: str | None) -> bool:
    value = (text or "no").strip().lower()
    if value not in ("yes", "no", "true", "false", "1", "0"):
        raise ConfigError(f"{name} must be yes or no, not {text!r}")
    return value in ("yes", "true", "1")


def _seconds(name: str, text: str | None, default: int) -> int:
    return _whole(name, text, default, "seconds")


def _whole(name: str, text: str | None, default: int, unit: str) -> int:
    if text is None:
        return default
    if not ascii_digits(text):
        raise ConfigError(f"{name} must be a whole number of {unit}, not {text!r}")
    return int(text)


def _whole_number(name: str, text: str | None, default: int) -> int:
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()):
        raise ConfigError(f"{name} must be a whole number, not {text!r}")
    return int(text)


def development_defaults() -> frozenset[str]:
    """Every development default of a secret setting: public, since they are in this file."""
    return frozenset(
        f.default
        for f in fields(Config)
        if f.name.endswith(SECRET_SUFFIXES) and isinstance(f.default, str) and f.default
    )


def _production_problems(config: Config) -> list[str]:
    """What keeps `config` from running in production: missing, public or guessable secrets."""
    problems = []
    if not config.secret_key:
        problems.append("SECRET_KEY is not set")
    if config.sms_short_code is None:
        problems.append(
            "SMS_SHORT_CODE is not set, and AT_SENDER_ID is not a short code: set the short code people "
            "text (STOP, JOIN, HELP), which the replies name"
        )
    token = config.webhook_token or ""
    if not token:
        problems.append("WEBHOOK_TOKEN is not set (every AT callback must carry ?token=)")
    elif len(token) < WEBHOOK_TOKEN_MIN_LENGTH:
        problems.append(
            f"WEBHOOK_TOKEN is {len(token)} characters; it must have at least {WEBHOOK_TOKEN_MIN_LENGTH} "
            "(make one with python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    public = development_defaults()
    for f in fields(config):
        if f.name.endswith(SECRET_SUFFIXES) and getattr(config, f.name) in public:
            problems.append(
                f"{f.name.upper()} is a development key, which is public (unset, or copied from the "
                "source): set a secret one"
            )
    return problems


def check(config: Config) -> None:
    """Refuse to start in production without the secrets, naming each one that is missing or unsafe."""
    problems = _production_problems(config) if config.production else []
    try:
        Fernet(config.contact_key.encode())
    except ValueError:
        problems.append(
            "CONTACT_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes; make one with "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        )
    if problems:
        message = f"Refusing to start in {config.env} mode:\n  - " + "\n  - ".join(problems)
        if config.production:
            message += "\n(For development set HOTLINE_ENV=development, e.g. in .env; `make run` writes one.)"
        raise ConfigError(message)
