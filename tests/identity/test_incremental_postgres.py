"""The same incremental runs on PostgreSQL (GUANXI_TEST_POSTGRES), in a private schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.identity import incremental as incremental_module
from guanxi.identity import resolve, resolve_incremental
from guanxi.identity.deferred import pending_notes
from guanxi.tables import ALL_TABLES
from guanxi.warehouse import ensure_tables
from tests.warehouses import postgres_schema

from .conftest import NOW, ids, insert_rows, partition
from .test_incremental import LI, OUTPUTS, SOON, WANG, _FailingTransaction, at, event, profile, snapshot

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_warehouse() -> Iterator[BaseBackend]:
    with postgres_schema("guanxi_incremental") as con:
        ensure_tables(con, ALL_TABLES)
        yield con


def test_incremental_runs_join_create_and_defer_on_postgresql(
    postgres_warehouse: BaseBackend, settings: Settings
) -> None:
    con = postgres_warehouse
    insert_rows(con, "customers", [WANG, LI])
    resolve(con, settings, now=NOW)
    # when a batch brings a join, a new customer of two records, an identify and a bridge
    insert_rows(con, "events", [event("web", "u-1", "e1", ingested=at(2), phone="+8613811110001")])
    insert_rows(
        con,
        "customers",
        [
            profile(
                "youzan", "yz-1", ingested=at(3), email="zhao@example.cn", company="杭州云帆科技有限公司"
            ),
            profile("shopify", "sp-1", ingested=at(3), email="zhao@example.cn", city="杭州"),
            profile("jd", "jd-li", ingested=at(4), updated_at=at(4), city="成都"),
        ],
    )
    report = resolve_incremental(con, settings, now=SOON)
    # then it gives the full resolve's grouping, and the golden records show the new values
    assert partition(con) == {
        frozenset({"taobao:tb-wang", "web:u-1"}),
        frozenset({"jd:jd-li"}),
        frozenset({"youzan:yz-1", "shopify:sp-1"}),
    }
    assert (report.joined, report.created, report.needs_full_resolve) == (1, 1, False)
    li = con.table("customers").filter(lambda t: t.customer_id == 2).to_pyarrow().to_pylist()[0]
    assert li["city"] == "成都"
    # and a second run writes nothing, and a full resolve afterwards changes nothing
    assert resolve_incremental(con, settings, now=datetime(2024, 6, 1, 12, 0, 30)).changed_rows == {}
    before = snapshot(con)
    resolve(con, settings, now=datetime(2024, 6, 1, 13, 0))
    assert snapshot(con) == before
    # and a bridge between two customers is noted, not merged
    insert_rows(
        con,
        "customers",
        [
            profile(
                "crm",
                "c-9",
                ingested="2024-06-01 13:00:05",
                email="li.lei@example.cn",
                phone="+8613811110001",
            )
        ],
    )
    bridged = resolve_incremental(con, settings, now=datetime(2024, 6, 1, 13, 0, 10))
    assert bridged.needs_full_resolve
    assert [n["reason"] for n in pending_notes(con).to_pyarrow().to_pylist()] == ["merge"]
    assert ids(con)["crm:c-9"] == 1


def test_a_failing_publish_rolls_back_on_postgresql(
    postgres_warehouse: BaseBackend, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = postgres_warehouse
    insert_rows(con, "customers", [WANG, LI])
    resolve(con, settings, now=NOW)
    insert_rows(con, "events", [event("web", "u-1", "e1", ingested=at(5), phone="+8613811110001")])
    tables = (*OUTPUTS, "identity_incremental_runs", "identity_deferred")
    before = snapshot(con, tables)
    real = incremental_module.transaction_for

    def failing(c: BaseBackend) -> _FailingTransaction:
        inner = real(c)
        assert inner is not None
        return _FailingTransaction(inner, after=3)

    monkeypatch.setattr(incremental_module, "transaction_for", failing)
    with pytest.raises(RuntimeError, match="went away"):
        resolve_incremental(con, settings, now=SOON)
    assert snapshot(con, tables) == before
    monkeypatch.undo()
    assert resolve_incremental(con, settings, now=SOON).joined == 1
