"""The tables pages show and export, built from query results: Russian column names, labels for wire
values, numbers left as numbers (the browser groups digits in the manager's locale).

Record text reaches the browser as cell values of `st.dataframe` (a canvas: never markup). Links and
pictures pass `safe_url` first; exports pass `safe.csv_safe`, so a spreadsheet never runs a cell.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from kontur import labels
from kontur.config import Settings
from kontur.models import Feature, LeadStage, PremiseType, PurchaseOption
from kontur.queries import PremiseFilters, availability

from .fmt import fmt_int, fmt_num, fmt_pct, fmt_rub, list_labels, number_text, rooms_text
from .media import media_urls
from .process import runtime
from .reads import read
from .safe import csv_safe, plain

# Longest text shown in a table cell (a 10 kB partner name stays readable as the start of itself).
CELL_LIMIT = 200


def _text(values: Any) -> list[str]:
    return [plain(v, limit=CELL_LIMIT) for v in values]


def _finite(values: pd.Series) -> pd.Series:
    """Numbers with infinities as missing (a price per m² of a zero-size premise)."""
    return pd.to_numeric(values, errors="coerce").replace([float("inf"), float("-inf")], float("nan"))


def csv_bytes(frame: pd.DataFrame | dict[str, Any]) -> bytes:
    """A table as CSV for Excel (UTF-8 with BOM), every text cell neutralised by `csv_safe`."""
    return csv_safe(pd.DataFrame(frame)).to_csv(index=False).encode("utf-8-sig")


def download(label: str, data: Any, *, file_name: str, mime: str, icon: str, key: str) -> None:
    """A download button that does not rerun the page. A click that reruns (Streamlit's default) races
    its own file: the run's start clears the browser's message queue, dropping a deferred file's answer
    still in it (the button then spins for three minutes), or revokes the file the click asked for. On a
    loaded 2-core machine 32 of 100 such clicks got no file; with `on_click="ignore"`, 0 of 100."""
    st.download_button(label, data, file_name=file_name, mime=mime, icon=icon, key=key, on_click="ignore")


def download_csv(
    frame: pd.DataFrame | dict[str, Any] | Callable[[], pd.DataFrame], file_name: str, key: str
) -> None:
    """`frame`, or what the callable `frame` returns, as a CSV download. Deferred: the CSV (and a
    callable's rows) is made when the person clicks, not on every rerun of the page; the click is
    served outside any script run, so a callable reads through its own cursor, not `read`."""
    download(
        "Скачать CSV",
        lambda: csv_bytes(frame() if callable(frame) else frame),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        key=key,
    )


# --- Наличие ------------------------------------------------------------------------------------


def premises(listing: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """`queries.availability.premises_list` as the page's table. Pictures and links that `safe_url`
    refuses are empty cells (no image, no link)."""
    return pd.DataFrame(
        {
            "Планировка": media_urls(listing["photo"], settings),
            "Город": _text(listing["city"]),
            "Проект": _text(listing["project"]),
            "Здание": _text(listing["building"]),
            "Секция": [None if pd.isna(s) else int(s) for s in listing["section"]],
            "№": _text(listing["number"]),
            "Тип": [labels.label_of(PremiseType, plain(v)) for v in listing["type"]],
            # rooms mean something for apartments only: «Студия», «2-комн.»; a parking space shows «—»
            "Комнат": [
                rooms_text(t, r) if t == PremiseType.APARTMENT.value else "—"
                for r, t in zip(listing["rooms"], listing["type"], strict=True)
            ],
            "Этаж": listing["floor"],
            "Площадь, м²": _finite(listing["size"]).round(1),
            "Цена, ₽": listing["price"],
            "Цена за м², ₽": _finite(listing["price_per_m2"]),
            "Статус": [labels.PREMISE_STATUS[s] for s in listing["status"]],
            "Особенности": [list_labels(Feature, v) for v in listing["feature"]],
            "Способы покупки": [list_labels(PurchaseOption, v) for v in listing["purchase_option"]],
            "Ссылка": media_urls(listing["link"], settings),
        }
    )


PAGE_SIZE = availability.PAGE_SIZE
EXPORT_LIMIT = availability.EXPORT_LIMIT


def page_window(page: int) -> tuple[int, int]:
    """(limit, offset) of `premises_list` for page `page` (from 1) of the list."""
    return PAGE_SIZE, (page - 1) * PAGE_SIZE


def premises_page(f: PremiseFilters, page: int) -> pd.DataFrame:
    """Page `page` (from 1) of the matching premises as the shown table: through `ui.view`, built
    once per data version, filters and page."""
    return premises(read(availability.premises_list, f, *page_window(page)))


def premises_export(f: PremiseFilters) -> Callable[[], pd.DataFrame]:
    """The CSV's rows: the first `EXPORT_LIMIT` matching premises in the list's order, read when the
    returned callable is called (on the click, on a cursor of this process's runtime: uncached, a
    download is rare and its ten thousand rows would only crowd the cache)."""
    rt = runtime()

    def rows() -> pd.DataFrame:
        with rt.cursor() as cur:
            return premises(availability.premises_list(cur, f, EXPORT_LIMIT), rt.settings)

    return rows


def filters_key(f: PremiseFilters) -> str:
    """A short stable name of `f` for widget keys: a page control keyed by it starts again at page 1
    when the filters change."""
    return hashlib.blake2s(repr(f).encode(), digest_size=6).hexdigest()


def pages_of(total: int) -> int:
    """How many pages of `PAGE_SIZE` the list of `total` premises has (one, even when empty)."""
    return max(1, -(-total // PAGE_SIZE))


def page_caption(page: int, shown: int, total: int) -> str:
    """«Показаны 51–100 из 12 345 …» for `shown` rows of page `page` (from 1), and what the CSV holds."""
    first = page_window(page)[1] + 1
    csv = f"первые {fmt_int(EXPORT_LIMIT)}" if total > EXPORT_LIMIT else f"все {fmt_int(total)}"
    return (
        f"Показаны {fmt_int(first)}–{fmt_int(first + shown - 1)} из {fmt_int(total)}, самые доступные "
        f"по цене первыми; в CSV — {csv} в том же порядке. Выберите строку — откроется карточка помещения."
    )


PREMISES_CONFIG: dict[str, Any] = {
    "Планировка": st.column_config.ImageColumn(width="small"),
    # "localized": the manager's browser groups digits its own way (Russian: «6 250 000»)
    "Площадь, м²": st.column_config.NumberColumn(format="localized"),
    "Цена, ₽": st.column_config.NumberColumn(format="localized"),
    "Цена за м², ₽": st.column_config.NumberColumn(format="localized"),
    "Ссылка": st.column_config.LinkColumn(display_text="Открыть"),
}


def breakdown(table: pd.DataFrame) -> pd.DataFrame:
    """`queries.availability.breakdown` with Russian columns; the free share in whole percent (the bar
    reads «66 %» in every language)."""
    shown = table.assign(free_share=table["free_share"] * 100)
    for column in ("city", "project", "building"):
        if column in shown:
            shown[column] = _text(shown[column])
    return shown.rename(columns=labels.AVAILABILITY_COLUMNS)


BREAKDOWN_CONFIG: dict[str, Any] = {
    **{
        c: st.column_config.NumberColumn(format="localized")
        for c in ("Свободно", "Забронировано", "Продано", "Всего")
    },
    "Доля свободных": st.column_config.ProgressColumn(format="%.0f %%", min_value=0, max_value=100),
}


# --- Сделки ---------------------------------------------------------------------------------------


def funnel(stages: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Этап": [labels.label_of(LeadStage, s) for s in stages["stage"]],
            "Сейчас на этапе": stages["at_stage"],
            "Дошли до этапа": stages["reached"],
            # Russian percent text («83,9 %»); the first stage has no previous one: «—»
            "Конверсия из предыдущего": [fmt_pct(c) for c in stages["conversion"]],
        }
    )


FUNNEL_CONFIG: dict[str, Any] = {
    "Сейчас на этапе": st.column_config.NumberColumn(format="localized"),
    "Дошли до этапа": st.column_config.NumberColumn(format="localized"),
    "Конверсия из предыдущего": number_text(),
}


def stale_summary(summary: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Этап": [labels.label_of(LeadStage, s) for s in summary["stage"]],
            "Сделок": summary["n"],
            "В среднем, дней": [fmt_num(v, 1) for v in summary["avg_days"]],
            "Дольше всех, дней": summary["max_days"],
        }
    )


STALE_SUMMARY_CONFIG: dict[str, Any] = {
    "Сделок": st.column_config.NumberColumn(format="localized"),
    "В среднем, дней": number_text(),
}


def stale_leads(stale: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Сделка": [f"№{i}" for i in stale["id"]],
            "Этап": [labels.label_of(LeadStage, s) for s in stale["stage"]],
            "Дней на этапе": stale["days"],
            "На этапе с": stale["status_updated_at"].dt.strftime("%d.%m.%Y"),
            "Проект": _text(stale["project"]),
            "Агент": _text(stale["agent"]),
            "Комиссия": [fmt_rub(v) for v in stale["fee"]],
        }
    )


STALE_LEADS_CONFIG: dict[str, Any] = {"Комиссия": number_text()}


def leaderboard(board: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Агент": _text(board["agent"]),
            "Сделок": board["leads"],
            "Выиграно": board["won"],
            "Статус «Выиграна»": board["won_state"],
            "Конверсия": [fmt_pct(v) for v in board["conversion"]],
            "Комиссия выиграна": [fmt_rub(v) for v in board["fee_won"]],
            "Комиссия в работе": [fmt_rub(v) for v in board["fee_pipeline"]],
            "NPS пройден": board["nps_share"],
        }
    )


LEADERBOARD_CONFIG: dict[str, Any] = {
    "Сделок": st.column_config.NumberColumn(format="localized"),
    "Выиграно": st.column_config.NumberColumn(
        format="localized", help="Сделки на этапе «Выиграна» — как в показателях и воронке."
    ),
    "Статус «Выиграна»": st.column_config.NumberColumn(
        format="localized", help="Сделки агента со статусом «Выиграна» (на любом этапе)."
    ),
    "Конверсия": number_text(),
    "Комиссия выиграна": number_text(),
    "Комиссия в работе": number_text(),
    "NPS пройден": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
}
