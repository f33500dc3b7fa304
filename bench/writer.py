"""How an embedded warehouse is shared: the measurements behind ADR 0008 (one writer, jobs queued to it).

    .venv/bin/python bench/writer.py [--rows 2000000] [--json PATH]

Measured in one run on one DuckDB file:

* **second process** — can another process open the file (read-write, read-only) while one holds it?
* **open per request** — what connecting (and checking the canonical tables) costs per page if the
  server opened the file for each request so that other processes could get in between, against
  a query on a cursor of the already open database (the baseline);
* **reads during a write** — latency of a page-sized read on a cursor while another cursor of the
  same process runs a long write transaction (an import-sized ``INSERT … SELECT``), against the same
  read with the database idle: pages keep answering while a job writes;
* **queue overhead** — submit → claim → run → done of a no-op job through the app database
  (SQLite), against calling the same function directly.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 3),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
    }


def second_process(path: Path) -> dict[str, str]:
    code = (
        "import duckdb,sys\n"
        "try:\n duckdb.connect(sys.argv[1], read_only=sys.argv[2]=='ro').close(); print('opened')\n"
        "except Exception as e: print(type(e).__name__)"
    )
    out = {}
    for mode in ("rw", "ro"):
        done = subprocess.run(
            [sys.executable, "-c", code, str(path), mode], capture_output=True, text=True, check=True
        )
        out[f"{mode}_while_held"] = done.stdout.strip()
    return out


def open_per_request(path: Path, con: duckdb.DuckDBPyConnection, repeats: int) -> dict[str, Any]:
    from guanxi.config import get_settings  # noqa: PLC0415
    from guanxi.warehouse import connect  # noqa: PLC0415

    con.close()  # the file must be free to be opened per request
    settings = get_settings(warehouse_url=f"duckdb://{path}")
    opened = []
    for _ in range(repeats):
        started = time.perf_counter()
        backend = connect(settings)
        backend.raw_sql("select count(*) from orders").fetchall()
        backend.disconnect()
        opened.append(time.perf_counter() - started)
    held = connect(settings)
    cursor = held.con.cursor()
    kept = []
    for _ in range(repeats):
        started = time.perf_counter()
        cursor.execute("select count(*) from orders").fetchall()
        kept.append(time.perf_counter() - started)
    held.disconnect()
    per, base = _ms(opened), _ms(kept)
    return {
        "open_per_request": per,
        "open_cursor": base,
        "ratio_p50": round(per["p50_ms"] / base["p50_ms"], 1),
    }


def reads_during_write(path: Path, rows: int, repeats: int) -> dict[str, Any]:
    con = duckdb.connect(str(path))
    reader = con.cursor()
    query = "select customer, sum(amount) from orders where customer < 50 group by customer"

    def sample(n: int) -> list[float]:
        times = []
        for _ in range(n):
            started = time.perf_counter()
            reader.execute(query).fetchall()
            times.append(time.perf_counter() - started)
        return times

    idle = sample(repeats)
    writer = con.cursor()
    done = threading.Event()
    write_seconds: list[float] = []

    def write() -> None:
        started = time.perf_counter()
        writer.execute("BEGIN")
        writer.execute(
            f"insert into orders select i + 10000000, i % 100000, (i % 997)::decimal(18,2), 'x' || i from range({rows}) t(i)"
        )
        writer.execute("COMMIT")
        write_seconds.append(time.perf_counter() - started)
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    busy: list[float] = []
    while not done.is_set():
        busy.extend(sample(5))
    thread.join()
    con.close()
    a, b = _ms(busy), _ms(idle)
    return {
        "write_seconds": round(write_seconds[0], 2),
        "reads_during_write": {**a, "n": len(busy)},
        "reads_idle": {**b, "n": len(idle)},
        "ratio_p50": round(a["p50_ms"] / b["p50_ms"], 2),
    }


def queue_overhead(folder: Path, repeats: int) -> dict[str, Any]:
    from guanxi.appdb.database import make_engine, session_factory  # noqa: PLC0415
    from guanxi.appdb.migrate import upgrade  # noqa: PLC0415
    from guanxi.config import get_settings  # noqa: PLC0415
    from guanxi.jobs import store  # noqa: PLC0415
    from guanxi.jobs.kinds import JobContext, JobKind  # noqa: PLC0415
    from guanxi.jobs.runner import run_pending  # noqa: PLC0415
    from guanxi.warehouse import connect  # noqa: PLC0415

    settings = get_settings(
        warehouse_url=f"duckdb://{folder / 'queue.duckdb'}", app_db_url=f"sqlite:///{folder / 'app.sqlite'}"
    )
    upgrade(settings)
    engine = make_engine(settings)
    sessions = session_factory(engine)
    warehouse = connect(settings)
    noop = JobKind("bench.noop", lambda _c, p: {"n": p.get("n", 0)})
    direct = []
    for n in range(repeats):
        started = time.perf_counter()
        noop.run(
            JobContext(settings=settings, warehouse=warehouse, sessions=sessions, now=datetime.now(UTC)),
            {"n": n},
        )
        direct.append(time.perf_counter() - started)
    queued = []
    for n in range(repeats):
        started = time.perf_counter()
        with sessions() as session, session.begin():
            store.submit(session, noop, {"n": n}, owner="bench", origin="cli", now=datetime.now(UTC))
        run_pending(
            settings=settings,
            sessions=sessions,
            warehouse=warehouse,
            worker_id="bench",
            kinds={"bench.noop": noop},
            writer=True,
        )
        queued.append(time.perf_counter() - started)
    warehouse.disconnect()
    engine.dispose()
    a, b = _ms(queued), _ms(direct)
    return {"queued_job": a, "direct_call": b}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows in the write transaction")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "w.duckdb"
        con = duckdb.connect(str(path))
        con.execute(
            "create table orders as select i as id, i % 100000 as customer, (i % 997)::decimal(18,2) as amount, "
            "'x' || i as note from range(1000000) t(i)"
        )
        results: dict[str, Any] = {"second_process": second_process(path)}
        results["open_per_request"] = open_per_request(path, con, 50)
        results["reads_during_write"] = reads_during_write(path, args.rows, 50)
        results["queue_overhead"] = queue_overhead(folder, 30)
    text = json.dumps(results, indent=2, sort_keys=True)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
