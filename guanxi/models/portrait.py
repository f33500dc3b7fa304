"""Portrait: k-means clusters of buyers, each named in words from its centroid.

Features per buyer over the window: monetary (net spend), frequency
(purchases), recency (days since the last purchase), average order value and
discount rate (share of purchases with a discount). Monetary, frequency and
order value are log1p-transformed; all five are standardised with means and
standard deviations computed in the warehouse. scikit-learn's k-means runs on a
systematic sample (every n-th customer id, at most ``sample_size`` rows), ``k``
is chosen in ``k_min..k_max`` by the best silhouette (one k-means start per k on
at most 5 000 of those rows), the chosen ``k`` is fitted with four starts, and every buyer is then
assigned to its nearest centroid in the warehouse, in one query.

A cluster's name lists the features whose centroid lies beyond
±``describe_threshold`` standard deviations ("high-spend, infrequent"), then the
category and province held by at least ``dominant_share`` of its members.
Deterministic for a given ``seed`` and data. As a declared model (:data:`MODEL`,
can be disabled, after ``preference`` for the top categories) a run writes one
``portrait_clusters`` row per cluster; too few buyers skip it with a warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir
import numpy as np
from threadpoolctl import threadpool_limits

from guanxi.models.bgnbd import FitError
from guanxi.models.config import PortraitConfig
from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext
from guanxi.models.inputs import cutoff, window_start
from guanxi.models.outputs import PORTRAIT_CLUSTERS
from guanxi.tables import conform

FEATURES = ("monetary", "frequency", "recency_days", "average_order_value", "discount_rate")
_LOGGED = frozenset({"monetary", "frequency", "average_order_value"})

WORDS: dict[str, dict[str, tuple[str, str]]] = {
    # feature → (word when high, word when low)
    "en": {
        "monetary": ("high-spend", "low-spend"),
        "frequency": ("frequent", "infrequent"),
        "recency_days": ("lapsed", "recent"),
        "average_order_value": ("big-basket", "small-basket"),
        "discount_rate": ("deal-seeking", "full-price"),
        "": ("typical", "typical"),
    },
    "zh-CN": {
        "monetary": ("高消费", "低消费"),
        "frequency": ("高频", "低频"),
        "recency_days": ("久未购买", "近期购买"),
        "average_order_value": ("大单", "小单"),
        "discount_rate": ("爱用优惠", "不看优惠"),
        "": ("普通", "普通"),
    },
}


@dataclass(frozen=True)
class ClusterModel:
    """Standardisation and centroids (in standard units) of a fitted portrait."""

    means: dict[str, float]
    stds: dict[str, float]
    centroids: np.ndarray
    silhouette: float
    sample_rows: int

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])


def portrait_features(purchases: ir.Table, *, as_of: date, window_days: int | None) -> ir.Table:
    """customer_id and the five features for buyers in the window."""
    start = window_start(as_of, window_days)
    rows = purchases.filter(purchases.paid_at < cutoff(as_of))
    if start is not None:
        rows = rows.filter(rows.paid_at >= start)
    per = rows.group_by("customer_id").aggregate(
        monetary=rows.net_amount.sum().cast("float64"),
        frequency=rows.count().cast("float64"),
        _last=rows.paid_date.max(),
        discount_rate=rows.count(where=rows.discount > 0).cast("float64") / rows.count().cast("float64"),
    )
    return per.select(
        "customer_id",
        "monetary",
        "frequency",
        recency_days=ibis.literal(as_of).delta(per._last, unit="day").cast("float64"),
        average_order_value=per.monetary / per.frequency,
        discount_rate="discount_rate",
    )


def _transformed(features: ir.Table) -> dict[str, ir.FloatingValue]:
    return {name: (features[name] + 1).ln() if name in _LOGGED else features[name] for name in FEATURES}


def fit_clusters(features: ir.Table, config: PortraitConfig) -> ClusterModel:
    """Standardise in the warehouse, fit k-means on a sample, choose k by silhouette.

    Raises :class:`FitError` when there are too few buyers to form ``k_min``
    clusters.
    """
    values = _transformed(features)
    stats_row = (
        features.aggregate(
            _n=features.count(),
            **{f"m_{n}": v.mean() for n, v in values.items()},
            **{f"s_{n}": v.std(how="pop") for n, v in values.items()},
        )
        .to_pandas()
        .iloc[0]
    )
    n = int(stats_row["_n"])
    if n < config.k_min + 1:
        raise FitError(f"portrait needs more than {config.k_min} buyers to form clusters, found {n}")
    means = {name: float(stats_row[f"m_{name}"]) for name in FEATURES}
    stds = {name: float(stats_row[f"s_{name}"]) or 1.0 for name in FEATURES}
    stds = {name: (s if math.isfinite(s) and s > 0 else 1.0) for name, s in stds.items()}
    step = max(1, n // config.sample_size)
    sample = features.filter(features.customer_id % step == 0) if step > 1 else features
    scaled = sample.select(**{name: (values[name] - means[name]) / stds[name] for name in FEATURES})
    matrix = scaled.to_pandas().to_numpy(dtype=np.float64)
    matrix = np.nan_to_num(matrix)
    distinct = len(np.unique(matrix, axis=0))
    # Choose k with one initialisation each on at most 5 000 rows, then fit the chosen k properly.
    # One thread: on a busy warehouse host, OpenMP/BLAS thread pools oversubscribe and run 10× slower.
    with threadpool_limits(limits=1):
        return _fit_on_matrix(matrix, means, stds, distinct, config)


def _fit_on_matrix(
    matrix: np.ndarray, means: dict[str, float], stds: dict[str, float], distinct: int, config: PortraitConfig
) -> ClusterModel:
    from sklearn.cluster import KMeans  # noqa: PLC0415 - scikit-learn loads in ~1 s; only a fit needs it
    from sklearn.metrics import silhouette_score  # noqa: PLC0415

    probe = matrix[:: max(1, len(matrix) // 5000)]
    best: tuple[float, int] | None = None
    for k in range(config.k_min, min(config.k_max, distinct - 1) + 1):
        labels = KMeans(n_clusters=k, n_init=1, random_state=config.seed).fit_predict(probe)
        if len(set(labels)) < 2:
            continue
        score = float(
            silhouette_score(probe, labels, sample_size=min(len(probe), 2000), random_state=config.seed)
        )
        if best is None or score > best[0]:
            best = (score, k)
    if best is None:
        raise FitError(f"portrait needs more than {config.k_min} distinct buyers to form clusters")
    final = KMeans(n_clusters=best[1], n_init=4, random_state=config.seed).fit(matrix)
    return ClusterModel(
        means=means,
        stds=stds,
        centroids=np.asarray(final.cluster_centers_, dtype=np.float64),
        silhouette=best[0],
        sample_rows=len(matrix),
    )


def assign_clusters(features: ir.Table, model: ClusterModel) -> ir.Table:
    """customer_id, cluster (0..k-1, nearest centroid; ties to the lower number), for every buyer."""
    values = _transformed(features)
    scaled = {name: (values[name] - model.means[name]) / model.stds[name] for name in FEATURES}
    distances = [
        sum(((scaled[name] - float(c[i])) ** 2 for i, name in enumerate(FEATURES)), ibis.literal(0.0))
        for c in model.centroids
    ]
    shaped = features.mutate(**{f"_d{i}": d for i, d in enumerate(distances)})
    nearest = ibis.least(*(shaped[f"_d{i}"] for i in range(model.k))) if model.k > 1 else shaped._d0
    cluster = ibis.cases(
        *((shaped[f"_d{i}"] == nearest, ibis.literal(i, "int64")) for i in range(model.k)),
        else_=ibis.literal(0, "int64"),
    )
    return shaped.select("customer_id", cluster=cluster)


def _dominant(assigned: ir.Table, column: str, share: float) -> dict[int, str]:
    rows = assigned.filter(assigned[column].notnull() & (assigned[column] != ""))
    counts = rows.group_by("cluster", column).aggregate(_n=rows.count())
    sizes = assigned.group_by("cluster").aggregate(_size=assigned.count())
    ranked = counts.join(sizes, "cluster")
    ranked = ranked.mutate(
        _rank=ibis.row_number().over(
            ibis.window(group_by=ranked.cluster, order_by=[ibis.desc(ranked._n), ranked[column]])
        )
    )
    top = ranked.filter(
        (ranked._rank == 0) & (ranked._n.cast("float64") / ranked._size.cast("float64") >= share)
    )
    frame = top.select("cluster", column).to_pandas()
    return {int(row.cluster): str(getattr(row, column)) for row in frame.itertuples()}


def describe_centroid(centroid: np.ndarray, threshold: float, locale: str) -> list[str]:
    """The words for the features a centroid (standard units) lies beyond ±threshold on."""
    words = WORDS.get(locale, WORDS["en"])
    found = [
        words[name][0] if value >= threshold else words[name][1]
        for name, value in zip(FEATURES, centroid, strict=True)
        if abs(value) >= threshold
    ]
    return found or [words[""][0]]


def describe_clusters(
    assigned: ir.Table, features: ir.Table, model: ClusterModel, *, config: PortraitConfig, locale: str
) -> list[dict[str, object]]:
    """One description per cluster: label, size, mean raw features, top category and province.

    ``assigned`` holds customer_id, cluster, top_category, province.
    """
    with_features = assigned.join(features, "customer_id")
    means = (
        with_features.group_by("cluster")
        .aggregate(customers=with_features.count(), **{name: with_features[name].mean() for name in FEATURES})
        .to_pandas()
        .set_index("cluster")
    )
    categories = _dominant(assigned, "top_category", config.dominant_share)
    provinces = _dominant(assigned, "province", config.dominant_share)
    separator = "，" if locale == "zh-CN" else ", "
    described: list[dict[str, object]] = []
    for cluster in range(model.k):
        words = describe_centroid(model.centroids[cluster], config.describe_threshold, locale)
        words += [place for place in (categories.get(cluster), provinces.get(cluster)) if place]
        row = means.loc[cluster] if cluster in means.index else None
        described.append(
            {
                "cluster": cluster,
                "label": separator.join(words),
                "customers": int(row["customers"]) if row is not None else 0,
                **{name: (float(row[name]) if row is not None else None) for name in FEATURES},
                "top_category": categories.get(cluster),
                "top_province": provinces.get(cluster),
            }
        )
    return described


def _compute(ctx: RunContext[PortraitConfig]) -> ir.Table | None:
    """Fit, assign and name the clusters; write their rows; score cluster and cluster_label."""
    cfg = ctx.config
    features = ctx.keep(
        "features", portrait_features(ctx.bought, as_of=ctx.as_of, window_days=cfg.window_days)
    )
    try:
        with ctx.ws.timed("portrait_fit"):
            model = fit_clusters(features, cfg)
    except FitError as err:
        ctx.report.warnings.append(f"portrait skipped: {err.message}")
        return None
    assigned = assign_clusters(features, model)
    top_categories = ctx.parts.get("preference")
    if top_categories is not None:
        assigned = assigned.left_join(top_categories.select("customer_id", "top_category"), "customer_id")
        assigned = assigned.drop("customer_id_right")
    else:
        assigned = assigned.mutate(top_category=ibis.null("string"))
    assigned = assigned.left_join(ctx.customers, "customer_id").drop("customer_id_right")
    assigned = ctx.keep("clusters", assigned)
    with ctx.ws.timed("portrait_describe"):
        described = describe_clusters(assigned, features, model, config=cfg, locale=ctx.settings.locale)
    ctx.report.clusters = described
    ctx.report.silhouette = round(model.silhouette, 4)
    labels = ibis.memtable(
        {
            "cluster": [int(str(d["cluster"])) for d in described],
            "cluster_label": [str(d["label"]) for d in described],
        },
        schema={"cluster": "int64", "cluster_label": "string"},
    )
    rows = ibis.memtable(
        [
            {
                "run_id": ctx.run_id,
                "as_of": ctx.as_of,
                "silhouette": model.silhouette,
                "monetary": d["monetary"],
                "frequency": d["frequency"],
                "recency_days": d["recency_days"],
                "average_order_value": d["average_order_value"],
                "discount_rate": d["discount_rate"],
                **{k: d[k] for k in ("cluster", "label", "customers", "top_category", "top_province")},
            }
            for d in described
        ],
        schema=PORTRAIT_CLUSTERS.schema,
    )
    ctx.con.insert(PORTRAIT_CLUSTERS.name, conform(rows, PORTRAIT_CLUSTERS))
    named = assigned.select("customer_id", "cluster").join(labels, "cluster")
    return ctx.keep("portrait", named)


MODEL = ModelDefinition(
    name="portrait",
    columns={"cluster": "int64", "cluster_label": "string"},
    compute=_compute,
    config=ConfigSection("portrait", PortraitConfig, can_disable=True),
    snapshot=("cluster_label",),
    after=("preference",),
)
"""The portrait clusters as a declared model (see :mod:`guanxi.models.declared`)."""
