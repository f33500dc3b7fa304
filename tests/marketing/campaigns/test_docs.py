"""docs/campaigns.md documents every campaign setting, rule outcome, purpose and command."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from guanxi.cli.main import app
from guanxi.config import Settings
from guanxi.marketing.campaigns.definition import PURPOSES
from guanxi.marketing.campaigns.rules import OUTCOMES

DOC = Path(__file__).parents[3] / "docs" / "campaigns.md"
SETTINGS = (
    "public_url",
    "marketing_cap_messages",
    "marketing_cap_days",
    "marketing_quiet_start",
    "marketing_quiet_end",
    "sms_opt_out_suffix",
    "campaigns_wave_seconds",
    "inbound_token",
    "mail_bounce_maildir",
)


def test_every_campaign_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert set(SETTINGS) <= set(Settings.model_fields)
    assert [name for name in SETTINGS if f"`GUANXI_{name.upper()}`" not in text] == []


def test_every_outcome_and_purpose_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert [o for o in OUTCOMES if o != "queued" and f"`{o}`" not in text] == []
    assert [p for p in PURPOSES if p not in text] == []


def test_every_campaign_command_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = {
        name
        for line in text.splitlines()
        if line.startswith("guanxi campaigns ")
        for name in line.split()[2].split("|")
    }
    group = get_command(app).commands["campaigns"]  # type: ignore[attr-defined]
    assert set(group.commands) - documented == set()


def test_the_example_campaign_of_the_readme_is_valid() -> None:
    import yaml

    from guanxi.marketing.campaigns.definition import parse_definition
    from guanxi.marketing.channels import registered_channels

    example = DOC.parent / "examples" / "winback_campaign.yaml"
    assert str(example.relative_to(DOC.parents[1])) in (DOC.parents[1] / "README.md").read_text(
        encoding="utf-8"
    )
    definition = parse_definition(
        yaml.safe_load(example.read_text(encoding="utf-8")), known_channels=set(registered_channels())
    )
    assert definition.channels == ["wechat", "sms", "email"]
