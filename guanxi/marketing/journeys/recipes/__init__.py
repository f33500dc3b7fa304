"""Journey recipes: ready-made, editable journeys a shop installs and adapts.

A recipe enters through the ``register_journey_recipes`` hook as a
:class:`Recipe` — a key, its Chinese and English names, one line on what it
does, and the YAML text of the journey (comments kept, so the installed
journey explains itself in the editor). Installing one
(:func:`guanxi.marketing.journeys.service.install_recipe`) saves the YAML as a
journey in ``draft``; nothing runs until it is activated.

The built-in recipes (:func:`builtin_recipes`) are the six e-commerce
programmes: 预热 warm-up, 催付 payment reminder, 关怀 care (order, birthday and
holiday journeys), 清洗 second-purchase nurture, 唤醒 win-back and 调研 research.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pluggy

from guanxi.errors import ConfigError, NotFoundError
from guanxi.plugins import collect, plugin_manager

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Recipe:
    """One installable journey template; ``text`` is its YAML definition."""

    key: str
    name_zh: str
    name_en: str
    summary: str
    text: str
    family: str = ""
    """The programme it belongs to (``关怀`` for the three care journeys), for listings."""

    def __post_init__(self) -> None:
        if not self.key or not self.key.replace("_", "").isalnum() or not self.key.islower():
            raise ConfigError(f"{self.key!r} is not a recipe key: lower-case letters, digits and _")

    @property
    def title(self) -> str:
        return f"{self.name_zh} {self.name_en}"


def _builtin(key: str, name_zh: str, name_en: str, summary: str, family: str = "") -> Recipe:
    text = (HERE / f"{key}.yaml").read_text(encoding="utf-8")
    return Recipe(key, name_zh, name_en, summary, text, family or name_zh)


def builtin_recipes() -> list[Recipe]:
    """The six programmes' recipes, in the order a shop usually sets them up."""
    return [
        _builtin(
            "payment_reminder",
            "催付",
            "Payment reminder",
            "未付款订单 15 分钟短信、2 小时微信、22 小时最后提醒;付款即停,夜间不发",
        ),
        _builtin("care", "关怀", "Order care", "发货、到达城市、签收、签收 7 天后的关怀"),
        _builtin(
            "birthday_care", "生日关怀", "Birthday care", "生日前 3 天祝福、礼券和 100 积分,每年一次", "关怀"
        ),
        _builtin(
            "holiday_care", "节日关怀", "Holiday greetings", "中秋(可换任意节日)问候近一年的客户", "关怀"
        ),
        _builtin(
            "second_purchase",
            "清洗",
            "Second-purchase nurture",
            "只买过一次的客户首单 30 天后起每月一条、共 3 个月,再次购买即停",
        ),
        _builtin(
            "win_back",
            "唤醒",
            "Win-back",
            "进入衰退/流失期的客户收到回归券,高价值客户另建回访电话任务",
        ),
        _builtin("warm_up", "预热", "Promotion warm-up", "双11(可换任意节日)前两波预热,按客户价值分组话术"),
        _builtin("research", "调研", "Satisfaction survey", "签收 3 天后发问卷,答案作为事件和标签回到档案"),
    ]


def registered_recipes(pm: pluggy.PluginManager | None = None) -> dict[str, Recipe]:
    """Every recipe registered through ``register_journey_recipes``, by key; ConfigError on a repeated key."""
    manager = pm or plugin_manager()
    found: dict[str, Recipe] = collect(
        manager.hook.register_journey_recipes, what="journey recipe", name=lambda r: r.key, pm=manager
    )
    return found


def find_recipe(name: str, recipes: Mapping[str, Recipe]) -> Recipe:
    """The recipe called ``name`` — its key, or its Chinese or English name; NotFoundError listing the keys."""
    wanted = name.strip()
    for recipe in recipes.values():
        if wanted in (recipe.key, recipe.name_zh) or wanted.lower() == recipe.name_en.lower():
            return recipe
    known = ", ".join(f"{r.key} ({r.name_zh})" for r in recipes.values()) or "none"
    raise NotFoundError(f"no journey recipe {name!r} (known: {known})")


__all__ = ["Recipe", "builtin_recipes", "find_recipe", "registered_recipes"]
