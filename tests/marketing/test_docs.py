"""docs/outbox.md documents every delivery setting, state and CLI command."""

from __future__ import annotations

from pathlib import Path

from guanxi.config import Settings
from guanxi.marketing import journey_steps, outbox

DOC = Path(__file__).parents[2] / "docs" / "outbox.md"
PREFIXES = ("outbox_", "worker_", "smtp_", "mail_", "webhook_")


def test_every_delivery_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    names = [name for name in Settings.model_fields if name.startswith(PREFIXES)]
    assert len(names) >= 17
    missing = [name for name in names if f"GUANXI_{name.upper()}" not in text]
    assert missing == []


def test_every_state_and_command_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for state in (*outbox.STATES.all, *journey_steps.STATES.all):
        assert f"`{state}`" in text
    for command in (
        "guanxi worker",
        "guanxi worker --once",
        "guanxi outbox status",
        "guanxi outbox retry-dead",
    ):
        assert command in text
