"""The same resolve code on PostgreSQL (GUANXI_TEST_POSTGRES), in a private schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import ibis
import psycopg
import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.identity import customer_360, resolve, shared_identifiers
from guanxi.tables import ALL_TABLES
from guanxi.warehouse import ensure_tables

from .conftest import LATER, NOW, ids, load_scenario, partition

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_warehouse() -> Iterator[BaseBackend]:
    url = os.environ.get("GUANXI_TEST_POSTGRES")
    if not url:
        pytest.skip("GUANXI_TEST_POSTGRES is not set")
    parsed = urlparse(url.replace("+psycopg", ""))
    params = {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "dbname": parsed.path.lstrip("/") or "postgres",
    }
    if parsed.password:
        params["password"] = parsed.password
    schema = f"guanxi_identity_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    con = ibis.postgres.connect(
        host=params["host"],
        port=params["port"],
        user=params["user"],
        password=parsed.password,
        database=params["dbname"],
        options=f"-csearch_path={schema}",
    )
    ensure_tables(con, ALL_TABLES)
    try:
        yield con
    finally:
        con.disconnect()
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


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
