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
* ``run_models`` — every model, written to the output tables;
* incremental — when ``run_models`` takes ``incremental``: 1 % more orders (existing and new
  customers), an ``incremental=True`` run against a full run, each from a copy of the same state.

Generation and the pandas baseline run in their own processes (peak RSS of each is its own).

Goals: ``run_models`` within 3× ``sql_rfm``; ``ibis_rfm`` within 1.5×. The Ibis and SQL
tables are compared row by row, so a fast wrong answer cannot pass.

    .venv/bin/python bench/models.py --orders 1000000 [--json PATH]
"""

from __future__ import annotations

import argparse
import inspect
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import figures
import numpy as np
import pandas as pd
from process import call_isolated, self_peak_rss_mib

from guanxi.config import Settings, get_settings
from guanxi.models import inputs, run_models
from guanxi.models.config import ModelsConfig
from guanxi.models.outputs import output_tables
from guanxi.models.rfm import CLASSES, rfm_scores
from guanxi.warehouse import connect, raw_duckdb

AS_OF = date(2024, 12, 31)
INCREMENT_DAY = date(2025, 1, 1)
"""The 1 % appended orders are paid on this day; the incremental and full runs are as of it."""
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
    for table in ("raw_orders", "raw_order_items"):  # stamped as the importer stamps what it loads
        con.execute(f"UPDATE {table} SET ingested_at = TIMESTAMP '2024-12-31 23:00:00'")
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


OUTPUT_COPIES = {
    "points_ledger": "TRUE",
    "customer_scores": "run_id = $run_id",
    "score_snapshots": "as_of = $as_of",
    "customer_tags": "TRUE",
}
"""The outputs every full run must write (the issue asks for them), with the rows of one run."""


def write_floor(con: Any, run_id: str) -> dict[str, int]:
    """Copy one run's required outputs into fresh tables with plain SQL; returns rows per table.

    Writing the same rows costs any implementation at least this much, so it is
    the floor under the whole model run's time on this machine.
    """
    rows = {}
    for table, where in OUTPUT_COPIES.items():
        con.execute(
            f"CREATE OR REPLACE TABLE bench_floor_{table} AS SELECT * FROM {table} WHERE {where}",
            {k: v for k, v in {"run_id": run_id, "as_of": AS_OF}.items() if f"${k}" in where},
        )
        rows[table] = con.sql(f"SELECT count(*) FROM bench_floor_{table}").fetchone()[0]
    return rows


def drop_floor(con: Any) -> None:
    for table in OUTPUT_COPIES:
        con.execute(f"DROP TABLE IF EXISTS bench_floor_{table}")


def generate_file(database: str, orders: int, customers: int) -> dict[str, Any]:
    """Create the bench tables in ``database`` and fill them (run in its own process by :func:`measure`)."""
    settings = _settings(Path(database).parent, Path(database))
    con = connect(settings)
    started = time.perf_counter()
    generate(raw_duckdb(con), orders, customers)
    seconds = time.perf_counter() - started
    con.disconnect()
    return {"seconds": seconds}


def pandas_baseline(database: str) -> dict[str, Any]:
    """Load the orders from ``database`` (read-only) into pandas and compute RFM there; both timed."""
    raw = duckdb.connect(database, read_only=True)
    started = time.perf_counter()
    frame = load_for_pandas(raw)
    loaded = time.perf_counter()
    per = pandas_rfm(frame)
    done = time.perf_counter()
    raw.close()
    return {"load_seconds": loaded - started, "rfm_seconds": done - loaded, "customers": len(per)}


def timed(label: str, fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    print(f"  {label:<28} {best:8.2f} s", flush=True)
    return best, result


def _settings(folder: Path, database: Path) -> Settings:
    return get_settings(
        env="test",
        data_dir=folder,
        warehouse_url=f"duckdb://{database}",
        models_config=folder / "absent-models.yaml",
        progress=False,
    )


def append_orders(raw: Any, customers: int, share: float = 0.01) -> int:
    """Append ``share`` × the orders, paid on ``INCREMENT_DAY``: half by existing customers, half by new ones.

    New customers get their ``customers`` and ``identity_map`` rows. Returns the orders added.
    """
    row = raw.sql("SELECT count(*) FROM raw_orders").fetchone()
    added = max(int(row[0] * share), 2)
    newcomers = max(added // 4, 1)
    raw.execute(
        f"""
        INSERT INTO customers (customer_id, province, sources, record_count)
        SELECT {customers} + i, '广东', 'shop', 1 FROM range(1, {newcomers} + 1) t(i)
        """
    )
    raw.execute(
        f"""
        INSERT INTO identity_map
        SELECT 'shop', 'c' || ({customers} + i), {customers} + i, TIMESTAMP '{INCREMENT_DAY} 00:00:00'
        FROM range(1, {newcomers} + 1) t(i)
        """
    )
    raw.execute(
        f"""
        INSERT INTO raw_orders (source, order_id, source_customer_id, status, created_at, paid_at, delivered_at,
                                total_amount, paid_amount, discount_amount, refund_amount, currency, channel)
        SELECT 'shop', 'n' || i, 'c' || customer, 'paid', paid_time, paid_time + INTERVAL 2 MINUTE, NULL,
               amount, amount, 0, NULL, 'CNY', 'app'
        FROM (
            SELECT i,
                   CASE WHEN i % 2 = 0 THEN 1 + (i * 7919) % {customers}
                        ELSE {customers} + 1 + i % {newcomers} END AS customer,
                   TIMESTAMP '{INCREMENT_DAY} 08:00:00' + to_seconds(i % 36000) AS paid_time,
                   (20 + (i * 104729) % 900)::DECIMAL(18, 2) AS amount
            FROM range({added}) t(i)
        )
        """
    )
    raw.execute(
        f"""
        INSERT INTO raw_order_items (source, order_id, item_key, category, brand, quantity, price, amount)
        SELECT 'shop', 'n' || i, '0', ({_list(CATEGORIES)})[1 + i % {len(CATEGORIES)}], 'brand' || (i % 20),
               1, (20 + (i * 104729) % 900)::DECIMAL(18, 2), (20 + (i * 104729) % 900)::DECIMAL(18, 2)
        FROM range({added}) t(i)
        """
    )
    # Stamped as the importer stamps what it loads, later than the generated history.
    for table in ("raw_orders", "raw_order_items"):
        raw.execute(
            f"UPDATE {table} SET ingested_at = TIMESTAMP '{INCREMENT_DAY} 23:00:00' WHERE ingested_at IS NULL"
        )
    raw.execute("CHECKPOINT")
    return added


def incremental_figure(folder: Path, database: Path, customers: int) -> dict[str, Any]:
    """Incremental vs full run after 1 % new orders, each from a copy of the same warehouse state.

    Expects a full run already stored in ``database``. Unavailable (no numbers) when
    ``run_models`` has no ``incremental`` parameter.
    """
    figure = "models after +1 % orders: incremental vs full"
    if "incremental" not in inspect.signature(run_models).parameters:
        return figures.unavailable(figure, "run_models has no incremental parameter in this version")
    settings = _settings(folder, database)
    con = connect(settings)
    added = append_orders(raw_duckdb(con), customers)
    con.disconnect()
    copy = folder / "bench-full.duckdb"
    shutil.copyfile(database, copy)
    con = connect(settings)
    try:
        incremental_seconds, report = timed(
            "run_models incremental=True",
            lambda: run_models(con, settings, as_of=INCREMENT_DAY, config=ModelsConfig(), incremental=True),
        )
    except Exception as err:  # the figure is reported as failed, the other figures still count
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return figures.unavailable(figure, f"incremental run failed: {type(err).__name__}: {first_line}")
    finally:
        con.disconnect()
    full_settings = _settings(folder, copy)
    con = connect(full_settings)
    full_seconds, _ = timed(
        "run_models full (same data)",
        lambda: run_models(con, full_settings, as_of=INCREMENT_DAY, config=ModelsConfig()),
    )
    con.disconnect()
    copy.unlink()
    fell_back = getattr(report, "incremental", True) is False
    return figures.timed(
        figure,
        guanxi_seconds=incremental_seconds,
        baseline="guanxi full run",
        baseline_seconds=full_seconds,
        note=f"{added:,} orders appended" + ("; the run fell back to a full rebuild" if fell_back else ""),
    )


def incremental_vs_sql(incremental: dict[str, Any], sql_seconds: float) -> list[dict[str, Any]]:
    """The incremental run (the daily run after new orders) against the SQL RFM, when it was measured."""
    if incremental["kind"] != "timed":
        return []
    return [
        figures.timed(
            "models after +1 % orders: incremental vs SQL RFM",
            guanxi_seconds=incremental["guanxi_seconds"],
            baseline="DuckDB SQL RFM",
            baseline_seconds=sql_seconds,
            note="the daily run: every model for every customer, changed orders re-derived",
        )
    ]


def measure(orders: float, customers: float | None = None, folder: Path | None = None) -> dict[str, Any]:
    """Every models figure at ``orders``; generation and the pandas baseline run in their own processes."""
    n = int(orders)
    buyers = int(customers or max(n // 8, 10))
    with tempfile.TemporaryDirectory(prefix="guanxi-bench-") as tmp:
        where = folder or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        return _measure(n, buyers, where)


def _measure(orders: int, customers: int, folder: Path) -> dict[str, Any]:
    database = folder / "bench.duckdb"
    database.unlink(missing_ok=True)
    print(f"guanxi models benchmark: {orders:,} orders, {customers:,} customers, DuckDB file in {folder}")
    generated = call_isolated(
        "models:generate_file", database=str(database), orders=orders, customers=customers
    )
    print(f"  {'generate (vectorised SQL)':<28} {generated.result['seconds']:8.2f} s", flush=True)
    baseline = call_isolated("models:pandas_baseline", database=str(database))
    load_seconds, pandas_seconds = baseline.result["load_seconds"], baseline.result["rfm_seconds"]
    print(f"  {'pandas: load orders':<28} {load_seconds:8.2f} s", flush=True)
    print(f"  {'pandas RFM (in memory)':<28} {pandas_seconds:8.2f} s", flush=True)

    settings = _settings(folder, database)
    con = connect(settings)
    raw = raw_duckdb(con)
    for spec in output_tables():  # every run below starts from an empty model state (first-run cost)
        con.drop_table(spec.name, force=True)
    sql_seconds, _ = timed("hand-written SQL RFM ×2", lambda: sql_rfm(raw), repeat=2)
    ibis_seconds, _ = timed("guanxi Ibis RFM ×2", lambda: ibis_rfm(con), repeat=2)
    rfm_peak = self_peak_rss_mib()
    run_seconds, report = timed(
        "run_models (all models)", lambda: run_models(con, settings, as_of=AS_OF, config=ModelsConfig())
    )
    run_peak = self_peak_rss_mib()
    mismatches = raw.sql(
        """
        SELECT count(*) FROM bench_rfm_sql s FULL JOIN bench_rfm_ibis i USING (customer_id)
        WHERE s.customer_id IS NULL OR i.customer_id IS NULL OR s.r <> i.r_score OR s.f <> i.f_score
           OR s.m <> i.m_score OR s.segment <> i.rfm_segment OR s.class <> i.rfm_class
           OR s.monetary <> i.rfm_monetary OR s.recency <> i.rfm_recency_days
        """
    ).fetchone()[0]
    scored = raw.sql("SELECT count(*) FROM bench_rfm_sql").fetchone()[0]
    floor_seconds, floor_rows = timed("required writes alone (SQL)", lambda: write_floor(raw, report.run_id))
    drop_floor(raw)
    con.disconnect()
    incremental = incremental_figure(folder, database, customers)
    if incremental["kind"] == "unavailable" and "failed" in incremental["note"]:
        report.warnings.append(incremental["note"])
    slowest = sorted(report.timings.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    return {
        "benchmark": "models",
        "sizes": {"orders": orders, "customers": customers},
        "figures": [
            figures.timed(
                "RFM: Ibis vs hand-written SQL",
                guanxi_seconds=ibis_seconds,
                baseline="DuckDB SQL RFM",
                baseline_seconds=sql_seconds,
                goal_ratio=1.5,
                guanxi_peak_rss_mib=rfm_peak,
                note="best of 2 each",
            ),
            figures.value(
                "RFM tables agree row for row",
                value=f"{scored - mismatches:,} of {scored:,}",
                goal="0 mismatches",
                met=mismatches == 0,
                baseline="DuckDB SQL RFM",
            ),
            figures.timed(
                "RFM: Ibis vs pandas (incl. load)",
                guanxi_seconds=ibis_seconds,
                baseline="pandas RFM",
                baseline_seconds=load_seconds + pandas_seconds,
                guanxi_peak_rss_mib=rfm_peak,
                baseline_peak_rss_mib=baseline.peak_rss_mib,
                note=f"pandas: load {load_seconds:.2f} s + RFM {pandas_seconds:.2f} s",
            ),
            figures.timed(
                "all models vs SQL RFM",
                guanxi_seconds=run_seconds,
                baseline="DuckDB SQL RFM",
                baseline_seconds=sql_seconds,
                goal_ratio=3.0,
                guanxi_peak_rss_mib=run_peak,
            ),
            figures.timed(
                "writing the run's outputs alone vs SQL RFM",
                guanxi_seconds=floor_seconds,
                baseline="DuckDB SQL RFM",
                baseline_seconds=sql_seconds,
                note="hand-written SQL copies the rows the run wrote ("
                + ", ".join(f"{table} {n:,}" for table, n in floor_rows.items())
                + "): the least any full run writing them takes",
            ),
            incremental,
            *incremental_vs_sql(incremental, sql_seconds),
        ],
        "details": {
            "generate_seconds": round(generated.result["seconds"], 3),
            "generate_peak_rss_mib": generated.peak_rss_mib,
            "pandas_load_seconds": round(load_seconds, 3),
            "pandas_rfm_seconds": round(pandas_seconds, 3),
            "run_models_seconds_reported": report.seconds,
            "slowest_steps": [[name, seconds] for name, seconds in slowest],
            "clv": report.clv,
            "customers_scored": report.customers,
        },
        "warnings": list(report.warnings),
    }


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
    parser.add_argument("--json", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args()
    result = measure(args.orders, args.customers, args.dir)
    print("ratios:")
    for fig in result["figures"]:
        if fig["kind"] == "timed":
            ratio = fig["guanxi_seconds"] / fig["baseline_seconds"]
            goal = f"(goal ≤ {fig['goal_ratio']}×)" if fig["goal_ratio"] else ""
            print(f"  {fig['figure']:<44} {ratio:6.2f}×  {goal} {fig['note'] or ''}")
        elif fig["kind"] == "value":
            print(f"  {fig['figure']:<44} {fig['value']}  (goal: {fig['goal']})")
        else:
            print(f"  {fig['figure']:<44} not available: {fig['note']}")
    d = result["details"]
    print("slowest steps of the run: " + ", ".join(f"{name} {sec:.2f}s" for name, sec in d["slowest_steps"]))
    if d["clv"]:
        print(
            "CLV fit: r={r:.3f} alpha={alpha:.3f} a={a:.3f} b={b:.3f}; {distinct_summaries:,.0f} distinct summaries".format(
                **d["clv"]
            )
        )
    print(f"warnings: {result['warnings'] or 'none'}; finished {datetime.now():%H:%M:%S}")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
