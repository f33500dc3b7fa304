"""What a demo data set looks like: its size, seed, end instant and defect rate.

:class:`DemoSpec` is the one input of :func:`guanxi.demo.dataset.generate`;
everything the generator draws follows from it, so the same spec always gives
the same data (see :mod:`guanxi.demo.randomness`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from guanxi.config import Settings
from guanxi.errors import ConfigError

MIN_ORDERS = 200
MAX_ORDERS = 10_000_000
HISTORY_DAYS = 730
"""Two years of order history end at :attr:`DemoSpec.end`."""


@dataclass(frozen=True)
class DemoSpec:
    """The parameters of one demo data set.

    ``end`` is a naive wall-clock time in ``Settings.timezone``: the moment the
    exports were taken. Orders fall in the ``HISTORY_DAYS`` before it and their
    statuses describe the shop as seen at that moment (recent orders may still be
    unpaid or in transit). ``broken_fraction`` of the rows of every order,
    ticket and event file are realistically broken (an unreadable time, an
    amount ``abc``, an unknown status, an empty id). ``excel_row_cap`` and
    ``xls_row_cap`` bound the rows written to one .xlsx / .xls sheet; JD lines
    beyond the cap go to CSV files, Youzan switches from .xls to .xlsx.
    """

    orders: int
    seed: int
    end: datetime
    broken_fraction: float = 0.002
    excel_row_cap: int = 200_000
    xls_row_cap: int = 20_000

    def __post_init__(self) -> None:
        problems = []
        if not MIN_ORDERS <= self.orders <= MAX_ORDERS:
            problems.append(f"orders must be between {MIN_ORDERS:,} and {MAX_ORDERS:,}, got {self.orders:,}")
        if self.seed < 0:
            problems.append(f"seed must be zero or positive, got {self.seed}")
        if self.end.tzinfo is not None:
            problems.append("end must be a naive wall-clock time in the configured time zone")
        if not 0.0 <= self.broken_fraction <= 0.05:
            problems.append(f"broken_fraction must be between 0 and 0.05, got {self.broken_fraction}")
        if self.excel_row_cap < 1_000 or not 1 <= self.xls_row_cap <= 65_535:
            problems.append("excel_row_cap must be at least 1,000 and xls_row_cap between 1 and 65,535")
        if problems:
            raise ConfigError("invalid demo settings: " + "; ".join(problems))

    @property
    def start(self) -> datetime:
        """Midnight of the first day of history (naive, same zone as ``end``)."""
        first = self.end - timedelta(days=HISTORY_DAYS - 1)
        return first.replace(hour=0, minute=0, second=0, microsecond=0)


def default_end(settings: Settings, now: datetime | None = None) -> datetime:
    """The current wall-clock time in ``settings.timezone``, to whole seconds (naive)."""
    moment = now.astimezone(settings.zone) if now is not None else datetime.now(settings.zone)
    return moment.replace(tzinfo=None, microsecond=0)
