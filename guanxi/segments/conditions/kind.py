"""What a condition kind is, and the registered kinds of one plugin manager.

A :class:`ConditionKind` carries everything about one kind of leaf: the spec
key that marks it, its pydantic model, an optional one-string shorthand, and
its three behaviours — validation (problems with paths), compilation (an Ibis
Table of ``customer_id``) and a description in ``zh-CN`` and ``en``. Kinds are
registered with the ``register_segment_conditions`` hook; :func:`condition_kinds`
asks the plugin manager for them each time it is called (never at import time).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from guanxi.errors import ConfigError
from guanxi.segments.spec import COMBINATORS, AllOf, AnyOf, NotOf, SpecNode

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pluggy

    from guanxi.segments.compiler import Compiler
    from guanxi.segments.validation import Problem

Leaf = TypeVar("Leaf", bound=SpecNode)


class ConditionKind(ABC, Generic[Leaf]):
    """One kind of leaf in the segment DSL; subclass it and register an instance.

    Class attributes: ``key`` — the spec key that marks the leaf (a name such
    as ``score``, not ``all``/``any``/``not``), which must also be a field of
    ``model``; ``model`` — the leaf's pydantic model, a
    :class:`~guanxi.segments.spec.SpecNode` subclass (frozen, unknown keys
    refused) whose dump is the leaf's long form.
    """

    key: str
    model: type[Leaf]

    def read_shorthand(self, text: str) -> dict[str, Any] | None:
        """The long form of a one-string leaf when this kind reads ``text``, else None.

        Kinds are asked newest first (installed plugins, then the built-ins in
        reverse registration order), so a plugin may claim a string that would
        otherwise read as a ``score`` comparison. May raise :class:`ValueError`
        for a string that is this kind's but malformed.
        """
        return None

    def validate(self, node: Leaf, path: str) -> Iterator[Problem]:
        """Every problem of a leaf the model accepted, each with its path under ``path`` (``where.all[2]``)."""
        return iter(())

    @abstractmethod
    def compile(self, node: Leaf, compiler: Compiler) -> ir.Table:
        """The customers matching ``node`` as of ``compiler.as_of``: a Table with ``customer_id`` (repeats allowed).

        Use the compiler's tables and helpers (:meth:`Compiler.table`,
        :attr:`Compiler.universe`, :attr:`Compiler.purchases`,
        :meth:`Compiler.memo`); build Ibis expressions only — no execution
        per customer, no clock.
        """

    @abstractmethod
    def describe(self, node: Leaf, locale: str) -> str:
        """The leaf in words a person reads, in ``locale`` (``zh-CN`` or ``en``)."""

    def references(self, node: Leaf) -> Iterator[str]:
        """Keys of other segments this leaf depends on (checked to exist and not to form a cycle)."""
        return iter(())


def _unknown(keys: str) -> str:
    return f"a condition needs one of the keys {keys}"


class ConditionKinds(Mapping[str, ConditionKind[Any]]):
    """The registered condition kinds by key, in registration order (built-ins first)."""

    def __init__(self, by_key: Mapping[str, ConditionKind[Any]]) -> None:
        self.by_key = dict(by_key)

    def __getitem__(self, key: str) -> ConditionKind[Any]:
        return self.by_key[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_key)

    def __len__(self) -> int:
        return len(self.by_key)

    @property
    def node_keys(self) -> tuple[str, ...]:
        """Every key that may mark a node: the combinators, then each kind's."""
        return (*COMBINATORS, *self.by_key)

    def key_of(self, raw: Any) -> str | None:
        """The node key of raw data: a combinator first, then the first registered kind present."""
        if not isinstance(raw, Mapping):
            return None
        return next((key for key in self.node_keys if key in raw), None)

    def unknown_message(self, raw: Any) -> str:
        """Why ``raw`` is no node, naming every key a node may have."""
        keys = ", ".join(self.node_keys)
        if isinstance(raw, Mapping) and raw:
            given = ", ".join(str(k) for k in raw)
            return f"unknown condition with keys {given}; {_unknown(keys)}"
        return _unknown(keys)

    def expand(self, raw: Any) -> Any:
        """The long (mapping) form of a one-string leaf; anything else unchanged.

        Raises :class:`ValueError` for a string no kind reads.
        """
        if not isinstance(raw, str):
            return raw
        for kind in reversed(list(self.by_key.values())):
            long_form = kind.read_shorthand(raw)
            if long_form is not None:
                return long_form
        raise ValueError(f"cannot read condition {raw!r}; write `field op value`, e.g. `clv >= 500`")

    def find(self, node: SpecNode) -> ConditionKind[Any] | None:
        """The kind whose model built the leaf ``node`` (None for a leaf of no registered kind)."""
        return next((kind for kind in self.by_key.values() if type(node) is kind.model), None)

    def unregistered_message(self, node: SpecNode) -> str:
        known = ", ".join(self.by_key) or "none"
        return f"{type(node).__name__} is no registered condition kind (known kinds: {known})"

    def of(self, node: SpecNode) -> ConditionKind[Any]:
        """The kind of a built leaf; a leaf of no registered kind raises ``segment_invalid``."""
        kind = self.find(node)
        if kind is None:
            from guanxi.segments.validation import Problem, SegmentSpecError

            raise SegmentSpecError([Problem("where", "unknown_node", self.unregistered_message(node))])
        return kind


def condition_kinds(pm: pluggy.PluginManager | None = None) -> ConditionKinds:
    """Every kind registered on ``pm`` (the process's manager when None), asked now.

    Raises :class:`~guanxi.errors.ConfigError` when two plugins register the
    same key (naming both), or a kind takes a combinator's key, has no model,
    shares its model with another kind, or its key is no field of its model.
    """
    from guanxi.plugins import collect, plugin_manager

    manager = pm or plugin_manager()
    found: dict[str, ConditionKind[Any]] = collect(
        manager.hook.register_segment_conditions,
        what="segment condition kind",
        name=lambda kind: str(kind.key),
        pm=manager,
    )
    models: dict[type[Any], str] = {}
    for key, kind in found.items():
        model = getattr(kind, "model", None)
        if key in COMBINATORS or not key.isidentifier():
            raise ConfigError(
                f"segment condition kind {key!r}: the key must be a name other than all, any, not"
            )
        if not (isinstance(model, type) and issubclass(model, SpecNode)) or model in (AllOf, AnyOf, NotOf):
            raise ConfigError(f"segment condition kind {key!r}: model must be a SpecNode leaf model")
        if key not in model.model_fields:
            raise ConfigError(f"segment condition kind {key!r}: {model.__name__} has no field {key!r}")
        if model in models:
            raise ConfigError(f"segment condition kinds {models[model]!r} and {key!r} share {model.__name__}")
        models[model] = key
    return ConditionKinds(found)
