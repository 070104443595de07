"""Admin clients: a sandbox client with a given agent, fixing and expiry, and changes to a client's
fixing/expiry; found by /clients/search and counted in Brusnika's fixing decision. Real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from kontur.models import Client
from kontur.sandbox.data import client_phone
from tests.support.sandbox_records import active_users


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _search(api, **params) -> list[dict]:
    response = api.get("/clients/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_created_client_is_found_by_phone_and_name_with_its_fixing(own_sandbox, api):
    admin = own_sandbox.admin()
    agent = active_users(own_sandbox)[0]
    expires = datetime.now(UTC) + timedelta(days=2)
    client = admin.create_client(
        agent_id=agent["id"],
        fixing_type="сильное закрепление",
        expiration_date=_iso(expires),
        fullname="Истекающий Пётр Ильич",
        comment="Закрепление истекает",
    )
    Client.model_validate(client)
    assert (client["agent_id"], client["fixing_type"]) == (agent["id"], "сильное закрепление")
    assert datetime.fromisoformat(client["expiration_date"]) == expires
    assert client["phone_number"].startswith("+770")
    assert _search(api, phone_number=client["phone_number"]) == [client]
    assert _search(api, fullname="истекающий") == [client]
    assert admin.client(client["id"]) == client
    second = admin.create_client(agent_id=agent["id"], fixing_type="проверка лида")
    assert second["id"] == client["id"] + 1
    assert second["expiration_date"] is None
    assert second["phone_number"] != client["phone_number"]


def test_fixing_and_expiry_changes_are_what_search_returns(own_sandbox, api):
    admin = own_sandbox.admin()
    agent = active_users(own_sandbox)[1]
    client = admin.create_client(
        agent_id=agent["id"],
        fixing_type="слабое закрепление",
        expiration_date=_iso(datetime.now(UTC) + timedelta(days=20)),
    )
    soon = _iso(datetime.now(UTC) + timedelta(hours=30))
    changed = admin.update_client(client["id"], expiration_date=soon, fixing_type="сильное закрепление")
    assert datetime.fromisoformat(changed["expiration_date"]) == datetime.fromisoformat(soon)
    assert changed["fixing_type"] == "сильное закрепление"
    assert datetime.fromisoformat(changed["fixing_type_updated_at"]) > datetime.fromisoformat(
        client["fixing_type_updated_at"]
    )
    assert _search(api, phone_number=client["phone_number"]) == [changed]
    cleared = admin.update_client(client["id"], expiration_date=None)
    assert cleared["expiration_date"] is None
    # A generated client changes the same way, and a renamed one is found by its new name only.
    seeded = _search(api, phone_number=client_phone(3))[0]
    renamed = admin.update_client(
        3, fullname="Переименованная Ольга Петровна", fixing_type="отказ в закреплении"
    )
    assert renamed["fixing_type"] == "отказ в закреплении"
    assert _search(api, phone_number=client_phone(3)) == [renamed]
    assert renamed in _search(api, fullname="переименованная")
    assert all(c["id"] != 3 for c in _search(api, fullname=seeded["fullname"]))


def test_admin_clients_count_in_brusnikas_fixing_decision(own_sandbox, api):
    admin = own_sandbox.admin()
    first, second = active_users(own_sandbox)[2:4]
    holder = admin.create_client(
        agent_id=first["id"],
        fixing_type="сильное закрепление",
        expiration_date=_iso(datetime.now(UTC) + timedelta(days=10)),
    )
    request = {
        "fullname": "Соперник Иван",
        "phone_number": holder["phone_number"],
        "comment": "",
        "agent_id": second["id"],
    }
    refused = api.post("/clients", json=request)
    assert refused.status_code == 201
    assert refused.json()["fixing_type"] == "отказ в закреплении"
    admin.update_client(holder["id"], expiration_date=_iso(datetime.now(UTC) - timedelta(days=1)))
    accepted = api.post("/clients", json=request)
    assert accepted.json()["fixing_type"] != "отказ в закреплении"


def test_bad_admin_client_requests_are_refused(own_sandbox):
    admin = own_sandbox.admin()
    agent = active_users(own_sandbox)[0]
    for call, status in (
        (lambda: admin.create_client(agent_id=10**8, fixing_type="проверка лида"), 404),
        (lambda: admin.create_client(agent_id=agent["id"], fixing_type="навсегда"), 422),
        (
            lambda: admin.create_client(
                agent_id=agent["id"], fixing_type="проверка лида", phone_number="8-800"
            ),
            422,
        ),
        (
            lambda: admin.create_client(
                agent_id=agent["id"], fixing_type="проверка лида", expiration_date="2026-01-01T00:00:00"
            ),
            422,
        ),  # no offset
        (lambda: admin.update_client(10**8, fixing_type="проверка лида"), 404),
        (lambda: admin.update_client(1, fixing_type=None), 422),
        (lambda: admin.update_client(1, phone_number="+79990000000"), 422),
    ):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            call()
        assert refused.value.response.status_code == status
