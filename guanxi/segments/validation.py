"""Reading a segment spec: every problem at once, each with its path.

:func:`parse_spec` (plain data) and :func:`load_spec` (YAML or JSON text)
check structure and meaning across the whole tree — malformed node, unknown
column, value of the wrong type for the column, unknown operator, reference to
an unknown segment, reference cycle — and raise one :class:`SegmentSpecError`
(a :class:`~guanxi.errors.ConfigError`, code ``segment_invalid``) listing
every :class:`Problem` (``where.all[2].value: … [wrong_value_type]``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import yaml
from pydantic import ValidationError

from guanxi.errors import ConfigError
from guanxi.segments.spec import (
    ATTRIBUTES,
    KEY_PATTERN,
    NO_VALUE_OPERATORS,
    NODE_KINDS,
    OPERATORS,
    ORDERED_OPERATORS,
    SCORE_COLUMNS,
    AllOf,
    AnyOf,
    AttributeCondition,
    BehaviourCondition,
    NotOf,
    ScoreCondition,
    SegmentRef,
    SegmentSpec,
    SpecNode,
    TagCondition,
    expand_shorthand,
    node_kind,
    references,
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (``where.all[1].value``), a code, a message."""

    path: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [{self.code}]"


class SegmentSpecError(ConfigError):
    """A segment spec is invalid; ``problems`` lists every problem found, not just the first."""

    code = "segment_invalid"
    http_status = 422

    def __init__(self, problems: list[Problem], *, source: str = "segment spec") -> None:
        self.problems = list(problems)
        lines = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{source} has {len(self.problems)} problem(s): {lines}")


Resolver = Callable[[str], "SegmentSpec | None"]
"""Looks up another segment's spec by key (None when there is no such live segment)."""


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("<") or part.startswith("function-"):
            continue
        else:
            out += f".{part}" if out else part
    return out or "spec"


def _pydantic_problems(err: ValidationError) -> list[Problem]:
    problems = []
    for item in err.errors():
        code = {
            "extra_forbidden": "unknown_field",
            "missing": "missing_field",
            "literal_error": "unknown_operator" if item["loc"][-1:] == ("op",) else "unknown_value",
            "node_kind": "unknown_node",
            "value_error": "unreadable_condition",
        }.get(item["type"], "wrong_type")
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(Problem(_path(item["loc"]), code, message))
    return problems


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, date):
        return "date"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _wanted(kind: str) -> str:
    if kind.startswith(("int", "float", "decimal")):
        return "number"
    if kind == "date":
        return "date"
    if kind == "boolean":
        return "boolean"
    return "string"


def _fits(value: Any, kind: str) -> bool:
    wanted = _wanted(kind)
    actual = _type_of(value)
    if wanted == "date" and isinstance(value, str):
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return actual == wanted


def _check_comparison(path: str, column: str, kind: str, op: str, value: Any) -> Iterator[Problem]:
    if op not in OPERATORS:
        yield Problem(
            f"{path}.op", "unknown_operator", f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}"
        )
        return
    if op in NO_VALUE_OPERATORS:
        if value is not None:
            yield Problem(f"{path}.value", "unexpected_value", f"{op!r} takes no value")
        return
    wanted = _wanted(kind)
    if op in ORDERED_OPERATORS and wanted == "boolean":
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
            yield Problem(f"{path}.value", "wrong_type", f"{op!r} takes one {wanted} value")
            return
        items = [value]
    for index, item in enumerate(items):
        if not _fits(item, kind):
            where = f"{path}.value" + (f"[{index}]" if isinstance(value, list) else "")
            yield Problem(
                where, "wrong_value_type", f"{column} holds {wanted} values, got {_type_of(item)} {item!r}"
            )


def _check_node(node: Any, path: str, refs: list[tuple[str, str]]) -> Iterator[Problem]:
    if isinstance(node, AllOf | AnyOf):
        name = "all" if isinstance(node, AllOf) else "any"
        children = node.all if isinstance(node, AllOf) else node.any
        for index, child in enumerate(children):
            yield from _check_node(child, f"{path}.{name}[{index}]", refs)
    elif isinstance(node, NotOf):
        yield from _check_node(node.not_, f"{path}.not", refs)
    elif isinstance(node, ScoreCondition):
        if node.score not in SCORE_COLUMNS:
            yield Problem(f"{path}.score", "unknown_column", f"customer_scores has no column {node.score!r}")
        else:
            yield from _check_comparison(path, node.score, SCORE_COLUMNS[node.score], node.op, node.value)
    elif isinstance(node, AttributeCondition):
        if node.attribute not in ATTRIBUTES:
            known = ", ".join(ATTRIBUTES)
            yield Problem(
                f"{path}.attribute", "unknown_column", f"no attribute {node.attribute!r}; use {known}"
            )
        else:
            kind = ATTRIBUTES[node.attribute]
            yield from _check_comparison(path, node.attribute, kind, node.op, node.value)
    elif isinstance(node, TagCondition):
        yield from _check_tag(node, path)
    elif isinstance(node, BehaviourCondition):
        yield from _check_behaviour(node, path)
    elif isinstance(node, SegmentRef):
        refs.append((path, node.segment))


def _check_tag(node: TagCondition, path: str) -> Iterator[Problem]:
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


def _check_behaviour(node: BehaviourCondition, path: str) -> Iterator[Problem]:
    if node.behaviour in {"bought", "not_bought"}:
        if node.op is not None or node.value is not None:
            yield Problem(f"{path}.op", "unexpected_value", f"{node.behaviour!r} takes no op or value")
        return
    if node.op is None:
        yield Problem(f"{path}.op", "missing_field", f"{node.behaviour!r} needs an op and a value")
        return
    kind = "int64" if node.behaviour in {"order_count", "days_since_first_purchase"} else "decimal(18, 2)"
    yield from _check_comparison(path, node.behaviour, kind, node.op, node.value)
    if node.op in NO_VALUE_OPERATORS:
        yield Problem(f"{path}.op", "operator_not_allowed", f"{node.behaviour!r} is never null")
    if node.behaviour == "days_since_first_purchase" and (node.within_days or node.category):
        yield Problem(path, "unexpected_value", "days_since_first_purchase takes no window or category")


def _find_cycle(start: str, resolve: Resolver, first: list[str]) -> list[str] | None:
    """A reference path from ``start`` back to ``start`` (None when there is none)."""
    stack: list[tuple[str, list[str]]] = [(ref, [start, ref]) for ref in first]
    seen: set[str] = set()
    while stack:
        key, trail = stack.pop()
        if key == start:
            return trail
        if key in seen:
            continue
        seen.add(key)
        other = resolve(key)
        if other is not None:
            stack.extend((ref, [*trail, ref]) for ref in references(other))
    return None


def _check_refs(
    refs: list[tuple[str, str]], *, key: str | None, resolve: Resolver | None
) -> Iterator[Problem]:
    for path, ref in refs:
        if not KEY_PATTERN.match(ref):
            yield Problem(f"{path}.segment", "wrong_type", f"{ref!r} is not a segment key")
        elif key is not None and ref == key:
            yield Problem(f"{path}.segment", "segment_cycle", f"segment {key!r} refers to itself")
        elif resolve is not None and resolve(ref) is None:
            yield Problem(f"{path}.segment", "unknown_segment", f"no segment {ref!r}")
        elif resolve is not None and key is not None:
            cycle = _find_cycle(key, resolve, [ref])
            if cycle is not None:
                trail = " → ".join(cycle)
                yield Problem(f"{path}.segment", "segment_cycle", f"segments form a cycle: {trail}")


def validate_spec(
    spec: SegmentSpec, *, key: str | None = None, resolve: Resolver | None = None
) -> list[Problem]:
    """Every semantic problem of an already built ``spec`` (empty when it is valid).

    With ``resolve``, references to unknown segments and cycles through
    ``key`` (a segment referring to itself, directly or not) are problems too.
    """
    refs: list[tuple[str, str]] = []
    problems = list(_check_node(spec.where, "where", refs))
    problems.extend(_check_refs(refs, key=key, resolve=resolve))
    return problems


_LEAVES: dict[str, type[SpecNode]] = {
    "<score>": ScoreCondition,
    "<attribute>": AttributeCondition,
    "<tag>": TagCondition,
    "<behaviour>": BehaviourCondition,
    "<segment>": SegmentRef,
}


def _walk(raw: Any, path: str, refs: list[tuple[str, str]]) -> Iterator[Problem]:
    """Problems of one raw node and everything under it (structure and meaning alike)."""
    try:
        raw = expand_shorthand(raw)
    except ValueError as err:
        yield Problem(path, "unreadable_condition", str(err))
        return
    kind = node_kind(raw)
    if kind is None or not isinstance(raw, Mapping):
        yield Problem(path, "unknown_node", "a condition needs one of the keys " + ", ".join(NODE_KINDS))
        return
    name = kind.strip("<>")
    if kind in _LEAVES:
        try:
            leaf = _LEAVES[kind].model_validate(dict(raw))
        except ValidationError as err:
            for problem in _pydantic_problems(err):
                yield Problem(
                    path if problem.path == "spec" else f"{path}.{problem.path}",
                    problem.code,
                    problem.message,
                )
            return
        yield from _check_node(leaf, path, refs)
        return
    for extra in sorted(set(raw) - {name}, key=str):
        yield Problem(f"{path}.{extra}", "unknown_field", f"{name!r} takes no other key")
    children = raw[name]
    if name == "not":
        yield from _walk(children, f"{path}.not", refs)
    elif not isinstance(children, list):
        yield Problem(f"{path}.{name}", "wrong_type", f"{name!r} takes a list of conditions")
    else:
        for index, child in enumerate(children):
            yield from _walk(child, f"{path}.{name}[{index}]", refs)


def parse_spec(
    data: Any, *, key: str | None = None, resolve: Resolver | None = None, source: str = "segment spec"
) -> SegmentSpec:
    """A validated :class:`SegmentSpec` from plain data (a mapping with ``where``).

    A bare node (a mapping without ``where``) is accepted as the ``where`` of
    a spec. Raises :class:`SegmentSpecError` with every problem found, in
    structure and in meaning, across the whole tree. With ``resolve``,
    references to unknown segments and cycles through ``key`` are problems too.
    """
    if isinstance(data, Mapping) and "where" not in data and node_kind(data) is not None:
        data = {"where": dict(data)}
    if not isinstance(data, Mapping):
        problem = Problem("spec", "wrong_type", "a segment spec is a mapping with `where`")
        raise SegmentSpecError([problem], source=source)
    problems = [
        Problem(str(extra), "unknown_field", "a spec has only name, description and where")
        for extra in sorted(set(data) - {"name", "description", "where"}, key=str)
    ]
    for field in ("name", "description"):
        if data.get(field) is not None and not isinstance(data[field], str):
            problems.append(Problem(field, "wrong_type", f"{field} is text"))
    refs: list[tuple[str, str]] = []
    if "where" not in data:
        problems.append(Problem("where", "missing_field", "a spec needs `where`"))
    else:
        problems.extend(_walk(data["where"], "where", refs))
    problems.extend(_check_refs(refs, key=key, resolve=resolve))
    if problems:
        raise SegmentSpecError(problems, source=source)
    try:
        return SegmentSpec.model_validate(dict(data))
    except ValidationError as err:  # pragma: no cover - the walk above checks the same rules
        raise SegmentSpecError(_pydantic_problems(err), source=source) from err


def load_spec(
    text: str, *, key: str | None = None, resolve: Resolver | None = None, source: str = "segment spec"
) -> SegmentSpec:
    """Parse YAML or JSON text (JSON is YAML) into a validated spec; see :func:`parse_spec`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SegmentSpecError(
            [Problem("spec", "unreadable", f"not YAML or JSON: {err}")], source=source
        ) from err
    return parse_spec(data, key=key, resolve=resolve, source=source)


def dump_json(spec: SegmentSpec) -> str:
    """The spec as JSON text (long form, UTF-8 characters kept)."""
    return json.dumps(spec.to_data(), ensure_ascii=False, sort_keys=False)
