"""Wire records for the store's tests, valid by construction (built through the real models)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kontur.models import Agency, Booking, Client, User, Visit


def user(user_id: int, **changes: Any) -> User:
    data: dict[str, Any] = {
        "id": user_id,
        "lastName": "Петрова",
        "firstName": f"Анна{user_id}",
        "phone": f"+7912{user_id:07d}",
        "email": f"user{user_id}@kontur.example",
        "status": "active",
        "role": "AGENT",
        "temporary_role": None,
        "city_id": 1,
        "birthDate": "1990-05-17",
        "agency_id": 10,
        "workStartDate": "2024-02-01",
        "avatar": "https://cdn.example/a.png",
        "remaining_user_creation_limit": 5,
    }
    data.update(changes)
    return User.model_validate(data)


def booking(booking_id: int, agent_id: int, **changes: Any) -> Booking:
    data: dict[str, Any] = {
        "id": booking_id,
        "premise_id": 1000 + booking_id,
        "client_id": 500,
        "agent_id": agent_id,
        "date": dt.date(2026, 12, 3),
        "time": "14:30",
        "purchase_option": "mortage",
        "status": "open",
    }
    data.update(changes)
    return Booking.model_validate(data)


def visit(visit_id: int, agent_id: int, **changes: Any) -> Visit:
    data: dict[str, Any] = {
        "id": visit_id,
        "project_id": 3,
        "agent_id": agent_id,
        "client_id": 500,
        "date": dt.date(2026, 12, 4),
        "time": "11:00",
        "time_slot_id": 77,
        "request_date": dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC),
        "request_time": dt.datetime(2026, 11, 27, 9, 0, 5, tzinfo=dt.UTC),
        "status": "open",
    }
    data.update(changes)
    return Visit.model_validate(data)


def client(client_id: int, agent_id: int, **changes: Any) -> Client:
    data: dict[str, Any] = {
        "id": client_id,
        "fullname": "Сидоров Пётр Ильич",
        "phone_number": f"+7922{client_id:07d}",
        "comment": "звонить после 18",
        "agent_id": agent_id,
        "actived_date": dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC),
        "fixing_type_updated_at": dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC),
        "expiration_date": dt.datetime(2027, 2, 1, 8, 0, tzinfo=dt.UTC),
        "fixing_type": "сильное закрепление",
    }
    data.update(changes)
    return Client.model_validate(data)


def agency(agency_id: int, **changes: Any) -> Agency:
    data: dict[str, Any] = {
        "id": agency_id,
        "title": "Этажи",
        "city_id": 1,
        "legalName": "ООО «Этажи»",
        "inn": "7707083893",
        "phone": "+73432000000",
        "email": "office@etazhi.example",
        "ownerFullName": "Кузнецов Олег",
        "ownerPhone": "+79120000000",
    }
    data.update(changes)
    return Agency.model_validate(data)
