"""``guanxi serve`` migrates the app database first, then hands the app to uvicorn."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import inspect
from typer.testing import CliRunner

from guanxi.appdb.database import make_engine
from guanxi.cli import serve
from guanxi.config import Settings


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
    result = CliRunner().invoke(serve.app, ["--host", "0.0.0.0", "--port", "9000"])
    assert result.exit_code == 0, result.output
    assert seen == [("0.0.0.0", 9000)]
