"""docs/journeys.md documents every built-in step kind, trigger, goal, recipe and journeys setting."""

from __future__ import annotations

from pathlib import Path

from guanxi.config import Settings
from guanxi.marketing.journey_steps import registered_step_kinds
from guanxi.marketing.journeys.goals import registered_goals
from guanxi.marketing.journeys.recipes import registered_recipes
from guanxi.marketing.journeys.tables import ENROLLMENT_STATES, STATUSES
from guanxi.marketing.triggers import registered_triggers

DOC = Path(__file__).parents[3] / "docs" / "journeys.md"


def test_every_kind_recipe_state_and_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    steps = [kind for kind, found in registered_step_kinds().items() if found.config is not None]
    assert len(steps) == 10
    assert [kind for kind in steps if f"| `{kind}` |" not in text] == []
    assert [kind for kind in registered_triggers() if f"| `{kind}` |" not in text] == []
    assert [kind for kind in registered_goals() if f"| `{kind}` |" not in text] == []
    assert [key for key in registered_recipes() if f"| `{key}` |" not in text] == []
    assert [state for state in (*STATUSES, *ENROLLMENT_STATES) if f"`{state}`" not in text] == []
    names = [name for name in Settings.model_fields if name.startswith("journeys_")]
    assert len(names) == 4
    assert [name for name in names if f"`GUANXI_{name.upper()}`" not in text] == []
