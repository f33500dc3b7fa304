"""models.yaml: shipped defaults, merging a user file, every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from guanxi.config import Settings
from guanxi.errors import ConfigError
from guanxi.models.config import ModelsConfig, load_models_config, parse_models_config


def test_shipped_file_and_code_defaults_agree() -> None:
    # given the shipped default_models.yaml and the pydantic defaults
    # then they describe the same configuration
    assert parse_models_config("") == ModelsConfig()


def test_missing_file_gives_the_defaults(settings: Settings, tmp_path: Path) -> None:
    # given GUANXI_MODELS_CONFIG points nowhere
    custom = settings.model_copy(update={"models_config": tmp_path / "absent.yaml"})
    # then the shipped defaults apply
    assert load_models_config(custom) == ModelsConfig()


def test_user_file_changes_only_what_it_names(settings: Settings, tmp_path: Path) -> None:
    # given a models file that changes two keys
    path = tmp_path / "models.yaml"
    path.write_text("rfm:\n  window_days: 180\npoints:\n  earn_per_yuan: 2\n", encoding="utf-8")
    config = load_models_config(settings.model_copy(update={"models_config": path}))
    # then those keys change and their siblings keep the defaults
    assert config.rfm.window_days == 180
    assert config.rfm.monetary == "sum"
    assert config.points.earn_per_yuan == 2
    assert config.points.expiry_months == 24


def test_every_problem_is_reported_at_once() -> None:
    # given a file with three mistakes in three models
    text = """
rfm:
  window_days: -5
lifecycle:
  decline_factor: 3
  churn_factor: 2
tiers:
  levels:
    - {name: gold, min: 100}
"""
    # when it is parsed
    with pytest.raises(ConfigError) as raised:
        parse_models_config(text, "models.yaml")
    # then one error names all three
    message = str(raised.value)
    assert raised.value.code == "config_invalid"
    assert "3 problem(s)" in message
    assert "rfm.window_days" in message
    assert "churn_factor must be greater than decline_factor" in message
    assert "the first tier must start at 0" in message


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ConfigError, match="rfm.windw_days"):
        parse_models_config("rfm:\n  windw_days: 10\n")


def test_yaml_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_models_config("- just\n- a list\n")
