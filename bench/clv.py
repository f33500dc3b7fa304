"""Benchmark: guanxi's CLV (BG/NBD + Gamma-Gamma) against ``lifetimes`` and the published CDNOW fit.

Two parts, both measured in the same run:

* **CDNOW** (the summary shipped inside ``lifetimes``, 2,357 customers): guanxi's
  ``bgnbd.fit`` / ``gamma_gamma.fit`` against the published parameters (Fader,
  Hardie & Lee 2005: r=0.243, α=4.414, a=0.793, b=2.426; Fader & Hardie's
  Gamma-Gamma note: p=6.25, q=3.74, γ=15.44), and the same fits timed against
  ``lifetimes.BetaGeoFitter`` / ``GammaGammaFitter``.
* **Scale**: ``--orders`` orders generated as in ``bench/models.py``; guanxi's
  CLV in the warehouse (summary → fit → per-customer scores, materialised,
  default settings: the fit uses a systematic sample of at most 50,000
  customers) against ``lifetimes`` on the same per-customer summary (fit on
  every customer, then ``customer_lifetime_value`` over 12 months at 1 %/month),
  which runs in its own process. The two fits are also compared on the full
  summary: parameters, and the total log-likelihood each reaches (lifetimes falls
  back to its advised small penalizer when it does not converge, and says so).

    .venv/bin/python bench/clv.py --orders 1000000 [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import figures
import numpy as np
import pandas as pd
from process import call_isolated, self_peak_rss_mib

from guanxi.config import get_settings
from guanxi.models import (
    ModelsConfig,
    bgnbd,
    clv_scores,
    clv_summary,
    customer_orders,
    fit_clv,
    gamma_gamma,
    purchase_days,
)
from guanxi.models import purchases as paid_purchases
from guanxi.models.inputs import cutoff
from guanxi.warehouse import connect

AS_OF = date(2024, 12, 31)
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "gamma": 15.44}
"""CDNOW parameters as published (BG/NBD paper; Gamma-Gamma note), to the digits printed there."""
WEEK = 7.0


def lifetimes_missing() -> str | None:
    """Why ``lifetimes`` cannot be used here, or None when it imports."""
    try:
        import lifetimes  # noqa: F401
    except Exception as err:  # an import of a third-party package can fail in many ways
        return f"lifetimes cannot be imported ({type(err).__name__}: {err})"
    return None


def cdnow() -> pd.DataFrame:
    """The CDNOW summary (frequency, recency, T in weeks, monetary_value) shipped with lifetimes."""
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    frame: pd.DataFrame = load_cdnow_summary_data_with_monetary_value()
    return frame


def cdnow_guanxi() -> dict[str, Any]:
    """guanxi's fits on CDNOW: parameters and seconds."""
    d = cdnow()
    started = time.perf_counter()
    bg = bgnbd.fit(d.frequency.to_numpy(float), d.recency.to_numpy(float), d["T"].to_numpy(float))
    repeat = d[d.frequency > 0]
    gg = gamma_gamma.fit(repeat.frequency.to_numpy(float), repeat.monetary_value.to_numpy(float))
    seconds = time.perf_counter() - started
    return {
        "params": {
            "r": bg.r,
            "alpha": bg.alpha,
            "a": bg.a,
            "b": bg.b,
            "p": gg.p,
            "q": gg.q,
            "gamma": gg.gamma,
        },
        "seconds": seconds,
    }


def cdnow_lifetimes() -> dict[str, Any]:
    """lifetimes' fits on CDNOW: parameters and seconds."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    d = cdnow()
    started = time.perf_counter()
    bg = BetaGeoFitter().fit(d.frequency, d.recency, d["T"])
    repeat = d[d.frequency > 0]
    gg = GammaGammaFitter().fit(repeat.frequency, repeat.monetary_value)
    seconds = time.perf_counter() - started
    params = {**bg.params_.to_dict(), **gg.params_.to_dict()}
    return {"params": _gg_names(params), "seconds": seconds}


def _gg_names(params: dict[str, float]) -> dict[str, float]:
    """lifetimes calls Gamma-Gamma's scale ``v``; guanxi and the paper call it γ."""
    out = {k: float(v) for k, v in params.items() if k != "v"}
    out["gamma"] = float(params["v"])
    return out


def max_relative_error(ours: dict[str, float], reference: dict[str, float]) -> tuple[str, float]:
    """The parameter furthest from ``reference`` and its relative error."""
    worst = max(reference, key=lambda k: abs(ours[k] - reference[k]) / abs(reference[k]))
    return worst, abs(ours[worst] - reference[worst]) / abs(reference[worst])


def log_likelihoods(
    summary: pd.DataFrame, ours: dict[str, float], theirs: dict[str, float]
) -> tuple[float, float]:
    """Total BG/NBD + Gamma-Gamma log-likelihood of both parameter sets on one per-customer summary."""
    x = summary.x.to_numpy(float)
    t_x = summary.t_x_days.to_numpy(float) / WEEK
    age = summary.age_days.to_numpy(float) / WEEK
    repeat = summary[(summary.x > 0) & (summary.repeat_spend > 0)]

    def total(params: dict[str, float]) -> float:
        bg = bgnbd.log_likelihood(np.array([params[k] for k in ("r", "alpha", "a", "b")]), x, t_x, age)
        gg = gamma_gamma.log_likelihood(
            np.array([params[k] for k in ("p", "q", "gamma")]),
            repeat.x.to_numpy(float),
            repeat.repeat_spend.to_numpy(float),
        )
        return float(bg.sum() + gg.sum())

    return total(ours), total(theirs)


def lifetimes_scale(summary_path: str) -> dict[str, Any]:
    """lifetimes on the per-customer summary in ``summary_path`` (parquet): fit both models, then CLV."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import ConvergenceError

    started = time.perf_counter()
    s = pd.read_parquet(summary_path)
    loaded = time.perf_counter()
    frequency = s.x.astype(float)
    recency = s.t_x_days / WEEK
    age = s.age_days / WEEK
    penalizers: dict[str, float] = {}

    def fitted_model(fitter: Any, name: str, *data: Any) -> Any:
        try:
            return fitter().fit(*data)
        except ConvergenceError:
            # lifetimes' own advice: a small penalizer (needed when the MLE sits on a boundary).
            penalizers[name] = 0.001
            return fitter(penalizer_coef=0.001).fit(*data)

    bg = fitted_model(BetaGeoFitter, "BG/NBD", frequency, recency, age)
    repeat = s[(s.x > 0) & (s.repeat_spend > 0)]
    gg = fitted_model(GammaGammaFitter, "Gamma-Gamma", repeat.x.astype(float), repeat.repeat_spend)
    fitted = time.perf_counter()
    clv = gg.customer_lifetime_value(
        bg,
        frequency,
        recency,
        age,
        s.repeat_spend.fillna(0.0),
        time=12,
        discount_rate=0.01,
        freq="W",
    )
    done = time.perf_counter()
    return {
        "load_seconds": loaded - started,
        "fit_seconds": fitted - loaded,
        "clv_seconds": done - fitted,
        "params": _gg_names({**bg.params_.to_dict(), **gg.params_.to_dict()}),
        "penalizers": penalizers,
        "customers": len(s),
        "mean_clv": float(np.nanmean(clv.to_numpy(float))),
    }


def measure(orders: float, customers: float | None = None) -> dict[str, Any]:
    """Every CLV figure at ``orders`` (see the module docstring)."""
    missing = lifetimes_missing()
    if missing:
        return {
            "benchmark": "clv",
            "sizes": {"orders": int(orders)},
            "figures": [figures.unavailable("CLV vs lifetimes", missing)],
            "details": {},
            "warnings": [missing],
        }
    ours = cdnow_guanxi()
    theirs = call_isolated("clv:cdnow_lifetimes")
    worst, error = max_relative_error(ours["params"], PUBLISHED)
    print(
        f"  CDNOW: guanxi fit {ours['seconds']:.3f} s, lifetimes {theirs.result['seconds']:.3f} s", flush=True
    )
    result_figures = [
        figures.value(
            "CDNOW fit vs published parameters",
            value=f"max rel. error {error:.2%} ({worst})",
            goal="≤ 1 %",
            met=error <= 0.01,
            baseline="published (Fader, Hardie & Lee)",
            note="published to 3-4 digits",
        ),
        figures.timed(
            "CDNOW fit (BG/NBD + Gamma-Gamma)",
            guanxi_seconds=ours["seconds"],
            baseline="lifetimes",
            baseline_seconds=theirs.result["seconds"],
            baseline_peak_rss_mib=theirs.peak_rss_mib,
        ),
    ]

    n = int(orders)
    buyers = int(customers or max(n // 8, 10))
    with tempfile.TemporaryDirectory(prefix="guanxi-bench-") as tmp:
        folder = Path(tmp)
        database = folder / "bench.duckdb"
        call_isolated("models:generate_file", database=str(database), orders=n, customers=buyers)
        settings = get_settings(
            env="test",
            data_dir=folder,
            warehouse_url=f"duckdb://{database}",
            models_config=folder / "absent-models.yaml",
            progress=False,
        )
        con = connect(settings)
        config = ModelsConfig().clv
        started = time.perf_counter()
        orders_table = customer_orders(
            con.table("raw_orders"), con.table("identity_map"), before=cutoff(AS_OF)
        )
        summary = con.create_table(
            "bench_clv_summary", clv_summary(purchase_days(paid_purchases(orders_table)), as_of=AS_OF)
        )
        fit = fit_clv(summary, config)
        con.create_table("bench_clv", clv_scores(summary, fit, config=config))
        guanxi_seconds = time.perf_counter() - started
        guanxi_peak = self_peak_rss_mib()
        print(f"  guanxi CLV in the warehouse (summary, fit, scores): {guanxi_seconds:.2f} s", flush=True)

        full = fit_clv(summary, config.model_copy(update={"fit_max_customers": None}))
        summary_path = folder / "summary.parquet"
        summary.to_parquet(summary_path)
        summary_frame = pd.read_parquet(summary_path)
        con.disconnect()
        baseline = call_isolated("clv:lifetimes_scale", summary_path=str(summary_path))
    b = baseline.result
    lifetimes_seconds = b["fit_seconds"] + b["clv_seconds"]
    print(
        f"  lifetimes: load {b['load_seconds']:.2f} s, fit {b['fit_seconds']:.2f} s, CLV {b['clv_seconds']:.2f} s",
        flush=True,
    )
    ours_full = {
        "r": full.bgnbd.r,
        "alpha": full.bgnbd.alpha,
        "a": full.bgnbd.a,
        "b": full.bgnbd.b,
        "p": full.gamma_gamma.p,
        "q": full.gamma_gamma.q,
        "gamma": full.gamma_gamma.gamma,
    }
    penalised = sorted(b["penalizers"])
    compared = {k: v for k, v in b["params"].items() if k not in ("a", "b")}
    worst_scale, error_scale = max_relative_error(ours_full, compared)
    warnings = [
        f"lifetimes' {name} fit did not converge unpenalised on these data (BFGS precision loss on a flat "
        "likelihood); refitted with penalizer_coef=0.001, so its parameters are shrunk"
        for name in penalised
    ]
    ours_ll, theirs_ll = log_likelihoods(summary_frame, ours_full, b["params"])
    result_figures += [
        figures.value(
            "log-likelihood on the same summary",
            value=f"guanxi {ours_ll:,.1f} vs lifetimes {theirs_ll:,.1f}",
            goal="≥ lifetimes' (BG/NBD + Gamma-Gamma)",
            met=ours_ll >= theirs_ll - 1e-6 * abs(theirs_ll),
            baseline="lifetimes" + (" (penalised)" if penalised else ""),
            note="both evaluated with the same unpenalised likelihood",
        ),
        figures.timed(
            "CLV for every customer",
            guanxi_seconds=guanxi_seconds,
            baseline="lifetimes (fit + CLV)",
            baseline_seconds=lifetimes_seconds,
            guanxi_peak_rss_mib=guanxi_peak,
            baseline_peak_rss_mib=baseline.peak_rss_mib,
            note=(
                f"{b['customers']:,} customers; guanxi includes the summary, lifetimes starts from it "
                f"(+{b['load_seconds']:.2f} s load)"
            ),
        ),
        figures.value(
            "fit on the same summary vs lifetimes",
            value=f"max rel. diff {error_scale:.2%} ({worst_scale})"
            if error_scale < 10
            else f"max rel. diff {error_scale:.3g}× ({worst_scale})",
            goal="≤ 1 %",
            met=None if penalised else error_scale <= 0.01,
            baseline="lifetimes" + (" (penalised)" if penalised else ""),
            note="r, α, p, q, γ; both fitted on every customer (a, b in details: weakly identified here)",
        ),
    ]
    return {
        "benchmark": "clv",
        "sizes": {"orders": n, "customers": buyers},
        "figures": result_figures,
        "details": {
            "cdnow_guanxi": ours["params"],
            "cdnow_lifetimes": theirs.result["params"],
            "scale_guanxi_full_fit": ours_full,
            "scale_guanxi_sampled_fit": {
                "r": fit.bgnbd.r,
                "alpha": fit.bgnbd.alpha,
                "a": fit.bgnbd.a,
                "b": fit.bgnbd.b,
                "fit_customers": fit.customers,
            },
            "scale_lifetimes": b["params"],
            "lifetimes_load_seconds": round(b["load_seconds"], 3),
            "distinct_summaries": fit.distinct_summaries,
        },
        "warnings": warnings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=float, default=1e6)
    parser.add_argument("--customers", type=float, default=None, help="customers (default: orders / 8)")
    parser.add_argument("--json", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args()
    result = measure(args.orders, args.customers)
    for fig in result["figures"]:
        if fig["kind"] == "timed":
            ratio = fig["guanxi_seconds"] / fig["baseline_seconds"]
            print(
                f"{fig['figure']:<40} guanxi {fig['guanxi_seconds']:.3f} s vs {fig['baseline']} "
                f"{fig['baseline_seconds']:.3f} s → {ratio:.2f}×  {fig['note'] or ''}"
            )
        else:
            print(f"{fig['figure']:<40} {fig.get('value') or fig['note']}  (goal: {fig.get('goal')})")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
