"""Database wiring: engine, sessions, the declarative Base and migrations.

One session per request (``get_session``) or per unit of worker work (``session_scope``): it commits
once if everything succeeded and rolls back otherwise. Work that must only happen after a commit
(sending a task) or only after a rollback (deleting a file written for the failed request) is queued
on the session with :func:`after_commit` / :func:`on_rollback`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import Request
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Timezone-aware now; stored naive-UTC on SQLite, timestamptz on PostgreSQL."""
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            dbapi_conn.isolation_level = None

        # pysqlite's own BEGIN is deferred: a read-then-write transaction would then fail with
        # "database is locked" instead of waiting. Emit BEGIN IMMEDIATE ourselves (SQLAlchemy's
        # pysqlite notes) so writers queue on the busy timeout.
        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def after_commit(session: Session, fn: Callable[[], None]) -> None:
    """Run ``fn`` once the session's transaction has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(fn)


def on_rollback(session: Session, fn: Callable[[], None]) -> None:
    """Run ``fn`` if the session's transaction rolls back (e.g. delete a file written for it)."""
    session.info.setdefault("on_rollback", []).append(fn)


def _run_hooks(session: Session, key: str) -> None:
    for fn in session.info.pop(key, []):
        try:
            fn()
        except Exception:  # a hook must not turn a committed request into an error
            log.exception("%s hook failed", key)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Commit once if the block succeeded, roll back if it raised; then run the queued hooks."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop("after_commit", None)
        _run_hooks(session, "on_rollback")
        raise
    else:
        session.info.pop("on_rollback", None)
        _run_hooks(session, "after_commit")
    finally:
        session.close()


def get_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: the request's session, committed once after the route succeeded."""
    with session_scope(request.app.state.session_factory) as session:
        yield session


def migrations_config(url: str):
    """An Alembic config pointing at the packaged ``migrations`` folder and ``url``."""
    from alembic.config import Config

    cfg = Config()
    import migrations

    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(url: str) -> None:
    """Run ``alembic upgrade head`` against ``url``."""
    from alembic import command

    command.upgrade(migrations_config(url), "head")
