"""The models settings file (``models.yaml``): its schema and how it is read.

The file has one section per declared model (:mod:`guanxi.models.declared`;
the built-ins' section models are defined here) plus the runner's ``output``;
:func:`models_config_type` builds the schema from the registered models.
:func:`load_models_config` reads ``Settings.models_config`` if that file exists,
else the defaults (the shipped ``default_models.yaml`` and each plugin's section
template); a user file only needs the keys it changes (it is merged over the
defaults key by key). Every problem in the file — an unknown section included —
is reported at once in one :class:`~guanxi.errors.ConfigError`.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pluggy
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from guanxi.config import Settings
from guanxi.errors import ConfigError
from guanxi.models.declared import RESERVED_SECTIONS, ConfigSection, declared_models

RFM_SEGMENTS = (
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
)
"""The eleven named RFM segments."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RfmThresholds(_Strict):
    """Four ascending cut points per measure (days, purchases, yuan)."""

    recency: tuple[float, float, float, float]
    frequency: tuple[float, float, float, float]
    monetary: tuple[float, float, float, float]

    @field_validator("recency", "frequency", "monetary")
    @classmethod
    def _ascending(cls, cuts: tuple[float, ...]) -> tuple[float, ...]:
        if list(cuts) != sorted(cuts):
            raise ValueError("cut points must be ascending")
        return cuts


class RfmConfig(_Strict):
    window_days: int | None = Field(365, gt=0)
    reference_date: date | None = None
    monetary: Literal["sum", "average"] = "sum"
    scoring: Literal["quintile", "thresholds"] = "quintile"
    thresholds: RfmThresholds | None = None
    class_basis: Literal["value", "score"] = "value"
    segment_grid: dict[int, tuple[str, str, str, str, str]] = Field(
        default_factory=lambda: {
            5: ("New", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"),
            4: ("Promising", "Potential Loyalist", "Potential Loyalist", "Loyal", "Loyal"),
            3: ("About to Sleep", "About to Sleep", "Need Attention", "Loyal", "Loyal"),
            2: ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
            1: ("Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"),
        }
    )

    @model_validator(mode="after")
    def _consistent(self) -> RfmConfig:
        if self.scoring == "thresholds" and self.thresholds is None:
            raise ValueError("scoring: thresholds needs rfm.thresholds (recency, frequency, monetary)")
        if sorted(self.segment_grid) != [1, 2, 3, 4, 5]:
            raise ValueError("segment_grid needs one row for each recency score 1..5")
        return self


class PyramidTier(_Strict):
    name: str = Field(min_length=1)
    share: float = Field(gt=0, le=1)


class ValueConfig(_Strict):
    window_days: int | None = Field(365, gt=0)
    contribution: Literal["revenue", "gross_margin"] = "revenue"
    default_margin_rate: float = Field(0.3, ge=-1, le=1)
    margin_rates: dict[str, float] = Field(default_factory=dict)
    pareto_share: float = Field(0.8, gt=0, lt=1)
    pyramid: tuple[PyramidTier, ...] = (
        PyramidTier(name="platinum", share=0.01),
        PyramidTier(name="gold", share=0.04),
        PyramidTier(name="iron", share=0.15),
        PyramidTier(name="lead", share=0.80),
    )

    @field_validator("pyramid")
    @classmethod
    def _shares_add_up(cls, tiers: tuple[PyramidTier, ...]) -> tuple[PyramidTier, ...]:
        if not tiers:
            raise ValueError("pyramid needs at least one tier")
        if abs(sum(t.share for t in tiers) - 1.0) > 1e-9:
            raise ValueError("pyramid shares must add up to 1")
        return tiers


class LoyaltyConfig(_Strict):
    window_days: int | None = Field(730, gt=0)
    frequency_saturation: int = Field(12, ge=1)
    frequency_weight: float = Field(0.6, ge=0)
    regularity_weight: float = Field(0.4, ge=0)

    @model_validator(mode="after")
    def _weights(self) -> LoyaltyConfig:
        if self.frequency_weight + self.regularity_weight <= 0:
            raise ValueError("loyalty weights must not both be 0")
        return self


class ActivityConfig(_Strict):
    order_window_days: int = Field(90, gt=0)
    event_window_days: int = Field(30, gt=0)
    order_saturation: int = Field(3, ge=1)
    event_saturation: int = Field(20, ge=1)
    order_weight: float = Field(0.6, ge=0)
    event_weight: float = Field(0.4, ge=0)
    high_score: float = Field(50, ge=0, le=100)

    @model_validator(mode="after")
    def _weights(self) -> ActivityConfig:
        if self.order_weight + self.event_weight <= 0:
            raise ValueError("activity weights must not both be 0")
        return self


class LifecycleConfig(_Strict):
    growth_max_purchases: int = Field(2, ge=1)
    own_interval_min_purchases: int = Field(3, ge=2)
    decline_factor: float = Field(1.5, gt=0)
    churn_factor: float = Field(3.0, gt=0)
    min_interval_days: float = Field(7, ge=0)
    default_interval_days: float = Field(90, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleConfig:
        if self.churn_factor <= self.decline_factor:
            raise ValueError("churn_factor must be greater than decline_factor")
        return self


class QuadrantConfig(_Strict):
    window_days: int | None = Field(365, gt=0)
    split: Literal["mean", "median"] = "mean"
    frequency_threshold: float | None = Field(None, gt=0)
    aov_threshold: float | None = Field(None, gt=0)


class ClvConfig(_Strict):
    enabled: bool = True
    time_unit_days: float = Field(7, gt=0)
    horizon_months: int = Field(12, ge=1, le=120)
    discount_rate_monthly: float = Field(0.01, ge=0, lt=1)
    penalizer: float = Field(0.0, ge=0)
    min_repeat_customers: int = Field(20, ge=1)
    fit_max_customers: int | None = Field(50000, ge=100)


class PreferenceConfig(_Strict):
    window_days: int | None = Field(365, gt=0)
    top_categories: int = Field(3, ge=1)
    top_brands: int = Field(3, ge=1)
    min_share: float = Field(0.2, ge=0, le=1)
    discount_sensitive_rate: float = Field(0.5, gt=0, le=1)
    price_bands: tuple[str, ...] = ("low", "mid", "high")
    dayparts: dict[str, tuple[int, int]] = Field(
        default_factory=lambda: {
            "early_morning": (0, 6),
            "morning": (6, 11),
            "noon": (11, 14),
            "afternoon": (14, 18),
            "evening": (18, 22),
            "night": (22, 24),
        }
    )

    @field_validator("price_bands")
    @classmethod
    def _bands(cls, bands: tuple[str, ...]) -> tuple[str, ...]:
        if len(bands) < 2 or len(set(bands)) != len(bands):
            raise ValueError("price_bands needs at least two distinct names")
        return bands

    @field_validator("dayparts")
    @classmethod
    def _cover_the_day(cls, parts: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        hours: list[int] = []
        for name, (start, end) in parts.items():
            if not 0 <= start < end <= 24:
                raise ValueError(f"daypart {name!r} must satisfy 0 <= start < end <= 24")
            hours.extend(range(start, end))
        if sorted(hours) != list(range(24)):
            raise ValueError("dayparts must cover every hour 0..23 exactly once")
        return parts


class CreditConfig(_Strict):
    window_days: int | None = Field(730, gt=0)
    unpaid_grace_hours: float = Field(24, ge=0)
    unpaid_weight: float = Field(30, ge=0, le=100)
    refund_weight: float = Field(40, ge=0, le=100)
    complaint_points: float = Field(10, ge=0)
    complaint_cap: float = Field(30, ge=0, le=100)
    watch_below: float = Field(70, ge=0, le=100)
    restrict_below: float = Field(40, ge=0, le=100)
    serial_refunder_min_orders: int = Field(3, ge=1)
    serial_refunder_rate: float = Field(0.5, gt=0, le=1)
    do_not_disturb_complaints: int = Field(2, ge=1)
    """Complaints in the window that make a customer do-not-disturb for marketing."""

    @model_validator(mode="after")
    def _levels(self) -> CreditConfig:
        if self.restrict_below > self.watch_below:
            raise ValueError("restrict_below must not exceed watch_below")
        return self


class Promotion(_Strict):
    name: str = Field(min_length=1)
    start: date
    end: date
    multiplier: float = Field(gt=0)

    @model_validator(mode="after")
    def _dates(self) -> Promotion:
        if self.end < self.start:
            raise ValueError(f"promotion {self.name!r} ends before it starts")
        return self


class PointsConfig(_Strict):
    enabled: bool = True
    earn_per_yuan: float = Field(1.0, ge=0)
    earn_on: Literal["paid", "delivered"] = "paid"
    first_purchase_bonus: int = Field(0, ge=0)
    promotions: tuple[Promotion, ...] = ()
    event_bonus: dict[str, int] = Field(default_factory=dict)
    expiry_months: int | None = Field(24, ge=1)
    start_date: date | None = None


class TierLevel(_Strict):
    name: str = Field(min_length=1)
    min: float = Field(ge=0)


class TiersConfig(_Strict):
    enabled: bool = True
    basis: Literal["spend", "points"] = "spend"
    window_days: int = Field(365, gt=0)
    levels: tuple[TierLevel, ...] = (
        TierLevel(name="member", min=0),
        TierLevel(name="silver", min=1000),
        TierLevel(name="gold", min=5000),
        TierLevel(name="diamond", min=20000),
    )
    downgrade_after_days: int = Field(365, ge=0)
    downgrade_steps: int | None = Field(1, ge=1)

    @field_validator("levels")
    @classmethod
    def _ascending(cls, levels: tuple[TierLevel, ...]) -> tuple[TierLevel, ...]:
        if not levels or levels[0].min != 0:
            raise ValueError("the first tier must start at 0")
        mins = [level.min for level in levels]
        if any(b <= a for a, b in zip(mins, mins[1:], strict=False)):
            raise ValueError("tier thresholds must be strictly ascending")
        if len({level.name for level in levels}) != len(levels):
            raise ValueError("tier names must be distinct")
        return levels


class PortraitConfig(_Strict):
    enabled: bool = True
    k_min: int = Field(2, ge=2)
    k_max: int = Field(8, ge=2, le=30)
    sample_size: int = Field(10000, ge=10)
    seed: int = 42
    window_days: int | None = Field(365, gt=0)
    describe_threshold: float = Field(0.5, gt=0)
    dominant_share: float = Field(0.4, gt=0, le=1)

    @model_validator(mode="after")
    def _k_range(self) -> PortraitConfig:
        if self.k_max < self.k_min:
            raise ValueError("k_max must be at least k_min")
        return self


class OutputConfig(_Strict):
    keep_runs: int | None = Field(12, ge=1)


class ModelsConfig(_Strict):
    """Every model's settings: the runner's ``output`` section plus one section per declared model.

    The class with the model sections is built from the registered models
    (:func:`models_config_type`); ``ModelsConfig(**sections)`` builds an
    instance of it for the process's plugin manager, so ``ModelsConfig()`` is
    the defaults and ``ModelsConfig(rfm=RfmConfig(window_days=180))`` changes
    one section. An unknown section is refused like an unknown key. Read a
    section with ``config.section("rfm")`` (or ``config.rfm``).
    """

    output: OutputConfig = OutputConfig()

    def __new__(cls, *args: Any, **kwargs: Any) -> ModelsConfig:
        if cls is ModelsConfig:
            cls = models_config_type()
        return super().__new__(cls)

    def section(self, key: str) -> BaseModel:
        """The section ``key`` (raises :class:`ConfigError` when no model declares it)."""
        value = getattr(self, key, None)
        if not isinstance(value, BaseModel):
            raise ConfigError(f"models.yaml has no section {key!r}: no registered model declares it")
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        # The built class lives nowhere pickle can find it: rebuild it from the plain data.
        return (_rebuild, (self.model_dump(mode="json"),))

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


def _rebuild(data: dict[str, Any]) -> ModelsConfig:
    return models_config_type().model_validate(data)


def models_config_type(pm: pluggy.PluginManager | None = None) -> type[ModelsConfig]:
    """The :class:`ModelsConfig` class with a field per section the registered models declare.

    Each field defaults to its section model's defaults. The same models give
    the same class (so configurations built twice compare equal). Raises
    :class:`ConfigError` for wrongly declared models or a section model that
    cannot be built from its defaults.
    """
    sections = tuple((d.config.key, d.config.model) for d in declared_models(pm) if d.config is not None)
    return _config_type(sections)


@functools.lru_cache(maxsize=32)
def _config_type(sections: tuple[tuple[str, type[BaseModel]], ...]) -> type[ModelsConfig]:
    fields: dict[str, Any] = {}
    for key, model in sections:
        try:
            fields[key] = (model, model())
        except ValidationError as err:
            raise ConfigError(
                f"the config section {key!r} ({model.__name__}) needs a default for every key: {err}"
            ) from err
    built = create_model("ModelsConfig", __base__=ModelsConfig, __module__=__name__, **fields)
    return built


def default_config_text(pm: pluggy.PluginManager | None = None) -> str:
    """The commented ``models.yaml`` template, which is also the defaults every file is merged over.

    The shipped ``default_models.yaml`` with the sections of the registered
    models (in its order, ``output`` included), then each section it does not
    hold: the plugin's ``template``, or its defaults written out.
    """
    header, blocks = _shipped_blocks()
    declared = [d.config for d in declared_models(pm) if d.config is not None]
    keys = {section.key for section in declared} | RESERVED_SECTIONS
    parts = [header, *(block for key, block in blocks.items() if key in keys)]
    parts += [_template(section) for section in declared if section.key not in blocks]
    return "".join(part if part.endswith("\n") else part + "\n" for part in parts)


def _shipped_blocks() -> tuple[str, dict[str, str]]:
    """The shipped file's leading comments, and its text per top-level section (comments above a key go with it)."""
    text = resources.files("guanxi.models").joinpath("default_models.yaml").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if re.match(r"[A-Za-z_][\w-]*:", line)]
    if not starts:
        return text, {}
    blocks = {}
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        key = lines[start].split(":", 1)[0]
        blocks[key] = "".join(lines[start:end])
    return "".join(lines[: starts[0]]), blocks


def _template(section: ConfigSection[Any]) -> str:
    """A plugin section's template, checked to hold that section only; or its defaults as YAML."""
    if section.template is None:
        defaults = section.model().model_dump(mode="json")
        return "\n" + yaml.safe_dump({section.key: defaults}, allow_unicode=True, sort_keys=False)
    data = _read_yaml(section.template, f"the template of the config section {section.key!r}")
    if list(data) != [section.key]:
        raise ConfigError(
            f"the template of the config section {section.key!r} must hold that one section, "
            f"found {', '.join(map(str, data)) or 'nothing'}"
        )
    return "\n" + section.template


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in _REPLACED_MAPPINGS:
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Mappings a user replaces as a whole rather than merges key by key.
_REPLACED_MAPPINGS = frozenset({"margin_rates", "event_bonus", "dayparts", "thresholds"})


def _read_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{origin} is not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin} must be a mapping of model name → settings, got {type(data).__name__}")
    return data


def parse_models_config(
    text: str, origin: str = "models.yaml", pm: pluggy.PluginManager | None = None
) -> ModelsConfig:
    """Parse a models file's text merged over the defaults (:func:`default_config_text`).

    The sections are those of the models registered with ``pm`` (default: the
    process's plugin manager). Raises :class:`ConfigError` listing every invalid
    key and unknown section at once (``rfm.window_days: …; tiers.levels: …``).
    """
    config_type = models_config_type(pm)
    defaults = _read_yaml(default_config_text(pm), "default_models.yaml")
    data = _merge(defaults, _read_yaml(text, origin))
    try:
        return config_type.model_validate(data)
    except ValidationError as err:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or '(top level)'}: {error['msg']}"
            for error in err.errors()
        ]
        raise ConfigError(
            f"{origin} has {len(problems)} problem(s): " + "; ".join(problems),
            code="config_invalid",
        ) from err


def load_models_config(settings: Settings, pm: pluggy.PluginManager | None = None) -> ModelsConfig:
    """Read ``settings.models_config`` if it exists, else the shipped defaults.

    A relative path is taken as it is (relative to the working directory).
    Raises :class:`ConfigError` for an unreadable or invalid file.
    """
    path = Path(settings.models_config)
    if not path.exists():
        return parse_models_config("", "default_models.yaml", pm)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read the models file {path}: {err}") from err
    return parse_models_config(text, str(path), pm)
