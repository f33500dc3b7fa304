"""Customer models computed in the warehouse: every model is a ``Table → Table`` function.

Run them all with :func:`run_models`; each model's own function is exported for
use on any Ibis table with the documented columns. Every model, built-in or not,
is a :class:`ModelDefinition` registered through the ``register_models`` plugin
hook (see :mod:`guanxi.models.declared`). See ``docs/models.md``.
"""

from __future__ import annotations

from guanxi.models.clv import clv_scores, clv_summary, fit_clv
from guanxi.models.config import ModelsConfig, load_models_config, parse_models_config
from guanxi.models.credit import credit_scores
from guanxi.models.declared import (
    ConfigSection,
    ModelDefinition,
    RunContext,
    customer_scores_spec,
    declared_models,
    score_snapshots_spec,
)
from guanxi.models.engagement import activity_scores, loyalty_scores, purchase_days, two_factor_group
from guanxi.models.history import customer_profile, migration, snapshot_dates
from guanxi.models.inputs import customer_items, customer_orders, paid_orders, purchases
from guanxi.models.lifecycle import lifecycle_stages, purchase_rhythm, stage_transitions
from guanxi.models.points import InsufficientPointsError, balances, redeem_points, update_ledger
from guanxi.models.portrait import assign_clusters, fit_clusters, portrait_features
from guanxi.models.preference import preference_tags
from guanxi.models.quadrant import migration_matrix, quadrant_groups
from guanxi.models.rfm import rfm_scores
from guanxi.models.run import ModelsReport, run_models
from guanxi.models.tiers import member_tiers, qualifying_amounts
from guanxi.models.value import contribution, pareto_curve, value_scores

__all__ = [
    "ConfigSection",
    "InsufficientPointsError",
    "ModelDefinition",
    "ModelsConfig",
    "ModelsReport",
    "RunContext",
    "activity_scores",
    "assign_clusters",
    "balances",
    "clv_scores",
    "clv_summary",
    "contribution",
    "credit_scores",
    "customer_items",
    "customer_orders",
    "customer_profile",
    "customer_scores_spec",
    "declared_models",
    "fit_clusters",
    "fit_clv",
    "lifecycle_stages",
    "load_models_config",
    "loyalty_scores",
    "member_tiers",
    "migration",
    "migration_matrix",
    "paid_orders",
    "parse_models_config",
    "pareto_curve",
    "portrait_features",
    "preference_tags",
    "purchase_days",
    "purchase_rhythm",
    "purchases",
    "qualifying_amounts",
    "quadrant_groups",
    "redeem_points",
    "rfm_scores",
    "score_snapshots_spec",
    "run_models",
    "snapshot_dates",
    "stage_transitions",
    "two_factor_group",
    "update_ledger",
    "value_scores",
]
