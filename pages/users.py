"""Пользователи: the directory as far as the acting person manages it; creating a user and editing
every field of one (names, contacts, city, dates, agency, avatar, role, a requested role approved or
rejected, status, booking limit) within the grant rules. Only what the person may set is offered;
the form function checks it again against the stored entry, then pushes it to Brusnika."""

from __future__ import annotations

import streamlit as st

from kontur import labels, ui
from kontur.auth import session as auth_session
from kontur.forms import lookups, users
from kontur.models import UserRole, UserStatus
from kontur.ui import form_page as fp
from kontur.ui import tables

FORM = users.FORM
NEW = 0  # the «new user» choice (ids are positive)

auth_session.require_app_run()  # a deep link before any app run: rerun through app.py's gate
st.header("Пользователи")
actor = fp.acting()
store = fp.store()

if fp.demo_sandbox() and st.button("Перезагрузить справочник из песочницы", key="us_reseed"):
    st.success(f"Загружено пользователей: {fp.reload_demo_directory()}.")

listed = users.listed(store, actor)
agency_titles = {a["id"]: a["title"] for a in lookups.agencies_here(store)}
if listed:
    table = users.table(listed, agency_titles)
    st.dataframe(table, hide_index=True, use_container_width=True)
    tables.download_csv(table, "users.csv", key="us_csv")
else:
    st.info("Нет пользователей, которыми вы управляете.")

st.subheader("Пользователь")
people = {NEW: "➕ Новый пользователь"}
people.update({r["id"]: f"{r['lastName']} {r['firstName']} (№{r['id']})" for r in listed})
chosen = fp.choose("Кого изменить", people, "us_user", placeholder="Выберите пользователя…")
if chosen is None:
    fp.show_outcome(FORM)
    st.stop()
new = chosen == NEW
stored = None if new else users.stored(store, chosen)
if not new and stored is None:
    st.warning("Этого пользователя уже нет в справочнике: обновите страницу.")
    st.stop()
offer = users.edit_options(actor, stored)
if not offer.decision.allowed:
    st.caption(fp.quote(offer.decision.reason, limit=None))
if offer.note:
    st.caption(offer.note)
start = users.form_values(stored) if stored is not None else None
k = f"us_{chosen}_"  # widget keys per entry: each starts from its own stored values

if stored is not None and stored.temporary_role is not None:
    requested = labels.label_of(UserRole, stored.temporary_role.value)
    st.info(f"Запрошена роль «{requested}», ещё не действует.", icon=":material/pending:")
    yes, no = st.columns(2)
    if yes.button("Одобрить запрос", key=k + "approve", disabled=not offer.decision.allowed):
        fp.submitted(FORM, users.answer_request(fp.context(), stored.id, approve=True))
    if no.button("Отклонить запрос", key=k + "reject", disabled=not offer.decision.allowed):
        fp.submitted(FORM, users.answer_request(fp.context(), stored.id, approve=False))

avatar = ui.media_url(stored.avatar) if stored is not None else None
if avatar:
    st.image(avatar, width=96)  # only what safe_url accepts: the API's host or an allowed one

cities = {c["id"]: c["name"] for c in lookups.cities(fp.connection())}
agencies = users.agency_choices(store, actor, stored)
with st.form("user_form", clear_on_submit=False):
    c1, c2, c3 = st.columns(3)
    user_id = c1.number_input(
        "Номер (id в Брусника)",
        min_value=1,
        step=1,
        value=start.user_id if start else users.next_id(store),
        disabled=not new,
        key=k + "id",
    )
    last_name = c2.text_input("Фамилия", value=start.last_name if start else "", key=k + "last")
    first_name = c3.text_input("Имя", value=start.first_name if start else "", key=k + "first")
    fp.problem(FORM, "id", "lastName", "firstName")
    c1, c2, c3 = st.columns(3)
    email = c1.text_input("Почта (для входа)", value=start.email if start else "", key=k + "email")
    phone = c2.text_input("Телефон", value=start.phone if start else "", key=k + "phone")
    city = c3.selectbox(
        "Город",
        [None, *cities],
        index=[None, *cities].index(start.city_id) if start and start.city_id in cities else 0,
        format_func=lambda c: "—" if c is None else cities.get(c, f"№{c}"),
        key=k + "city",
    )
    fp.problem(FORM, "email", "phone")
    c1, c2, c3 = st.columns(3)
    birth = c1.date_input(
        "Дата рождения", value=start.birth_date if start else None, format="DD.MM.YYYY", key=k + "birth"
    )
    work = c2.date_input(
        "Работает с", value=start.work_start_date if start else None, format="DD.MM.YYYY", key=k + "work"
    )
    agency_options = [None, *agencies]
    own_agency = 1 if start is None and offer.agency_locked and len(agencies) == 1 else 0
    agency = c3.selectbox(
        "Агентство",
        agency_options,
        index=agency_options.index(start.agency_id) if start and start.agency_id in agencies else own_agency,
        format_func=lambda a: "—" if a is None else agencies.get(a, f"№{a}"),
        disabled=offer.agency_locked and not new,
        key=k + "agency",
    )
    fp.problem(FORM, "birthDate")
    link = st.text_input("Аватар (ссылка https://…)", value=start.avatar if start else "", key=k + "avatar")
    fp.problem(FORM, "avatar")
    c1, c2, c3, c4 = st.columns(4)
    role = c1.selectbox(
        "Роль",
        offer.roles,
        index=offer.roles.index(start.role) if start and start.role in offer.roles else offer.default_role,
        format_func=lambda v: labels.label_of(UserRole, v),
        key=k + "role",
    )
    request = c2.selectbox(
        "Запрошенная роль",
        offer.temporary_roles,
        index=offer.temporary_roles.index(start.temporary_role)
        if start and start.temporary_role in offer.temporary_roles
        else 0,
        format_func=lambda v: "—" if not v else labels.label_of(UserRole, v),
        key=k + "request",
    )
    status = c3.selectbox(
        "Статус",
        offer.statuses,
        index=offer.statuses.index(start.status) if start and start.status in offer.statuses else 0,
        format_func=lambda v: labels.label_of(UserStatus, v),
        key=k + "status",
    )
    remaining = c4.number_input(
        "Осталось броней",
        min_value=0,
        step=1,
        value=start.remaining if start and start.remaining is not None else 0,
        disabled=not offer.limit,
        key=k + "remaining",
    )
    fp.problem(FORM, "remaining_user_creation_limit", "form")
    label = "Создать и передать в Брусника" if new else "Сохранить и передать в Брусника"
    saved = st.form_submit_button(label, type="primary", disabled=not offer.decision.allowed)
if saved:
    form = users.UserForm(
        user_id=int(user_id),
        last_name=last_name,
        first_name=first_name,
        email=email,
        phone=phone,
        role=role,
        status=status,
        temporary_role=request or "",
        city_id=city,
        agency_id=agency,
        birth_date=birth,
        work_start_date=work,
        avatar=link,
        remaining=int(remaining) if offer.limit else None,
    )
    fp.submitted(FORM, users.save(fp.context(), form, new=new))
fp.show_outcome(FORM)
