"""Relational helpers that compile to the same meaning on every backend.

* :func:`unpivot` — Ibis' ``pivot_longer`` returns JSON-encoded text on
  PostgreSQL (``"abc"``, ``null``); a union of one select per column runs the
  same everywhere.
* :func:`without` / :func:`within` — anti- and semi-joins inside larger statements can come out as
  ``LEFT ANTI JOIN`` / ``LEFT SEMI JOIN`` on PostgreSQL, which it does not know; joins on the
  distinct keys are understood by every engine.
* :func:`~guanxi.portable.rename_table` and :func:`~guanxi.portable.replace_table` live in
  :mod:`guanxi.portable` (every warehouse area uses them) and are re-exported here.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from guanxi.portable import rename_table, replace_table

__all__ = ["rename_table", "replace_table", "unpivot", "within", "without"]


def unpivot(
    table: ir.Table, keep: list[str], columns: list[str], *, names_to: str, values_to: str
) -> ir.Table:
    """One row per input row and column in ``columns``: the ``keep`` columns, the column's name
    in ``names_to`` and its value (as text) in ``values_to``. NULL values are dropped."""
    parts = [
        table.select(*keep, **{names_to: ibis.literal(column), values_to: table[column].cast("string")})
        for column in columns
    ]
    union = ibis.union(*parts)
    return union.filter(union[values_to].notnull())


def without(table: ir.Table, other: ir.Table, keys: list[str]) -> ir.Table:
    """The rows of ``table`` whose ``keys`` (non-NULL columns of both tables) do not occur in ``other``."""
    marker = other.view().select(*keys).distinct().mutate(_guanxi_present=ibis.literal(True))
    joined = table.left_join(marker, keys)
    kept = joined.select(*[table[c] for c in table.columns], _guanxi_present=marker._guanxi_present)
    return kept.filter(kept._guanxi_present.isnull()).drop("_guanxi_present")


def within(table: ir.Table, other: ir.Table, on: dict[str, str]) -> ir.Table:
    """The rows of ``table`` whose columns ``on`` keys match ``other``'s columns ``on`` values
    (a semi-join, written as an inner join on the distinct keys)."""
    source = other.view()
    keys = source.select(**{f"_guanxi_k{i}": source[right] for i, right in enumerate(on.values())}).distinct()
    joined = table.join(keys, [table[left] == keys[f"_guanxi_k{i}"] for i, left in enumerate(on)])
    return joined.select(*[table[c] for c in table.columns])
