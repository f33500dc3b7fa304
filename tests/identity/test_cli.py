"""The identity CLI, driven as a person would: resolve, show, block, merge, unmerge, review."""

from __future__ import annotations

import json

import pytest
import typer
from ibis.backends import BaseBackend
from typer.testing import CliRunner

from guanxi.cli.identity import customer_app, identity_app, resolve_command
from guanxi.config import Settings

from .conftest import load_scenario


@pytest.fixture
def cli(warehouse: BaseBackend, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """The commands mounted as guanxi.cli.main mounts them, on the test's warehouse file."""
    load_scenario(warehouse, "customer_360_timeline")
    load_scenario(warehouse, "two_profiles_same_phone")
    warehouse.disconnect()
    monkeypatch.setenv("GUANXI_ENV", "test")
    monkeypatch.setenv("GUANXI_WAREHOUSE_URL", settings.warehouse_url)
    monkeypatch.setenv("COLUMNS", "200")
    app = typer.Typer()
    app.command("resolve")(resolve_command)
    app.add_typer(customer_app, name="customer")
    app.add_typer(identity_app, name="identity")
    return app


def test_resolve_then_show_a_customer_by_phone(cli: typer.Typer) -> None:
    runner = CliRunner()
    resolved = runner.invoke(cli, ["resolve"])
    assert resolved.exit_code == 0, resolved.output
    assert "customers" in resolved.output
    shown = runner.invoke(cli, ["customer", "show", "135-0000-9000"])
    assert shown.exit_code == 0, shown.output
    for text in ("黄蓉", "taobao", "tb_huang", "huang.rong@example.cn", "T1001", "物流太慢", "timeline"):
        assert text in shown.output
    as_json = runner.invoke(cli, ["customer", "show", "2", "--json"])
    assert json.loads(as_json.output)["golden"]["name"] == "李雷"


def test_block_merge_unmerge_and_review_commands(cli: typer.Typer) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(
            cli, ["identity", "block", "add", "phone", "139 1234 5001", "--reason", "test"]
        ).exit_code
        == 0
    )
    listed = runner.invoke(cli, ["identity", "block", "list"])
    assert "+8613912345001" in listed.output
    runner.invoke(cli, ["resolve"])
    # the blocked phone no longer joins the two buyers: customers 3 and 4 are separate
    merged = runner.invoke(cli, ["customer", "merge", "3", "4", "--reason", "same buyer", "--actor", "ops"])
    assert merged.exit_code == 0, merged.output
    shown = runner.invoke(cli, ["customer", "show", "4", "--json"])
    assert json.loads(shown.output)["redirected_from"] == 4
    split = runner.invoke(cli, ["customer", "unmerge", "jd:jd_88231", "--actor", "ops"])
    assert split.exit_code == 0, split.output
    assert "0 pair(s)" in runner.invoke(cli, ["identity", "review"]).output
    assert runner.invoke(cli, ["identity", "block", "remove", "phone", "+8613912345001"]).exit_code == 0


def test_errors_are_reported_with_their_code(cli: typer.Typer) -> None:
    runner = CliRunner()
    runner.invoke(cli, ["resolve"])
    missing = runner.invoke(cli, ["customer", "show", "nobody@example.cn"])
    assert missing.exit_code == 2
    assert "not_found" in missing.output
    bad = runner.invoke(cli, ["customer", "unmerge", "no-colon"])
    assert bad.exit_code == 2
    assert "validation_failed" in bad.output
