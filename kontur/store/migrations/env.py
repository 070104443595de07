"""Alembic environment of the operational store.

Migrations run from `kontur.store.migrate.upgrade`, which hands over a connection already inside the
transaction that holds the migration lock (`config.attributes["connection"]`): everything below runs
in that one transaction, so a failed migration leaves the schema as it was on both backends.
Without a connection (a developer running `alembic` by hand) the URL comes from `Settings`.
"""

from __future__ import annotations

from alembic import context

from kontur.store.schema import metadata

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place: batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from kontur.config import Settings
    from kontur.store.engine import make_engine

    engine = make_engine(Settings.from_env().ops_database_url())
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()
