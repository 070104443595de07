"""The premise card: plan, facts, the project's facade and link, and «Забронировать»."""

from __future__ import annotations

from typing import Any

import streamlit as st

from kontur import labels
from kontur.models import Feature, PurchaseOption

from .fmt import STATUS_DOT, fmt_area, fmt_rub, fmt_whole, list_labels, premise_caption
from .media import media_url
from .safe import md

# The premise a page hands to the booking form (chessboard, availability card → bookings).
PRESELECTED_PREMISE_KEY = "preselected_premise_id"


def facts_markdown(row: Any) -> str:
    """The card's facts as markdown; every value from the record goes through `md`."""
    status = row.status
    section = md(fmt_whole(row.section))
    features = list_labels(Feature, row.feature) or "—"
    options = list_labels(PurchaseOption, row.purchase_option) or "—"
    return (
        f"**Статус:** {STATUS_DOT.get(status, '')} {md(labels.PREMISE_STATUS.get(status, status))}  \n"
        f"**Цена:** {md(fmt_rub(row.price))} · **за м²:** {md(fmt_rub(row.price_per_m2))}  \n"
        f"**Площадь:** {md(fmt_area(row.size))} · **этаж:** {md(fmt_whole(row.floor))}  \n"
        f"**Адрес:** {md(row.city)}, {md(row.building)}, секция {section}  \n"
        f"**Особенности:** {md(features, limit=None)}  \n"
        f"**Способы покупки:** {md(options, limit=None)}"
    )


def premise_card(row: Any, *, bookable: bool, key: str) -> bool:
    """Draw the card of `row` (a `queries.availability.premises_list` row as a named tuple). Returns
    whether «Забронировать» was clicked; the button is offered for a free premise when `bookable`."""
    with st.container(border=True, key=key):
        st.markdown(f"#### {md(premise_caption(row), limit=None)}")
        plan, facts, project = st.columns([2, 3, 2])
        photo = media_url(row.photo)  # None for a missing photo (NaN in the row) or a refused URL
        if photo:
            plan.image(photo, caption="Планировка", width="stretch")
        else:
            plan.caption("Планировки нет.")
        facts.markdown(facts_markdown(row))
        book = bool(
            bookable
            and row.status == "free"
            and facts.button(
                "Забронировать", type="primary", icon=":material/event_available:", key=f"{key}_book"
            )
        )
        facade = media_url(row.project_photo)
        if facade:
            project.image(facade, caption=f"Проект «{md(row.project, limit=80)}»", width="stretch")
        link = media_url(row.link)
        if link:
            project.link_button("Страница проекта", link, icon=":material/open_in_new:")
    return book


# The query parameter that opens a premise's card on Наличие: `/?premise=123`.
PREMISE_PARAM = "premise"


def linked_premise_id() -> int | None:
    """The premise id a link names, or None (absent, or not a whole positive number)."""
    value = st.query_params.get(PREMISE_PARAM)
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value) or None
