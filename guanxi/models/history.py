"""Reading model results back: one customer's scores, snapshot dates, migrations.

Read-only; every function raises :class:`~guanxi.errors.NotFoundError` with
the next step to take when what it reads does not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pluggy
from ibis.backends import BaseBackend

from guanxi.errors import ConfigError, NotFoundError
from guanxi.models.declared import SCORES_TABLE, SNAPSHOTS_TABLE, score_snapshots_spec
from guanxi.models.outputs import CUSTOMER_TAGS, LIFECYCLE_TRANSITIONS, POINTS_LEDGER
from guanxi.models.points import balances
from guanxi.models.quadrant import migration_matrix


def migration_dimensions(pm: pluggy.PluginManager | None = None) -> tuple[str, ...]:
    """Snapshot columns a migration matrix can be drawn over: the declared snapshot labels (text columns)."""
    spec = score_snapshots_spec(pm)
    return tuple(name for name, kind in spec.columns.items() if kind == "string" and name != "run_id")


@dataclass
class CustomerProfile:
    """A customer's latest scores with their tags, points and lifecycle history."""

    customer_id: int
    scores: dict[str, Any]
    tags: list[dict[str, Any]] = field(default_factory=list)
    points_balance: int = 0
    ledger: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)


def _require(con: BaseBackend, name: str) -> ir.Table:
    if name not in con.list_tables():
        raise NotFoundError(
            f"no model results yet (table {name!r} is missing); run `guanxi models run` first"
        )
    return con.table(name)


def _records(expr: ir.Table) -> list[dict[str, Any]]:
    return [
        {k: (None if v != v else v) for k, v in row.items()} for row in expr.to_pandas().to_dict("records")
    ]


def customer_profile(con: BaseBackend, customer_id: int, *, ledger_rows: int = 10) -> CustomerProfile:
    """The customer's row from the latest run that scored them, plus tags, points, transitions."""
    scores = _require(con, SCORES_TABLE)
    mine = scores.filter(scores.customer_id == customer_id)
    latest = mine.order_by(ibis.desc(mine.as_of), ibis.desc(mine.run_id)).limit(1)
    rows = _records(latest)
    if not rows:
        raise NotFoundError(
            f"customer {customer_id} has no model scores; check the id or run `guanxi models run`"
        )
    profile = CustomerProfile(customer_id=customer_id, scores=rows[0])
    tags = _require(con, CUSTOMER_TAGS.name)
    profile.tags = _records(
        tags.filter(tags.customer_id == customer_id)
        .select("model", "tag", "value", "weight")
        .order_by("model", "tag")
    )
    ledger = _require(con, POINTS_LEDGER.name)
    balance = balances(ledger, con.table("identity_map")).filter(lambda t: t.customer_id == customer_id)
    total = balance.points_balance.sum().execute()
    profile.points_balance = int(total) if total is not None and total == total else 0
    profile.ledger = _records(
        ledger.filter(ledger.customer_id == customer_id)
        .order_by(ibis.desc(ledger.occurred_at), ibis.desc(ledger.entry_id))
        .select("occurred_at", "kind", "points", "entry_id", "expires_on")
        .limit(ledger_rows)
    )
    moves = _require(con, LIFECYCLE_TRANSITIONS.name)
    profile.transitions = _records(
        moves.filter(moves.customer_id == customer_id)
        .order_by("as_of")
        .select("from_as_of", "as_of", "from_stage", "to_stage")
    )
    return profile


def snapshot_dates(con: BaseBackend) -> list[date]:
    """Every as-of date with a snapshot, oldest first."""
    snaps = _require(con, SNAPSHOTS_TABLE)
    values = snaps.select("as_of").distinct().order_by("as_of").to_pandas().as_of
    return [v.date() if hasattr(v, "date") else v for v in values]


def migration(
    con: BaseBackend,
    *,
    from_date: date,
    to_date: date,
    dimension: str = "quadrant_group",
    pm: pluggy.PluginManager | None = None,
) -> ir.Table:
    """The migration matrix of ``dimension`` between two snapshot dates (long form).

    Raises :class:`ConfigError` for a dimension a snapshot does not keep (see
    :func:`migration_dimensions`) and :class:`NotFoundError` for a date without a snapshot.
    """
    dimensions = migration_dimensions(pm)
    if dimension not in dimensions:
        raise ConfigError(f"cannot show migration by {dimension!r}; choose one of {', '.join(dimensions)}")
    snaps = _require(con, SNAPSHOTS_TABLE)
    known = set(snapshot_dates(con))
    for wanted in (from_date, to_date):
        if wanted not in known:
            listed = ", ".join(d.isoformat() for d in sorted(known)) or "none"
            raise NotFoundError(f"no snapshot for {wanted}; snapshots exist for: {listed}")
    before = snaps.filter(snaps.as_of == from_date)
    after = snaps.filter(snaps.as_of == to_date)
    return migration_matrix(before, after, column=dimension)
