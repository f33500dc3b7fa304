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
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from guanxi.errors import ConfigError
from guanxi.segments.conditions import ConditionKinds, condition_kinds
from guanxi.segments.spec import (
    COMBINATORS,
    CONTEXT_KINDS,
    KEY_PATTERN,
    SegmentSpec,
    SpecNode,
    children,
    is_combinator,
    references,
)

if TYPE_CHECKING:
    import pluggy


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
            "unreadable_condition": "unreadable_condition",
            "value_error": "unreadable_condition",
        }.get(item["type"], "wrong_type")
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(Problem(_path(item["loc"]), code, message))
    return problems


def _find_cycle(start: str, resolve: Resolver, first: list[str], kinds: ConditionKinds) -> list[str] | None:
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
            stack.extend((ref, [*trail, ref]) for ref in references(other, kinds))
    return None


def _check_refs(
    refs: list[tuple[str, str]], *, key: str | None, resolve: Resolver | None, kinds: ConditionKinds
) -> Iterator[Problem]:
    """Problems of the references found (``(path of the referring field, key)``), after the whole tree."""
    for path, ref in refs:
        if not KEY_PATTERN.match(ref):
            yield Problem(path, "wrong_type", f"{ref!r} is not a segment key")
        elif key is not None and ref == key:
            yield Problem(path, "segment_cycle", f"segment {key!r} refers to itself")
        elif resolve is not None and resolve(ref) is None:
            yield Problem(path, "unknown_segment", f"no segment {ref!r}")
        elif resolve is not None and key is not None:
            cycle = _find_cycle(key, resolve, [ref], kinds)
            if cycle is not None:
                trail = " → ".join(cycle)
                yield Problem(path, "segment_cycle", f"segments form a cycle: {trail}")


def _check_leaf(
    leaf: SpecNode, path: str, refs: list[tuple[str, str]], kinds: ConditionKinds
) -> Iterator[Problem]:
    kind = kinds.find(leaf)
    if kind is None:
        yield Problem(path, "unknown_node", kinds.unregistered_message(leaf))
        return
    yield from kind.validate(leaf, path)
    refs.extend((f"{path}.{kind.key}", ref) for ref in kind.references(leaf))


def _check_node(
    node: SpecNode, path: str, refs: list[tuple[str, str]], kinds: ConditionKinds
) -> Iterator[Problem]:
    if is_combinator(node):
        for step, child in children(node):
            yield from _check_node(child, f"{path}.{step}", refs, kinds)
    else:
        yield from _check_leaf(node, path, refs, kinds)


def validate_spec(
    spec: SegmentSpec,
    *,
    key: str | None = None,
    resolve: Resolver | None = None,
    pm: pluggy.PluginManager | None = None,
) -> list[Problem]:
    """Every semantic problem of an already built ``spec`` (empty when it is valid).

    Each leaf is checked by its condition kind (asked of ``pm``, the process's
    plugin manager when None). With ``resolve``, references to unknown
    segments and cycles through ``key`` (a segment referring to itself,
    directly or not) are problems too.
    """
    kinds = condition_kinds(pm)
    refs: list[tuple[str, str]] = []
    problems = list(_check_node(spec.where, "where", refs, kinds))
    problems.extend(_check_refs(refs, key=key, resolve=resolve, kinds=kinds))
    return problems


def _walk(raw: Any, path: str, refs: list[tuple[str, str]], kinds: ConditionKinds) -> Iterator[Problem]:
    """Problems of one raw node and everything under it (structure and meaning alike)."""
    try:
        raw = kinds.expand(raw)
    except ValueError as err:
        yield Problem(path, "unreadable_condition", str(err))
        return
    name = kinds.key_of(raw)
    if name is None or not isinstance(raw, Mapping):
        yield Problem(path, "unknown_node", kinds.unknown_message(raw))
        return
    if name not in COMBINATORS:
        try:
            leaf = kinds[name].model.model_validate(dict(raw), context={CONTEXT_KINDS: kinds})
        except ValidationError as err:
            for problem in _pydantic_problems(err):
                yield Problem(
                    path if problem.path == "spec" else f"{path}.{problem.path}",
                    problem.code,
                    problem.message,
                )
            return
        yield from _check_leaf(leaf, path, refs, kinds)
        return
    for extra in sorted(set(raw) - {name}, key=str):
        yield Problem(f"{path}.{extra}", "unknown_field", f"{name!r} takes no other key")
    nested = raw[name]
    if name == "not":
        yield from _walk(nested, f"{path}.not", refs, kinds)
    elif not isinstance(nested, list):
        yield Problem(f"{path}.{name}", "wrong_type", f"{name!r} takes a list of conditions")
    else:
        for index, child in enumerate(nested):
            yield from _walk(child, f"{path}.{name}[{index}]", refs, kinds)


def parse_spec(
    data: Any,
    *,
    key: str | None = None,
    resolve: Resolver | None = None,
    source: str = "segment spec",
    pm: pluggy.PluginManager | None = None,
) -> SegmentSpec:
    """A validated :class:`SegmentSpec` from plain data (a mapping with ``where``).

    A bare node (a mapping without ``where``) is accepted as the ``where`` of
    a spec. Raises :class:`SegmentSpecError` with every problem found, in
    structure and in meaning, across the whole tree. Leaves are read by the
    condition kinds registered on ``pm`` (the process's plugin manager when
    None), asked once per call; a leaf key no kind registers is an
    ``unknown_node`` problem naming the known keys. With ``resolve``,
    references to unknown segments and cycles through ``key`` are problems too.
    """
    kinds = condition_kinds(pm)
    if isinstance(data, Mapping) and "where" not in data and kinds.key_of(data) is not None:
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
        problems.extend(_walk(data["where"], "where", refs, kinds))
    problems.extend(_check_refs(refs, key=key, resolve=resolve, kinds=kinds))
    if problems:
        raise SegmentSpecError(problems, source=source)
    try:
        return SegmentSpec.model_validate(dict(data), context={CONTEXT_KINDS: kinds})
    except ValidationError as err:  # pragma: no cover - the walk above checks the same rules
        raise SegmentSpecError(_pydantic_problems(err), source=source) from err


def load_spec(
    text: str,
    *,
    key: str | None = None,
    resolve: Resolver | None = None,
    source: str = "segment spec",
    pm: pluggy.PluginManager | None = None,
) -> SegmentSpec:
    """Parse YAML or JSON text (JSON is YAML) into a validated spec; see :func:`parse_spec`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SegmentSpecError(
            [Problem("spec", "unreadable", f"not YAML or JSON: {err}")], source=source
        ) from err
    return parse_spec(data, key=key, resolve=resolve, source=source, pm=pm)


def dump_json(spec: SegmentSpec) -> str:
    """The spec as JSON text (long form, UTF-8 characters kept)."""
    return json.dumps(spec.to_data(), ensure_ascii=False, sort_keys=False)
