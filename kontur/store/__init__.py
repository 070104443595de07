"""Kontur's operational store: the records Kontur owns (users directory, audit, what was booked, shown,
registered or found through it, idempotency keys in flight, the booking-quota ledger), in SQLite by
default or in a PostgreSQL that dashboard replicas share. SQLAlchemy Core, Alembic migrations at open.

`kontur.store.db.Store` opens it; one module per resource holds that resource's functions.
"""
