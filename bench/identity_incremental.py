"""Incremental identity resolution: one micro-batch on top of a resolved warehouse vs a full resolve.

    .venv/bin/python bench/identity_incremental.py                       # 100,000 records + 1,000 new
    .venv/bin/python bench/identity_incremental.py --records 1e6 --batch 5000 --json out.json

A DuckDB file holds N synthetic profiles (about 1.43 records per person; phones,
e-mails and unionids shared as in ``bench/identity.py``; one shop phone on 300
records) and one event per profile, resolved in full. Then a batch of new
records arrives, as the HTTP API writes it (``raw_events`` for track calls,
``raw_customers`` for identify calls, ingested after the resolve): 40 % carry the
phone or e-mail of an existing person (they join), 40 % are new people, half of
them in pairs sharing an e-mail (new customers of two records), 15 % are
visitors known only by a record id, 5 % bridge two existing people (merges, left to the full
resolve). The file is copied; ``resolve_incremental`` runs on one copy and a full
``resolve`` of the same data on the other, in the same run. The figure is
incremental seconds / full seconds; the grouping of every record not touched by a
deferred merge is checked to be the same in both.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import figures
import ibis
import numpy as np
import pyarrow as pa

from guanxi.config import get_settings
from guanxi.identity import resolve, resolve_incremental
from guanxi.identity.deferred import pending_notes
from guanxi.tables import ALL_TABLES, IDENTITY_MAP, RAW_CUSTOMERS, RAW_EVENTS, TableSpec
from guanxi.warehouse import connect, ensure_tables

NOW = datetime(2024, 6, 1, 12, 0)
BEFORE = datetime(2024, 6, 1, 10, 0)
ARRIVED = datetime(2024, 6, 1, 12, 0, 3)
LATER = datetime(2024, 6, 1, 12, 0, 5)


def _insert(con: Any, spec: TableSpec, table: pa.Table) -> None:
    text = ibis.memtable(table)
    columns = {
        name: (text[name] if name in text.columns else ibis.null(kind)).cast(kind)
        for name, kind in spec.schema.items()
    }
    con.insert(spec.name, text.select(**columns))


def base_rows(records: int, seed: int) -> tuple[pa.Table, pa.Table]:
    """``records`` profiles and one event each."""
    rng = np.random.default_rng(seed)
    people = int(records / 1.43)
    person = rng.integers(0, people, records)
    sources = np.array(["taobao", "jd", "crm", "wechat", "youzan"])
    source = sources[rng.integers(0, len(sources), records)]
    scid = np.char.add(np.char.add(source.astype(str), "-"), np.arange(records).astype(str))

    def maybe(values: np.ndarray, share: float) -> list[str | None]:
        keep = rng.random(records) < share
        return [v if k else None for v, k in zip(values.tolist(), keep.tolist(), strict=True)]

    phones = maybe(np.char.add("+861", (3_000_000_000 + person).astype(str)), 0.55)
    for row in rng.choice(records, 300, replace=False).tolist():
        phones[row] = "+8657188886666"
    registered = np.datetime64("2018-01-01") + rng.integers(0, 6 * 365 * 86400, records).astype(
        "timedelta64[s]"
    )
    profiles = pa.table(
        {
            "source": source.tolist(),
            "source_customer_id": scid.tolist(),
            "name": np.char.add("客户", person.astype(str)).tolist(),
            "phone": phones,
            "email": maybe(np.char.add(np.char.add("p", person.astype(str)), "@example.cn"), 0.35),
            "wechat_unionid": maybe(np.char.add("oU_", person.astype(str)), 0.3),
            "city": np.array(["上海", "北京", "杭州", "深圳", "成都"])[person % 5].tolist(),
            "registered_at": pa.array(registered, type=pa.timestamp("s")),
            "ingested_at": pa.array([BEFORE] * records, type=pa.timestamp("us")),
        }
    )
    events = pa.table(
        {
            "source": source.tolist(),
            "event_id": np.char.add("e-", np.arange(records).astype(str)).tolist(),
            "source_customer_id": scid.tolist(),
            "type": ["track"] * records,
            "event": ["view"] * records,
            "occurred_at": pa.array(registered + np.timedelta64(3600, "s"), type=pa.timestamp("s")),
            "ingested_at": pa.array([BEFORE] * records, type=pa.timestamp("us")),
        }
    )
    return profiles, events


def batch_rows(size: int, profiles: pa.Table, seed: int) -> tuple[pa.Table, pa.Table]:
    """The micro-batch: identify calls (raw_customers) and track calls (raw_events).

    Joins and bridges take the phones and e-mails of existing profiles."""
    rng = np.random.default_rng(seed + 1)
    phones = [p for p in profiles.column("phone").to_pylist() if p and p != "+8657188886666"]
    emails = [e for e in profiles.column("email").to_pylist() if e]
    kinds = rng.choice(["join", "new", "anonymous", "bridge"], size, p=[0.40, 0.40, 0.15, 0.05])
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for i, kind in enumerate(kinds.tolist()):
        record = f"web-{i}"
        phone = phones[int(rng.integers(0, len(phones)))]
        email = emails[int(rng.integers(0, len(emails)))]
        if kind == "join":
            contact = {"phone": phone} if i % 2 else {"email": email}
            events.append({"source_customer_id": record, "event_id": f"b-{i}", **contact})
        elif kind == "new":
            mail = f"new{i // 2}@example.cn" if i % 4 < 2 else f"solo{i}@example.cn"
            rows.append({"source_customer_id": record, "name": f"新客{i}", "email": mail, "city": "杭州"})
        elif kind == "anonymous":
            events.append(
                {"source_customer_id": f"anon-{i}", "event_id": f"b-{i}", "anonymous_id": f"anon-{i}"}
            )
        else:
            rows.append({"source_customer_id": record, "phone": phone, "email": email})
    stamp = {"source": "web", "ingested_at": ARRIVED}
    event_rows = [
        {**stamp, "type": "track", "event": "view", "occurred_at": ARRIVED, **row} for row in events
    ]
    return _table([{**stamp, **row} for row in rows]), _table(event_rows)


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows with different keys as one table (a missing key is NULL)."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return pa.table({name: [row.get(name) for row in rows] for name in names})


def _open(path: Path) -> tuple[Any, Any]:
    settings = get_settings(env="test", warehouse_url=f"duckdb://{path}", progress=False)
    con = connect(settings)
    ensure_tables(con, ALL_TABLES)
    return settings, con


def _groups(con: Any) -> dict[tuple[str, str], int]:
    rows = con.table(IDENTITY_MAP.name).to_pyarrow().to_pylist()
    return {(r["source"], r["source_customer_id"]): int(r["customer_id"]) for r in rows}


def _same_grouping(incremental: Any, full: Any) -> tuple[bool, int]:
    """Whether both group every record the same way, leaving out the customers of deferred merges."""
    notes = pending_notes(incremental).to_pyarrow().to_pylist()
    merging = {n["customer_id"] for n in notes} | {n["other_customer_id"] for n in notes}
    left, right = _groups(incremental), _groups(full)
    kept = {key: cid for key, cid in left.items() if cid not in merging}
    pairs = {(cid, right[key]) for key, cid in kept.items()}
    one_to_one = len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs})
    left_sizes, right_sizes = Counter(kept.values()), Counter(right.values())
    sizes_match = all(left_sizes[a] == right_sizes[b] for a, b in pairs)
    return one_to_one and sizes_match, len(kept)


def measure(records: int, batch: int, seed: int = 20240601) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="guanxi-bench-") as tmp:
        base = Path(tmp) / "base.duckdb"
        settings, con = _open(base)
        profiles, events = base_rows(records, seed)
        _insert(con, RAW_CUSTOMERS, profiles)
        _insert(con, RAW_EVENTS, events)
        started = time.perf_counter()
        resolve(con, settings, now=NOW)
        base_seconds = time.perf_counter() - started
        new_profiles, new_events = batch_rows(batch, profiles, seed)
        _insert(con, RAW_CUSTOMERS, new_profiles)
        _insert(con, RAW_EVENTS, new_events)
        con.disconnect()
        shutil.copy(base, Path(tmp) / "full.duckdb")

        settings, con = _open(base)
        started = time.perf_counter()
        report = resolve_incremental(con, settings, now=LATER)
        incremental_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = resolve_incremental(con, settings, now=LATER)
        nothing_seconds = time.perf_counter() - started

        full_settings, full = _open(Path(tmp) / "full.duckdb")
        started = time.perf_counter()
        resolve(full, full_settings, now=LATER)
        full_seconds = time.perf_counter() - started
        same, compared = _same_grouping(con, full)
        con.disconnect()
        full.disconnect()
    note = (
        f"{records:,} records resolved ({base_seconds:.1f} s), then {report.new_records:,} new records: "
        f"{report.joined} joined, {report.created} new customers, {report.unplaced} unplaced, "
        f"{report.deferred} merges deferred; same grouping as the full resolve for {compared:,} records: {same}"
    )
    return {
        "benchmark": "identity_incremental",
        "records": records,
        "batch": batch,
        "report": report.to_dict(),
        "figures": [
            figures.timed(
                f"resolve_incremental, {batch:,} new on {records:,} resolved",
                guanxi_seconds=incremental_seconds,
                baseline="full resolve of the same data",
                baseline_seconds=full_seconds,
                note=note,
            ),
            figures.value(
                "resolve_incremental with nothing new",
                value=f"{nothing_seconds:.2f} s, {len(again.changed_rows)} tables written",
                guanxi_seconds=nothing_seconds,
            ),
            figures.value(
                "same grouping as the full resolve (deferred merges left out)",
                value=str(same),
                goal="True",
                met=same,
            ),
        ],
        "step_seconds": report.step_seconds,
        "warnings": [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=float, default=1e5, help="records resolved before the batch")
    parser.add_argument("--batch", type=float, default=1e3, help="new records in the micro-batch")
    parser.add_argument("--json", type=Path, default=None, help="write the result here")
    args = parser.parse_args()
    result = measure(int(args.records), int(args.batch))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, default=str))
    timed = result["figures"][0]
    ratio = timed["guanxi_seconds"] / timed["baseline_seconds"]
    print(f"{timed['figure']}: {timed['guanxi_seconds']:.2f} s")
    print(f"full resolve of the same data: {timed['baseline_seconds']:.2f} s  (ratio {ratio:.3f})")
    print(timed["note"])
    for fig in result["figures"][1:]:
        print(f"{fig['figure']}: {fig['value']}")
    slowest = sorted(result["step_seconds"].items(), key=lambda kv: -kv[1])[:8]
    print("slowest steps: " + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in slowest))


if __name__ == "__main__":
    main()
