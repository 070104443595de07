"""Signing in through the real OIDC provider (`oidc-provider-mock`, started by
tests/e2e/conftest_auth.py: `run_oidc_provider`) in headless Chromium: the provider's people from a
directory's rows, the sign-in and sign-out round trips."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from playwright.sync_api import Page, expect

from tests.support.streamlit_page import settle


def claims_for(people: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One provider person per entry: `sub` the key, the e-mail from the directory row (verified)."""
    return [{"sub": sub, "email": person["email"], "email_verified": True} for sub, person in people.items()]


def sign_in(
    page: Page, url: str, sub: str, *, settle_ms: float | None = None, with_query: bool = True
) -> None:
    """From the app's sign-in screen through the provider's authorize page (one button per person),
    back to the app at `url` (a query string allowed unless `with_query=False`). With `settle_ms`,
    also until the navigation shows and the run has ended."""
    page.goto(url)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(re.compile(r"/oauth2/authorize"))
    page.get_by_role("button", name=sub, exact=True).click()
    page.wait_for_url(re.compile(re.escape(url) + (r"/?(\?.*)?$" if with_query else r"/?$")))
    if settle_ms is not None:
        expect(page.get_by_test_id("stSidebarNavLink").first).to_be_visible(timeout=settle_ms)
        settle(page, settle_ms)


def sign_out(page: Page, timeout_ms: float | None = None) -> None:
    """Through the provider's end-session page back to the sign-in screen."""
    page.get_by_test_id("stSidebar").get_by_role("button", name="Выйти").click()
    page.wait_for_url(re.compile(r"/oauth2/end_session"))
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("button", name="Войти")).to_be_visible(timeout=timeout_ms)
