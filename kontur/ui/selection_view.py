"""Selections on screen: the reader's list, creating, renaming and deleting one, its premises with live
status (booked or sold since added is marked, price changes shown), totals and price per m², and the
«Добавить в подборку» widget the availability card and the chessboard cell call with a premise id.

Every read and change goes through `kontur.store.selections` with the reader's `view_leads` scope, so a
selection of another agency is neither listed nor changed, whatever a page sends.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from kontur import labels, ui
from kontur.models import PremiseType
from kontur.queries import selection_live
from kontur.store import selections as store_sel
from kontur.ui import acting
from kontur.ui.inert import md
from kontur.ui.money import rub, signed_rub
from kontur.ui.safe import plain

CURRENT_KEY = "selection_current_id"  # the selection the page shows; other pages may set it
NEW = -1  # the «new selection» choice of the add widget (ids are positive)


def reader_and_scope() -> tuple[Any, frozenset[int] | None, bool]:
    """(reader, agent ids for the store, whether they may use selections at all)."""
    actor = acting.reader()
    scope = acting.scope(actor)
    return actor, scope.agent_ids, actor is not None and not scope.nothing


def refusal() -> None:
    st.info(
        "Подборки ведут те, кто работает со сделками: выберите пользователя с такой ролью "
        "(или войдите под ним).",
        icon=":material/lock:",
    )


def list_selections(agent_ids: frozenset[int] | None) -> list[store_sel.Selection]:
    with acting.store().read() as tx:
        return store_sel.list_selections(tx, agent_ids=agent_ids)


def get_selection(selection_id: int, agent_ids: frozenset[int] | None) -> store_sel.Selection | None:
    with acting.store().read() as tx:
        return store_sel.get_selection(tx, selection_id, agent_ids=agent_ids)


def label_of(selection: store_sel.Selection) -> str:
    client = f" · {plain(selection.client_name, limit=40)}" if selection.client_name else ""
    return f"{plain(selection.name, limit=60)}{client} ({selection.item_count})"  # plain: for selectboxes


def radio_label(selection: store_sel.Selection) -> str:
    """`label_of` for widgets that render their options as markdown (st.radio)."""
    return md(label_of(selection), limit=None)


def create_form(actor: Any, *, key: str = "selection_new") -> int | None:
    """A small form: name and client → a new selection of the reader; returns its id once created."""
    with st.form(key, clear_on_submit=False):
        name = st.text_input("Название подборки", key=f"{key}_name", max_chars=store_sel.NAME_MAX)
        client = st.text_input("Клиент (ФИО)", key=f"{key}_client", max_chars=store_sel.CLIENT_NAME_MAX)
        submitted = st.form_submit_button("Создать подборку", icon=":material/add:")
    if not submitted:
        return None
    try:
        with acting.store().write() as tx:
            made = store_sel.create_selection(
                tx, name=name, owner_id=int(actor.id), agency_id=actor.agency_id, client_name=client
            )
    except store_sel.SelectionError as exc:
        st.error(str(exc), icon=":material/edit:")  # what was typed stays in the form
        return None
    st.session_state[CURRENT_KEY] = made.id
    st.success(f"Подборка «{md(made.name)}» создана.", icon=":material/check_circle:")
    return made.id


def status_text(status: Any) -> str:
    return (
        "Снято с продажи"
        if status is None or pd.isna(status)
        else labels.PREMISE_STATUS.get(str(status), "—")
    )


def items_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The live rows as the manager reads them (text through `plain`, numbers formatted)."""

    def kind(row: dict[str, Any]) -> str:
        t = row.get("type")
        if t is None or pd.isna(t):
            return "—"
        if t == PremiseType.APARTMENT and row.get("rooms") is not None and not pd.isna(row.get("rooms")):
            return labels.rooms_label(int(row["rooms"]))
        return labels.label_of(PremiseType, str(t))

    records = rows.to_dict("records")
    return pd.DataFrame(
        {
            "ID": [r["premise_id"] for r in records],
            "№": [plain(r.get("number"), limit=20) for r in records],
            "Проект": [plain(r.get("project"), limit=60) for r in records],
            "Адрес": [plain(r.get("address"), limit=80) for r in records],
            "Секция": [
                "—" if pd.isna(r.get("section_number")) else int(r["section_number"]) for r in records
            ],
            "Этаж": ["—" if pd.isna(r.get("floor")) else int(r["floor"]) for r in records],
            "Тип": [kind(r) for r in records],
            "Площадь": [ui.fmt_area(None if pd.isna(r.get("size")) else float(r["size"])) for r in records],
            "Цена": [rub(r.get("price")) for r in records],
            "Цена за м²": [rub(r.get("price_per_m2")) for r in records],
            "Статус": [status_text(r.get("status")) for r in records],
            "Изменение": [labels.SELECTION_CHANGE.get(str(r["change"]), "") for r in records],
            "Цена изменилась": [
                ""
                if not r.get("price_change") or pd.isna(r.get("price_change"))
                else signed_rub(r["price_change"])
                for r in records
            ],
        }
    )


def live_rows(selection: store_sel.Selection) -> pd.DataFrame:
    return ui.read(selection_live.live_items, tuple(selection.items))


def show_selection(selection: store_sel.Selection, agent_ids: frozenset[int] | None) -> pd.DataFrame:
    """The selection's premises now, with what changed and the totals; returns the live rows."""
    st.subheader(md(selection.name, limit=200))
    if selection.client_name:
        st.caption(f"Клиент: {md(selection.client_name, limit=200)}")
    if not selection.items:
        st.info(
            "В подборке пока нет помещений: добавьте их по ID ниже или с карточки помещения.",
            icon=":material/add_home:",
        )
        return live_rows(selection)
    rows = live_rows(selection)
    totals = selection_live.totals(rows)
    a, b, c, d = st.columns(4)
    a.metric("Помещений", totals.count)
    b.metric("Свободно сейчас", totals.free)
    c.metric("Сумма", rub(totals.price))
    d.metric("Цена за м²", rub(totals.price_per_m2))
    changed = rows[rows["change"] != selection_live.SAME]
    if len(changed):
        st.warning(
            f"С момента добавления изменилось помещений: {len(changed)} — "
            + ", ".join(
                f"№ {md(r.number if isinstance(r.number, str) else r.premise_id, limit=20)} "
                f"({labels.SELECTION_CHANGE[r.change].lower()})"
                for r in changed.itertuples()
            ),
            icon=":material/notification_important:",
        )
    table = items_table(rows)

    def highlight(row: pd.Series) -> list[str]:
        marked = row["Изменение"] != labels.SELECTION_CHANGE[selection_live.SAME]
        return ["background-color: #fff1db" if marked else "" for _ in row]

    st.dataframe(
        table.style.apply(highlight, axis=1),
        hide_index=True,
        width="stretch",
        key=f"sel_{selection.id}_table",
    )
    return rows


def add_premise(
    selection_id: int, premise_id: int, actor: Any, agent_ids: frozenset[int] | None
) -> tuple[bool, str]:
    """Add a premise with its price and status now; (ok, message for the person)."""
    now = ui.read(selection_live.premises_now, (int(premise_id),))
    if now.empty:
        return False, f"Помещение с ID {int(premise_id)} не найдено в кэше."
    row = now.iloc[0]
    try:
        with acting.store().write() as tx:
            added = store_sel.add_premise(
                tx,
                selection_id,
                premise_id=int(premise_id),
                price=None if pd.isna(row["price"]) else int(row["price"]),
                status=str(row["status"]),
                added_by=int(actor.id),
                agent_ids=agent_ids,
            )
    except store_sel.SelectionError as exc:
        return False, str(exc)
    number = md(row["number"], limit=20)
    if not added:
        return True, f"Помещение № {number} уже в этой подборке."
    return True, f"Помещение № {number} добавлено в подборку."


def add_to_selection(premise_id: int, *, key: str) -> None:
    """«Добавить в подборку» for one premise: choose one of the reader's selections (or a new one by
    name) and add. For the availability card and the chessboard cell."""
    actor, agent_ids, allowed = reader_and_scope()
    if not allowed:
        st.caption("Подборки недоступны для этой роли.")
        return
    mine = list_selections(agent_ids)
    options = {s.id: label_of(s) for s in mine} | {NEW: "Новая подборка…"}
    choice = st.selectbox("Подборка", list(options), format_func=options.__getitem__, key=f"{key}_choice")
    name = ""
    if choice == NEW:
        name = st.text_input("Название новой подборки", key=f"{key}_name", max_chars=store_sel.NAME_MAX)
    if not st.button("Добавить в подборку", key=f"{key}_add", icon=":material/playlist_add:"):
        return
    target = choice
    if choice == NEW:
        try:
            with acting.store().write() as tx:
                target = store_sel.create_selection(
                    tx, name=name, owner_id=int(actor.id), agency_id=actor.agency_id
                ).id
        except store_sel.SelectionError as exc:
            st.error(str(exc), icon=":material/edit:")
            return
    ok, message = add_premise(int(target), int(premise_id), actor, agent_ids)
    (st.success if ok else st.error)(message)


def manage(selection: store_sel.Selection, agent_ids: frozenset[int] | None, *, key: str) -> None:
    """Rename, remove premises, delete: each checked against the reader's scope in the store."""
    with st.expander("Изменить подборку"):
        new_name = st.text_input("Название", value=selection.name, key=f"{key}_rename_{selection.id}")
        if st.button("Переименовать", key=f"{key}_rename_btn_{selection.id}"):
            try:
                with acting.store().write() as tx:
                    done = store_sel.rename_selection(tx, selection.id, new_name, agent_ids=agent_ids)
            except store_sel.SelectionError as exc:
                st.error(str(exc), icon=":material/edit:")
            else:
                if done:
                    st.rerun()
                st.error("Подборка не найдена или недоступна.")
        ids = [i.premise_id for i in selection.items]
        drop = st.multiselect("Убрать помещения (ID)", ids, key=f"{key}_drop_{selection.id}")
        if drop and st.button("Убрать выбранные", key=f"{key}_drop_btn_{selection.id}"):
            with acting.store().write() as tx:
                for pid in drop:
                    store_sel.remove_premise(tx, selection.id, int(pid), agent_ids=agent_ids)
            st.rerun()
        if st.button("Удалить подборку", key=f"{key}_delete_{selection.id}", type="secondary"):
            with acting.store().write() as tx:
                store_sel.delete_selection(tx, selection.id, agent_ids=agent_ids)
            st.session_state.pop(CURRENT_KEY, None)
            st.rerun()


def sheet(selection: store_sel.Selection, rows: pd.DataFrame, actor: Any) -> selection_live.SelectionSheet:
    """What the exports print, as of now."""
    return selection_live.SelectionSheet(
        title=selection.name,
        client=selection.client_name,
        prepared_by=getattr(actor, "name", None),
        as_of=dt.datetime.now(dt.UTC),
        rows=rows,
        totals=selection_live.totals(rows),
    )
