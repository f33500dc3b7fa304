"""Alembic environment: runs on the connection handed in by :mod:`guanxi.appdb.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from guanxi.appdb.models import load_tables


def run_migrations_online() -> None:
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("guanxi migrations run through guanxi.appdb.migrate.upgrade(settings)")
    context.configure(
        connection=connection,
        target_metadata=load_tables(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("guanxi migrations run online only, through guanxi.appdb.migrate.upgrade(settings)")
run_migrations_online()
