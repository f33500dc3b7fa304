"""Segment membership in the warehouse: the current members and their history.

* ``segment_members`` — the members of each segment as of its latest refresh
  (``segment_key, customer_id, as_of, run_id``), replaced per segment.
* ``segment_membership`` — one span per stay in a segment
  (``segment_key, customer_id, entered_on, left_on``); ``left_on`` is null while
  the customer is still in. Journeys trigger on rows with ``entered_on`` = the
  refresh date.

A refresh as of day D first *rewinds* the segment's history to before D (spans
entered on or after D are dropped, spans left on or after D are re-opened),
then applies D's members: open spans of customers no longer matching close on
D, new members open a span on D. Refreshing the same D again therefore gives
the same tables and the same counts (idempotent); refreshing an earlier day
than the last one replaces what later refreshes recorded.

Every step is a whole-table Ibis statement; the new history of a segment is
staged in a scratch table (``segment_staging_<hex>``), then swapped in with a
delete and an insert. The warehouse offers no portable transaction: should a
refresh die between that delete and insert, the segment's history survives
only in the scratch table, which is therefore dropped only after the swap
(copy it back into ``segment_membership`` before refreshing again).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.portable import delete_where
from guanxi.tables import TableSpec, conform

SEGMENT_MEMBERS = TableSpec(
    "segment_members",
    {"segment_key": "string", "customer_id": "int64", "as_of": "date", "run_id": "string"},
    ("segment_key", "customer_id"),
)

SEGMENT_MEMBERSHIP = TableSpec(
    "segment_membership",
    {"segment_key": "string", "customer_id": "int64", "entered_on": "date", "left_on": "date"},
    ("segment_key", "customer_id", "entered_on"),
)

SEGMENT_TABLES = (SEGMENT_MEMBERS, SEGMENT_MEMBERSHIP)


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh of one segment did."""

    key: str
    as_of: date
    run_id: str
    members: int
    entered: int
    left: int


def ensure_tables(con: BaseBackend) -> None:
    """Create the membership tables that are missing (idempotent)."""
    existing = set(con.list_tables())
    for spec in SEGMENT_TABLES:
        if spec.name not in existing:
            con.create_table(spec.name, schema=spec.schema)


def next_history(history: ir.Table, key: str, members: ir.Table, as_of: date) -> ir.Table:
    """The whole new history of segment ``key`` once ``members`` are its members on ``as_of``.

    ``members`` is a Table of distinct ``customer_id``. The result has the
    columns of ``segment_membership``: rewound spans closed before ``as_of``,
    spans still open, spans closing on ``as_of``, spans opening on ``as_of``.
    """
    day = ibis.literal(as_of)
    no_date = ibis.null().cast("date")
    mine = history.filter((history.segment_key == key) & (history.entered_on < day))
    rewound = mine.select(
        "segment_key",
        "customer_id",
        "entered_on",
        left_on=ibis.ifelse(mine.left_on.notnull() & (mine.left_on < day), mine.left_on, no_date),
    )
    closed = rewound.filter(rewound.left_on.notnull())
    open_ = rewound.filter(rewound.left_on.isnull())
    staying = open_.semi_join(members, "customer_id").select(*SEGMENT_MEMBERSHIP.columns)
    leaving = open_.anti_join(members, "customer_id").mutate(left_on=day).select(*SEGMENT_MEMBERSHIP.columns)
    entering = members.anti_join(open_, "customer_id").select(
        segment_key=ibis.literal(key), customer_id=members.customer_id, entered_on=day, left_on=no_date
    )
    parts = [conform(part, SEGMENT_MEMBERSHIP) for part in (closed, staying, leaving, entering)]
    return ibis.union(*parts, distinct=False)


def apply_refresh(con: BaseBackend, key: str, members: ir.Table, as_of: date, run_id: str) -> RefreshResult:
    """Write ``members`` (a Table of ``customer_id``) as segment ``key``'s members on ``as_of``.

    Replaces the segment's rows of ``segment_members`` and rewrites its
    history (see the module docstring). Idempotent for the same ``as_of``.
    """
    ensure_tables(con)
    scratch = f"segment_staging_{uuid.uuid4().hex[:12]}"
    history = con.table(SEGMENT_MEMBERSHIP.name)
    con.create_table(scratch, next_history(history, key, members.select("customer_id").distinct(), as_of))
    staged = con.table(scratch)
    delete_where(con, SEGMENT_MEMBERSHIP.name, segment_key=key)
    con.insert(SEGMENT_MEMBERSHIP.name, staged)
    delete_where(con, SEGMENT_MEMBERS.name, segment_key=key)
    current = staged.filter(staged.left_on.isnull())
    rows = current.select(
        "segment_key", "customer_id", as_of=ibis.literal(as_of), run_id=ibis.literal(run_id)
    )
    con.insert(SEGMENT_MEMBERS.name, conform(rows, SEGMENT_MEMBERS))
    counts = (
        staged.aggregate(
            members=staged.left_on.isnull().sum(),
            entered=(staged.entered_on == as_of).sum(),
            left=(staged.left_on == as_of).sum(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    con.drop_table(scratch)
    return RefreshResult(
        key=key,
        as_of=as_of,
        run_id=run_id,
        members=int(counts["members"] or 0),
        entered=int(counts["entered"] or 0),
        left=int(counts["left"] or 0),
    )


def current_members(con: BaseBackend, key: str) -> ir.Table:
    """Segment ``key``'s rows of ``segment_members`` (empty before its first refresh)."""
    ensure_tables(con)
    members = con.table(SEGMENT_MEMBERS.name)
    return members.filter(members.segment_key == key)


def history_of(con: BaseBackend, key: str) -> ir.Table:
    """Segment ``key``'s spans in ``segment_membership``."""
    ensure_tables(con)
    history = con.table(SEGMENT_MEMBERSHIP.name)
    return history.filter(history.segment_key == key)
