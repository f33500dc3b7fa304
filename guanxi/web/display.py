"""How numbers, money and times look on a page. Pure functions."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

CURRENCY_SYMBOLS = {"CNY": "¥", "RMB": "¥", "USD": "$", "EUR": "€", "GBP": "£", "HKD": "HK$", "JPY": "JP¥"}
CENT = Decimal("0.01")
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def format_money(amount: Decimal | int | float | None, currency: str) -> str:
    """``¥1,234.56`` style: symbol, thousands separators, two decimals rounded half up.

    ``None`` shows as ``—``; a negative amount as ``-¥12.00``; a currency
    without a known symbol is written before the number (``SGD 1,234.50``).
    """
    if amount is None:
        return "—"
    value = Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    number = f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{currency.upper()} {number}"


def format_count(value: int | float | Decimal | None) -> str:
    """``12,345``; ``None`` shows as ``—``."""
    if value is None:
        return "—"
    return f"{int(value):,}"


def format_time(value: datetime | date | str | None, zone: ZoneInfo) -> str:
    """``2026-03-01 17:30`` in ``zone``.

    An aware datetime (app database) is converted to ``zone``; a naive one
    (warehouse wall-clock, already in the configured zone) is shown as is.
    """
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        shown = value.astimezone(zone) if value.tzinfo is not None else value
        return shown.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def format_cell(value: object, zone: ZoneInfo) -> str:
    """A value of any type as table-cell text (for generic tables such as the quality report)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, int):
        return format_count(value)
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, datetime | date):
        return format_time(value, zone)
    if isinstance(value, str) and ISO_TIME.match(value):
        return format_time(datetime.fromisoformat(value), zone)
    if isinstance(value, list | tuple):
        return ", ".join(format_cell(item, zone) for item in value)
    return str(value)


def humanise_key(key: str) -> str:
    """``rows_quarantined`` → ``Rows quarantined`` (for keys without a catalogue entry)."""
    words = key.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]
