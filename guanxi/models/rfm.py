"""RFM: recency, frequency, monetary → scores, the 125 cells, named segments, 8 classes.

Measured on purchases (see :mod:`guanxi.models.inputs`) paid within the window
ending on the reference date (inclusive):

* **recency** — days from the customer's last purchase date to the reference
  date (a purchase on the reference date gives 0);
* **frequency** — number of purchases;
* **monetary** — the sum (or average per purchase) of net amounts, refunds
  subtracted.

Scores are 1–5: quintiles by the tie rule of :mod:`guanxi.models.scoring`
(tied customers share the lower score) or fixed cut points. The cell is the
string ``"{R}{F}{M}"`` (125 possible). The named segment comes from the recency
score and the FM score ``⌊(F + M + 1) / 2⌋`` (the mean of F and M, halves
rounded up) through ``segment_grid``. The 8-class scheme compares R, F and M
with their means over the scored customers: recency strictly below the mean, and
frequency / monetary strictly above it, count as "high".

Customers without a purchase in the window get no row. As a declared model
(:data:`MODEL`) it scores the run's purchases as of ``reference_date`` (default
the as-of date) and reports the buyers and the customers per named segment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import ibis
import ibis.expr.types as ir

from guanxi.errors import ConfigError
from guanxi.models.config import RfmConfig
from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext
from guanxi.models.inputs import MONEY, cutoff, window_start
from guanxi.models.scoring import quantile_score, threshold_score

CLASSES: dict[tuple[bool, bool, bool], str] = {
    # (recent, frequent, high spend) → class
    (True, True, True): "重要价值客户",
    (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户",
    (False, False, False): "一般挽留客户",
}
"""The Chinese 8-class scheme by whether R, F and M are better than their means."""


def rfm_measures(
    purchases: ir.Table, *, reference_date: date, window_days: int | None, monetary: str
) -> ir.Table:
    """customer_id, recency_days, frequency, monetary for purchases in the window."""
    start = window_start(reference_date, window_days)
    rows = purchases.filter(purchases.paid_at < cutoff(reference_date))
    if start is not None:
        rows = rows.filter(rows.paid_at >= start)
    per_customer = rows.group_by("customer_id").aggregate(
        last_date=rows.paid_date.max(),
        frequency=rows.count(),
        total=rows.net_amount.sum(),
    )
    spend = per_customer.total if monetary == "sum" else per_customer.total / per_customer.frequency
    return per_customer.select(
        "customer_id",
        recency_days=ibis.literal(reference_date).delta(per_customer.last_date, unit="day").cast("int64"),
        frequency=per_customer.frequency.cast("int64"),
        monetary=spend.cast(MONEY),
    )


def segment_of(
    r: ir.IntegerValue, f: ir.IntegerValue, m: ir.IntegerValue, grid: Mapping[int, Sequence[str]]
) -> ir.StringValue:
    """The named segment of a cell: ``grid[R][FM − 1]`` with FM = ⌊(F + M + 1) / 2⌋."""
    fm = (f + m + 1) // 2
    return ibis.cases(
        *(
            ((r == r_value) & (fm == fm_value), ibis.literal(name))
            for r_value, row in grid.items()
            for fm_value, name in enumerate(row, start=1)
        ),
        else_=ibis.null("string"),
    )


def rfm_scores(purchases: ir.Table, *, reference_date: date, config: RfmConfig) -> ir.Table:
    """One row per customer with a purchase in the window.

    Columns: customer_id, rfm_recency_days, rfm_frequency, rfm_monetary,
    r_score, f_score, m_score, rfm_cell, rfm_segment, rfm_class.
    Deterministic: the same purchases give the same table.
    """
    m = rfm_measures(
        purchases, reference_date=reference_date, window_days=config.window_days, monetary=config.monetary
    )
    if config.scoring == "thresholds":
        assert config.thresholds is not None  # guaranteed by RfmConfig
        cuts = config.thresholds
        r = threshold_score(m.recency_days, cuts.recency, higher_is_better=False)
        f = threshold_score(m.frequency, cuts.frequency)
        s = threshold_score(m.monetary, cuts.monetary)
    else:
        r = quantile_score(m.recency_days, buckets=5, higher_is_better=False)
        f = quantile_score(m.frequency, buckets=5)
        s = quantile_score(m.monetary, buckets=5)
    scored = m.mutate(r_score=r, f_score=f, m_score=s)
    if config.class_basis == "value":
        recent = scored.recency_days < scored.recency_days.mean().over(ibis.window())
        frequent = scored.frequency > scored.frequency.mean().over(ibis.window())
        spends = scored.monetary > scored.monetary.mean().over(ibis.window())
    else:
        recent = scored.r_score > scored.r_score.mean().over(ibis.window())
        frequent = scored.f_score > scored.f_score.mean().over(ibis.window())
        spends = scored.m_score > scored.m_score.mean().over(ibis.window())
    scored = scored.mutate(_recent=recent, _frequent=frequent, _spends=spends)
    segment = segment_of(scored.r_score, scored.f_score, scored.m_score, config.segment_grid)
    klass = ibis.cases(
        *(
            (
                (scored._recent == recent_) & (scored._frequent == frequent_) & (scored._spends == spends_),
                name,
            )
            for (recent_, frequent_, spends_), name in CLASSES.items()
        ),
        else_=ibis.null("string"),
    )
    return scored.select(
        "customer_id",
        rfm_recency_days=scored.recency_days,
        rfm_frequency=scored.frequency,
        rfm_monetary=scored.monetary,
        r_score=scored.r_score,
        f_score=scored.f_score,
        m_score=scored.m_score,
        rfm_cell=scored.r_score.cast("string")
        + scored.f_score.cast("string")
        + scored.m_score.cast("string"),
        rfm_segment=segment,
        rfm_class=klass,
    )


def _check(config: RfmConfig, as_of: date) -> None:
    if config.reference_date is not None and config.reference_date > as_of:
        raise ConfigError(f"rfm.reference_date {config.reference_date} is after the run's as-of date {as_of}")


def _compute(ctx: RunContext[RfmConfig]) -> ir.Table:
    reference = ctx.config.reference_date or ctx.as_of
    return ctx.keep("rfm", rfm_scores(ctx.bought, reference_date=reference, config=ctx.config))


def _summarise(ctx: RunContext[RfmConfig], scores: ir.Table) -> None:
    """Buyers (customers with an RFM row) and customers per named segment, in the report."""
    with ctx.ws.timed("report"):
        buyers = scores.count(where=scores.rfm_frequency.notnull()).execute()
        ctx.report.buyers = int(buyers or 0)
        segmented = scores.filter(scores.rfm_segment.notnull())
        segs = segmented.group_by("rfm_segment").aggregate(n=segmented.count())
        ctx.report.segments = {str(r.rfm_segment): int(r.n) for r in segs.to_pandas().itertuples()}


MODEL = ModelDefinition(
    name="rfm",
    columns={
        "rfm_recency_days": "int64",
        "rfm_frequency": "int64",
        "rfm_monetary": "decimal(18, 2)",
        "r_score": "int64",
        "f_score": "int64",
        "m_score": "int64",
        "rfm_cell": "string",
        "rfm_segment": "string",
        "rfm_class": "string",
    },
    compute=_compute,
    config=ConfigSection("rfm", RfmConfig),
    snapshot=("rfm_cell", "rfm_segment", "rfm_class"),
    after_write=_summarise,
    check=_check,
)
"""RFM as a declared model (see :mod:`guanxi.models.declared`)."""
