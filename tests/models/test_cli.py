"""``guanxi models``: run, show, migration, defaults — through the Typer app."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from guanxi.cli.models import app
from guanxi.config import get_settings
from guanxi.warehouse import connect
from tests.models.test_run import seed_shop


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "GUANXI_ENV": "test",
        "GUANXI_DATA_DIR": str(tmp_path),
        "GUANXI_WAREHOUSE_URL": f"duckdb://{tmp_path / 'warehouse.duckdb'}",
        "GUANXI_MODELS_CONFIG": str(tmp_path / "models.yaml"),
        "COLUMNS": "200",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    con = connect(get_settings())
    seed_shop(con)
    con.disconnect()
    return values


def test_run_show_and_migration(env: dict[str, str]) -> None:
    runner = CliRunner()
    # when the models run on two dates
    first = runner.invoke(app, ["run", "--as-of", "2024-12-31"])
    second = runner.invoke(app, ["run", "--as-of", "2025-03-31"])
    # then each prints its summary and segments
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "customers" in first.output
    assert "14" in first.output
    assert "Champions" in first.output
    assert "warning: clv skipped" in first.output
    # and a customer can be shown
    shown = runner.invoke(app, ["show", "1"])
    assert shown.exit_code == 0, shown.output
    assert "points balance" in shown.output
    assert "600" in shown.output
    # and the migration matrix between the dates lists the groups
    moved = runner.invoke(
        app, ["migration", "--from", "2024-12-31", "--to", "2025-03-31", "--by", "rfm_segment"]
    )
    assert moved.exit_code == 0, moved.output
    assert "rfm_segment: 2024-12-31 → 2025-03-31" in moved.output
    assert "Champions" in moved.output


def test_errors_print_code_and_exit_1(env: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["show", "999"])
    assert result.exit_code == 1
    assert "not_found" in result.output


def test_an_invalid_models_file_is_reported(env: dict[str, str]) -> None:
    Path(env["GUANXI_MODELS_CONFIG"]).write_text("rfm:\n  window_days: 0\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--as-of", "2024-12-31"])
    assert result.exit_code == 1
    assert "config_invalid" in result.output
    assert "rfm.window_days" in result.output


def test_defaults_writes_the_template_once(env: dict[str, str]) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["defaults", "--write"]).exit_code == 0
    assert "segment_grid" in Path(env["GUANXI_MODELS_CONFIG"]).read_text(encoding="utf-8")
    again = runner.invoke(app, ["defaults", "--write"])
    assert again.exit_code == 1
    assert "already exists" in again.output
