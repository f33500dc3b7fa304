"""Customer lifetime value: BG/NBD + Gamma-Gamma, summaries in the warehouse.

The warehouse computes each customer's summary from purchase days up to the
as-of date: ``x`` repeat purchase days, ``t_x`` days from the first to the last
purchase day, ``T`` days from the first purchase day to the as-of date, and the
mean net spend of the repeat days. Only the *distinct* ``(x, t_x, T)`` triples
(with how many customers share each) and the repeat customers' ``(x, mean
spend)`` pairs travel to numpy for fitting (see ADR 0003). The one term that
needs the Gauss hypergeometric function depends on ``(x, T)`` only; it is
computed for the distinct pairs and joined back, and everything else
(P(alive), expected spend, discounted CLV) is evaluated in the warehouse.

CLV over ``horizon_months`` is ``P(alive) × expected spend × Σₘ ΔE[purchases in
month m | alive] / (1 + d)ᵐ`` with monthly discount rate ``d``; money in
yuan, rounded to fen. As a declared model (:data:`MODEL`, can be disabled) a run
with too few repeat buyers skips CLV with a warning and leaves its columns null;
the fitted parameters go in the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from guanxi.models import bgnbd, gamma_gamma
from guanxi.models.bgnbd import BgNbdParams, FitError
from guanxi.models.config import ClvConfig
from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext
from guanxi.models.gamma_gamma import GammaGammaParams
from guanxi.models.inputs import MONEY

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class ClvFit:
    """The fitted parameters of one run, for the report and for scoring."""

    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams
    customers: int
    repeat_customers: int
    distinct_summaries: int


def clv_summary(days: ir.Table, *, as_of: date) -> ir.Table:
    """customer_id, x, t_x_days, age_days, repeat_spend (mean net spend of repeat days, null when x=0)."""
    rows = days.filter(days.paid_date <= as_of)
    rows = rows.mutate(_first=rows.paid_date.min().over(ibis.window(group_by=rows.customer_id)))
    per = rows.group_by("customer_id").aggregate(
        _days=rows.count(),
        _first=rows._first.min(),
        _last=rows.paid_date.max(),
        _repeat_total=rows.net_amount.sum(where=rows.paid_date != rows._first),
    )
    x = (per._days - 1).cast("int64")
    return per.select(
        "customer_id",
        x=x,
        t_x_days=per._last.delta(per._first, unit="day").cast("int64"),
        age_days=ibis.literal(as_of).delta(per._first, unit="day").cast("int64"),
        repeat_spend=ibis.cases(
            (x > 0, per._repeat_total.cast("float64") / x.cast("float64")), else_=ibis.null("float64")
        ),
    )


def fit_clv(summary: ir.Table, config: ClvConfig) -> ClvFit:
    """Fit both models on the summary (pulls distinct triples and repeat pairs only).

    With more than ``fit_max_customers`` customers the fit uses every n-th
    customer id (the scores are still computed for everyone). Raises
    :class:`FitError` when there are fewer than ``min_repeat_customers`` repeat
    customers or either fit fails.
    """
    total = int(summary.count().execute())
    if config.fit_max_customers is not None and total > config.fit_max_customers:
        # A systematic sample by customer id: population parameters need tens of thousands, not millions.
        step = -(-total // config.fit_max_customers)
        summary = summary.filter(summary.customer_id % step == 0)
    triples = summary.group_by("x", "t_x_days", "age_days").aggregate(customers=summary.count()).to_pandas()
    customers = int(triples.customers.sum()) if len(triples) else 0
    repeat_customers = int(triples.loc[triples.x > 0, "customers"].sum()) if len(triples) else 0
    if repeat_customers < config.min_repeat_customers:
        raise FitError(
            f"CLV needs at least {config.min_repeat_customers} repeat customers, found {repeat_customers}; "
            "lower clv.min_repeat_customers or wait for more history"
        )
    unit = config.time_unit_days
    bg = bgnbd.fit(
        triples.x.to_numpy(np.float64),
        triples.t_x_days.to_numpy(np.float64) / unit,
        triples.age_days.to_numpy(np.float64) / unit,
        triples.customers.to_numpy(np.float64),
        penalizer=config.penalizer,
    )
    repeat = summary.filter((summary.x > 0) & (summary.repeat_spend > 0))
    pairs = repeat.group_by("x", "repeat_spend").aggregate(customers=repeat.count()).to_pandas()
    gg = gamma_gamma.fit(
        pairs.x.to_numpy(np.float64),
        pairs.repeat_spend.to_numpy(np.float64),
        pairs.customers.to_numpy(np.float64),
        penalizer=config.penalizer,
    )
    return ClvFit(
        bgnbd=bg,
        gamma_gamma=gg,
        customers=customers,
        repeat_customers=repeat_customers,
        distinct_summaries=len(triples),
    )


def horizon_factors(fit: ClvFit, pairs: pd.DataFrame, config: ClvConfig) -> pd.DataFrame:
    """For each distinct (x, age_days): alive purchases over the horizon, plain and discounted."""
    unit = config.time_unit_days
    x = pairs.x.to_numpy(np.float64)
    big_t = pairs.age_days.to_numpy(np.float64) / unit
    previous = np.zeros_like(x)
    discounted = np.zeros_like(x)
    for month in range(1, config.horizon_months + 1):
        cumulative = bgnbd.alive_purchases(fit.bgnbd, x, big_t, month * DAYS_PER_MONTH / unit)
        cumulative = np.nan_to_num(cumulative, nan=0.0, posinf=0.0, neginf=0.0)
        discounted += np.maximum(cumulative - previous, 0.0) / (1 + config.discount_rate_monthly) ** month
        previous = np.maximum(cumulative, previous)
    return pd.DataFrame(
        {
            "x": pairs.x.to_numpy(np.int64),
            "age_days": pairs.age_days.to_numpy(np.int64),
            "alive_purchases": previous,
            "alive_discounted": discounted,
        }
    )


def clv_scores(summary: ir.Table, fit: ClvFit, *, config: ClvConfig) -> ir.Table:
    """customer_id, p_alive, expected_purchases, expected_spend, clv for every summarised customer.

    ``expected_purchases`` counts purchase days over the horizon;
    ``expected_spend`` is yuan per purchase; ``clv`` is decimal(18, 2) yuan.
    """
    pairs = summary.select("x", "age_days").distinct().to_pandas()
    factors = ibis.memtable(horizon_factors(fit, pairs, config))
    joined = summary.join(factors, ["x", "age_days"])
    bg, gg = fit.bgnbd, fit.gamma_gamma
    unit = config.time_unit_days
    x = joined.x.cast("float64")
    log_ratio = (x + bg.r) * (
        (joined.age_days.cast("float64") / unit + bg.alpha).ln()
        - (joined.t_x_days.cast("float64") / unit + bg.alpha).ln()
    )
    odds = ibis.cases(
        (joined.x > 0, bg.a / (x + bg.b - 1) * log_ratio.exp()),
        else_=0.0,
    )
    alive = 1.0 / (1.0 + odds)
    spend = ibis.cases(
        (joined.x > 0, gg.p * (gg.gamma + x * joined.repeat_spend) / (gg.p * x + gg.q - 1)),
        else_=gg.population_mean_spend,
    )
    shaped = joined.mutate(_alive=alive, _spend=spend)
    return shaped.select(
        "customer_id",
        clv_repeat_purchases=shaped.x,
        p_alive=shaped._alive.round(6),
        expected_purchases=(shaped.alive_purchases * shaped._alive).round(4),
        expected_spend=shaped._spend.round(2),
        clv=(shaped.alive_discounted * shaped._alive * shaped._spend).round(2).cast(MONEY),
    )


def _compute(ctx: RunContext[ClvConfig]) -> ir.Table | None:
    summary = ctx.keep("clv_summary", clv_summary(ctx.days, as_of=ctx.as_of))
    try:
        with ctx.ws.timed("clv_fit"):
            fit = fit_clv(summary, ctx.config)
    except FitError as err:
        ctx.report.warnings.append(f"clv skipped: {err.message}")
        return None
    ctx.report.clv = {
        "r": fit.bgnbd.r,
        "alpha": fit.bgnbd.alpha,
        "a": fit.bgnbd.a,
        "b": fit.bgnbd.b,
        "p": fit.gamma_gamma.p,
        "q": fit.gamma_gamma.q,
        "gamma": fit.gamma_gamma.gamma,
        "customers": fit.customers,
        "repeat_customers": fit.repeat_customers,
        "distinct_summaries": fit.distinct_summaries,
    }
    return ctx.keep("clv", clv_scores(summary, fit, config=ctx.config))


MODEL = ModelDefinition(
    name="clv",
    columns={
        "clv_repeat_purchases": "int64",
        "p_alive": "float64",
        "expected_purchases": "float64",
        "expected_spend": "float64",
        "clv": "decimal(18, 2)",
    },
    compute=_compute,
    config=ConfigSection("clv", ClvConfig, can_disable=True),
    snapshot=("clv",),
)
"""CLV as a declared model (see :mod:`guanxi.models.declared`)."""
