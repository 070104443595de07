"""The project card: photo, link, «Срок сдачи», descriptions, buildings with floors and Brusnika's own
free counts beside the counts from the premises, a mismatch flagged with the side that changed last.

`project_card(project_id)` can be called from any page (sidebar scope, availability, chessboard);
`chosen_project()` picks the project from the sidebar scope, a `?project=` link or a selectbox.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from kontur import labels, ui
from kontur.queries import projects as projects_q
from kontur.queries import scope as scope_q
from kontur.ui.media import media_url
from kontur.ui.safe import md, plain

TYPE_WORDS = {  # «свободных квартир», genitive plural for the mismatch sentence
    "apartment": "квартир",
    "parking": "машино-мест",
    "storeroom": "кладовых",
    "commercial": "коммерческих помещений",
}


def fmt_date(value: Any) -> str:
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return "не указан"
    return pd.Timestamp(value).strftime("%d.%m.%Y")


def fmt_when(value: dt.datetime | None) -> str:
    return "—" if value is None else value.astimezone(dt.UTC).strftime("%d.%m.%Y %H:%M UTC")


def mismatch_text(found: list[projects_q.TotalsMismatch]) -> str:
    """One warning per building, every type that disagrees in it (markdown-safe: the address is
    escaped), saying that one of the two sides is stale and which changed last."""
    first = found[0]
    parts = []
    for m in found:
        what = TYPE_WORDS.get(m.type, m.type)
        brusnika = "не сообщает" if m.brusnika is None else f"сообщает {m.brusnika}"
        parts.append(f"свободных {what} Брусника {brusnika}, по помещениям в кэше — {m.computed}")
    side = {
        "building": "итоги здания новее — вероятно, устарел список помещений",
        "premises": "помещения обновлены позже — вероятно, устарели итоги здания",
        "unknown": "какая из сторон устарела, по данным не видно",
    }[first.newer_side]
    return (
        f"{md(first.address, limit=120)}: " + "; ".join(parts) + ". Одна из двух сторон устарела "
        f"({side}; итоги здания от {fmt_when(first.building_updated_at)}, помещения от "
        f"{fmt_when(first.premises_updated_at)})."
    )


def _counts_table(rows: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "Адрес": [plain(a, limit=120) for a in rows["address"]],
            "Этажей": rows["number_of_floors"],
            "Секций": rows["sections"],
            "Помещений": rows["premises"],
        }
    )
    for t, title in labels.PROJECT_TOTALS.items():
        brusnika = rows[f"brusnika_{t}"]
        free = rows[f"free_{t}"]
        out[f"{title}: Брусника"] = ["—" if pd.isna(b) else str(int(b)) for b in brusnika]
        out[f"{title}: по помещениям"] = [str(int(f)) for f in free]
    return out


def project_card(project_id: int, *, key: str = "project_card") -> None:
    info = ui.read(projects_q.project, int(project_id))
    if info is None:
        st.info(
            "Проект не найден в кэше: он снят с продажи или ещё не синхронизирован.",
            icon=":material/search_off:",
        )
        return
    st.subheader(md(info.name, limit=150))
    if info.city:
        st.caption(md(info.city, limit=80))
    left, right = st.columns([2, 3])
    with left:
        photo = media_url(info.photo)
        if photo:
            st.image(photo, caption="Фото проекта", width="stretch")
        else:
            st.caption("Фото проекта не указано.")
        link = media_url(info.link)
        if link:
            st.link_button("Сайт проекта", link, icon=":material/open_in_new:")
    with right:
        st.metric("Срок сдачи", fmt_date(info.end_date))
        if info.brief_description:
            st.markdown(md(info.brief_description, limit=600))
        if info.description:
            st.caption(md(info.description, limit=600))
        if info.detailed_description:
            with st.expander("Подробное описание"):
                st.markdown(md(info.detailed_description, limit=4000))
    rows = ui.read(projects_q.buildings, int(project_id))
    st.markdown("**Здания**")
    if rows.empty:
        st.info("У проекта пока нет зданий в данных Брусники.", icon=":material/domain_disabled:")
        return
    st.dataframe(_counts_table(rows), hide_index=True, width="stretch", key=f"{key}_buildings")
    st.caption(
        "«Брусника» — свободные помещения по итогам здания от Брусники; «по помещениям» — свободные "
        "(не забронированы и не проданы) среди помещений в кэше."
    )
    by_building: dict[int, list[projects_q.TotalsMismatch]] = {}
    for problem in projects_q.mismatches(rows):
        by_building.setdefault(problem.building_id, []).append(problem)
    for found in by_building.values():
        st.warning(mismatch_text(found), icon=":material/sync_problem:")
    described = rows[
        [
            bool(b) or bool(d)
            for b, d in zip(rows["brief_description"], rows["detailed_description"], strict=True)
        ]
    ]
    if len(described):
        with st.expander("Описания зданий"):
            for row in described.itertuples():
                st.markdown(f"**{md(row.address, limit=120)}** · {row.number_of_floors} эт.")
                for text in (row.brief_description, row.detailed_description):
                    if text:
                        st.markdown(md(text, limit=2000))


def chosen_project(key: str = "project_pick") -> int | None:
    """The project to show: the sidebar scope's project (or its building's), a `?project=` link, or
    the manager's choice among the projects of the scope's city."""
    current = ui.current_scope()
    if current.project_id is not None:
        return current.project_id
    if current.building_id is not None:
        found = ui.read(projects_q.project_of_building, current.building_id)
        if found is not None:
            return found
    linked = st.query_params.get("project")
    options = ui.read(scope_q.projects, current.city_id)
    names = dict(zip(options["id"].tolist(), options["name"].tolist(), strict=True))
    if linked is not None and linked.isdigit() and int(linked) in names:
        st.session_state.setdefault(key, int(linked))
    if not names:
        return None
    return st.selectbox(
        "Проект",
        list(names),
        format_func=lambda pid: plain(names[pid], limit=80),
        key=key,
    )


PROJECT_PAGE = "pages/project.py"


def open_project_button(project_id: Any, city_id: Any, *, key: str, label: str = "Карточка проекта") -> None:
    """A button that scopes the dashboard to the project (city and project in the sidebar) and opens
    «Проект» with its card."""
    if project_id is None or pd.isna(project_id):
        return
    if not st.button(label, key=key, icon=":material/domain:"):
        return
    city_key, project_key, building_key = ui.SCOPE_KEYS
    st.session_state[city_key] = None if city_id is None or pd.isna(city_id) else int(city_id)
    st.session_state[project_key] = int(project_id)
    st.session_state[building_key] = None
    try:
        st.switch_page(PROJECT_PAGE)
    except st.errors.StreamlitAPIException:  # not in this person's navigation
        st.info("Проект выбран в боковой панели; страница «Проект» вам недоступна.", icon=":material/lock:")
