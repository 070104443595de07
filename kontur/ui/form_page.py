"""Streamlit glue shared by the form pages: the form context (who acts, the interactive client),
showing an outcome with the fields to fix, and the lists of records made here with their cancel
dialog. Pages stay layout-only; everything they do goes through here and the form modules.

Text from Brusnika or an agent (names, addresses, Brusnika's own messages) is shown through `quote()`
(`kontur.ui.safe.md`: escaped, no autolinks) or Streamlit's plain elements, never as markdown or
HTML of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import streamlit as st

from kontur import labels, ui
from kontur.auth import behalf, directory
from kontur.auth import session as auth_session
from kontur.auth.actor import Actor
from kontur.auth.actor import acting_refusal as actor_refusal
from kontur.auth.behalf import Acting
from kontur.auth.person_choice import person_choice
from kontur.auth.policy import Action, Decision
from kontur.auth.scopes import ReadScope
from kontur.client import BrusnikaClient
from kontur.config import Settings
from kontur.forms import users
from kontur.forms.context import FormContext
from kontur.forms.submit import Outcome
from kontur.models import RequestStatus, UserRole
from kontur.runtime import Runtime
from kontur.store import users as store_users
from kontur.store.db import Store
from kontur.ui.safe import md

OUTCOME_PREFIX = "kontur.outcome."
AGENT_STATE_KEY = "kontur.agent_id"  # the agent chosen to act for (None: oneself)
_AGENT_WIDGET = "_w_agent"


def quote(value: Any, *, limit: int | None = 300) -> str:
    """Partner or agent text for markdown: `kontur.ui.safe.md` (escaped, no autolinks)."""
    return md(value, limit=limit)


@st.cache_resource(show_spinner=False)
def _client(api_url: str, budget: float, _settings: Settings) -> BrusnikaClient:
    # Keyed by the URL and the budget only: the token (inside `_settings`) is never part of a key.
    return BrusnikaClient.interactive(_settings)


def client() -> BrusnikaClient:
    """The forms' client: a person waits on it, so it answers within the interactive budget."""
    rt = ui.runtime()
    return _client(str(rt.settings.api_url), rt.settings.interactive_budget, rt.settings)


def connection() -> duckdb.DuckDBPyConnection:
    """A cursor of the dashboard's cache connection for this script run (form functions open their
    own child cursors from it; it is closed when the run drops it)."""
    return ui.runtime().cache.cursor()


def store() -> Store:
    """Kontur's operational store (its own records), the runtime's one engine."""
    return ui.runtime().store


def ensure_directory(rt: Runtime) -> None:
    """Demo mode: the users directory starts as the sandbox's, so there is someone to act as."""
    if not rt.demo or rt.sandbox is None:
        return
    with rt.store.read() as tx:
        if store_users.count_users(tx):
            return
    users.seed(rt.store, rt.sandbox.admin().users())
    rt.directory_changed()


def demo_sandbox() -> bool:
    """Whether this dashboard runs on its embedded sandbox (its directory can be reloaded from it)."""
    rt = ui.runtime()
    return rt.demo and rt.sandbox is not None


def reload_demo_directory() -> int:
    """Demo only: the directory again as the sandbox holds it (e.g. after edits elsewhere)."""
    rt = ui.runtime()
    assert rt.sandbox is not None, "only on the embedded sandbox"
    count = users.seed(rt.store, rt.sandbox.admin().users())
    changed()
    return count


def acting() -> Actor | None:
    """Who acts in this session (signed in, or picked in the demo): `auth.session.current_actor`."""
    return auth_session.current_actor()


def scope(action: Action) -> ReadScope:
    """Whose records the acting person may read for `action` (the lists and pickers of the pages)."""
    with store().read() as tx:
        return directory.scope_for(tx, acting(), action)


def _remember_agent() -> None:
    st.session_state[AGENT_STATE_KEY] = st.session_state.get(_AGENT_WIDGET)


def agent_picker(action: Action) -> Acting:
    """«Для агента»: whom the acting person books, shows or registers clients for (a manager chooses
    an agent; an agent acts for themself, no choice drawn). The choice is shared by the form pages
    and checked again by the form function when a form is sent."""
    actor = acting()
    with store().read() as tx:
        choices, names = _agent_choices(str(tx.engine.url), directory.version(tx), actor, str(action), tx)
    if actor is None or len(choices) <= 1:
        st.session_state[AGENT_STATE_KEY] = None
        return Acting(actor, actor)
    current = st.session_state.get(AGENT_STATE_KEY)
    if current not in choices:
        current = actor.id
        st.session_state[AGENT_STATE_KEY] = current
    st.session_state[_AGENT_WIDGET] = current
    person_choice(
        "Для агента",
        names,
        key=_AGENT_WIDGET,
        first=[actor.id, current],
        on_change=_remember_agent,
        search_label="Найти агента",
        help="Бронь, показ или клиент оформляются на этого агента: его лимит броней и закрепления.",
    )
    with store().read() as tx:
        return behalf.resolve(tx, actor, None if current == actor.id else current, action)


@st.cache_resource(show_spinner=False, max_entries=64)
def _agent_choices(
    store: str, version: tuple[Any, ...], actor: Actor | None, action: str, _tx: Any
) -> tuple[dict[int, store_users.Person], dict[int, str]]:
    # A manager's choice is every active agent (~30,000 at scale 10): read in one narrow query and
    # labelled once per directory version and person, not on every run of a form page (shared
    # read-only); `behalf.resolve` validates the one chosen.
    choices = {p.id: p for p in behalf.agent_options(_tx, actor, action)}
    names = {} if actor is None else {uid: _agent_label(p, actor) for uid, p in choices.items()}
    return choices, names


def _agent_label(agent: store_users.Person, actor: Actor) -> str:
    if agent.id == actor.id:
        return f"{agent.name} (я)"
    role = labels.label_of(UserRole, agent.role)
    agency = f", агентство №{agent.agency_id}" if agent.agency_id else ""
    return f"{agent.name} ({role}{agency}, №{agent.id})"


def acting_refusal(acting_for: Acting, refusal_of: Callable[[Actor | None], str | None]) -> str | None:
    """Why the form cannot be sent for this agent now (the button is disabled alongside): the choice
    itself, the acting person's own state, then the agent's (blocked, no bookings left)."""
    if acting_for.refusal is not None:
        return acting_for.refusal
    if acting_for.for_other and (own := actor_refusal(acting_for.actor)) is not None:
        return own
    return refusal_of(acting_for.agent)


def clients_of(acting_for: Acting) -> ReadScope:
    """The clients a form may pick: those fixed to the agent acted for (their fixing is what holds)."""
    agent = acting_for.agent
    return ReadScope.no_one() if agent is None else ReadScope(frozenset({agent.id}))


def context() -> FormContext:
    """The context of one submission, built when it is made: the acting person as the latest gate
    (the app's, or a dialog's own recheck) found them, never as a page drew them earlier, and the
    agent chosen on the page (checked again by the form function)."""
    return FormContext(
        client=client(),
        conn=connection(),
        store=store(),
        actor=acting(),
        write_lock=ui.runtime().cache.write_lock,  # the sync commits under it too
        agent_id=st.session_state.get(AGENT_STATE_KEY),
    )


def changed() -> None:
    """Something changed: cached page reads must see it (cache flags, the directory's mirror)."""
    ui.runtime().directory_changed()


def keep_outcome(form: str, outcome: Outcome[Any]) -> None:
    st.session_state[OUTCOME_PREFIX + form] = outcome


def show_outcome(form: str) -> Outcome[Any] | None:
    """The form's last outcome, shown until the next submission (so it survives reruns)."""
    outcome = st.session_state.get(OUTCOME_PREFIX + form)
    if outcome is None:
        return None
    text = quote(outcome.message, limit=None)  # it may quote Brusnika's or an agent's words
    if outcome.ok and outcome.stored_locally:
        st.success(text, icon=":material/check_circle:")
    elif outcome.ok:
        st.warning(text, icon=":material/sync_problem:")
    elif outcome.code == "invalid":
        st.error(text, icon=":material/edit:")
    else:
        st.error(text, icon=":material/error:")
    return outcome


def problem(form: str, *fields: str) -> None:
    """Under a widget: what is wrong with it after the last submission (the typed value stays)."""
    outcome = st.session_state.get(OUTCOME_PREFIX + form)
    if outcome is None or outcome.ok:
        return
    for field in fields:
        message = outcome.field_errors.get(field)
        if message:  # Brusnika's 422 messages land here too: escaped
            st.markdown(f":red[**{quote(message, limit=None)}**]")


def choose(
    label: str, options: dict[Any, str], key: str, *, placeholder: str = "Выберите…", container: Any = st
) -> Any:
    """A selectbox keyed in session state whose choice survives reruns; a choice that is no longer
    among the options (the parent changed) is dropped rather than failing the page. Labels must not
    change while an option is chosen: Streamlit finds the kept choice by its label, and hands back
    the bare label string when that label is gone."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]
    extra: dict[str, Any] = {} if key in st.session_state else {"index": None}
    return container.selectbox(
        label,
        list(options),
        format_func=lambda value: options.get(value, str(value)),
        key=key,
        placeholder=placeholder,
        **extra,
    )


def submitted(form: str, outcome: Outcome[Any]) -> None:
    """After a submission: keep its outcome for the next run, tell cached reads when something changed,
    and rerun so the fields' own messages (drawn above the button) show it."""
    keep_outcome(form, outcome)
    if outcome.ok:
        changed()
    st.rerun()


def refusal_banner(refusal: str | None) -> None:
    """Why the acting user cannot use this form (the submit button is disabled alongside)."""
    if refusal:
        st.warning(quote(refusal, limit=None), icon=":material/block:")


def search_tab(
    form: str, key: str, label: str, search: Callable[[str], Outcome[Any]], card: Callable[[Any], None]
) -> None:
    """A search box over Brusnika (clients, agencies) with the cards of what it found."""
    with st.form(f"{form}_form", clear_on_submit=False):
        st.text_input(label, key=key)
        problem(form, "query")
        searched = st.form_submit_button("Найти")
    if searched:
        keep_outcome(form, search(st.session_state.get(key, "")))
        st.rerun()
    found = show_outcome(form)
    if found is not None and found.ok:
        for item in found.result or []:
            card(item)


@dataclass(frozen=True)
class CancelDialog:
    """The cancel button of a list of records made here, and its confirmation dialog."""

    form: str  # whose outcome slot shows the result
    prefix: str  # widget keys: {prefix}_cancel_<id>, {prefix}_confirm_yes / _no
    title: str
    confirm_label: str
    question: Callable[[dict], str]
    decision: Callable[[dict], Decision]  # as the form function will check it
    cancel: Callable[[int], Outcome[Any]]

    @property
    def state_key(self) -> str:
        return f"{self.prefix}_confirm_cancel"


def cancellable_list(rows: list[dict], describe: Callable[[dict], str], spec: CancelDialog) -> None:
    """Bookings or visits made here, each with its status and, while open, a cancel button behind a
    confirmation (or the reason the acting user may not cancel it)."""

    def confirm(row: dict) -> None:
        st.markdown(spec.question(row))
        yes, no = st.columns(2)
        if yes.button(spec.confirm_label, type="primary", key=f"{spec.prefix}_confirm_yes"):
            outcome = spec.cancel(int(row["id"]))
            st.session_state.pop(spec.state_key, None)
            submitted(spec.form, outcome)
        if no.button("Нет", key=f"{spec.prefix}_confirm_no"):
            st.session_state.pop(spec.state_key, None)
            st.rerun()

    # The dialog's clicks rerun only the dialog: the gate runs again there before anything is sent.
    dialog = st.dialog(spec.title, on_dismiss=lambda: st.session_state.pop(spec.state_key, None))(
        auth_session.gated(confirm)
    )
    for row in rows:
        cols = st.columns([5, 2, 2])
        cols[0].markdown(describe(row))  # `describe` escapes what it quotes (`quote`)
        cols[1].markdown(f"Статус: **{labels.label_of(RequestStatus, row['status'])}**")
        is_open = row["status"] == RequestStatus.OPEN
        may_cancel = spec.decision(row)
        if is_open and not may_cancel.allowed:
            cols[2].caption(may_cancel.reason)
        elif is_open and cols[2].button("Отменить", key=f"{spec.prefix}_cancel_{row['id']}"):
            st.session_state[spec.state_key] = row["id"]
    pending = st.session_state.get(spec.state_key)
    match = [row for row in rows if row["id"] == pending] if pending is not None else []
    if match:
        dialog(match[0])
