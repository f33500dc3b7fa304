"""What incremental runs leave to the next full resolve.

An incremental run never merges or splits existing customers. When the new data
would (or might) do either, it notes why in ``identity_deferred`` and carries on;
the next full resolve (``guanxi resolve``, nightly by default) rebuilds the graph
and so settles every note at once. Reasons:

* ``merge`` — the records of ``customer_id`` now link to those of
  ``other_customer_id`` (the candidate with the oldest member, whose id the merged
  customer will keep);
* ``split`` — ``customer_id`` may fall apart: an identifier linking its records is
  now flagged (shared by more records than the limit, blocked) or no longer held;
* ``unplaced`` — the new record ``source:source_customer_id`` waits for the full
  resolve, because where it belongs depends on a merge or split above
  (``customer_id``: the customer it would most likely join, if any).

A note is *pending* while no full resolve has run since it was written: each
note keeps ``full_runs``, the number of ``identity_runs`` rows at the time, so
no clock is compared and ``resolve`` needs to know nothing about the notes.
Stale notes are deleted by the next incremental run.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.identity.schema import RUNS
from guanxi.tables import TableSpec
from guanxi.warehouse import ensure_tables

DEFERRED = TableSpec(
    "identity_deferred",
    {
        "run_id": "string",
        "reason": "string",
        "customer_id": "int64",
        "other_customer_id": "int64",
        "source": "string",
        "source_customer_id": "string",
        "noted_at": "timestamp",
        "full_runs": "int64",
    },
    ("reason", "customer_id", "other_customer_id", "source", "source_customer_id"),
)

NOTE_COLUMNS = ["reason", "customer_id", "other_customer_id", "source", "source_customer_id"]
"""What a note says; two notes saying the same are one."""


def full_run_count(con: BaseBackend) -> int:
    """How many full resolve runs the warehouse has recorded."""
    return int(con.table(RUNS.name).count().execute())


def pending_notes(con: BaseBackend, full_runs: int | None = None) -> ir.Table:
    """The notes no full resolve has settled yet (``identity_deferred`` rows; an expression)."""
    ensure_tables(con, (DEFERRED,))
    current = full_run_count(con) if full_runs is None else full_runs
    notes = con.table(DEFERRED.name)
    return notes.filter(notes.full_runs == ibis.literal(current, type="int64"))


def needs_full_resolve(con: BaseBackend) -> bool:
    """Whether an incremental run left anything to the next full resolve."""
    return int(pending_notes(con).count().execute()) > 0
