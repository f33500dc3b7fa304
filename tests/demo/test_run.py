"""``run_demo`` and ``guanxi demo``: files written, then imported kind by kind through the import path."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from guanxi.cli.demo import app
from guanxi.config import Settings
from guanxi.demo import run_demo
from guanxi.demo.exports import IMPORT_ORDER
from guanxi.errors import ConfigError
from guanxi.warehouse import connect
from tests.demo.conftest import END


@pytest.mark.slow
def test_demo_imports_every_file_in_kind_order_and_quarantines_broken_rows(
    settings: Settings, tmp_path: Path
) -> None:
    # given a small demo with a visible share of broken rows
    result = run_demo(
        settings, orders=1_000, seed=3, out_dir=tmp_path / "demo", end=END, broken_fraction=0.01
    )
    kinds = [i.plan.kind for i in result.imports]
    # then every planned import ran, customers first and events last
    assert kinds == sorted(kinds, key=IMPORT_ORDER.index)
    assert len(result.imports) == 12
    assert all(i.report.rows_loaded > 0 for i in result.imports)
    assert result.rows_quarantined >= 5
    con = connect(settings)
    try:
        counts = {
            t: con.table(t).count().execute()
            for t in (
                "raw_customers",
                "raw_orders",
                "raw_order_items",
                "raw_tickets",
                "raw_events",
                "import_quarantine",
            )
        }
        sources = set(con.table("raw_orders").source.execute())
    finally:
        con.disconnect()
    assert counts["raw_orders"] >= 990
    assert counts["raw_order_items"] > counts["raw_orders"]
    assert counts["import_quarantine"] > 0
    assert sources == {"taobao", "jd", "youzan", "shopify"}
    assert min(counts.values()) > 0


def test_files_only_when_import_is_off(settings: Settings, tmp_path: Path) -> None:
    result = run_demo(settings, orders=300, seed=1, out_dir=tmp_path, end=END, import_files=False)
    assert result.imports == []
    assert {f.path.name for f in result.files} >= {"taobao_orders.csv", "jd_orders.xlsx", "truth.parquet"}


def test_sizes_outside_the_supported_range_are_refused(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="orders must be between"):
        run_demo(settings, orders=10, seed=1, out_dir=tmp_path, end=END, import_files=False)


def test_cli_writes_the_files_and_prints_a_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANXI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GUANXI_PROGRESS", "false")
    runner = CliRunner()
    out = tmp_path / "files"
    done = runner.invoke(
        app,
        ["--orders", "300", "--seed", "2", "--out", str(out), "--no-import", "--end-date", "2026-06-30"],
        env={"COLUMNS": "200"},
    )
    assert done.exit_code == 0, done.output
    assert "taobao_orders.csv" in done.output
    assert "300 orders" in done.output
    assert (out / "events.jsonl").is_file()


def test_cli_reports_a_bad_end_date_as_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANXI_DATA_DIR", str(tmp_path))
    done = CliRunner().invoke(app, ["--orders", "300", "--no-import", "--end-date", "30/06/2026"])
    assert done.exit_code == 2
    assert "config_invalid" in done.output
