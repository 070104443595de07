"""The pages of issue 14 on a hostile sandbox world in real Chromium: project card, map, selections
and «Сегодня» with a hostile client and selection render every payload as inert text (no injected
element, no dialog), and the selection's XLSX has no formula cell."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from kontur.sandbox import hostile
from kontur.sandbox.server import RunningSandbox, start_sandbox
from kontur.store import selections as store_sel
from kontur.store.db import Store
from tests.support import streamlit_page
from tests.support.features import SEED, found_through_kontur
from tests.support.features_browser import WAIT_MS, act_as, features_app, idle, open_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def world() -> Iterator[RunningSandbox]:
    with start_sandbox(scale=0.01, seed=SEED + 7, extra_args=("--hostile",)) as running:
        yield running


def test_hostile_text_stays_text_on_the_new_pages(
    page: Page, world: RunningSandbox, tmp_path: Path, artifacts_dir: Path
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    admin = world.admin()
    agent = next(
        u for u in admin.users() if u["role"] == "AGENT" and u["status"] == "active" and u["agency_id"]
    )
    premises = [p for p in admin.records("premises") if not p["is_booked"] and not p["is_sold"]][:3]
    payload = '<img src=x onerror="alert(1)"> =HYPERLINK("http://evil.example") [жми](javascript:alert(2))'
    with features_app(world, tmp_path, artifacts_dir / "streamlit-features-hostile.log") as (
        url,
        _,
        store_url,
    ):
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
        admin.create_client(
            agent_id=agent["id"],
            fixing_type="слабое закрепление",
            expiration_date=expires.isoformat(),
            fullname=payload,
            phone_number="+79990002233",
        )
        with Store.open(store_url) as store:
            found_through_kontur(world, store, "+79990002233", recorded_by=agent["id"])
            with store.write() as tx:
                made = store_sel.create_selection(
                    tx, name=payload, owner_id=agent["id"], agency_id=agent["agency_id"], client_name=payload
                )
                for p in premises:
                    store_sel.add_premise(
                        tx,
                        made.id,
                        premise_id=p["id"],
                        price=p["price"],
                        status="free",
                        added_by=agent["id"],
                        agent_ids=None,
                    )
        page.set_viewport_size({"width": 1500, "height": 1100})
        open_page(page, url, "", "Сегодня")
        act_as(page, agent)
        expect(page.get_by_test_id("stMain")).to_contain_text("Закрепление истекает", timeout=WAIT_MS)
        assert page.evaluate(hostile.INJECTION_PROBE_JS) == []
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Подборки").click()
        expect(page.get_by_role("heading", name="Подборки").first).to_be_visible(timeout=WAIT_MS)
        idle(page)
        expect(page.get_by_test_id("stMain")).to_contain_text("HYPERLINK", timeout=WAIT_MS)  # shown as text
        assert page.evaluate(hostile.INJECTION_PROBE_JS) == []
        download = streamlit_page.download(
            page, page.get_by_role("button", name="Скачать XLSX"), timeout_ms=WAIT_MS
        )
        book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
        for row in book["Подборка"].iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate
                assert not (
                    isinstance(cell.value, str) and cell.value.startswith(hostile.FORMULA_PREFIXES)
                ), cell.value
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Проект").click()
        expect(page.locator(".js-plotly-plot")).to_be_visible(timeout=WAIT_MS)
        idle(page)
        assert page.evaluate(hostile.INJECTION_PROBE_JS) == []
        assert not page.get_by_test_id("stException").count()
    assert dialogs == []
