"""``guanxi journeys …`` as a new user runs them: recipes, install, validate, the lifecycle, a pass.

An error exits 2 (``error [code]: …``); an invalid definition exits 1.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ibis.backends import BaseBackend
from typer.testing import CliRunner

from guanxi.cli.main import app
from guanxi.config import Settings
from guanxi.tables import CUSTOMERS, IDENTITY_MAP, RAW_ORDERS
from guanxi.warehouse import connect
from tests.segments.scenario import insert

runner = CliRunner()
SHANGHAI = ZoneInfo("Asia/Shanghai")

BROKEN = """\
name: 坏的旅程
trigger: {kind: nope}
steps:
  - {name: first, kind: send}
  - {name: pause, kind: wait, days: -1}
  - {name: third, kind: teleport}
"""


@pytest.fixture
def shop(settings: Settings, warehouse: BaseBackend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A shop with customers 1 and 2, and a CLI environment pointing at its stores."""
    insert(
        warehouse,
        CUSTOMERS,
        [
            {"customer_id": 1, "name": "王芳", "phone": "+8613800000001"},
            {"customer_id": 2, "name": "李雷", "phone": "+8613800000002"},
        ],
    )
    insert(
        warehouse,
        IDENTITY_MAP,
        [{"source": "shop", "source_customer_id": f"c{n}", "customer_id": n} for n in (1, 2)],
    )
    warehouse.disconnect()
    for name, value in {
        "GUANXI_DATA_DIR": str(settings.data_dir),
        "GUANXI_WAREHOUSE_URL": settings.warehouse_url,
        "GUANXI_APP_DB_URL": settings.app_db_url,
        "GUANXI_ENV": "test",
        "GUANXI_PROGRESS": "false",
        "GUANXI_TIMEZONE": "Asia/Shanghai",
    }.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    """The exit code and what the command printed, its words joined by single spaces (the console wraps)."""
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def said(*args: str) -> str:
    return run(*args)[1]


def unpaid_orders(settings: Settings, created: datetime) -> None:
    """Orders o1 (customer 1) and o2 (customer 2), placed at ``created`` and not paid."""
    con = connect(settings)
    wall = created.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)
    insert(
        con,
        RAW_ORDERS,
        [
            {
                "source": "shop",
                "order_id": f"o{n}",
                "source_customer_id": f"c{n}",
                "status": "unpaid",
                "created_at": wall,
                "total_amount": Decimal("199.00"),
            }
            for n in (1, 2)
        ],
    )
    con.disconnect()


def test_recipes_lists_all_eight_with_chinese_and_english_names(shop: Path) -> None:
    code, out = run("journeys", "recipes")
    assert code == 0
    for key, chinese in {
        "payment_reminder": "催付",
        "care": "关怀",
        "birthday_care": "生日关怀",
        "holiday_care": "节日关怀",
        "second_purchase": "清洗",
        "win_back": "唤醒",
        "warm_up": "预热",
        "research": "调研",
    }.items():
        line = next(line for line in out.splitlines() if f" {key} " in line)
        assert chinese in line
    assert "Payment reminder" in out


def test_install_once_by_chinese_name_then_again_is_a_clear_error(shop: Path) -> None:
    assert said("journeys", "list").startswith("暂无旅程 no journeys yet")
    code, out = run("journeys", "install", "催付")
    assert (code, "draft journey payment-reminder (v1)" in out) == (0, True)
    listed = said("journeys", "list")
    assert "payment-reminder v1" in listed
    assert "草稿" in listed
    code, out = run("journeys", "install", "payment_reminder")
    assert code == 2
    assert "already_exists" in out
    assert "install it under another --key" in out
    code, out = run("journeys", "install", "payment_reminder", "--key", "cuifu-2")
    assert code == 0
    assert "cuifu-2" in said("journeys", "list")
    code, out = run("journeys", "install", "no-such-recipe")
    assert code == 2
    assert "no journey recipe 'no-such-recipe'" in out


def test_install_all_installs_what_is_missing_and_again_changes_nothing(shop: Path) -> None:
    run("journeys", "install", "care")
    code, out = run("journeys", "install", "--all")
    assert code == 0
    assert "installed 7 recipe(s)" in out
    assert "1 already installed" in out
    code, out = run("journeys", "install", "--all")
    assert (code, "installed 0 recipe(s) as draft journeys; 8 already installed" in out) == (0, True)
    assert run("journeys", "install", "--all", "care")[0] == 2
    assert run("journeys", "install")[0] == 2


def test_validate_lists_every_problem_with_its_path_and_exits_1(shop: Path) -> None:
    code, out = run("journeys", "validate", str(shop / "broken.yaml"))
    assert code == 1
    assert "无效 invalid: 5 problem(s) in" in out  # then the path, folded at the console's width
    for path in ("trigger.kind:", "steps.0.channels:", "steps.0.content:", "steps.1.days:", "steps.2.kind:"):
        assert path in out
    assert "cannot be reached" not in out


def test_validate_accepts_a_recipe_shown_as_yaml(shop: Path) -> None:
    run("journeys", "install", "second_purchase")
    shown = runner.invoke(app, ["journeys", "show", "second-purchase", "--yaml"])
    assert shown.exit_code == 0
    (shop / "sp.yaml").write_text(shown.output, encoding="utf-8")
    code, out = run("journeys", "validate", str(shop / "sp.yaml"))
    assert (code, out.startswith("有效 valid:")) == (0, True)


def test_activate_pause_resume_archive_and_a_wrong_transition(shop: Path) -> None:
    run("journeys", "install", "care")
    assert said("journeys", "activate", "care").startswith("activated care (v1)")
    code, out = run("journeys", "activate", "care")
    assert code == 2
    assert "journey 'care' is active: only a draft or paused one can start" in out
    assert run("journeys", "pause", "care")[0] == 0
    assert "已暂停 paused" in said("journeys", "status", "care")
    assert "the paused time's occasions are skipped" in said("journeys", "activate", "care")
    assert run("journeys", "archive", "care", "--yes")[0] == 0
    assert "已归档 archived" in said("journeys", "status", "care")
    code, out = run("journeys", "activate", "care")
    assert code == 2
    assert "archived" in out
    assert run("journeys", "status", "nope")[0] == 2


def test_status_and_history_on_a_journey_nobody_entered(shop: Path) -> None:
    run("journeys", "install", "care")
    code, out = run("journeys", "status", "care")
    assert code == 0
    assert "进入 entered 0" in out
    assert "目标达成率 goal rate -" in out
    for step in ("shipped", "wait_arrival", "arrived", "wait_delivery", "delivered", "usage_care"):
        assert step in out
    assert said("journeys", "history", "1").startswith("customer 1 has not entered any journey")


def test_holidays_of_2026(shop: Path) -> None:
    result = runner.invoke(app, ["journeys", "holidays", "--year", "2026"])
    assert result.exit_code == 0
    rows = [line.split("│") for line in result.output.splitlines() if "│" in line]
    days = {row[1].strip(): row[3].strip() for row in rows}
    assert days["双11"] == "2026-11-11 周三"
    assert days["中秋"] == "2026-09-25 周五"
    assert days["春节"] == "2026-02-17 周二"
    assert days["618"] == "2026-06-18 周四"


def test_a_pass_on_an_empty_shop_does_nothing(shop: Path) -> None:
    run("journeys", "install", "--all")
    code, out = run("journeys", "run")
    assert code == 0
    assert "进入 entered 0" in out
    assert "步骤 steps 0" in out


def test_a_pass_lets_unpaid_orders_in_and_cannot_go_back(shop: Path, settings: Settings) -> None:
    run("journeys", "install", "payment_reminder")
    started = datetime.now(SHANGHAI)
    run("journeys", "activate", "payment-reminder")
    unpaid_orders(settings, started - timedelta(minutes=5))
    later = (started + timedelta(hours=1)).replace(tzinfo=None).isoformat(timespec="seconds")
    code, out = run("journeys", "run", "--now", later)
    assert code == 0, out
    assert "进入 entered 2" in out
    assert "进入 entered 2" in said("journeys", "status", "payment-reminder")
    history = said("journeys", "history", "1")
    assert "(payment-reminder v1) occasion shop:o1" in history
    assert "旅程中 in journey" in history
    assert "进入 entered 0" in said("journeys", "run", "--now", later)
    earlier = (started + timedelta(minutes=30)).replace(tzinfo=None).isoformat(timespec="seconds")
    code, out = run("journeys", "run", "--now", earlier)
    assert code == 2
    assert "a pass cannot go back in time" in out
