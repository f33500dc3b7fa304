"""One writer: with `guanxi serve` holding a DuckDB warehouse, CLI commands from other processes are queued
to it and print what a direct run prints; a job killed mid-way leaves the warehouse as before and is retried."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

GUANXI = "from guanxi.cli.main import main; main()"
DATA = Path(__file__).parent.parent / "data" / "ingest"
ORDERS = DATA / "taobao_orders_gbk_with_broken_rows.csv"
CUSTOMERS = DATA / "crm_customers.tsv"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _env(folder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GUANXI_")}
    env.update(
        {
            "GUANXI_ENV": "test",
            "GUANXI_DATA_DIR": str(folder / "data"),
            "GUANXI_WAREHOUSE_URL": f"duckdb://{folder / 'data' / 'warehouse.duckdb'}",
            "GUANXI_APP_DB_URL": f"sqlite:///{folder / 'data' / 'app.sqlite'}",
            "GUANXI_JOBS_SCHEDULES": "false",
            "GUANXI_JOBS_POLL_SECONDS": "0.2",
            "GUANXI_JOBS_LEASE_SECONDS": "30",
            "GUANXI_PROGRESS": "false",
            "COLUMNS": "120",
        }
    )
    return env


def guanxi(folder: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", GUANXI, *args],
        env=_env(folder),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.1)


class Server:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.log = (folder / f"serve-{self.port}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", GUANXI, "serve", "--port", str(self.port), "--log-level", "warning"],
            env=_env(folder),
            cwd=folder,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, 60, "guanxi serve to answer")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"guanxi serve exited: {(self.folder / self.log.name).read_text()}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    result = guanxi(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    return tmp_path


@pytest.fixture
def server(folder: Path) -> Iterator[Server]:
    running = Server(folder)
    yield running
    running.stop()


def _normalised(text: str) -> str:
    """A report without what differs between two runs: batch and run ids, seconds, time stamps."""
    text = re.sub(r"\d{8}-\d{6}-[0-9a-f]{8}", "BATCH", text)
    text = re.sub(r"\d{8}T\d{6}-[0-9a-f]{8}", "RUN", text)
    text = re.sub(r"\d{8}-[0-9a-f]{12}", "MODELRUN", text)
    text = re.sub(r"\d+\.\d+", "N.N", text)
    return text


def test_commands_queued_to_the_server_print_what_a_direct_run_prints(
    folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    direct = tmp_path_factory.mktemp("direct")
    assert guanxi(direct, "init").returncode == 0
    steps = [
        ("import", "orders", str(ORDERS)),
        ("import", "customers", str(CUSTOMERS)),
        ("resolve",),
        ("models", "run", "--as-of", "2025-01-01"),
    ]
    expected = []
    for step in steps:
        result = guanxi(direct, *step)
        assert result.returncode == 0, result.stderr
        expected.append(_normalised(result.stdout))
    server = Server(folder)
    try:
        for step, want in zip(steps, expected, strict=True):
            result = guanxi(folder, *step)
            assert result.returncode == 0, result.stderr
            assert "queued as job" in result.stderr
            assert _normalised(result.stdout) == want
        jobs = guanxi(folder, "jobs", "list", "--json")
        assert jobs.returncode == 0
        assert '"state": "done"' in jobs.stdout
        # the server kept answering pages meanwhile, and reads what the jobs wrote
        assert httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()
    with duckdb.connect(str(folder / "data" / "warehouse.duckdb"), read_only=True) as con:
        assert con.sql("select count(*) from raw_orders").fetchone() == (3,)
        assert con.sql("select count(*) from customers").fetchone()[0] > 0  # type: ignore[index]


def test_a_failing_queued_command_fails_as_a_direct_run_does(folder: Path, server: Server) -> None:
    bad = folder / "orders.csv"
    bad.write_text("what,ever\n1,2\n", encoding="utf-8")
    result = guanxi(folder, "import", "orders", str(bad))
    assert result.returncode == 2
    assert "queued as job" in result.stderr
    assert "error [mapping_invalid]" in result.stderr
    server.stop()
    direct = guanxi(folder, "import", "orders", str(bad))
    assert direct.returncode == 2
    assert "queued" not in direct.stderr
    assert (
        direct.stderr.split("error [mapping_invalid]")[1][:120]
        == result.stderr.split("error [mapping_invalid]")[1][:120]
    )


def _big_orders(path: Path, rows: int) -> None:
    header = "订单编号,买家会员名,买家应付货款,总金额,买家实际支付金额,订单状态,收货人姓名,收货地址,联系手机,订单创建时间,订单付款时间\n"
    with path.open("w", encoding="utf-8") as out:
        out.write(header)
        for n in range(rows):
            out.write(
                f"{4000000000000000 + n},买家{n % 5000},99.00,99.00,99.00,交易成功,张三,"
                f"浙江省 杭州市 西湖区 文三路 {n % 300}号,138{n % 100000000:08d},2024-11-11 00:01:02,2024-11-11 00:01:30\n"
            )


def _job_state(folder: Path, job_id: int) -> tuple[str, int, str]:
    import sqlite3  # noqa: PLC0415

    with sqlite3.connect(folder / "data" / "app.sqlite") as con:
        state, attempts, message = con.execute(
            "select state, attempts, progress_message from jobs where id = ?", (job_id,)
        ).fetchone()
    return str(state), int(attempts), str(message)


def test_a_job_killed_mid_way_leaves_the_warehouse_as_before_and_runs_again(folder: Path) -> None:
    small = guanxi(folder, "import", "orders", str(ORDERS))
    assert small.returncode == 0, small.stderr
    big = folder / "big_orders.csv"
    _big_orders(big, 400_000)
    server = Server(folder)
    queued = guanxi(folder, "jobs", "run", "import", "--queue", "-p", "kind=orders", "-p", f"path={big}")
    assert queued.returncode == 0, queued.stderr
    job_id = int(re.search(r"job (\d+) queued", queued.stdout).group(1))  # type: ignore[union-attr]
    wait_for(
        lambda: _job_state(folder, job_id)[2] in {"normalise", "validate", "merge"},
        120,
        "the import to be under way",
    )
    server.stop(signal.SIGKILL)
    state, attempts, _ = _job_state(folder, job_id)
    assert (state, attempts) == ("running", 1)
    with duckdb.connect(str(folder / "data" / "warehouse.duckdb")) as con:
        assert con.sql("select count(*) from raw_orders").fetchone() == (3,)
        assert con.sql("select count(*) from import_batches").fetchone() == (1,)
    restarted = Server(folder)  # the next writer takes the orphan over at once
    try:
        wait_for(
            lambda: _job_state(folder, job_id)[0] in {"done", "failed"}, 240, "the retried import to end"
        )
        state, attempts, _ = _job_state(folder, job_id)
        assert (state, attempts) == ("done", 2)
    finally:
        restarted.stop()
    with duckdb.connect(str(folder / "data" / "warehouse.duckdb"), read_only=True) as con:
        assert con.sql("select count(*) from raw_orders").fetchone() == (3 + 400_000,)
        assert con.sql("select count(*) from import_batches").fetchone() == (2,)


def test_a_worker_runs_queued_jobs_when_no_server_holds_the_warehouse(folder: Path) -> None:
    queued = guanxi(folder, "jobs", "run", "import", "--queue", "-p", "kind=orders", "-p", f"path={ORDERS}")
    assert queued.returncode == 0, queued.stderr
    job_id = int(re.search(r"job (\d+) queued", queued.stdout).group(1))  # type: ignore[union-attr]
    assert _job_state(folder, job_id)[0] == "queued"
    ran = guanxi(folder, "worker", "--once")
    assert ran.returncode == 0, ran.stderr
    assert "1 jobs run" in ran.stdout
    assert _job_state(folder, job_id)[:2] == ("done", 1)
    shown = guanxi(folder, "jobs", "show", str(job_id), "--json")
    assert '"rows_loaded": 3' in shown.stdout
