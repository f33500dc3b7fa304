"""docs/events.md documents every setting, path and error code of the intake, and its examples work as shown."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from guanxi.config import Settings
from guanxi.errors import GuanxiError
from guanxi.events import errors
from guanxi.events.api import router
from guanxi.events.messages import TYPES
from tests.events.servers import ServeProcess, query, serve_env, spool_size, wait_for

DOC = Path(__file__).parents[2] / "docs" / "events.md"
BLOCK = re.compile(r"```(sh|python)\n(.*?)```", re.S)


def test_every_events_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    names = [name for name in Settings.model_fields if name.startswith("events_")]
    assert len(names) == 5
    assert [n for n in names if f"`GUANXI_{n.upper()}`" not in text] == []


def test_every_path_and_error_code_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    paths = {route.path for route in router.routes}  # type: ignore[attr-defined]
    assert {f"/{t}" for t in TYPES} <= paths
    assert [p for p in sorted(paths) if f"`/v1{p}`" not in text] == []
    codes = [
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, GuanxiError) and cls.__module__ == errors.__name__
    ]
    assert [code for code in codes if f"`{code}`" not in text] == []


@pytest.mark.slow
def test_the_examples_answer_and_land_as_shown(
    events_settings: Settings, issue_key: object, tmp_path: Path
) -> None:
    from guanxi.appdb.migrate import upgrade

    upgrade(events_settings)
    key = issue_key()  # type: ignore[operator]
    server = ServeProcess(serve_env(events_settings), tmp_path)
    try:
        blocks = BLOCK.findall(DOC.read_text(encoding="utf-8"))
        curls = [body for kind, body in blocks if kind == "sh" and "curl" in body]
        assert len(curls) == 2
        for body in curls:
            command, expected = body.rsplit("# ", 1)
            done = subprocess.run(
                ["bash", "-c", command.replace("http://127.0.0.1:8000", server.url)],
                env={**os.environ, "GUANXI_WRITE_KEY": key},
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            )
            assert json.loads(done.stdout) == json.loads(expected)
        (python,) = [body for kind, body in blocks if kind == "python"]
        exec(python.replace("http://127.0.0.1:8000", server.url), {"write_key": key})  # noqa: S102
        wait_for(lambda: spool_size(events_settings) == 0, 30, "the loader")
    finally:
        server.stop()
    found = query(
        events_settings,
        "SELECT type, event, source_customer_id, phone FROM raw_events ORDER BY occurred_at, type",
    )
    assert sorted(found, key=str) == sorted(
        [
            ("track", "Order Completed", "u-1001", "+8613800138000"),
            ("identify", None, "u-1001", None),
            ("page", "Checkout", "u-1001", None),
            ("identify", None, "u-1001", "+8613800138000"),
            ("track", "Order Completed", "u-1001", None),
            ("page", "Checkout", "u-1001", None),
        ],
        key=str,
    )
    assert query(events_settings, "SELECT name, email, phone FROM raw_customers") == [
        ("王五", "wang.wu@example.com", "+8613800138000")
    ]
