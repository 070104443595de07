"""What every page shares with the dashboard process: its settings and its one `Runtime`."""

from __future__ import annotations

from typing import Any

import streamlit as st

from kontur.config import Settings
from kontur.runtime import Runtime, start_runtime


def settings() -> Settings:
    """Settings from the environment over `.streamlit/secrets.toml` (re-read each run: cheap)."""
    # Only touch st.secrets when a secrets.toml exists: reading a missing one is an error.
    secrets: Any = st.secrets if st.secrets.load_if_toml_exists() else None
    return Settings.from_env(secrets=secrets)


@st.cache_resource(show_spinner="Подготовка кэша…")
def _runtime(cache_path: str, api_url: str | None) -> Runtime:
    # Keyed by where the data lives (never by the token): one runtime per configuration, so tests
    # that point the app at another cache file get their own.
    return start_runtime(settings())


def runtime() -> Runtime:
    s = settings()
    return _runtime(str(s.cache_path), s.api_url)
