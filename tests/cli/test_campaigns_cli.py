"""``guanxi campaigns …`` and ``guanxi consent import`` as a new user runs them, on a real shop."""

from __future__ import annotations

from pathlib import Path

import pytest
from ibis.backends import BaseBackend
from typer.testing import CliRunner

from guanxi.cli.main import app
from guanxi.config import Settings
from guanxi.tables import CUSTOMERS
from tests.segments.scenario import insert

runner = CliRunner()

CAMPAIGN = """\
name: 会员日
audience:
  customers: ["1", "2", "3", "4"]
channels: [sms, email]
control: 0
content:
  sms:
    body: "【小店】{{ name | default('亲') }}，会员日 8 折"
  email:
    subject: "{{ name | default('亲') }}，会员日"
    body: 会员日 8 折
quiet_hours: {start: "00:00", end: "00:00"}
"""


@pytest.fixture
def shop(settings: Settings, warehouse: BaseBackend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    insert(
        warehouse,
        CUSTOMERS,
        [
            {"customer_id": 1, "name": "王芳", "phone": "+8613800000001"},
            {"customer_id": 2, "name": "李雷", "email": "lilei@shop.cn"},
            {"customer_id": 3, "email": "c3@shop.cn"},
            {"customer_id": 4},
        ],
    )
    warehouse.disconnect()
    for name, value in {
        "GUANXI_DATA_DIR": str(settings.data_dir),
        "GUANXI_WAREHOUSE_URL": settings.warehouse_url,
        "GUANXI_APP_DB_URL": settings.app_db_url,
        "GUANXI_ENV": "test",
        "GUANXI_PROGRESS": "false",
    }.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "consent.csv").write_text(
        "medium,address,state,at\nsms,13800000001,同意,2026-06-01T10:00:00+08:00\n"
        "email,LiLei@shop.cn,granted,\nemail,c3@shop.cn,退订,\nsms,12345,granted,\n",
        encoding="gbk",
    )
    (tmp_path / "day.yaml").write_text(CAMPAIGN, encoding="utf-8")
    return tmp_path


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    return f"{result.exit_code}\n{result.output}"


def test_a_consent_file_is_imported_with_bad_rows_reported_and_again_changes_nothing(shop: Path) -> None:
    first = run("consent", "import", str(shop / "consent.csv"))
    assert first.startswith("1\n")
    assert "consent.csv:5: column address: '12345' is not a phone number" in first
    assert "3 recorded, 0 unchanged, 1 rejected" in first
    assert "0 recorded, 3 unchanged, 1 rejected" in run("consent", "import", str(shop / "consent.csv"))
    shown = run("consent", "show", "lilei@shop.cn")
    assert "granted" in shown
    assert "import" in shown


def test_create_preview_launch_status(shop: Path) -> None:
    run("consent", "import", str(shop / "consent.csv"))
    assert "created campaign day" in run("campaigns", "create", "day", "-f", str(shop / "day.yaml"))
    preview = run("campaigns", "preview", "day")
    assert preview.startswith("0\n")
    for stage, left in (("目标人群 audience", "4"), ("可触达 reachable", "3"), ("已同意 consented", "2")):
        assert any(stage in line and f" {left} " in line for line in preview.splitlines()), (stage, preview)
    assert "email 1, sms 1" in preview
    assert "王芳，会员日 8 折 回T退订" in preview or "王芳，会员日 8 折回T退订" in preview
    launched = run("campaigns", "launch", "day")
    assert "wave 0: 2 message(s) queued of 4" in launched
    status = run("campaigns", "status", "day")
    assert "running" in status
    assert "queued" in status
    assert "error [campaign_state]" in run("campaigns", "launch", "day")
    assert "paused day: 2 unsent message(s) held" in run("campaigns", "pause", "day")


def test_a_broken_definition_is_refused_with_each_problem(shop: Path) -> None:
    (shop / "bad.yaml").write_text(
        "name: x\naudience: {segment: vip}\nchannels: [fax]\ncontent: {fax: {body: '{{'}}\n"
    )
    out = run("campaigns", "create", "bad", "-f", str(shop / "bad.yaml"))
    assert out.startswith("2\n")
    assert "no channel named 'fax'" in out
    assert "content.fax.body" in out
