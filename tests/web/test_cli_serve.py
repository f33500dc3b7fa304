"""``guanxi serve`` migrates the app database first, then hands the app to uvicorn."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import inspect
from typer.testing import CliRunner

from guanxi.appdb.database import make_engine, session_factory
from guanxi.cli import serve
from guanxi.config import Settings
from guanxi.marketing import outbox
from tests.marketing.conftest import WEBHOOK_SECRET
from tests.marketing.receiver import WebhookReceiver


def test_serve_migrates_then_runs_uvicorn_on_localhost_8000(
    app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUANXI_APP_DB_URL", app_settings.app_db_url)
    monkeypatch.setenv("GUANXI_WAREHOUSE_URL", app_settings.warehouse_url)
    monkeypatch.setenv("GUANXI_DATA_DIR", str(app_settings.data_dir))
    calls: list[dict[str, Any]] = []

    def fake_run(app: object, **options: Any) -> None:
        engine = make_engine(app_settings)
        options["tables"] = set(inspect(engine).get_table_names())
        engine.dispose()
        calls.append({"app": app, **options})

    monkeypatch.setattr(serve.uvicorn, "run", fake_run)
    result = CliRunner().invoke(serve.app, [])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert isinstance(call["app"], FastAPI)
    assert (call["host"], call["port"]) == ("127.0.0.1", 8000)
    assert {"users", "api_keys", "audit_log"} <= call["tables"]


def test_serve_accepts_host_and_port(app_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANXI_APP_DB_URL", app_settings.app_db_url)
    seen: list[tuple[str, int]] = []
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **o: seen.append((o["host"], o["port"])))
    result = CliRunner().invoke(serve.app, ["--host", "0.0.0.0", "--port", "9000", "--no-deliver"])
    assert result.exit_code == 0, result.output
    assert seen == [("0.0.0.0", 9000)]


@pytest.fixture
def served_env(app_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    """``guanxi serve``'s environment: the test databases, the webhook channel posting to a real receiver."""
    receiver = WebhookReceiver(WEBHOOK_SECRET).start()
    monkeypatch.setenv("GUANXI_APP_DB_URL", app_settings.app_db_url)
    monkeypatch.setenv("GUANXI_WAREHOUSE_URL", app_settings.warehouse_url)
    monkeypatch.setenv("GUANXI_DATA_DIR", str(app_settings.data_dir))
    monkeypatch.setenv("GUANXI_WORKER_POLL_SECONDS", "0.1")
    monkeypatch.setenv("GUANXI_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("GUANXI_WEBHOOK_SECRET", WEBHOOK_SECRET)
    yield receiver
    receiver.stop()


def enqueue_one(settings: Settings, key: str) -> None:
    engine = make_engine(settings)
    try:
        with session_factory(engine)() as session, session.begin():
            outbox.enqueue(
                session, channel="webhook", recipient="crm", idempotency_key=key, now=datetime.now(UTC)
            )
    finally:
        engine.dispose()


def test_serve_delivers_the_outbox_while_it_serves_and_stops_delivering_after(
    app_settings: Settings, served_env: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []

    def fake_run(app: object, **options: Any) -> None:
        enqueue_one(app_settings, "serve:delivered")
        deadline = time.monotonic() + 20
        while not served_env.keys() and time.monotonic() < deadline:
            time.sleep(0.05)
        seen.append(served_env.keys())

    monkeypatch.setattr(serve.uvicorn, "run", fake_run)
    result = CliRunner().invoke(serve.app, [])
    assert result.exit_code == 0, result.output
    assert "delivering messages" in " ".join(result.output.split())
    assert seen == [["serve:delivered"]]
    assert serve.DELIVERY_THREAD not in {thread.name for thread in threading.enumerate()}


def test_serve_no_deliver_leaves_the_outbox_to_the_worker(
    app_settings: Settings, served_env: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[set[str]] = []

    def fake_run(app: object, **options: Any) -> None:
        enqueue_one(app_settings, "serve:left")
        time.sleep(0.5)  # five poll intervals: a delivering process would have sent it
        threads.append({thread.name for thread in threading.enumerate()})

    monkeypatch.setattr(serve.uvicorn, "run", fake_run)
    result = CliRunner().invoke(serve.app, ["--no-deliver"])
    assert result.exit_code == 0, result.output
    assert "left to `guanxi worker`" in " ".join(result.output.split())
    assert serve.DELIVERY_THREAD not in threads[0]
    assert served_env.keys() == []
    engine = make_engine(app_settings)
    with session_factory(engine)() as session:
        assert outbox.status_counts(session)["webhook"]["pending"] == 1
    engine.dispose()
