"""``guanxi segments …`` end to end: app database and warehouse files, CliRunner."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from guanxi.cli.main import app
from guanxi.config import Settings
from guanxi.warehouse import connect

from .scenario import build

runner = CliRunner()


@pytest.fixture
def env(app_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """Environment pointing the CLI at a scenario warehouse file and a fresh app database."""
    con = connect(app_settings)
    build(con)
    con.disconnect()
    monkeypatch.setenv("GUANXI_APP_DB_URL", app_settings.app_db_url)
    monkeypatch.setenv("GUANXI_WAREHOUSE_URL", app_settings.warehouse_url)
    monkeypatch.setenv("GUANXI_DATA_DIR", str(app_settings.data_dir))
    monkeypatch.setenv("GUANXI_ENV", "test")
    monkeypatch.setenv("GUANXI_TIMEZONE", "Asia/Shanghai")
    return app_settings


def spec_file(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str) -> str:
    result = runner.invoke(app, ["segments", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_create_list_show_preview_refresh_members_archive(env: Settings, tmp_path: Path) -> None:
    big = spec_file(tmp_path, "name: 高价值\nwhere: clv >= 500\n")
    assert "created segment big (高价值)" in run("create", "big", "--file", str(big))
    gd = spec_file(tmp_path, "where: province = 广东\n", "gd.yaml")
    run("create", "gd", "--file", str(gd), "--name", "广东客户")

    listing = run("list")
    assert "big" in listing
    assert "广东客户" in listing

    shown = run("show", "big")
    assert "score: clv" in shown
    assert "op: '>='" in shown

    preview = run("preview", "big", "--as-of", "2024-12-31", "--sample", "2")
    assert "3 members as of 2024-12-31" in preview
    unsaved = spec_file(tmp_path, "where: {all: [{segment: big}, province = 广东]}\n", "x.yaml")
    assert "1 members as of 2024-12-31" in run("preview", "--file", str(unsaved), "--as-of", "2024-12-31")

    refreshed = run("refresh", "--as-of", "2024-12-31")
    assert "segments as of 2024-12-31" in refreshed
    assert "│ big     │       3 │       3 │    0 │" in refreshed
    assert "│ gd      │       3 │       3 │    0 │" in refreshed
    again = run("refresh", "big", "--as-of", "2024-12-31")  # the same date reports the same counts
    assert "│ big     │       3 │       3 │    0 │" in again

    out = tmp_path / "gd.csv"
    assert "wrote 3 members" in run("members", "gd", "--csv", str(out))
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["customer_id"], r["name"], r["province"]) for r in rows] == [
        ("1", "一", "广东"),
        ("2", "二", "广东"),
        ("6", "六", "广东"),
    ]
    assert "+8613800000001" in run("members", "gd")

    assert "archived segment gd" in run("archive", "gd")
    assert "gd" not in run("list")
    assert "gd" in run("list", "--archived")


def test_an_invalid_spec_prints_every_problem_and_exits_2(env: Settings, tmp_path: Path) -> None:
    bad = spec_file(tmp_path, "where: {all: [nope = 1, clv >= abc]}\n")
    result = runner.invoke(app, ["segments", "create", "bad", "--file", str(bad)])
    assert result.exit_code == 2
    assert "where.all[0].score: customer_scores has no column 'nope' [unknown_column]" in result.output
    assert "where.all[1].value" in result.output
    assert "[segment_invalid]" in result.output


def test_unknown_segment_and_missing_file_are_clean_errors(env: Settings, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["segments", "show", "ghost"])
    assert missing.exit_code == 2
    assert "[not_found]" in missing.output
    no_file = runner.invoke(app, ["segments", "create", "x", "--file", str(tmp_path / "none.yaml")])
    assert no_file.exit_code == 2
    assert "no such spec file" in no_file.output
    both = runner.invoke(app, ["segments", "preview"])
    assert both.exit_code == 2
    assert "give a segment KEY or --file" in both.output


def test_examples_are_listed_with_their_files(env: Settings) -> None:
    output = run("examples")
    assert "sleeping_champions" in output
    assert "sleeping_champions.yaml" in output


def test_examples_install_once_and_refresh(env: Settings) -> None:
    first = run("examples", "--install")
    assert "created segment sleeping_champions" in first
    again = run("examples", "--install")
    assert "created segment" not in again
    assert "kept segment sleeping_champions (already defined)" in again
    listing = run("list")
    for key in ("at_risk_high_value", "maternal_infant_buyers", "one_time_buyers_30_90"):
        assert key in listing
    refreshed = run("refresh", "--as-of", "2024-12-31")
    assert "sleeping_champions" in refreshed


def test_show_prints_the_rule_in_words(env: Settings, tmp_path: Path) -> None:
    lapsed = spec_file(tmp_path, "where: {all: [clv >= 500, {behaviour: not_bought, within_days: 90}]}\n")
    run("create", "lapsed", "--file", str(lapsed))
    assert "全部满足：\n- CLV ≥ 500\n- 90 天内未购买\n" in run("show", "lapsed", "--lang", "zh-CN")
    english = run("show", "lapsed", "--lang", "en")
    assert "all of:\n- clv ≥ 500\n- not bought within 90 days\n" in english
    assert "behaviour: not_bought" in english  # the spec itself follows
