"""The whole send path under load: campaign wave build and delivery, messages/s against bare client loops.

    .venv/bin/python bench/sending.py [--customers 20000] [--workers 1,2] [--batch 20]
        [--postgres URL] [--channels webhook,email] [--profile PATH] [--json PATH]

A generated warehouse of ``--customers`` customers (DuckDB, a temporary folder); consent granted for
every e-mail address but 5 % revoked; 1 % of the people suppressed (their e-mail on every medium,
their webhook address on ``webhook``); 3 % already contacted twice this week (the cap is 2 per 7
days). One campaign per channel (``schedule: now``, every customer listed) is created, launched and
built by the real ``campaigns.wave`` job (``queue_due_waves`` + ``run_pending``), then delivered by
real ``guanxi worker`` processes (started before the build, so they pick the wave up when its
transaction commits) to sinks in a process of their own:

* a threaded HTTP/1.1 webhook sink that de-duplicates on ``Idempotency-Key``;
* an aiosmtpd SMTP sink that de-duplicates on ``Message-ID``.

Reported per app database (SQLite, and PostgreSQL with ``--postgres``: a private schema, dropped
after) and per number of workers (SQLite: one only; ``--workers`` applies to PostgreSQL):

* **build**: seconds and messages/s of the wave job (audience, rules, render, outbox write);
* **delivery**: messages/s from the build's commit until no message is pending, sending or failed;
* **baselines**, measured in the same run against the same sinks: a bare ``httpx`` loop (one
  kept-alive client) posting the same number of signed bodies, serially and from as many threads as
  the worker sends at once (``worker_send_concurrency``, the webhook ratio's baseline), a bare
  ``smtplib`` loop (one SMTP session per message, and one session for all — the e-mail ratio's
  baseline, since the product keeps its session open), and the ratio product/baseline.

Goal (the issue): ≥ 1,000 messages/s to the webhook sink on the 2-core reference machine (met by two
workers on PostgreSQL with ``--batch 100``: 1,530 msg/s; docs/outbox.md has the table).
``--profile PATH`` also delivers the webhook wave once with an in-process worker under cProfile
(SQLite) and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import re
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

GUANXI = "from guanxi.cli.main import main; main()"
SEND_THREADS = 8
"""The worker's default ``worker_send_concurrency``."""
SECRET = "whsec-bench"  # noqa: S105 - a benchmark secret
CHANNELS = ("webhook", "email")
UNFINISHED = ("pending", "sending", "failed")


# --- the sinks (their own process, so they do not share the GIL with the client under test) ---


class _Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.raw: dict[str, int] = {"webhook": 0, "email": 0}
        self.keys: dict[str, set[str]] = {"webhook": set(), "email": set()}

    def add(self, channel: str, key: str) -> None:
        with self.lock:
            self.raw[channel] += 1
            self.keys[channel].add(key)

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return {c: {"raw": self.raw[c], "distinct": len(self.keys[c])} for c in self.raw}

    def reset(self) -> None:
        with self.lock:
            for channel in self.raw:
                self.raw[channel] = 0
                self.keys[channel] = set()


_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def serve_sinks(ports: Any) -> None:
    """Run both sinks until killed; put (http port, smtp port) on ``ports``."""
    from aiosmtpd.controller import Controller  # noqa: PLC0415

    counts = _Counts()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            if self.path == "/reset":
                counts.reset()
            else:
                counts.add("webhook", self.headers.get("Idempotency-Key", ""))
            self._answer(b'{"id":"ok"}')

        def do_GET(self) -> None:
            self._answer(json.dumps(counts.snapshot()).encode())

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Mailbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            found = _MESSAGE_ID.search(envelope.content or b"")
            counts.add("email", found.group(1).decode() if found else uuid.uuid4().hex)
            return "250 OK"

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    http.daemon_threads = True
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    smtp = Controller(Mailbox(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    ports.put((http.server_address[1], smtp_port))
    http.serve_forever()


class Sinks:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        ports = context.Queue()
        self.process = context.Process(target=serve_sinks, args=(ports,), daemon=True)
        self.process.start()
        self.http_port, self.smtp_port = ports.get(timeout=60)
        self.client = httpx.Client(timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/hook"

    def counts(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = self.client.get(self.url).json()
        return result

    def reset(self) -> None:
        self.client.post(f"http://127.0.0.1:{self.http_port}/reset", content=b"")

    def stop(self) -> None:
        self.client.close()
        self.process.kill()
        self.process.join(10)


# --- baselines ---


def httpx_baseline(sinks: Sinks, count: int, threads: int = 1) -> dict[str, Any]:
    """A bare loop: one kept-alive httpx client posting ``count`` signed JSON bodies from ``threads``
    threads (the worker sends this many at once on a concurrent channel)."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from guanxi.marketing.channels.webhook import signature  # noqa: PLC0415

    sinks.reset()
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=threads)) as client:

        def post(n: int) -> None:
            body = json.dumps({"idempotency_key": f"base:{n}", "body": f"客户{n}，双11 好礼等你"}).encode()
            client.post(
                sinks.url,
                content=body,
                headers={"Idempotency-Key": f"base:{n}", "X-Guanxi-Signature": signature(SECRET, body)},
            )

        started = time.perf_counter()
        if threads == 1:
            for n in range(count):
                post(n)
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(post, range(count)))
        seconds = time.perf_counter() - started
    assert sinks.counts()["webhook"]["distinct"] == count
    return {"messages": count, "seconds": round(seconds, 3), "per_second": round(count / seconds, 1)}


def smtplib_baseline(sinks: Sinks, count: int, *, one_session: bool) -> dict[str, Any]:
    """A bare smtplib loop: a session per message, or one session for all (as the product keeps one)."""
    sinks.reset()

    def mail(n: int) -> EmailMessage:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            "shop@bench.example",
            f"c{n}@bench.example",
            "双11",
        )
        message["Message-ID"] = f"<base.{n}@bench.example>"
        message.set_content(f"客户{n}，双11 好礼等你")
        return message

    started = time.perf_counter()
    if one_session:
        with smtplib.SMTP("127.0.0.1", sinks.smtp_port, timeout=30) as client:
            for n in range(count):
                client.send_message(mail(n))
    else:
        for n in range(count):
            with smtplib.SMTP("127.0.0.1", sinks.smtp_port, timeout=30) as client:
                client.send_message(mail(n))
    seconds = time.perf_counter() - started
    assert sinks.counts()["email"]["distinct"] == count
    return {"messages": count, "seconds": round(seconds, 3), "per_second": round(count / seconds, 1)}


# --- the product path ---


@contextmanager
def app_database(folder: Path, postgres: str | None) -> Iterator[str]:
    """A SQLite file in ``folder``, or a fresh PostgreSQL schema (dropped afterwards); yields its URL."""
    if postgres is None:
        yield f"sqlite:///{folder / 'app.sqlite'}"
        return
    from sqlalchemy import create_engine, make_url, text  # noqa: PLC0415

    schema = f"guanxi_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(postgres).set(drivername="postgresql+psycopg"))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(postgres)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def seed_warehouse(con: Any, customers: int) -> None:
    from guanxi.tables import CUSTOMERS  # noqa: PLC0415

    ids = list(range(1, customers + 1))
    columns: dict[str, list[Any]] = {name: [None] * customers for name in CUSTOMERS.columns}
    columns["customer_id"] = ids
    columns["name"] = [f"客户{n}" for n in ids]
    columns["email"] = [f"c{n}@bench.example" for n in ids]
    columns["city"] = ["深圳" if n % 2 else "杭州" for n in ids]
    columns["birthday"] = [date(1990, 1, 1)] * customers
    schema = CUSTOMERS.schema.to_pyarrow()
    con.create_table(CUSTOMERS.name, pa.Table.from_pydict(columns, schema=schema), overwrite=True)


def seed_app_database(sessions: Any, customers: int, now: datetime) -> dict[str, int]:
    """Consent (5 % revoked), suppressions (1 %), contacts (3 % at the cap); returns how many of each."""
    from sqlalchemy import insert  # noqa: PLC0415

    from guanxi.marketing import frequency, suppression  # noqa: PLC0415
    from guanxi.marketing.consent import ConsentRecord, ConsentState  # noqa: PLC0415

    before = now - timedelta(days=30)
    records, states, contacts = [], [], []
    for n in range(1, customers + 1):
        state = "revoked" if n % 20 == 0 else "granted"
        address = f"c{n}@bench.example"
        common = {
            "medium": "email",
            "address": address,
            "customer_id": str(n),
            "state": state,
            "source": "import",
            "at": before,
        }
        records.append({"id": n, **common, "recorded_at": before, "actor": "bench", "proof": {}})
        states.append({**common, "record_id": n})
        if n % 33 == 5:
            contacts.extend(
                {
                    "customer_id": str(n),
                    "at": now - timedelta(days=d),
                    "channel": "email",
                    "transactional": False,
                    "campaign_id": None,
                    "message_id": None,
                }
                for d in (1, 3)
            )
    suppressed = [n for n in range(1, customers + 1) if n % 100 == 7]
    with sessions() as session, session.begin():
        for start in range(0, customers, 5000):
            session.execute(insert(ConsentRecord), records[start : start + 5000])
            session.execute(insert(ConsentState), states[start : start + 5000])
        frequency.log_contacts(session, contacts)
        for n in suppressed:
            suppression.suppress(
                session, medium="*", address=f"c{n}@bench.example", reason="complaint", actor="bench", now=now
            )
            suppression.suppress(
                session, medium="webhook", address=str(n), reason="complaint", actor="bench", now=now
            )
    return {"revoked": customers // 20, "suppressed": len(suppressed), "capped": len(contacts) // 2}


def definition(channel: str, customers: int) -> dict[str, Any]:
    content = {
        "subject": "双11｜{{ name | default('亲') }}",
        "body": "{{ name | default('亲') }}，双11 好礼等你",
    }
    return {
        "name": f"bench {channel}",
        "purpose": "notice",
        "audience": {"customers": [str(n) for n in range(1, customers + 1)]},
        "channels": [channel],
        "control": 0,  # the benchmark measures sending: everyone who passes the rules is sent to
        "content": {channel: content},
        "schedule": {"mode": "now"},
    }


class Scenario:
    """One fresh app database + warehouse, its worker processes, and the sinks."""

    def __init__(self, folder: Path, app_db_url: str, sinks: Sinks, customers: int, batch: int) -> None:
        from pydantic import SecretStr  # noqa: PLC0415

        from guanxi.appdb.database import make_engine, session_factory  # noqa: PLC0415
        from guanxi.appdb.migrate import upgrade  # noqa: PLC0415
        from guanxi.config import get_settings  # noqa: PLC0415
        from guanxi.jobs.writer import WriterLock  # noqa: PLC0415
        from guanxi.marketing.channels.smtp import SmtpSettings  # noqa: PLC0415
        from guanxi.marketing.channels.webhook import WebhookSettings  # noqa: PLC0415
        from guanxi.warehouse import connect  # noqa: PLC0415

        self.folder, self.sinks, self.customers, self.batch = folder, sinks, customers, batch
        self.settings = get_settings(
            env="test",
            data_dir=folder,
            warehouse_url=f"duckdb://{folder / 'warehouse.duckdb'}",
            app_db_url=app_db_url,
            progress=False,
            marketing_quiet_start="00:00",
            marketing_quiet_end="00:00",  # no quiet hours: the bench may run at night
            public_url="https://shop.example",
        )
        self.channel_settings = {
            "webhook": WebhookSettings(url=sinks.url, secret=SecretStr(SECRET)),
            "email": SmtpSettings(
                host="127.0.0.1",
                port=sinks.smtp_port,
                security="plain",
                mail_from="店铺 <shop@bench.example>",
            ),
        }
        self.engine = make_engine(self.settings)
        upgrade(self.settings, engine=self.engine)
        self.sessions = session_factory(self.engine)
        self.warehouse = connect(self.settings)
        # this process is the warehouse's writer (as `guanxi serve` would be): the workers only deliver
        self.lock = WriterLock(self.settings, role="bench", takes_jobs=True)
        assert self.lock.acquire()
        self.now = datetime.now(UTC)
        seed_warehouse(self.warehouse, customers)
        self.seeded = seed_app_database(self.sessions, customers, self.now)
        self.workers: list[subprocess.Popen[bytes]] = []

    def worker_env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("GUANXI_")}
        env.update(
            {
                "GUANXI_ENV": "test",
                "GUANXI_APP_DB_URL": self.settings.app_db_url,
                "GUANXI_DATA_DIR": str(self.folder),
                "GUANXI_WAREHOUSE_URL": self.settings.warehouse_url,
                "GUANXI_MARKETING_QUIET_START": "00:00",
                "GUANXI_MARKETING_QUIET_END": "00:00",
                "GUANXI_WEBHOOK_URL": self.sinks.url,
                "GUANXI_WEBHOOK_SECRET": SECRET,
                "GUANXI_SMTP_HOST": "127.0.0.1",
                "GUANXI_SMTP_PORT": str(self.sinks.smtp_port),
                "GUANXI_SMTP_SECURITY": "plain",
                "GUANXI_MAIL_FROM": "店铺 <shop@bench.example>",
            }
        )
        return env

    def start_workers(self, count: int) -> None:
        env = self.worker_env()
        for number in range(count):
            log = (self.folder / f"w{number}.log").open("wb")
            self.workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        GUANXI,
                        "worker",
                        "--id",
                        f"w{number}",
                        "--poll",
                        "0.05",
                        "--batch",
                        str(self.batch),
                    ],
                    env=env,
                    cwd=self.folder,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 120
        for number in range(count):
            while f"worker w{number} started" not in (self.folder / f"w{number}.log").read_text(
                errors="replace"
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker w{number} did not start")
                time.sleep(0.1)

    def stop_workers(self) -> None:
        for process in self.workers:
            process.terminate()
        for process in self.workers:
            process.wait(60)
        self.workers = []

    def build(self, channel: str) -> dict[str, Any]:
        """Create, launch and build the campaign for ``channel``; returns its timing and counts."""
        from guanxi.jobs.kinds import JobContext  # noqa: PLC0415
        from guanxi.jobs.registry import job_kinds  # noqa: PLC0415
        from guanxi.jobs.runner import run_pending  # noqa: PLC0415
        from guanxi.marketing.campaigns import service  # noqa: PLC0415
        from guanxi.marketing.campaigns.jobs import queue_due_waves  # noqa: PLC0415

        now = datetime.now(UTC)
        with self.sessions() as session, session.begin():
            service.create_campaign(
                session, f"bench-{channel}", definition(channel, self.customers), actor="bench", now=now
            )
            service.launch(session, f"bench-{channel}", actor="bench", now=now)
        started = time.perf_counter()
        queue_due_waves(
            JobContext(
                settings=self.settings,
                warehouse=self.warehouse,
                sessions=self.sessions,
                now=datetime.now(UTC),
            )
        )
        ran = run_pending(
            settings=self.settings,
            sessions=self.sessions,
            warehouse=self.warehouse,
            worker_id="bench",
            kinds=job_kinds(),
            writer=True,
        )
        seconds = time.perf_counter() - started
        assert ran == 1, f"{ran} jobs ran"
        with self.sessions() as session:
            counts = service.status(session, f"bench-{channel}").waves[0].counts
        queued = int(counts["queued"])
        return {
            "seconds": round(seconds, 3),
            "queued": queued,
            "per_second": round(queued / seconds, 1),
            "counts": counts,
        }

    def unfinished(self, channel: str) -> int:
        from sqlalchemy import func, select  # noqa: PLC0415

        from guanxi.marketing.outbox import OutboxMessage  # noqa: PLC0415

        with self.sessions() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.channel == channel, OutboxMessage.state.in_(UNFINISHED))
                )
                or 0
            )

    def sent(self, channel: str) -> int:
        from sqlalchemy import func, select  # noqa: PLC0415

        from guanxi.marketing.outbox import OutboxMessage  # noqa: PLC0415

        with self.sessions() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.channel == channel, OutboxMessage.state == "sent")
                )
                or 0
            )

    def wait_delivered(self, channel: str, started: float, timeout: float = 1800) -> float:
        while self.unfinished(channel):
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{channel}: {self.unfinished(channel)} messages still unsent")
            time.sleep(0.05)
        return time.perf_counter() - started

    def deliver_in_process(self, channel: str, profile: Path | None) -> float:
        """Deliver with a Worker in this process (SQLite profiling); returns seconds."""
        from guanxi.marketing.channels import ChannelSet  # noqa: PLC0415
        from guanxi.marketing.worker import Worker  # noqa: PLC0415

        channels = ChannelSet(channel_settings=self.channel_settings)
        worker = Worker(
            self.sessions,
            self.settings,
            "bench-profiled",
            batch=self.batch,
            stop_event=threading.Event(),
            channels=channels,
        )
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        while worker.run_once():
            pass
        profiler.disable()
        seconds = time.perf_counter() - started
        channels.close()
        if profile is not None:
            profiler.dump_stats(profile)
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
            print(text.getvalue())
        return seconds

    def close(self) -> None:
        self.stop_workers()
        self.lock.release()
        self.warehouse.disconnect()
        self.engine.dispose()


def run_scenario(
    name: str, app_db_url: str, sinks: Sinks, args: argparse.Namespace, workers: int, folder: Path
) -> dict[str, Any]:
    scenario = Scenario(folder, app_db_url, sinks, args.customers, args.batch)
    result: dict[str, Any] = {"app_db": name, "workers": workers, "batch": args.batch, **scenario.seeded}
    try:
        scenario.start_workers(workers)
        for channel in args.channels:
            sinks.reset()
            build = scenario.build(channel)
            started = time.perf_counter()
            seconds = scenario.wait_delivered(channel, started)
            sent = scenario.sent(channel)
            seen = sinks.counts()[channel]
            assert sent == build["queued"], (sent, build)
            assert seen["distinct"] == sent, (seen, sent)
            result[channel] = {
                "build": build,
                "delivery": {
                    "messages": sent,
                    "seconds": round(seconds, 3),
                    "per_second": round(sent / seconds, 1),
                    "sink": seen,
                },
            }
            print(
                f"  {name:10} {workers} worker(s) {channel:8} build {build['seconds']:7.2f}s "
                f"({build['per_second']:8.0f} msg/s, {build['queued']} queued)  "
                f"delivery {seconds:7.2f}s ({sent / seconds:7.0f} msg/s, sink {seen})",
                flush=True,
            )
    finally:
        scenario.close()
    return result


def profile_run(sinks: Sinks, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    scenario = Scenario(folder, f"sqlite:///{folder / 'app.sqlite'}", sinks, args.customers, args.batch)
    try:
        sinks.reset()
        build = scenario.build("webhook")
        seconds = scenario.deliver_in_process("webhook", args.profile)
        sent = scenario.sent("webhook")
        return {
            "queued": build["queued"],
            "sent": sent,
            "seconds": round(seconds, 3),
            "per_second": round(sent / seconds, 1),
            "profiled": True,
        }
    finally:
        scenario.close()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=20, help="worker batch (GUANXI_WORKER_BATCH default 20)")
    parser.add_argument("--workers", default="1,2", help="worker processes on PostgreSQL, comma-separated")
    parser.add_argument("--postgres", default=os.environ.get("GUANXI_TEST_POSTGRES") or None)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--channels", default=",".join(CHANNELS))
    parser.add_argument("--profile", type=Path, help="also profile an in-process worker; pstats to PATH")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.channels = [c for c in args.channels.split(",") if c]
    postgres = None if args.no_postgres else args.postgres
    print(
        f"guanxi sending benchmark: {args.customers:,} customers, channels {', '.join(args.channels)}",
        flush=True,
    )
    sinks = Sinks()
    results: dict[str, Any] = {"customers": args.customers, "cores": os.cpu_count(), "runs": []}
    try:
        with tempfile.TemporaryDirectory(prefix="guanxi-bench-sending-") as tmp:
            root = Path(tmp)
            plans = [("sqlite", None, 1)]
            if postgres:
                plans += [("postgresql", postgres, int(w)) for w in args.workers.split(",") if w]
            for index, (name, url, workers) in enumerate(plans):
                folder = root / f"run{index}"
                folder.mkdir()
                with app_database(folder, url) as app_db_url:
                    results["runs"].append(run_scenario(name, app_db_url, sinks, args, workers, folder))
            messages = max(
                run[c]["delivery"]["messages"] for run in results["runs"] for c in args.channels if c in run
            )
            baselines: dict[str, Any] = {}
            if "webhook" in args.channels:
                baselines["httpx"] = httpx_baseline(sinks, messages)
                baselines[f"httpx_{SEND_THREADS}_threads"] = httpx_baseline(sinks, messages, SEND_THREADS)
            if "email" in args.channels:
                baselines["smtplib_session_per_message"] = smtplib_baseline(
                    sinks, messages, one_session=False
                )
                baselines["smtplib_one_session"] = smtplib_baseline(sinks, messages, one_session=True)
            results["baselines"] = baselines
            if args.profile:
                folder = root / "profile"
                folder.mkdir()
                results["profile"] = profile_run(sinks, args, folder)
    finally:
        sinks.stop()
    report(results, args.channels)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    return results


def report(results: dict[str, Any], channels: list[str]) -> None:
    base = results["baselines"]
    print("\nbaselines (same sinks, same run):")
    for name, value in base.items():
        print(f"  {name:30} {value['per_second']:8.0f} msg/s ({value['messages']} in {value['seconds']}s)")
    print("\nproduct path (delivery msg/s ÷ baseline):")
    for run in results["runs"]:
        for channel in channels:
            if channel not in run:
                continue
            delivery, build = run[channel]["delivery"], run[channel]["build"]
            baseline = base[
                f"httpx_{SEND_THREADS}_threads" if channel == "webhook" else "smtplib_one_session"
            ]
            ratio = delivery["per_second"] / baseline["per_second"]
            run[channel]["ratio"] = round(ratio, 3)
            goal = ""
            if channel == "webhook":
                goal = "  goal ≥ 1,000 msg/s: " + ("met" if delivery["per_second"] >= 1000 else "NOT met")
            print(
                f"  {run['app_db']:10} {run['workers']}w {channel:8} build {build['seconds']:6.2f}s "
                f"({build['per_second']:7.0f} msg/s)  delivery {delivery['per_second']:7.0f} msg/s  "
                f"ratio {ratio:5.2f}{goal}"
            )
    if "profile" in results:
        profiled = results["profile"]
        print(f"\nin-process worker under cProfile (SQLite, webhook): {profiled['per_second']:.0f} msg/s")


if __name__ == "__main__":
    main()
