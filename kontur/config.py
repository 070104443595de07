"""Runtime settings: where Brusnika is, how to authenticate, how patient to be, where the cache lives.

Built explicitly with `Settings.from_env(...)` by whoever needs them (the dashboard runtime, the CLI,
tests); there is deliberately no module-level settings object, so nothing is read at import time and
tests can build any configuration they like.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from kontur.retry import RetryPolicy

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE_PATH = REPO_ROOT / "data" / "kontur.duckdb"

# Setting name -> (environment variable, secrets section, key inside the section).
# The secrets layout (`.streamlit/secrets.toml`) is sectioned, lower-case keys:
#
#     [brusnika]
#     api_url = "https://brusnika.example/api/v1"
#     api_token = "..."
#     [kafka]
#     bootstrap_servers = "broker:9092"
#     sasl_password = "..."
#
# The environment always wins over secrets, so an operator can override one value without editing
# the file.
_SOURCES: dict[str, tuple[str, str, str]] = {
    "api_url": ("BRUSNIKA_API_URL", "brusnika", "api_url"),
    "api_token": ("BRUSNIKA_API_TOKEN", "brusnika", "api_token"),
    "connect_timeout": ("BRUSNIKA_CONNECT_TIMEOUT", "brusnika", "connect_timeout"),
    "read_timeout": ("BRUSNIKA_READ_TIMEOUT", "brusnika", "read_timeout"),
    "retry_max_attempts": ("BRUSNIKA_RETRY_MAX_ATTEMPTS", "brusnika", "retry_max_attempts"),
    "retry_backoff_base": ("BRUSNIKA_RETRY_BACKOFF_BASE", "brusnika", "retry_backoff_base"),
    "retry_backoff_cap": ("BRUSNIKA_RETRY_BACKOFF_CAP", "brusnika", "retry_backoff_cap"),
    "retry_max_retry_after": ("BRUSNIKA_RETRY_MAX_RETRY_AFTER", "brusnika", "retry_max_retry_after"),
    "cache_path": ("KONTUR_CACHE_PATH", "kontur", "cache_path"),
    "kafka_bootstrap_servers": ("KAFKA_BOOTSTRAP_SERVERS", "kafka", "bootstrap_servers"),
    "kafka_group_id": ("KAFKA_GROUP_ID", "kafka", "group_id"),
    "kafka_security_protocol": ("KAFKA_SECURITY_PROTOCOL", "kafka", "security_protocol"),
    "kafka_sasl_mechanism": ("KAFKA_SASL_MECHANISM", "kafka", "sasl_mechanism"),
    "kafka_sasl_username": ("KAFKA_SASL_USERNAME", "kafka", "sasl_username"),
    "kafka_sasl_password": ("KAFKA_SASL_PASSWORD", "kafka", "sasl_password"),
    "kafka_ssl_ca_location": ("KAFKA_SSL_CA_LOCATION", "kafka", "ssl_ca_location"),
}


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the variable, never a secret value."""


class Settings(BaseModel):
    """Everything configurable about talking to Brusnika and keeping the cache.

    `api_url` is the API base *including* `/api/v1`; `None` means "no Brusnika configured: use the
    embedded sandbox". Secrets are `SecretStr`, so repr/str/logging show `**********`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    api_url: str | None = None
    api_token: SecretStr | None = None
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    retry_max_attempts: int = Field(default=5, ge=1)
    retry_backoff_base: float = Field(default=0.5, ge=0)
    retry_backoff_cap: float = Field(default=30.0, ge=0)
    # A Retry-After longer than this is not waited out: the caller gets RateLimitedError at once
    # rather than a dashboard frozen for an hour.
    retry_max_retry_after: float = Field(default=120.0, ge=0)
    cache_path: Path = DEFAULT_CACHE_PATH
    kafka_bootstrap_servers: str | None = None
    kafka_group_id: str = "kontur-dashboard"
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_location: str | None = None

    @field_validator("api_url")
    @classmethod
    def _normalise_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None
    ) -> Settings:
        """Settings from `env` (default: `os.environ`) over `secrets` (e.g. `st.secrets`).

        `secrets` uses sections: `[brusnika]` (api_url, api_token, connect_timeout, read_timeout,
        retry_max_attempts, retry_backoff_base, retry_backoff_cap, retry_max_retry_after),
        `[kontur]` (cache_path) and `[kafka]` (bootstrap_servers, group_id, security_protocol,
        sasl_mechanism, sasl_username, sasl_password, ssl_ca_location). Empty strings count as unset.
        """
        if env is None:
            import os

            env = os.environ
        values: dict[str, Any] = {}
        for name, (env_name, section, key) in _SOURCES.items():
            value = env.get(env_name)
            if value is None or value == "":
                value = _secret_value(secrets, section, key)
            if value is None or value == "":
                continue
            values[name] = value
        try:
            return cls(**values)
        except ValidationError as exc:
            # Name the variables, never echo their values (the token could be among them).
            problems = "; ".join(
                f"{_SOURCES[str(err['loc'][0])][0]}: {err['msg']}" for err in exc.errors() if err["loc"]
            )
            raise SettingsError(f"invalid settings: {problems}") from None

    @property
    def uses_sandbox(self) -> bool:
        """True when no Brusnika URL is configured and the embedded sandbox should serve instead."""
        return self.api_url is None

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.retry_max_attempts,
            backoff_base=self.retry_backoff_base,
            backoff_cap=self.retry_backoff_cap,
            max_retry_after=self.retry_max_retry_after,
        )

    def kafka_client_config(self) -> dict[str, str]:
        """librdkafka (confluent-kafka) configuration for the broker connection, group included.

        The returned dict holds the SASL password in clear (librdkafka needs it): never log it.
        """
        if not self.kafka_bootstrap_servers:
            raise SettingsError("KAFKA_BOOTSTRAP_SERVERS is not set")
        config = {
            "bootstrap.servers": self.kafka_bootstrap_servers,
            "group.id": self.kafka_group_id,
            "security.protocol": self.kafka_security_protocol,
        }
        if self.kafka_sasl_mechanism:
            config["sasl.mechanism"] = self.kafka_sasl_mechanism
        if self.kafka_sasl_username:
            config["sasl.username"] = self.kafka_sasl_username
        if self.kafka_sasl_password is not None:
            config["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_ssl_ca_location:
            config["ssl.ca.location"] = self.kafka_ssl_ca_location
        return config


def _secret_value(secrets: Mapping[str, Any] | None, section: str, key: str) -> Any:
    if secrets is None:
        return None
    try:
        block = secrets.get(section) if hasattr(secrets, "get") else secrets[section]
    except (KeyError, FileNotFoundError):
        # st.secrets raises FileNotFoundError when there is no secrets.toml at all.
        return None
    if block is None or not hasattr(block, "get"):
        return None
    return block.get(key)
