"""The segment DSL: what a user writes, as pydantic models.

A spec is a tree. Inner nodes combine, leaves test one thing::

    where:
      all:
        - rfm_class = 重要挽留客户               # a customer_scores column (shorthand)
        - {score: clv, op: ">=", value: 500}    # the same kind of leaf, long form
        - {attribute: age, op: between, value: [25, 40]}
        - tag: preference.category = 母婴
        - {behaviour: not_bought, within_days: 90}
        - not: {segment: vip_blocklist}

Node kinds (each a mapping with one distinguishing key):

* ``all: [..]`` / ``any: [..]`` / ``not: node`` — intersection, union, complement
  (within every customer of ``customers``);
* ``score`` — a column of the latest ``customer_scores`` run;
* ``attribute`` — a golden-record attribute of ``customers`` (:data:`ATTRIBUTES`);
* ``tag`` — ``model.tag`` (or just ``tag``) in ``customer_tags``, ops ``=``, ``in``, ``exists``;
* ``behaviour`` — orders through ``identity_map``: ``bought``, ``not_bought``,
  ``order_count``, ``spend``, ``days_since_first_purchase``;
* ``segment`` — membership of another segment (evaluated live, same as-of date).

A leaf may also be written as one string ``field op value`` (value in YAML
syntax: ``rfm_segment in [Champions, Loyal]``), ``tag: model.tag = value`` or
``segment: key``; parsing turns it into the long form, so a loaded spec dumps
and re-loads to an equal spec.

Reading and checking a spec — every problem at once, each with its path —
is :mod:`guanxi.segments.validation` (:func:`~guanxi.segments.validation.parse_spec`,
:func:`~guanxi.segments.validation.load_spec`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from guanxi.models.outputs import CUSTOMER_SCORES

OPERATORS: tuple[str, ...] = (
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "between",
    "in",
    "not in",
    "is null",
    "not null",
)
"""Every comparison operator, in the spelling the DSL uses."""

ORDERED_OPERATORS = frozenset({"<", "<=", ">", ">=", "between"})
NO_VALUE_OPERATORS = frozenset({"is null", "not null"})

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
"""Golden-record attributes a segment may test, with their value type.

``age`` is whole years from ``birthday`` as of the refresh date; ``has_phone``
and ``has_email`` are true when the field is set and not blank.
"""

SCORE_COLUMNS: dict[str, str] = {
    name: kind for name, kind in CUSTOMER_SCORES.columns.items() if name not in {"customer_id", "run_id"}
}
"""Every ``customer_scores`` column a score condition may test, with its Ibis type."""

BEHAVIOURS: tuple[str, ...] = ("bought", "not_bought", "order_count", "spend", "days_since_first_purchase")
"""Behaviour tests over purchases (paid orders with a positive net amount)."""

TAG_OPERATORS: tuple[str, ...] = ("=", "in", "exists")

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""A segment key: lower-case letters, digits, ``_`` and ``-``, at most 64 characters."""


def _dates_as_text(raw: Any) -> Any:
    """Dates (YAML reads ``2024-06-01`` as one) become ISO text, so specs round-trip exactly."""
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, list):
        return [item.isoformat() if isinstance(item, date) else item for item in raw]
    return raw


Scalar = Union[bool, int, float, str]  # noqa: UP007 - pydantic reads this at runtime
Value = Annotated[Union[Scalar, list[Scalar], None], BeforeValidator(_dates_as_text)]  # noqa: UP007


_SHORT = re.compile(
    r"^\s*(?P<field>[A-Za-z_][\w]*)\s*"
    r"(?P<op>not\s+in\b|is\s+not\s+null\b|is\s+null\b|not\s+null\b|between\b|in\b|!=|<=|>=|=|<|>)"
    r"\s*(?P<value>.*?)\s*$",
    re.IGNORECASE,
)
_SHORT_TAG = re.compile(r"^\s*tag\s*:\s*(?P<tag>[\w.\-]+)\s*(?:(?P<op>=|in\b)\s*(?P<value>.+?))?\s*$")
_SHORT_SEGMENT = re.compile(r"^\s*segment\s*:\s*(?P<key>\S+)\s*$")


def _yaml_value(text: str) -> Any:
    """A shorthand value in YAML syntax; text YAML cannot read (``2024-13-45``) stays text."""
    if not text:
        return None
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):
        return text


class SpecNode(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoreCondition(SpecNode):
    """``score op value`` on the latest ``customer_scores`` run (as of the refresh date)."""

    score: str
    op: str = "="
    value: Value = None


class AttributeCondition(SpecNode):
    """``attribute op value`` on the golden record (:data:`ATTRIBUTES`)."""

    attribute: str
    op: str = "="
    value: Value = None


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
                    "value": _yaml_value(match["value"]),
                }
        return data


class BehaviourCondition(SpecNode):
    """What a customer did, counted on purchases paid before the end of the as-of date.

    * ``bought`` / ``not_bought`` — a purchase (in ``category`` when given)
      within the last ``within_days`` days including the as-of date (ever, when
      ``within_days`` is omitted); no ``op``/``value``;
    * ``order_count`` / ``spend`` — number of purchases / net amount in that
      window compared with ``op value`` (customers without purchases count 0);
    * ``days_since_first_purchase`` — days from the first purchase to the
      as-of date compared with ``op value`` (customers who never bought never match).
    """

    behaviour: Literal["bought", "not_bought", "order_count", "spend", "days_since_first_purchase"]
    within_days: int | None = Field(default=None, ge=1)
    category: str | list[str] | None = None
    op: str | None = None
    value: Value = None


class SegmentRef(SpecNode):
    """Membership of another (not archived) segment, evaluated as of the same date."""

    segment: str


class AllOf(SpecNode):
    """Customers matching every child (an empty list matches every customer)."""

    all: list[Node]


class AnyOf(SpecNode):
    """Customers matching at least one child (an empty list matches nobody)."""

    any: list[Node]


class NotOf(SpecNode):
    """Customers of ``customers`` not matched by the child (unknown values included)."""

    not_: Node = Field(alias="not")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def expand_shorthand(raw: Any) -> Any:
    """The long (mapping) form of a one-string leaf; anything else unchanged.

    Raises :class:`ValueError` for a string that is no leaf.
    """
    if not isinstance(raw, str):
        return raw
    if tag := _SHORT_TAG.match(raw):
        op = (tag["op"] or "exists").lower()
        out: dict[str, Any] = {"tag": tag["tag"], "op": op}
        if tag["value"] is not None:
            out["value"] = _yaml_value(tag["value"])
        return out
    if seg := _SHORT_SEGMENT.match(raw):
        return {"segment": seg["key"]}
    match = _SHORT.match(raw)
    if match is None:
        raise ValueError(f"cannot read condition {raw!r}; write `field op value`, e.g. `clv >= 500`")
    op = " ".join(match["op"].lower().split())
    op = "not null" if op == "is not null" else op
    field = match["field"]
    kind = "attribute" if field in ATTRIBUTES and field not in SCORE_COLUMNS else "score"
    leaf: dict[str, Any] = {kind: field, "op": op}
    if op not in NO_VALUE_OPERATORS:
        leaf["value"] = _yaml_value(match["value"])
    return leaf


NODE_KINDS = ("all", "any", "not", "score", "attribute", "tag", "behaviour", "segment")


def node_kind(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        return next((f"<{k}>" for k in NODE_KINDS if k in raw), None)
    kinds: dict[type[BaseModel], str] = {
        AllOf: "<all>",
        AnyOf: "<any>",
        NotOf: "<not>",
        ScoreCondition: "<score>",
        AttributeCondition: "<attribute>",
        TagCondition: "<tag>",
        BehaviourCondition: "<behaviour>",
        SegmentRef: "<segment>",
    }
    return kinds.get(type(raw))


Node = Annotated[
    Union[  # noqa: UP007 - a discriminated union needs the Union form here
        Annotated[AllOf, Tag("<all>")],
        Annotated[AnyOf, Tag("<any>")],
        Annotated[NotOf, Tag("<not>")],
        Annotated[ScoreCondition, Tag("<score>")],
        Annotated[AttributeCondition, Tag("<attribute>")],
        Annotated[TagCondition, Tag("<tag>")],
        Annotated[BehaviourCondition, Tag("<behaviour>")],
        Annotated[SegmentRef, Tag("<segment>")],
    ],
    Discriminator(
        node_kind,
        custom_error_type="node_kind",
        custom_error_message="a condition needs one of the keys " + ", ".join(NODE_KINDS),
    ),
    BeforeValidator(expand_shorthand),
]
"""One node of a segment spec."""

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


class SegmentSpec(BaseModel):
    """A user-written segment: optional display name and description, and the tree."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    description: str | None = None
    where: Node

    def to_data(self) -> dict[str, Any]:
        """The spec as plain JSON-able data (long form); :func:`parse_spec` reads it back equal."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_data(), allow_unicode=True, sort_keys=False)


def references(node: Any) -> Iterator[str]:
    """Every segment key the tree refers to (depth first, repeats kept)."""
    if isinstance(node, SegmentSpec):
        yield from references(node.where)
    elif isinstance(node, AllOf):
        for child in node.all:
            yield from references(child)
    elif isinstance(node, AnyOf):
        for child in node.any:
            yield from references(child)
    elif isinstance(node, NotOf):
        yield from references(node.not_)
    elif isinstance(node, SegmentRef):
        yield node.segment
