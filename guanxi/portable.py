"""Table operations that mean the same on every warehouse backend (DuckDB, PostgreSQL, Spark).

The warehouse code is Ibis expressions; a few operations around them differ by
engine in ways Ibis does not hide. Each has one function here, so callers never
ask which backend they run on:

* :func:`within` / :func:`without` — semi- and anti-joins (see the join rule below).
* :func:`unpivot` — Ibis' ``pivot_longer`` returns JSON-encoded text on PostgreSQL
  (``"abc"``, ``null``); a union of one select per column runs the same everywhere.
* :func:`rename_table` — Ibis' DuckDB and PostgreSQL backends lack ``rename_table``.
* :func:`replace_table` — Spark refuses to overwrite a table with a query that reads it
  (``saveAsTable`` in overwrite mode); writing a new table and swapping it in runs everywhere.
* :func:`scratch_table` — a table for one run's intermediate results: temporary (in memory,
  private to the connection) where the backend has temporary tables, an ordinary table where
  it has not (Spark); the caller drops it either way.
* :func:`delete_where` / :func:`delete_except` / :func:`delete_matching` — ``DELETE`` where the
  engine has it, a rewrite of the table without those rows where it has not (Spark's Parquet tables).

**The join rule** (every match of rows against other rows here follows it: :func:`within`,
:func:`without`, both paths of :func:`delete_matching`):

1. *Keys* are named once, as a list (the same column names on both sides) or a mapping
   ``{left column: right column}``.
2. A row matches when every key column equals (SQL ``=``) the other side's, compared with the
   *distinct* keys of the other side, so a match never repeats a row.
3. **NULL matches nothing.** A row with a NULL key is never *within* another table and always
   *without* it, whatever the other side holds (``NOT EXISTS`` semantics, never ``NOT IN``, which
   removes every row as soon as the other side holds one NULL). The row deletions follow the same
   rule: a NULL column never equals a value, so :func:`delete_where`, :func:`delete_except` and
   :func:`delete_matching` leave such rows in place.
4. The result has exactly the columns of the left table, in its order (no ``_right`` columns).
5. Semi- and anti-joins are written as an inner or left join on the distinct keys, never with
   Ibis' ``semi_join`` / ``anti_join``: chained, those come out as ``LEFT SEMI JOIN`` /
   ``LEFT ANTI JOIN`` on PostgreSQL, which does not know them. The other side is taken as a
   ``view()``, so it may be derived from the left table itself.

Statements are built as sqlglot expressions with literal values, never from text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

Keys = Sequence[str] | Mapping[str, str]
"""Join keys: column names shared by both sides, or ``{left column: right column}``."""

_KEY = "_guanxi_k"
_PRESENT = "_guanxi_present"


def key_pairs(on: Keys) -> list[tuple[str, str]]:
    """``on`` as (left column, right column) pairs; raises ``ValueError`` when it names none."""
    pairs = list(on.items()) if isinstance(on, Mapping) else [(c, c) for c in on]
    if not pairs:
        raise ValueError("a join needs at least one key column")
    return pairs


def _distinct_keys(other: ir.Table, pairs: list[tuple[str, str]]) -> ir.Table:
    source = other.view()
    return source.select(**{f"{_KEY}{i}": source[right] for i, (_, right) in enumerate(pairs)}).distinct()


def within(table: ir.Table, other: ir.Table, on: Keys) -> ir.Table:
    """The rows of ``table`` whose keys ``on`` match a row of ``other`` (a semi-join).

    Follows the join rule of this module: rows with a NULL key are left out; each row comes
    once, with ``table``'s columns only.
    """
    pairs = key_pairs(on)
    keys = _distinct_keys(other, pairs)
    joined = table.join(keys, [table[left] == keys[f"{_KEY}{i}"] for i, (left, _) in enumerate(pairs)])
    return joined.select(*[table[c] for c in table.columns])


def without(table: ir.Table, other: ir.Table, on: Keys) -> ir.Table:
    """The rows of ``table`` whose keys ``on`` match no row of ``other`` (an anti-join).

    Follows the join rule of this module: rows with a NULL key are kept; each row comes once,
    with ``table``'s columns only.
    """
    pairs = key_pairs(on)
    marker = _distinct_keys(other, pairs).mutate(**{_PRESENT: ibis.literal(True)})
    joined = table.left_join(
        marker, [table[left] == marker[f"{_KEY}{i}"] for i, (left, _) in enumerate(pairs)]
    )
    kept = joined.select(*[table[c] for c in table.columns], **{_PRESENT: marker[_PRESENT]})
    return kept.filter(kept[_PRESENT].isnull()).drop(_PRESENT)


def unpivot(
    table: ir.Table, keep: Sequence[str], columns: Sequence[str], *, names_to: str, values_to: str
) -> ir.Table:
    """One row per input row and column in ``columns``: the ``keep`` columns, the column's name
    in ``names_to`` and its value (as text) in ``values_to``. NULL values are dropped."""
    parts = [
        table.select(*keep, **{names_to: ibis.literal(column), values_to: table[column].cast("string")})
        for column in columns
    ]
    union = ibis.union(*parts)
    return union.filter(union[values_to].notnull())


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


def rename_statement(old: str, new: str) -> sge.Expression:
    """``ALTER TABLE old RENAME TO new`` (both are internal names)."""
    statement: sge.Expression = AlterTable(
        this=sge.table_(old, quoted=True), actions=[RenameTable(this=sge.table_(new, quoted=True))]
    )
    return statement


def drop_statement(name: str) -> sge.Expression:
    """``DROP TABLE name`` (an internal name)."""
    return sge.Drop(this=sge.table_(name, quoted=True), kind="TABLE")


def rename_table(con: BaseBackend, old: str, new: str) -> None:
    """``ALTER TABLE old RENAME TO new`` in the backend's dialect (both are internal names)."""
    execute(con, rename_statement(old, new))


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
    """Remove the rows of ``table`` whose columns equal the given values (all of them).

    A row with a NULL in one of the columns stays (NULL matches nothing).
    """
    if supports_delete(con):
        condition = sge.and_(*(sge.column(c, quoted=True).eq(_literal(v)) for c, v in equals.items()))
        execute(con, sge.delete(sge.table_(table, quoted=True), where=condition))
        return
    t = con.table(table)
    matches = ibis.and_(*(t[c] == ibis.literal(v) for c, v in equals.items()))
    replace_table(con, table, t.filter(~matches.fill_null(False)))


def delete_except(con: BaseBackend, table: str, column: str, keep: Sequence[str]) -> None:
    """Remove the rows of ``table`` whose ``column`` is set and not one of ``keep`` (not empty).

    A row whose ``column`` is NULL stays (NULL matches nothing, so it is not "another value").
    Raises ``ValueError`` when ``keep`` is empty.
    """
    if not keep:
        raise ValueError("delete_except needs at least one value to keep")
    if supports_delete(con):
        condition = sge.column(column, quoted=True).isin(*(sge.Literal.string(v) for v in keep)).not_()
        execute(con, sge.delete(sge.table_(table, quoted=True), where=condition))
        return
    t = con.table(table)
    doomed = ~t[column].isin(list(keep))
    replace_table(con, table, t.filter(~doomed.fill_null(False)))


def delete_matching(con: BaseBackend, table: str, keys: ir.Table, columns: Keys) -> None:
    """Remove the rows of ``table`` whose key ``columns`` match a row of ``keys`` (the join rule).

    ``keys`` must be a table in the warehouse (not an expression). ``columns`` names the key
    columns as for :func:`within`: a list of names both tables share, or
    ``{column of table: column of keys}``. Rows with a NULL key stay.
    """
    pairs = key_pairs(columns)
    if not supports_delete(con):
        replace_table(con, table, without(con.table(table), keys, dict(pairs)))
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
        *(
            sge.column(right, table="k", quoted=True).eq(sge.column(left, table=table, quoted=True))
            for left, right in pairs
        )
    )
    inner = sge.select(sge.Literal.number(1)).from_(source.as_("k")).where(matches)
    execute(con, sge.delete(sge.table_(table, quoted=True), where=sge.Exists(this=inner)))
