"""Runtime settings: where Brusnika is, how to authenticate, how patient to be, where the cache lives.

Built explicitly with `Settings.from_env(...)` by whoever needs them (the dashboard runtime, the CLI,
tests); there is deliberately no module-level settings object, so nothing is read at import time and
tests can build any configuration they like.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from kontur.retry import RetryPolicy

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE_PATH = REPO_ROOT / "data" / "kontur.duckdb"
# Kontur's own records (users, audit, what was booked through Kontur) when no database URL is set: an
# embedded SQLite file beside the cache file, never inside it (the cache can be deleted at any time):
# `data/kontur.duckdb` -> `data/kontur-ops.sqlite`. Beside it, so each cache file (a test's, a
# benchmark's) has its own; replicas that must share their records set KONTUR_DATABASE_URL.
OPS_SUFFIX = "-ops.sqlite"

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
    "database_url": ("KONTUR_DATABASE_URL", "kontur", "database_url"),
    "demo_scale": ("KONTUR_DEMO_SCALE", "kontur", "demo_scale"),
    "auto_sync": ("KONTUR_AUTO_SYNC", "kontur", "auto_sync"),
    "sync_interval": ("KONTUR_SYNC_INTERVAL", "kontur", "sync_interval"),
    "full_sync_every": ("KONTUR_FULL_SYNC_EVERY", "kontur", "full_sync_every"),
    "full_sync_at": ("KONTUR_FULL_SYNC_AT", "kontur", "full_sync_at"),
    "stale_after": ("KONTUR_STALE_AFTER", "kontur", "stale_after"),
    "interactive_budget": ("KONTUR_INTERACTIVE_BUDGET", "kontur", "interactive_budget"),
    "insecure_dev_picker": ("KONTUR_INSECURE_DEV_PICKER", "kontur", "insecure_dev_picker"),
    "email_verified_optional": ("KONTUR_EMAIL_VERIFIED_OPTIONAL", "kontur", "email_verified_optional"),
    "media_hosts": ("KONTUR_MEDIA_HOSTS", "kontur", "media_hosts"),
    "mortgage_presets": ("KONTUR_MORTGAGE_PRESETS", "mortgage", "presets"),
    "map_style": ("KONTUR_MAP_STYLE", "kontur", "map_style"),
    "map_tiles_url": ("KONTUR_MAP_TILES_URL", "kontur", "map_tiles_url"),
    "fixing_warning_days": ("KONTUR_FIXING_WARNING_DAYS", "kontur", "fixing_warning_days"),
    "kafka_bootstrap_servers": ("KAFKA_BOOTSTRAP_SERVERS", "kafka", "bootstrap_servers"),
    "kafka_group_id": ("KAFKA_GROUP_ID", "kafka", "group_id"),
    "kafka_security_protocol": ("KAFKA_SECURITY_PROTOCOL", "kafka", "security_protocol"),
    "kafka_sasl_mechanism": ("KAFKA_SASL_MECHANISM", "kafka", "sasl_mechanism"),
    "kafka_sasl_username": ("KAFKA_SASL_USERNAME", "kafka", "sasl_username"),
    "kafka_sasl_password": ("KAFKA_SASL_PASSWORD", "kafka", "sasl_password"),
    "kafka_ssl_ca_location": ("KAFKA_SSL_CA_LOCATION", "kafka", "ssl_ca_location"),
}


class MortgagePreset(BaseModel):
    """A mortgage programme a manager picks from; every number stays editable in the estimate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    rate: float = Field(ge=0, lt=100)  # annual, per cent
    down_payment_share: float = Field(ge=0, lt=1)  # of the price
    term_years: int = Field(ge=1, le=50)


# Examples of the two programmes managers quote most; set the current terms in `[[mortgage.presets]]`
# or KONTUR_MORTGAGE_PRESETS (a JSON list of the same objects).
DEFAULT_MORTGAGE_PRESETS: tuple[MortgagePreset, ...] = (
    MortgagePreset(name="Семейная ипотека", rate=6.0, down_payment_share=0.2, term_years=30),
    MortgagePreset(name="Стандартная ипотека", rate=20.0, down_payment_share=0.2, term_years=20),
)

# Map tiles (`kontur.ui.map` turns each into an inline style with a plain background under raster
# tiles, so with no network the points still render): Carto light or dark, OpenStreetMap, or none.
# `map_tiles_url` (an https `{z}/{x}/{y}` template) points at a company's own tile server instead.
MAP_STYLES: tuple[str, ...] = ("carto-positron", "carto-darkmatter", "open-street-map", "white-bg")


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
    # SQLAlchemy URL of Kontur's operational store (e.g. `postgresql+psycopg://user:pw@host/db`); None:
    # the embedded SQLite file beside the cache (`ops_path`). A secret: it may carry the password.
    database_url: SecretStr | None = None
    # Size of the embedded sandbox in demo mode (1 = 100,000 premises).
    demo_scale: float = Field(default=0.1, gt=0)
    # Automatic syncs (kontur.scheduler): False = none at all, not even filling an empty cache (only
    # «Синхронизировать»; tests use it to keep a cache as they filled it); None/True = the schedule below,
    # which also fills an empty cache as soon as the dashboard process starts.
    auto_sync: bool | None = None
    # The runtime's schedule: an incremental REST sync every `sync_interval` seconds (0 = off) and a
    # full reconciling one every `full_sync_every` seconds (0 = off), at `full_sync_at` ("HH:MM", local
    # time; for periods of a day or more).
    sync_interval: float = Field(default=60.0, ge=0)
    full_sync_every: float = Field(default=86400.0, ge=0)
    full_sync_at: str | None = None
    # Older than this (seconds) the data is shown as stale on every page.
    stale_after: float = Field(default=600.0, gt=0)
    # How long a person waits for a form's call to Brusnika, retries included (seconds).
    interactive_budget: float = Field(default=10.0, gt=0)
    # Development only: the «act as» picker against a configured API without sign-in (red banner).
    insecure_dev_picker: bool = False
    # Accept sign-ins whose provider never sends `email_verified` (an explicit false is still refused).
    email_verified_optional: bool = False
    # Hosts besides the API's own whose https pictures and links pages may show (and the server may
    # fetch plans from): exact names or `*.example.ru`; comma-separated in the environment.
    media_hosts: tuple[str, ...] = ()
    # Mortgage programmes the estimate offers (a premise's card, a selection's PDF).
    mortgage_presets: tuple[MortgagePreset, ...] = Field(default=DEFAULT_MORTGAGE_PRESETS, min_length=1)
    # The map of cities and projects: tiles by name (`MAP_STYLES`), or a company's own https
    # `{z}/{x}/{y}` template in `map_tiles_url`.
    map_style: str = "carto-positron"
    map_tiles_url: str | None = None
    # «Сегодня»: clients whose fixing ends within this many days are listed.
    fixing_warning_days: int = Field(default=7, ge=1, le=90)
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

    @field_validator("media_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        return tuple(h.strip().lower() for h in value or () if h and str(h).strip())

    @field_validator("mortgage_presets", mode="before")
    @classmethod
    def _presets(cls, value: Any) -> Any:
        # The environment gives a JSON list; secrets.toml a list of tables (mappings).
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError("must be a JSON list of presets") from None
        if isinstance(value, Mapping) or not isinstance(value, list | tuple):
            raise ValueError("must be a list of presets")
        return [dict(p) if isinstance(p, Mapping) or hasattr(p, "keys") else p for p in value]

    @field_validator("map_style")
    @classmethod
    def _known_style(cls, value: str) -> str:
        value = value.strip()
        if value not in MAP_STYLES:
            raise ValueError(f"must be one of {', '.join(MAP_STYLES)}")
        return value

    @field_validator("map_tiles_url")
    @classmethod
    def _tiles_template(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith("https://") or not all(part in value for part in ("{z}", "{x}", "{y}")):
            raise ValueError("must be an https:// URL template with {z}, {x} and {y}")
        return value

    @field_validator("full_sync_at")
    @classmethod
    def _check_hhmm(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        hours, sep, minutes = value.partition(":")
        if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
            raise ValueError("must be HH:MM")
        if not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
            raise ValueError("must be a time of day, HH:MM")
        return f"{int(hours):02d}:{minutes}"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None
    ) -> Settings:
        """Settings from `env` (default: `os.environ`) over `secrets` (e.g. `st.secrets`).

        `secrets` uses sections: `[brusnika]` (api_url, api_token, connect_timeout, read_timeout,
        retry_max_attempts, retry_backoff_base, retry_backoff_cap, retry_max_retry_after),
        `[kontur]` (cache_path, database_url, demo_scale, auto_sync, sync_interval, full_sync_every,
        full_sync_at, stale_after, interactive_budget, insecure_dev_picker, email_verified_optional,
        media_hosts, map_style, map_tiles_url, fixing_warning_days), `[mortgage]` (presets: a list of
        tables `[[mortgage.presets]]` with name, rate, down_payment_share, term_years; in the
        environment KONTUR_MORTGAGE_PRESETS is the same list as JSON)
        and `[kafka]` (bootstrap_servers, group_id, security_protocol, sasl_mechanism, sasl_username,
        sasl_password, ssl_ca_location). Empty strings count as unset.
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
                f"{_SOURCES[str(err['loc'][0])][0]}{_where(err['loc'][1:])}: {err['msg']}"
                for err in exc.errors()
                if err["loc"]
            )
            raise SettingsError(f"invalid settings: {problems}") from None

    @property
    def uses_sandbox(self) -> bool:
        """True when no Brusnika URL is configured and the embedded sandbox should serve instead."""
        return self.api_url is None

    def ops_database_url(self) -> str:
        """The operational store's SQLAlchemy URL in clear (it may hold a password: never log it)."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.ops_path}"

    @property
    def ops_path(self) -> Path:
        """The default operational store file: beside the cache, `<cache stem>-ops.sqlite`."""
        return self.cache_path.with_name(self.cache_path.stem + OPS_SUFFIX)

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


def _where(loc: tuple[Any, ...]) -> str:
    """Where inside a structured setting a problem is: `[0].rate` (a list item's field)."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


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
