"""Customer 360: one call by id, phone (any spelling) or e-mail gives the whole customer."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import Decimal

import ibis
import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings, get_settings
from guanxi.errors import NotFoundError
from guanxi.identity import AmbiguousKeyError, IdentityInputError, customer_360, resolve
from guanxi.tables import ALL_TABLES
from guanxi.warehouse import ensure_tables

from .conftest import NOW, load_scenario


@pytest.fixture(scope="module")
def timeline_warehouse() -> Iterator[BaseBackend]:
    """Resolved once for the read-only tests of this module."""
    con = ibis.duckdb.connect()
    ensure_tables(con, ALL_TABLES)
    load_scenario(con, "customer_360_timeline")
    resolve(con, get_settings(env="test", warehouse_url="duckdb://:memory:", progress=False), now=NOW)
    yield con
    con.disconnect()


@pytest.mark.parametrize("key", ["1", "id:1", "135 0000 9000", "+86 135-0000-9000", "HUANG.RONG@example.cn"])
def test_any_key_spelling_finds_the_same_customer(
    timeline_warehouse: BaseBackend, settings: Settings, key: str
) -> None:
    assert customer_360(timeline_warehouse, settings, key).customer_id == 1


def test_the_360_has_golden_record_identifiers_sources_and_a_timeline(
    timeline_warehouse: BaseBackend, settings: Settings
) -> None:
    view = customer_360(timeline_warehouse, settings, "13500009000")
    # golden record from the CRM profile
    assert (view.golden["name"], view.golden["birthday"]) == ("黄蓉", dt.date(1992, 8, 15))
    # every record, oldest first
    assert [(r["source"], r["source_customer_id"]) for r in view.records] == [
        ("crm", "c-900"),
        ("taobao", "tb_huang"),
        ("service", "svc-33"),
        ("wechat", "wx-hr"),
    ]
    # every identifier with the record that carries it
    assert ("email", "huang.rong@example.cn", "service", "svc-33") in {
        (i["kind"], i["value"], i["source"], i["source_customer_id"]) for i in view.identifiers
    }
    # the timeline, newest first: view, message, ticket, two orders
    assert [(e.kind, e.reference) for e in view.timeline] == [
        ("event", "E-2"),
        ("message", "E-1"),
        ("ticket", "K-1"),
        ("order", "T1002"),
        ("order", "T1001"),
    ]
    first_order = view.timeline[-1]
    assert (first_order.amount, first_order.status, first_order.summary) == (
        Decimal("199.00"),
        "delivered",
        "真丝围巾",
    )
    assert view.timeline[2].summary == "complaint: 物流太慢"


def test_to_dict_is_json_ready(timeline_warehouse: BaseBackend, settings: Settings) -> None:
    data = customer_360(timeline_warehouse, settings, "1").to_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert json.loads(text)["timeline"][-1]["amount"] == "199.00"
    assert data["golden"]["birthday"] == "1992-08-15"


def test_later_stage_tables_appear_in_the_profile_when_they_exist(
    timeline_warehouse: BaseBackend, settings: Settings
) -> None:
    # given a scores table written by a later stage
    timeline_warehouse.create_table(
        "customer_scores",
        ibis.memtable(
            {
                "customer_id": [1, 1, 2],
                "model": ["rfm", "clv", "rfm"],
                "score": [4.0, 812.5, 1.0],
                "computed_at": [dt.datetime(2024, 5, 1), dt.datetime(2024, 5, 2), dt.datetime(2024, 5, 1)],
            }
        ),
    )
    view = customer_360(timeline_warehouse, settings, "1")
    timeline_warehouse.drop_table("customer_scores")
    assert [(r["model"], r["score"]) for r in view.profile["customer_scores"]] == [
        ("clv", 812.5),
        ("rfm", 4.0),
    ]


def test_a_shared_phone_is_ambiguous_and_names_the_candidates(
    load: Callable[[str], BaseBackend], strict_settings: Settings
) -> None:
    con = load("shared_shop_phone_not_merged")
    resolve(con, strict_settings, now=NOW)
    with pytest.raises(AmbiguousKeyError) as raised:
        customer_360(con, strict_settings, "0571-8888 6666")
    assert raised.value.candidates == [1, 2, 3, 4]
    # and the 360 of one of them shows the phone as excluded
    view = customer_360(con, strict_settings, "2")
    assert {(i["kind"], i["excluded"]) for i in view.identifiers if i["kind"] == "phone"} == {
        ("phone", "shared")
    }


def test_unknown_and_unreadable_keys_raise(timeline_warehouse: BaseBackend, settings: Settings) -> None:
    with pytest.raises(NotFoundError):
        customer_360(timeline_warehouse, settings, "nobody@example.cn")
    with pytest.raises(NotFoundError):
        customer_360(timeline_warehouse, settings, "99")
    with pytest.raises(IdentityInputError):
        customer_360(timeline_warehouse, settings, "not a key")
