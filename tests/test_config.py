"""Configuration from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from hotline.config import DEFAULT_SERVICE_CODE, from_env, normalise_database_url
from hotline.errors import ConfigError


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
    for name in ("SECRET_KEY", "WEBHOOK_TOKEN", "PHONE_HASH_KEY", "CONTACT_KEY"):
        assert name in message


def test_production_starts_with_its_secrets(tmp_path):
    env = {
        "SECRET_KEY": "s",
        "WEBHOOK_TOKEN": "t",
        "PHONE_HASH_KEY": "p",
        "CONTACT_KEY": Fernet.generate_key().decode(),
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


def test_database_url_forms():
    assert normalise_database_url("postgresql://a/b") == "postgresql+psycopg://a/b"
    assert normalise_database_url("postgresql+psycopg://a/b") == "postgresql+psycopg://a/b"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"
