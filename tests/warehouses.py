"""A PostgreSQL warehouse in a private schema, for the tests that run the warehouse code there.

``GUANXI_TEST_POSTGRES`` (a SQLAlchemy URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) names the server; without it
the test is skipped with that reason. The schema is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import ibis
import pytest
from ibis.backends import BaseBackend

SKIP_REASON = "GUANXI_TEST_POSTGRES not set"


def postgres_url() -> str:
    """The test server's URL, or a skip of the calling test."""
    url = os.environ.get("GUANXI_TEST_POSTGRES")
    if not url:
        pytest.skip(SKIP_REASON)
    return url


@contextmanager
def postgres_schema(prefix: str) -> Iterator[BaseBackend]:
    """An Ibis PostgreSQL connection whose search path is a new schema ``<prefix>_<random>``."""
    import psycopg
    from psycopg import sql

    conninfo = postgres_url().replace("postgresql+psycopg://", "postgresql://", 1)
    parsed = urlparse(conninfo)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    con = ibis.postgres.connect(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database=parsed.path.lstrip("/") or "postgres",
        options=f"-csearch_path={schema}",
    )
    try:
        yield con
    finally:
        con.disconnect()
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
