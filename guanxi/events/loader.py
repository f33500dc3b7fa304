"""The loader: spooled messages into ``raw_events`` and ``raw_customers``, through the import's normalisation.

One pass (:func:`load_spooled`):

1. **claim** up to ``limit`` spooled rows under a load-batch name and commit
   (a claim left by a loader that died is taken first, whole);
2. per source, **skip** messages whose ``(source, event_id)`` is already in
   ``raw_events`` (a retry that arrived after its first copy was loaded, or a
   claim loaded before a crash): an event is stored once and its first version
   stands;
3. **stage** the identify calls as a text table with canonical headers, each
   text column filled from the stored ``raw_customers`` row where the call does
   not say (traits are partial updates), and run the import's
   :class:`~guanxi.ingest.transform.Transform` and
   :func:`~guanxi.ingest.merge.merge_batch` (kind ``customers``: phones to E.164,
   e-mails checked, full-width folded, addresses parsed, bad cells quarantined);
4. the same for every message into ``raw_events`` (kind ``events``);
5. **release** (delete) the claimed rows, then, when rows were written and
   ``events_resolve`` is on, resolve the new records' identities incrementally
   (:func:`~guanxi.identity.incremental.resolve_incremental`, which takes every
   record that arrived since its last run: when it fails, the error is raised
   after the release and the next pass that writes rows, or a full ``guanxi
   resolve``, takes these records too).

Crash safety: each merge is one warehouse transaction keyed by the raw table's
natural key; a crash between steps leaves the claim in the spool and the next
pass repeats it, finding what was already written unchanged (customers) or
already present (events): nothing is stored twice and nothing acknowledged is
lost. Quarantine entries name the micro-batch as their file
(``http:<source>:<claim>``) and the message's position in the claim as the row;
the entry's ``raw_row`` holds the message's fields, its ``event_id`` the
``messageId``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.errors import BackendUnsupportedError
from guanxi.events import spool
from guanxi.events.fields import (
    CUSTOMER_EXTRAS,
    CUSTOMER_FIELDS,
    EVENT_EXTRAS,
    EVENT_FIELDS,
    Row,
    customer_fields,
    events_staging_sql,
    fold_customers,
    identifies,
)
from guanxi.events.writekeys import DEFAULT_SOURCE
from guanxi.identity.incremental import IncrementalReport, resolve_incremental
from guanxi.ingest.api import new_batch_id
from guanxi.ingest.merge import merge_batch
from guanxi.ingest.preset import Mapping
from guanxi.ingest.reader import StagedFile
from guanxi.ingest.report import ImportReport
from guanxi.ingest.transform import Transform
from guanxi.jobs.kinds import JobContext, Service
from guanxi.tables import RAW_CUSTOMERS, RAW_EVENTS

EVENTS_MAPPING = Mapping(
    name="segment-events",
    kind="events",
    source=DEFAULT_SOURCE,
    description="Segment track/identify/page/screen/alias/group messages",
    columns={name: [name] for name in EVENT_FIELDS},
)
CUSTOMERS_MAPPING = Mapping(
    name="segment-identify",
    kind="customers",
    source=DEFAULT_SOURCE,
    description="Traits of Segment identify calls",
    columns={name: [name] for name in CUSTOMER_FIELDS},
)
_STAGE = "_gx_src"
_ARROW = "_gx_events_arrow"


@dataclass
class LoadReport:
    """What one pass did: rows claimed, skipped as already stored, and the import reports of its merges."""

    batch: str | None = None
    claimed: int = 0
    skipped: int = 0
    imports: list[ImportReport] = field(default_factory=list)

    @property
    def written(self) -> int:
        """Rows inserted or changed in the raw tables."""
        return sum(r.rows_inserted + r.rows_updated for r in self.imports)


def load_spooled(ctx: JobContext, *, limit: int | None = None) -> int:
    """Move up to ``limit`` (default ``events_batch_limit``) spooled messages to the warehouse; how many.

    Safe to repeat after a crash at any point (see the module docstring).
    Raises :class:`~guanxi.errors.BackendUnsupportedError` on a warehouse the
    importer cannot write (only DuckDB for now); the claim then stays in the spool.
    """
    return load_pass(ctx, limit=limit).claimed


def load_pass(ctx: JobContext, *, limit: int | None = None) -> LoadReport:
    """:func:`load_spooled` with its whole report."""
    chosen = limit if limit is not None else ctx.settings.events_batch_limit
    with ctx.sessions() as session, session.begin():
        batch, rows = spool.claim(session, chosen, now=ctx.now)
    report = LoadReport(batch=batch, claimed=len(rows))
    if batch is None:
        return report
    write_claim(ctx.warehouse, ctx.settings, batch, rows, now=ctx.now, report=report)
    with ctx.sessions() as session, session.begin():
        spool.release(session, batch)
    if report.written:
        LOADED.set()
    ctx.log(
        f"claim {batch}: {report.claimed} message(s), {report.skipped} already stored, "
        f"{report.written} row(s) written"
    )
    return report


def write_claim(
    con: BaseBackend,
    settings: Settings,
    batch: str,
    rows: list[spool.Claimed],
    *,
    now: datetime,
    report: LoadReport,
) -> None:
    """Merge the claimed ``rows`` into the raw tables, one source at a time (steps 2-4)."""
    if con.name != "duckdb":
        raise BackendUnsupportedError(
            f"loading events needs a DuckDB warehouse; a {con.name} warehouse is not written by the importer yet"
        )
    raw: Any = getattr(con, "con")  # noqa: B009 - the DuckDB connection under the Ibis backend
    stamp = now.astimezone(settings.zone).replace(tzinfo=None)
    by_source: dict[str, list[tuple[int, spool.Claimed]]] = defaultdict(list)
    for position, row in enumerate(rows, start=1):
        by_source[row.source].append((position, row))
    for source, items in by_source.items():
        stored = _already_stored(raw, source, [row.message_id for _, row in items])
        fresh = [(position, row) for position, row in items if row.message_id not in stored]
        report.skipped += len(items) - len(fresh)
        if not fresh:
            continue
        people = [
            (position, row.occurred_at, fields)
            for position, row in fresh
            if row.type == "identify"
            and identifies(fields := customer_fields(json.loads(row.payload), row.occurred_at))
        ]
        if people:
            staged = fold_customers(people)
            _stage_customers(raw, source, staged)
            report.imports.append(
                _merge(raw, settings, "customers", CUSTOMERS_MAPPING, source, batch, len(staged), stamp)
            )
        _stage_events(raw, fresh)
        report.imports.append(
            _merge(raw, settings, "events", EVENTS_MAPPING, source, batch, len(fresh), stamp)
        )


def _already_stored(raw: Any, source: str, message_ids: list[str]) -> set[str]:
    ids = pa.table({"id": pa.array(message_ids, pa.string())})
    raw.register(_ARROW, ids)
    try:
        found = raw.execute(
            f"SELECT e.event_id FROM {RAW_EVENTS.name} e SEMI JOIN {_ARROW} i ON i.id = e.event_id "  # noqa: S608
            "WHERE e.source = $source",
            {"source": source},
        ).fetchall()
    finally:
        raw.unregister(_ARROW)
    return {str(r[0]) for r in found}


def _arrow(headers: list[str], rows: list[tuple[int, Row]]) -> pa.Table:
    columns = {f"c{i}": pa.array([r.get(h) for _, r in rows], pa.string()) for i, h in enumerate(headers)}
    columns["_row"] = pa.array([position for position, _ in rows], pa.int64())
    return pa.table(columns)


def _stage_events(raw: Any, rows: list[tuple[int, spool.Claimed]]) -> None:
    """Stage every message as a text table with canonical headers, read from its JSON in DuckDB."""
    messages = pa.table(
        {
            "_row": pa.array([position for position, _ in rows], pa.int64()),
            "occurred": pa.array([row.occurred_at.isoformat() for _, row in rows], pa.string()),
            "payload": pa.array([row.payload for _, row in rows], pa.string()),
        }
    )
    raw.register(_ARROW, messages)
    try:
        raw.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS {events_staging_sql(_ARROW)}")
    finally:
        raw.unregister(_ARROW)


def _stage_customers(raw: Any, source: str, rows: list[tuple[int, Row]]) -> None:
    """Stage identify rows, each empty field filled from the stored ``raw_customers`` row of the same user."""
    headers = [*CUSTOMER_FIELDS, *CUSTOMER_EXTRAS]
    position = {h: i for i, h in enumerate(headers)}
    kept = [f"n.c{position['source_customer_id']}"]
    for name in CUSTOMER_FIELDS[1:]:
        kept.append(f"coalesce(n.c{position[name]}, CAST(t.{name} AS VARCHAR)) AS c{position[name]}")
    kept.append(f"n.c{position['anonymousId']}")
    traits = f"n.c{position['traits']}"
    old = "json_extract_string(t.extra, '$.traits')"
    kept.append(
        f"CASE WHEN t.extra IS NOT NULL AND json_valid(t.extra) AND json_valid({old}) AND {traits} IS NOT NULL "
        f"THEN CAST(json_merge_patch({old}, {traits}) AS VARCHAR) ELSE coalesce({traits}, {old}) END "
        f"AS c{position['traits']}"
    )
    raw.register(_ARROW, _arrow(headers, rows))
    try:
        raw.execute(
            f"""CREATE OR REPLACE TEMP TABLE {_STAGE} AS
            SELECT {", ".join(kept)}, n._row
            FROM {_ARROW} n LEFT JOIN {RAW_CUSTOMERS.name} t
              ON t.source = $source AND t.source_customer_id = n.c{position["source_customer_id"]}
            ORDER BY n._row""",  # noqa: S608 - internal names only
            {"source": source},
        )
    finally:
        raw.unregister(_ARROW)


def _merge(
    raw: Any,
    settings: Settings,
    kind: str,
    mapping: Mapping,
    source: str,
    batch: str,
    rows: int,
    stamp: datetime,
) -> ImportReport:
    headers = [*CUSTOMER_FIELDS, *CUSTOMER_EXTRAS] if kind == "customers" else [*EVENT_FIELDS, *EVENT_EXTRAS]
    name = f"http:{source}:{batch}"
    staged = StagedFile(
        path=Path(name),
        table=_STAGE,
        headers=headers,
        file_format="segment",
        encoding=None,
        sha256=hashlib.sha256(f"{kind}|{name}".encode()).hexdigest(),
        rows=rows,
    )
    report = ImportReport(
        batch_id=new_batch_id(stamp),
        kind=kind,
        source=source,
        preset=mapping.name,
        file_name=name,
        file_format="segment",
        encoding=None,
        rows_read=rows,
    )
    transform = Transform(raw, settings, kind, mapping, staged, source)
    transform.normalise()
    transform.validate()
    transform.combine()
    merge_batch(raw, transform, report, stamp)
    return report


def resolve_new_records(ctx: JobContext) -> IncrementalReport:
    """The identities of the records a pass wrote: customer ids for new records, their golden records refreshed.

    :func:`guanxi.identity.incremental.resolve_incremental` (one warehouse
    transaction; merges and splits it cannot decide wait for the next full
    ``guanxi resolve``). Called after a pass that wrote rows, when
    ``events_resolve`` is on.
    """
    return resolve_incremental(ctx.warehouse, ctx.settings, now=ctx.now)


LOADED = threading.Event()
"""Set when the loader wrote rows that no incremental resolve has seen yet (set at start, so rows loaded
before a restart are resolved once)."""
LOADED.set()


def resolve_pass(ctx: JobContext) -> int:
    """One pass of the ``events-resolver`` service: :func:`resolve_new_records` when ``events_resolve`` is on
    and the loader wrote rows since the last pass (file imports are resolved by ``guanxi resolve`` and the
    nightly schedule, not behind the user's back).

    A service of its own (every ``events_resolve_seconds``, on its own cursor),
    so the loader keeps moving events within ``events_load_seconds`` however
    long a resolve takes; an incremental resolve takes every record written
    since the last one, so passes never miss a record. Returns how many new records it saw.
    """
    if not ctx.settings.events_resolve or not LOADED.is_set():
        return 0
    LOADED.clear()
    try:
        report = resolve_new_records(ctx)
    except BaseException:
        LOADED.set()  # try again at the next pass
        raise
    placed = report.new_records
    if placed:
        ctx.log(f"{placed} new record(s) resolved")
    return placed


def _interval(settings: Settings) -> float:
    return settings.events_load_seconds


LOADER = Service(
    name="events-loader",
    run=load_spooled,
    interval=_interval,
    description="Move spooled HTTP events into raw_events / raw_customers (every GUANXI_EVENTS_LOAD_SECONDS)",
)
"""The loader as a :class:`~guanxi.jobs.kinds.Service`, registered by :mod:`guanxi.events.plugin`."""

RESOLVER = Service(
    name="events-resolver",
    run=resolve_pass,
    interval=lambda settings: settings.events_resolve_seconds,
    description="Give new records from events customer ids, refresh their golden records (GUANXI_EVENTS_RESOLVE_SECONDS)",
)
"""Incremental identity resolution of what the loader wrote, as a service of its own."""
