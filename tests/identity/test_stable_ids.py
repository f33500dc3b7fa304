"""Stable ids across runs: merges keep the oldest member's id, splits get new ids, history records both."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.identity import CustomerRetiredError, customer_360, merge, resolve, unmerge

from .conftest import LATER, NOW, ids, load_scenario


def _history(con: BaseBackend) -> list[tuple[str, int, int | None, int | None]]:
    rows = con.table("identity_history").to_pyarrow().to_pylist()
    return sorted(
        (r["event"], r["customer_id"], r["other_customer_id"], r["record_count"])
        for r in rows
        if not r["event"].startswith("manual")
    )


def test_new_data_that_bridges_two_customers_keeps_the_oldest_members_id(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given day 1: three unrelated customers, ids by seniority
    con = load("stable_ids_day1")
    resolve(con, settings, now=NOW)
    assert ids(con) == {"taobao:tb-a": 1, "jd:jd-b": 2, "crm:c-c": 3}
    # when day 2 brings a Youzan buyer with tb-a's phone and jd-b's e-mail, and a new customer
    load_scenario(con, "stable_ids_day2")
    report = resolve(con, settings, now=LATER)
    # then tb-a (registered 2020) keeps 1, jd-b's customer 2 is merged into it, the newcomer gets 4
    assert ids(con) == {"taobao:tb-a": 1, "jd:jd-b": 1, "youzan:yz-d": 1, "crm:c-c": 3, "crm:c-e": 4}
    assert (report.merged, report.created, report.split) == (1, 1, 0)
    assert _history(con) == [
        ("create", 1, None, 1),
        ("create", 2, None, 1),
        ("create", 3, None, 1),
        ("create", 4, None, 1),
        ("merge", 2, 1, 1),
    ]


def test_a_second_run_on_the_same_data_changes_nothing(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given a resolved warehouse
    con = load("stable_ids_day1")
    load_scenario(con, "stable_ids_day2")
    resolve(con, settings, now=NOW)
    before = (
        con.table("identity_map").order_by("source_customer_id").to_pyarrow(),
        con.table("customers").order_by("customer_id").to_pyarrow(),
        con.table("identity_history").count().execute(),
    )
    # when resolving again a day later
    report = resolve(con, settings, now=LATER)
    # then ids, resolved_at, golden records and their updated_at are untouched, no history is added
    after = (
        con.table("identity_map").order_by("source_customer_id").to_pyarrow(),
        con.table("customers").order_by("customer_id").to_pyarrow(),
        con.table("identity_history").count().execute(),
    )
    assert after == before
    assert (report.created, report.merged, report.split, report.retired) == (0, 0, 0, 0)


def test_unmerge_splits_the_customer_into_new_ids_and_merge_joins_them_back(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given customer 1 = tb-a + jd-b + yz-d (bridged by yz-d), c-c = 2, c-e = 3
    con = load("stable_ids_day1")
    load_scenario(con, "stable_ids_day2")
    resolve(con, settings, now=NOW)
    assert ids(con) == {"taobao:tb-a": 1, "jd:jd-b": 1, "youzan:yz-d": 1, "crm:c-c": 2, "crm:c-e": 3}
    # when the bridging record is split off by hand
    report = unmerge(con, settings, ("youzan", "yz-d"), now=LATER, actor="ops", reason="different person")
    # then customer 1 is retired and its parts get new ids in seniority order
    assert ids(con) == {"taobao:tb-a": 4, "jd:jd-b": 5, "youzan:yz-d": 6, "crm:c-c": 2, "crm:c-e": 3}
    assert report.split == 1
    with pytest.raises(CustomerRetiredError) as raised:
        customer_360(con, settings, "1")
    assert raised.value.successors == [4, 5, 6]
    # and a later run keeps yz-d apart even though it still shares the phone and e-mail
    resolve(con, settings, now=LATER)
    assert ids(con)["youzan:yz-d"] == 6
    # when tb-a's and jd-b's customers are merged by hand
    merge(con, settings, 5, 4, now=LATER, actor="ops", reason="same family account")
    # then the merged customer keeps 4 (tb-a, its oldest member) and 5 redirects to it
    assert ids(con) == {"taobao:tb-a": 4, "jd:jd-b": 4, "youzan:yz-d": 6, "crm:c-c": 2, "crm:c-e": 3}
    assert customer_360(con, settings, "5").redirected_from == 5
    manual = con.table("identity_history").filter(lambda t: t.event.startswith("manual"))
    assert sorted(
        (r["event"], r["customer_id"], r["other_customer_id"]) for r in manual.to_pyarrow().to_pylist()
    ) == [
        ("manual_merge", 5, 4),
        ("manual_unmerge", 1, 6),
    ]


def test_a_record_that_disappears_retires_its_customer(
    memory_warehouse: BaseBackend, settings: Settings
) -> None:
    # given a resolved customer whose only record is then deleted upstream
    load_scenario(memory_warehouse, "two_profiles_same_phone")
    resolve(memory_warehouse, settings, now=NOW)
    raw = memory_warehouse.table("raw_customers")
    memory_warehouse.create_table("raw_customers", raw.filter(raw.source != "crm"), overwrite=True)
    # when resolving again
    report = resolve(memory_warehouse, settings, now=LATER)
    # then customer 1 is retired and customer 2 is untouched
    assert ids(memory_warehouse) == {"taobao:tb_wang01": 2, "jd:jd_88231": 2}
    assert report.retired == 1
