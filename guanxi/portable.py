"""Table operations that mean the same on every warehouse backend.

The warehouse code is Ibis expressions; a few operations around them differ by
engine in ways Ibis does not hide. Each has one function here, so callers never
ask which backend they run on:

* :func:`rename_table` — Ibis' DuckDB and PostgreSQL backends lack ``rename_table``.
* :func:`replace_table` — Spark refuses to overwrite a table with a query that reads it
  (``saveAsTable`` in overwrite mode); writing a new table and swapping it in runs everywhere.
* :func:`scratch_table` — a table for one run's intermediate results: temporary (in memory,
  private to the connection) where the backend has temporary tables, an ordinary table where
  it has not (Spark); the caller drops it either way.
* :func:`delete_where` / :func:`delete_except` / :func:`delete_matching` — ``DELETE`` where the
  engine has it, a rewrite of the table without those rows where it has not (Spark's Parquet tables).

Statements are built as sqlglot expressions with literal values, never from text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import ibis
import ibis.expr.types as ir
import sqlglot.expressions as sge
from ibis.backends import BaseBackend
from ibis.backends.sql.compilers.base import AlterTable, RenameTable

_NO_TEMPORARY_TABLES = frozenset({"pyspark"})
"""Backends whose Ibis ``create_table`` has no ``temp=True``."""

_NO_DELETE = frozenset({"pyspark"})
"""Backends whose default tables cannot ``DELETE`` rows."""

Literal = str | date


def supports_delete(con: BaseBackend) -> bool:
    """Whether ``DELETE`` works on the backend's ordinary tables (cheap row removal)."""
    return con.name not in _NO_DELETE


def execute(con: BaseBackend, statement: sge.Expression) -> None:
    """Run one sqlglot statement, closing any cursor it opened (DuckDB hands back its connection)."""
    result = con.raw_sql(statement.sql(dialect=con.dialect))
    if result is not None and result is not getattr(con, "con", None):
        close = getattr(result, "close", None)
        if callable(close):
            close()


def rename_table(con: BaseBackend, old: str, new: str) -> None:
    """``ALTER TABLE old RENAME TO new`` in the backend's dialect (both are internal names)."""
    execute(
        con,
        AlterTable(
            this=sge.table_(old, quoted=True), actions=[RenameTable(this=sge.table_(new, quoted=True))]
        ),
    )


def replace_table(con: BaseBackend, name: str, expr: ir.Table) -> ir.Table:
    """Replace the table ``name`` by the rows of ``expr``, which may read ``name`` itself.

    The rows are written to ``<name>__next`` first, then the old table is dropped and the new
    one renamed, so the query never reads what it is overwriting. If the process dies between
    the drop and the rename, ``<name>__next`` holds the complete new content. Not safe against
    a concurrent writer of the same table.
    """
    staged = f"{name}__next"
    con.create_table(staged, expr, overwrite=True)
    con.drop_table(name, force=True)
    rename_table(con, staged, name)
    return con.table(name)


def scratch_table(con: BaseBackend, name: str, expr: ir.Table) -> ir.Table:
    """Materialise ``expr`` as ``name`` for the rest of a run (replacing a table of that name).

    Temporary where the backend has temporary tables; the caller drops it when done.
    """
    temporary = con.name not in _NO_TEMPORARY_TABLES
    return con.create_table(name, expr, temp=temporary, overwrite=True)


def _literal(value: Literal) -> sge.Expression:
    if isinstance(value, date):
        return sge.cast(sge.Literal.string(value.isoformat()), sge.DataType.build("date"))
    return sge.Literal.string(value)


def delete_where(con: BaseBackend, table: str, **equals: Literal) -> None:
    """Remove the rows of ``table`` whose columns equal the given values (all of them)."""
    if supports_delete(con):
        condition = sge.and_(*(sge.column(c, quoted=True).eq(_literal(v)) for c, v in equals.items()))
        execute(con, sge.delete(sge.table_(table, quoted=True), where=condition))
        return
    t = con.table(table)
    matches = ibis.and_(*(t[c] == ibis.literal(v) for c, v in equals.items()))
    replace_table(con, table, t.filter(~matches.fill_null(False)))


def delete_except(con: BaseBackend, table: str, column: str, keep: Sequence[str]) -> None:
    """Remove the rows of ``table`` whose ``column`` is set and not one of ``keep`` (not empty)."""
    if not keep:
        raise ValueError("delete_except needs at least one value to keep")
    if supports_delete(con):
        condition = sge.column(column, quoted=True).isin(*(sge.Literal.string(v) for v in keep)).not_()
        execute(con, sge.delete(sge.table_(table, quoted=True), where=condition))
        return
    t = con.table(table)
    doomed = ~t[column].isin(list(keep))
    replace_table(con, table, t.filter(~doomed.fill_null(False)))


def delete_matching(con: BaseBackend, table: str, keys: ir.Table, columns: Sequence[str]) -> None:
    """Remove the rows of ``table`` whose ``columns`` equal those of a row of ``keys``.

    ``keys`` must be a table in the warehouse (not an expression); key columns are never null.
    """
    if not supports_delete(con):
        t = con.table(table)
        replace_table(con, table, t.anti_join(keys.select(*columns).distinct(), list(columns)))
        return
    op = keys.op()
    namespace = getattr(op, "namespace", None)
    source = sge.table_(
        op.name,
        db=getattr(namespace, "database", None),
        catalog=getattr(namespace, "catalog", None),
        quoted=True,
    )
    matches = sge.and_(
        *(sge.column(c, table="k", quoted=True).eq(sge.column(c, table=table, quoted=True)) for c in columns)
    )
    inner = sge.select(sge.Literal.number(1)).from_(source.as_("k")).where(matches)
    execute(con, sge.delete(sge.table_(table, quoted=True), where=sge.Exists(this=inner)))
