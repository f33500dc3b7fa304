"""Properties of incremental runs on generated histories: they agree with the full resolve.

A history is a resolved day of profiles, then a few micro-batches of identify
calls: new records, and new rows of records seen before (which may bring them a
new phone, e-mail or unionid). Identifiers come from small per-group pools, so
joins, chains, new customers and would-be merges all happen.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

import ibis
from hypothesis import event, given, settings
from hypothesis import strategies as st
from ibis.backends import BaseBackend

from guanxi.config import Settings, get_settings
from guanxi.identity import resolve, resolve_incremental
from guanxi.tables import ALL_TABLES
from guanxi.warehouse import ensure_tables

from .conftest import NOW, insert_rows, partition
from .test_incremental import OUTPUTS, snapshot

GROUPS = 3
EXAMPLES = int(os.environ.get("GUANXI_INCREMENTAL_EXAMPLES", "5"))
"""Examples per property (``GUANXI_INCREMENTAL_EXAMPLES`` raises it for a longer search)."""


@st.composite
def rows_for(draw: st.DrawFn, record: str, ingested: datetime) -> dict[str, Any]:
    group = draw(st.integers(0, GROUPS - 1))
    return {
        "source": record.split(":")[0],
        "source_customer_id": record.split(":")[1],
        "phone": draw(st.none() | st.sampled_from([f"+86139{group}000000{i}" for i in range(1, 3)])),
        "email": draw(st.none() | st.sampled_from([f"g{group}.{i}@example.cn" for i in range(1, 3)])),
        "wechat_unionid": draw(st.none() | st.sampled_from([f"oU_{group}_{i}" for i in (1, 2)])),
        "name": draw(st.sampled_from(["王芳", "李雷", "赵敏", None])),
        "city": draw(st.sampled_from(["杭州", "上海", None])),
        "registered_at": str(datetime(2020, 1, 1) + timedelta(days=draw(st.integers(0, 3)))),
        "ingested_at": str(ingested),
    }


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """Day-one rows, then 1–3 batches; every batch row is a new record or an earlier one again."""
    seen: list[str] = []
    counter = 0

    def new_record() -> str:
        nonlocal counter
        counter += 1
        return f"{draw(st.sampled_from(['taobao', 'jd', 'web']))}:r{counter}"

    day_one = []
    for _ in range(draw(st.integers(1, 8))):
        record = new_record()
        seen.append(record)
        day_one.append(draw(rows_for(record, NOW - timedelta(hours=2))))
    batches = []
    for index in range(draw(st.integers(1, 3))):
        ingested = NOW + timedelta(seconds=10 * index + 1)
        batch = []
        for _ in range(draw(st.integers(1, 5))):
            again = seen and draw(st.booleans())
            record = draw(st.sampled_from(seen)) if again else new_record()
            seen.append(record)
            batch.append(draw(rows_for(record, ingested)))
        batches.append(batch)
    return day_one, batches


def _warehouse(rows: list[dict[str, Any]]) -> BaseBackend:
    con = ibis.duckdb.connect()
    ensure_tables(con, ALL_TABLES)
    insert_rows(con, "customers", rows)
    return con


def _settings() -> Settings:
    return get_settings(env="test", warehouse_url="duckdb://:memory:", progress=False)


def _refines(groups: set[frozenset[str]], coarser: set[frozenset[str]]) -> bool:
    return all(any(group <= other for other in coarser) for group in groups)


@settings(max_examples=EXAMPLES, deadline=None)
@given(history=histories())
def test_incremental_runs_group_records_as_the_full_resolve_does(
    history: tuple[list[dict[str, Any]], list[list[dict[str, Any]]]],
) -> None:
    day_one, batches = history
    config = _settings()
    # given day one resolved in full, then every batch resolved incrementally
    con = _warehouse(day_one)
    resolve(con, config, now=NOW)
    pending = 0
    for index, batch in enumerate(batches):
        insert_rows(con, "customers", batch)
        pending = resolve_incremental(con, config, now=NOW + timedelta(seconds=10 * index + 5)).pending
    # and the same data resolved in full in another warehouse
    everything = [row for rows in (day_one, *batches) for row in rows]
    reference = _warehouse(everything)
    resolve(reference, config, now=NOW)
    expected = partition(reference)
    incremental = partition(con)
    later = NOW + timedelta(hours=1)
    if pending == 0:
        event("no merge needed")
        # then the grouping is the full resolve's, and a full resolve afterwards changes nothing
        assert incremental == expected
        before = snapshot(con)
        resolve(con, config, now=later)
        assert snapshot(con) == before
    else:
        event("merge or split left to the full resolve")
        # then nothing was merged that the full resolve keeps apart, and the full resolve reconciles
        assert _refines(incremental, expected)
        resolve(con, config, now=later)
        assert partition(con) == expected


@settings(max_examples=EXAMPLES, deadline=None)
@given(history=histories())
def test_a_second_incremental_run_changes_nothing(
    history: tuple[list[dict[str, Any]], list[list[dict[str, Any]]]],
) -> None:
    day_one, batches = history
    config = _settings()
    con = _warehouse(day_one)
    resolve(con, config, now=NOW)
    insert_rows(con, "customers", [row for batch in batches for row in batch])
    # given every batch resolved incrementally in one run
    resolve_incremental(con, config, now=NOW + timedelta(seconds=40))
    tables = (*OUTPUTS, "identity_incremental_runs", "identity_deferred")
    before = snapshot(con, tables)
    # when it runs again with nothing new
    again = resolve_incremental(con, config, now=NOW + timedelta(seconds=50))
    # then it writes nothing
    assert again.changed_rows == {}
    assert snapshot(con, tables) == before
