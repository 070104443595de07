"""«Сегодня»: the landing page of a signed-in person, in their `view_leads` scope — clients whose fixing
ends within N days (with a countdown), today's and tomorrow's showings, open bookings by date, and the
premises of their selections that were booked, sold or freed since they last looked («Отметить
просмотренным» remembers what they saw, per person, in the store)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from kontur import labels, ui
from kontur.models import FixingType, PurchaseOption
from kontur.queries import today as today_q
from kontur.store import bookings as store_bookings
from kontur.store import clients as store_clients
from kontur.store import selections as store_sel
from kontur.store import visits as store_visits
from kontur.ui import acting
from kontur.ui.money import rub, signed_rub
from kontur.ui.premise_card import PREMISE_PARAM, linked_premise_id
from kontur.ui.safe import md, plain

AVAILABILITY_PAGE = "pages/availability.py"


def _when(value: Any) -> str:
    if value is None or pd.isna(value):
        return "—"
    return pd.Timestamp(value).tz_convert("UTC").strftime("%d.%m.%Y %H:%M UTC")


def expiring_section(records: list[Any], now: dt.datetime, days: int) -> pd.DataFrame:
    rows = today_q.expiring_fixings(records, now=now, days=days)
    st.markdown(f"#### Закрепление истекает в ближайшие {days} дн. · {len(rows)}")
    if rows.empty:
        st.caption("Ни у одного клиента закрепление не заканчивается в эти дни.")
        return rows
    st.dataframe(
        pd.DataFrame(
            {
                "Клиент": [plain(n, limit=80) for n in rows["fullname"]],
                "Телефон": [plain(p, limit=20) for p in rows["phone_number"]],
                "Закрепление": [labels.label_of(FixingType, f) for f in rows["fixing_type"]],
                "Истекает": [_when(e) for e in rows["expiration_date"]],
                "Осталось": [
                    f"{d} дн. {h - d * 24} ч."
                    for d, h in zip(rows["days_left"], rows["hours_left"], strict=True)
                ],
            }
        ),
        hide_index=True,
        key="today_expiring",
    )
    return rows


def showings_section(visits: list[Any], today: dt.date) -> pd.DataFrame:
    rows = _showings(visits, today)
    st.markdown(f"#### Показы сегодня и завтра · {len(rows)}")
    if rows.empty:
        st.caption("Показов на сегодня и завтра нет.")
        return rows
    st.dataframe(
        pd.DataFrame(
            {
                "Когда": [f"{d} {t}" for d, t in zip(rows["day"], rows["time"], strict=True)],
                "Проект": [plain(p, limit=60) for p in rows["project"]],
                "Клиент (ID)": rows["client_id"],
                "Показ": rows["visit_id"],
            }
        ),
        hide_index=True,
        key="today_showings",
    )
    return rows


def _showings(visits: list[Any], today: dt.date) -> pd.DataFrame:
    with ui.runtime().cursor() as cur:
        return today_q.showings(cur, visits, today=today)


def bookings_section(bookings: list[Any]) -> pd.DataFrame:
    with ui.runtime().cursor() as cur:
        rows = today_q.open_bookings(cur, bookings)
    st.markdown(f"#### Открытые брони · {len(rows)}")
    if rows.empty:
        st.caption("Открытых броней нет.")
        return rows
    st.dataframe(
        pd.DataFrame(
            {
                "Дата": [f"{d:%d.%m.%Y} {t}" for d, t in zip(rows["date"], rows["time"], strict=True)],
                "Помещение": [plain(n, limit=20) for n in rows["number"]],
                "Проект": [plain(p, limit=60) for p in rows["project"]],
                "Цена": [rub(p) for p in rows["price"]],
                "Оплата": [labels.label_of(PurchaseOption, o) for o in rows["purchase_option"]],
                "Помещение сейчас": [
                    labels.PREMISE_STATUS.get(str(s), "снято с продажи") for s in rows["premise_status"]
                ],
                "Бронь": rows["booking_id"],
            }
        ),
        hide_index=True,
        key="today_bookings",
    )
    return rows


def changes_section(actor: Any, agent_ids: frozenset[int] | None) -> pd.DataFrame:
    with acting.store().read() as tx:
        followed = store_sel.followed_items(tx, int(actor.id), agent_ids=agent_ids)
        looked = store_sel.get_mark(tx, int(actor.id), store_sel.TODAY_LOOKED)
    with ui.runtime().cursor() as cur:
        rows, current = today_q.followed_changes(cur, followed)
    since = "с момента добавления" if looked is None else f"с {_when(looked)}"
    st.markdown(f"#### Изменения в ваших подборках {since} · {len(rows)}")
    if rows.empty:
        st.caption("В ваших подборках ничего не изменилось." if followed else "У вас нет подборок.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "Подборка": [plain(s, limit=60) for s in rows["selection"]],
                    "Помещение": [
                        plain(n, limit=20) if isinstance(n, str) else f"ID {p}"
                        for n, p in zip(rows["number"], rows["premise_id"], strict=True)
                    ],
                    "Проект": [plain(p, limit=60) for p in rows["project"]],
                    "Было": [labels.PREMISE_STATUS.get(str(b), "—") for b in rows["before"]],
                    "Стало": [labels.SELECTION_CHANGE[c] for c in rows["change"]],
                    "Цена": [
                        _price_move(b, n)
                        for b, n in zip(rows["price_before"], rows["price_now"], strict=True)
                    ],
                }
            ),
            hide_index=True,
            key="today_changes",
        )
    if followed and st.button("Отметить просмотренным", key="today_seen", icon=":material/done_all:"):
        with acting.store().write() as tx:
            store_sel.mark_seen(tx, int(actor.id), current)
        st.rerun()
    return rows


def _price_move(before: Any, now: Any) -> str:
    if before is None or now is None or pd.isna(before) or pd.isna(now) or int(before) == int(now):
        return ""
    return signed_rub(int(now) - int(before))


def forward_premise_link() -> None:
    """A premise's card link (`/?premise=ID`) reaches the landing page: open the card on Наличие."""
    linked = linked_premise_id()
    if linked is None:
        return
    try:
        st.switch_page(AVAILABILITY_PAGE, query_params={PREMISE_PARAM: str(linked)})
    except st.errors.StreamlitAPIException:  # not in this person's navigation
        st.info("Карточка помещения открывается на странице «Наличие», она вам недоступна.")


def today_page(*, now: dt.datetime | None = None) -> None:
    actor = acting.reader()
    scope = acting.scope(actor)
    if actor is None:
        st.info("Выберите, от чьего имени вы работаете, или войдите.", icon=":material/person:")
        return
    if scope.nothing:
        st.info(
            "Для вашей роли здесь пока нечего показать: клиенты, показы и брони видны ролям, ведущим сделки.",
            icon=":material/lock:",
        )
        return
    moment = now or dt.datetime.now(dt.UTC)
    days = ui.settings().fixing_warning_days
    if scope.everything:
        reach = "все записи"
    else:
        reach = "записи вашего агентства" if len(scope.agent_ids or ()) > 1 else "ваши записи"
    st.caption(f"{md(getattr(actor, 'name', ''), limit=80)} · {reach} · данные Контура и кэша Брусники")
    with acting.store().read() as tx:
        clients = [s.record for s in store_clients.list_clients(tx, agent_ids=scope.agent_ids, limit=None)]
        ids = scope.agent_ids
        visits = [s.record for s in store_visits.list_visits(tx, agent_ids=ids, status="open", limit=None)]
        bookings = [
            s.record for s in store_bookings.list_bookings(tx, agent_ids=ids, status="open", limit=None)
        ]
    expiring_section(clients, moment, days)
    showings_section(visits, moment.date())
    bookings_section(bookings)
    changes_section(actor, scope.agent_ids)
    lookup_section()


def lookup_section() -> None:
    """A lead by its number: its client and premise (the deals page will link each lead here)."""
    from kontur.ui import lead_view  # lead_view imports the store modules this one does

    with st.expander("Сделка по номеру"):
        lead_id = st.number_input("Номер сделки", min_value=1, step=1, value=None, key="today_lead_id")
        if lead_id:
            lead_view.lead_drilldown(int(lead_id), key="today_lead")
