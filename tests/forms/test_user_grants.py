"""Who may grant what, where it is enforced: `forms.users.save`/`push`, against the directory entry as
stored in the operational store (SQLite and PostgreSQL), before `PUT /users/{id}` is sent. The
sandbox's own directory (`SandboxAdmin.users()`) proves what reached Brusnika; the wire is counted; the
audit keeps every refusal with its reason."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kontur.auth import directory
from kontur.auth.actor import Actor
from kontur.client import BrusnikaClient
from kontur.forms import users
from kontur.forms.context import FormContext
from kontur.sandbox.server import RunningSandbox
from kontur.store.db import Store
from tests.support import ops_store
from tests.support.transport import CountingTransport

pytestmark = pytest.mark.parametrize("store_backend", ops_store.BACKENDS, indirect=True)


def in_brusnika(sandbox: RunningSandbox, user_id: int) -> dict:
    with sandbox.admin() as admin:
        return next(u for u in admin.users() if u["id"] == user_id)


def refusals(store: Store) -> list[tuple]:
    return [(r["outcome"], r["message"], r["brusnika_id"]) for r in ops_store.audit_rows(store, "put_user")]


def stored_role(store: Store, user_id: int) -> str:
    with store.read() as tx:
        found = directory.stored_user(tx, user_id)
    assert found is not None
    return found.role.value


@pytest.fixture
def people(store: Store) -> dict[str, dict]:
    """A head of agency, an agent of theirs (not the one other tests book with), an agent of another
    agency, and an administrator."""
    with store.read() as tx:
        rows = [u for u in directory.users(tx) if u["status"] == "active"]
    for head in (u for u in rows if u["role"] == "HEAD_OF_AGENCY"):
        mine = [u for u in rows if u["role"] == "AGENT" and u["agency_id"] == head["agency_id"]]
        if len(mine) >= 2:
            return {
                "head": head,
                "colleague": mine[-1],
                "stranger": next(
                    u for u in rows if u["role"] == "AGENT" and u["agency_id"] != head["agency_id"]
                ),
                "admin": next(u for u in rows if u["role"] == "ADMIN"),
            }
    pytest.fail("no head of agency with two active agents in the sandbox data")


def change(row: dict, **update: object) -> users.UserChange:
    return users.UserChange(
        user_id=row["id"],
        status=str(update.get("status", row["status"])),
        role=str(update.get("role", row["role"])),
        remaining=update.get("remaining"),  # type: ignore[arg-type]
    )


def test_head_of_agency_cannot_make_themself_or_a_colleague_admin(
    make_ctx: Callable[..., FormContext],
    store: Store,
    forms_sandbox: RunningSandbox,
    people: dict[str, dict],
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    head, colleague = people["head"], people["colleague"]
    api, transport = counted
    ctx = make_ctx(actor=Actor.from_row(head), client=api)
    head_before, colleague_before = (
        in_brusnika(forms_sandbox, head["id"]),
        in_brusnika(forms_sandbox, colleague["id"]),
    )

    myself = users.push(ctx, change(head, role="ADMIN"))
    assert not myself.ok
    assert myself.code == "forbidden"
    assert "Свои права менять нельзя" in myself.message

    raised = users.push(ctx, change(colleague, role="ADMIN"))
    assert not raised.ok
    assert raised.message == "Роль «Администратор» может назначить только администратор."

    assert transport.sent == []  # nothing sent to Brusnika
    assert in_brusnika(forms_sandbox, head["id"]) == head_before
    assert in_brusnika(forms_sandbox, colleague["id"]) == colleague_before
    assert stored_role(store, colleague["id"]) == colleague["role"]
    audit = refusals(store)[-2:]
    assert [(row[0], row[2]) for row in audit] == [("refused", head["id"]), ("refused", colleague["id"])]
    assert "Свои права" in audit[0][1]
    assert "только администратор" in audit[1][1]


def test_head_of_agency_limits(
    make_ctx: Callable[..., FormContext],
    store: Store,
    forms_sandbox: RunningSandbox,
    people: dict[str, dict],
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    head, colleague, stranger = people["head"], people["colleague"], people["stranger"]
    api, transport = counted
    ctx = make_ctx(actor=Actor.from_row(head), client=api)
    limit = users.push(ctx, change(colleague, remaining=colleague["remaining_user_creation_limit"] + 10))
    assert not limit.ok
    assert "Лимит броней меняет только администратор" in limit.message
    other = users.push(ctx, change(stranger, status="blocked"))
    assert not other.ok
    assert "не из вашего агентства" in other.message
    manager = users.push(ctx, change(colleague, role="MANAGER"))
    assert not manager.ok
    assert transport.sent == []
    assert in_brusnika(forms_sandbox, stranger["id"])["status"] == "active"

    # What a head may do: move their agent between AGENT and NEW_MEMBER. Sent, stored, audited.
    demoted = users.push(ctx, change(colleague, role="NEW_MEMBER"))
    assert demoted.ok, demoted.message
    assert transport.sent == [f"PUT /api/v1/users/{colleague['id']}"]
    assert in_brusnika(forms_sandbox, colleague["id"])["role"] == "NEW_MEMBER"
    assert stored_role(store, colleague["id"]) == "NEW_MEMBER"
    restored = users.push(ctx, change(colleague, role=colleague["role"]))
    assert restored.ok, restored.message
    assert in_brusnika(forms_sandbox, colleague["id"])["role"] == colleague["role"]
    assert refusals(store)[-1][0] == "success"


def test_admin_grants_company_roles_but_not_to_themself(
    make_ctx: Callable[..., FormContext],
    store: Store,
    forms_sandbox: RunningSandbox,
    people: dict[str, dict],
) -> None:
    admin, colleague = people["admin"], people["colleague"]
    ctx = make_ctx(actor=Actor.from_row(admin))
    own = users.push(ctx, change(admin, status="blocked"))
    assert not own.ok
    assert in_brusnika(forms_sandbox, admin["id"])["status"] == "active"
    promoted = users.push(ctx, change(colleague, role="OZK_MANAGER"))
    assert promoted.ok, promoted.message
    assert in_brusnika(forms_sandbox, colleague["id"])["role"] == "OZK_MANAGER"
    back = users.push(ctx, change(colleague, role=colleague["role"]))
    assert back.ok, back.message


def test_users_page_options_follow_the_same_rules(store: Store, people: dict[str, dict]) -> None:
    head = Actor.from_row(people["head"])
    colleague = users.stored(store, people["colleague"]["id"])
    assert colleague is not None
    offer = users.edit_options(head, colleague)
    assert offer.decision.allowed
    assert offer.roles == ["AGENT", "NEW_MEMBER"]
    assert not offer.limit
    assert offer.agency_locked  # a head moves nobody in or out of their agency
    mine = users.stored(store, head.id)
    assert mine is not None
    own = users.edit_options(head, mine)
    assert own.decision.allowed  # their own contacts, yes
    assert own.roles == ["HEAD_OF_AGENCY"]  # but not their rights
    assert own.statuses == ["active"]
    assert not own.limit
    assert own.agency_locked
    stranger = users.stored(store, people["stranger"]["id"])
    assert stranger is not None
    assert not users.edit_options(head, stranger).decision.allowed
    # The list a head of agency sees: their agency only.
    listed = users.listed(store, head)
    assert listed
    assert {u["agency_id"] for u in listed} == {head.agency_id}
    admin = Actor.from_row(people["admin"])
    with store.read() as tx:
        everyone = directory.users(tx)
    assert len(users.listed(store, admin)) == len(everyone)
    assert users.edit_options(admin, colleague).limit
    assert not users.edit_options(admin, colleague).agency_locked
    # A new entry: a head gives AGENT or NEW_MEMBER in their own agency, no limit.
    fresh = users.edit_options(head, None)
    assert fresh.decision.allowed
    assert fresh.roles == ["AGENT", "NEW_MEMBER"]
    assert not fresh.limit
    assert users.agency_choices(store, head, None) == {head.agency_id: f"агентство №{head.agency_id}"}
