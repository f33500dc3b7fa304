"""Compile a segment spec into one Ibis expression: a Table of ``customer_id``.

*What* a spec means lives in :mod:`guanxi.segments.spec`; this module says how
to ask the warehouse for it, with Ibis expressions only (no SQL text and no
backend-specific functions), so the same spec runs on DuckDB, PostgreSQL and
Spark. Every node becomes a set of customer ids; ``all`` is an intersection,
``any`` a union, ``not`` the difference from every customer of ``customers``.

Dates are relative to the explicit ``as_of`` date (a calendar date in
``Settings.timezone``, in which warehouse timestamps are stored): "within the
last N days" means paid at or after ``as_of − (N − 1)`` 00:00 and before
``as_of + 1`` 00:00. Nothing reads the clock.

Score conditions read the latest ``customer_scores`` run whose ``as_of`` is on
or before the segment's as-of date (latest ``as_of``, then latest ``run_id``).
Tag conditions read the current ``customer_tags``. A purchase is a paid order
with a positive net amount, as the customer models count it
(:mod:`guanxi.models.inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from guanxi.errors import NotFoundError
from guanxi.ingest.divisions import name_forms
from guanxi.models.inputs import customer_orders, cutoff, purchases, window_start
from guanxi.models.outputs import CUSTOMER_SCORES, CUSTOMER_TAGS
from guanxi.segments.spec import (
    ATTRIBUTES,
    SCORE_COLUMNS,
    AllOf,
    AnyOf,
    AttributeCondition,
    BehaviourCondition,
    Node,
    NotOf,
    ScoreCondition,
    SegmentRef,
    SegmentSpec,
    TagCondition,
)
from guanxi.segments.validation import Problem, Resolver, SegmentSpecError

_PRODUCERS = {
    "customers": "guanxi resolve",
    "identity_map": "guanxi resolve",
    CUSTOMER_SCORES.name: "guanxi models run",
    CUSTOMER_TAGS.name: "guanxi models run",
}


def _literal(value: Any, kind: str) -> ir.Value:
    if kind == "date":
        return ibis.literal(date.fromisoformat(value) if isinstance(value, str) else value)
    return ibis.literal(value)


def compare(column: ir.Value, op: str, value: Any, kind: str) -> ir.BooleanValue:
    """``column op value`` as an Ibis boolean; null columns never match (except ``is null``)."""
    if op == "is null":
        return column.isnull()
    if op == "not null":
        return column.notnull()
    if op in {"in", "not in"}:
        values = [_literal(v, kind) for v in value]
        return column.isin(values) if op == "in" else column.notin(values) & column.notnull()
    if op == "between":
        return column.between(_literal(value[0], kind), _literal(value[1], kind))
    right = _literal(value, kind)
    comparisons = {
        "=": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }
    result: ir.BooleanValue = comparisons[op](right)
    return result


def _with_place_name_forms(level: str, op: str, value: Any) -> tuple[str, Any]:
    """``=``/``!=``/``in``/``not in`` on a place name, widened to every way it is written."""
    if op in {"=", "!="} and isinstance(value, str):
        op, value = ("in" if op == "=" else "not in"), [value]
    if op in {"in", "not in"} and isinstance(value, list):
        widened = [form for v in value for form in (name_forms(level, v) if isinstance(v, str) else [v])]
        return op, list(dict.fromkeys(widened))
    return op, value


def _days_before(as_of: date, days: Any) -> date:
    return as_of - timedelta(days=int(days))


_MIRRORED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass
class Compiler:
    """Compiles specs against one warehouse as of one date.

    ``resolve`` looks up referenced segments; a reference cycle met while
    compiling raises :class:`SegmentSpecError` (code ``segment_invalid``). A
    table a condition needs that the warehouse lacks raises
    :class:`~guanxi.errors.NotFoundError` naming the command that writes it.
    """

    con: BaseBackend
    as_of: date
    resolve: Resolver | None = None
    _stack: list[str] = field(default_factory=list)

    def _table(self, name: str) -> ir.Table:
        if name not in self.con.list_tables():
            producer = _PRODUCERS.get(name, "guanxi import")
            raise NotFoundError(f"the warehouse has no table {name!r}; run `{producer}` first")
        return self.con.table(name)

    @cached_property
    def universe(self) -> ir.Table:
        """Every customer of the golden record."""
        return self._table("customers").select("customer_id")

    @cached_property
    def latest_scores(self) -> ir.Table:
        scores = self._table(CUSTOMER_SCORES.name)
        runs = scores.filter(scores.as_of <= self.as_of).select("as_of", "run_id").distinct()
        latest = runs.order_by([ibis.desc("as_of"), ibis.desc("run_id")]).limit(1).to_pyarrow().to_pylist()
        if not latest:
            raise NotFoundError(
                f"customer_scores has no run on or before {self.as_of}; run `guanxi models run`"
            )
        return scores.filter(scores.run_id == str(latest[0]["run_id"]))

    @cached_property
    def _purchases(self) -> ir.Table:
        orders = customer_orders(
            self._table("raw_orders"), self._table("identity_map"), before=cutoff(self.as_of)
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

    def node(self, node: Node) -> ir.Table:
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
        if isinstance(node, ScoreCondition):
            scores = self.latest_scores
            kind = SCORE_COLUMNS[node.score]
            return scores.filter(compare(scores[node.score], node.op, node.value, kind)).select("customer_id")
        if isinstance(node, AttributeCondition):
            return self._attribute(node)
        if isinstance(node, TagCondition):
            return self._tag(node)
        if isinstance(node, BehaviourCondition):
            return self._behaviour(node)
        return self._segment(node)

    def _attribute(self, node: AttributeCondition) -> ir.Table:
        c = self._table("customers")
        column: ir.Value
        if node.attribute == "age":
            born = c.birthday
            before_birthday = (born.month() > self.as_of.month) | (
                (born.month() == self.as_of.month) & (born.day() > self.as_of.day)
            )
            column = ibis.literal(self.as_of.year) - born.year() - ibis.ifelse(before_birthday, 1, 0)
        elif node.attribute in {"has_phone", "has_email"}:
            raw = c.phone if node.attribute == "has_phone" else c.email
            column = ibis.coalesce(raw.strip().length(), 0) > 0
        else:
            column = c[node.attribute]
        op, value = node.op, node.value
        if node.attribute in {"province", "city"}:  # 广东 matches the 广东省 the importer stores
            op, value = _with_place_name_forms(node.attribute, op, value)
        return c.filter(compare(column, op, value, ATTRIBUTES[node.attribute])).select("customer_id")

    def _tag(self, node: TagCondition) -> ir.Table:
        tags = self._table(CUSTOMER_TAGS.name)
        model, _, name = node.tag.rpartition(".")
        matched = tags.filter(tags.tag == name)
        if model:
            matched = matched.filter(matched.model == model)
        if node.op == "=":
            matched = matched.filter(matched.value == node.value)
        elif node.op == "in":
            matched = matched.filter(
                matched.value.isin([str(v) for v in node.value] if isinstance(node.value, list) else [])
            )
        if node.min_weight is not None:
            matched = matched.filter(matched.weight >= node.min_weight)
        return matched.select("customer_id")

    def _window(self, node: BehaviourCondition) -> ir.Table:
        """Purchases in the node's window, one row per order, with ``spend`` (net, in the category)."""
        bought = self._purchases
        start = window_start(self.as_of, node.within_days)
        if start is not None:
            bought = bought.filter(bought.paid_at >= start)
        if node.category is None:
            return bought.select("customer_id", "source", "order_id", spend=bought.net_amount.cast("float64"))
        categories = [node.category] if isinstance(node.category, str) else list(node.category)
        items = self._table("raw_order_items")
        items = items.filter(items.category.isin(categories))
        item_amount = ibis.coalesce(items.amount, items.price * items.quantity).cast("float64")
        items = items.select("source", "order_id", item_amount=item_amount)
        joined = items.join(bought, ["source", "order_id"])
        kept = ibis.ifelse(
            joined.amount > 0, joined.net_amount.cast("float64") / joined.amount.cast("float64"), 0.0
        )
        per_order = joined.group_by(["customer_id", "source", "order_id"]).aggregate(
            spend=(ibis.coalesce(joined.item_amount, 0.0) * kept).sum()
        )
        return per_order

    def _behaviour(self, node: BehaviourCondition) -> ir.Table:
        if node.behaviour == "days_since_first_purchase":
            bought = self._purchases
            first = bought.group_by("customer_id").aggregate(first_paid=bought.paid_date.min())
            return first.filter(self._days_since(first.first_paid, node.op or "=", node.value)).select(
                "customer_id"
            )
        window = self._window(node)
        if node.behaviour == "bought":
            return window.select("customer_id")
        if node.behaviour == "not_bought":
            return self.universe.difference(window.select("customer_id"))
        per = window.group_by("customer_id").aggregate(order_count=window.count(), spend=window.spend.sum())
        joined = self.universe.left_join(per, "customer_id")
        measure = ibis.coalesce(joined[node.behaviour], 0)
        kind = "int64" if node.behaviour == "order_count" else "float64"
        matched = joined.filter(compare(measure, node.op or "=", node.value, kind))
        return matched.select(customer_id=matched.customer_id)

    def _days_since(self, first: ir.DateValue, op: str, value: Any) -> ir.BooleanValue:
        """``(as_of − first) op value`` in days, written as date comparisons (portable)."""
        if op == "between":
            low, high = value
            return first.between(_days_before(self.as_of, high), _days_before(self.as_of, low))
        if op in {"in", "not in"}:
            days = [_days_before(self.as_of, v) for v in value]
            return first.isin(days) if op == "in" else first.notin(days)
        return compare(first, _MIRRORED[op], _days_before(self.as_of, value), "date")

    def _segment(self, node: SegmentRef) -> ir.Table:
        if node.segment in self._stack:
            trail = " → ".join([*self._stack, node.segment])
            raise SegmentSpecError([Problem("where", "segment_cycle", f"segments form a cycle: {trail}")])
        other = self.resolve(node.segment) if self.resolve is not None else None
        if other is None:
            raise SegmentSpecError([Problem("where", "unknown_segment", f"no segment {node.segment!r}")])
        return self.compile(other, key=node.segment)


def compile_spec(
    con: BaseBackend,
    spec: SegmentSpec,
    *,
    as_of: date,
    resolve: Resolver | None = None,
    key: str | None = None,
) -> ir.Table:
    """The members of ``spec`` as of ``as_of``: an unexecuted Table of distinct ``customer_id``.

    Building it runs one small query when the spec tests scores (which run is
    the latest on or before ``as_of``); the members themselves are computed
    only when the table is executed. Raises
    :class:`~guanxi.errors.NotFoundError` when a needed table (or any scores
    run on or before ``as_of``) is missing, and
    :class:`~guanxi.segments.spec.SegmentSpecError` for an unknown referenced
    segment or a reference cycle.
    """
    return Compiler(con, as_of, resolve).compile(spec, key=key)
