"""``tag``: a tag in ``customer_tags``, written ``model.tag`` (any model when there is no dot).

Long form ``{tag: preference.category, op: "=", value: 母婴}``; shorthand
``tag: preference.category = 母婴`` (a string) or ``{tag: "preference.category = 母婴"}``.
``op`` is ``exists`` (any value, the default), ``=`` (one value) or ``in`` (a
list); ``min_weight`` keeps only tags weighing at least that much. Tags are
the current ones (the latest models run replaces them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

import ibis.expr.types as ir
from pydantic import model_validator

from guanxi.models.outputs import CUSTOMER_TAGS
from guanxi.segments.conditions.comparison import describe_comparison
from guanxi.segments.conditions.kind import ConditionKind
from guanxi.segments.description import say, show_value
from guanxi.segments.spec import SpecNode, Value, yaml_value
from guanxi.segments.validation import Problem

if TYPE_CHECKING:
    from guanxi.segments.compiler import Compiler

TAG_OPERATORS: tuple[str, ...] = ("=", "in", "exists")

_SHORT_TAG = re.compile(r"^\s*tag\s*:\s*(?P<tag>[\w.\-]+)\s*(?:(?P<op>=|in\b)\s*(?P<value>.+?))?\s*$")


class TagCondition(SpecNode):
    """A tag in ``customer_tags``: ``model.tag`` (any model when no dot).

    ``op`` is ``=`` (one value), ``in`` (a list) or ``exists`` (any value);
    ``min_weight`` keeps only tags weighing at least that much.
    """

    tag: str
    op: Literal["=", "in", "exists"] = "exists"
    value: Value = None
    min_weight: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _inline_comparison(cls, data: Any) -> Any:
        """``{tag: "preference.category = 母婴"}`` means ``{tag: preference.category, op: "=", value: 母婴}``."""
        if isinstance(data, Mapping) and isinstance(data.get("tag"), str) and "op" not in data:
            match = _SHORT_TAG.match(f"tag: {data['tag']}")
            if match is not None and match["op"] is not None:
                return {
                    **data,
                    "tag": match["tag"],
                    "op": match["op"].lower(),
                    "value": yaml_value(match["value"]),
                }
        return data


class Tag(ConditionKind[TagCondition]):
    key = "tag"
    model = TagCondition

    def read_shorthand(self, text: str) -> dict[str, Any] | None:
        match = _SHORT_TAG.match(text)
        if match is None:
            return None
        out: dict[str, Any] = {"tag": match["tag"], "op": (match["op"] or "exists").lower()}
        if match["value"] is not None:
            out["value"] = yaml_value(match["value"])
        return out

    def validate(self, node: TagCondition, path: str) -> Iterator[Problem]:
        if not node.tag or node.tag.count(".") > 1 or "" in node.tag.split("."):
            yield Problem(f"{path}.tag", "wrong_type", f"write a tag as model.tag or tag, not {node.tag!r}")
        if node.op == "exists" and node.value is not None:
            yield Problem(f"{path}.value", "unexpected_value", "'exists' takes no value")
        elif node.op == "=" and not isinstance(node.value, str):
            yield Problem(f"{path}.value", "wrong_value_type", "tag values are strings")
        elif node.op == "in" and not (
            isinstance(node.value, list) and node.value and all(isinstance(v, str) for v in node.value)
        ):
            yield Problem(f"{path}.value", "wrong_value_type", "'in' takes a non-empty list of strings")

    def compile(self, node: TagCondition, compiler: Compiler) -> ir.Table:
        tags = compiler.table(CUSTOMER_TAGS.name, made_by="guanxi models run")
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

    def describe(self, node: TagCondition, locale: str) -> str:
        if node.op == "exists":
            text = say(locale, zh=f"有标签 {node.tag}", en=f"has tag {node.tag}")
        else:
            text = describe_comparison(
                say(locale, zh=f"标签 {node.tag}", en=f"tag {node.tag}"), node.op, node.value, locale
            )
        if node.min_weight is not None:
            weight = show_value(node.min_weight, locale)
            text += say(locale, zh=f"（权重 ≥ {weight}）", en=f" (weight ≥ {weight})")
        return text
