"""Driving a Streamlit page in headless Chromium (Playwright): waiting for a script run to end,
opening a page from the sidebar, picking a selectbox option by typing or the first one, finding a
person in a person choice, downloading a file."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from playwright.sync_api import Download, Locator, Page, expect


def settle(page: Page, timeout_ms: float) -> None:
    """The script run is over (Streamlit's running indicator gone)."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=timeout_ms)


def go(page: Page, title: str, heading: str, *, timeout_ms: float) -> None:
    """Open the page `title` from the sidebar and wait until its run has drawn `heading` and ended.
    Waiting for the heading first matters: right after the click no run is going yet, so `settle`
    alone passes at once, and text typed into the page while its run goes on can be lost."""
    page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click()
    expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=timeout_ms)
    settle(page, timeout_ms)


def choose(page: Page, label: str, text: str, *, timeout_ms: float, exact: bool = False) -> None:
    """Pick the option containing `text` in the selectbox `label` (typed, so a long list's option
    exists in the DOM), then wait for the rerun it starts."""
    box = page.get_by_test_id("stMain").get_by_role("combobox", name=label, exact=exact)
    expect(box).to_be_visible(timeout=timeout_ms)
    box.click()
    page.keyboard.type(text)
    page.get_by_role("option").filter(has_text=text).first.click()
    expect(box).to_have_value(re.compile(re.escape(text)), timeout=timeout_ms)
    settle(page, timeout_ms)


def open_list(page: Page, box: Locator, opened: Callable[[], None], timeout_ms: float) -> None:
    """Click `box` once no run is going until `opened()` holds: a click while a rerun redraws the box
    is lost (the list stays shut, or shows what the run replaces), so it is given again."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        settle(page, timeout_ms)
        box.click()
        try:
            opened()
            return
        except AssertionError:
            page.keyboard.press("Escape")
            if time.monotonic() > deadline:
                raise


def download(page: Page, button: Locator, *, timeout_ms: float) -> Download:
    """Click the download `button` once no run is going, and return the file it gives. One click is
    enough: the product's buttons do not rerun the page (`kontur.ui.tables.download`), and a rerun is
    what used to race a click's file."""
    settle(page, timeout_ms)
    with page.expect_download(timeout=timeout_ms) as got:
        button.click(timeout=timeout_ms)
    return got.value


def pick_first(page: Page, label: str, *, timeout_ms: float) -> None:
    """Pick the first option of the selectbox `label` once its list is open, and wait until the box
    shows it (the previous pick's rerun redraws the boxes below it: a click before that lands on a
    stale list)."""
    box = page.get_by_test_id("stMain").get_by_role("combobox", name=label, exact=True)
    expanded = box.and_(page.locator("[aria-expanded=true]"))
    open_list(page, box, lambda: expect(expanded).to_be_visible(timeout=2_000), timeout_ms)
    first = page.get_by_role("option").first
    text = first.inner_text().strip()
    first.click()
    # the value spaces its parts as the option's text does not: compare the first word
    expect(box).to_have_value(re.compile("^" + re.escape(text.split()[0])), timeout=timeout_ms)
    settle(page, timeout_ms)


def find_person(
    page: Page, search_label: str, label: str, text: str, *, timeout_ms: float, root: Locator | None = None
) -> None:
    """A person choice (`kontur.auth.person_choice`: a search box over a short list): type `text` into
    the search box `search_label`, wait for the narrowed list, pick its option holding `text` in the
    selectbox `label`, and wait until the box shows it and the rerun is over."""
    where = root if root is not None else page.get_by_test_id("stMain")
    where.get_by_role("textbox", name=search_label, exact=True).fill(text)
    page.keyboard.press("Enter")
    box = where.get_by_role("combobox", name=label, exact=True)
    option = page.get_by_role("option").filter(has_text=text).first
    # The search's rerun may not have started yet: a list opened before it ends is the old one.
    open_list(page, box, lambda: expect(option).to_be_visible(timeout=2_000), timeout_ms)
    option.click()
    expect(box).to_have_value(re.compile(re.escape(text)), timeout=timeout_ms)
    settle(page, timeout_ms)
