"""Seeded random streams: one independent generator per part of the data set.

Each part (people, orders, tickets …) draws from its own stream, derived from
the seed and the part's name, so the same seed always gives the same data and
changing how one part draws never shifts the numbers of another.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import numpy.typing as npt


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator for part ``name`` of the data set of ``seed`` (deterministic)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def choice(rng: np.random.Generator, weights: npt.ArrayLike, size: int) -> npt.NDArray[np.int64]:
    """``size`` indices drawn with the given (unnormalised, non-negative) ``weights``."""
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    return np.searchsorted(cdf, rng.random(size), side="right").astype(np.int64)


def exact_mask(rng: np.random.Generator, size: int, fraction: float) -> npt.NDArray[np.bool_]:
    """A mask with exactly ``round(size * fraction)`` True entries at random places."""
    mask = np.zeros(size, dtype=np.bool_)
    count = min(size, int(round(size * fraction)))
    if count:
        mask[rng.choice(size, count, replace=False)] = True
    return mask


def unique_ints(rng: np.random.Generator, low: int, high: int, size: int) -> npt.NDArray[np.int64]:
    """``size`` distinct integers in ``[low, high)``, scattered over the range.

    ``i → (a·i + b) mod (high − low)`` with ``a`` coprime to the range is a
    bijection, so the values are distinct without sorting or retries. Needs
    ``size ≤ high − low < 2**40``.
    """
    span = high - low
    if not size <= span < 1 << 40:
        raise ValueError(f"cannot draw {size} distinct values from a range of {span}")
    while True:
        a = int(rng.integers(max(1, span // 3), max(2, 2 * span // 3)))
        if math.gcd(a, span) == 1:
            break
    b = int(rng.integers(0, span))
    upper, lower = divmod(a, 1 << 17)
    i = np.arange(size, dtype=np.int64)
    # a·i = upper·2^17·i + lower·i, each product kept below 2^63.
    value: npt.NDArray[np.int64] = ((i * upper) % span * (1 << 17) + i * lower + b) % span
    return low + value
