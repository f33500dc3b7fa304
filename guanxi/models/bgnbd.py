"""BG/NBD (Fader, Hardie & Lee 2005): fit and predictions, in numpy/scipy.

Pure numerics, no warehouse access. Inputs are per-customer summaries:
``x`` repeat purchases, ``t_x`` time of the last purchase and ``T`` age, both
measured from the first purchase in one time unit (CDNOW: weeks). Rows may carry
``weight`` (how many customers share the summary), so callers can fit on the
distinct summaries rather than on every customer. Fitting maximises the
likelihood (with an optional L2 penalty on the log-parameters) with L-BFGS-B on
the log scale; on the CDNOW summary it recovers the published r=0.243,
α=4.414, a=0.793, b=2.426.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, special
from threadpoolctl import threadpool_limits

from guanxi.errors import GuanxiError

Array = npt.NDArray[np.float64]

LOG_BOUND = 15.0
"""Parameters are searched within e^±15 (3e-7 .. 3e6): wide, but finite on degenerate data."""


class FitError(GuanxiError):
    """The optimiser did not converge on the data given."""

    code = "model_fit_failed"
    http_status = 422


def minimise_log_params(objective: Callable[[Array], tuple[float, Array]], start: Array, model: str) -> Array:
    """Minimise ``objective`` over log-parameters with L-BFGS-B; the fitted parameters (not logs).

    Runs single-threaded: BLAS/OpenMP pools oversubscribe on a busy host and slow these
    small problems tenfold. Raises :class:`FitError` naming ``model`` when it does not converge.
    """
    with threadpool_limits(limits=1):
        result = optimize.minimize(
            objective,
            start,
            method="L-BFGS-B",
            jac=True,
            bounds=[(-LOG_BOUND, LOG_BOUND)] * len(start),
            options={"maxiter": 1000, "ftol": 1e-11, "gtol": 1e-9},
        )
    if not np.all(np.isfinite(result.x)) or result.fun >= 1e100:
        raise FitError(f"{model} fit did not converge: {result.message}")
    return np.asarray(np.exp(result.x), dtype=np.float64)


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters (purchase rate ~ Gamma(r, α), dropout ~ Beta(a, b))."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: float


def log_likelihood(params: Array, x: Array, t_x: Array, big_t: Array) -> Array:
    """Per-customer BG/NBD log-likelihood for ``params = (r, α, a, b)`` (natural scale)."""
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    safe_b = np.where(repeat, b + x - 1, 1.0)
    a4 = np.where(repeat, np.log(a) - np.log(safe_b) - (r + x) * np.log(alpha + t_x), -np.inf)
    return np.asarray(a1 + a2 + np.logaddexp(a3, a4), dtype=np.float64)


def gradient(params: Array, x: Array, t_x: Array, big_t: Array) -> Array:
    """Per-customer gradient of :func:`log_likelihood` in ``(r, α, a, b)``: shape (n, 4)."""
    r, alpha, a, b = params
    a3 = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    safe_b = np.where(repeat, b + x - 1, 1.0)
    a4 = np.where(repeat, np.log(a) - np.log(safe_b) - (r + x) * np.log(alpha + t_x), -np.inf)
    total = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - total), np.exp(a4 - total)
    d_r = special.digamma(r + x) - special.digamma(r) + np.log(alpha)
    d_r = d_r - w3 * np.log(alpha + big_t) - w4 * np.log(alpha + t_x)
    d_alpha = r / alpha - w3 * (r + x) / (alpha + big_t) - w4 * (r + x) / (alpha + t_x)
    common = special.digamma(a + b) - special.digamma(a + b + x)
    d_a = common + w4 / a
    d_b = common + special.digamma(b + x) - special.digamma(b) - w4 / safe_b
    return np.column_stack([d_r, d_alpha, d_a, d_b]).astype(np.float64)


def fit(
    x: Array,
    t_x: Array,
    big_t: Array,
    weight: Array | None = None,
    *,
    penalizer: float = 0.0,
) -> BgNbdParams:
    """Fit BG/NBD by (penalised) maximum likelihood.

    Raises :class:`FitError` when the data are degenerate (nobody repeats,
    negative times) or the optimiser fails.
    """
    x, t_x, big_t = (np.asarray(v, dtype=np.float64) for v in (x, t_x, big_t))
    w = np.ones_like(x) if weight is None else np.asarray(weight, dtype=np.float64)
    if x.size == 0 or not np.any(x > 0):
        raise FitError("BG/NBD needs customers with repeat purchases; none were found")
    if np.any(t_x < 0) or np.any(big_t < t_x) or np.any(x < 0):
        raise FitError("BG/NBD inputs must satisfy 0 <= t_x <= T and x >= 0")
    total = float(w.sum())

    def objective(log_params: Array) -> tuple[float, Array]:
        params = np.exp(log_params)
        ll = log_likelihood(params, x, t_x, big_t)
        value = -float(np.dot(w, ll)) / total + penalizer * float(np.dot(log_params, log_params))
        grad = (
            -(w[:, None] * gradient(params, x, t_x, big_t)).sum(axis=0) / total * params
            + 2 * penalizer * log_params
        )
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return 1e100, np.zeros_like(log_params)
        return value, np.asarray(grad, dtype=np.float64)

    start = np.log(np.array([1.0, max(float(np.average(big_t, weights=w)), 1.0), 1.0, 1.0]))
    fitted = minimise_log_params(objective, start, "BG/NBD")
    r, alpha, a, b = (float(v) for v in fitted)
    ll = float(np.dot(w, log_likelihood(np.array([r, alpha, a, b]), x, t_x, big_t)))
    return BgNbdParams(r=r, alpha=alpha, a=a, b=b, log_likelihood=ll, customers=total)


def p_alive(params: BgNbdParams, x: Array, t_x: Array, big_t: Array) -> Array:
    """P(customer still active | x, t_x, T); 1 for customers without repeat purchases."""
    x, t_x, big_t = (np.asarray(v, dtype=np.float64) for v in (x, t_x, big_t))
    repeat = x > 0
    safe_b = np.where(repeat, params.b + x - 1, 1.0)
    log_ratio = (params.r + x) * (np.log(params.alpha + big_t) - np.log(params.alpha + t_x))
    odds = np.where(repeat, params.a / safe_b * np.exp(log_ratio), 0.0)
    return np.asarray(1.0 / (1.0 + odds), dtype=np.float64)


def alive_purchases(params: BgNbdParams, x: Array, big_t: Array, horizon: float) -> Array:
    """Expected purchases in ``(T, T + horizon]`` of a customer known to be alive.

    This is the part of the conditional expectation that depends on ``(x, T)``
    only; the expectation itself is this times :func:`p_alive`.
    """
    x, big_t = (np.asarray(v, dtype=np.float64) for v in (x, big_t))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if horizon <= 0:
        return np.zeros_like(x)
    z = horizon / (alpha + big_t + horizon)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    lead = (a + b + x - 1) / (a - 1)
    tail = 1 - ((alpha + big_t) / (alpha + big_t + horizon)) ** (r + x) * hyp
    return np.asarray(lead * tail, dtype=np.float64)


def expected_purchases(params: BgNbdParams, x: Array, t_x: Array, big_t: Array, horizon: float) -> Array:
    """E[purchases in the next ``horizon`` time units | x, t_x, T] (Fader et al. 2005, eq. 10)."""
    return alive_purchases(params, x, big_t, horizon) * p_alive(params, x, t_x, big_t)


def unconditional_purchases(params: BgNbdParams, t: float) -> float:
    """E[X(t)] for a new customer over ``t`` time units (Fader et al. 2005, eq. 9)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + t)
    hyp = float(special.hyp2f1(r, b, a + b - 1, z))
    return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp))
