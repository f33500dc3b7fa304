"""Properties of resolve on generated records: input order, idempotence, stable incremental ids.

Records share identifiers drawn from tiny pools, so chains and merges happen
often; a union-find over shared identifiers is the oracle for the partition.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
from hypothesis import given, settings
from hypothesis import strategies as st
from ibis.backends import BaseBackend

from guanxi.config import Settings, get_settings
from guanxi.identity import resolve
from guanxi.tables import ALL_TABLES
from guanxi.warehouse import ensure_tables

from .conftest import LATER, NOW, ids, insert_rows, partition

GROUPS = 4
"""Records draw identifiers from one of four groups' tiny pools: several components, each with chains."""


@st.composite
def record_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 20))
    rows = []
    for index in range(count):
        group = draw(st.integers(0, GROUPS - 1))
        rows.append(
            {
                "source": draw(st.sampled_from(["taobao", "jd", "crm"])),
                "source_customer_id": f"r{index}",
                "phone": draw(st.none() | st.sampled_from([f"+86139{group}000000{i}" for i in range(1, 4)])),
                "email": draw(st.none() | st.sampled_from([f"g{group}.{i}@example.cn" for i in range(1, 3)])),
                "wechat_unionid": draw(st.none() | st.sampled_from([f"oU_{group}_{i}" for i in range(1, 3)])),
                "registered_at": str(dt.datetime(2020, 1, 1) + dt.timedelta(days=draw(st.integers(0, 3)))),
            }
        )
    return rows


def _key(row: dict[str, Any]) -> str:
    return f"{row['source']}:{row['source_customer_id']}"


def oracle(rows: list[dict[str, Any]]) -> set[frozenset[str]]:
    """Union-find over shared phone / e-mail / unionid."""
    parent = {_key(r): _key(r) for r in rows}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    first_holder: dict[tuple[str, str], str] = {}
    for row in rows:
        for kind in ("phone", "email", "wechat_unionid"):
            if row[kind] is None:
                continue
            holder = first_holder.setdefault((kind, row[kind]), _key(row))
            parent[find(_key(row))] = find(holder)
    groups: dict[str, set[str]] = {}
    for row in rows:
        groups.setdefault(find(_key(row)), set()).add(_key(row))
    return {frozenset(g) for g in groups.values()}


def _warehouse(rows: list[dict[str, Any]]) -> BaseBackend:
    con = ibis.duckdb.connect()
    ensure_tables(con, ALL_TABLES)
    if rows:
        insert_rows(con, "customers", rows)
    return con


def _settings() -> Settings:
    return get_settings(env="test", warehouse_url="duckdb://:memory:", progress=False)


def _snapshot(con: BaseBackend) -> tuple[Any, ...]:
    return (
        con.table("identity_map").order_by(["source", "source_customer_id"]).to_pyarrow().to_pylist(),
        con.table("customers").order_by("customer_id").to_pyarrow().to_pylist(),
        con.table("identity_history").count().execute(),
    )


@settings(max_examples=4, deadline=None)
@given(rows=record_sets(), data=st.data())
def test_result_is_independent_of_input_order_and_idempotent(
    rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(rows))
    config = _settings()
    # given the same records loaded in two different orders
    first, second = _warehouse(rows), _warehouse(shuffled)
    # when both are resolved
    resolve(first, config, now=NOW)
    resolve(second, config, now=NOW)
    # then ids and golden records are identical, and the partition is the union-find one
    assert _snapshot(first) == _snapshot(second)
    assert partition(first) == oracle(rows)
    # and resolving again a day later changes nothing
    resolve(first, config, now=LATER)
    assert _snapshot(first) == _snapshot(second)


@settings(max_examples=4, deadline=None)
@given(rows=record_sets(), data=st.data())
def test_ids_stay_stable_when_data_arrives_in_two_batches(
    rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(rows)))
    day1, day2 = rows[:cut], rows[cut:]
    config = _settings()
    # given day 1 resolved
    con = _warehouse(day1)
    resolve(con, config, now=NOW)
    before = ids(con)
    # when day 2 arrives and is resolved
    if day2:
        insert_rows(con, "customers", day2)
    resolve(con, config, now=LATER)
    after = ids(con)
    # then the partition is as if everything came at once
    assert partition(con) == oracle(rows)
    # and every day-1 customer lives on whole, under the id of its oldest day-1 customer
    seniority = {_key(r): (r["registered_at"], r["source"], r["source_customer_id"]) for r in rows}
    day1_groups: dict[int, set[str]] = {}
    for record, customer in before.items():
        day1_groups.setdefault(customer, set()).add(record)
    for group in partition(con):
        inherited = {before[r] for r in group if r in before}
        if not inherited:
            assert all(after[r] > max(before.values(), default=0) for r in group)
            continue
        oldest = min(inherited, key=lambda c: min(seniority[r] for r in day1_groups[c]))
        assert {after[r] for r in group} == {oldest}
