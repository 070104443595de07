"""Lead drill-down: a lead shows its client (name, phone, fixing and its expiry, from Kontur's records)
and its premise (card data and chessboard position); a client shows their leads, bookings and visits.
Everything in the reader's `view_leads` scope: a lead, client, booking or visit out of reach is not
shown, and is not told apart from one that does not exist.

`lead_drilldown(lead_id)` and `client_drilldown(client_id)` are what the deals page calls; a button in
the lead opens its client in place (`DRILL_KEY`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from kontur import labels, ui
from kontur.auth.scopes import ReadScope
from kontur.models import FixingType, LeadStage, LeadState, PremiseType, RequestStatus
from kontur.queries import lead_detail
from kontur.store import bookings as store_bookings
from kontur.store import clients as store_clients
from kontur.store import visits as store_visits
from kontur.ui import acting
from kontur.ui.chessboard import HIGHLIGHT_KEY
from kontur.ui.gallery import photo_gallery
from kontur.ui.money import rub
from kontur.ui.premise_card import PREMISE_PARAM
from kontur.ui.safe import md, plain

DRILL_KEY = "drill_client_id"  # a client opened from a lead
AVAILABILITY_PAGE = "pages/availability.py"
UNKNOWN_CLIENT = (
    "Контур не знает этого клиента: он заведён не через Контур, а Брусника передаёт в сделке только его "
    "номер (№ {id}). Найдите клиента по телефону на странице «Клиенты», и его данные появятся здесь."
)


def fmt_ts(value: Any) -> str:
    if value is None or (not isinstance(value, dt.datetime) and pd.isna(value)):
        return "—"
    return pd.Timestamp(value).tz_convert("UTC").strftime("%d.%m.%Y %H:%M UTC")


def countdown(expires: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if expires is None:
        return "срок не указан"
    left = expires - (now or dt.datetime.now(dt.UTC))
    if left.total_seconds() < 0:
        return f"истекло {fmt_ts(expires)}"
    days, hours = left.days, int(left.seconds // 3600)
    return f"до {fmt_ts(expires)} (осталось {days} дн. {hours} ч.)"


def _stored_client(client_id: int) -> Any:
    with acting.store().read() as tx:
        return store_clients.get_client(tx, int(client_id))


def client_block(client_id: int, scope: ReadScope) -> None:
    stored = _stored_client(client_id)
    if stored is None:
        st.info(UNKNOWN_CLIENT.format(id=int(client_id)), icon=":material/person_search:")
        return
    client = stored.record
    if not scope.allows(client.agent_id):
        st.info(
            "Клиент закреплён за агентом вне вашей зоны доступа: его данные не показываются.",
            icon=":material/lock:",
        )
        return
    st.markdown(f"**{md(client.fullname, limit=200)}** · {md(client.phone_number, limit=20)}")
    fixing = labels.label_of(FixingType, client.fixing_type.value)
    st.markdown(f"Закрепление: {md(fixing)} · {md(countdown(client.expiration_date))}")
    st.caption(
        f"По данным Контура на {fmt_ts(stored.updated_at)} (ответ Брусники при создании или поиске клиента)."
    )


def premise_block(place: lead_detail.PremisePlace | None, premise_id: int | None, *, key: str) -> None:
    if premise_id is None:
        st.caption("Помещение в сделке ещё не выбрано.")
        return
    if place is None:
        st.caption(f"Помещение № {int(premise_id)} снято с продажи или ещё не синхронизировано.")
        return
    kind = labels.label_of(PremiseType, str(place.type))
    if place.type == PremiseType.APARTMENT and place.rooms is not None:
        kind = f"{kind}, {labels.rooms_label(int(place.rooms)).lower()}"
    st.markdown(
        f"**{md(kind)} № {md(place.number, limit=20)}** · {ui.fmt_area(place.size)} · {rub(place.price)} · "
        f"{md(labels.PREMISE_STATUS.get(place.status, place.status))}"
    )
    section = "—" if place.section_number is None else str(place.section_number)
    floors = "" if place.number_of_floors is None else f" из {place.number_of_floors}"
    st.markdown(
        f"На шахматке: {md(place.address, limit=120)} · секция {md(section)} · этаж {place.floor}{floors}"
    )
    photo_gallery(place.photos, columns=3, width=220)
    card, board = st.columns(2)
    if card.button("Карточка помещения", key=f"{key}_card", icon=":material/apartment:"):
        try:
            st.switch_page(AVAILABILITY_PAGE, query_params={PREMISE_PARAM: str(int(place.id))})
        except st.errors.StreamlitAPIException:  # a page not in this person's navigation
            st.info("Страница «Наличие» вам недоступна.", icon=":material/lock:")
    if board.button("Показать на шахматке", key=f"{key}_chess", icon=":material/grid_view:"):
        st.session_state["scope_city_id"] = place.city_id
        st.session_state["scope_project_id"] = place.project_id
        st.session_state["scope_building_id"] = place.building_id
        st.session_state[HIGHLIGHT_KEY] = place.id
        try:
            st.switch_page("pages/chessboard.py")
        except st.errors.StreamlitAPIException:  # a page not in this person's navigation
            st.info("Откройте «Шахматку»: здание и помещение уже выбраны.", icon=":material/grid_view:")


def lead_drilldown(lead_id: int, *, key: str = "lead") -> lead_detail.LeadDetail | None:
    """The lead, its client and its premise; None (with a message) when it is not in reach."""
    actor = acting.reader()
    scope = acting.scope(actor)
    lead = ui.read(lead_detail.lead, int(lead_id), scope)
    if lead is None:
        st.info(f"Сделка № {int(lead_id)} не найдена или недоступна.", icon=":material/search_off:")
        return None
    stage = labels.label_of(LeadStage, lead.current_status)
    state = labels.label_of(LeadState, lead.state)
    st.subheader(f"Сделка № {lead.id}")
    st.markdown(
        f"{md(stage)} · статус сделки: {md(state)} · проект {md(lead.project, limit=80)} · "
        f"старт {lead.start_date:%d.%m.%Y}"
        if lead.start_date
        else f"{md(stage)} · {md(state)}"
    )
    client_col, premise_col = st.columns(2)
    with client_col:
        st.markdown("**Клиент**")
        client_block(lead.client_id, scope)
        if st.button("Все сделки, брони и показы клиента", key=f"{key}_client", icon=":material/person:"):
            st.session_state[DRILL_KEY] = lead.client_id
    with premise_col:
        st.markdown("**Помещение**")
        premise_block(lead.premise, lead.premise_id, key=key)
    if st.session_state.get(DRILL_KEY) == lead.client_id:
        st.divider()
        client_drilldown(lead.client_id, key=f"{key}_c")
    return lead


def open_from_table(lead_ids: list[int], *, table_key: str, key: str) -> Callable[[], None]:
    """The `on_select` callback of a table of leads: the chosen row's lead goes into the drill-down's
    number box (`drilldown_section(key=key)`), before the rerun draws it."""

    def chosen() -> None:
        state = st.session_state.get(table_key)
        rows = state["selection"]["rows"] if state else []
        if rows and rows[0] < len(lead_ids):
            st.session_state[f"{key}_id"] = int(lead_ids[rows[0]])
            st.session_state.pop(DRILL_KEY, None)

    return chosen


def drilldown_section(*, key: str) -> None:
    """«Сделка: клиент и помещение»: the lead chosen in a table above, or typed by its number."""
    st.subheader("Сделка: клиент и помещение")
    lead_id = st.number_input(
        "Номер сделки",
        min_value=1,
        step=1,
        value=None,
        placeholder="выберите сделку в таблице или введите номер",
        key=f"{key}_id",
    )
    if lead_id:
        lead_drilldown(int(lead_id), key=key)


def client_drilldown(client_id: int, *, key: str = "client") -> None:
    """A client's leads (cache), bookings and visits (Kontur's records), in the reader's scope."""
    actor = acting.reader()
    scope = acting.scope(actor)
    st.subheader(f"Клиент № {int(client_id)}")
    client_block(client_id, scope)
    leads = ui.read(lead_detail.client_leads, int(client_id), scope)
    st.markdown(f"**Сделки** · {len(leads)}")
    if len(leads):
        st.dataframe(
            pd.DataFrame(
                {
                    "Сделка": leads["id"],
                    "Проект": [plain(p, limit=60) for p in leads["project"]],
                    "Помещение": [plain(n, limit=20) for n in leads["number"]],
                    "Этап": [labels.label_of(LeadStage, s) for s in leads["current_status"]],
                    "Статус": [labels.label_of(LeadState, s) for s in leads["state"]],
                    "Старт": leads["start_date"],
                }
            ),
            hide_index=True,
            key=f"{key}_leads",
        )
    if scope.nothing:
        return
    with acting.store().read() as tx:
        bookings = [
            b.record
            for b in store_bookings.list_bookings(tx, agent_ids=scope.agent_ids, limit=None)
            if b.record.client_id == int(client_id)
        ]
        visits = [
            v.record
            for v in store_visits.list_visits(tx, agent_ids=scope.agent_ids, limit=None)
            if v.record.client_id == int(client_id)
        ]
    status = labels.REQUEST_STATUS
    st.markdown(f"**Брони через Контур** · {len(bookings)}")
    if bookings:
        st.dataframe(
            pd.DataFrame(
                {
                    "Бронь": [b.id for b in bookings],
                    "Помещение (ID)": [b.premise_id for b in bookings],
                    "Дата": [f"{b.date:%d.%m.%Y} {b.time}" for b in bookings],
                    "Статус": [status[RequestStatus(b.status)] for b in bookings],
                }
            ),
            hide_index=True,
            key=f"{key}_bookings",
        )
    st.markdown(f"**Показы через Контур** · {len(visits)}")
    if visits:
        st.dataframe(
            pd.DataFrame(
                {
                    "Показ": [v.id for v in visits],
                    "Проект (ID)": [v.project_id for v in visits],
                    "Дата": [f"{v.date:%d.%m.%Y} {v.time}" for v in visits],
                    "Статус": [status[RequestStatus(v.status)] for v in visits],
                }
            ),
            hide_index=True,
            key=f"{key}_visits",
        )
