"""The sign-in gate of the dashboard, on Streamlit's native OIDC sign-in (`st.login` / `st.user`).

Configured by the `[auth]` section of `.streamlit/secrets.toml`:

    [auth]
    redirect_uri = "https://kontur.example/oauth2callback"   # this app's URL + /oauth2callback
    cookie_secret = "<long random string>"                   # signs Streamlit's identity cookie
    client_id = "kontur-dashboard"
    client_secret = "<from the provider>"
    server_metadata_url = "https://sso.example/.well-known/openid-configuration"

(or the provider keys in one named sub-section, `[auth.company]`). Streamlit serves `/auth/login`,
`/oauth2callback` and `/auth/logout` itself (Authlib underneath, PKCE when the provider offers it)
and keeps the provider's claims in a signed cookie; this module decides what a person then sees.

Without `[auth]` `gate` returns None; `kontur.auth.session` decides what that allows (the demo picker
on the embedded sandbox only, see `session.access_mode`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import streamlit as st

from kontur.models import User

from .identity import Refusal, RefusalCode, SignedIn, claims_email, match_user
from .policy import role_summary

_AUTH_KEYS = ("redirect_uri", "cookie_secret")
_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
SIGNED_IN_STATE_KEY = "kontur.auth.signed_in"


@dataclass(frozen=True)
class AuthConfig:
    provider: str | None  # None: the provider keys sit in [auth] itself (st.login's "default")
    problems: list[str] = field(default_factory=list)  # names of missing keys, never values


def auth_config(secrets: Mapping[str, Any] | None) -> AuthConfig | None:
    """The sign-in configuration, or None when there is no `[auth]` section (demo mode)."""
    section = _section(secrets, "auth")
    if section is None:
        return None
    problems = [f"[auth] {key}" for key in _AUTH_KEYS if not section.get(key)]
    named = [name for name, value in section.items() if _is_mapping(value) and "client_id" in value]
    if len(named) > 1:
        problems.append("[auth]: only one provider section is supported")
    provider = named[0] if len(named) == 1 else None
    keys = section[provider] if provider else section
    where = f"[auth.{provider}]" if provider else "[auth]"
    problems += [f"{where} {key}" for key in _PROVIDER_KEYS if not keys.get(key)]
    redirect = str(section.get("redirect_uri") or "")
    if redirect and not redirect.rstrip("/").endswith("/oauth2callback"):
        problems.append("[auth] redirect_uri must end with /oauth2callback")
    return AuthConfig(provider=provider, problems=problems)


def _is_mapping(value: Any) -> bool:
    return hasattr(value, "get") and hasattr(value, "items")


def _section(secrets: Mapping[str, Any] | None, name: str) -> Mapping[str, Any] | None:
    if secrets is None:
        return None
    try:
        value = secrets.get(name)
    except FileNotFoundError:  # st.secrets without any secrets.toml
        return None
    return value if value is not None and _is_mapping(value) else None


def auth_enabled() -> bool:
    """True when this process runs with sign-in (an `[auth]` section exists, even a broken one)."""
    return auth_config(st.secrets) is not None


def gate(
    find_users: Callable[[str], Iterable[User]], *, email_verified_optional: bool = False
) -> SignedIn | None:
    """Let through only a signed-in person the directory knows as active; everything else stops here.

    `find_users(email)` returns the directory entries with that email. Returns None without `[auth]`
    (the caller decides what that means), the acting person otherwise; in every other case it draws
    the sign-in screen or the refusal and calls `st.stop()`, so nothing below it (pages, sidebar,
    data) is ever drawn. `email_verified_optional`: accept a provider that never sends
    `email_verified` (an explicit false is refused regardless).
    """
    config = auth_config(st.secrets)
    if config is None:
        st.session_state.pop(SIGNED_IN_STATE_KEY, None)
        return None
    if config.problems:
        problems = "; ".join(config.problems)
        only_screen(
            lambda: st.error(
                f"Вход настроен не полностью, обратитесь к администратору. Не хватает: {problems}"
            )
        )
    if not st.user.is_logged_in:
        st.session_state.pop(SIGNED_IN_STATE_KEY, None)
        only_screen(lambda: _sign_in_screen(config))
    result = check_signed_in(find_users, email_verified_optional=email_verified_optional)
    if isinstance(result, Refusal):
        st.session_state.pop(SIGNED_IN_STATE_KEY, None)
        only_screen(lambda: _refusal_screen(result))
    st.session_state[SIGNED_IN_STATE_KEY] = result
    return result


def check_signed_in(
    find_users: Callable[[str], Iterable[User]], *, email_verified_optional: bool = False
) -> SignedIn | Refusal:
    """The person behind this session's identity cookie, matched to the directory afresh (nothing
    drawn): what `gate` decides, and what a fragment or dialog rerun checks again."""
    if not st.user.is_logged_in:
        return Refusal(RefusalCode.SIGNED_OUT, "Вход не выполнен.")
    claims = st.user.to_dict()
    email = claims_email(claims)
    return match_user(
        claims, find_users(email) if email else [], email_verified_optional=email_verified_optional
    )


def only_screen(draw: Callable[[], None], *, title: str = "Вход") -> NoReturn:
    """Draw one screen as the app's only page, then stop. The navigation must be replaced, not just
    left undrawn: a run that never calls `st.navigation` makes Streamlit fall back to listing (and
    serving) the `pages/` folder, which would put every page one click past the gate."""
    st.navigation([st.Page(draw, title=title, url_path="signin", default=True)], position="hidden").run()
    st.stop()


def _sign_in_screen(config: AuthConfig) -> None:
    st.title("Контур · Брусника")
    st.write("Войдите через корпоративную учётную запись, чтобы продолжить.")
    if st.button("Войти", type="primary", key="kontur-auth-login"):
        st.login(config.provider)  # None means the provider keys sit in [auth] itself


def _refusal_screen(refusal: Refusal) -> None:
    st.title("Вход не выполнен")
    # The reason quotes the address the provider gave: plain text, never markdown.
    with st.container(border=True):
        st.text(refusal.reason)
    if st.button("Выйти", key="kontur-auth-logout-refused"):
        st.logout()


def sidebar_account(signed_in: SignedIn) -> None:
    """Who is signed in, their role as in force, and the sign-out button."""
    with st.sidebar:
        st.caption("Вы вошли как")
        # Plain text elements: a name from the directory is never read as markdown.
        st.text(f"{signed_in.user.display_name}\n{signed_in.email}")
        st.caption(role_summary(signed_in.user))
        if st.button("Выйти", key="kontur-auth-logout"):
            st.logout()


def signed_in() -> SignedIn | None:
    """The person `gate` let through on this session's latest run (for pages and forms)."""
    value = st.session_state.get(SIGNED_IN_STATE_KEY)
    return value if isinstance(value, SignedIn) else None
