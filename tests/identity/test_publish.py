"""A resolve swaps its output tables in one transaction: a reader on another cursor of the same DuckDB
database, reading all the while, always finds ``customers`` and always sees it agree with ``identity_map``."""

from __future__ import annotations

import threading
from typing import Any

import ibis
from ibis.backends import BaseBackend

from guanxi.config import get_settings
from guanxi.identity import resolve
from guanxi.tables import ALL_TABLES
from guanxi.warehouse import ensure_tables

from .conftest import NOW, load_scenario

AGREE = """
SELECT (SELECT count(*) FROM customers),
       (SELECT count(DISTINCT customer_id) FROM identity_map)
"""


def test_readers_never_see_a_missing_or_half_swapped_customers_table() -> None:
    con: BaseBackend = ibis.duckdb.connect()
    ensure_tables(con, ALL_TABLES)
    load_scenario(con, "customer_360_timeline")
    settings = get_settings(env="test", warehouse_url="duckdb://:memory:", progress=False)
    resolve(con, settings, now=NOW)
    raw: Any = getattr(con, "con")  # noqa: B009 - the DuckDB connection under Ibis
    reader = raw.cursor()
    expected = reader.execute(AGREE).fetchone()
    stop = threading.Event()
    seen: list[tuple[int, int]] = []
    failures: list[BaseException] = []

    def read() -> None:
        while not stop.is_set():
            try:
                seen.append(reader.execute(AGREE).fetchone())
            except BaseException as err:  # a missing table would land here
                failures.append(err)
                return

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for _ in range(3):
            resolve(con, settings, now=NOW)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert failures == []
    assert len(seen) > 3
    assert set(seen) == {expected}
