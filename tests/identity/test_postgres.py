"""The same resolve code on PostgreSQL (GUANXI_TEST_POSTGRES), in a private schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.identity import customer_360, resolve, shared_identifiers
from guanxi.tables import ALL_TABLES
from guanxi.warehouse import ensure_tables
from tests.warehouses import postgres_schema

from .conftest import LATER, NOW, ids, load_scenario, partition

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_warehouse() -> Iterator[BaseBackend]:
    with postgres_schema("guanxi_identity") as con:
        ensure_tables(con, ALL_TABLES)
        yield con


def test_resolve_gives_the_same_answers_on_postgresql(
    postgres_warehouse: BaseBackend, strict_settings: Settings
) -> None:
    con = postgres_warehouse
    load_scenario(con, "stable_ids_day1")
    load_scenario(con, "shared_shop_phone_not_merged")
    load_scenario(con, "survivorship_fields")
    assert shared_identifiers(con, strict_settings).to_pyarrow().to_pylist() == [
        {"kind": "phone", "value": "+8657188886666", "record_count": 4}
    ]
    resolve(con, strict_settings, now=NOW)
    load_scenario(con, "stable_ids_day2")
    resolve(con, strict_settings, now=LATER)
    assert {
        frozenset({"taobao:tb-a", "jd:jd-b", "youzan:yz-d"}),
        frozenset({"taobao:tb_a", "crm:c-liu"}),
    } <= partition(con)
    mapping = ids(con)
    assert mapping["jd:jd-b"] == mapping["taobao:tb-a"]
    view = customer_360(con, strict_settings, "+86 138 0000 5555")
    assert (view.golden["name"], view.golden["city"]) == ("周迅", "杭州")
