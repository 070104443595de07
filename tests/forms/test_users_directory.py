"""Kontur as the owner of its users (issue 13): create a user and edit every field of the contract,
approve or reject a requested role, duplicate e-mails refused; every save pushes `PUT /users/{id}`
(proved by the sandbox's own directory) and is audited; what is refused sends nothing (the wire is
counted). The store on both backends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

import duckdb
import pytest

from kontur.auth.actor import Actor
from kontur.client import BrusnikaClient
from kontur.forms import lookups, users
from kontur.forms.context import FormContext
from kontur.sandbox.server import RunningSandbox
from kontur.store import schema
from kontur.store.db import Store
from tests.support import ops_store
from tests.support.transport import CountingTransport

from .conftest import directory_user

pytestmark = pytest.mark.parametrize("store_backend", ops_store.BACKENDS, indirect=True)


def in_brusnika(sandbox: RunningSandbox, user_id: int) -> dict | None:
    with sandbox.admin() as admin:
        return next((u for u in admin.users() if u["id"] == user_id), None)


@pytest.fixture
def admin(store: Store) -> Actor:
    return Actor.from_row(directory_user(store, status="active", role="ADMIN"))


def new_form(store: Store, conn: duckdb.DuckDBPyConnection) -> users.UserForm:
    """Every field of a new entry, the id the page suggests."""
    user_id = users.next_id(store)
    agency = directory_user(store, role="AGENT", status="active")["agency_id"]
    return users.UserForm(
        user_id=user_id,
        last_name=" Новикова ",
        first_name="Мария",
        email=f"Maria.Novikova.{user_id}@Kontur.example",
        phone="8 (912) 345-67-89",
        role="AGENT",
        status="active",
        temporary_role="MANAGER",
        city_id=lookups.cities(conn)[0]["id"],
        agency_id=agency,
        birth_date=dt.date(1991, 3, 14),
        work_start_date=dt.date(2025, 9, 1),
        avatar="https://cdn.kontur.example/avatars/new.png",
        remaining=4,
    )


def test_create_with_every_field_then_edit_every_field(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    admin: Actor,
) -> None:
    form = new_form(store, conn)
    made = users.save(make_ctx(actor=admin), form, new=True)
    assert made.ok, made.message
    assert made.stored_locally
    pushed = in_brusnika(forms_sandbox, form.user_id)  # type: ignore[arg-type]
    assert pushed is not None
    assert pushed == {
        "id": form.user_id,
        "lastName": "Новикова",
        "firstName": "Мария",
        "phone": "+79123456789",
        "email": form.email,
        "status": "active",
        "role": "AGENT",
        "temporary_role": "MANAGER",
        "city_id": form.city_id,
        "birthDate": "1991-03-14",
        "agency_id": form.agency_id,
        "workStartDate": "2025-09-01",
        "avatar": form.avatar,
        "remaining_user_creation_limit": 4,
    }
    stored = ops_store.row(store, schema.users, form.user_id)  # type: ignore[arg-type]
    assert stored is not None
    assert stored["email_key"] == form.email.lower()
    assert stored["pushed_at"] is not None
    assert stored["updated_by"] == f"{admin.name} (#{admin.id})"
    row = ops_store.audit_rows(store, "put_user")[-1]
    assert (row["outcome"], row["brusnika_id"], row["actor_id"]) == ("success", form.user_id, admin.id)

    changed = users.UserForm(
        user_id=form.user_id,
        last_name="Новикова-Смирнова",
        first_name="Мария",
        email=f"m.smirnova.{form.user_id}@kontur.example",
        phone="+7 343 000 11 22",
        role="HEAD_OF_AGENCY",
        status="blocked",
        temporary_role="",
        city_id=lookups.cities(conn)[-1]["id"],
        agency_id=form.agency_id,
        birth_date=dt.date(1990, 1, 2),
        work_start_date=None,
        avatar="",
        remaining=0,
    )
    edited = users.save(make_ctx(actor=admin), changed, new=False)
    assert edited.ok, edited.message
    after = in_brusnika(forms_sandbox, form.user_id)  # type: ignore[arg-type]
    assert after is not None
    assert (after["lastName"], after["phone"], after["email"]) == (
        "Новикова-Смирнова",
        "+73430001122",
        changed.email,
    )
    assert (after["role"], after["status"], after["temporary_role"]) == ("HEAD_OF_AGENCY", "blocked", None)
    assert (after["birthDate"], after["workStartDate"], after["avatar"]) == ("1990-01-02", None, None)
    assert after["city_id"] == changed.city_id
    assert after["remaining_user_creation_limit"] == 0
    kept = users.stored(store, form.user_id)  # type: ignore[arg-type]
    assert kept is not None
    assert kept.to_wire() == after  # the store holds what Brusnika answered


def test_refused_input_sends_nothing_and_says_what_to_fix(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    admin: Actor,
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    api, transport = counted
    ctx = make_ctx(actor=admin, client=api)
    taken = directory_user(store, status="active", role="AGENT")
    form = new_form(store, conn)

    same_email = users.save(ctx, replace(form, email=f"  {taken['email'].upper()} "), new=True)
    assert not same_email.ok
    assert same_email.code == "invalid"
    assert f"пользователя №{taken['id']}" in same_email.field_errors["email"]

    same_id = users.save(ctx, replace(form, user_id=taken["id"]), new=True)
    assert not same_id.ok
    assert "уже занят" in same_id.field_errors["id"]

    typos = users.save(
        ctx,
        replace(form, phone="12345", email="not-an-email", avatar="javascript:alert(1)", last_name=" "),
        new=True,
    )
    assert not typos.ok
    assert set(typos.field_errors) == {"phone", "email", "avatar", "lastName"}
    assert transport.sent == []
    assert users.stored(store, form.user_id) is None  # type: ignore[arg-type]
    outcomes = [r["outcome"] for r in ops_store.audit_rows(store, "put_user")[-3:]]
    assert outcomes == ["invalid", "invalid", "invalid"]


def test_a_requested_role_is_approved_or_rejected(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    admin: Actor,
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    form = new_form(store, conn)  # requests MANAGER
    assert users.save(make_ctx(actor=admin), form, new=True).ok
    user_id = form.user_id
    assert user_id is not None

    # A head of agency may not approve a request for a company role.
    head = Actor.from_row(
        directory_user(store, status="active", role="HEAD_OF_AGENCY", agency_id=form.agency_id)
    )
    api, transport = counted
    refused = users.answer_request(make_ctx(actor=head, client=api), user_id, approve=True)
    assert not refused.ok
    assert refused.code == "forbidden"
    assert transport.sent == []

    approved = users.answer_request(make_ctx(actor=admin), user_id, approve=True)
    assert approved.ok, approved.message
    after = in_brusnika(forms_sandbox, user_id)
    assert after is not None
    assert (after["role"], after["temporary_role"]) == ("MANAGER", None)

    # Another request, this time rejected: the role stays, the request is gone.
    stored = users.stored(store, user_id)
    assert stored is not None
    again = replace(users.form_values(stored), temporary_role="OZK_MANAGER")
    assert users.save(make_ctx(actor=admin), again, new=False).ok
    rejected = users.answer_request(make_ctx(actor=admin), user_id, approve=False)
    assert rejected.ok, rejected.message
    after = in_brusnika(forms_sandbox, user_id)
    assert after is not None
    assert (after["role"], after["temporary_role"]) == ("MANAGER", None)
    kept = users.stored(store, user_id)
    assert kept is not None
    assert kept.temporary_role is None
    none_left = users.answer_request(make_ctx(actor=admin), user_id, approve=True)
    assert not none_left.ok
    assert none_left.code == "no_request"


def test_a_head_creates_agents_of_their_own_agency_only(
    make_ctx: Callable[..., FormContext],
    conn: duckdb.DuckDBPyConnection,
    store: Store,
    forms_sandbox: RunningSandbox,
    counted: tuple[BrusnikaClient, CountingTransport],
) -> None:
    head = Actor.from_row(directory_user(store, status="active", role="HEAD_OF_AGENCY"))
    api, transport = counted
    form = replace(new_form(store, conn), agency_id=head.agency_id, temporary_role="", remaining=None)
    elsewhere = users.save(
        make_ctx(actor=head, client=api), replace(form, agency_id=head.agency_id + 1000), new=True
    )  # type: ignore[operator]
    assert not elsewhere.ok
    assert "не из вашего агентства" in elsewhere.message
    manager = users.save(make_ctx(actor=head, client=api), replace(form, role="MANAGER"), new=True)
    assert not manager.ok
    assert transport.sent == []
    made = users.save(make_ctx(actor=head, client=api), form, new=True)
    assert made.ok, made.message
    assert transport.sent == [f"PUT /api/v1/users/{form.user_id}"]
    pushed = in_brusnika(forms_sandbox, form.user_id)  # type: ignore[arg-type]
    assert pushed is not None
    assert (pushed["agency_id"], pushed["role"], pushed["remaining_user_creation_limit"]) == (
        head.agency_id,
        "AGENT",
        0,
    )
