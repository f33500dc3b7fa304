"""docs/outbox.md documents every delivery setting, channel variable, step kind, state and CLI command."""

from __future__ import annotations

from pathlib import Path

from guanxi.config import Settings
from guanxi.marketing import journey_steps, outbox
from guanxi.marketing.channels import registered_channels

DOC = Path(__file__).parents[2] / "docs" / "outbox.md"
PREFIXES = ("outbox_", "worker_")
BUILT_IN_CHANNELS = ("email", "sms", "aliyun_sms", "wechat", "webhook", "task")


def test_every_delivery_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    names = [name for name in Settings.model_fields if name.startswith(PREFIXES)]
    assert len(names) >= 7
    missing = [name for name in names if f"GUANXI_{name.upper()}" not in text]
    assert missing == []


def test_every_variable_of_every_built_in_channel_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    channels = registered_channels()
    variables = [variable for name in BUILT_IN_CHANNELS for variable in channels[name].variables().values()]
    assert len(variables) >= 35
    assert [variable for variable in variables if f"`{variable}`" not in text] == []
    assert [name for name in BUILT_IN_CHANNELS if f"| `{name}` |" not in text] == []


def test_every_built_in_step_kind_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert [kind for kind in journey_steps.registered_step_kinds() if f"`{kind}`" not in text] == []


def test_every_state_and_command_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for state in (*outbox.ALL_STATES, *journey_steps.STATES.all):
        assert f"`{state}`" in text
    for command in (
        "guanxi worker",
        "guanxi worker --once",
        "guanxi outbox status",
        "guanxi outbox retry-dead",
    ):
        assert command in text
