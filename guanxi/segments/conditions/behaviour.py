"""``behaviour``: what a customer did, counted on purchases paid before the end of the as-of date.

A purchase is a paid order with a positive net amount, as the customer models
count it (:mod:`guanxi.models.inputs`), resolved through ``identity_map``.

* ``bought`` / ``not_bought`` — a purchase (in ``category`` when given)
  within the last ``within_days`` days including the as-of date (ever, when
  ``within_days`` is omitted); no ``op``/``value``;
* ``order_count`` / ``spend`` — number of purchases / net amount in that
  window compared with ``op value`` (customers without purchases count 0);
* ``days_since_first_purchase`` — days from the first purchase to the
  as-of date compared with ``op value`` (customers who never bought never match).

No shorthand: write the long form ``{behaviour: not_bought, within_days: 90}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

import ibis
import ibis.expr.types as ir
from pydantic import Field

from guanxi.models.inputs import window_start
from guanxi.segments.conditions.comparison import check_comparison, compare, describe_comparison
from guanxi.segments.conditions.kind import ConditionKind
from guanxi.segments.description import say
from guanxi.segments.spec import NO_VALUE_OPERATORS, SpecNode, Value
from guanxi.segments.validation import Problem

if TYPE_CHECKING:
    from guanxi.segments.compiler import Compiler

BEHAVIOURS: tuple[str, ...] = ("bought", "not_bought", "order_count", "spend", "days_since_first_purchase")
"""Behaviour tests over purchases (paid orders with a positive net amount)."""


class BehaviourCondition(SpecNode):
    """What a customer did, counted on purchases paid before the end of the as-of date (see the module)."""

    behaviour: Literal["bought", "not_bought", "order_count", "spend", "days_since_first_purchase"]
    within_days: int | None = Field(default=None, ge=1)
    category: str | list[str] | None = None
    op: str | None = None
    value: Value = None


def _days_before(as_of: date, days: Any) -> date:
    return as_of - timedelta(days=int(days))


_MIRRORED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _window(node: BehaviourCondition, compiler: Compiler) -> ir.Table:
    """Purchases in the node's window, one row per order, with ``spend`` (net, in the category)."""
    bought = compiler.purchases
    start = window_start(compiler.as_of, node.within_days)
    if start is not None:
        bought = bought.filter(bought.paid_at >= start)
    if node.category is None:
        return bought.select("customer_id", "source", "order_id", spend=bought.net_amount.cast("float64"))
    categories = [node.category] if isinstance(node.category, str) else list(node.category)
    items = compiler.table("raw_order_items")
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


def _days_since(as_of: date, first: ir.DateValue, op: str, value: Any) -> ir.BooleanValue:
    """``(as_of − first) op value`` in days, written as date comparisons (portable)."""
    if op == "between":
        low, high = value
        return first.between(_days_before(as_of, high), _days_before(as_of, low))
    if op in {"in", "not in"}:
        days = [_days_before(as_of, v) for v in value]
        return first.isin(days) if op == "in" else first.notin(days)
    return compare(first, _MIRRORED[op], _days_before(as_of, value), "date")


def _categories(node: BehaviourCondition, locale: str) -> str:
    if node.category is None:
        return ""
    names = [node.category] if isinstance(node.category, str) else node.category
    return say(locale, zh="或", en=" or ").join(names)


class Behaviour(ConditionKind[BehaviourCondition]):
    key = "behaviour"
    model = BehaviourCondition

    def validate(self, node: BehaviourCondition, path: str) -> Iterator[Problem]:
        if node.behaviour in {"bought", "not_bought"}:
            if node.op is not None or node.value is not None:
                yield Problem(f"{path}.op", "unexpected_value", f"{node.behaviour!r} takes no op or value")
            return
        if node.op is None:
            yield Problem(f"{path}.op", "missing_field", f"{node.behaviour!r} needs an op and a value")
            return
        kind = "int64" if node.behaviour in {"order_count", "days_since_first_purchase"} else "decimal(18, 2)"
        yield from check_comparison(path, node.behaviour, kind, node.op, node.value)
        if node.op in NO_VALUE_OPERATORS:
            yield Problem(f"{path}.op", "operator_not_allowed", f"{node.behaviour!r} is never null")
        if node.behaviour == "days_since_first_purchase" and (node.within_days or node.category):
            yield Problem(path, "unexpected_value", "days_since_first_purchase takes no window or category")

    def compile(self, node: BehaviourCondition, compiler: Compiler) -> ir.Table:
        if node.behaviour == "days_since_first_purchase":
            bought = compiler.purchases
            first = bought.group_by("customer_id").aggregate(first_paid=bought.paid_date.min())
            matches = _days_since(compiler.as_of, first.first_paid, node.op or "=", node.value)
            return first.filter(matches).select("customer_id")
        window = _window(node, compiler)
        if node.behaviour == "bought":
            return window.select("customer_id")
        if node.behaviour == "not_bought":
            return compiler.universe.difference(window.select("customer_id"))
        per = window.group_by("customer_id").aggregate(order_count=window.count(), spend=window.spend.sum())
        joined = compiler.universe.left_join(per, "customer_id")
        measure = ibis.coalesce(joined[node.behaviour], 0)
        kind = "int64" if node.behaviour == "order_count" else "float64"
        matched = joined.filter(compare(measure, node.op or "=", node.value, kind))
        return matched.select(customer_id=matched.customer_id)

    def describe(self, node: BehaviourCondition, locale: str) -> str:
        days, cats = node.within_days, _categories(node, locale)
        if node.behaviour in {"bought", "not_bought"}:
            return self._describe_bought(node.behaviour == "bought", days, cats, locale)
        if node.behaviour == "days_since_first_purchase":
            label = say(locale, zh="首次购买距今天数", en="days since first purchase")
            return describe_comparison(label, node.op or "=", node.value, locale)
        zh_window = f"{days} 天内" if days else "累计"
        zh_cats = f"{cats}品类" if cats else ""
        en_window = f" within {days} days" if days else ""
        en_all_time = "" if days else "all-time "
        if node.behaviour == "order_count":
            en_cats = f" of {cats}" if cats else ""
            label = say(
                locale, zh=f"{zh_window}{zh_cats}购买次数", en=f"{en_all_time}orders{en_cats}{en_window}"
            )
        else:
            en_cats = f" on {cats}" if cats else ""
            label = say(
                locale, zh=f"{zh_window}{zh_cats}消费金额", en=f"{en_all_time}spend{en_cats}{en_window}"
            )
        return describe_comparison(label, node.op or "=", node.value, locale)

    @staticmethod
    def _describe_bought(bought: bool, days: int | None, cats: str, locale: str) -> str:
        zh_what = f"{cats}品类" if cats else ""
        en_what = f" {cats}" if cats else ""
        if bought:
            if days:
                return say(locale, zh=f"{days} 天内购买过{zh_what}", en=f"bought{en_what} within {days} days")
            return say(locale, zh=f"购买过{zh_what}", en=f"has bought{en_what}")
        if days:
            return say(locale, zh=f"{days} 天内未购买{zh_what}", en=f"not bought{en_what} within {days} days")
        return say(locale, zh=f"从未购买{zh_what}", en=f"never bought{en_what}")
