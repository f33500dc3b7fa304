"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005b): fit in numpy/scipy.

Inputs are repeat customers only: ``x`` repeat purchases (> 0) and ``m`` their
average net spend per purchase (> 0). The expected spend of a customer,
``p (γ + x m) / (p x + q − 1)``, is plain arithmetic and is evaluated in the
warehouse by :mod:`guanxi.models.clv`. On the CDNOW monetary summary the fit
gives p≈6.25, q≈3.74, γ≈15.44 (the published values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from guanxi.models.bgnbd import Array, FitError, minimise_log_params


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters (spend ~ Gamma(p, ν), ν ~ Gamma(q, γ))."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    customers: float

    @property
    def population_mean_spend(self) -> float:
        """E[spend per purchase] for a customer with no repeat purchases (needs q > 1)."""
        return self.p * self.gamma / (self.q - 1)


def log_likelihood(params: Array, x: Array, m: Array) -> Array:
    """Per-customer Gamma-Gamma log-likelihood for ``params = (p, q, γ)``."""
    p, q, gamma = params
    px = p * x
    return np.asarray(
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + gamma),
        dtype=np.float64,
    )


def gradient(params: Array, x: Array, m: Array) -> Array:
    """Per-customer gradient of :func:`log_likelihood` in ``(p, q, γ)``: shape (n, 3)."""
    p, q, gamma = params
    px = p * x
    shared = special.digamma(px + q)
    d_p = x * (shared - special.digamma(px) + np.log(m) + np.log(x) - np.log(x * m + gamma))
    d_q = shared - special.digamma(q) + np.log(gamma) - np.log(x * m + gamma)
    d_gamma = q / gamma - (px + q) / (x * m + gamma)
    return np.column_stack([d_p, d_q, d_gamma]).astype(np.float64)


def fit(x: Array, m: Array, weight: Array | None = None, *, penalizer: float = 0.0) -> GammaGammaParams:
    """Fit Gamma-Gamma by (penalised) maximum likelihood on repeat customers.

    Raises :class:`FitError` for empty or non-positive inputs, a failed
    optimiser, or a fit with q <= 1 (no finite mean spend).
    """
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    w = np.ones_like(x) if weight is None else np.asarray(weight, dtype=np.float64)
    if x.size == 0:
        raise FitError("Gamma-Gamma needs customers with repeat purchases; none were found")
    if np.any(x <= 0) or np.any(m <= 0):
        raise FitError("Gamma-Gamma inputs must have x > 0 and a positive average spend")
    total = float(w.sum())

    def objective(log_params: Array) -> tuple[float, Array]:
        params = np.exp(log_params)
        ll = log_likelihood(params, x, m)
        value = -float(np.dot(w, ll)) / total + penalizer * float(np.dot(log_params, log_params))
        grad = (
            -(w[:, None] * gradient(params, x, m)).sum(axis=0) / total * params + 2 * penalizer * log_params
        )
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return 1e100, np.zeros_like(log_params)
        return value, np.asarray(grad, dtype=np.float64)

    start = np.log(np.array([1.0, 2.0, max(float(np.average(m, weights=w)), 1.0)]))
    fitted = minimise_log_params(objective, start, "Gamma-Gamma")
    p, q, gamma = (float(v) for v in fitted)
    if q <= 1:
        raise FitError(f"Gamma-Gamma fit gave q={q:.3f} <= 1: spend has no finite mean on these data")
    ll = float(np.dot(w, log_likelihood(np.array([p, q, gamma]), x, m)))
    return GammaGammaParams(p=p, q=q, gamma=gamma, log_likelihood=ll, customers=total)


def expected_spend(params: GammaGammaParams, x: Array, m: Array) -> Array:
    """E[spend per purchase | x, m]; the population mean where x == 0."""
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    conditional = params.p * (params.gamma + x * m) / (params.p * x + params.q - 1)
    return np.asarray(np.where(x > 0, conditional, params.population_mean_spend), dtype=np.float64)
