"""``column op value``: checked, compiled and described the same way by every kind that compares.

A column's type is an Ibis type name (``string``, ``int64``, ``decimal(18, 2)``,
``float64``, ``boolean``, ``date``). A value must have the column's type
(text, a number, ``true``/``false``, an ISO date); a null column matches only
``is null``; ordered operators are refused on booleans.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from guanxi.segments.description import say, show_value
from guanxi.segments.spec import NO_VALUE_OPERATORS, OPERATORS, ORDERED_OPERATORS, yaml_value
from guanxi.segments.validation import Problem

SHORTHAND = re.compile(
    r"^\s*(?P<field>[A-Za-z_][\w]*)\s*"
    r"(?P<op>not\s+in\b|is\s+not\s+null\b|is\s+null\b|not\s+null\b|between\b|in\b|!=|<=|>=|=|<|>)"
    r"\s*(?P<value>.*?)\s*$",
    re.IGNORECASE,
)
"""A one-string comparison ``field op value`` (value in YAML syntax)."""


def read_comparison(text: str) -> tuple[str, dict[str, Any]] | None:
    """``(field, {op, value})`` of a ``field op value`` string, None when ``text`` is no comparison."""
    match = SHORTHAND.match(text)
    if match is None:
        return None
    op = " ".join(match["op"].lower().split())
    op = "not null" if op == "is not null" else op
    rest: dict[str, Any] = {"op": op}
    if op not in NO_VALUE_OPERATORS:
        rest["value"] = yaml_value(match["value"])
    return match["field"], rest


def type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, date):
        return "date"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def wanted(kind: str) -> str:
    """What values a column of Ibis type ``kind`` holds: number, date, boolean or string."""
    if kind.startswith(("int", "float", "decimal")):
        return "number"
    if kind == "date":
        return "date"
    if kind == "boolean":
        return "boolean"
    return "string"


def fits(value: Any, kind: str) -> bool:
    if wanted(kind) == "date" and isinstance(value, str):
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return type_of(value) == wanted(kind)


def check_comparison(path: str, column: str, kind: str, op: str, value: Any) -> Iterator[Problem]:
    """Problems of ``column op value`` (``op`` at ``path.op``, the value at ``path.value``)."""
    if op not in OPERATORS:
        yield Problem(
            f"{path}.op", "unknown_operator", f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}"
        )
        return
    if op in NO_VALUE_OPERATORS:
        if value is not None:
            yield Problem(f"{path}.value", "unexpected_value", f"{op!r} takes no value")
        return
    holds = wanted(kind)
    if op in ORDERED_OPERATORS and holds == "boolean":
        yield Problem(f"{path}.op", "operator_not_allowed", f"{column} is boolean: {op!r} does not apply")
        return
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2):
            yield Problem(f"{path}.value", "wrong_type", "between takes a list of two values [low, high]")
            return
        items = value
    elif op in {"in", "not in"}:
        if not isinstance(value, list) or not value:
            yield Problem(f"{path}.value", "wrong_type", f"{op!r} takes a non-empty list of values")
            return
        items = value
    else:
        if value is None or isinstance(value, list):
            yield Problem(f"{path}.value", "wrong_type", f"{op!r} takes one {holds} value")
            return
        items = [value]
    for index, item in enumerate(items):
        if not fits(item, kind):
            where = f"{path}.value" + (f"[{index}]" if isinstance(value, list) else "")
            yield Problem(
                where, "wrong_value_type", f"{column} holds {holds} values, got {type_of(item)} {item!r}"
            )


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


_SYMBOLS = {"=": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


def describe_comparison(label: str, op: str, value: Any, locale: str) -> str:
    """``label op value`` in words: ``CLV ≥ 500``, ``年龄 介于 25 与 40 之间``, ``city is one of 上海, 北京``."""
    if op == "is null":
        return say(locale, zh=f"{label} 为空", en=f"{label} is empty")
    if op == "not null":
        return say(locale, zh=f"{label} 不为空", en=f"{label} is not empty")
    if op == "between" and isinstance(value, list) and len(value) == 2:
        low, high = (show_value(v, locale) for v in value)
        return say(locale, zh=f"{label} 介于 {low} 与 {high} 之间", en=f"{label} between {low} and {high}")
    shown = show_value(value, locale)
    if op == "in":
        return say(locale, zh=f"{label} 为 {shown} 之一", en=f"{label} is one of {shown}")
    if op == "not in":
        return say(locale, zh=f"{label} 不为 {shown} 中任何一个", en=f"{label} is none of {shown}")
    return f"{label} {_SYMBOLS.get(op, op)} {shown}"
