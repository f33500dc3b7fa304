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

The combinators are structural and live here: ``all: [..]`` / ``any: [..]`` /
``not: node`` — intersection, union, complement (within every customer of
``customers``). Every leaf is a mapping marked by the key of a **condition
kind** (:class:`~guanxi.segments.conditions.ConditionKind`), registered through
the ``register_segment_conditions`` hook — the built-ins ``score``,
``attribute``, ``tag``, ``behaviour`` and ``segment`` in
:mod:`guanxi.segments.plugin`, exactly as a plugin registers its own. Which
kinds exist is asked of the plugin manager each time a node is read (never at
import time), so :data:`Node` is an open union: a leaf of any registered kind.

A leaf may also be written as one string (``rfm_segment in [Champions, Loyal]``,
``tag: model.tag = value``, ``segment: key``) when its kind reads a shorthand;
parsing turns it into the long form, so a loaded spec dumps and re-loads to an
equal spec.

Reading and checking a spec — every problem at once, each with its path —
is :mod:`guanxi.segments.validation` (:func:`~guanxi.segments.validation.parse_spec`,
:func:`~guanxi.segments.validation.load_spec`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Union

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

if TYPE_CHECKING:
    from guanxi.segments.conditions import ConditionKinds

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

COMBINATORS: tuple[str, ...] = ("all", "any", "not")
"""The structural node keys; no condition kind may take one of them."""

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""A segment key: lower-case letters, digits, ``_`` and ``-``, at most 64 characters."""

CONTEXT_KINDS = "condition_kinds"
"""The pydantic validation-context entry holding the :class:`ConditionKinds` to read leaves with."""


def _dates_as_text(raw: Any) -> Any:
    """Dates (YAML reads ``2024-06-01`` as one) become ISO text, so specs round-trip exactly."""
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, list):
        return [item.isoformat() if isinstance(item, date) else item for item in raw]
    return raw


Scalar = Union[bool, int, float, str]  # noqa: UP007 - pydantic reads this at runtime
Value = Annotated[Union[Scalar, list[Scalar], None], BeforeValidator(_dates_as_text)]  # noqa: UP007
"""A leaf's ``value``: one scalar, a list of scalars, or nothing (dates kept as ISO text)."""


def yaml_value(text: str) -> Any:
    """A shorthand value in YAML syntax; text YAML cannot read (``2024-13-45``) stays text."""
    if not text:
        return None
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):
        return text


class SpecNode(BaseModel):
    """Base of every node: frozen, unknown keys refused. A leaf model has its kind's key as a field (best first)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _kinds(context: Any) -> ConditionKinds:
    if isinstance(context, Mapping) and context.get(CONTEXT_KINDS) is not None:
        kinds: ConditionKinds = context[CONTEXT_KINDS]
        return kinds
    from guanxi.segments.conditions import condition_kinds  # kinds are looked up now, not at import

    return condition_kinds()


def _read_node(raw: Any, info: core_schema.ValidationInfo) -> SpecNode:
    """A node from plain data (or an already built node, kept as it is)."""
    if isinstance(raw, SpecNode):
        return raw
    kinds = _kinds(info.context)
    context = {**(info.context or {}), CONTEXT_KINDS: kinds}
    try:
        raw = kinds.expand(raw)
    except ValueError as err:
        raise PydanticCustomError("unreadable_condition", str(err)) from err
    key = kinds.key_of(raw)
    if key is None or not isinstance(raw, Mapping):
        raise PydanticCustomError("node_kind", kinds.unknown_message(raw))
    model: type[SpecNode] = _COMBINATOR_MODELS[key] if key in COMBINATORS else kinds[key].model
    node: SpecNode = model.model_validate(raw, context=context)
    return node


def _dump_node(node: Any, info: core_schema.SerializationInfo) -> Any:
    if not isinstance(node, BaseModel):
        return node
    return node.model_dump(
        mode=info.mode,
        by_alias=bool(info.by_alias),
        exclude_none=info.exclude_none,
        exclude_defaults=info.exclude_defaults,
        exclude_unset=info.exclude_unset,
        round_trip=info.round_trip,
    )


class _OpenNode:
    """Pydantic's view of :data:`Node`: read through the registered kinds, dumped as the node's own model."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.with_info_plain_validator_function(
            _read_node,
            serialization=core_schema.plain_serializer_function_ser_schema(_dump_node, info_arg=True),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "anyOf": [{"type": "object"}, {"type": "string"}],
            "description": "a combinator (all, any, not) or a leaf of a registered condition kind",
        }


Node = Annotated[SpecNode, _OpenNode]
"""One node of a segment spec: a combinator, or a leaf of any registered condition kind."""


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


_COMBINATOR_MODELS: dict[str, type[SpecNode]] = {"all": AllOf, "any": AnyOf, "not": NotOf}


def children(node: SpecNode) -> list[tuple[str, SpecNode]]:
    """A combinator's children with their path step (``all[0]``, ``not``); a leaf has none."""
    if isinstance(node, AllOf):
        return [(f"all[{index}]", child) for index, child in enumerate(node.all)]
    if isinstance(node, AnyOf):
        return [(f"any[{index}]", child) for index, child in enumerate(node.any)]
    if isinstance(node, NotOf):
        return [("not", node.not_)]
    return []


def is_combinator(node: SpecNode) -> bool:
    return isinstance(node, AllOf | AnyOf | NotOf)


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


def references(node: SegmentSpec | SpecNode, kinds: ConditionKinds | None = None) -> Iterator[str]:
    """Every segment key the tree refers to (depth first, repeats kept), as each leaf's kind says."""
    if kinds is None:
        from guanxi.segments.conditions import condition_kinds

        kinds = condition_kinds()
    if isinstance(node, SegmentSpec):
        node = node.where
    if is_combinator(node):
        for _, child in children(node):
            yield from references(child, kinds)
    else:
        yield from kinds.of(node).references(node)
