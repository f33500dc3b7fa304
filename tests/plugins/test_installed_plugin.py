"""A third-party plugin package, installed by pip, used end to end through the ``guanxi`` entry points.

``tests/plugins/guanxi_dingtalk`` is built and installed into a private folder (never into the
test's own environment); every ``guanxi`` command then runs in a new process with that folder
on ``PYTHONPATH``, so the plugin is found exactly as an installed one is: through its entry
point in the ``guanxi`` group. It brings a Pinduoduo order preset, a ``weekend_share`` model
column, a ``birthday_month`` segment condition, a ``dingtalk`` channel, a command and a page.

The data (tests/data/plugins/): 张伟 (137 1234 0001, born in May) paid on Saturday 2 Nov and
Wednesday 6 Nov 2024 → weekend share 0.5; 李娜 (139 0000 1111, born in November) paid on
Sunday 10 Nov and left one order unpaid → weekend share 1.0.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugins.dingtalk_robot import DingTalkRobot

HERE = Path(__file__).parent
DATA = HERE.parents[0] / "data" / "plugins"
GUANXI = "from guanxi.cli.main import main; main()"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin installed with pip into a folder of its own (built from a copy of its source)."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "src"
    shutil.copytree(HERE / "guanxi_dingtalk", source)
    target = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    assert (target / "guanxi_dingtalk" / "presets" / "pinduoduo-orders.yaml").is_file()
    return target


@pytest.fixture
def robot() -> Iterator[DingTalkRobot]:
    server = DingTalkRobot(token="tok-123", secret="SEC-test-secret").start()
    yield server
    server.stop()


@pytest.fixture
def env(site: Path, tmp_path: Path, robot: DingTalkRobot) -> dict[str, str]:
    """The environment of a shop whose guanxi has the plugin installed."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("GUANXI_")}
    return {
        **keep,
        "PYTHONPATH": str(site),
        "GUANXI_ENV": "test",
        "GUANXI_DATA_DIR": str(tmp_path),
        "GUANXI_WAREHOUSE_URL": f"duckdb://{tmp_path / 'warehouse.duckdb'}",
        "GUANXI_APP_DB_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
        "GUANXI_ADMIN_PASSWORD": "admin-pass-123",
        "GUANXI_DINGTALK_WEBHOOK": robot.webhook,
        "GUANXI_DINGTALK_SECRET": "SEC-test-secret",
        "GUANXI_PROGRESS": "false",
        "COLUMNS": "200",
    }


def guanxi(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", GUANXI, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"guanxi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def python(env: dict[str, str], code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_installed_plugin_is_used_end_to_end(
    env: dict[str, str], tmp_path: Path, robot: DingTalkRobot
) -> None:
    # the preset and the command are there
    assert "pinduoduo-orders" in guanxi(env, "presets")
    assert guanxi(env, "dingtalk") == "dingtalk: configured\n"
    guanxi(env, "init")
    # a Pinduoduo export (GB18030) imports with the plugin's preset, next to a CRM list
    report = guanxi(
        env, "import", "orders", str(DATA / "pinduoduo_orders.csv"), "--preset", "pinduoduo-orders"
    )
    assert "pinduoduo" in report
    guanxi(env, "import", "customers", str(DATA / "crm_customers.csv"), "--preset", "generic-customers")
    guanxi(env, "resolve")
    # the plugin's model column is computed with the built-in ones
    guanxi(env, "models", "run", "--as-of", "2024-11-30")
    scores = json.loads(
        python(
            env,
            "import duckdb, json, os; c = duckdb.connect(os.environ['GUANXI_WAREHOUSE_URL'][9:], read_only=True);"
            "print(json.dumps(c.sql('select c.name, s.weekend_share, s.rfm_frequency from customer_scores s "
            "join customers c using (customer_id) order by c.name').fetchall()))",
        )
    )
    assert sorted(map(tuple, scores)) == [("张伟", 0.5, 2), ("李娜", 1.0, 1)]
    # the plugin's condition and its column work in a segment, described in Chinese
    spec = tmp_path / "november_weekend.yaml"
    spec.write_text(
        "where:\n  all:\n    - birthday_month in [11]\n    - weekend_share >= 0.9\n", encoding="utf-8"
    )
    guanxi(env, "segments", "create", "november_weekend", "--file", str(spec))
    assert "生日在 11 月" in guanxi(env, "segments", "show", "november_weekend")
    preview = guanxi(env, "segments", "preview", "november_weekend", "--as-of", "2024-11-30")
    assert "1 members" in preview
    assert "李娜" in preview
    assert "张伟" not in preview
    # the worker delivers on the plugin's channel, signed as DingTalk requires
    python(
        env,
        "from datetime import datetime, UTC\n"
        "from guanxi.config import get_settings\n"
        "from guanxi.appdb.database import make_engine, session_factory\n"
        "from guanxi.marketing import outbox\n"
        "engine = make_engine(get_settings())\n"
        "with session_factory(engine)() as s, s.begin():\n"
        "    outbox.enqueue(s, channel='dingtalk', recipient='+8613900001111', idempotency_key='k-1',\n"
        "                   now=datetime.now(UTC), subject='生日关怀', body='李娜，生日快乐！')\n",
    )
    guanxi(env, "worker", "--once")
    assert [body["markdown"]["title"] for body in robot.received] == ["生日关怀"]
    assert robot.received[0]["at"]["atMobiles"] == ["+8613900001111"]
    assert robot.refused == []
    with sqlite3.connect(tmp_path / "app.sqlite") as db:
        assert db.execute("select state, attempts from outbox_messages").fetchall() == [("sent", 1)]


def test_without_the_plugin_installed_its_preset_is_unknown(env: dict[str, str]) -> None:
    bare = {**env, "PYTHONPATH": ""}
    assert "pinduoduo-orders" not in guanxi(bare, "presets")
    done = subprocess.run(
        [sys.executable, "-c", GUANXI, "dingtalk"], env=bare, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
