"""A tiny hand-built warehouse that every segment test reads.

Six customers, as of 2024-12-31 (``AS_OF``)::

    id  province city  gender birthday    phone            email   latest scores (run 20241231-a)
    1   广东     深圳  F      1990-06-15  +8613800000001   -       Champions   clv 800  maturity 重要价值客户
    2   广东     广州  M      1985-12-31  -                a@b.cn  Loyal       clv 450  decline  重要挽留客户
    3   浙江     杭州  F      2000-01-01  "  " (blank)     ""      At Risk     clv 600  decline  重要挽留客户
    4   北京     -     -      -           -                -       Hibernating clv -    churned
    5   上海     上海  F      1995-03-01  -                -       Champions   clv 500  growth
    6   广东     深圳  F      -           -                -       (not scored)

An older run (2024-11-30) makes customer 6 a Champion with clv 900, and a later
run (2025-01-31) makes everybody Champions: neither is the latest run as of
2024-12-31.

Tags: 1 preference.category 母婴 (0.6) and 美妆 (0.4); 2 preference.category 美妆
(1.0); 3 credit.restriction no_cash_coupon; 5 preference.brand Nike.

Orders (paid at noon unless said): 1: o1 2024-12-20 100 (母婴), o2 2024-10-01
200 (美妆), o3 2024-06-01 300; 2: o4 2024-09-15 450, o8 2025-01-05 80;
3: o5 2024-11-16 600; 4: o6 2024-06-14 50; 5: o7 2024-12-31 23:00 500,
o9 2024-12-01 120 fully refunded; 6: o10 2024-12-10 cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from guanxi.models.declared import customer_scores_spec
from guanxi.models.outputs import CUSTOMER_TAGS
from guanxi.tables import CUSTOMERS, IDENTITY_MAP, RAW_ORDER_ITEMS, RAW_ORDERS, TableSpec

AS_OF = date(2024, 12, 31)
SOURCE = "shop"


def insert(con: BaseBackend, spec: TableSpec, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (missing columns null) into ``spec``, creating the table when needed."""
    full = []
    for row in rows:
        unknown = set(row) - set(spec.columns)
        assert not unknown, f"{spec.name} has no columns {unknown}"
        full.append({name: row.get(name) for name in spec.columns})
    if spec.name not in con.list_tables():
        con.create_table(spec.name, schema=spec.schema)
    if full:
        con.insert(spec.name, ibis.memtable(pa.Table.from_pylist(full, schema=spec.schema.to_pyarrow())))


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _order(
    order_id: str,
    customer_id: int,
    paid_at: datetime,
    amount: float,
    *,
    status: str = "paid",
    refund: float | None = None,
) -> dict[str, Any]:
    return {
        "source": SOURCE,
        "order_id": order_id,
        "source_customer_id": f"c{customer_id}",
        "status": status,
        "created_at": paid_at,
        "paid_at": None if status == "cancelled" else paid_at,
        "total_amount": _money(amount),
        "paid_amount": None if status == "cancelled" else _money(amount),
        "refund_amount": None if refund is None else _money(refund),
    }


def _noon(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12)


CUSTOMER_ROWS = [
    {
        "customer_id": 1,
        "province": "广东",
        "city": "深圳",
        "gender": "F",
        "birthday": date(1990, 6, 15),
        "phone": "+8613800000001",
        "name": "一",
    },
    {
        "customer_id": 2,
        "province": "广东",
        "city": "广州",
        "gender": "M",
        "birthday": date(1985, 12, 31),
        "email": "a@b.cn",
        "name": "二",
    },
    {
        "customer_id": 3,
        "province": "浙江",
        "city": "杭州",
        "gender": "F",
        "birthday": date(2000, 1, 1),
        "phone": "  ",
        "email": "",
        "name": "三",
    },
    {"customer_id": 4, "province": "北京", "name": "四"},
    {
        "customer_id": 5,
        "province": "上海",
        "city": "上海",
        "gender": "F",
        "birthday": date(1995, 3, 1),
        "name": "五",
    },
    {"customer_id": 6, "province": "广东", "city": "深圳", "gender": "F", "name": "六"},
]


def _score(run_id: str, as_of: date, customer_id: int, **values: Any) -> dict[str, Any]:
    clv = values.pop("clv", None)
    return {
        "customer_id": customer_id,
        "run_id": run_id,
        "as_of": as_of,
        "clv": None if clv is None else _money(clv),
        **values,
    }


LATEST = ("20241231-a", AS_OF)
SCORE_ROWS = [
    _score(
        *LATEST,
        1,
        rfm_segment="Champions",
        clv=800,
        lifecycle_stage="maturity",
        rfm_class="重要价值客户",
        purchases=3,
        pareto_top=True,
    ),
    _score(
        *LATEST,
        2,
        rfm_segment="Loyal",
        clv=450,
        lifecycle_stage="decline",
        rfm_class="重要挽留客户",
        purchases=1,
        pareto_top=False,
    ),
    _score(
        *LATEST,
        3,
        rfm_segment="At Risk",
        clv=600,
        lifecycle_stage="decline",
        rfm_class="重要挽留客户",
        purchases=1,
        days_since_last_purchase=45,
    ),
    _score(
        *LATEST,
        4,
        rfm_segment="Hibernating",
        lifecycle_stage="churned",
        purchases=1,
        days_since_last_purchase=200,
    ),
    _score(*LATEST, 5, rfm_segment="Champions", clv=500, lifecycle_stage="growth", purchases=1),
    _score("20241130-a", date(2024, 11, 30), 6, rfm_segment="Champions", clv=900),
    *(_score("20250131-a", date(2025, 1, 31), i, rfm_segment="Champions", clv=1000) for i in range(1, 7)),
]

TAG_ROWS = [
    {"customer_id": 1, "model": "preference", "tag": "category", "value": "母婴", "weight": 0.6},
    {"customer_id": 1, "model": "preference", "tag": "category", "value": "美妆", "weight": 0.4},
    {"customer_id": 2, "model": "preference", "tag": "category", "value": "美妆", "weight": 1.0},
    {"customer_id": 3, "model": "credit", "tag": "restriction", "value": "no_cash_coupon", "weight": 0.5},
    {"customer_id": 5, "model": "preference", "tag": "brand", "value": "Nike", "weight": 1.0},
]

ORDER_ROWS = [
    _order("o1", 1, _noon(2024, 12, 20), 100),
    _order("o2", 1, _noon(2024, 10, 1), 200),
    _order("o3", 1, _noon(2024, 6, 1), 300),
    _order("o4", 2, _noon(2024, 9, 15), 450),
    _order("o8", 2, _noon(2025, 1, 5), 80),
    _order("o5", 3, _noon(2024, 11, 16), 600),
    _order("o6", 4, _noon(2024, 6, 14), 50),
    _order("o7", 5, datetime(2024, 12, 31, 23, 0), 500),
    _order("o9", 5, _noon(2024, 12, 1), 120, status="refunded", refund=120),
    _order("o10", 6, _noon(2024, 12, 10), 70, status="cancelled"),
]

ITEM_ROWS = [
    {
        "source": SOURCE,
        "order_id": "o1",
        "item_key": "1",
        "category": "母婴",
        "quantity": 1,
        "price": _money(100),
        "amount": _money(100),
    },
    {
        "source": SOURCE,
        "order_id": "o2",
        "item_key": "1",
        "category": "美妆",
        "quantity": 2,
        "price": _money(100),
        "amount": _money(200),
    },
]


def build(con: BaseBackend) -> None:
    """Put the whole scenario into ``con``."""
    insert(con, CUSTOMERS, CUSTOMER_ROWS)
    insert(
        con,
        IDENTITY_MAP,
        [
            {
                "source": SOURCE,
                "source_customer_id": f"c{row['customer_id']}",
                "customer_id": row["customer_id"],
            }
            for row in CUSTOMER_ROWS
        ],
    )
    insert(con, customer_scores_spec(), SCORE_ROWS)
    insert(con, CUSTOMER_TAGS, [{**row, "run_id": LATEST[0], "as_of": AS_OF} for row in TAG_ROWS])
    insert(con, RAW_ORDERS, ORDER_ROWS)
    insert(con, RAW_ORDER_ITEMS, ITEM_ROWS)
