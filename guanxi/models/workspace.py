"""Intermediate tables of one run: materialised once, read by several models, dropped at the end.

Each intermediate is a :func:`~guanxi.portable.scratch_table` (temporary where the
backend has temporary tables, an ordinary table on Spark), named ``_gx_{run}_{name}``,
so two runs on one warehouse never collide and nothing is left behind after :meth:`close`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.portable import scratch_table


class Workspace:
    """Materialises expressions into temporary tables and times each step."""

    def __init__(self, con: BaseBackend, run_key: str) -> None:
        self._con = con
        self._prefix = f"_gx_{run_key}_"
        self._names: list[str] = []
        self.timings: dict[str, float] = {}

    def keep(self, name: str, expr: ir.Table) -> ir.Table:
        """Compute ``expr`` once into a temporary table and return that table."""
        started = time.perf_counter()
        table_name = self._prefix + name
        table = scratch_table(self._con, table_name, expr)
        self._names.append(table_name)
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started
        return table

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Add the time spent inside the block to ``timings[name]``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started

    def close(self) -> None:
        """Drop every temporary table (idempotent)."""
        while self._names:
            self._con.drop_table(self._names.pop(), force=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
