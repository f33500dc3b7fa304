"""What is in each order: lines, products, quantities and prices.

Most orders hold one line (70 %), a few up to six; 60 % of lines come from the
buyer's favourite category, the rest follow the shop's category mix. An order
never holds the same product twice (the platforms merge such lines into one).
Prices are the catalogue's list prices; orders in US dollars carry prices
converted at 7.1 and rounded to ``x.99``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from guanxi.demo.catalog import Catalog, category_weights
from guanxi.demo.randomness import choice

LINES_PER_ORDER = (0.70, 0.19, 0.07, 0.025, 0.01, 0.005)
QUANTITY = (0.80, 0.13, 0.04, 0.02, 0.007, 0.003)
FAVOURITE_SHARE = 0.6
USD_RATE_FEN_PER_CENT = 7.1


@dataclass(frozen=True)
class Lines:
    """Order lines, sorted by order; money in the order's currency, in fen / cents."""

    order: npt.NDArray[np.int64]
    product: npt.NDArray[np.int64]
    quantity: npt.NDArray[np.int64]
    price: npt.NDArray[np.int64]

    @property
    def amount(self) -> npt.NDArray[np.int64]:
        result: npt.NDArray[np.int64] = self.price * self.quantity
        return result

    def __len__(self) -> int:
        return len(self.order)


def usd_price(fen: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """A CNY list price in fen as a US-dollar shelf price in cents (``268.00`` → ``37.99``)."""
    dollars = np.ceil(fen / (USD_RATE_FEN_PER_CENT * 100)).astype(np.int64)
    result: npt.NDArray[np.int64] = np.maximum(dollars, 1) * 100 - 1
    return result


def build_lines(
    rng: np.random.Generator,
    catalog: Catalog,
    favourite: npt.NDArray[np.int64],
    usd: npt.NDArray[np.bool_],
) -> Lines:
    """Lines for orders whose buyers have ``favourite`` categories; ``usd`` marks dollar orders."""
    n_orders = len(favourite)
    n_lines = choice(rng, LINES_PER_ORDER, n_orders) + 1
    order = np.repeat(np.arange(n_orders, dtype=np.int64), n_lines)
    size = len(order)
    category = np.where(
        rng.random(size) < FAVOURITE_SHARE,
        favourite[order],
        choice(rng, category_weights(), size),
    )
    counts = np.bincount(catalog.category_of, minlength=len(catalog.category_names))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    product = starts[category] + (rng.random(size) * counts[category]).astype(np.int64)
    # One line per product and order: drop repeats (catalogue is sorted by category).
    key = order * len(catalog) + product
    _, first = np.unique(key, return_index=True)
    keep = np.sort(first)
    order, product = order[keep], product[keep]
    quantity = choice(rng, QUANTITY, len(order)) + 1
    price = catalog.price[product]
    price = np.where(usd[order], usd_price(price), price)
    return Lines(
        order=order, product=product, quantity=quantity.astype(np.int64), price=price.astype(np.int64)
    )
