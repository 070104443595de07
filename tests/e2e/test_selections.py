"""A selection built in real Chromium from three premises, one of which the sandbox then books: after
the next sync the selection marks it; its PDF (read back with pypdf: premise numbers, prices and
срок сдачи in Cyrillic) and XLSX (read back with openpyxl: the same rows) download from the page.
Screenshot: test-artifacts/selection.png."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from kontur.sandbox.server import RunningSandbox, start_sandbox
from kontur.store import selections as store_sel
from kontur.store.db import Store
from tests.support import streamlit_page
from tests.support.features import SEED
from tests.support.features_browser import WAIT_MS, act_as, features_app, idle, open_page, sync_now

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def world() -> Iterator[RunningSandbox]:
    with start_sandbox(scale=0.01, seed=SEED + 4) as running:
        yield running


@pytest.fixture(scope="module")
def served(
    world: RunningSandbox, tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[tuple[str, Path, str]]:
    with features_app(
        world, tmp_path_factory.mktemp("sel-e2e"), artifacts_dir / "streamlit-selections.log"
    ) as s:
        yield s


def _rub(value: int) -> str:
    return f"{value:,}".replace(",", " ") + " ₽"


def _pdf_text(data: bytes) -> str:
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"[\u00a0\u202f \n]+", " ", text)


def test_selection_marks_a_booked_premise_and_exports_pdf_and_xlsx(
    page: Page, world: RunningSandbox, served: tuple[str, Path, str], artifacts_dir: Path
) -> None:
    url, _, store_url = served
    admin = world.admin()
    agent = max(
        (u for u in admin.users() if u["role"] == "AGENT" and u["status"] == "active" and u["agency_id"]),
        key=lambda u: u["id"],
    )
    premises = [
        p
        for p in admin.records("premises")
        if p["type"] == "apartment" and not p["is_booked"] and not p["is_sold"]
    ]
    chosen = [premises[0], premises[len(premises) // 2], premises[-1]]
    page.set_viewport_size({"width": 1500, "height": 1100})
    open_page(page, url, "selections", "Подборки")
    act_as(page, agent)
    page.get_by_label("Название подборки").fill("Для семьи Ивановых")
    page.get_by_label("Клиент (ФИО)").fill("Иванова Мария Петровна")
    page.get_by_role("button", name="Создать подборку").click()
    idle(page)
    expect(page.get_by_role("heading", name="Для семьи Ивановых")).to_be_visible(timeout=WAIT_MS)
    idle(page)  # the heading is drawn mid-run: typing before the run ends may be lost
    page.get_by_label("Добавить помещения по ID (через запятую)").fill(
        ", ".join(str(p["id"]) for p in chosen)
    )
    page.get_by_role("button", name="Добавить", exact=True).click()
    idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Помещений")).to_contain_text("3", timeout=WAIT_MS)

    with Store.open(store_url) as store, store.read() as tx:
        [made] = store_sel.list_selections(tx, agent_ids=None)
        saved = store_sel.get_selection(tx, made.id, agent_ids=None)
    assert saved is not None
    assert saved.owner_id == agent["id"]
    assert [i.premise_id for i in saved.items] == [p["id"] for p in chosen]

    booked = chosen[1]
    admin.patch_record("premises", booked["id"], is_booked=True)
    sync_now(page, url)  # the runtime's own sync, started by «Синхронизировать»
    open_page(page, url, "selections", "Подборки")
    act_as(page, agent)
    warning = page.get_by_test_id("stAlertContentWarning").filter(has_text="изменилось помещений: 1")
    expect(warning).to_contain_text(f"№ {booked['number']} (забронировано после добавления)", timeout=WAIT_MS)
    expect(page.get_by_test_id("stMetric").filter(has_text="Свободно сейчас")).to_contain_text("2")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Скачать XLSX")).to_be_visible(timeout=WAIT_MS)
    idle(page)
    page.screenshot(path=str(artifacts_dir / "selection.png"), full_page=True)

    pdf_download = streamlit_page.download(
        page, page.get_by_role("button", name="Скачать PDF"), timeout_ms=WAIT_MS
    )
    data = Path(pdf_download.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    text = _pdf_text(data)
    projects = {p["id"]: p for p in admin.records("projects")}
    for p in chosen:
        assert f"№ {p['number']}" in text
        assert _rub(p["price"]) in text
        end = dt.date.fromisoformat(projects[p["project_id"]]["end_date"]).strftime("%d.%m.%Y")
        assert f"Срок сдачи: {end}" in text
    assert "Статус: Забронировано (изменился после добавления в подборку)" in text
    assert "Ипотека «" in text  # the sandbox's apartments all allow a mortgage
    assert "Кухня" in text  # the plans were fetched from the sandbox and drawn

    idle(page)
    xlsx_download = streamlit_page.download(
        page, page.get_by_role("button", name="Скачать XLSX"), timeout_ms=WAIT_MS
    )
    book = load_workbook(io.BytesIO(Path(xlsx_download.path()).read_bytes()))
    rows = [list(r) for r in book["Подборка"].iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if r[0] == "ID помещения")
    table = rows[header + 1 :]
    assert [r[0] for r in table] == [p["id"] for p in chosen]
    assert [r[1] for r in table] == [p["number"] for p in chosen]
    assert [r[10] for r in table] == [p["price"] for p in chosen]
    assert [r[12] for r in table] == ["Свободно", "Забронировано", "Свободно"]
    assert table[1][13] == "Забронировано после добавления"
