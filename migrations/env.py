"""Alembic environment: the URL comes from the Alembic config if set, else from Settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

import app.models  # noqa: F401 - fills Base.metadata
from app.config import get_settings
from app.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = _url()
    engine = make_engine(url) if url.startswith("sqlite") else _pg_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _pg_engine(url: str):
    from sqlalchemy import create_engine

    return create_engine(url, poolclass=pool.NullPool)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
