"""How people and exports *write* phone numbers and e-mail addresses.

The same mobile appears as ``13812345678``, ``138 1234 5678``, ``138-1234-5678``,
``+86 138 1234 5678``, ``+8613812345678``, ``0086-13812345678``, in full-width
digits (``１３８１２３４５６７８``) or masked as ``138****5678`` (Taobao and JD
hide most buyers' numbers). E-mails come in upper or mixed case and with stray
spaces. Every function takes whole columns and a style code per row.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from guanxi.demo import textcols as tc
from guanxi.demo.randomness import choice


class PhoneStyle(IntEnum):
    PLAIN = 0
    SPACED = 1
    DASHED = 2
    PLUS86_SPACED = 3
    PLUS86 = 4
    ZERO086 = 5
    ZERO086_DASH = 6
    FULL_WIDTH = 7
    MASKED = 8
    MISSING = 9


def styles(rng: np.random.Generator, size: int, weights: dict[PhoneStyle, float]) -> npt.NDArray[np.int64]:
    """A style code per row, drawn with ``weights``."""
    keys = list(weights)
    picked = choice(rng, [weights[k] for k in keys], size)
    return np.array([int(k) for k in keys], dtype=np.int64)[picked]


def write_phones(numbers: tc.Column, style: npt.NDArray[np.int64]) -> tc.Column:
    """11-digit mobiles written in ``style`` (a :class:`PhoneStyle` per row); MISSING gives null."""

    def shaped(
        build: Callable[[tc.Column, tc.Column, tc.Column, tc.Column], tc.Column],
    ) -> Callable[[npt.NDArray[np.int64]], tc.Column]:
        def run(rows: npt.NDArray[np.int64]) -> tc.Column:
            number = numbers.take(pa.array(rows))
            return build(
                number,
                pc.utf8_slice_codeunits(number, 0, 3),
                pc.utf8_slice_codeunits(number, 3, 7),
                pc.utf8_slice_codeunits(number, 7, 11),
            )

        return run

    return tc.cases(
        style,
        {
            PhoneStyle.PLAIN: lambda rows: numbers.take(pa.array(rows)),
            PhoneStyle.SPACED: shaped(lambda n, h, m, t: tc.concat(h, " ", m, " ", t)),
            PhoneStyle.DASHED: shaped(lambda n, h, m, t: tc.concat(h, "-", m, "-", t)),
            PhoneStyle.PLUS86_SPACED: shaped(lambda n, h, m, t: tc.concat("+86 ", h, " ", m, " ", t)),
            PhoneStyle.PLUS86: shaped(lambda n, h, m, t: tc.concat("+86", n)),
            PhoneStyle.ZERO086: shaped(lambda n, h, m, t: tc.concat("0086", n)),
            PhoneStyle.ZERO086_DASH: shaped(lambda n, h, m, t: tc.concat("0086-", n)),
            PhoneStyle.FULL_WIDTH: shaped(lambda n, h, m, t: tc.fullwidth_digits(n)),
            PhoneStyle.MASKED: shaped(lambda n, h, m, t: tc.concat(h, "****", t)),
            PhoneStyle.MISSING: lambda rows: None,
        },
    )


def write_emails(addresses: tc.Column, rng: np.random.Generator, upper: float, padded: float) -> tc.Column:
    """Addresses with a share ``upper`` in capitals (some only the first letter) and ``padded`` with spaces."""
    size = len(addresses)
    u = rng.random(size)
    capital = tc.concat(
        pc.utf8_upper(pc.utf8_slice_codeunits(addresses, 0, 1)), pc.utf8_slice_codeunits(addresses, 1)
    )
    out = tc.where(u < upper * 0.6, pc.utf8_upper(addresses), addresses)
    out = tc.where((u >= upper * 0.6) & (u < upper), capital, out)
    return tc.where(rng.random(size) < padded, tc.concat(" ", out, " "), out)
