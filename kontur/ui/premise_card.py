"""The premise card: every photo (captioned by what it shows), facts, the project's facade and link with
its card, «Забронировать», a mortgage estimate where the premise allows one, and «Добавить в подборку»."""

from __future__ import annotations

from typing import Any

import streamlit as st

from kontur import labels
from kontur.models import Feature, PurchaseOption

from .fmt import STATUS_DOT, fmt_area, fmt_rub, fmt_whole, list_labels, premise_caption
from .gallery import photo_gallery
from .media import media_url
from .mortgage_view import mortgage_estimate
from .project_card import fmt_date, open_project_button
from .safe import md
from .selection_view import add_to_selection

# The premise a page hands to the booking form (chessboard, availability card → bookings).
PRESELECTED_PREMISE_KEY = "preselected_premise_id"


def facts_markdown(row: Any) -> str:
    """The card's facts as markdown; every value from the record goes through `md`."""
    status = row.status
    section = md(fmt_whole(row.section))
    floors = getattr(row, "number_of_floors", None)
    of_floors = "" if floors is None or fmt_whole(floors) == "—" else f" из {md(fmt_whole(floors))}"
    features = list_labels(Feature, row.feature) or "—"
    options = list_labels(PurchaseOption, row.purchase_option) or "—"
    done = getattr(row, "end_date", None)
    return (
        f"**Статус:** {STATUS_DOT.get(status, '')} {md(labels.PREMISE_STATUS.get(status, status))}  \n"
        f"**Цена:** {md(fmt_rub(row.price))} · **за м²:** {md(fmt_rub(row.price_per_m2))}  \n"
        f"**Площадь:** {md(fmt_area(row.size))} · **этаж:** {md(fmt_whole(row.floor))}{of_floors}  \n"
        f"**Адрес:** {md(row.city)}, {md(row.building)}, секция {section}  \n"
        f"**Срок сдачи:** {md(fmt_date(done))}  \n"
        f"**Особенности:** {md(features, limit=None)}  \n"
        f"**Способы покупки:** {md(options, limit=None)}"
    )


def premise_card(row: Any, *, bookable: bool, key: str) -> bool:
    """Draw the card of `row` (a `queries.availability.premise` row as a named tuple). Returns whether
    «Забронировать» was clicked; the button is offered for a free premise when `bookable`."""
    with st.container(border=True, key=key):
        st.markdown(f"#### {md(premise_caption(row), limit=None)}")
        facts, project = st.columns([3, 2])
        facts.markdown(facts_markdown(row))
        book = bool(
            bookable
            and row.status == "free"
            and facts.button(
                "Забронировать", type="primary", icon=":material/event_available:", key=f"{key}_book"
            )
        )
        with project:
            facade = media_url(row.project_photo)
            if facade:
                st.image(facade, caption=f"Проект «{md(row.project, limit=80)}»", width="stretch")
            link = media_url(row.link)
            if link:
                st.link_button("Страница проекта", link, icon=":material/open_in_new:")
            open_project_button(
                getattr(row, "project_id", None), getattr(row, "city_id", None), key=f"{key}_project"
            )
        photo_gallery(getattr(row, "photos", [row.photo]), columns=3)
        mortgage, selection = st.columns(2)
        with mortgage:
            st.markdown("**Ипотека**")
            mortgage_estimate(row.price, row.purchase_option, key=f"{key}_m_{int(row.id)}")
        with selection:
            st.markdown("**Подборка для клиента**")
            add_to_selection(int(row.id), key=f"{key}_sel_{int(row.id)}")
    return book


# The query parameter that opens a premise's card on Наличие: `/?premise=123`.
PREMISE_PARAM = "premise"


def linked_premise_id() -> int | None:
    """The premise id a link names, or None (absent, or not a whole positive number)."""
    value = st.query_params.get(PREMISE_PARAM)
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value) or None
