"""The customer models as a plugin: every built-in model enters through ``register_models``.

The order here is the column order of ``customer_scores`` (and of the
snapshot); a run reorders only where a model needs another first.
"""

from __future__ import annotations

from typing import Any

from guanxi.jobs.kinds import JobKind
from guanxi.models import (
    clv,
    credit,
    engagement,
    lifecycle,
    points,
    portrait,
    preference,
    quadrant,
    rfm,
    tiers,
    value,
)
from guanxi.models.declared import ModelDefinition
from guanxi.models.jobs import MODELS_RUN
from guanxi.plugins import hookimpl

BUILT_IN_MODELS: tuple[ModelDefinition[Any], ...] = (
    rfm.MODEL,
    value.MODEL,
    engagement.LOYALTY,
    engagement.ACTIVITY,
    engagement.VALUE_ACTIVITY,
    lifecycle.MODEL,
    quadrant.MODEL,
    clv.MODEL,
    credit.MODEL,
    points.MODEL,
    tiers.MODEL,
    preference.MODEL,
    portrait.MODEL,
)
"""The built-in models, in the column order of ``customer_scores``."""


@hookimpl
def register_models() -> list[ModelDefinition[Any]]:
    return list(BUILT_IN_MODELS)


@hookimpl
def register_job_kinds() -> list[JobKind]:
    return [MODELS_RUN]
