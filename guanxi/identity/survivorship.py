"""Survivorship: the pure part — which fields survive together and in what order values compete.

:mod:`guanxi.identity.golden` turns these into window expressions.
"""

from __future__ import annotations

from typing import Literal

from guanxi.identity.rules import Survivorship, SurvivorshipRule

Criterion = Literal["recency", "trust", "frequency"]

UNITS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "gender": ("gender",),
    "birthday": ("birthday",),
    "phone": ("phone",),
    "email": ("email",),
    "wechat_unionid": ("wechat_unionid",),
    "company": ("company",),
    "title": ("title",),
    "place": ("province", "city", "district", "address"),
}
"""Golden-record units: the fields of one unit are always taken from the same observation."""

GOLDEN_FIELDS: tuple[str, ...] = tuple(field for fields in UNITS.values() for field in fields)

ORIGIN_RANK: dict[str, int] = {"customers": 0, "tickets": 1, "orders": 2, "events": 3}
"""Within one source, the customer's own profile is trusted over what orders, tickets and events say."""

_ORDER: dict[SurvivorshipRule, tuple[Criterion, Criterion, Criterion]] = {
    "most_recent": ("recency", "trust", "frequency"),
    "most_trusted": ("trust", "recency", "frequency"),
    "most_frequent": ("frequency", "recency", "trust"),
}


def criteria(rule: SurvivorshipRule) -> tuple[Criterion, Criterion, Criterion]:
    """The criteria a rule compares values by, most important first (each breaks the previous one's ties)."""
    return _ORDER[rule]


def unit_rules(survivorship: Survivorship) -> dict[str, SurvivorshipRule]:
    """Unit name → its rule."""
    rules: dict[str, SurvivorshipRule] = {unit: getattr(survivorship, unit) for unit in UNITS}
    return rules
