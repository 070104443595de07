"""Outbound methods and their business rules, over real HTTP against a private sandbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from stdnum.ru import inn as stdnum_inn

from tests.support.sandbox_records import active_agent, active_users, free_premise


def _agent(own_sandbox, *, with_limit: bool = True) -> dict:
    """An active agent who may still book, or (with_limit=False) one with no bookings left."""
    if with_limit:
        return active_agent(own_sandbox, bookings_left=2)
    return next(u for u in active_users(own_sandbox) if u["remaining_user_creation_limit"] == 0)


def _client_id(api, agent_id: int) -> int:
    phone = f"+7999{uuid.uuid4().int % 10**7:07d}"
    response = api.post(
        "/clients",
        json={"fullname": "Тестов Тест Тестович", "phone_number": phone, "comment": "", "agent_id": agent_id},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _booking(premise_id: int, client_id: int, agent_id: int) -> dict:
    return {
        "premise_id": premise_id,
        "client_id": client_id,
        "agent_id": agent_id,
        "date": "2026-03-05",
        "time": "12:30",
        "purchase_option": "mortage",
    }


def _premise(own_sandbox, premise_id: int) -> dict:
    return next(p for p in own_sandbox.admin().records("premises") if p["id"] == premise_id)


def test_booking_books_the_premise_and_cancel_frees_it(own_sandbox, api, error_of):
    agent = _agent(own_sandbox)
    client_id = _client_id(api, agent["id"])
    premise = free_premise(own_sandbox, kind="apartment")
    building_before = next(
        b for b in own_sandbox.admin().records("buildings") if b["id"] == premise["building_id"]
    )
    since = own_sandbox.admin().stats()["last_updated_at"]["premises"]

    response = api.post("/bookings", json=_booking(premise["id"], client_id, agent["id"]))
    assert response.status_code == 201, response.text
    booking = response.json()
    assert booking["status"] == "open"
    assert booking["premise_id"] == premise["id"]
    assert _premise(own_sandbox, premise["id"])["is_booked"] is True
    # The booked premise shows up in the incremental feed, and its building has one free less.
    feed = api.get("/premises", params={"updated_since": since, "limit": 1000}).json()["items"]
    assert any(i["id"] == premise["id"] and i["is_booked"] for i in feed)
    building = next(b for b in own_sandbox.admin().records("buildings") if b["id"] == premise["building_id"])
    assert int(building["total_apartment"]) == int(building_before["total_apartment"]) - 1
    users = {u["id"]: u for u in own_sandbox.admin().users()}
    assert users[agent["id"]]["remaining_user_creation_limit"] == agent["remaining_user_creation_limit"] - 1

    # A booked premise cannot be booked again.
    again = api.post("/bookings", json=_booking(premise["id"], client_id, agent["id"]))
    assert again.status_code == 409
    assert error_of(again)["code"] == "premise_unavailable"

    cancelled = api.post(f"/bookings/{booking['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "fail"
    assert _premise(own_sandbox, premise["id"])["is_booked"] is False
    twice = api.post(f"/bookings/{booking['id']}/cancel")
    assert twice.status_code == 409
    assert error_of(twice)["code"] == "booking_not_open"


def test_sold_premise_is_unavailable(own_sandbox, api, error_of):
    agent = _agent(own_sandbox)
    client_id = _client_id(api, agent["id"])
    sold = next(p for p in own_sandbox.admin().records("premises") if p["is_sold"])
    response = api.post("/bookings", json=_booking(sold["id"], client_id, agent["id"]))
    assert response.status_code == 409
    assert error_of(response)["code"] == "premise_unavailable"


def test_booking_limit_reached(own_sandbox, api, error_of):
    agent = _agent(own_sandbox, with_limit=False)
    assert agent["remaining_user_creation_limit"] == 0
    client_id = _client_id(api, agent["id"])
    premise = free_premise(own_sandbox, kind="apartment", skip=3)
    response = api.post("/bookings", json=_booking(premise["id"], client_id, agent["id"]))
    assert response.status_code == 409
    assert error_of(response)["code"] == "booking_limit_reached"
    assert _premise(own_sandbox, premise["id"])["is_booked"] is False


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/bookings/999999/cancel", "post"),
        ("/visits/999999/cancel", "post"),
        ("/bookings/abc/cancel", "post"),
    ],
)
def test_unknown_ids_answer_404(api, error_of, path, method):
    response = getattr(api, method)(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_unknown_premise_or_slot_in_body_answers_404(own_sandbox, api, error_of):
    agent = _agent(own_sandbox)
    client_id = _client_id(api, agent["id"])
    response = api.post("/bookings", json=_booking(10**8, client_id, agent["id"]))
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    response = api.post("/time-slots/99999999/book", json={"agent_id": agent["id"], "client_id": client_id})
    assert response.status_code == 404


def test_validation_errors_name_the_fields(api, error_of):
    response = api.post(
        "/bookings",
        json={
            "premise_id": "x",
            "client_id": 1,
            "agent_id": 1,
            "date": "tomorrow",
            "time": "25:00",
            "purchase_option": "cash",
        },
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    fields = {d["field"] for d in error["details"]}
    assert {"premise_id", "date", "time", "purchase_option"} <= fields
    assert all(isinstance(d["message"], str) and d["message"] for d in error["details"])
    broken = api.post("/bookings", content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 422
    assert error_of(broken)["code"] == "validation_error"


def test_visit_with_slot_books_it_and_cancel_releases_it(own_sandbox, api, error_of):
    agent = _agent(own_sandbox)
    client_id = _client_id(api, agent["id"])
    slot = next(s for s in own_sandbox.admin().records("time-slots") if not s["is_booked"])
    visit_body = {
        "project_id": slot["project_id"],
        "agent_id": agent["id"],
        "client_id": client_id,
        "date": slot["date"],
        "time": slot["time"],
        "time_slot_id": slot["id"],
    }
    response = api.post("/visits", json=visit_body)
    assert response.status_code == 201, response.text
    visit = response.json()
    assert visit["status"] == "open"
    assert visit["request_date"]

    def slot_now() -> dict:
        return next(s for s in own_sandbox.admin().records("time-slots") if s["id"] == slot["id"])

    assert slot_now()["is_booked"] is True
    taken = api.post("/visits", json=visit_body)
    assert taken.status_code == 409
    assert error_of(taken)["code"] == "slot_taken"
    booked = api.post(
        f"/time-slots/{slot['id']}/book", json={"agent_id": agent["id"], "client_id": client_id}
    )
    assert booked.status_code == 409
    assert error_of(booked)["code"] == "slot_taken"

    cancelled = api.post(f"/visits/{visit['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "fail"
    assert slot_now()["is_booked"] is False
    again = api.post(f"/visits/{visit['id']}/cancel")
    assert again.status_code == 409
    assert error_of(again)["code"] == "visit_not_open"

    # The released slot can be booked directly now.
    booked = api.post(
        f"/time-slots/{slot['id']}/book", json={"agent_id": agent["id"], "client_id": client_id}
    )
    assert booked.status_code == 200
    assert booked.json()["is_booked"] is True
    assert booked.json()["id"] == slot["id"]


def _valid_inn(prefix: str) -> str:
    body = prefix[:9]
    return body + stdnum_inn.calc_company_check_digit(body)


def test_agency_unique_by_inn_and_inn_checked(own_sandbox, api, error_of):
    inn = _valid_inn("667012345")
    agency = {
        "title": "Уральский ключ",
        "city_id": 1,
        "legalName": "ООО «Уральский ключ»",
        "inn": inn,
        "phone": "+73432000000",
        "email": "office@key.example",
        "ownerFullName": "Ключевой Иван Петрович",
        "ownerPhone": "+79120000000",
    }
    created = api.post("/agencies", json=agency)
    assert created.status_code == 201, created.text
    agency_id = created.json()["id"]
    duplicate = api.post("/agencies", json={**agency, "title": "Другое"})
    assert duplicate.status_code == 409
    error = error_of(duplicate)
    assert error["code"] == "agency_exists"
    assert error["details"]["existing_id"] == agency_id
    wrong_digit = inn[:9] + str((int(inn[9]) + 1) % 10)
    bad = api.post("/agencies", json={**agency, "inn": wrong_digit})
    assert bad.status_code == 422
    assert error_of(bad)["details"][0]["field"] == "inn"
    found = api.get("/agencies/search", params={"inn": inn}).json()["items"]
    assert [a["id"] for a in found] == [agency_id]
    by_title = api.get("/agencies/search", params={"title": "уральский КЛЮЧ"}).json()["items"]
    assert agency_id in [a["id"] for a in by_title]
    assert api.get("/agencies/search").status_code == 400


def test_client_fixing_is_decided_by_phone(own_sandbox, api):
    agents = [u for u in own_sandbox.admin().users() if u["role"] == "AGENT"]
    first, second = agents[0]["id"], agents[1]["id"]
    phone = f"+7998{uuid.uuid4().int % 10**7:07d}"
    body = {"fullname": "Первый Клиент Иванович", "phone_number": phone, "comment": "", "agent_id": first}
    created = api.post("/clients", json=body).json()
    assert created["fixing_type"] == "слабое закрепление"
    assert datetime.fromisoformat(created["expiration_date"]) > datetime.now(UTC)
    # The same phone for another agent, while the first fixing holds: refused.
    refused = api.post("/clients", json={**body, "agent_id": second})
    assert refused.status_code == 201
    assert refused.json()["fixing_type"] == "отказ в закреплении"
    found = api.get("/clients/search", params={"phone_number": phone}).json()["items"]
    assert {c["id"] for c in found} == {created["id"], refused.json()["id"]}


def test_generated_clients_are_searchable_and_fix_their_phones(own_sandbox, api):
    by_name = api.get("/clients/search", params={"fullname": "Иванова"}).json()["items"]
    assert by_name
    assert all("иванова" in c["fullname"].lower() for c in by_name)
    # Find a generated client whose fixing still holds, then try its phone with another agent.
    now = datetime.now(UTC)
    holder = next(
        (
            c
            for c in by_name
            if c["fixing_type"] in ("слабое закрепление", "сильное закрепление")
            and c["expiration_date"]
            and datetime.fromisoformat(c["expiration_date"]) > now
        ),
        None,
    )
    assert holder is not None, "some generated Ивановы have a fixing in force"
    found = api.get("/clients/search", params={"phone_number": holder["phone_number"]}).json()["items"]
    assert found[0]["id"] == holder["id"]
    other_agent = next(
        u["id"] for u in own_sandbox.admin().users() if u["role"] == "AGENT" and u["id"] != holder["agent_id"]
    )
    refused = api.post(
        "/clients",
        json={
            "fullname": "Чужой Клиент",
            "phone_number": holder["phone_number"],
            "comment": "",
            "agent_id": other_agent,
        },
    ).json()
    assert refused["fixing_type"] == "отказ в закреплении"


def test_put_user_upserts_the_directory(own_sandbox, api, error_of):
    user = {
        "id": 900001,
        "lastName": "Новикова",
        "firstName": "Анна",
        "phone": "+79120001122",
        "email": "anna@kontur.example",
        "status": "active",
        "role": "AGENT",
        "temporary_role": None,
        "city_id": 1,
        "birthDate": "1990-01-02",
        "agency_id": 1,
        "workStartDate": "2024-01-01",
        "avatar": None,
        "remaining_user_creation_limit": 3,
    }
    response = api.put("/users/900001", json=user)
    assert response.status_code == 200
    assert response.json()["lastName"] == "Новикова"
    api.put("/users/900001", json={**user, "status": "blocked"})
    directory = {u["id"]: u for u in own_sandbox.admin().users()}
    assert directory[900001]["status"] == "blocked"
    mismatch = api.put("/users/900002", json=user)
    assert mismatch.status_code == 422
    assert error_of(mismatch)["code"] == "validation_error"


def test_idempotency_key_replays_the_first_answer(own_sandbox, api, error_of):
    agent = _agent(own_sandbox)
    key = f"test-{uuid.uuid4()}"
    body = {
        "fullname": "Повторов Пётр",
        "phone_number": f"+7997{uuid.uuid4().int % 10**7:07d}",
        "comment": "",
        "agent_id": agent["id"],
    }
    first = api.post("/clients", json=body, headers={"Idempotency-Key": key})
    second = api.post("/clients", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    found = api.get("/clients/search", params={"phone_number": body["phone_number"]}).json()["items"]
    assert len(found) == 1, "the repeat must not create a second client"
    other = api.post("/clients", json={**body, "comment": "другое"}, headers={"Idempotency-Key": key})
    assert other.status_code == 422
    assert error_of(other)["code"] == "idempotency_key_reused"
    for bad_key in (b"", b"x" * 65, "ключ".encode(), b"with space"):
        response = api.post("/clients", json=body, headers={"Idempotency-Key": bad_key})
        assert response.status_code == 422


def test_idempotent_booking_books_once(own_sandbox, api):
    agent = _agent(own_sandbox)
    client_id = _client_id(api, agent["id"])
    premise = free_premise(own_sandbox, kind="apartment", skip=7)
    key = f"book-{uuid.uuid4()}"
    answers = [
        api.post(
            "/bookings",
            json=_booking(premise["id"], client_id, agent["id"]),
            headers={"Idempotency-Key": key},
        )
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert own_sandbox.admin().stats()["outbound"]["bookings"] >= 1
