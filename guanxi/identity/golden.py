"""The golden record: one row per customer, every source value kept beside it.

*Observations* are what the raw tables say about a record: its profile row,
and the buyer name, contact and shipping address of each order, the contact of
each event and ticket. Identical observations of one record are counted once
with how often and when they were seen. Survivorship
(:mod:`guanxi.identity.survivorship`) picks, per customer and unit, the winning
observation; ``customer_source_values`` keeps every value with ``chosen`` marking
the winner. All of it is Ibis expressions over whole tables.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from guanxi.identity.rules import IdentityRules
from guanxi.identity.schema import SOURCE_VALUES
from guanxi.identity.survivorship import GOLDEN_FIELDS, ORIGIN_RANK, UNITS, criteria, unit_rules
from guanxi.portable import unpivot
from guanxi.tables import CUSTOMERS

_KEYS = ["source", "source_customer_id", "origin"]


def observations(rows: ir.Table) -> ir.Table:
    """Record-level observations from the sightings ``rows``: source, source_customer_id,
    origin, every golden field, observations (rows saying exactly this),
    first_observed_at, last_observed_at. Rows that know no golden field are left out."""
    present = rows.filter(ibis.or_(*[rows[f].notnull() for f in GOLDEN_FIELDS]))
    return present.group_by([*_KEYS, *GOLDEN_FIELDS]).agg(
        observations=present.count().cast("int64"),
        first_observed_at=present.observed_at.min(),
        last_observed_at=present.observed_at.max(),
    )


def _ranked(table: ir.Table, rules: IdentityRules) -> ir.Table:
    trust = ibis.cases(
        *[(table.source == source, rank) for rank, source in enumerate(rules.source_trust)],
        else_=len(rules.source_trust),
    )
    origin = ibis.cases(
        *[(table.origin == o, rank) for o, rank in ORIGIN_RANK.items()], else_=len(ORIGIN_RANK)
    )
    return table.mutate(source_rank=trust.cast("int64"), origin_rank=origin.cast("int64"))


def customer_observations(observed: ir.Table, identity_map: ir.Table, rules: IdentityRules) -> ir.Table:
    """Observations with the customer each record resolved to and their trust ranks."""
    joined = observed.join(identity_map.select("source", "source_customer_id", "customer_id"), _KEYS[:2])
    return _ranked(joined, rules)


_WIDTH = max(len(fields) for fields in UNITS.values())
_COMMON = [
    "customer_id",
    "source",
    "source_customer_id",
    "origin",
    "observations",
    "last_observed_at",
    "source_rank",
    "origin_rank",
]


def _unit_rows(observed: ir.Table) -> ir.Table:
    """Observations in long form: one row per unit with its values in v0..v3 (text)."""
    singles = [unit for unit, fields in UNITS.items() if len(fields) == 1]
    wide = observed.select(*_COMMON, **{unit: observed[UNITS[unit][0]].cast("string") for unit in singles})
    long = unpivot(wide, _COMMON, singles, names_to="unit", values_to="v0")
    long = long.mutate(**{f"v{i}": ibis.null("string") for i in range(1, _WIDTH)})
    parts = [long.select(*_COMMON, "unit", *[f"v{i}" for i in range(_WIDTH)])]
    for unit, fields in UNITS.items():
        if len(fields) == 1:
            continue
        present = observed.filter(ibis.or_(*[observed[f].notnull() for f in fields]))
        values = {f"v{i}": present[f].cast("string") for i, f in enumerate(fields)}
        values.update({f"v{i}": ibis.null("string") for i in range(len(fields), _WIDTH)})
        parts.append(present.select(*_COMMON, unit=ibis.literal(unit), **values))
    return ibis.union(*parts)


def _criterion_key(rows: ir.Table, criterion: str) -> ir.NumericValue:
    """A number that sorts the best value first for one criterion."""
    if criterion == "recency":
        seconds = rows.last_observed_at.epoch_seconds().cast("float64")
        return ibis.ifelse(rows.last_observed_at.isnull(), 1e18, -seconds)
    if criterion == "trust":
        return (rows.source_rank * 100 + rows.origin_rank).cast("float64")
    return -rows.frequency.cast("float64")


def _winners(observed: ir.Table, rules: IdentityRules) -> ir.Table:
    """customer_id plus every golden field: each unit's winning observation, in one window."""
    rows = _unit_rows(observed)
    values = [f"v{i}" for i in range(_WIDTH)]
    rows = rows.mutate(
        frequency=rows.observations.sum().over(ibis.window(group_by=["customer_id", "unit", *values]))
    )
    by_unit = unit_rules(rules.survivorship)
    keys: list[ir.Value] = []
    for position in range(3):
        cases = [
            (rows.unit == unit, _criterion_key(rows, criteria(rule)[position]))
            for unit, rule in by_unit.items()
        ]
        keys.append(ibis.cases(*cases, else_=0.0))
    order: list[ir.Value] = [*keys, *[ibis.asc(rows[v], nulls_first=False) for v in values]]
    order += [rows.source, rows.source_customer_id, rows.origin]
    pick = ibis.row_number().over(group_by=["customer_id", "unit"], order_by=order)
    won = rows.mutate(pick=pick).filter(ibis._.pick == 0)
    fields: dict[str, ir.Value] = {}
    for unit, unit_fields in UNITS.items():
        for i, field in enumerate(unit_fields):
            value = won[f"v{i}"].max(where=won.unit == unit)
            fields[field] = value.cast("date") if field == "birthday" else value
    return won.group_by("customer_id").agg(**fields)


def customer_base(identity_map: ir.Table, activity: ir.Table) -> ir.Table:
    """customer_id, sources, record_count, first_seen_at, last_seen_at."""
    joined = identity_map.join(activity, ["source", "source_customer_id"])
    return joined.group_by("customer_id").agg(
        sources=joined.source.collect(distinct=True).sort().join(","),
        record_count=joined.count().cast("int64"),
        first_seen_at=joined.first_at.min(),
        last_seen_at=joined.last_at.max(),
    )


def golden_records(
    base: ir.Table,
    observed: ir.Table,
    previous: ir.Table,
    rules: IdentityRules,
    now: datetime,
) -> ir.Table:
    """The next ``customers`` table.

    ``observed`` is :func:`customer_observations`; ``previous`` the current
    ``customers`` table. ``updated_at`` stays as it was for customers whose row
    did not change, so a re-run on unchanged data rewrites nothing.
    """
    winners = _winners(observed, rules)
    result = base.left_join(winners, base.customer_id == winners.customer_id).select(
        *[base[c] for c in base.columns], *[winners[f] for f in GOLDEN_FIELDS]
    )
    content = [c for c in CUSTOMERS.columns if c not in {"customer_id", "updated_at"}]
    joined = result.left_join(previous, result.customer_id == previous.customer_id)
    unchanged = ibis.and_(*[result[c].identical_to(previous[c]) for c in content])
    stamp = ibis.literal(now, type="timestamp")
    rows = joined.select(
        *[result[c] for c in ["customer_id", *content]],
        updated_at=ibis.ifelse(previous.customer_id.notnull() & unchanged, previous.updated_at, stamp),
    )
    return rows.select(*CUSTOMERS.columns).cast(CUSTOMERS.schema)


def source_values(observed: ir.Table, golden: ir.Table) -> ir.Table:
    """The ``customer_source_values`` rows: every value of every field, ``chosen`` for the golden one."""
    as_text = {f: observed[f].cast("string") for f in GOLDEN_FIELDS}
    wide = observed.select(
        "customer_id",
        "source",
        "source_customer_id",
        "origin",
        "observations",
        "first_observed_at",
        "last_observed_at",
        **as_text,
    )
    kept = [
        "customer_id",
        "source",
        "source_customer_id",
        "origin",
        "observations",
        "first_observed_at",
        "last_observed_at",
    ]
    long = unpivot(wide, kept, list(GOLDEN_FIELDS), names_to="field", values_to="value")
    values = long.group_by(["customer_id", "field", "value", "source", "source_customer_id", "origin"]).agg(
        observations=long.observations.sum().cast("int64"),
        first_observed_at=long.first_observed_at.min(),
        last_observed_at=long.last_observed_at.max(),
    )
    chosen = unpivot(golden, ["customer_id"], list(GOLDEN_FIELDS), names_to="field", values_to="chosen_value")
    marked = values.left_join(chosen, ["customer_id", "field"])
    rows = marked.select(
        *[values[c] for c in values.columns],
        chosen=ibis.coalesce(values.value == chosen.chosen_value, False),
    )
    return rows.select(*SOURCE_VALUES.columns).cast(SOURCE_VALUES.schema)
