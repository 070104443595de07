"""The DuckDB cache's table layout: one table per inbound entity, plus local tables.

Columns mirror the wire names; the contract's numeric strings (`long`, `lat`, `total_*`) are stored as
numbers. `kontur.cache` creates and migrates these tables; `kontur.queries` reads them.
"""

from __future__ import annotations

# entity (REST path segment / Kafka topic suffix) -> table name
TABLES: dict[str, str] = {
    "cities": "cities",
    "projects": "projects",
    "buildings": "buildings",
    "sections": "sections",
    "premises": "premises",
    "leads": "leads",
    "time-slots": "time_slots",
}

# entity -> ordered (column, DuckDB type). `updated_at` closes every inbound table.
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "cities": (
        ("id", "BIGINT"),
        ("name", "VARCHAR"),
        ("long", "DOUBLE"),
        ("lat", "DOUBLE"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
    "projects": (
        ("id", "BIGINT"),
        ("city_id", "BIGINT"),
        ("name", "VARCHAR"),
        ("brief_description", "VARCHAR"),
        ("detailed_description", "VARCHAR"),
        ("description", "VARCHAR"),
        ("end_date", "DATE"),
        ("photo", "VARCHAR"),
        ("link", "VARCHAR"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
    "buildings": (
        ("id", "BIGINT"),
        ("project_id", "BIGINT"),
        ("address", "VARCHAR"),
        ("number_of_floors", "INTEGER"),
        ("brief_description", "VARCHAR"),
        ("detailed_description", "VARCHAR"),
        ("total_apartment", "INTEGER"),
        ("total_parking_space", "INTEGER"),
        ("total_storage", "INTEGER"),
        ("total_commercial", "INTEGER"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
    "sections": (
        ("id", "BIGINT"),
        ("building_id", "BIGINT"),
        ("number", "INTEGER"),
        ("name", "VARCHAR"),
        ("number_of_floors", "INTEGER"),
        ("premises_per_floor", "INTEGER"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
    "premises": (
        ("id", "BIGINT"),
        ("project_id", "BIGINT"),
        ("building_id", "BIGINT"),
        ("section_id", "BIGINT"),
        ("number", "VARCHAR"),
        ("type", "VARCHAR"),
        ("rooms", "INTEGER"),
        ("size", "DOUBLE"),
        ("price", "BIGINT"),
        ("floor", "INTEGER"),
        ("feature", "VARCHAR[]"),
        ("photos", "VARCHAR[]"),
        ("is_booked", "BOOLEAN"),
        ("purchase_option", "VARCHAR[]"),
        ("is_sold", "BOOLEAN"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
    "leads": (
        ("id", "BIGINT"),
        ("client_id", "BIGINT"),
        ("project_id", "BIGINT"),
        ("premise_id", "BIGINT"),
        ("state", "VARCHAR"),
        ("current_status", "VARCHAR"),
        ("sign_nps_passed", "BOOLEAN"),
        ("fee", "DOUBLE"),
        ("start_date", "DATE"),
        ("status_updated_at", "TIMESTAMPTZ"),
        ("agent_id", "BIGINT"),
        ("manager_id", "BIGINT"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
    "time-slots": (
        ("id", "BIGINT"),
        ("project_id", "BIGINT"),
        ("date", "DATE"),
        ("time", "VARCHAR"),
        ("duration_minutes", "INTEGER"),
        ("is_booked", "BOOLEAN"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
}

# Contract section 6: one Kafka topic per inbound list, `brusnika.<entity>` (kontur.kafka.topics).
TOPIC_PREFIX = "brusnika."
