"""The import and quality commands, run as a user runs them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from guanxi.cli.main import app


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("GUANXI_WAREHOUSE_URL", settings.warehouse_url)
    monkeypatch.setenv("GUANXI_PROGRESS", "false")
    return CliRunner()


def test_import_prints_the_report_and_quality_prints_json(cli_env, ingest_data):
    result = cli_env.invoke(
        app, ["import", "orders", str(ingest_data / "taobao_orders_gbk_with_broken_rows.csv")]
    )

    assert result.exit_code == 0, result.output
    assert "taobao-orders" in result.output
    assert "unknown_status" in result.output

    result = cli_env.invoke(app, ["quality", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["sections"]["quarantine"]["rows"][0]["table"] == "orders"


def test_import_json_report(cli_env, ingest_data):
    result = cli_env.invoke(app, ["import", "customers", str(ingest_data / "crm_customers.tsv"), "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["rows_loaded"], report["rows_quarantined"], report["warnings"]) == (3, 1, 3)


def test_errors_print_a_code_and_exit_2(cli_env, ingest_data):
    result = cli_env.invoke(app, ["import", "orders", str(ingest_data / "nope.csv")])

    assert result.exit_code == 2
    assert "[file_unreadable]" in result.output
    assert "nope.csv" in result.output


def test_presets_lists_platform_exports(cli_env):
    result = cli_env.invoke(app, ["presets"])

    assert result.exit_code == 0
    for name in ("taobao-orders", "jd-orders", "youzan-orders", "shopify-orders"):
        assert name in result.output
