"""Configuration from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hotline.core.config import (
    DEFAULT_SERVICE_CODE,
    DEV_CONTACT_KEY,
    DEV_PHONE_HASH_KEY,
    TEST_SUITE_MARKER,
    from_env,
    normalise_database_url,
)
from hotline.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "k3pQ-9vXr2LmT8wYzA4bN6cD1eF5gH7j"  # 32 characters


def production_env(**overrides) -> dict:
    """A production environment that starts, plus overrides."""
    env = {
        "SECRET_KEY": "a-real-secret-key",
        "WEBHOOK_TOKEN": TOKEN,
        "PHONE_HASH_KEY": "a-real-phone-hash-key",
        "CONTACT_KEY": Fernet.generate_key().decode(),
        "SMS_SHORT_CODE": "21606",
    }
    return {**env, **overrides}


def flask(tmp_path, *args, **env) -> subprocess.CompletedProcess:
    """Run the `flask` command as an operator would: a fresh process, outside the test suite."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name != TEST_SUITE_MARKER and name not in production_env() and not name.startswith("HOTLINE_")
    }
    env = {**inherited, "FLASK_APP": "hotline:create_app", "PYTHONPATH": str(ROOT), **env}
    command = [str(Path(sys.executable).parent / "flask"), *args]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def test_development_defaults(tmp_path):
    config = from_env(tmp_path, {"HOTLINE_ENV": "development"})
    assert config.development and not config.production
    assert config.database_url == f"sqlite:///{tmp_path / 'hotline.db'}"
    assert config.redis_url == "redis://127.0.0.1:6379/0"
    assert config.ussd_service_code == DEFAULT_SERVICE_CODE
    assert config.webhook_token is None and config.at_username is None
    assert len(config.secret_key) == 64
    assert from_env(tmp_path, {"HOTLINE_ENV": "development"}).secret_key == config.secret_key


def test_production_names_every_missing_secret(tmp_path):
    with pytest.raises(ConfigError) as caught:
        from_env(tmp_path, {})
    message = str(caught.value)
    for name in ("SECRET_KEY", "WEBHOOK_TOKEN", "PHONE_HASH_KEY", "CONTACT_KEY", "SMS_SHORT_CODE"):
        assert name in message


def test_production_starts_with_its_secrets(tmp_path):
    env = {
        **production_env(),
        "DATABASE_URL": "postgres://u@db/hotline",
        "AT_USERNAME": "sandbox",
        "AT_API_KEY": "k",
        "USSD_SERVICE_CODE": "*483*1#",
    }
    config = from_env(tmp_path, env)
    assert config.production
    assert config.database_url == "postgresql+psycopg://u@db/hotline"
    assert (config.at_username, config.ussd_service_code) == ("sandbox", "*483*1#")


def test_a_bad_contact_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match="CONTACT_KEY is not a valid Fernet key"):
        from_env(tmp_path, {"HOTLINE_ENV": "development", "CONTACT_KEY": "short"})


@pytest.mark.parametrize(("value", "premium"), [(None, False), ("yes", True), ("True", True), ("0", False)])
def test_premium_replies_are_off_unless_the_environment_says_yes(tmp_path, value, premium):
    env = {"HOTLINE_ENV": "development"} | ({"AT_PREMIUM_REPLIES": value} if value else {})
    assert from_env(tmp_path, env).at_premium_replies is premium


def test_a_premium_replies_setting_that_is_not_yes_or_no_is_named(tmp_path):
    with pytest.raises(ConfigError, match="AT_PREMIUM_REPLIES must be yes or no, not 'maybe'"):
        from_env(tmp_path, {"HOTLINE_ENV": "development", "AT_PREMIUM_REPLIES": "maybe"})


@pytest.mark.parametrize(("value", "concurrency"), [(None, 4), ("8", 8), ("0", 1)])
def test_campaign_concurrency_comes_from_the_environment_and_is_at_least_one(tmp_path, value, concurrency):
    env = {"HOTLINE_ENV": "development"} | ({"CAMPAIGN_CONCURRENCY": value} if value else {})
    assert from_env(tmp_path, env).campaign_concurrency == concurrency


def test_database_url_forms():
    assert normalise_database_url("postgresql://a/b") == "postgresql+psycopg://a/b"
    assert normalise_database_url("postgresql+psycopg://a/b") == "postgresql+psycopg://a/b"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_production_refuses_a_webhook_token_shorter_than_32_characters(tmp_path):
    with pytest.raises(ConfigError) as caught:
        from_env(tmp_path, production_env(WEBHOOK_TOKEN=TOKEN[:31]))
    assert "WEBHOOK_TOKEN is 31 characters; it must have at least 32" in str(caught.value)
    assert TOKEN[:31] not in str(caught.value)  # the error names the setting, never its value
    assert from_env(tmp_path, production_env(WEBHOOK_TOKEN=TOKEN)).webhook_token == TOKEN


@pytest.mark.parametrize("setting", ["SECRET_KEY", "WEBHOOK_TOKEN", "PHONE_HASH_KEY", "CONTACT_KEY"])
@pytest.mark.parametrize("dev_key", [DEV_PHONE_HASH_KEY, DEV_CONTACT_KEY], ids=["dev_hash", "dev_contact"])
def test_production_refuses_a_development_key_in_any_secret_setting(tmp_path, setting, dev_key):
    with pytest.raises(ConfigError) as caught:
        from_env(tmp_path, production_env(**{setting: dev_key}))
    assert f"{setting} is a development key, which is public" in str(caught.value)


def test_testing_mode_is_refused_outside_the_test_suite(tmp_path):
    with pytest.raises(ConfigError, match="HOTLINE_ENV=testing is reserved for the test suite"):
        from_env(tmp_path, {"HOTLINE_ENV": "testing"})
    assert from_env(tmp_path, {"HOTLINE_ENV": "testing", TEST_SUITE_MARKER: "1"}).testing
    result = flask(tmp_path, "seed", HOTLINE_ENV="testing")  # a shell that sets only HOTLINE_ENV
    assert result.returncode == 1
    assert "Error: HOTLINE_ENV=testing is reserved for the test suite" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_refused_production_config_is_a_message_for_cli_users_not_a_traceback(tmp_path):
    result = flask(tmp_path, "seed", **production_env(WEBHOOK_TOKEN="short"))
    assert result.returncode == 1
    assert "Error: Refusing to start in production mode" in result.stderr
    assert "WEBHOOK_TOKEN is 5 characters" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "short_code"),
    [
        ({"HOTLINE_ENV": "development"}, "21606"),  # the simulator's
        ({"HOTLINE_ENV": "development", "AT_SENDER_ID": "HOTLINE"}, "21606"),
        ({"HOTLINE_ENV": "development", "AT_SENDER_ID": "40404"}, "40404"),  # a short code sender
        ({"HOTLINE_ENV": "development", "AT_SENDER_ID": "40404", "SMS_SHORT_CODE": "22333"}, "22333"),
        (production_env(SMS_SHORT_CODE=""), None),  # blank is unset: refused below
    ],
)
def test_the_short_code_people_text(tmp_path, env, short_code):
    if short_code is None:
        with pytest.raises(ConfigError, match="SMS_SHORT_CODE is not set, and AT_SENDER_ID is not"):
            from_env(tmp_path, env)
        assert from_env(tmp_path, {**env, "AT_SENDER_ID": "40404"}).sms_short_code == "40404"
        return
    assert from_env(tmp_path, env).sms_short_code == short_code


@pytest.mark.parametrize("value", ["abc", "12", "123456789", "*384#", "２１６０６"])
def test_a_short_code_that_is_not_3_to_8_digits_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="SMS_SHORT_CODE must be the short code people text, 3 to 8 digits"):
        from_env(tmp_path, {"HOTLINE_ENV": "development", "SMS_SHORT_CODE": value})
