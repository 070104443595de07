"""Settings: environment over secrets, defaults, validation that names variables but never secrets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kontur.config import DEFAULT_CACHE_PATH, REPO_ROOT, Settings, SettingsError
from kontur.retry import RetryPolicy

TOKEN = "tok-3f9a1c-very-secret"


def test_defaults_mean_embedded_sandbox() -> None:
    settings = Settings.from_env(env={}, secrets=None)
    assert settings.api_url is None
    assert settings.uses_sandbox
    assert settings.api_token is None
    assert settings.cache_path == REPO_ROOT / "data" / "kontur.duckdb" == DEFAULT_CACHE_PATH
    assert settings.connect_timeout > 0
    assert settings.read_timeout > 0
    assert settings.retry_policy() == RetryPolicy(
        max_attempts=settings.retry_max_attempts,
        backoff_base=settings.retry_backoff_base,
        backoff_cap=settings.retry_backoff_cap,
        max_retry_after=settings.retry_max_retry_after,
    )


def test_environment_values_are_read_and_typed() -> None:
    env = {
        "BRUSNIKA_API_URL": "http://127.0.0.1:8765/api/v1/",
        "BRUSNIKA_API_TOKEN": TOKEN,
        "BRUSNIKA_CONNECT_TIMEOUT": "2.5",
        "BRUSNIKA_READ_TIMEOUT": "40",
        "BRUSNIKA_RETRY_MAX_ATTEMPTS": "3",
        "KONTUR_CACHE_PATH": "/tmp/somewhere/cache.duckdb",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
        "KAFKA_SASL_PASSWORD": "kafka-pass-123",
    }
    settings = Settings.from_env(env=env)
    # Trailing slash dropped so paths join the same way whichever form the operator wrote.
    assert settings.api_url == "http://127.0.0.1:8765/api/v1"
    assert not settings.uses_sandbox
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == TOKEN
    assert settings.connect_timeout == 2.5
    assert settings.read_timeout == 40.0
    assert settings.retry_max_attempts == 3
    assert settings.cache_path == Path("/tmp/somewhere/cache.duckdb")
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"


def test_environment_overrides_sectioned_secrets() -> None:
    secrets = {
        "brusnika": {"api_url": "https://from-secrets.example/api/v1", "api_token": "secret-token-1"},
        "kafka": {"bootstrap_servers": "kafka:9092", "sasl_username": "kontur", "sasl_password": "pw"},
        "kontur": {"cache_path": "/var/cache/kontur.duckdb"},
    }
    env = {"BRUSNIKA_API_TOKEN": "env-token-2", "KAFKA_SASL_USERNAME": ""}
    settings = Settings.from_env(env=env, secrets=secrets)
    assert settings.api_url == "https://from-secrets.example/api/v1"
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "env-token-2"
    # An empty environment value counts as unset, so the secrets' value stands.
    assert settings.kafka_sasl_username == "kontur"
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.cache_path == Path("/var/cache/kontur.duckdb")


def test_repr_str_and_logs_never_show_secrets(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.from_env(
        env={"BRUSNIKA_API_TOKEN": TOKEN, "KAFKA_SASL_PASSWORD": "kafka-pass-123"}, secrets=None
    )
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("settings: %s / %r", settings, settings)
    for text in (repr(settings), str(settings), caplog.text, settings.model_dump_json()):
        assert TOKEN not in text
        assert "kafka-pass-123" not in text


def test_invalid_values_name_the_variable_not_the_value() -> None:
    with pytest.raises(SettingsError) as excinfo:
        Settings.from_env(env={"BRUSNIKA_READ_TIMEOUT": "soon", "BRUSNIKA_API_TOKEN": TOKEN})
    assert "BRUSNIKA_READ_TIMEOUT" in str(excinfo.value)
    assert TOKEN not in str(excinfo.value)
    with pytest.raises(SettingsError, match="BRUSNIKA_API_URL"):
        Settings.from_env(env={"BRUSNIKA_API_URL": "ftp://nope"})
    with pytest.raises(SettingsError, match="BRUSNIKA_RETRY_MAX_ATTEMPTS"):
        Settings.from_env(env={"BRUSNIKA_RETRY_MAX_ATTEMPTS": "0"})


def test_kafka_client_config_carries_sasl_only_when_set() -> None:
    plain = Settings.from_env(env={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "KAFKA_GROUP_ID": "g1"})
    assert plain.kafka_client_config() == {
        "bootstrap.servers": "127.0.0.1:9092",
        "group.id": "g1",
        "security.protocol": "PLAINTEXT",
    }
    sasl = Settings.from_env(
        env={
            "KAFKA_BOOTSTRAP_SERVERS": "b:9093",
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": "kontur",
            "KAFKA_SASL_PASSWORD": "kafka-pass-123",
            "KAFKA_SSL_CA_LOCATION": "/etc/ssl/ca.pem",
        }
    )
    config = sasl.kafka_client_config()
    assert config["sasl.password"] == "kafka-pass-123"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["ssl.ca.location"] == "/etc/ssl/ca.pem"
    with pytest.raises(SettingsError, match="KAFKA_BOOTSTRAP_SERVERS"):
        Settings.from_env(env={}).kafka_client_config()


def test_secrets_mapping_without_sections_is_tolerated() -> None:
    # A secrets.toml holding other apps' keys (or none of ours) must not break start-up.
    settings = Settings.from_env(env={}, secrets={"brusnika": "not-a-table", "other": {"x": 1}})
    assert settings.api_url is None


def test_the_operational_store_defaults_to_a_file_beside_the_cache(tmp_path: Path) -> None:
    """Kontur's own records never live inside the cache file (deleting it must not reach them), and
    each cache file has its own store unless KONTUR_DATABASE_URL names a shared one."""
    settings = Settings.from_env({"KONTUR_CACHE_PATH": str(tmp_path / "kontur.duckdb")})
    assert settings.ops_database_url() == f"sqlite:///{tmp_path / 'kontur-ops.sqlite'}"
    shared = Settings.from_env({"KONTUR_DATABASE_URL": "postgresql+psycopg://k:secret@db/kontur"})
    assert shared.ops_database_url() == "postgresql+psycopg://k:secret@db/kontur"
    assert "secret" not in repr(shared)
    assert Settings.from_env({"KONTUR_MEDIA_HOSTS": "cdn.brusnika.ru, *.Brusnika.ru"}).media_hosts == (
        "cdn.brusnika.ru",
        "*.brusnika.ru",
    )
