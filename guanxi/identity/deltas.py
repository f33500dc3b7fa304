"""Row-level changes to identity tables, computed in working tables and applied in one transaction.

An incremental run (:mod:`guanxi.identity.incremental`) does not rebuild its
outputs; it replaces the rows of a few keys in each. Everything is computed
first into the run's working tables (:class:`Scratch`: temporary tables,
private to the connection); :func:`changed_rows` reduces each output to the
keys whose rows really differ; :func:`apply` then deletes and inserts those
rows for every table inside **one warehouse transaction**, so a crash before or
during it leaves every table as it was, and keys whose rows are unchanged are
not written at all (a run with nothing new writes nothing).

Transactions are opened on the driver under the Ibis backend, one
:class:`Transaction` per backend that has them: DuckDB and PostgreSQL.
:func:`transaction_for` returns None for the others (Spark's Parquet tables
have neither ``DELETE`` nor multi-table transactions); callers fall back to a
full resolve there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from guanxi.portable import within
from guanxi.tables import TableSpec

SCRATCH_PREFIX = "_identity_incr_"
"""Working tables of an incremental run (temporary; the graph step's output is an ordinary table)."""


class Scratch:
    """The run's working tables: temporary, timed, dropped at the end whatever happens."""

    def __init__(self, con: BaseBackend) -> None:
        self.con = con
        self.names: list[str] = []
        self.ordinary: list[str] = []
        self.seconds: dict[str, float] = {}

    def name(self, short: str) -> str:
        return f"{SCRATCH_PREFIX}{short}"

    def put(self, short: str, expr: ir.Table) -> ir.Table:
        """Materialise ``expr`` as the temporary table ``_identity_incr_<short>``."""
        started = time.perf_counter()
        full = self.name(short)
        table = self.con.create_table(full, expr, temp=True, overwrite=True)
        self.names.append(full)
        self.seconds[short] = round(self.seconds.get(short, 0.0) + time.perf_counter() - started, 3)
        return table

    def ordinary_name(self, short: str) -> str:
        """The name of an ordinary (not temporary) working table another function writes."""
        full = self.name(short)
        self.ordinary.append(full)
        return full

    def drop_all(self) -> None:
        for name in dict.fromkeys(self.names):
            self.con.drop_table(name, force=True)
        existing = set(self.con.list_tables())
        for name in dict.fromkeys(self.ordinary):
            if name in existing:
                self.con.drop_table(name)


@dataclass(frozen=True)
class Delta:
    """Replace the rows of ``spec`` whose ``key`` matches a row of ``keys`` by the rows of ``rows``.

    Both are expressions over the run's working tables (no in-memory tables), compiled
    into the statements :func:`statements` returns; ``keys`` None means insert only.
    """

    spec: TableSpec
    key: tuple[str, ...]
    keys: ir.Table | None
    rows: ir.Table


def _shaped(expr: ir.Table, spec: TableSpec) -> ir.Table:
    return expr.select(*spec.columns).cast(spec.schema)


def changed_rows(spec: TableSpec, key: Sequence[str], old: ir.Table, new: ir.Table) -> Delta:
    """The :class:`Delta` that turns ``old`` into ``new`` (both the rows of the keys in scope).

    A key is rewritten only when its set of rows differs (compared with ``EXCEPT``, so
    NULLs compare equal); its new rows replace all its old ones. ``new`` should be a
    working table: it is read twice.
    """
    before, after = _shaped(old, spec), _shaped(new, spec)
    differing = ibis.union(before.difference(after), after.difference(before))
    keys = differing.select(*key).distinct()
    return Delta(spec, tuple(key), keys, within(after, keys, list(key)))


def inserted_rows(spec: TableSpec, new: ir.Table) -> Delta:
    """A :class:`Delta` that only inserts ``new``."""
    return Delta(spec, (), None, _shaped(new, spec))


def _query(con: BaseBackend, expr: ir.Table) -> sge.Expression:
    """The backend's SQL for ``expr`` as a sqlglot tree (what ``con.compile`` renders as text)."""
    query: sge.Expression = con.compiler.to_sqlglot(expr)
    return query


def statements(con: BaseBackend, delta: Delta) -> tuple[str | None, str]:
    """``DELETE … WHERE EXISTS`` (the changed keys; None for an insert-only delta) and
    ``INSERT … SELECT`` (their rows), as SQL of the backend's dialect."""
    dialect = con.dialect
    target = sge.table_(delta.spec.name, quoted=True)
    delete: str | None = None
    if delta.keys is not None:
        keys = sge.Subquery(this=_query(con, delta.keys), alias=sge.TableAlias(this=sge.to_identifier("k")))
        matches = sge.and_(
            *(
                sge.column(c, table="k", quoted=True).eq(sge.column(c, table=delta.spec.name, quoted=True))
                for c in delta.key
            )
        )
        inner = sge.select(sge.Literal.number(1)).from_(keys).where(matches)
        delete = sge.delete(target, where=sge.Exists(this=inner)).sql(dialect=dialect)
    select = _query(con, _shaped(delta.rows, delta.spec))
    columns = [sge.to_identifier(c, quoted=True) for c in delta.spec.columns]
    insert = sge.insert(select, sge.Schema(this=target, expressions=columns)).sql(dialect=dialect)
    return delete, insert


Execute = Callable[[str], int]
"""Runs one statement inside the transaction; returns the rows it deleted or inserted."""


class Transaction(Protocol):
    """A context manager whose block runs in one transaction: all of it takes effect or none."""

    def __call__(self) -> AbstractContextManager[Execute]: ...


def _duckdb(con: BaseBackend) -> Transaction:
    raw: Any = con.con

    def execute(sql: str) -> int:
        row = raw.execute(sql).fetchone()
        return int(row[0]) if row else 0

    @contextmanager
    def transaction() -> Iterator[Execute]:
        raw.execute("BEGIN TRANSACTION")
        try:
            yield execute
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")

    return transaction


def _postgres(con: BaseBackend) -> Transaction:
    raw: Any = con.con

    @contextmanager
    def transaction() -> Iterator[Execute]:
        with raw.transaction(), raw.cursor() as cursor:

            def execute(sql: str) -> int:
                cursor.execute(sql)
                return max(int(cursor.rowcount), 0)

            yield execute

    return transaction


_TRANSACTIONS = {"duckdb": _duckdb, "postgres": _postgres}


def transaction_for(con: BaseBackend) -> Transaction | None:
    """The backend's :class:`Transaction`, or None when it has none (Spark and the others)."""
    make = _TRANSACTIONS.get(con.name)
    return make(con) if make is not None else None


def apply(con: BaseBackend, execute: Execute, deltas: Sequence[Delta]) -> dict[str, int]:
    """Apply every delta in order inside an open transaction; rows deleted + inserted per table
    (tables with no change left out)."""
    written: dict[str, int] = {}
    for delta in deltas:
        delete, insert = statements(con, delta)
        count = (execute(delete) if delete is not None else 0) + execute(insert)
        if count:
            written[delta.spec.name] = written.get(delta.spec.name, 0) + count
    return written


@contextmanager
def scratch_tables(con: BaseBackend) -> Iterator[Scratch]:
    """A :class:`Scratch` whose tables are dropped when the block ends."""
    scratch = Scratch(con)
    try:
        yield scratch
    finally:
        scratch.drop_all()
