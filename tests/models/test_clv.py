"""CLV: BG/NBD and Gamma-Gamma against the published CDNOW fits, and the in-warehouse scoring."""

from __future__ import annotations

from datetime import date

import ibis
import numpy as np
import pytest
from ibis.backends import BaseBackend
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.datasets import load_cdnow_summary, load_cdnow_summary_data_with_monetary_value

from guanxi.models import bgnbd, gamma_gamma, inputs
from guanxi.models.bgnbd import FitError
from guanxi.models.clv import ClvFit, clv_scores, clv_summary, fit_clv
from guanxi.models.config import ClvConfig
from guanxi.models.engagement import purchase_days
from tests.models import factories as f
from tests.models.factories import AS_OF


def _significant(value: float, digits: int = 2) -> float:
    return float(f"{value:.{digits}g}")


@pytest.fixture(scope="module")
def cdnow() -> object:
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def cdnow_fit(cdnow) -> bgnbd.BgNbdParams:  # type: ignore[no-untyped-def]
    return bgnbd.fit(cdnow.frequency.to_numpy(), cdnow.recency.to_numpy(), cdnow["T"].to_numpy())


def test_bgnbd_recovers_the_published_cdnow_parameters(cdnow_fit: bgnbd.BgNbdParams) -> None:
    # given the CDNOW summary (2357 customers, weeks), when BG/NBD is fitted by maximum likelihood
    # then r, α, a, b match Fader, Hardie & Lee (2005) to 2 significant digits (and in fact to 3 decimals)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        fitted = getattr(cdnow_fit, name)
        assert _significant(fitted) == _significant(value), name
        assert abs(fitted - value) < 1e-3, name
    assert abs(cdnow_fit.log_likelihood - (-9582.4)) < 0.1


def test_weighted_fit_on_distinct_summaries_equals_the_full_fit(cdnow, cdnow_fit) -> None:  # type: ignore[no-untyped-def]
    # given the CDNOW rows collapsed to distinct (x, t_x, T) with counts
    grouped = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    fitted = bgnbd.fit(
        grouped.frequency.to_numpy(),
        grouped.recency.to_numpy(),
        grouped["T"].to_numpy(),
        grouped.n.to_numpy(),
    )
    # then the parameters are the same
    assert np.allclose(
        [fitted.r, fitted.alpha, fitted.a, fitted.b],
        [cdnow_fit.r, cdnow_fit.alpha, cdnow_fit.a, cdnow_fit.b],
        rtol=1e-4,
    )


def test_analytic_gradients_match_finite_differences(cdnow) -> None:  # type: ignore[no-untyped-def]
    from scipy.optimize import approx_fprime

    x, t_x, big_t = cdnow.frequency.to_numpy(), cdnow.recency.to_numpy(), cdnow["T"].to_numpy()
    params = np.array([0.3, 4.0, 0.8, 2.5])
    numeric = approx_fprime(params, lambda p: bgnbd.log_likelihood(p, x, t_x, big_t).sum(), 1e-7)
    assert np.allclose(bgnbd.gradient(params, x, t_x, big_t).sum(axis=0), numeric, rtol=1e-4)
    xs, ms = np.array([1.0, 2.0, 5.0]), np.array([20.0, 35.5, 12.0])
    gg = np.array([6.0, 3.5, 15.0])
    numeric = approx_fprime(gg, lambda p: gamma_gamma.log_likelihood(p, xs, ms).sum(), 1e-7)
    assert np.allclose(gamma_gamma.gradient(gg, xs, ms).sum(axis=0), numeric, rtol=1e-4)


def test_gamma_gamma_recovers_the_published_cdnow_parameters() -> None:
    # given the CDNOW repeat customers with their average spend
    data = load_cdnow_summary_data_with_monetary_value()
    repeat = data[data.frequency > 0]
    fitted = gamma_gamma.fit(repeat.frequency.to_numpy(), repeat.monetary_value.to_numpy())
    # then p, q, γ match the published 6.25, 3.74, 15.44
    assert (round(fitted.p, 2), round(fitted.q, 2), round(fitted.gamma, 1)) == (6.25, 3.74, 15.4)


def test_predictions_match_lifetimes(cdnow, cdnow_fit) -> None:  # type: ignore[no-untyped-def]
    # given lifetimes fitted on the same data
    reference = BetaGeoFitter().fit(cdnow.frequency, cdnow.recency, cdnow["T"])
    x, t_x, big_t = cdnow.frequency.to_numpy(), cdnow.recency.to_numpy(), cdnow["T"].to_numpy()
    # then 39-week conditional expectations and P(alive) agree
    ours = bgnbd.expected_purchases(cdnow_fit, x, t_x, big_t, 39)
    theirs = reference.conditional_expected_number_of_purchases_up_to_time(
        39, cdnow.frequency, cdnow.recency, cdnow["T"]
    )
    assert np.allclose(ours, theirs.to_numpy(), rtol=1e-3)
    alive = bgnbd.p_alive(cdnow_fit, x, t_x, big_t)
    assert np.allclose(
        alive, reference.conditional_probability_alive(cdnow.frequency, cdnow.recency, cdnow["T"]), rtol=1e-3
    )
    # and so does the expectation for a new customer over 52 weeks
    assert (
        abs(
            bgnbd.unconditional_purchases(cdnow_fit, 52)
            - reference.expected_number_of_purchases_up_to_time(52)
        )
        < 1e-3
    )


@pytest.mark.slow
def test_warehouse_scoring_matches_lifetimes_clv(warehouse: BaseBackend) -> None:
    # given the CDNOW monetary summary loaded as a warehouse summary table (1 unit = 7 days)
    data = load_cdnow_summary_data_with_monetary_value().reset_index()
    summary = ibis.memtable(
        {
            "customer_id": data.customer_id.astype("int64"),
            "x": data.frequency.astype("int64"),
            "t_x_days": (data.recency * 7).round().astype("int64"),
            "age_days": (data["T"] * 7).round().astype("int64"),
            "repeat_spend": data.monetary_value.where(data.frequency > 0),
        }
    )
    summary = warehouse.create_table("cdnow_summary", summary)
    config = ClvConfig(horizon_months=12, discount_rate_monthly=0.01)
    fit = fit_clv(summary, config)
    scored = clv_scores(summary, fit, config=config).order_by("customer_id").to_pandas()
    # then the fitted BG/NBD parameters still match the published ones (day rounding moves them < 0.5 %)
    assert _significant(fit.bgnbd.r) == 0.24
    assert _significant(fit.bgnbd.alpha) == 4.4
    assert _significant(fit.bgnbd.a) == 0.79
    assert _significant(fit.bgnbd.b) == 2.4
    # and the 12-month CLV of repeat customers agrees with lifetimes' (months of 4.345 weeks vs 4.348)
    bgf = BetaGeoFitter().fit(data.frequency, (data.recency * 7).round() / 7, (data["T"] * 7).round() / 7)
    ggf = GammaGammaFitter().fit(data.frequency[data.frequency > 0], data.monetary_value[data.frequency > 0])
    repeat = data.frequency > 0
    theirs = ggf.customer_lifetime_value(
        bgf,
        data.frequency[repeat],
        (data.recency[repeat] * 7).round() / 7,
        (data["T"][repeat] * 7).round() / 7,
        data.monetary_value[repeat],
        time=12,
        discount_rate=0.01,
        freq="W",
    )
    ours = scored.set_index("customer_id").clv.astype(float)[data.customer_id[repeat].to_numpy()]
    assert np.allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0.01, atol=0.05)


def test_summary_counts_purchase_days_from_the_first(warehouse: BaseBackend) -> None:
    # given purchases on 2024-01-01 (100), 2024-01-15 (50 + 30 in two orders) and 2024-03-01 (70)
    f.customers(warehouse, [1, 2])
    f.orders(
        warehouse,
        [
            f.order("a", 1, date(2024, 1, 1), 100),
            f.order("b", 1, date(2024, 1, 15), 50),
            f.order("c", 1, date(2024, 1, 15), 30),
            f.order("d", 1, date(2024, 3, 1), 70),
            f.order("e", 2, date(2024, 12, 31), 40),
        ],
    )
    orders = inputs.customer_orders(
        warehouse.table("raw_orders"), warehouse.table("identity_map"), before=inputs.cutoff(AS_OF)
    )
    frame = (
        clv_summary(purchase_days(inputs.purchases(orders)), as_of=AS_OF).order_by("customer_id").to_pandas()
    )
    # then x counts repeat days, t_x and T are days from the first day, spend averages the repeat days
    assert frame.iloc[0][["x", "t_x_days", "age_days", "repeat_spend"]].tolist() == [2, 60, 365, 75.0]
    # and a first purchase on the as-of date gives x = 0, T = 0
    assert frame.iloc[1][["x", "t_x_days", "age_days"]].tolist() == [0, 0, 0]
    assert np.isnan(frame.iloc[1].repeat_spend)


def test_too_few_repeat_customers_refuse_to_fit() -> None:
    summary = ibis.memtable(
        {
            "customer_id": [1, 2],
            "x": [1, 0],
            "t_x_days": [5, 0],
            "age_days": [30, 10],
            "repeat_spend": [20.0, None],
        }
    )
    with pytest.raises(FitError, match="at least 20 repeat customers"):
        fit_clv(summary, ClvConfig())


def test_clv_scores_use_the_population_spend_without_repeats() -> None:
    # given fixed parameters and a one-time buyer
    fit = ClvFit(
        bgnbd=bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0, customers=1),
        gamma_gamma=gamma_gamma.GammaGammaParams(p=6.25, q=3.74, gamma=15.44, log_likelihood=0, customers=1),
        customers=1,
        repeat_customers=0,
        distinct_summaries=1,
    )
    summary = ibis.memtable(
        {"customer_id": [1], "x": [0], "t_x_days": [0], "age_days": [70], "repeat_spend": [None]},
        schema={
            "customer_id": "int64",
            "x": "int64",
            "t_x_days": "int64",
            "age_days": "int64",
            "repeat_spend": "float64",
        },
    )
    got = clv_scores(summary, fit, config=ClvConfig()).to_pandas().iloc[0]
    # then P(alive) is 1, spend is p·γ/(q−1) and expected purchases follow the BG/NBD formula
    assert got.p_alive == 1.0
    assert got.expected_spend == round(6.25 * 15.44 / 2.74, 2)
    expected = bgnbd.expected_purchases(
        fit.bgnbd, np.array([0.0]), np.array([0.0]), np.array([10.0]), 365.25 / 7
    )[0]
    assert abs(got.expected_purchases - expected) < 1e-4


def test_large_populations_fit_on_a_systematic_sample() -> None:
    # given the CDNOW summary (2 357 customers) and fit_max_customers 1 000
    data = load_cdnow_summary()
    summary = ibis.memtable(
        {
            "customer_id": data.ID.astype("int64"),
            "x": data.frequency.astype("int64"),
            "t_x_days": (data.recency * 7).round().astype("int64"),
            "age_days": (data["T"] * 7).round().astype("int64"),
            "repeat_spend": np.where(data.frequency > 0, 30.0, np.nan),
        }
    )
    fit = fit_clv(summary, ClvConfig(fit_max_customers=1000))
    # then every third customer id is fitted (⌈2357 / 1000⌉ = 3) and the parameters stay near the full fit
    assert fit.customers == int((data.ID % 3 == 0).sum())
    assert 0.15 < fit.bgnbd.r < 0.35
    assert 0.5 < fit.bgnbd.a < 1.2
