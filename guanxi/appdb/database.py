"""Engine and session factory for the app database, built from settings.

Nothing is opened at import time. ``Settings.app_db_url`` chooses the backend:
``sqlite:///path`` (the parent folder is created) or ``postgresql://…``
(driven by psycopg 3). Extra connection options travel in the URL, e.g.
``postgresql+psycopg://host/db?options=-csearch_path%3Dtenant``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from guanxi.config import Settings
from guanxi.errors import ConfigError

_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg", "sqlite": "sqlite"}


def database_url(settings: Settings) -> URL:
    """The SQLAlchemy URL of the app database, with the default driver filled in.

    Raises :class:`ConfigError` for an unparseable URL or an unsupported backend.
    """
    try:
        url = make_url(settings.app_db_url)
    except ArgumentError as err:
        raise ConfigError(f"GUANXI_APP_DB_URL is not a database URL: {err}") from err
    backend = url.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise ConfigError(
            f"GUANXI_APP_DB_URL uses {backend!r}; the app database runs on sqlite or postgresql"
        )
    if url.drivername in _DRIVERS:
        url = url.set(drivername=_DRIVERS[url.drivername])
    return url


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in {None, "", ":memory:"}


def make_engine(settings: Settings) -> Engine:
    """A new engine for the app database; the caller disposes of it.

    For a SQLite file the parent folder is created and foreign keys are
    enforced on every connection.
    """
    url = database_url(settings)
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False}
        if is_memory_sqlite(url):
            kwargs["poolclass"] = StaticPool
        else:
            Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)
