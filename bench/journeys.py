"""Benchmark: a daily pass of the built-in journey triggers against hand-written DuckDB SQL.

Generates ``--customers`` customers (with birthdays) and ``--orders`` orders over the two years
before the pass day, one ``identity_map`` record per customer, straight into a DuckDB file with
vectorised SQL (every value a hash of the row number: the same data at every run). Then, in the same
process on the same file, for the window 1 March 2026 00:00 … 2 March 00:00 (Asia/Shanghai):

* **guanxi** — ``TriggerKind.entries(…)`` of ``order_unpaid`` (15 minutes), ``order_paid``,
  ``order_delivered`` (``after_days: 7``), ``birthday``, ``first_order_anniversary``,
  ``after_first_order`` (``days: 30``) and ``holiday`` (妇女节, 7 days before), each executed to Arrow;
* **baseline** — one hand-written DuckDB query per trigger giving the same rows, executed to Arrow.

Each figure is the best of ``--repeat`` runs; row counts must be equal (a fast wrong answer cannot
pass). Printed: per-trigger seconds, rows, ratio guanxi/baseline, and the total against the goal
(a daily pass under 30 s at 1M customers / 10M orders on the 2-core reference machine).

    .venv/bin/python bench/journeys.py [--customers 1e6] [--orders 1e7] [--repeat 2] [--dir DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from guanxi.config import Settings, get_settings
from guanxi.marketing.journeys.trigger_kinds import builtin_triggers
from guanxi.tables import RAW_ORDERS
from guanxi.warehouse import connect, ensure_tables, raw_duckdb

DAY = date(2026, 3, 1)
ZONE = ZoneInfo("Asia/Shanghai")
GOAL_SECONDS = 30.0
SINCE = datetime(2026, 3, 1, tzinfo=ZONE)
UNTIL = SINCE + timedelta(days=1)

PAID = "('paid', 'shipped', 'delivered', 'refunded')"
AMOUNT = "coalesce(paid_amount, total_amount - coalesce(discount_amount, 0), 0)"
REFUND = (
    f"greatest(CASE WHEN status = 'refunded' AND refund_amount IS NULL THEN {AMOUNT} "
    f"ELSE least(coalesce(refund_amount, 0), {AMOUNT}) END, 0)"
)
PURCHASE = f"paid_at IS NOT NULL AND status IN {PAID} AND {AMOUNT} - {REFUND} > 0"
FIRST = f"""
    SELECT m.customer_id, min(o.paid_at) AS first_paid_at
    FROM raw_orders o JOIN identity_map m USING (source, source_customer_id)
    WHERE {PURCHASE} AND o.paid_at < TIMESTAMP '2026-03-02 00:00:00'
    GROUP BY m.customer_id"""
KEY = "o.source || ':' || o.order_id"
JOIN = "FROM raw_orders o JOIN identity_map m USING (source, source_customer_id)"

PASS: list[tuple[str, dict[str, Any], str]] = [
    (
        "order_unpaid",
        {"minutes": 15},
        f"""SELECT m.customer_id::VARCHAR, {KEY}, o.created_at + INTERVAL 15 MINUTE {JOIN}
            WHERE o.created_at >= TIMESTAMP '2026-02-28 23:45:00' AND o.created_at < TIMESTAMP '2026-03-01 23:45:00'
              AND o.status IN ('created', 'unpaid')""",
    ),
    (
        "order_paid",
        {},
        f"""SELECT m.customer_id::VARCHAR, {KEY}, o.paid_at {JOIN}
            WHERE o.paid_at >= TIMESTAMP '2026-03-01' AND o.paid_at < TIMESTAMP '2026-03-02'
              AND o.status IN {PAID}""",
    ),
    (
        "order_delivered",
        {"after_days": 7},
        f"""SELECT m.customer_id::VARCHAR, {KEY}, o.delivered_at + INTERVAL 7 DAY {JOIN}
            WHERE o.delivered_at >= TIMESTAMP '2026-02-22' AND o.delivered_at < TIMESTAMP '2026-02-23'""",
    ),
    (
        "birthday",
        {},
        """SELECT customer_id::VARCHAR, '2026', TIMESTAMP '2026-03-01 10:00' FROM customers
           WHERE month(birthday) = 3 AND day(birthday) = 1""",
    ),
    (
        "first_order_anniversary",
        {},
        f"""SELECT customer_id::VARCHAR, year(DATE '2026-03-01')::VARCHAR, TIMESTAMP '2026-03-01 10:00'
            FROM ({FIRST}) WHERE month(first_paid_at) = 3 AND day(first_paid_at) = 1 AND year(first_paid_at) < 2026""",
    ),
    (
        "after_first_order",
        {"days": 30},
        f"""SELECT customer_id::VARCHAR, 'first', TIMESTAMP '2026-03-01 10:00'
            FROM ({FIRST}) WHERE first_paid_at::DATE = DATE '2026-01-30'""",
    ),
    (
        "holiday",
        {"holiday": "妇女节", "days_before": 7},
        "SELECT customer_id::VARCHAR, '妇女节:2026', TIMESTAMP '2026-03-01 10:00' FROM customers",
    ),
]


def generate(raw: Any, customers: int, orders: int) -> None:
    """Customers with birthdays, their identity records and ``orders`` orders (replacing any)."""
    raw.execute(
        f"""
        CREATE OR REPLACE TABLE customers AS
        SELECT i::BIGINT AS customer_id,
               CASE WHEN hash(i, 'b') % 10 < 8
                    THEN DATE '1960-01-01' + (hash(i, 'd') % 16000)::INT END AS birthday
        FROM range(1, {customers} + 1) t(i)
        """
    )
    raw.execute(
        f"""
        CREATE OR REPLACE TABLE identity_map AS
        SELECT 'shop' AS source, 'c' || i AS source_customer_id, i::BIGINT AS customer_id,
               TIMESTAMP '2026-01-01' AS resolved_at
        FROM range(1, {customers} + 1) t(i)
        """
    )
    raw.execute("DELETE FROM raw_orders")
    raw.execute(
        f"""
        INSERT INTO raw_orders (source, order_id, source_customer_id, status, created_at, paid_at, shipped_at,
                                delivered_at, total_amount, paid_amount, refund_amount, currency, ingested_at)
        SELECT 'shop', 'o' || i, 'c' || (1 + hash(i, 'c') % {customers}), status, created_at,
               CASE WHEN status IN {PAID} THEN created_at + INTERVAL 2 MINUTE END,
               CASE WHEN status IN ('shipped', 'delivered', 'refunded') THEN created_at + INTERVAL 1 DAY END,
               CASE WHEN status IN ('delivered', 'refunded') THEN created_at + INTERVAL 3 DAY END,
               amount, CASE WHEN status IN {PAID} THEN amount END,
               CASE WHEN status = 'refunded' THEN amount END, 'CNY', created_at + INTERVAL 5 MINUTE
        FROM (
            SELECT i,
                   TIMESTAMP '2026-03-02' - to_seconds((hash(i, 't') % (730 * 86400))::BIGINT) AS created_at,
                   CASE WHEN u < 75 THEN 'delivered' WHEN u < 82 THEN 'shipped' WHEN u < 86 THEN 'paid'
                        WHEN u < 90 THEN 'refunded' WHEN u < 95 THEN 'cancelled' WHEN u < 98 THEN 'unpaid'
                        ELSE 'created' END AS status,
                   (10 + (hash(i, 'a') % 200000) / 100.0)::DECIMAL(18, 2) AS amount
            FROM (SELECT i, hash(i, 's') % 100 AS u FROM range({orders}) t(i))
        )
        """
    )
    raw.execute("CHECKPOINT")


def _best(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def measure(con: Any, settings: Settings, repeat: int) -> list[dict[str, Any]]:
    """Each trigger of the pass: guanxi and baseline seconds, row counts, ratio."""
    kinds = {kind.kind: kind for kind in builtin_triggers()}
    raw = raw_duckdb(con)
    figures = []
    for name, params, sql in PASS:
        kind = kinds[name]

        def ours(kind: Any = kind, params: dict[str, Any] = params) -> Any:
            return kind.entries(con, since=SINCE, until=UNTIL, params=params, settings=settings).to_pyarrow()

        def theirs(sql: str = sql) -> Any:
            return raw.execute(f"SELECT DISTINCT * FROM ({sql})").to_arrow_table()

        guanxi_s, found = _best(ours, repeat)
        baseline_s, expected = _best(theirs, repeat)
        figures.append(
            {
                "trigger": name,
                "params": params,
                "guanxi_s": round(guanxi_s, 4),
                "baseline_s": round(baseline_s, 4),
                "ratio": round(guanxi_s / baseline_s, 2) if baseline_s else None,
                "rows": found.num_rows,
                "baseline_rows": expected.num_rows,
                "same_rows": found.num_rows == expected.num_rows,
            }
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=float, default=1e6, help="customers (default 1e6)")
    parser.add_argument("--orders", type=float, default=1e7, help="orders (default 1e7)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each query; the best counts")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--json", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args()
    customers, orders = int(args.customers), int(args.orders)
    with tempfile.TemporaryDirectory(prefix="guanxi-bench-journeys-") as scratch:
        folder = args.dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        settings = get_settings(
            env="test",
            data_dir=folder,
            warehouse_url=f"duckdb://{folder / 'warehouse.duckdb'}",
            timezone="Asia/Shanghai",
            progress=False,
        )
        con = connect(settings)
        ensure_tables(con, (RAW_ORDERS,))
        print(f"guanxi journeys benchmark: {customers:,} customers, {orders:,} orders, pass day {DAY}")
        started = time.perf_counter()
        generate(raw_duckdb(con), customers, orders)
        generate_s = time.perf_counter() - started
        print(f"generate: {generate_s:.1f} s")
        figures = measure(con, settings, max(args.repeat, 1))
        con.disconnect()
    total = sum(f["guanxi_s"] for f in figures)
    baseline_total = sum(f["baseline_s"] for f in figures)
    print(f"{'trigger':<26}{'rows':>10}{'guanxi s':>10}{'SQL s':>10}{'ratio':>8}  same rows")
    for f in figures:
        print(
            f"{f['trigger']:<26}{f['rows']:>10,}{f['guanxi_s']:>10.3f}{f['baseline_s']:>10.3f}"
            f"{f['ratio'] or 0:>8.2f}  {'yes' if f['same_rows'] else 'NO'}"
        )
    met = total < GOAL_SECONDS and all(f["same_rows"] for f in figures)
    print(
        f"daily pass: {total:.2f} s (hand-written SQL {baseline_total:.2f} s, ratio "
        f"{total / baseline_total if baseline_total else 0:.2f}); goal < {GOAL_SECONDS:.0f} s: "
        f"{'met' if met else 'NOT met'}"
    )
    result = {
        "sizes": {"customers": customers, "orders": orders},
        "pass_day": DAY.isoformat(),
        "generate_s": round(generate_s, 2),
        "triggers": figures,
        "total_s": round(total, 3),
        "baseline_total_s": round(baseline_total, 3),
        "goal_s": GOAL_SECONDS,
        "goal_met": met,
    }
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
