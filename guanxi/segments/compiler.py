"""Compile a segment spec into one Ibis expression: a Table of ``customer_id``.

*What* a spec means lives in :mod:`guanxi.segments.spec` and with each
condition kind; this module walks the tree and says how to ask the warehouse
for it, with Ibis expressions only (no SQL text and no backend-specific
functions), so the same spec runs on DuckDB, PostgreSQL and Spark. Every node
becomes a set of customer ids; ``all`` is an intersection, ``any`` a union,
``not`` the difference from every customer of ``customers``; each leaf is
compiled by its registered :class:`~guanxi.segments.conditions.ConditionKind`,
which the compiler gives its tables and shared helpers.

Dates are relative to the explicit ``as_of`` date (a calendar date in
``Settings.timezone``, in which warehouse timestamps are stored): "within the
last N days" means paid at or after ``as_of − (N − 1)`` 00:00 and before
``as_of + 1`` 00:00. Nothing reads the clock.

A purchase is a paid order with a positive net amount, as the customer models
count it (:mod:`guanxi.models.inputs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.errors import NotFoundError
from guanxi.models.inputs import customer_orders, cutoff, purchases
from guanxi.segments.conditions import ConditionKinds, condition_kinds
from guanxi.segments.spec import AllOf, AnyOf, NotOf, SegmentSpec, SpecNode
from guanxi.segments.validation import Problem, Resolver, SegmentSpecError

if TYPE_CHECKING:
    import pluggy

T = TypeVar("T")

_PRODUCERS = {"customers": "guanxi resolve", "identity_map": "guanxi resolve"}
"""Which command writes a table the compiler itself reads (kinds name theirs with ``made_by``)."""


@dataclass
class Compiler:
    """Compiles specs against one warehouse as of one date.

    ``resolve`` looks up referenced segments; a reference cycle met while
    compiling raises :class:`SegmentSpecError` (code ``segment_invalid``). A
    table a condition needs that the warehouse lacks raises
    :class:`~guanxi.errors.NotFoundError` naming the command that writes it.
    Condition kinds are asked of ``pm`` (the process's plugin manager when
    None) once per compiler.
    """

    con: BaseBackend
    as_of: date
    resolve: Resolver | None = None
    pm: pluggy.PluginManager | None = None
    _stack: list[str] = field(default_factory=list)
    _memo: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def kinds(self) -> ConditionKinds:
        return condition_kinds(self.pm)

    def table(self, name: str, *, made_by: str | None = None) -> ir.Table:
        """The warehouse table ``name``; :class:`NotFoundError` naming ``made_by`` (the command) when missing."""
        if name not in self.con.list_tables():
            producer = made_by or _PRODUCERS.get(name, "guanxi import")
            raise NotFoundError(f"the warehouse has no table {name!r}; run `{producer}` first")
        return self.con.table(name)

    def memo(self, name: str, build: Callable[[], T]) -> T:
        """``build()`` once per compiler under ``name`` (prefix it with your kind's key), then the same value."""
        if name not in self._memo:
            self._memo[name] = build()
        return cast(T, self._memo[name])

    @cached_property
    def universe(self) -> ir.Table:
        """Every customer of the golden record (column ``customer_id``)."""
        return self.table("customers").select("customer_id")

    @cached_property
    def purchases(self) -> ir.Table:
        """Purchases paid before the end of ``as_of``, one row per order, resolved to ``customer_id``."""
        orders = customer_orders(
            self.table("raw_orders"), self.table("identity_map"), before=cutoff(self.as_of)
        )
        return purchases(orders)

    def compile(self, spec: SegmentSpec, *, key: str | None = None) -> ir.Table:
        """The members of ``spec``: a Table with one column ``customer_id``, each id once."""
        if key is not None:
            self._stack.append(key)
        try:
            return self.node(spec.where).select("customer_id").distinct()
        finally:
            if key is not None:
                self._stack.pop()

    def node(self, node: SpecNode) -> ir.Table:
        """A Table of ``customer_id`` (possibly repeated) matching ``node``."""
        if isinstance(node, AllOf):
            if not node.all:
                return self.universe
            parts = [self.node(child).select("customer_id") for child in node.all]
            return parts[0] if len(parts) == 1 else ibis.intersect(*parts)
        if isinstance(node, AnyOf):
            if not node.any:
                return self.universe.filter(ibis.literal(False))
            parts = [self.node(child).select("customer_id") for child in node.any]
            return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=True)
        if isinstance(node, NotOf):
            return self.universe.difference(self.node(node.not_).select("customer_id"))
        matched: ir.Table = self.kinds.of(node).compile(node, self)
        return matched

    def members_of(self, key: str) -> ir.Table:
        """The live members of the segment ``key`` as of the same date (a reference from a spec).

        Raises :class:`SegmentSpecError` for an unknown segment or a cycle.
        """
        if key in self._stack:
            trail = " → ".join([*self._stack, key])
            raise SegmentSpecError([Problem("where", "segment_cycle", f"segments form a cycle: {trail}")])
        other = self.resolve(key) if self.resolve is not None else None
        if other is None:
            raise SegmentSpecError([Problem("where", "unknown_segment", f"no segment {key!r}")])
        return self.compile(other, key=key)


def compile_spec(
    con: BaseBackend,
    spec: SegmentSpec,
    *,
    as_of: date,
    resolve: Resolver | None = None,
    key: str | None = None,
    pm: pluggy.PluginManager | None = None,
) -> ir.Table:
    """The members of ``spec`` as of ``as_of``: an unexecuted Table of distinct ``customer_id``.

    Building it runs one small query when the spec tests scores (which run is
    the latest on or before ``as_of``); the members themselves are computed
    only when the table is executed. Raises
    :class:`~guanxi.errors.NotFoundError` when a needed table (or any scores
    run on or before ``as_of``) is missing, and
    :class:`~guanxi.segments.validation.SegmentSpecError` for an unknown
    referenced segment, a reference cycle, or a leaf of no kind registered on
    ``pm`` (the process's plugin manager when None).
    """
    return Compiler(con, as_of, resolve, pm).compile(spec, key=key)
