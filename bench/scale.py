"""Benchmark: the warehouse pipeline at scale — raw tables by SQL → resolve → models → segments.

``bench/pipeline.py`` starts from platform export files (the demo generator and
the importer), which takes hours at 50M orders. This benchmark writes the raw
tables straight into the warehouse with vectorised DuckDB SQL and then runs the
real stages on them, each in its own process (``--stage``), so wall time and
peak RSS are each stage's own; all stages share one DuckDB file in a work folder.

* ``generate`` — :func:`guanxi.warehouse.connect` creates the canonical raw
  tables (:mod:`guanxi.tables`); one ``INSERT … SELECT … FROM range()`` per
  table and chunk of ``--chunk`` rows (5M) fills them, so memory stays bounded.
  ``orders / 8`` people hold records in up to three sources (``taobao``,
  ``jd``, ``crm``); a person's records share their E.164 +86 mobile or
  e-mail, some only one of them and some neither, so resolution merges for
  real; a few pickup-point phones are shared by many records and some CRM
  records carry ``test@test.com`` (both must be kept from linking). Orders
  (statuses, amounts from their 1–2 items, discounts, refunds, channels)
  carry the buyer's phone (35 % masked on Taobao), name and province; events
  (``orders / 2``) and tickets (``orders / 200``) belong to the same records.
  Rows are stamped as the importer stamps them: a batch per table, chunk and
  source (``batch_id``, ``ingested_at``, ``row_hash``, an ``import_batches`` row).
* ``resolve``  — :func:`guanxi.identity.resolve`, deterministic default rules;
* ``models``   — :func:`guanxi.models.run_models`, a full run;
* ``segments`` — the app database migrated and seeded as ``guanxi init`` does,
  the built-in examples installed as ``guanxi segments examples --install``
  does, and every segment refreshed as ``guanxi segments refresh`` does.

Every value is a hash of the row number and a salt (``gx_u(i, salt)``), not ``random()``:
the data set is the same at every run and for any chunk size, so counts can be
compared between runs. The goal: 50,000,000 orders through every stage on a
24 GiB, 2-core machine without running out of memory.

    .venv/bin/python bench/scale.py --orders 1000000 [--dir FOLDER] [--json PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import figures
from process import run_measured, run_stages

from guanxi.config import Settings, get_settings
from guanxi.ingest.merge import row_hash_sql  # the importer's own row digest, so the hashes agree
from guanxi.tables import (
    IMPORT_BATCHES,
    RAW_CUSTOMERS,
    RAW_EVENTS,
    RAW_ORDER_ITEMS,
    RAW_ORDERS,
    RAW_TICKETS,
    TableSpec,
)

STAGES = ("generate", "resolve", "models", "segments")
GOAL_ORDERS = 50_000_000
GOAL_RSS_GIB = 24
CHUNK = 5_000_000
"""Rows generated per INSERT (orders; people for raw_customers)."""
HISTORY_START = datetime(2023, 1, 1)
HISTORY_DAYS = 730
"""Orders fall in the two years from HISTORY_START, before 2024-12-31 00:00."""
LOADED_AT = datetime(2024, 12, 31, 20, 0)
"""The import time stamped on the rows (naive, in the configured zone); each batch a second later."""
RESOLVED_AT = datetime(2024, 12, 31, 23, 0)
AS_OF = date(2024, 12, 31)
SOURCES = ("taobao", "jd", "crm")
SHARE = (0.65, 0.40, 0.30)
"""Share of people with a record in each source; people in none of them get a Taobao record."""
RECORD_PREFIX = ("tb", "jd_", "M")
STORES = ("天猫旗舰店", "京东自营店", "线下门店")
PHONE_ON_RECORD = (0.80, 0.85, 0.90)
"""Of people with a mobile: share of their records (per source) that carry it."""
EMAIL_ON_RECORD = (0.0, 0.30, 0.80)
MASKED_ON_TAOBAO = 0.35
PICKUP_SHARE = 0.002
"""Share of JD orders carrying a pickup point's phone instead of the buyer's; a pickup point serves
about PICKUP_ORDERS of them, so at every size its phone is over the shared-identifier limit."""
PICKUP_ORDERS = 60
JD_ORDER_SHARE = 0.24
"""The share of orders placed by JD records (it follows from SHARE and gx_pick)."""
PLACES = (
    ("广东省", "广州市"),
    ("广东省", "深圳市"),
    ("浙江省", "杭州市"),
    ("江苏省", "苏州市"),
    ("上海市", "上海市"),
    ("北京市", "北京市"),
    ("江苏省", "南京市"),
    ("四川省", "成都市"),
    ("湖北省", "武汉市"),
    ("山东省", "济南市"),
    ("福建省", "厦门市"),
    ("河南省", "郑州市"),
)
CATEGORIES = ("母婴", "数码", "美妆", "服饰", "食品", "家居", "运动", "图书")
CHANNELS = ("app", "web", "mini_program", "store")
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红宇浩然子轩欣怡梓涵一诺雨婷晨阳思远佳琪嘉"
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "sina.com")
DUCKDB_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMP", "date": "DATE", "int64": "BIGINT"}


def _settings(folder: Path) -> Settings:
    return get_settings(
        env="test",
        data_dir=folder,
        warehouse_url=f"duckdb://{folder / 'warehouse.duckdb'}",
        app_db_url=f"sqlite:///{folder / 'app.sqlite'}",
        models_config=folder / "absent-models.yaml",
        identity_config=folder / "absent-identity.yaml",
        progress=False,
    )


def _text(values: tuple[str, ...]) -> str:
    """A DuckDB list literal of module constants."""
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _macros(people: int) -> list[str]:
    """The row → value functions every table is generated from (temporary, this connection only).

    ``gx_u(x, salt)`` is a uniform number in [0, 1) from a hash; a person ``p`` is
    0 … people − 1; an order ``i`` belongs to ``gx_person(i)`` (skewed towards
    small ids: a few heavy buyers) and to that person's record in source ``gx_src(i)``.
    """
    last = people - 1
    surnames, given = _text(tuple(SURNAMES)), _text(tuple(GIVEN))
    n = "(gx_in(p, 0)::INT + gx_in(p, 1)::INT + gx_in(p, 2)::INT)"
    return [
        # One 64-bit hash per (row, salt < 4096). DuckDB's hash(x, s) of two values is not used: its halves
        # combine so weakly that hash(p, 110) < 2⁶³ exactly when hash(p, 201) < 2⁶³.
        "CREATE OR REPLACE TEMP MACRO gx_u(x, s) AS hash(x::BIGINT * 4096 + s) / 18446744073709551616.0",
        f"""CREATE OR REPLACE TEMP MACRO gx_in(p, k) AS CASE k
                WHEN 0 THEN gx_u(p, 100) < {SHARE[0]} OR (gx_u(p, 101) >= {SHARE[1]} AND gx_u(p, 102) >= {SHARE[2]})
                WHEN 1 THEN gx_u(p, 101) < {SHARE[1]} ELSE gx_u(p, 102) < {SHARE[2]} END""",
        # The floor(x·n)-th of the person's sources, in source order.
        f"""CREATE OR REPLACE TEMP MACRO gx_pick(p, x) AS CASE
                WHEN gx_in(p, 0) AND floor(x * {n}) = 0 THEN 0
                WHEN gx_in(p, 1) AND floor(x * {n}) = gx_in(p, 0)::INT THEN 1 ELSE 2 END""",
        f"CREATE OR REPLACE TEMP MACRO gx_skewed(x) AS least(floor(pow(x, 1.6) * {people})::BIGINT, {last})",
        "CREATE OR REPLACE TEMP MACRO gx_person(i) AS gx_skewed(gx_u(i, 1))",
        "CREATE OR REPLACE TEMP MACRO gx_src(i) AS gx_pick(gx_person(i), gx_u(i, 2))",
        f"""CREATE OR REPLACE TEMP MACRO gx_record(k, p) AS CASE k WHEN 0 THEN '{RECORD_PREFIX[0]}' || p
                WHEN 1 THEN '{RECORD_PREFIX[1]}' || p ELSE '{RECORD_PREFIX[2]}' || lpad(p::VARCHAR, 9, '0') END""",
        # Each person buys within their own span of days (then drops out): buy-till-you-die.
        "CREATE OR REPLACE TEMP MACRO gx_start(p) AS (p * 7919) % 600",
        f"CREATE OR REPLACE TEMP MACRO gx_span(p) AS least(30 + (p * 104729) % 700, {HISTORY_DAYS} - gx_start(p))",
        f"""CREATE OR REPLACE TEMP MACRO gx_created(i, p) AS TIMESTAMP '{HISTORY_START}'
                + to_seconds(gx_start(p) * 86400 + floor(gx_u(i, 3) * gx_span(p) * 86400)::BIGINT)""",
        # A bijection of 0 … 2·10⁹ − 1: every person their own mobile, 130–139 and 180–189.
        "CREATE OR REPLACE TEMP MACRO gx_v(p) AS (p * 1234567891 + 987654321) % 2000000000",
        """CREATE OR REPLACE TEMP MACRO gx_national(p) AS
                (CASE WHEN gx_v(p) < 1000000000 THEN 130 ELSE 170 END + gx_v(p) // 100000000)::VARCHAR
                || lpad((gx_v(p) % 100000000)::VARCHAR, 8, '0')""",
        "CREATE OR REPLACE TEMP MACRO gx_has_phone(p) AS gx_u(p, 110) < 0.95",
        "CREATE OR REPLACE TEMP MACRO gx_phone(p) AS CASE WHEN gx_has_phone(p) THEN '+86' || gx_national(p) END",
        f"""CREATE OR REPLACE TEMP MACRO gx_email(p) AS CASE WHEN gx_u(p, 120) < 0.5
                THEN 'gx' || p || '@' || ({_text(EMAIL_DOMAINS)})[1 + floor(gx_u(p, 121) * {len(EMAIL_DOMAINS)})::INT] END""",
        f"""CREATE OR REPLACE TEMP MACRO gx_name(p) AS
                {surnames}[1 + floor(pow(gx_u(p, 130), 2) * {len(SURNAMES)})::INT]
                || {given}[1 + floor(gx_u(p, 131) * {len(GIVEN)})::INT]
                || CASE WHEN gx_u(p, 132) < 0.6 THEN {given}[1 + floor(gx_u(p, 133) * {len(GIVEN)})::INT] ELSE '' END""",
        f"CREATE OR REPLACE TEMP MACRO gx_place(p) AS 1 + floor(pow(gx_u(p, 140), 1.5) * {len(PLACES)})::INT",
        # Items: a SKU (popular ones first) fixes category, brand and price.
        "CREATE OR REPLACE TEMP MACRO gx_items(i) AS 1 + (gx_u(i, 5) < 0.35)::INT",
        "CREATE OR REPLACE TEMP MACRO gx_sku(i, k) AS floor(pow(gx_u(i, 20 + k), 1.5) * 5000)::BIGINT",
        "CREATE OR REPLACE TEMP MACRO gx_price(sku) AS (9.9 + ((sku * 7919) % 5900) / 10)::DECIMAL(18, 2)",
        "CREATE OR REPLACE TEMP MACRO gx_qty(i, k) AS 1 + floor(pow(gx_u(i, 30 + k), 3) * 3)::BIGINT",
        """CREATE OR REPLACE TEMP MACRO gx_goods(i) AS (gx_price(gx_sku(i, 0)) * gx_qty(i, 0)
                + CASE WHEN gx_items(i) = 2 THEN gx_price(gx_sku(i, 1)) * gx_qty(i, 1) ELSE 0 END)::DECIMAL(18, 2)""",
        """CREATE OR REPLACE TEMP MACRO gx_status(i) AS CASE
                WHEN gx_u(i, 4) < 0.80 THEN 'delivered' WHEN gx_u(i, 4) < 0.85 THEN 'shipped'
                WHEN gx_u(i, 4) < 0.88 THEN 'paid' WHEN gx_u(i, 4) < 0.93 THEN 'refunded'
                WHEN gx_u(i, 4) < 0.97 THEN 'cancelled' ELSE 'unpaid' END""",
    ]


def _columns(spec: TableSpec, values: dict[str, str]) -> str:
    """A SELECT list giving every business column of ``spec`` its generated value (else NULL), typed."""
    unknown = set(values) - set(spec.columns)
    assert not unknown, f"{spec.name} has no column {unknown}"
    parts = []
    for column, kind in spec.columns.items():
        if column in {"batch_id", "ingested_at", "row_hash"}:
            continue
        sql_type = DUCKDB_TYPES.get(kind, kind.upper())
        parts.append(f"CAST({values.get(column, 'NULL')} AS {sql_type}) AS {column}")
    return ",\n               ".join(parts)


class Loader:
    """Writes generated rows as the importer would: one batch per table, chunk and source."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.statements = 0
        self.batches = 0  # import_batches rows written (a source without rows in a chunk gets none)

    def insert(self, spec: TableSpec, kind: str, rows_sql: str, values: dict[str, str]) -> int:
        """``INSERT`` the rows of ``rows_sql`` (a query with a ``k`` source index column) shaped by ``values``.

        Returns the rows written. ``row_hash`` is the importer's digest of the business columns.
        """
        business = [c for c in spec.columns if c not in {"batch_id", "ingested_at", "row_hash"}]
        stamp = LOADED_AT + timedelta(seconds=self.statements)
        self.statements += 1
        batch_ids = [f"{stamp:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}" for _ in SOURCES]
        self.raw.execute(
            f"""
            INSERT INTO {spec.name} ({", ".join(business)}, batch_id, ingested_at, row_hash)
            SELECT {", ".join(business)}, ([$b0, $b1, $b2])[_k + 1], $now, {row_hash_sql(business)}
            FROM (SELECT k AS _k, {_columns(spec, values)} FROM ({rows_sql}))
            """,
            {"b0": batch_ids[0], "b1": batch_ids[1], "b2": batch_ids[2], "now": stamp},
        )
        counts = dict(
            self.raw.execute(
                f"SELECT batch_id, count(*) FROM {spec.name} WHERE batch_id IN ($b0, $b1, $b2) GROUP BY 1",
                {"b0": batch_ids[0], "b1": batch_ids[1], "b2": batch_ids[2]},
            ).fetchall()
        )
        for source, batch_id in zip(SOURCES, batch_ids, strict=True):
            n = int(counts.get(batch_id, 0))
            if n == 0:
                continue
            self.batches += 1
            batch = {
                "batch_id": batch_id,
                "kind": kind,
                "source": source,
                "preset": "bench-scale",
                "file_name": f"{spec.name}-{self.statements}-{source}.sql",
                "file_sha256": hashlib.sha256(batch_id.encode()).hexdigest(),
                "file_format": "sql",
                "encoding": "utf-8",
                "started_at": stamp,
                "finished_at": stamp,
                "rows_read": n,
                "rows_loaded": n,
                "rows_inserted": n,
                "rows_updated": 0,
                "rows_unchanged": 0,
                "rows_quarantined": 0,
                "warnings": 0,
                "status": "loaded",
            }
            marks = ", ".join(f"${key}" for key in batch)
            self.raw.execute(
                f"INSERT INTO {IMPORT_BATCHES.name} ({', '.join(batch)}) VALUES ({marks})", batch
            )
        return sum(int(n) for n in counts.values())


def customers_sql(lo: int, hi: int) -> tuple[str, dict[str, str]]:
    """People ``lo`` … ``hi − 1``: one row per source they are in."""
    rows = f"SELECT p, k FROM range({lo}, {hi}) t(p), range(3) s(k) WHERE gx_in(p, k)"
    phone_share = f"({list(PHONE_ON_RECORD)})[k + 1]"
    email_share = f"({list(EMAIL_ON_RECORD)})[k + 1]"
    values = {
        "source": f"({_text(SOURCES)})[k + 1]",
        "source_customer_id": "gx_record(k, p)",
        "name": "CASE WHEN k > 0 OR gx_u(p, 150) < 0.8 THEN gx_name(p) END",
        "gender": "CASE WHEN k = 2 OR gx_u(p, 151) < 0.3 THEN CASE WHEN gx_u(p, 152) < 0.55 THEN 'F' ELSE 'M' END END",
        "birthday": "CASE WHEN k = 2 AND gx_u(p, 153) < 0.6 THEN DATE '1965-01-01' + floor(gx_u(p, 154) * 14000)::INT END",
        "phone": f"CASE WHEN gx_u(p, 200 + k) < {phone_share} THEN gx_phone(p) END",
        "email": f"""CASE WHEN k = 2 AND gx_u(p, 230) < 0.002 THEN 'test@test.com'
                          WHEN gx_u(p, 210 + k) < {email_share} THEN gx_email(p) END""",
        "wechat_unionid": "CASE WHEN k = 2 AND gx_u(p, 220) < 0.4 THEN 'oU' || left(md5(p::VARCHAR), 26) END",
        "member_no": "CASE WHEN k = 2 THEN gx_record(k, p) END",
        "province": f"({_text(tuple(pr for pr, _ in PLACES))})[gx_place(p)]",
        "city": f"({_text(tuple(city for _, city in PLACES))})[gx_place(p)]",
        "registered_at": "TIMESTAMP '2019-01-01' + to_seconds(floor(gx_u(p, 240 + k) * 5 * 365 * 86400)::BIGINT)",
    }
    return rows, values


def orders_sql(lo: int, hi: int, orders: int) -> tuple[str, dict[str, str]]:
    """Orders ``lo`` … ``hi − 1`` (of ``orders``) of the person ``gx_person(i)``'s record in source ``k``.

    What several columns share (the goods' value, the buyer's mobile, name and place) is computed
    once per row in the inner queries.
    """
    rows = f"""
        SELECT *, status IN ('paid', 'shipped', 'delivered', 'refunded') AS paid,
               CASE WHEN gx_u(i, 8) < 0.3 THEN least(round(5 + gx_u(i, 9) * 20, 2), goods / 2)
                    ELSE 0 END::DECIMAL(18, 2) AS discount,
               CASE WHEN goods < 99 THEN 8 ELSE 0 END::DECIMAL(18, 2) AS shipping,
               k = 0 AND gx_u(i, 10) < {MASKED_ON_TAOBAO} AS masked
        FROM (
            SELECT i, p, gx_pick(p, gx_u(i, 2)) AS k, gx_created(i, p) AS created, gx_status(i) AS status,
                   gx_goods(i) AS goods, gx_place(p) AS place, gx_name(p) AS name,
                   CASE WHEN gx_has_phone(p) THEN gx_national(p) END AS national
            FROM (SELECT i, gx_person(i) AS p FROM range({lo}, {hi}) t(i))
        )"""
    points = max(1, int(orders * JD_ORDER_SHARE * PICKUP_SHARE / PICKUP_ORDERS))
    pickup = f"'+86147' || lpad(floor(gx_u(i, 7) * {points})::BIGINT::VARCHAR, 8, '0')"
    shipped = "status IN ('shipped', 'delivered', 'refunded')"
    values = {
        "source": f"({_text(SOURCES)})[k + 1]",
        "order_id": "(['TB', 'JD', 'POS'])[k + 1] || i",
        "source_customer_id": "gx_record(k, p)",
        "buyer_name": "name",
        "phone": f"""CASE WHEN k = 1 AND gx_u(i, 6) < {PICKUP_SHARE} THEN {pickup}
                          WHEN NOT masked THEN '+86' || national END""",
        "phone_partial": "CASE WHEN masked THEN left(national, 3) || '****' || right(national, 4) END",
        "status": "status",
        "created_at": "created",
        "paid_at": "CASE WHEN paid THEN created + to_seconds(60 + floor(gx_u(i, 11) * 1800)::BIGINT) END",
        "shipped_at": f"CASE WHEN {shipped} THEN created + INTERVAL 1 DAY END",
        "delivered_at": "CASE WHEN status IN ('delivered', 'refunded') THEN created + INTERVAL 3 DAY END",
        "total_amount": "goods + shipping",
        "paid_amount": "CASE WHEN paid THEN goods + shipping - discount END",
        "discount_amount": "discount",
        "refund_amount": "CASE WHEN status = 'refunded' AND gx_u(i, 12) < 0.5 THEN round((goods - discount) * 0.3, 2) END",
        "shipping_fee": "shipping",
        "currency": "'CNY'",
        "channel": f"CASE WHEN k = 2 THEN 'store' ELSE ({_text(CHANNELS[:3])})[1 + floor(gx_u(i, 13) * 3)::INT] END",
        "store": f"({_text(STORES)})[k + 1]",
        "province": f"({_text(tuple(pr for pr, _ in PLACES))})[place]",
        "city": f"({_text(tuple(city for _, city in PLACES))})[place]",
        "item_count": "gx_items(i)",
    }
    return rows, values


def items_sql(lo: int, hi: int) -> tuple[str, dict[str, str]]:
    """The 1–2 items of orders ``lo`` … ``hi − 1`` (the order's amounts are their sum)."""
    rows = f"""
        SELECT *, gx_price(sku) AS price, ({_text(CATEGORIES)})[1 + sku % {len(CATEGORIES)}] AS category
        FROM (SELECT i, j, gx_src(i) AS k, gx_sku(i, j) AS sku, gx_qty(i, j) AS qty
              FROM range({lo}, {hi}) t(i), range(2) s(j) WHERE j < gx_items(i))"""
    values = {
        "source": f"({_text(SOURCES)})[k + 1]",
        "order_id": "(['TB', 'JD', 'POS'])[k + 1] || i",
        "item_key": "(j + 1)::VARCHAR",
        "sku": "'SKU' || lpad(sku::VARCHAR, 5, '0')",
        "product": "category || ' 商品 ' || sku",
        "category": "category",
        "brand": "'品牌' || (sku // 8) % 40",
        "quantity": "qty",
        "price": "price",
        "amount": "price * qty",
    }
    return rows, values


def events_sql(lo: int, hi: int) -> tuple[str, dict[str, str]]:
    """Events ``lo`` … ``hi − 1`` in the last four months, by the same skewed people."""
    rows = f"""
        SELECT e, p, gx_pick(p, gx_u(e, 52)) AS k
        FROM (SELECT e, gx_skewed(gx_u(e, 51)) AS p FROM range({lo}, {hi}) t(e))"""
    values = {
        "source": f"({_text(SOURCES)})[k + 1]",
        "event_id": "'E' || e",
        "source_customer_id": "gx_record(k, p)",
        "type": "'track'",
        "event": "(['view', 'click', 'login', 'share', 'review', 'open'])[1 + floor(gx_u(e, 53) * 6)::INT]",
        "occurred_at": "TIMESTAMP '2024-09-01' + to_seconds(floor(gx_u(e, 54) * 121 * 86400)::BIGINT)",
        "channel": f"({_text(CHANNELS[:3])})[1 + floor(gx_u(e, 55) * 3)::INT]",
    }
    return rows, values


def tickets_sql(lo: int, hi: int, orders: int) -> tuple[str, dict[str, str]]:
    """Tickets ``lo`` … ``hi − 1``, each about a random order and raised by its buyer's record."""
    rows = f"""
        SELECT t, j, p, gx_pick(p, gx_u(j, 2)) AS k, gx_created(j, p) AS ordered
        FROM (SELECT t, j, gx_person(j) AS p
              FROM (SELECT t, floor(gx_u(t, 60) * {orders})::BIGINT AS j FROM range({lo}, {hi}) s(t)))"""
    created = "least(ordered + to_seconds(86400 + floor(gx_u(t, 61) * 9 * 86400)::BIGINT), TIMESTAMP '2024-12-31 19:00:00')"
    values = {
        "source": f"({_text(SOURCES)})[k + 1]",
        "ticket_id": "'T' || t",
        "source_customer_id": "gx_record(k, p)",
        "phone": "CASE WHEN gx_u(t, 62) < 0.5 THEN gx_phone(p) END",
        "order_id": "(['TB', 'JD', 'POS'])[k + 1] || j",
        "kind": """CASE WHEN gx_u(t, 63) < 0.45 THEN 'inquiry' WHEN gx_u(t, 63) < 0.60 THEN 'complaint'
                        WHEN gx_u(t, 63) < 0.85 THEN 'return' ELSE 'praise' END""",
        "channel": "(['phone', 'online', 'wechat'])[1 + floor(gx_u(t, 64) * 3)::INT]",
        "status": "'closed'",
        "satisfaction": "CASE WHEN gx_u(t, 65) < 0.7 THEN 1 + floor(pow(gx_u(t, 66), 0.5) * 5)::BIGINT END",
        "created_at": created,
        "resolved_at": f"{created} + to_seconds(600 + floor(gx_u(t, 67) * 86400)::BIGINT)",
    }
    return rows, values


def _chunks(total: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + size, total)) for lo in range(0, total, size)]


def stage_generate(folder: Path, orders: int, chunk: int) -> dict[str, Any]:
    from guanxi.warehouse import connect, raw_duckdb

    settings = _settings(folder)
    con = connect(settings)  # creates the canonical raw tables (guanxi.tables) when missing
    raw = raw_duckdb(con)
    people = max(orders // 8, 10)
    try:
        for spec in (RAW_CUSTOMERS, RAW_ORDERS, RAW_ORDER_ITEMS, RAW_EVENTS, RAW_TICKETS, IMPORT_BATCHES):
            raw.execute(f"DELETE FROM {spec.name}")
        for statement in _macros(people):
            raw.execute(statement)
        loader = Loader(raw)
        # kind, table, then the rows of each order chunk [lo, hi): events lo/2 … hi/2, tickets lo/200 …
        plan: list[tuple[str, TableSpec, Callable[[int, int], tuple[str, dict[str, str]]]]] = [
            ("orders", RAW_ORDERS, lambda lo, hi: orders_sql(lo, hi, orders)),
            ("order-items", RAW_ORDER_ITEMS, items_sql),
            ("events", RAW_EVENTS, lambda lo, hi: events_sql(lo // 2, hi // 2)),
            ("tickets", RAW_TICKETS, lambda lo, hi: tickets_sql(lo // 200, hi // 200, orders)),
        ]
        started = time.perf_counter()
        rows = {
            RAW_CUSTOMERS.name: sum(
                loader.insert(RAW_CUSTOMERS, "customers", *customers_sql(lo, hi))
                for lo, hi in _chunks(people, chunk)
            )
        }
        seconds = {RAW_CUSTOMERS.name: round(time.perf_counter() - started, 3)}
        for kind, spec, build in plan:
            started = time.perf_counter()
            rows[spec.name] = sum(
                loader.insert(spec, kind, *build(lo, hi)) for lo, hi in _chunks(orders, chunk)
            )
            seconds[spec.name] = round(time.perf_counter() - started, 3)
        raw.execute("CHECKPOINT")
        multi = raw.execute(
            f"SELECT count(*) FROM range({people}) t(p) WHERE gx_in(p, 0)::INT + gx_in(p, 1)::INT + gx_in(p, 2)::INT > 1"
        ).fetchone()[0]
    finally:
        con.disconnect()
    return {
        "people": people,
        "people_in_several_sources": int(multi),
        "rows": rows,
        "batches": loader.batches,
        "table_seconds": seconds,
    }


def stage_resolve(folder: Path, orders: int, chunk: int) -> dict[str, Any]:
    from guanxi.identity import resolve
    from guanxi.warehouse import connect

    settings = _settings(folder)
    con = connect(settings)
    try:
        report = resolve(con, settings, now=RESOLVED_AT)
    finally:
        con.disconnect()
    return {
        "records": report.records,
        "customers": report.customers,
        "identifiers": report.identifiers,
        "flagged_identifiers": report.flagged_identifiers,
        "edges": report.edges,
        "iterations": report.iterations,
        "resolve_seconds": round(report.seconds, 3),
        "step_seconds": report.step_seconds,
    }


def stage_models(folder: Path, orders: int, chunk: int) -> dict[str, Any]:
    from guanxi.models import ModelsConfig, run_models
    from guanxi.warehouse import connect

    settings = _settings(folder)
    con = connect(settings)
    try:
        report = run_models(con, settings, as_of=AS_OF, config=ModelsConfig())
        raw_orders = int(con.table(RAW_ORDERS.name).count().execute())
        raw_items = int(con.table(RAW_ORDER_ITEMS.name).count().execute())
    finally:
        con.disconnect()
    slowest = sorted(report.timings.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    return {
        "customers": report.customers,
        "buyers": report.buyers,
        "orders": raw_orders,
        "items": raw_items,
        "models_seconds": round(report.seconds, 3),
        "slowest_steps": [[name, round(sec, 3)] for name, sec in slowest],
        "warnings": list(report.warnings),
    }


def stage_segments(folder: Path, orders: int, chunk: int) -> dict[str, Any]:
    from guanxi import segments
    from guanxi.appdb.bootstrap import initialise
    from guanxi.appdb.database import make_engine, session_factory
    from guanxi.segments.examples import example, example_files
    from guanxi.warehouse import connect

    settings = _settings(folder)
    engine = make_engine(settings)
    con = connect(settings)
    try:
        started = time.perf_counter()
        initialise(settings, now=datetime.now(UTC), engine=engine)  # migrations, as `guanxi init`
        init_seconds = time.perf_counter() - started
        with session_factory(engine)() as session, session.begin():  # `guanxi segments examples --install`
            existing = {row.key for row in segments.list_segments(session, include_archived=True)}
            for path in example_files():
                if path.stem not in existing:
                    segments.create_segment(
                        session, path.stem, example(path.stem), actor="bench", now=datetime.now(UTC)
                    )
        started = time.perf_counter()
        with session_factory(engine)() as session, session.begin():  # `guanxi segments refresh`
            results = segments.refresh(con, session, None, as_of=AS_OF, now=datetime.now(UTC))
        refresh_seconds = time.perf_counter() - started
    finally:
        con.disconnect()
        engine.dispose()
    return {
        "segments": {r.key: r.members for r in results},
        "init_seconds": round(init_seconds, 3),
        "refresh_seconds": round(refresh_seconds, 3),
    }


RUNNERS = {
    "generate": stage_generate,
    "resolve": stage_resolve,
    "models": stage_models,
    "segments": stage_segments,
}


def _stage(stage: str, orders: int, chunk: int, work: Path) -> dict[str, Any]:
    """One stage in its own process: its JSON result with ``seconds``, ``peak_rss_mib`` and the file size."""
    out = work / f"{stage}.json"
    argv = [sys.executable, __file__, "--stage", stage, "--orders", str(orders), "--chunk", str(chunk)]
    child = run_measured([*argv, "--dir", str(work), "--json", str(out)], json_path=out, quiet=True)
    size = (work / "warehouse.duckdb").stat().st_size / 2**20
    return {
        "stage": stage,
        "seconds": child.seconds,
        "peak_rss_mib": child.peak_rss_mib,
        "warehouse_mib": round(size, 1),
        **child.result,
    }


def measure(orders: float, folder: Path | None = None, chunk: int = CHUNK) -> dict[str, Any]:
    """Run every stage at ``orders`` in its own process; stop at the first stage that fails."""
    n = int(orders)
    with tempfile.TemporaryDirectory(prefix="guanxi-bench-scale-") as tmp:
        work = folder or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for leftover in ("warehouse.duckdb", "warehouse.duckdb.wal", "app.sqlite"):
            (work / leftover).unlink(missing_ok=True)
        return _measure(n, chunk, work)


def _measure(orders: int, chunk: int, work: Path) -> dict[str, Any]:
    run = run_stages("scale", STAGES, lambda stage: _stage(stage, orders, chunk, work))
    stages, warnings, failed = run.done, run.warnings, run.failed
    by_stage = {s["stage"]: s for s in stages}
    result_figures = [
        figures.value(
            f"scale: {s['stage']}",
            value=f"{s['seconds']:.1f} s",
            guanxi_seconds=s["seconds"],
            guanxi_peak_rss_mib=s["peak_rss_mib"],
            note=f"warehouse file {s['warehouse_mib']:,.0f} MiB after it",
        )
        for s in stages
    ]
    if "resolve" in by_stage:
        resolved = by_stage["resolve"]
        result_figures.append(
            figures.value(
                "scale: records → customers",
                value=f"{resolved['records']:,} → {resolved['customers']:,}",
                note=f"{by_stage['generate']['people']:,} people generated, "
                f"{by_stage['generate']['people_in_several_sources']:,} in several sources",
            )
        )
    if "models" in by_stage:
        modelled = by_stage["models"]
        result_figures.append(
            figures.value(
                "scale: orders, items",
                value=f"{modelled['orders']:,} orders, {modelled['items']:,} items",
                note=f"{modelled['buyers']:,} buyers scored",
            )
        )
    peak = max((s["peak_rss_mib"] for s in stages), default=0.0)
    total = sum(s["seconds"] for s in stages)
    done = failed is None
    result_figures.append(
        figures.value(
            f"peak RSS ≤ {GOAL_RSS_GIB} GiB at {orders:,} orders (no stage ran out of memory)",
            value=f"{peak / 1024:.2f} GiB, {total:.1f} s in all" if done else "failed",
            goal=f"every stage finishes, peak RSS ≤ {GOAL_RSS_GIB} GiB; "
            f"the product goal is judged at {GOAL_ORDERS:,} orders",
            met=done and peak <= GOAL_RSS_GIB * 1024,
            guanxi_seconds=total if done else None,
            guanxi_peak_rss_mib=peak,
            note=failed,
        )
    )
    return {
        "benchmark": "scale",
        "sizes": {"orders": orders, "chunk": chunk},
        "figures": result_figures,
        "details": {"stages": stages},
        "warnings": warnings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=float, default=1e5)
    parser.add_argument("--chunk", type=int, default=CHUNK, help="rows per INSERT (default 5,000,000)")
    parser.add_argument(
        "--dir", type=Path, default=None, help="work folder (its warehouse is replaced; default: temp)"
    )
    parser.add_argument("--stage", choices=STAGES, default=None, help="run one stage in this process")
    parser.add_argument("--json", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args()
    if args.stage:
        if args.dir is None:
            parser.error("--stage needs --dir")
        started = time.perf_counter()
        result = RUNNERS[args.stage](args.dir, int(args.orders), args.chunk)
        result["stage_seconds"] = round(time.perf_counter() - started, 3)
    else:
        result = measure(args.orders, args.dir, args.chunk)
        for stage in result["details"]["stages"]:
            print(
                f"{stage['stage']:<10} {stage['seconds']:9.1f} s  peak RSS {stage['peak_rss_mib']:9,.0f} MiB  "
                f"warehouse {stage['warehouse_mib']:8,.0f} MiB"
            )
        for fig in result["figures"]:
            print(f"{fig['figure']:<40} {fig['value']}" + (f"  ({fig['note']})" if fig.get("note") else ""))
        for warning in result["warnings"]:
            print(f"warning: {warning}")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
