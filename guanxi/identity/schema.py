"""The tables identity resolution owns, next to the canonical ``identity_map`` and ``customers``.

Every table here is written by :mod:`guanxi.identity` only; other modules may read
them. Timestamps follow the warehouse convention (wall-clock time in
``Settings.timezone``, naive).

* ``identity_records`` — every record ever resolved, with its frozen *seniority*
  (the earliest time known for it when first seen). The oldest member of a
  customer is the one with the smallest ``(seniority_at, source, source_customer_id)``.
* ``identity_identifiers`` — every identifier of every record, as resolved.
* ``identity_identifier_flags`` — identifiers that never link, with the reason
  (``shared``: more records than ``Settings.shared_identifier_limit``;
  ``placeholder``: a known dummy value; ``blocked``: on the block list).
* ``identity_blocklist`` — the manual block list.
* ``identity_links`` — record pairs linked or proposed outside shared
  identifiers: manual merges, probabilistic matches, the review queue.
* ``identity_detached`` — records split off by a manual un-merge: no automatic
  link (shared identifier or probabilistic match) touches them.
* ``identity_history`` — every id created, merged, split or retired, per run.
* ``identity_runs`` — one row per resolve run.
* ``customer_source_values`` — every value every source gave for a golden-record
  field, with the one survivorship chose.
* ``customer_companies`` / ``company_contacts`` — B2B: companies seen on
  customer records and the customers who are their contacts, with their roles.
"""

from __future__ import annotations

from ibis.backends import BaseBackend

from guanxi.tables import CUSTOMERS, IDENTITY_MAP, TableSpec
from guanxi.warehouse import ensure_tables

IDENTITY_RECORDS = TableSpec(
    "identity_records",
    {
        "source": "string",
        "source_customer_id": "string",
        "seniority_at": "timestamp",
        "first_resolved_at": "timestamp",
    },
    ("source", "source_customer_id"),
)

IDENTITY_IDENTIFIERS = TableSpec(
    "identity_identifiers",
    {
        "source": "string",
        "source_customer_id": "string",
        "kind": "string",
        "value": "string",
        "origins": "string",
        "occurrences": "int64",
    },
    ("source", "source_customer_id", "kind", "value"),
)

IDENTIFIER_FLAGS = TableSpec(
    "identity_identifier_flags",
    {
        "kind": "string",
        "value": "string",
        "reason": "string",
        "record_count": "int64",
        "flagged_at": "timestamp",
    },
    ("kind", "value", "reason"),
)

BLOCKLIST = TableSpec(
    "identity_blocklist",
    {
        "kind": "string",
        "value": "string",
        "reason": "string",
        "added_by": "string",
        "added_at": "timestamp",
    },
    ("kind", "value"),
)

LINKS = TableSpec(
    "identity_links",
    {
        "link_id": "int64",
        "left_source": "string",
        "left_source_customer_id": "string",
        "right_source": "string",
        "right_source_customer_id": "string",
        "origin": "string",
        "status": "string",
        "match_probability": "float64",
        "reason": "string",
        "actor": "string",
        "created_at": "timestamp",
        "decided_at": "timestamp",
    },
    ("link_id",),
)
"""``origin``: ``manual`` | ``probabilistic`` | ``review`` (a human decision on a
proposed pair); ``status``: ``linked`` | ``pending`` | ``rejected`` | ``unlinked``.
The left record sorts before the right one by ``(source, source_customer_id)``."""

DETACHED = TableSpec(
    "identity_detached",
    {
        "source": "string",
        "source_customer_id": "string",
        "reason": "string",
        "actor": "string",
        "detached_at": "timestamp",
    },
    ("source", "source_customer_id"),
)

HISTORY = TableSpec(
    "identity_history",
    {
        "run_id": "string",
        "event": "string",
        "customer_id": "int64",
        "other_customer_id": "int64",
        "record_count": "int64",
        "at": "timestamp",
        "detail": "string",
    },
    ("run_id", "event", "customer_id", "other_customer_id"),
)
"""``event``: ``create`` (a new id; ``other_customer_id`` is the customer it was
split from, if any), ``merge`` (``customer_id`` was merged into
``other_customer_id`` and retired), ``split`` (``customer_id`` was split; one row
per part, ``other_customer_id`` is the part's id), ``retire`` (no record of
``customer_id`` is left), ``manual_merge`` / ``manual_unmerge`` (a person's
decision, ``detail`` says who and why)."""

RUNS = TableSpec(
    "identity_runs",
    {
        "run_id": "string",
        "started_at": "timestamp",
        "records": "int64",
        "customers": "int64",
        "edges": "int64",
        "iterations": "int64",
        "created": "int64",
        "merged": "int64",
        "split": "int64",
        "retired": "int64",
        "flagged_identifiers": "int64",
        "probabilistic_links": "int64",
        "review_pending": "int64",
        "seconds": "float64",
    },
    ("run_id",),
)

SOURCE_VALUES = TableSpec(
    "customer_source_values",
    {
        "customer_id": "int64",
        "field": "string",
        "value": "string",
        "source": "string",
        "source_customer_id": "string",
        "origin": "string",
        "observations": "int64",
        "first_observed_at": "timestamp",
        "last_observed_at": "timestamp",
        "chosen": "boolean",
    },
    ("customer_id", "field", "value", "source", "source_customer_id", "origin"),
)

COMPANIES = TableSpec(
    "customer_companies",
    {
        "company_key": "string",
        "name": "string",
        "contact_count": "int64",
        "first_seen_at": "timestamp",
        "last_seen_at": "timestamp",
    },
    ("company_key",),
)

CONTACTS = TableSpec(
    "company_contacts",
    {
        "company_key": "string",
        "customer_id": "int64",
        "name": "string",
        "title": "string",
        "role": "string",
        "sources": "string",
        "last_seen_at": "timestamp",
    },
    ("company_key", "customer_id"),
)

OUTPUT_TABLES: tuple[TableSpec, ...] = (
    IDENTITY_MAP,
    CUSTOMERS,
    IDENTITY_RECORDS,
    IDENTITY_IDENTIFIERS,
    IDENTIFIER_FLAGS,
    BLOCKLIST,
    LINKS,
    DETACHED,
    HISTORY,
    RUNS,
    SOURCE_VALUES,
    COMPANIES,
    CONTACTS,
)
"""Every table identity resolution writes, created empty by :func:`ensure_identity_tables`."""

STAGE_PREFIX = "_identity_stage_"
"""Working tables of a run; dropped when the run ends."""


def ensure_identity_tables(con: BaseBackend) -> None:
    """Create every missing identity table (empty). Idempotent."""
    ensure_tables(con, OUTPUT_TABLES)
