"""Step 6 of an import: merge into the raw table, quarantine and batch record, atomically.

Everything here runs inside one DuckDB transaction: either the raw rows, the
quarantine entries and the ``import_batches`` row are all written, or (on any
exception, including KeyboardInterrupt) none of them are. A failed import is
then recorded on its own as a batch with status ``failed`` and no rows.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from guanxi.ingest.report import ImportReport
from guanxi.ingest.transform import Transform
from guanxi.tables import IMPORT_BATCHES, IMPORT_QUARANTINE

_BOOKKEEPING = {"batch_id", "ingested_at", "row_hash"}


def row_hash_sql(columns: list[str]) -> str:
    """The SQL expression of a row's ``row_hash``: MD5 over the columns, nulls and separators kept apart.

    ``columns`` are internal column names (never user input). Whatever loads rows
    the importer may later compare against must stamp them with this digest.
    """
    parts = ", ".join(f"coalesce(CAST({c} AS VARCHAR), chr(0))" for c in columns)
    return f"md5(concat_ws(chr(31), {parts}))"


def prepare(con: Any, t: Transform) -> None:
    """Build ``_gx_merge``: final rows with their hash and action (insert, update, same)."""
    spec = t.spec
    business = [c for c in spec.columns if c not in _BOOKKEEPING]
    provided = set(t.provided)
    on = " AND ".join(f"t.{k} = f.{k}" for k in spec.key)
    cols = ", ".join(f"f.{c}" if c in provided else f"t.{c}" for c in business)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _gx_merge AS
        SELECT h.* EXCLUDE (_old_hash),
               CASE WHEN h._old_hash IS NULL THEN 'insert'
                    WHEN h._old_hash = h.row_hash THEN 'same' ELSE 'update' END AS _action
        FROM (SELECT m.*, {row_hash_sql(business)} AS row_hash
              FROM (SELECT {cols}, t.row_hash AS _old_hash
                    FROM _gx_final f LEFT JOIN {spec.name} t ON {on}) m) h"""  # noqa: S608 - internal names only
    )


def merge_batch(con: Any, t: Transform, report: ImportReport, now: datetime) -> None:
    """Write the batch; fills the counts of ``report``. Rolls back and re-raises on any failure."""
    prepare(con, t)
    counts = dict(con.execute("SELECT _action, count(*) FROM _gx_merge GROUP BY _action").fetchall())
    report.rows_inserted = int(counts.get("insert", 0))
    report.rows_updated = int(counts.get("update", 0))
    report.rows_unchanged = int(counts.get("same", 0))
    report.rows_loaded = report.rows_inserted + report.rows_updated + report.rows_unchanged
    good_rows = int(con.execute("SELECT count(*) FROM _gx_good").fetchone()[0])
    report.rows_combined = good_rows - report.rows_loaded
    _stage_malformed(con, t)
    fatal_rows = int(
        con.execute("SELECT count(DISTINCT _row) FROM _gx_issues WHERE severity = 'fatal'").fetchone()[0]
    )
    report.rows_quarantined = fatal_rows + len(t.staged.malformed)
    report.warnings = int(
        con.execute("SELECT count(*) FROM _gx_issues WHERE severity = 'warning'").fetchone()[0]
    )
    reasons = con.execute(
        "SELECT reason, count(*) FROM (SELECT reason FROM _gx_issues UNION ALL SELECT reason FROM _gx_malformed) "
        "GROUP BY reason ORDER BY 2 DESC, 1"
    ).fetchall()
    report.reasons = {str(r): int(n) for r, n in reasons}
    con.execute("BEGIN TRANSACTION")
    try:
        _write_rows(con, t, report, now)
        _write_quarantine(con, t, report, now)
        _write_batch(con, report, t.staged.sha256, now, "loaded")
        con.execute("COMMIT")
    except BaseException as err:
        con.execute("ROLLBACK")
        report.status = "failed"
        if isinstance(err, Exception):
            _record_failure(con, report, t.staged.sha256, now)
        raise


def _write_rows(con: Any, t: Transform, report: ImportReport, now: datetime) -> None:
    spec = t.spec
    business = [c for c in spec.columns if c not in _BOOKKEEPING]
    on = " AND ".join(f"{spec.name}.{k} = m.{k}" for k in spec.key)
    con.execute(f"DELETE FROM {spec.name} USING _gx_merge m WHERE m._action = 'update' AND {on}")  # noqa: S608
    columns = ", ".join(business)
    con.execute(
        f"""INSERT INTO {spec.name} ({columns}, batch_id, ingested_at, row_hash)
        SELECT {columns}, $batch, $now, row_hash FROM _gx_merge WHERE _action <> 'same'""",  # noqa: S608
        {"batch": report.batch_id, "now": now},
    )


def _stage_malformed(con: Any, t: Transform) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _gx_malformed (_row BIGINT, reason VARCHAR, detail VARCHAR, raw VARCHAR)"
    )
    if t.staged.malformed:
        con.executemany(
            "INSERT INTO _gx_malformed VALUES (?, ?, ?, ?)",
            [[m.row_number, m.reason, m.detail, m.raw] for m in t.staged.malformed],
        )


def _write_quarantine(con: Any, t: Transform, report: ImportReport, now: datetime) -> None:
    headers = t.staged.headers
    params: dict[str, Any] = {f"h{i}": h or f"column {i + 1}" for i, h in enumerate(headers)}
    raw_row = f"CAST(json_object({', '.join(f'$h{i}, c{i}' for i in range(len(headers)))}) AS VARCHAR)"
    params |= {
        "batch": report.batch_id,
        "kind": report.kind,
        "file": report.file_name,
        "sha": t.staged.sha256,
        "now": now,
    }
    columns = ", ".join(IMPORT_QUARANTINE.columns)
    con.execute(
        f"""INSERT INTO {IMPORT_QUARANTINE.name} ({columns})
        WITH q AS (
            SELECT i._row, coalesce(h.column_name, i.field) AS column_name, i.value, i.reason, i.severity
            FROM _gx_issues i LEFT JOIN _gx_headers h USING (field)
            UNION ALL
            SELECT _row, '', detail, reason, 'fatal' FROM _gx_malformed
        ),
        rows AS (SELECT _row, {raw_row} AS raw_row FROM _gx_src WHERE _row IN (SELECT _row FROM q))
        SELECT DISTINCT ON (q._row, q.column_name, q.reason)
               $batch, $kind, $file, $sha, q._row, q.column_name, q.value, q.reason, q.severity,
               coalesce(rows.raw_row, m.raw), $now
        FROM q LEFT JOIN rows USING (_row) LEFT JOIN _gx_malformed m ON m._row = q._row AND q.column_name = ''
        WHERE NOT EXISTS (
            SELECT 1 FROM {IMPORT_QUARANTINE.name} old
            WHERE old.file_sha256 = $sha AND old.row_number = q._row
              AND old.column_name = q.column_name AND old.reason = q.reason)""",  # noqa: S608 - internal names
        params,
    )


def _write_batch(con: Any, report: ImportReport, sha256: str, now: datetime, status: str) -> None:
    values = {
        "batch_id": report.batch_id,
        "kind": report.kind,
        "source": report.source,
        "preset": report.preset,
        "file_name": report.file_name,
        "file_sha256": sha256,
        "file_format": report.file_format,
        "encoding": report.encoding,
        "started_at": now,
        "finished_at": now,
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded if status == "loaded" else 0,
        "rows_inserted": report.rows_inserted if status == "loaded" else 0,
        "rows_updated": report.rows_updated if status == "loaded" else 0,
        "rows_unchanged": report.rows_unchanged if status == "loaded" else 0,
        "rows_quarantined": report.rows_quarantined,
        "warnings": report.warnings,
        "status": status,
    }
    assert list(values) == list(IMPORT_BATCHES.columns)
    placeholders = ", ".join(f"${k}" for k in values)
    con.execute(
        f"INSERT INTO {IMPORT_BATCHES.name} ({', '.join(values)}) VALUES ({placeholders})",  # noqa: S608
        values,
    )


def _record_failure(con: Any, report: ImportReport, sha256: str, now: datetime) -> None:
    # Recording the failure must never hide the original error.
    with contextlib.suppress(Exception):
        _write_batch(con, report, sha256, now, "failed")
