"""The Segment-compatible intake under load: events/s acknowledged, none lost or doubled, 200 → loaded latency.

Usage: ``python bench/ingest_api.py [--events 100000] [--batch 100] [--connections 8] [--json PATH]``.

A real ``guanxi serve`` (uvicorn) runs in its own process on a SQLite app database and a DuckDB
warehouse in a temporary folder. A bounded loopback load generator (threads, one keep-alive
``httpx`` connection each, bodies serialised before the clock starts) posts ``/v1/batch`` bodies
of ``--batch`` track calls. Measured in the same run:

* **acknowledged events/s** over the whole send (goal ≥ 5,000 on the 2-core reference machine);
* two baselines: the bare spool insert without HTTP (the same messages, ``--batch`` rows per
  commit, in this process) and a loop of single ``/v1/track`` calls on one connection;
* **latency from 200 to loaded**: the first message of every batch is a probe; a poller sees when
  its spool row is released, which the loader does only after the warehouse commit made the
  event visible in ``raw_events`` (so this is an upper bound of "visible", by one app-DB delete);
* after the spool drains, the server stops and ``raw_events`` is counted: every acknowledged
  event present, none twice.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import figures
import httpx
from sqlalchemy import select

from guanxi.appdb.api_keys import issue_api_key
from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import upgrade
from guanxi.appdb.roles import Role
from guanxi.config import Settings, get_settings
from guanxi.events import spool
from guanxi.events.messages import read_request

GUANXI = "from guanxi.cli.main import main; main()"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stores(folder: Path, app_db_url: str | None) -> Settings:
    return get_settings(
        env="test",
        data_dir=folder,
        warehouse_url=f"duckdb://{folder / 'warehouse.duckdb'}",
        app_db_url=app_db_url or f"sqlite:///{folder / 'app.sqlite'}",
        progress=False,
    )


def write_key(settings: Settings) -> str:
    upgrade(settings)
    engine = make_engine(settings)
    try:
        with session_factory(engine)() as session, session.begin():
            return issue_api_key(
                session, name="bench", role=Role.VIEWER, actor="cli", now=datetime.now(UTC), scopes=["ingest"]
            ).secret
    finally:
        engine.dispose()


def messages(run: str, start: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "messageId": f"{run}-{i}",
            "userId": f"user-{i % 5000}",
            "event": "Product Viewed",
            "timestamp": "2026-03-01T08:00:00.000Z",
            "properties": {"sku": f"SKU-{i % 300}", "price": 99.5, "category": "面膜"},
            "context": {"ip": "10.0.0.1", "userAgent": "bench", "traits": {"phone": f"138{i % 10**8:08d}"}},
        }
        for i in range(start, start + count)
    ]


def spool_baseline(settings: Settings, batch: int, total: int) -> dict[str, float]:
    """Read + insert + commit of the same messages straight into a spool (another app DB file), no HTTP."""
    received = datetime.now(UTC)
    bodies = [{"batch": messages("base", i, batch)} for i in range(0, total, batch)]
    accepted = [read_request(b, kind=None, received_at=received).accepted for b in bodies]
    upgrade(settings)
    engine = make_engine(settings)
    sessions = session_factory(engine)
    started = time.perf_counter()
    for chunk in accepted:
        with sessions() as session, session.begin():
            spool.enqueue(session, "segment", chunk)
    insert_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for body in bodies:
        read_request(body, kind=None, received_at=received)
    read_seconds = time.perf_counter() - started
    engine.dispose()
    return {"insert_seconds": insert_seconds, "read_seconds": read_seconds, "events": total}


class Server:
    """``guanxi serve`` in its own process (SIGTERM to stop)."""

    def __init__(self, settings: Settings, folder: Path, load_seconds: float, resolve: bool) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUANXI_")}
        env.update(
            {
                "GUANXI_ENV": "test",
                "GUANXI_APP_DB_URL": settings.app_db_url,
                "GUANXI_WAREHOUSE_URL": settings.warehouse_url,
                "GUANXI_DATA_DIR": str(settings.data_dir),
                "GUANXI_EVENTS_LOAD_SECONDS": str(load_seconds),
                "GUANXI_EVENTS_RESOLVE": "true" if resolve else "false",
                "GUANXI_JOBS_SCHEDULES": "false",
            }
        )
        self.log = (folder / "serve.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", GUANXI, "serve", "--port", str(self.port), "--log-level", "warning"],
            env=env,
            cwd=folder,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"guanxi serve did not start; see {folder / 'serve.log'}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(120)
        self.log.close()


def single_calls(url: str, headers: dict[str, str], seconds: float) -> dict[str, float]:
    """The other baseline: single /v1/track calls, one after another on one connection."""
    sent = 0
    with httpx.Client(timeout=30) as client:
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            body = json.dumps(messages("single", sent, 1)[0]).encode()
            response = client.post(f"{url}/v1/track", content=body, headers=headers)
            response.raise_for_status()
            sent += 1
        elapsed = time.perf_counter() - started
    return {"events": sent, "seconds": elapsed}


class Prober(threading.Thread):
    """Sees when probe messages leave the spool (= loaded and committed in the warehouse)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(settings)
        self.pending: dict[str, float] = {}
        self.latencies: list[float] = []
        self.lock = threading.Lock()
        self.done = threading.Event()

    def acked(self, message_id: str, at: float) -> None:
        with self.lock:
            self.pending[message_id] = at

    def run(self) -> None:
        table = spool.SpooledEvent
        while not self.done.is_set() or self.pending:
            with self.lock:
                waiting = list(self.pending)
            if waiting:
                with self.engine.connect() as connection:
                    present = set(
                        connection.scalars(select(table.message_id).where(table.message_id.in_(waiting)))
                    )
                seen = time.time()
                with self.lock:
                    for message_id in waiting:
                        if message_id not in present:
                            self.latencies.append(seen - self.pending.pop(message_id))
            time.sleep(0.02)
        self.engine.dispose()


def load(
    url: str, headers: dict[str, str], bodies: list[tuple[str, bytes]], connections: int, prober: Prober
) -> dict[str, Any]:
    """Post every body over ``connections`` keep-alive connections; the acknowledged ids and timing."""
    acked: list[list[str]] = [[] for _ in range(connections)]
    failures: list[str] = []

    def work(slot: int) -> None:
        with httpx.Client(timeout=60) as client:
            for index in range(slot, len(bodies), connections):
                probe, body = bodies[index]
                try:
                    response = client.post(f"{url}/v1/batch", content=body, headers=headers)
                except httpx.HTTPError as err:
                    failures.append(repr(err))
                    continue
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    continue
                prober.acked(probe, time.time())
                acked[slot].append(probe)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "seconds": time.perf_counter() - started,
        "acked_batches": sum(len(a) for a in acked),
        "failures": failures,
    }


def spool_rows(settings: Settings) -> Any:
    """A function counting the rows left in the spool (claimed or not)."""
    engine = make_engine(settings)
    sessions = session_factory(engine)

    def count() -> int:
        with sessions() as session:
            return spool.waiting(session)

    return count


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    events: int,
    batch: int,
    connections: int,
    load_seconds: float,
    app_db_url: str | None,
    resolve: bool = False,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="guanxi-bench-api-") as tmp:
        folder = Path(tmp)
        (folder / "base").mkdir()
        base = spool_baseline(stores(folder / "base", None), batch, min(events, 50_000))
        settings = stores(folder, app_db_url)
        key = write_key(settings)
        headers = {
            "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
            "Content-Type": "application/json",
        }
        run = uuid.uuid4().hex[:8]
        bodies = []
        for start in range(0, events, batch):
            chunk = messages(run, start, min(batch, events - start))
            bodies.append(
                (
                    chunk[0]["messageId"],
                    json.dumps({"batch": chunk, "sentAt": "2026-03-01T08:00:01Z"}).encode(),
                )
            )
        server = Server(settings, folder, load_seconds, resolve)
        try:
            single = single_calls(server.url, headers, 3.0)
            prober = Prober(settings)
            prober.start()
            sent = load(server.url, headers, bodies, connections, prober)
            last_ack = time.perf_counter()
            prober.done.set()
            prober.join(600)
            spooled = spool_rows(settings)
            while spooled():
                time.sleep(0.1)
            drained = time.perf_counter() - last_ack
        finally:
            server.stop()
        with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
            stored = dict(
                con.execute(
                    "SELECT event_id, count(*) FROM raw_events WHERE starts_with(event_id, $run) GROUP BY event_id",
                    {"run": run + "-"},
                ).fetchall()
            )
    acked_events = sent["acked_batches"] * batch if events % batch == 0 else None
    expected = {f"{run}-{i}" for i in range(events)}
    lost = len(expected - set(stored)) if not sent["failures"] else None
    doubled = sum(1 for n in stored.values() if n > 1)
    rate = events / sent["seconds"]
    latencies = prober.latencies
    return {
        "benchmark": "ingest_api",
        "sizes": {"events": events, "batch": batch, "connections": connections},
        "figures": [
            figures.timed(
                f"acknowledge {events:,} events via /v1/batch",
                guanxi_seconds=sent["seconds"],
                baseline="spool insert without HTTP",
                baseline_seconds=base["insert_seconds"] * events / base["events"],
                note=f"{rate:,.0f} events/s acknowledged",
            ),
            figures.value(
                "acknowledged events/s",
                value=f"{rate:,.0f}",
                goal="≥ 5,000 events/s",
                met=rate >= 5000 and not sent["failures"],
                baseline=f"single /v1/track calls: {single['events'] / single['seconds']:,.0f} events/s",
            ),
            figures.value(
                "lost / doubled after the load",
                value=f"{lost} lost, {doubled} doubled",
                goal="0 lost, 0 doubled",
                met=lost == 0 and doubled == 0,
            ),
            figures.value(
                "200 → loaded latency",
                value=f"p50 {percentile(latencies, 0.5):.2f} s, p99 {percentile(latencies, 0.99):.2f} s",
                note=f"loader every {load_seconds} s{', resolving identities' if resolve else ''}; {len(latencies)} probes; "
                f"spool drained {drained:.1f} s after the last 200",
            ),
        ],
        "details": {
            "acknowledged_events_per_second": round(rate),
            "acknowledged_events": acked_events,
            "failures": sent["failures"][:5],
            "spool_insert_events_per_second": round(base["events"] / base["insert_seconds"]),
            "read_validate_events_per_second": round(base["events"] / base["read_seconds"]),
            "single_track_events_per_second": round(single["events"] / single["seconds"]),
            "latency_p50_seconds": round(percentile(latencies, 0.5), 3),
            "latency_p99_seconds": round(percentile(latencies, 0.99), 3),
            "latency_mean_seconds": round(statistics.fmean(latencies), 3),
            "drained_seconds_after_last_ack": round(drained, 2),
            "stored": len(stored),
            "lost": lost,
            "doubled": doubled,
        },
        "warnings": [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--load-seconds", type=float, default=2.0, help="GUANXI_EVENTS_LOAD_SECONDS of the server"
    )
    parser.add_argument("--app-db-url", default=None, help="app database (default: a SQLite file)")
    parser.add_argument(
        "--resolve", action="store_true", help="resolve identities after each pass (GUANXI_EVENTS_RESOLVE)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args()
    result = measure(
        args.events, args.batch, args.connections, args.load_seconds, args.app_db_url, args.resolve
    )
    d = result["details"]
    rate = d["acknowledged_events_per_second"]
    print(f"spool insert, no HTTP      : {d['spool_insert_events_per_second']:>9,} events/s  (baseline)")
    print(f"read + validate, no HTTP   : {d['read_validate_events_per_second']:>9,} events/s")
    print(f"single /v1/track calls     : {d['single_track_events_per_second']:>9,} events/s  (baseline)")
    print(
        f"/v1/batch x{args.batch}, {args.connections} conns : {rate:>9,} events/s acknowledged  (goal ≥ 5,000)"
    )
    print(f"ratio batch / spool insert : {rate / d['spool_insert_events_per_second']:.2f}x")
    print(f"ratio batch / single calls : {rate / d['single_track_events_per_second']:.1f}x")
    print(
        f"200 → loaded               : p50 {d['latency_p50_seconds']:.2f} s  p99 {d['latency_p99_seconds']:.2f} s"
    )
    print(f"after the last 200         : spool drained in {d['drained_seconds_after_last_ack']:.1f} s")
    print(f"raw_events                 : {d['stored']:,} stored, {d['lost']} lost, {d['doubled']} doubled")
    if d["failures"]:
        print("failures:", *d["failures"], sep="\n  ")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
