"""The form pages driven through Streamlit's AppTest: the real app script, the real sandbox over HTTP,
a real DuckDB cache file and the operational store beside it (SQLite, as `make dashboard` has it).
Each test gets its own cache copy and store (and so its own dashboard runtime)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from kontur import ui
from kontur.auth.session import ACTOR_STATE_KEY, DEV_PICKER_BANNER
from kontur.config import Settings
from kontur.sandbox.server import RunningSandbox
from tests.support import ops_store
from tests.support.sandbox_records import free_premises

from .helpers import outbound_count, records

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60


@pytest.fixture
def app_env(
    forms_sandbox: RunningSandbox, forms_cache_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    path = tmp_path / "kontur.duckdb"
    path.write_bytes(forms_cache_file.read_bytes())
    # Someone to act as: the sandbox's directory in the store the app opens (beside the cache).
    ops_store.seed_url(Settings(cache_path=path).ops_database_url(), forms_sandbox.admin().users())
    monkeypatch.setenv("BRUSNIKA_API_URL", forms_sandbox.api_url)
    monkeypatch.setenv("BRUSNIKA_API_TOKEN", forms_sandbox.token)
    monkeypatch.setenv("KONTUR_CACHE_PATH", str(path))
    monkeypatch.setenv("KONTUR_AUTO_SYNC", "0")
    # A configured API without [auth]: only the development picker lets the app run (red banner).
    monkeypatch.setenv("KONTUR_INSECURE_DEV_PICKER", "1")
    monkeypatch.chdir(REPO)
    yield path
    # The dashboard runtime of this cache file (st.cache_resource, process-wide) holds it open: close
    # it (cache, store, schedule, mirror), so test files do not pile up open connections.
    settings = Settings.from_env()
    ui._runtime(str(settings.cache_path), settings.api_url).close()


def _app(sandbox: RunningSandbox | None = None) -> AppTest:
    """The app, acting (sidebar picker) as an active agent who still has bookings left in Brusnika's
    directory as it is now (earlier tests may have spent some agents' limits)."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if sandbox is not None:
        with sandbox.admin() as admin:
            directory = admin.users()
        agent = max(
            (u for u in directory if u["role"] == "AGENT" and u["status"] == "active"),
            key=lambda u: (u["remaining_user_creation_limit"], -u["id"]),
        )
        # What the sidebar picker stores (it is drawn on the form pages only).
        at.session_state[ACTOR_STATE_KEY] = agent["id"]
    return at


def _page(at: AppTest, path: str) -> AppTest:
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown(value: str) -> str:
    """A message as the person reads it: the markdown escapes (`md()`) taken out."""
    return re.sub(r"\\(.)", r"\1", value)


def _errors(at: AppTest) -> list[str]:
    """The page's error messages, without the development picker's banner."""
    return [_shown(e.value) for e in at.error if e.value != DEV_PICKER_BANNER]


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [s.value for s in at.success]
    parts += [w.value for w in at.warning] + [i.value for i in at.info]
    parts = [_shown(part) for part in parts]
    return "\n".join(str(p) for p in parts)


def _create_client(at: AppTest, fullname: str, phone: str) -> None:
    _page(at, "pages/clients.py")
    at.text_input(key="cl_fullname").input(fullname)
    at.text_input(key="cl_phone").input(phone)
    next(b for b in at.button if b.label == "Завести клиента").click().run()
    assert at.success, _texts(at)


def _free_in_sandbox(sandbox: RunningSandbox) -> set[int]:
    return {p["id"] for p in free_premises(sandbox)}


def _submit(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]


def test_book_from_chessboard_then_cancel(app_env: Path, forms_sandbox: RunningSandbox) -> None:
    at = _app(forms_sandbox)
    _create_client(at, "Смирнова Ольга Павловна", "8 (812) 700-00-01")

    _page(at, "pages/chessboard.py")
    choice = next(s for s in at.selectbox if str(s.key).startswith("cb_choice_"))
    premise_id = _pick(choice, _free_in_sandbox(forms_sandbox))
    choice.set_value(premise_id).run()
    at.button(key="cb_book").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # The chessboard handed the premise over and switched to the bookings page.
    assert at.selectbox(key="bk_premise").value == premise_id
    # AppTest reruns the page it was pointed at, not the one a script switched to: follow the switch.
    _page(at, "pages/bookings.py")
    assert at.selectbox(key="bk_premise").value == premise_id
    at.selectbox(key="bk_client").select_index(0).run()
    assert not at.exception, [e.value for e in at.exception]
    at.date_input(key="bk_date").set_value(dt.date.today() + dt.timedelta(days=2))
    at.text_input(key="bk_time").input("10:30")
    _submit(at, "Забронировать")

    assert at.success, _texts(at)
    assert "создана" in at.success[0].value
    truth = records(forms_sandbox, "premises")
    assert truth[premise_id]["is_booked"] is True
    assert "Статус: **Открыта**" in _texts(at)

    cancel = next(b for b in at.button if str(b.key).startswith("bk_cancel_"))
    cancel.click().run()
    at.button(key="bk_confirm_yes").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "отменена" in at.success[0].value
    assert records(forms_sandbox, "premises")[premise_id]["is_booked"] is False
    assert "Статус: **Не состоялась**" in _texts(at)  # `fail`: cancelled here, or fell through at Brusnika


def _pick(box: object, wanted: set[int]) -> int:
    """The first option of `box` whose value is in `wanted` (AppTest lists options by label)."""
    for value in sorted(wanted):
        try:
            label = box.format_func(value)  # type: ignore[attr-defined]
        except (IndexError, KeyError, ValueError):
            continue
        if label in box.options:  # type: ignore[attr-defined]
            return value
    pytest.fail("no option of the selectbox is free in the sandbox")


def _preselect(at: AppTest, premise_id: int) -> None:
    """What the chessboard's button does: remember the premise and open the bookings page."""
    at.session_state["preselected_premise_id"] = premise_id
    _page(at, "pages/bookings.py")
    assert at.selectbox(key="bk_premise").value == premise_id


def _fill_booking(at: AppTest, *, day: dt.date, time: str) -> None:
    at.selectbox(key="bk_client").select_index(0).run()
    at.date_input(key="bk_date").set_value(day)
    at.text_input(key="bk_time").input(time)


def test_double_submitted_booking_creates_one(
    app_env: Path, forms_sandbox: RunningSandbox, forms_cache_file: Path
) -> None:
    at = _app(forms_sandbox)
    _create_client(at, "Кузнецов Игорь", "+7 812 700 00 02")
    premise_id = min(_free_in_sandbox(forms_sandbox) & _free_in_cache(forms_cache_file))
    _preselect(at, premise_id)
    _fill_booking(at, day=dt.date.today() + dt.timedelta(days=3), time="12:15")
    before = outbound_count(forms_sandbox, "bookings")
    _submit(at, "Забронировать")
    assert at.success, _texts(at)
    first = at.success[0].value
    _submit(at, "Забронировать")  # the second click of a double click: same form, same values
    assert at.success[0].value == first
    assert outbound_count(forms_sandbox, "bookings") == before + 1
    assert records(forms_sandbox, "premises")[premise_id]["is_booked"] is True


def test_booked_premise_answers_with_the_conflict(app_env: Path, forms_sandbox: RunningSandbox) -> None:
    at = _app(forms_sandbox)
    _create_client(at, "Орлова Мария", "8-812-700-00-03")
    booked = next(
        p["id"] for p in records(forms_sandbox, "premises").values() if p["is_booked"] and not p["is_sold"]
    )
    _preselect(at, booked)
    _fill_booking(at, day=dt.date.today() + dt.timedelta(days=3), time="09:00")
    _submit(at, "Забронировать")
    assert _errors(at) == ["Помещение уже забронировано или продано — выберите другое."]


def test_past_date_refused_and_values_kept(
    app_env: Path, forms_sandbox: RunningSandbox, forms_cache_file: Path
) -> None:
    at = _app(forms_sandbox)
    _create_client(at, "Белов Антон", "812 700-00-04")
    premise_id = min(_free_in_sandbox(forms_sandbox) & _free_in_cache(forms_cache_file))
    _preselect(at, premise_id)
    past = dt.date.today() - dt.timedelta(days=5)
    _fill_booking(at, day=past, time="16:45")
    before = outbound_count(forms_sandbox, "bookings")
    _submit(at, "Забронировать")
    assert "Дата уже прошла" in _texts(at)
    assert at.date_input(key="bk_date").value == past
    assert at.text_input(key="bk_time").value == "16:45"
    assert at.selectbox(key="bk_premise").value == premise_id
    assert outbound_count(forms_sandbox, "bookings") == before


def test_bad_phone_refused_and_values_kept(app_env: Path, forms_sandbox: RunningSandbox) -> None:
    at = _app(forms_sandbox)
    _page(at, "pages/clients.py")
    at.text_input(key="cl_fullname").input("Зайцева Вера Ивановна")
    at.text_input(key="cl_phone").input("+7 912 12")
    at.text_area(key="cl_comment").input("перезвонить вечером")
    _submit(at, "Завести клиента")
    assert "Нужен российский номер" in _texts(at)
    assert at.text_input(key="cl_fullname").value == "Зайцева Вера Ивановна"
    assert at.text_input(key="cl_phone").value == "+7 912 12"
    assert at.text_area(key="cl_comment").value == "перезвонить вечером"


def test_bad_inn_refused_and_values_kept(app_env: Path, forms_sandbox: RunningSandbox) -> None:
    at = _app(forms_sandbox)
    _page(at, "pages/agencies.py")
    typed = {
        "ag_title": "Квартал",
        "ag_legal_name": "ООО «Квартал»",
        "ag_inn": "7736207544",
        "ag_phone": "8 343 100-20-30",
        "ag_email": "office@kvartal.ru",
        "ag_owner": "Лебедев Л. Л.",
        "ag_owner_phone": "89120001122",
    }
    for key, value in typed.items():
        at.text_input(key=key).input(value)
    at.selectbox(key="ag_city").select_index(0)
    agencies_before = outbound_count(forms_sandbox, "agencies")
    _submit(at, "Зарегистрировать")
    assert "контрольные цифры" in _texts(at)
    for key, value in typed.items():
        assert at.text_input(key=key).value == value
    assert outbound_count(forms_sandbox, "agencies") == agencies_before


def test_visit_with_slot_then_cancel_releases_it(app_env: Path, forms_sandbox: RunningSandbox) -> None:
    at = _app(forms_sandbox)
    _create_client(at, "Гусев Олег", "8 812 700 00 05")
    _page(at, "pages/visits.py")
    truth = records(forms_sandbox, "time-slots")
    project_box = at.selectbox(key="vs_project")
    for index in range(len(project_box.options)):
        at.selectbox(key="vs_project").select_index(index).run()
        slot_box = at.selectbox(key="vs_slot")
        free = {sid for sid, s in truth.items() if not s["is_booked"]}
        try:
            slot_id = _pick(slot_box, free)
        except pytest.fail.Exception:
            continue
        break
    else:
        pytest.fail("no project with a free slot")
    at.selectbox(key="vs_slot").set_value(slot_id)
    at.selectbox(key="vs_client").select_index(0)
    _submit(at, "Записать")
    assert at.success, _texts(at)
    assert "слот забронирован" in at.success[0].value
    assert records(forms_sandbox, "time-slots")[slot_id]["is_booked"] is True

    next(b for b in at.button if str(b.key).startswith("vs_cancel_")).click().run()
    at.button(key="vs_confirm_yes").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "слот освобождён" in at.success[0].value
    assert records(forms_sandbox, "time-slots")[slot_id]["is_booked"] is False


def test_history_lists_actions_without_the_token(app_env: Path, forms_sandbox: RunningSandbox) -> None:
    at = _app(forms_sandbox)
    _create_client(at, "Соколова Нина", "8 812 700 00 06")
    _page(at, "pages/history.py")
    table = at.dataframe[0].value
    assert "Новый клиент" in set(table["Действие"])
    assert forms_sandbox.token not in table.to_csv()


def _free_in_cache(seed: Path) -> set[int]:
    """Premises free in the cache the app started from (the seed file nobody holds open)."""
    con = duckdb.connect(str(seed), read_only=True)
    try:
        rows = con.execute("SELECT id FROM premises WHERE NOT is_booked AND NOT is_sold").fetchall()
    finally:
        con.close()
    return {int(r[0]) for r in rows}


def test_users_directory_and_push(app_env: Path, forms_sandbox: RunningSandbox) -> None:
    at = _app(forms_sandbox)
    with forms_sandbox.admin() as admin:
        directory = admin.users()
    # The whole directory is an administrator's to see and push (kontur.auth policy): act as one.
    at.session_state[ACTOR_STATE_KEY] = next(
        u["id"] for u in directory if u["role"] == "ADMIN" and u["status"] == "active"
    )
    _page(at, "pages/users.py")
    table = at.dataframe[0].value
    assert len(table) == len(directory)
    blocked = table[table["Статус"] == "Заблокирован"]
    assert not blocked.empty
    assert blocked["Может бронировать"].str.contains("заблокирован").all()
    spent = table[(table["Осталось броней"] == 0) & (table["Статус"] == "Активен")]
    assert spent["Может бронировать"].str.contains("не осталось бронирований").all()

    target = next(u for u in directory if u["status"] == "active" and u["role"] == "AGENT")
    at.selectbox(key="us_user").set_value(target["id"]).run()
    at.number_input(key=f"us_{target['id']}_remaining").set_value(7)
    at.text_input(key=f"us_{target['id']}_phone").input("8 343 111-22-33")
    _submit(at, "Сохранить и передать в Брусника")
    assert at.success, _texts(at)
    with forms_sandbox.admin() as admin:
        pushed = next(u for u in admin.users() if u["id"] == target["id"])
    assert pushed["remaining_user_creation_limit"] == 7
    assert pushed["phone"] == "+73431112233"


def test_users_page_creates_a_user(app_env: Path, forms_sandbox: RunningSandbox) -> None:
    at = _app(forms_sandbox)
    with forms_sandbox.admin() as admin:
        directory = admin.users()
    at.session_state[ACTOR_STATE_KEY] = next(
        u["id"] for u in directory if u["role"] == "ADMIN" and u["status"] == "active"
    )
    _page(at, "pages/users.py")
    at.selectbox(key="us_user").set_value(0).run()  # «Новый пользователь»
    suggested = int(at.number_input(key="us_0_id").value)
    assert suggested == max(u["id"] for u in directory) + 1
    at.text_input(key="us_0_last").input("Созданова")
    at.text_input(key="us_0_first").input("Вера")
    at.text_input(key="us_0_email").input(directory[0]["email"])  # someone else's address
    _submit(at, "Создать и передать в Брусника")
    assert "уже указан у пользователя" in _texts(at)
    assert at.text_input(key="us_0_last").value == "Созданова"  # what was typed stays
    with forms_sandbox.admin() as admin:
        assert all(u["id"] != suggested for u in admin.users())  # nothing sent

    at.text_input(key="us_0_email").input(f"vera.sozdanova.{suggested}@kontur.example")
    _submit(at, "Создать и передать в Брусника")
    assert at.success, _texts(at)
    with forms_sandbox.admin() as admin:
        made = next(u for u in admin.users() if u["id"] == suggested)
    # Nobody gets rights by default: a new entry starts as a new member.
    assert (made["lastName"], made["firstName"], made["role"]) == ("Созданова", "Вера", "NEW_MEMBER")


def _cache_names(seed: Path, premise_id: int) -> tuple[str, str, str]:
    """The premise's number, its building's address and its project's name, as the cache has them."""
    con = duckdb.connect(str(seed), read_only=True)
    try:
        row = con.execute(
            "SELECT p.number, b.address, pr.name FROM premises p JOIN buildings b ON b.id = p.building_id"
            " JOIN projects pr ON pr.id = p.project_id WHERE p.id = ?",
            [premise_id],
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return str(row[0]), str(row[1]), str(row[2])


def test_bookings_list_names_project_building_and_premise(
    app_env: Path, forms_sandbox: RunningSandbox, forms_cache_file: Path
) -> None:
    at = _app(forms_sandbox)
    _create_client(at, "Данилова Юлия", "8 812 700 00 07")
    premise_id = max(_free_in_sandbox(forms_sandbox) & _free_in_cache(forms_cache_file))
    _preselect(at, premise_id)
    _fill_booking(at, day=dt.date.today() + dt.timedelta(days=4), time="14:00")
    _submit(at, "Забронировать")
    assert at.success, _texts(at)
    number, address, project = _cache_names(forms_cache_file, premise_id)
    line = next(_shown(m.value) for m in at.markdown if "помещение №" in str(m.value))
    assert project in line
    assert f"дом: {address}" in line
    assert f"помещение №{number}" in line


def test_visit_without_slot_checked_then_made(app_env: Path, forms_sandbox: RunningSandbox) -> None:
    at = _app(forms_sandbox)
    _create_client(at, "Ершов Павел", "8 812 700 00 08")
    _page(at, "pages/visits.py")
    at.selectbox(key="vs_project").select_index(0).run()
    at.selectbox(key="vs_free_client").select_index(0)  # in a form: sent with the submit
    past = dt.date.today() - dt.timedelta(days=2)
    at.date_input(key="vs_free_date").set_value(past)
    at.text_input(key="vs_free_time").input("10:40")
    before = outbound_count(forms_sandbox, "visits")
    _submit(at, "Назначить показ")
    assert "Дата уже прошла" in _texts(at)
    assert at.date_input(key="vs_free_date").value == past  # the form keeps what was typed
    assert at.text_input(key="vs_free_time").value == "10:40"
    assert outbound_count(forms_sandbox, "visits") == before

    later = dt.date.today() + dt.timedelta(days=5)
    at.date_input(key="vs_free_date").set_value(later)
    _submit(at, "Назначить показ")
    assert at.success, _texts(at)
    assert f"назначен на {later:%d.%m.%Y} 10:40." in _shown(at.success[0].value)
    assert outbound_count(forms_sandbox, "visits") == before + 1
    assert "без слота" in _texts(at)


def test_history_lists_only_what_the_acting_user_may_see(
    app_env: Path, forms_sandbox: RunningSandbox
) -> None:
    at = _app(forms_sandbox)
    with forms_sandbox.admin() as admin:
        directory = admin.users()
    active = [u for u in directory if u["status"] == "active"]
    agent = next(u for u in active if u["role"] == "AGENT")
    stranger = next(u for u in active if u["role"] == "AGENT" and u["agency_id"] != agent["agency_id"])
    manager = next(u for u in active if u["role"] == "MANAGER")
    for user, fullname, phone in (
        (agent, "Своя Клиентка", "8 812 700 00 09"),
        (stranger, "Чужая Клиентка", "8 812 700 00 10"),
    ):
        at.session_state[ACTOR_STATE_KEY] = user["id"]
        _create_client(at, fullname, phone)

    def actors_seen(user: dict) -> set[str]:
        at.session_state[ACTOR_STATE_KEY] = user["id"]
        _page(at, "pages/history.py")
        return set(at.dataframe[0].value["Кто"])

    def tag(user: dict) -> str:
        return f"{user['lastName']} {user['firstName']} (#{user['id']})"

    seen = actors_seen(agent)
    assert tag(agent) in seen
    assert tag(stranger) not in seen
    assert "Действия пользователей вашего агентства." in [c.value for c in at.caption]
    assert tag(agent) not in actors_seen(stranger)
    assert {tag(agent), tag(stranger)} <= actors_seen(manager)
