"""Selections on screen: the reader's list, creating, renaming and deleting one, its premises with live
status (booked or sold since added is marked, price changes shown), totals and price per m², and the
«Добавить в подборку» widget the availability card and the chessboard cell call with a premise id.

Every read and change goes through `kontur.store.selections` with the reader's `view_leads` scope, so a
selection of another agency is neither listed nor changed, whatever a page sends.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd
import streamlit as st

from kontur import labels, ui
from kontur.config import MortgagePreset
from kontur.models import PremiseType
from kontur.queries import selection_live
from kontur.store import selections as store_sel
from kontur.ui import acting
from kontur.ui.money import rub, signed_rub
from kontur.ui.safe import md, plain

CURRENT_KEY = "selection_current_id"  # the selection the page shows; other pages may set it
NEW = -1  # the «new selection» choice of the add widget (ids are positive)
NO_MORTGAGE = "Без расчёта"
MAX_TYPED_IDS = 50  # one form submission adds at most this many premises


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


def list_selections(
    agent_ids: frozenset[int] | None, *, owner_id: int | None = None
) -> list[store_sel.Selection]:
    with acting.store().read() as tx:
        return store_sel.list_selections(tx, agent_ids=agent_ids, owner_id=owner_id)


def in_my_selections(premise_ids: list[int]) -> set[int]:
    """Which of these premises are in the reader's own selections (the chessboard's «в подборке»)."""
    actor, agent_ids, allowed = reader_and_scope()
    if not allowed:
        return set()
    with acting.store().read() as tx:
        return store_sel.premises_in_selections(tx, premise_ids, agent_ids=agent_ids, owner_id=int(actor.id))


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
    """«Добавить в подборку» for one premise: one of the reader's own selections (or a new one by name),
    and which of them already hold it. For the availability card and the chessboard cell. The add runs
    in the button's callback, before the rerun: the page then draws the premise already marked, with
    the new selection chosen."""
    actor, agent_ids, allowed = reader_and_scope()
    if not allowed:
        st.caption("Подборки недоступны для этой роли.")
        return
    mine = list_selections(agent_ids, owner_id=int(actor.id))  # one's own: the ones made for one's clients
    holding = {s.id for s in mine} & set(_holding(premise_id, agent_ids))
    if holding:
        names = ", ".join(f"«{md(s.name, limit=60)}»" for s in mine if s.id in holding)
        st.caption(f":material/bookmark_added: В подборке: {names}")
    options = {s.id: label_of(s) for s in mine} | {NEW: "Новая подборка…"}
    if st.session_state.get(f"{key}_choice") not in options:
        st.session_state.pop(f"{key}_choice", None)
    choice = st.selectbox("Подборка", list(options), format_func=options.__getitem__, key=f"{key}_choice")
    if choice == NEW:
        st.text_input("Название новой подборки", key=f"{key}_name", max_chars=store_sel.NAME_MAX)
    st.button(
        "Добавить в подборку",
        key=f"{key}_add",
        icon=":material/playlist_add:",
        on_click=_add_clicked,
        args=(int(premise_id), key),
    )
    said = st.session_state.pop(f"{key}_said", None)
    if said is not None:
        ok, message = said
        (st.success if ok else st.error)(message, icon=":material/check:" if ok else ":material/edit:")


def _holding(premise_id: int, agent_ids: frozenset[int] | None) -> list[int]:
    with acting.store().read() as tx:
        return store_sel.selections_with_premise(tx, int(premise_id), agent_ids=agent_ids)


def _add_clicked(premise_id: int, key: str) -> None:
    """The button's callback (runs before the rerun, and after the gate of the run that drew it)."""
    actor, agent_ids, allowed = reader_and_scope()
    if not allowed:
        st.session_state[f"{key}_said"] = (False, "Подборки недоступны для этой роли.")
        return
    target = st.session_state.get(f"{key}_choice")
    if target == NEW or target is None:
        try:
            with acting.store().write() as tx:
                target = store_sel.create_selection(
                    tx,
                    name=st.session_state.get(f"{key}_name", ""),
                    owner_id=int(actor.id),
                    agency_id=actor.agency_id,
                ).id
        except store_sel.SelectionError as exc:
            st.session_state[f"{key}_said"] = (False, str(exc))  # the typed name stays in its box
            return
        st.session_state[f"{key}_choice"] = target
        st.session_state.pop(f"{key}_name", None)
    st.session_state[f"{key}_said"] = add_premise(int(target), int(premise_id), actor, agent_ids)


def pick(mine: list[store_sel.Selection]) -> int:
    """The reader's selections as a choice; the chosen id stays in `CURRENT_KEY` (other pages may set
    it to open one)."""
    ids = [s.id for s in mine]
    if st.session_state.get(CURRENT_KEY) not in ids:
        st.session_state[CURRENT_KEY] = ids[0]
    names = {s.id: radio_label(s) for s in mine}  # radio labels are markdown: escaped
    return st.radio("Ваши подборки", ids, format_func=names.__getitem__, key=CURRENT_KEY)


def add_by_ids_form(selection: store_sel.Selection, actor: Any, agent_ids: frozenset[int] | None) -> None:
    """Premises by id, typed (comma- or space-separated): each added with its price and status now."""
    said = f"add_said_{selection.id}"
    with st.form(f"add_{selection.id}", clear_on_submit=True):
        typed = st.text_input("Добавить помещения по ID (через запятую)", key=f"add_ids_{selection.id}")
        submitted = st.form_submit_button("Добавить", icon=":material/playlist_add:")
    # What the last submission did, kept over the rerun that shows the selection with its new rows.
    for ok, message in st.session_state.pop(said, []):
        (st.success if ok else st.error)(message)
    if submitted:
        ids = re.findall(r"\d+", typed)[:MAX_TYPED_IDS]
        st.session_state[said] = [add_premise(selection.id, int(i), actor, agent_ids) for i in ids] or [
            (False, "Введите ID помещений: числа через запятую.")
        ]
        st.rerun()


def pdf_mortgage_choice(selection: store_sel.Selection) -> MortgagePreset | None:
    """The programme the PDF estimates with (the settings' presets), or none."""
    presets = {p.name: p for p in ui.settings().mortgage_presets}
    plan = st.selectbox("Ипотека в PDF", [*presets, NO_MORTGAGE], key=f"pdf_mortgage_{selection.id}")
    return presets.get(plan)


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
