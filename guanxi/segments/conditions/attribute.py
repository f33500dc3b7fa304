"""``attribute``: a golden-record attribute of ``customers`` compared with a value.

Long form ``{attribute: age, op: between, value: [25, 40]}``, shorthand
``province = 广东`` (a ``field op value`` string whose field is an attribute
and not also a score column, which wins). ``age`` is whole years from
``birthday`` as of the compiler's date (a birthday on that day counts);
``has_phone`` / ``has_email`` are true when the field is set and not blank; a
``province`` or ``city`` compared with ``=``, ``!=``, ``in``, ``not in``
matches every way the place is written (``广东`` finds ``广东省``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from guanxi.ingest.divisions import name_forms
from guanxi.segments.conditions.comparison import (
    check_comparison,
    compare,
    describe_comparison,
    read_comparison,
)
from guanxi.segments.conditions.kind import ConditionKind
from guanxi.segments.conditions.score import score_columns
from guanxi.segments.description import say
from guanxi.segments.spec import SpecNode, Value
from guanxi.segments.validation import Problem

if TYPE_CHECKING:
    from guanxi.segments.compiler import Compiler

ATTRIBUTES: dict[str, str] = {
    "name": "string",
    "gender": "string",
    "province": "string",
    "city": "string",
    "district": "string",
    "company": "string",
    "age": "int64",
    "has_phone": "boolean",
    "has_email": "boolean",
}
"""Golden-record attributes a segment may test, with their value type."""

LABELS_ZH: dict[str, str] = {
    "name": "姓名",
    "gender": "性别",
    "province": "省份",
    "city": "城市",
    "district": "区县",
    "company": "公司",
    "age": "年龄",
    "has_phone": "有手机号",
    "has_email": "有邮箱",
}


class AttributeCondition(SpecNode):
    """``attribute op value`` on the golden record (:data:`ATTRIBUTES`)."""

    attribute: str
    op: str = "="
    value: Value = None


def _with_place_name_forms(level: str, op: str, value: Any) -> tuple[str, Any]:
    """``=``/``!=``/``in``/``not in`` on a place name, widened to every way it is written."""
    if op in {"=", "!="} and isinstance(value, str):
        op, value = ("in" if op == "=" else "not in"), [value]
    if op in {"in", "not in"} and isinstance(value, list):
        widened = [form for v in value for form in (name_forms(level, v) if isinstance(v, str) else [v])]
        return op, list(dict.fromkeys(widened))
    return op, value


class Attribute(ConditionKind[AttributeCondition]):
    key = "attribute"
    model = AttributeCondition

    def read_shorthand(self, text: str) -> dict[str, Any] | None:
        read = read_comparison(text)
        if read is None or read[0] not in ATTRIBUTES or read[0] in score_columns():
            return None
        field, rest = read
        return {"attribute": field, **rest}

    def validate(self, node: AttributeCondition, path: str) -> Iterator[Problem]:
        if node.attribute not in ATTRIBUTES:
            known = ", ".join(ATTRIBUTES)
            yield Problem(
                f"{path}.attribute", "unknown_column", f"no attribute {node.attribute!r}; use {known}"
            )
            return
        yield from check_comparison(path, node.attribute, ATTRIBUTES[node.attribute], node.op, node.value)

    def compile(self, node: AttributeCondition, compiler: Compiler) -> ir.Table:
        c = compiler.table("customers")
        as_of = compiler.as_of
        column: ir.Value
        if node.attribute == "age":
            born = c.birthday
            before_birthday = (born.month() > as_of.month) | (
                (born.month() == as_of.month) & (born.day() > as_of.day)
            )
            column = ibis.literal(as_of.year) - born.year() - ibis.ifelse(before_birthday, 1, 0)
        elif node.attribute in {"has_phone", "has_email"}:
            raw = c.phone if node.attribute == "has_phone" else c.email
            column = ibis.coalesce(raw.strip().length(), 0) > 0
        else:
            column = c[node.attribute]
        op, value = node.op, node.value
        if node.attribute in {"province", "city"}:  # 广东 matches the 广东省 the importer stores
            op, value = _with_place_name_forms(node.attribute, op, value)
        return c.filter(compare(column, op, value, ATTRIBUTES[node.attribute])).select("customer_id")

    def describe(self, node: AttributeCondition, locale: str) -> str:
        label = say(locale, zh=LABELS_ZH.get(node.attribute, node.attribute), en=node.attribute)
        return describe_comparison(label, node.op, node.value, locale)
