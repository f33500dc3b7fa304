"""Benchmark: the whole model run and RFM alone against a hand-written DuckDB query and pandas.

Generates ``--orders`` orders (with items, events and tickets) straight into a
DuckDB file with vectorised SQL (``range()`` + ``random()``), then measures in the
same process, on the same file:

* ``sql_rfm``    — one hand-written DuckDB query computing the RFM table
  (same definitions: paid orders, refunds netted, 365-day window, quintiles with
  the min-rank tie rule, named segments, 8 classes), materialised;
* ``ibis_rfm``   — :func:`guanxi.models.rfm.rfm_scores` from the raw tables,
  materialised the same way;
* ``pandas_rfm`` — the same RFM in pandas on a DataFrame already in memory
  (load time printed separately);
* ``run_models`` — every model, written to the output tables.

Goals: ``run_models`` within 3× ``sql_rfm``; ``ibis_rfm`` within 1.5×. The Ibis and SQL
tables are compared row by row, so a fast wrong answer cannot pass.

    .venv/bin/python bench/models.py --orders 1000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from guanxi.config import get_settings
from guanxi.models import inputs
from guanxi.models.config import ModelsConfig
from guanxi.models.outputs import OUTPUT_TABLES
from guanxi.models.rfm import CLASSES, rfm_scores
from guanxi.models.run import run_models
from guanxi.warehouse import connect, raw_duckdb

AS_OF = date(2024, 12, 31)
CATEGORIES = ["母婴", "数码", "美妆", "服饰", "食品", "家居", "运动", "图书"]
PROVINCES = ["广东", "浙江", "江苏", "北京", "上海", "四川", "山东", "湖北"]
CHANNELS = ["app", "web", "mini_program", "store"]


def _list(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def generate(con: Any, orders: int, customers: int) -> None:
    """Fill customers, identity_map and the raw tables with reproducible random data (replacing any)."""
    for table in ("raw_orders", "raw_order_items", "raw_events", "raw_tickets"):
        con.execute(f"DELETE FROM {table}")
    con.execute("SELECT setseed(0.42)")
    con.execute(
        f"""
        CREATE OR REPLACE TABLE customers AS
        SELECT i::BIGINT AS customer_id, NULL::VARCHAR AS name, NULL::VARCHAR AS gender, NULL::DATE AS birthday,
               NULL::VARCHAR AS phone, NULL::VARCHAR AS email, NULL::VARCHAR AS wechat_unionid,
               NULL::VARCHAR AS company, NULL::VARCHAR AS title,
               ({_list(PROVINCES)})[1 + (i * 7919) % {len(PROVINCES)}] AS province,
               NULL::VARCHAR AS city, NULL::VARCHAR AS district, NULL::VARCHAR AS address,
               'shop' AS sources, 1::BIGINT AS record_count, NULL::TIMESTAMP AS first_seen_at,
               NULL::TIMESTAMP AS last_seen_at, NULL::TIMESTAMP AS updated_at
        FROM range(1, {customers} + 1) t(i)
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE identity_map AS
        SELECT 'shop' AS source, 'c' || i AS source_customer_id, i::BIGINT AS customer_id,
               TIMESTAMP '2025-01-01' AS resolved_at
        FROM range(1, {customers} + 1) t(i)
        """
    )
    # Customer ids skewed towards small ids (a few heavy buyers). Each customer is active from a start
    # date for a span of days (then drops out), so purchases follow a buy-till-you-die pattern.
    con.execute(
        f"""
        INSERT INTO raw_orders (source, order_id, source_customer_id, status, created_at, paid_at, delivered_at,
                                total_amount, paid_amount, discount_amount, refund_amount, currency, channel)
        SELECT 'shop', 'o' || i, 'c' || customer, status, created_at,
               CASE WHEN status IN ('paid', 'shipped', 'delivered', 'refunded') THEN created_at + INTERVAL 2 MINUTE END,
               CASE WHEN status IN ('delivered', 'refunded') THEN created_at + INTERVAL 3 DAY END,
               (amount + discount)::DECIMAL(18, 2),
               CASE WHEN status IN ('paid', 'shipped', 'delivered', 'refunded') THEN amount END,
               discount,
               CASE WHEN status = 'refunded' AND u_refund < 0.5 THEN round(amount * 0.3, 2)::DECIMAL(18, 2) END,
               'CNY', ({_list(CHANNELS)})[1 + floor(u_channel * {len(CHANNELS)})::INT]
        FROM (
            SELECT i, customer,
                   TIMESTAMP '2023-01-01'
                       + to_seconds(((customer * 7919) % 600) * 86400
                                    + floor(u_day * (30 + (customer * 104729) % 700) * 86400)::BIGINT)
                       AS created_at,
                   CASE WHEN u < 0.80 THEN 'delivered' WHEN u < 0.85 THEN 'shipped' WHEN u < 0.88 THEN 'paid'
                        WHEN u < 0.93 THEN 'refunded' WHEN u < 0.97 THEN 'cancelled' ELSE 'unpaid' END AS status,
                   round(20 + pow(random(), 3) * 2000, 2)::DECIMAL(18, 2) AS amount,
                   CASE WHEN random() < 0.3 THEN round(5 + random() * 20, 2) ELSE 0 END::DECIMAL(18, 2) AS discount,
                   random() AS u_refund, random() AS u_channel
            FROM (
                SELECT i, random() AS u, random() AS u_day,
                       1 + floor(pow(random(), 1.6) * {customers})::BIGINT AS customer
                FROM range({orders}) t(i)
            )
        )
        """
    )
    con.execute(
        f"""
        INSERT INTO raw_order_items (source, order_id, item_key, category, brand, quantity, price, amount)
        SELECT 'shop', 'o' || i, k::VARCHAR, ({_list(CATEGORIES)})[1 + (i * 31 + k * 7) % {len(CATEGORIES)}],
               'brand' || ((i * 13 + k) % 20), q, p, (p * q)::DECIMAL(18, 2)
        FROM (
            SELECT i, k, 1 + floor(random() * 3)::BIGINT AS q, round(10 + random() * 300, 2)::DECIMAL(18, 2) AS p
            FROM range({orders}) t(i), range(1 + (i % 2)::BIGINT) s(k)
        )
        """
    )
    con.execute(
        f"""
        INSERT INTO raw_events (source, event_id, source_customer_id, type, event, occurred_at)
        SELECT 'shop', 'e' || i, 'c' || (1 + floor(random() * {customers})::BIGINT), 'track',
               (['view', 'click', 'review', 'share'])[1 + floor(random() * 4)::INT],
               TIMESTAMP '2024-11-01' + to_seconds(floor(random() * 61 * 86400)::BIGINT)
        FROM range({orders // 2}) t(i)
        """
    )
    con.execute(
        f"""
        INSERT INTO raw_tickets (source, ticket_id, source_customer_id, order_id, kind, created_at)
        SELECT 'shop', 't' || i, 'c' || (1 + floor(random() * {customers})::BIGINT), NULL,
               (['inquiry', 'complaint', 'return', 'praise'])[1 + floor(random() * 4)::INT],
               TIMESTAMP '2023-06-01' + to_seconds(floor(random() * 500 * 86400)::BIGINT)
        FROM range({max(orders // 200, 1)}) t(i)
        """
    )
    con.execute("CHECKPOINT")


SEGMENT_SQL = """
    CASE
        WHEN r = 5 AND fm = 1 THEN 'New'
        WHEN r >= 4 AND fm IN (2, 3) THEN 'Potential Loyalist'
        WHEN r = 5 AND fm >= 4 THEN 'Champions'
        WHEN r = 4 AND fm = 1 THEN 'Promising'
        WHEN r IN (3, 4) AND fm >= 4 THEN 'Loyal'
        WHEN r = 3 AND fm <= 2 THEN 'About to Sleep'
        WHEN r = 3 AND fm = 3 THEN 'Need Attention'
        WHEN r = 2 AND fm <= 2 THEN 'Hibernating'
        WHEN r <= 2 AND fm IN (3, 4) THEN 'At Risk'
        WHEN r <= 2 AND fm = 5 THEN 'Can''t Lose Them'
        ELSE 'Lost'
    END"""

CLASS_SQL = """
    CASE
        WHEN recent AND frequent AND spends THEN '重要价值客户'
        WHEN recent AND NOT frequent AND spends THEN '重要发展客户'
        WHEN NOT recent AND frequent AND spends THEN '重要保持客户'
        WHEN NOT recent AND NOT frequent AND spends THEN '重要挽留客户'
        WHEN recent AND frequent THEN '一般价值客户'
        WHEN recent THEN '一般发展客户'
        WHEN frequent THEN '一般保持客户'
        ELSE '一般挽留客户'
    END"""


def sql_rfm(con: Any) -> None:
    """The hand-written RFM query, materialised as bench_rfm_sql."""
    cutoff = inputs.cutoff(AS_OF)
    start = inputs.window_start(AS_OF, 365)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE bench_rfm_sql AS
        WITH paid AS (
            SELECT m.customer_id, o.paid_at, o.status, o.refund_amount,
                   COALESCE(o.paid_amount, o.total_amount - COALESCE(o.discount_amount, 0), o.total_amount, 0)
                       AS amount
            FROM raw_orders o
            JOIN identity_map m ON o.source = m.source AND o.source_customer_id = m.source_customer_id
            WHERE o.paid_at IS NOT NULL AND o.status IN ('paid', 'shipped', 'delivered', 'refunded')
              AND o.paid_at >= TIMESTAMP '{start}' AND o.paid_at < TIMESTAMP '{cutoff}'
              AND COALESCE(o.created_at, o.paid_at) < TIMESTAMP '{cutoff}'
        ), net AS (
            SELECT customer_id, paid_at,
                   amount - greatest(CASE WHEN status = 'refunded' AND refund_amount IS NULL THEN amount
                                          ELSE least(COALESCE(refund_amount, 0), amount) END, 0) AS net
            FROM paid
        ), per AS (
            SELECT customer_id, date_diff('day', max(paid_at)::DATE, DATE '{AS_OF}') AS recency,
                   count(*) AS frequency, sum(net)::DECIMAL(18, 2) AS monetary
            FROM net WHERE net > 0 GROUP BY customer_id
        ), scored AS (
            SELECT *,
                   1 + floor(5.0 * (rank() OVER (ORDER BY recency DESC) - 1) / count(*) OVER ())::INT AS r,
                   1 + floor(5.0 * (rank() OVER (ORDER BY frequency) - 1) / count(*) OVER ())::INT AS f,
                   1 + floor(5.0 * (rank() OVER (ORDER BY monetary) - 1) / count(*) OVER ())::INT AS m,
                   recency < avg(recency) OVER () AS recent,
                   frequency > avg(frequency) OVER () AS frequent,
                   monetary > avg(monetary) OVER () AS spends
            FROM per
        ), labelled AS (
            SELECT *, (f + m + 1) // 2 AS fm FROM scored
        )
        SELECT customer_id, recency, frequency, monetary, r, f, m, r || f || m AS cell,
               {SEGMENT_SQL} AS segment, {CLASS_SQL} AS class
        FROM labelled
        """
    )


def ibis_rfm(con: Any) -> None:
    """guanxi's RFM from the raw tables, materialised as bench_rfm_ibis."""
    orders = inputs.customer_orders(
        con.table("raw_orders"), con.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    expr = rfm_scores(inputs.purchases(orders), reference_date=AS_OF, config=ModelsConfig().rfm)
    con.create_table("bench_rfm_ibis", expr, overwrite=True)


def load_for_pandas(con: Any) -> pd.DataFrame:
    """The orders with customer ids, as a pandas user would hold them."""
    return con.sql(
        """
        SELECT m.customer_id, o.status, o.paid_at, o.created_at, o.paid_amount, o.total_amount,
               o.discount_amount, o.refund_amount
        FROM raw_orders o JOIN identity_map m USING (source, source_customer_id)
        """
    ).df()


def pandas_rfm(frame: pd.DataFrame) -> pd.DataFrame:
    """The same RFM in pandas (vectorised; ranks with method='min' for the tie rule)."""
    cutoff = pd.Timestamp(inputs.cutoff(AS_OF))
    start = pd.Timestamp(inputs.window_start(AS_OF, 365))
    created = frame.created_at.fillna(frame.paid_at)
    keep = (
        frame.paid_at.notna()
        & frame.status.isin(["paid", "shipped", "delivered", "refunded"])
        & (frame.paid_at >= start)
        & (frame.paid_at < cutoff)
        & (created < cutoff)
    )
    o = frame.loc[keep]
    discount = o.discount_amount.astype(float).fillna(0)
    amount = o.paid_amount.astype(float).fillna(o.total_amount.astype(float) - discount).fillna(0)
    refund = np.where(
        (o.status == "refunded") & o.refund_amount.isna(),
        amount,
        np.minimum(o.refund_amount.astype(float).fillna(0), amount),
    )
    net = amount - np.maximum(refund, 0)
    bought = pd.DataFrame({"customer_id": o.customer_id, "day": o.paid_at.dt.normalize(), "net": net})
    bought = bought[bought.net > 0]
    per = bought.groupby("customer_id").agg(
        last=("day", "max"), frequency=("net", "size"), monetary=("net", "sum")
    )
    per["recency"] = (pd.Timestamp(AS_OF) - per["last"]).dt.days
    n = len(per)
    per["r"] = 1 + np.floor(5 * (per.recency.rank(method="min", ascending=False) - 1) / n).astype(int)
    per["f"] = 1 + np.floor(5 * (per.frequency.rank(method="min") - 1) / n).astype(int)
    per["m"] = 1 + np.floor(5 * (per.monetary.round(2).rank(method="min") - 1) / n).astype(int)
    grid = ModelsConfig().rfm.segment_grid
    table = np.array([grid[r] for r in range(1, 6)], dtype=object)
    fm = (per.f + per.m + 1) // 2
    per["segment"] = table[per.r.to_numpy() - 1, fm.to_numpy() - 1]
    recent = per.recency < per.recency.mean()
    frequent = per.frequency > per.frequency.mean()
    spends = per.monetary > per.monetary.mean()
    names = CLASSES
    per["class"] = [names[k] for k in zip(recent, frequent, spends, strict=True)]
    return per


def timed(label: str, fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    print(f"  {label:<28} {best:8.2f} s")
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--orders", type=float, default=1e6, help="orders to generate (1e7 is the issue's figure)"
    )
    parser.add_argument("--customers", type=float, default=None, help="customers (default: orders / 8)")
    parser.add_argument(
        "--dir", type=Path, default=None, help="folder for the DuckDB file (default: a temp dir)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep the orders already generated in --dir (same --orders)"
    )
    args = parser.parse_args()
    orders = int(args.orders)
    customers = int(args.customers or max(orders // 8, 10))
    folder = args.dir or Path(tempfile.mkdtemp(prefix="guanxi-bench-"))
    settings = get_settings(
        env="test",
        data_dir=folder,
        warehouse_url=f"duckdb://{folder / 'bench.duckdb'}",
        models_config=folder / "absent-models.yaml",
        progress=False,
    )
    con = connect(settings)
    raw = raw_duckdb(con)
    print(f"guanxi models benchmark: {orders:,} orders, {customers:,} customers, DuckDB file in {folder}")
    existing = raw.sql("SELECT count(*) FROM raw_orders").fetchone()[0]
    if args.reuse and existing == orders:
        print(f"  reusing the {existing:,} orders already in {folder}")
    else:
        timed("generate (vectorised SQL)", lambda: generate(raw, orders, customers))

    for spec in OUTPUT_TABLES:  # every run below starts from an empty model state (first-run cost)
        con.drop_table(spec.name, force=True)
    print("timings (best of 2 where marked ×2):")
    sql_seconds, _ = timed("hand-written SQL RFM ×2", lambda: sql_rfm(raw), repeat=2)
    ibis_seconds, _ = timed("guanxi Ibis RFM ×2", lambda: ibis_rfm(con), repeat=2)
    load_seconds, frame = timed("pandas: load orders", lambda: load_for_pandas(raw))
    pandas_seconds, _ = timed("pandas RFM (in memory)", lambda: pandas_rfm(frame))
    run_seconds, report = timed(
        "run_models (all models)", lambda: run_models(con, settings, as_of=AS_OF, config=ModelsConfig())
    )

    mismatches = raw.sql(
        """
        SELECT count(*) FROM bench_rfm_sql s FULL JOIN bench_rfm_ibis i USING (customer_id)
        WHERE s.customer_id IS NULL OR i.customer_id IS NULL OR s.r <> i.r_score OR s.f <> i.f_score
           OR s.m <> i.m_score OR s.segment <> i.rfm_segment OR s.class <> i.rfm_class
           OR s.monetary <> i.rfm_monetary OR s.recency <> i.rfm_recency_days
        """
    ).fetchone()[0]
    scored = raw.sql("SELECT count(*) FROM bench_rfm_sql").fetchone()[0]
    print(
        f"RFM tables agree: {scored - mismatches:,} of {scored:,} customers identical (mismatches: {mismatches})"
    )
    print("ratios against the hand-written SQL RFM query:")
    print(f"  Ibis RFM / SQL RFM           {ibis_seconds / sql_seconds:6.2f}×   (goal ≤ 1.5×)")
    print(f"  all models / SQL RFM         {run_seconds / sql_seconds:6.2f}×   (goal ≤ 3×)")
    print(
        f"  pandas RFM / SQL RFM         {pandas_seconds / sql_seconds:6.2f}×   (+ {load_seconds:.2f} s to load)"
    )
    slowest = sorted(report.timings.items(), key=lambda kv: -kv[1])[:8]
    print("slowest steps of the run: " + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in slowest))
    if report.clv:
        print(
            "CLV fit: r={r:.3f} alpha={alpha:.3f} a={a:.3f} b={b:.3f}; {distinct_summaries:,.0f} distinct summaries".format(
                **report.clv
            )
        )
    print(f"warnings: {report.warnings or 'none'}; finished {datetime.now():%H:%M:%S}")
    con.disconnect()


if __name__ == "__main__":
    main()
