"""Identity resolution gives the same answers on every backend (two shops, one data set).

The scenario ``two_shops``: Taobao and JD profiles, orders and items.

* 王芳: taobao:tb1 and jd:jd1 share a phone; taobao:tb5 exists only as an order
  carrying that phone;
* 李雷: taobao:tb2 —e-mail— jd:jd2 —WeChat unionid— jd:jd3 —work e-mail— taobao:tb4;
* 张伟 (taobao:tb3) and 赵敏 (jd:jd4) share nothing with anyone.

Ids follow seniority (registration time): 王芳 1, 李雷 2, 张伟 3, 赵敏 4.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from guanxi.identity import customer_360, merge, resolve
from tests.backends.conftest import Warehouse, load
from tests.identity.conftest import ids, partition

NOW = datetime(2024, 6, 30, 12, 0, 0)

EXPECTED = {
    frozenset({"taobao:tb1", "jd:jd1", "taobao:tb5"}),
    frozenset({"taobao:tb2", "jd:jd2", "jd:jd3", "taobao:tb4"}),
    frozenset({"taobao:tb3"}),
    frozenset({"jd:jd4"}),
}


def test_resolve_links_the_same_records_on_every_backend(backend: Warehouse) -> None:
    con = backend.con
    load(con, "two_shops")

    report = resolve(con, backend.settings, now=NOW)

    assert partition(con) == EXPECTED
    mapping = ids(con)
    assert {mapping["taobao:tb1"], mapping["taobao:tb2"], mapping["taobao:tb3"], mapping["jd:jd4"]} == {
        1,
        2,
        3,
        4,
    }
    assert (mapping["taobao:tb1"], mapping["taobao:tb2"], mapping["taobao:tb3"], mapping["jd:jd4"]) == (
        1,
        2,
        3,
        4,
    )
    assert (report.records, report.customers, report.created, report.merged) == (9, 4, 4, 0)


def test_golden_records_and_customer_360_agree_on_every_backend(backend: Warehouse) -> None:
    con = backend.con
    load(con, "two_shops")
    resolve(con, backend.settings, now=NOW)

    golden = {row["customer_id"]: row for row in con.table("customers").to_pyarrow().to_pylist()}
    wang, li = golden[1], golden[2]
    view = customer_360(con, backend.settings, "138 1111 0001")

    # then the most recent place (jd:jd1, registered last) and the profile's names win
    assert (wang["name"], wang["phone"], wang["email"], wang["city"]) == (
        "王芳",
        "+8613811110001",
        "wang.fang@example.cn",
        "上海",
    )
    assert (wang["sources"], wang["record_count"]) == ("jd,taobao", 3)
    assert wang["first_seen_at"] == datetime(2023, 1, 5, 9, 0)
    assert (li["name"], li["city"], li["record_count"]) == ("李雷", "北京", 4)
    assert view.customer_id == 1
    assert [r["source_customer_id"] for r in view.records] == ["tb1", "jd1", "tb5"]
    assert [(e.reference, e.amount) for e in view.timeline] == [
        ("o7", Decimal("49.50")),
        ("o2", Decimal("250.50")),
        ("o1", Decimal("100.00")),
    ]


def test_a_manual_merge_survives_the_next_run_on_every_backend(backend: Warehouse) -> None:
    con = backend.con
    load(con, "two_shops")
    resolve(con, backend.settings, now=NOW)

    merge(con, backend.settings, 3, 4, now=NOW, actor="ops", reason="same person")
    resolve(con, backend.settings, now=NOW)

    assert frozenset({"taobao:tb3", "jd:jd4"}) in partition(con)
    assert ids(con)["jd:jd4"] == 3
