"""Where the dashboard meets sign-in: who may reach the app at all (`access_mode`), the gate `app.py`
runs before any page, the same gate again inside fragment and dialog reruns (`gated`), the pages a
role may open, and the acting person every page and form asks for (`current_actor`).

Four ways the app can run:
- `SIGN_IN`: an `[auth]` section exists; only a signed-in, active, known person gets past the gate.
- `DEMO`: no `[auth]` and no configured API, i.e. the embedded sandbox: a sidebar picker marked ДЕМО
  chooses who acts.
- `DEV_PICKER`: no `[auth]`, a configured API and `KONTUR_INSECURE_DEV_PICKER=1`: the picker against a
  real API, for local development only, with a red banner on every page and a warning in the log.
- `UNCONFIGURED`: no `[auth]` against a configured API: one screen saying what to configure, nothing
  else (no navigation, no data, no page reachable by its URL).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import streamlit as st
from sqlalchemy.engine import Connection
from streamlit.runtime.pages_manager import PagesManager

from kontur.labels import label_of
from kontur.models.enums import UserRole, UserStatus
from kontur.store.users import Person

from . import directory
from .actor import Actor
from .identity import Refusal
from .person_choice import person_choice
from .policy import Action, Decision, Resource, can, can_cancel_booking, may_cancel_bookings
from .signin import auth_enabled, check_signed_in, gate, only_screen, sidebar_account

if TYPE_CHECKING:
    from kontur.config import Settings
    from kontur.runtime import Runtime

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

ACTOR_STATE_KEY = "kontur.actor_id"  # the picked user's id (DEMO, DEV_PICKER)
_ACTING_KEY = "kontur.auth.acting"  # the Actor the latest gate let through
_RUNTIME_KEY = "kontur.auth.runtime"  # the dashboard's runtime, for the gate's rechecks
_PICKER_WIDGET = "_w_actor"

DEV_PICKER_BANNER = (
    "Небезопасный режим разработки: вход отключён (KONTUR_INSECURE_DEV_PICKER=1), любой, кто открыл "
    "эту страницу, действует от имени любого пользователя против настоящего API Брусники. "
    "Не используйте этот режим нигде, кроме своей машины."
)

# Which permission opens which page; a page not listed needs only BROWSE. Forms pages open for
# anyone who may do their main action (each submission is still checked against the record).
PAGE_ACTIONS: Mapping[str, Action] = {
    "pages/leads.py": Action.VIEW_LEADS,
    "pages/visits.py": Action.CREATE_VISIT,
    "pages/clients.py": Action.CREATE_CLIENT,
    "pages/agencies.py": Action.CREATE_AGENCY,
    "pages/users.py": Action.MANAGE_USERS,
    "pages/sync_health.py": Action.SYNC_NOW,
}


class Access(StrEnum):
    SIGN_IN = "sign_in"
    DEMO = "demo"
    DEV_PICKER = "dev_picker"
    UNCONFIGURED = "unconfigured"

    @property
    def picker(self) -> bool:
        return self in (Access.DEMO, Access.DEV_PICKER)


def access_mode(settings: Settings) -> Access:
    """How this process lets people in (see the module docstring). Decided before the runtime
    starts, so an unconfigured production app never syncs, seeds or shows anything."""
    if auth_enabled():
        return Access.SIGN_IN
    if settings.uses_sandbox:
        return Access.DEMO
    if settings.insecure_dev_picker:
        return Access.DEV_PICKER
    return Access.UNCONFIGURED


def runtime_mode(rt: Runtime) -> Access:
    """The access mode of a running dashboard. In demo mode its settings already point at the
    embedded sandbox's URL, so the mode comes from `rt.demo`, never from that URL."""
    if auth_enabled():
        return Access.SIGN_IN
    if rt.demo:
        return Access.DEMO
    return access_mode(rt.settings)


def configuration_screen() -> NoReturn:
    """The only screen of an app that would otherwise run without sign-in against a real API."""
    only_screen(_configuration_page, title="Настройка")


def error_screen(message: str) -> NoReturn:
    """A start-up failure as the app's only screen: like every early stop, it must replace the
    navigation, or Streamlit would list (and serve) the `pages/` folder past the gate."""
    only_screen(lambda: st.error(message, icon=":material/error:"), title="Ошибка")


def _configuration_page() -> None:
    st.title("Контур · Брусника: нужна настройка входа")
    st.error(
        "Дашборд подключён к API Брусники, но вход не настроен, поэтому он ничего не показывает.",
        icon=":material/lock:",
    )
    st.write(
        "Администратору: добавьте в `.streamlit/secrets.toml` раздел `[auth]` с ключами "
        "`redirect_uri` (адрес дашборда + `/oauth2callback`), `cookie_secret`, `client_id`, "
        "`client_secret` и `server_metadata_url` корпоративного провайдера OpenID Connect, "
        "затем перезапустите дашборд. Подробности — в разделе README «Security»."
    )


@st.cache_resource(show_spinner=False)
def _log_dev_picker(api_url: str) -> bool:
    # Cached per process: logged once at start, not on every rerun.
    log.warning(
        "KONTUR_INSECURE_DEV_PICKER is on: no sign-in against the configured API %s; anyone who can "
        "reach this dashboard acts as any user. Development only.",
        api_url,
    )
    return True


def app_gate(rt: Runtime, mode: Access) -> Actor | None:
    """Run by `app.py` before navigation, on every full run. `SIGN_IN`: the signed-in, active, known
    person (with the account box in the sidebar); anyone else gets the sign-in screen or the refusal
    and the script stops there. Picker modes: the picked user (the picker in the sidebar; the red
    banner in `DEV_PICKER`). `UNCONFIGURED` never gets here (`configuration_screen`)."""
    if mode is Access.UNCONFIGURED:
        configuration_screen()
    st.session_state[_RUNTIME_KEY] = rt
    if mode is Access.SIGN_IN:
        with rt.store.read() as tx:
            me = gate(
                lambda email: directory.find_by_email(tx, email),
                email_verified_optional=rt.settings.email_verified_optional,
            )
        assert me is not None  # SIGN_IN means [auth] exists: gate returned a person or stopped
        sidebar_account(me)
        actor: Actor | None = Actor.from_user(me.user, signed_in_as=me.email)
    else:
        if mode is Access.DEV_PICKER:
            _log_dev_picker(str(rt.settings.api_url))
            st.error(DEV_PICKER_BANNER, icon=":material/warning:")
        with rt.store.read() as tx:
            actor = _picker(tx, mode)
    st.session_state[_ACTING_KEY] = actor
    return actor


def _default_pick(rows: Iterable[Person]) -> int:
    """Who acts until someone is picked: the first active administrator (the demo shows everything),
    else the first active user, else the first."""
    people = list(rows)
    for wanted in (
        lambda p: p.status == UserStatus.ACTIVE and p.role == UserRole.ADMIN,
        lambda p: p.status == UserStatus.ACTIVE,
        lambda p: True,
    ):
        for person in people:
            if wanted(person):
                return person.id
    raise LookupError("empty directory")


def _remember_pick() -> None:
    st.session_state[ACTOR_STATE_KEY] = st.session_state.get(_PICKER_WIDGET)


def _picker(tx: Connection, mode: Access) -> Actor | None:
    """The sidebar choice of who acts, marked so nobody mistakes it for a sign-in."""
    rows, labels = _picker_options(str(tx.engine.url), directory.version(tx), tx)
    if not rows:
        st.sidebar.warning("Справочник пользователей пуст: действовать не от кого.")
        return None
    current = st.session_state.get(ACTOR_STATE_KEY)
    if current not in rows:
        current = _default_pick(rows.values())
        st.session_state[ACTOR_STATE_KEY] = current
    # `ACTOR_STATE_KEY` is the truth (tests and other code may set it): the widget starts from it on
    # every run, so a value the widget kept from an earlier run never overrides a newer pick.
    st.session_state[_PICKER_WIDGET] = current
    with st.sidebar:
        if mode is Access.DEMO:
            st.caption(":orange-badge[ДЕМО] Выбор пользователя без входа — только для песочницы.")
        else:
            st.caption(":red-badge[БЕЗ ВХОДА] Режим разработки против настоящего API.")
        person_choice(
            "Действую от имени",
            labels,
            key=_PICKER_WIDGET,
            first=[current],
            on_change=_remember_pick,
            search_label="Найти пользователя",
        )
    # who acts is read afresh (a list cached a moment ago must not decide who someone is)
    fresh = directory.user(tx, current)
    if fresh is None:  # gone from the directory since the list was read: nobody acts
        return None
    actor = Actor.from_row(fresh)
    # Who acts, as this run read them (the box above shows a pick at once, before any run). Our own
    # text only: numbers, and the role's label (a validated directory entry has a known role).
    agency = f" · агентство №{int(actor.agency_id)}" if actor.agency_id else ""
    st.sidebar.caption(f"Сейчас: №{int(actor.id)} · {label_of(UserRole, actor.role)}{agency}")
    return actor


@st.cache_resource(show_spinner=False, max_entries=4)
def _picker_options(
    store: str, version: tuple[Any, ...], _tx: Connection
) -> tuple[dict[int, Person], dict[int, str]]:
    # The whole directory (31,504 people at scale 10) read light and labelled once per directory
    # version instead of on every run; shared read-only by the sessions. Who acts is read afresh.
    rows = {p.id: p for p in directory.people(_tx)}
    return rows, {uid: _pick_label(p) for uid, p in rows.items()}


def _pick_label(person: Person) -> str:
    blocked = " · заблокирован" if person.status == UserStatus.BLOCKED else ""
    return f"{person.name} ({person.role}){blocked}"


def current_actor() -> Actor | None:
    """Who acts in this session: the signed-in person, or the picked one in the picker modes, read
    afresh from the directory (a person blocked a moment ago is None at once). None: nobody (signed
    out, refused, an empty directory, or no gate has run in this session). Pages scope their reads
    with it, `read_scope(current_actor(), action, members)`; forms act as it."""
    rt = st.session_state.get(_RUNTIME_KEY)
    if rt is None or not recheck(rt):
        return None
    value = st.session_state.get(_ACTING_KEY)
    return value if isinstance(value, Actor) else None


def require_app_run() -> None:
    """The first line of every page script. Streamlit runs `pages/x.py` by itself, without `app.py`
    and so without its gate, while it is in its legacy "pages directory" mode: from the start of the
    process until some run calls `st.navigation` (e.g. when the first request after a start is a
    page's own URL). Such a run switches that mode off (every later run goes through `app.py`) and
    goes on only for a person the gate already let through in this session; anyone else gets a
    message and nothing of the page. In a normal run this does nothing."""
    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False
    if current_actor() is None:
        st.error("Откройте главную страницу дашборда, чтобы войти.", icon=":material/lock:")
        st.stop()


def recheck(rt: Runtime) -> bool:
    """The gate again, for a fragment or dialog rerun (which does not run `app.py`): False when the
    person may no longer act (signed out, refused, blocked since); otherwise `current_actor()` is
    refreshed from the directory and True."""
    mode = runtime_mode(rt)
    with rt.store.read() as tx:
        if mode is Access.SIGN_IN:
            result = check_signed_in(
                lambda email: directory.find_by_email(tx, email),
                email_verified_optional=rt.settings.email_verified_optional,
            )
            if isinstance(result, Refusal):
                st.session_state.pop(_ACTING_KEY, None)
                return False
            actor = Actor.from_user(result.user, signed_in_as=result.email)
        elif mode.picker:
            actor = directory.acting_user(tx, st.session_state.get(ACTOR_STATE_KEY))
        else:
            st.session_state.pop(_ACTING_KEY, None)
            return False
    st.session_state[_ACTING_KEY] = actor
    return True


def gated(fn: Callable[P, T]) -> Callable[P, T]:
    """Wrap a fragment or dialog body (beneath `st.fragment`/`st.dialog`): every run of it runs the
    gate first. A signed-in person who may no longer act gets a full app rerun, where the app's gate
    shows why; in the picker modes (nobody to act as) the fragment stops with a message. Either way
    the body, and any action in it, does not run."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        if current_actor() is None:
            rt = st.session_state.get(_RUNTIME_KEY)
            if rt is not None and runtime_mode(rt) is Access.SIGN_IN:
                st.rerun(scope="app")
            st.error("Не выбран пользователь, от имени которого вы действуете: действие не выполнено.")
            st.stop()
        return fn(*args, **kwargs)

    return run


def page_decision(user: Actor | None, path: str) -> Decision:
    if path == "pages/bookings.py":
        booking = can(user, Action.CREATE_BOOKING)
        return booking if booking.allowed else may_cancel_bookings(user)
    return can(user, PAGE_ACTIONS.get(path, Action.BROWSE))


def allowed_pages(
    pages: Mapping[str, Sequence[tuple[str, str, str]]], user: Actor | None
) -> dict[str, list[tuple[str, str, str]]]:
    """The navigation with every page the user may not open left out (sections left empty too)."""
    kept = {
        section: [entry for entry in entries if page_decision(user, entry[0]).allowed]
        for section, entries in pages.items()
    }
    return {section: entries for section, entries in kept.items() if entries}


def _owner(record: Mapping[str, Any]) -> Resource:
    """The owner of a listed booking or visit: its agent and that agent's agency, as the list read
    them from the directory (`kontur.forms.lookups`)."""
    agent = record.get("agent_id")
    agency = record.get("agent_agency_id")
    return Resource(
        agent_id=None if agent is None else int(agent), agency_id=None if agency is None else int(agency)
    )


def booking_cancel_decision(actor: Actor | None, booking: Mapping[str, Any]) -> Decision:
    """Whether this booking's cancel button is offered (the same check `bookings.cancel` applies)."""
    return can_cancel_booking(actor, _owner(booking))


def visit_cancel_decision(actor: Actor | None, visit: Mapping[str, Any]) -> Decision:
    return can(actor, Action.CANCEL_VISIT, resource=_owner(visit))
