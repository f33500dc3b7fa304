"""Cell text as the platforms write it, and the broken cells of defective rows.

Times are ``2024-11-11 00:01:02`` (wall clock); Shopify appends the offset
(``+0800``); money is ``128.00``. A defective row gets one realistic breakage:
an unreadable time, an amount that is not a number, a status the platform's
mapping does not know, or an empty order id.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from guanxi.demo import textcols as tc
from guanxi.demo.fulfilment import NO_TIME
from guanxi.demo.orders import BAD_AMOUNT, BAD_TIME, MISSING_ID, UNKNOWN_STATUS

BAD_TIMES = ("2024-02-30 25:61:00", "0000-00-00 00:00:00", "未知", "#VALUE!", "2023/13/01 10:00")
BAD_AMOUNTS = ("abc", "--", "12.3.4", "待定", "N/A")


def times(seconds: npt.NDArray[np.int64], suffix: str = "") -> tc.Column:
    """Wall-clock seconds as ``2024-11-11 00:01:02`` (+ ``suffix``); :data:`NO_TIME` gives null (an empty cell)."""
    return tc.clock_text(seconds, seconds != NO_TIME, suffix=suffix)


def offset_suffix(utc_offset: int) -> str:
    """``+0800`` for an offset of 8 hours east of UTC (seconds)."""
    sign = "+" if utc_offset >= 0 else "-"
    hours, minutes = divmod(abs(utc_offset) // 60, 60)
    return f"{sign}{hours:02d}{minutes:02d}"


def money(fen: npt.NDArray[np.int64]) -> tc.Column:
    return tc.money(fen)


def _garbage(pool: tuple[str, ...], size: int) -> tc.Column:
    return tc.pick(pool, np.arange(size, dtype=np.int64) % len(pool))


def break_cells(
    defect: npt.NDArray[np.int64],
    cells: dict[str, tc.Column],
    *,
    time_key: str,
    amount_key: str,
    status_key: str,
    id_key: str,
    unknown_status: str,
) -> dict[str, tc.Column]:
    """``cells`` with each defective row's chosen cell replaced by broken text."""
    size = len(defect)
    out = dict(cells)
    out[time_key] = tc.where(defect == BAD_TIME, _garbage(BAD_TIMES, size), out[time_key])
    out[amount_key] = tc.where(defect == BAD_AMOUNT, _garbage(BAD_AMOUNTS, size), out[amount_key])
    out[status_key] = tc.where(defect == UNKNOWN_STATUS, unknown_status, out[status_key])
    out[id_key] = tc.where(defect == MISSING_ID, "", out[id_key])
    return out
