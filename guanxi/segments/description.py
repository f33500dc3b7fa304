"""A spec in words, in the reader's language: what ``guanxi segments show``, the segment page and the API print.

:func:`explain` turns a spec into a tree of :class:`Clause` (combinators with
their children, each leaf described by its own condition kind);
:func:`describe` renders that tree as indented text::

    全部满足：                          all of:
    - RFM 分类 = 重要挽留客户            - rfm_class = 重要挽留客户
    - CLV ≥ 500                        - clv ≥ 500
    - 90 天内未购买                     - not bought within 90 days

Locales are ``zh-CN`` and ``en`` (:data:`LOCALES`); any other ``zh…`` reads
as ``zh-CN`` and anything else as ``en``. The words live here and with each
condition kind, not in the web catalogues, so the CLI and the API use them too.
Describing reads nothing but the spec (no warehouse, no clock).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guanxi.segments.conditions import ConditionKinds, condition_kinds
from guanxi.segments.spec import AllOf, AnyOf, NotOf, SegmentSpec, SpecNode

if TYPE_CHECKING:
    import pluggy

LOCALES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"


def normal_locale(locale: str | None) -> str:
    """``zh-CN`` for None and any Chinese locale, ``en`` for everything else."""
    if locale is None or locale.lower().startswith("zh"):
        return "zh-CN"
    return "en"


def say(locale: str, *, zh: str, en: str) -> str:
    """The words for ``locale`` (``zh-CN``, else English)."""
    return zh if normal_locale(locale) == "zh-CN" else en


def show_value(value: Any, locale: str) -> str:
    """A value as a person reads it: 是/否 or true/false, lists joined with 、 or a comma."""
    if isinstance(value, bool):
        return say(locale, zh="是" if value else "否", en="true" if value else "false")
    if isinstance(value, list):
        return say(locale, zh="、", en=", ").join(show_value(item, locale) for item in value)
    if value is None:
        return say(locale, zh="空", en="empty")
    return str(value)


@dataclass(frozen=True)
class Clause:
    """One line of a described rule and the lines under it (a combinator's children)."""

    text: str
    children: tuple[Clause, ...] = ()

    def lines(self) -> Iterator[str]:
        """The clause as text lines: children as ``- `` items, indented under their combinator."""
        yield self.text
        for child in self.children:
            first, *rest = child.lines()
            yield f"- {first}"
            for line in rest:
                yield f"  {line}"


def _header(locale: str, *, zh: str, en: str) -> str:
    return say(locale, zh=f"{zh}：", en=f"{en}:")


def _clause(node: SpecNode, locale: str, kinds: ConditionKinds) -> Clause:
    if isinstance(node, AllOf | AnyOf):
        items = node.all if isinstance(node, AllOf) else node.any
        if not items:
            if isinstance(node, AllOf):
                return Clause(say(locale, zh="所有客户", en="every customer"))
            return Clause(say(locale, zh="没有客户", en="nobody"))
        if len(items) == 1:
            return _clause(items[0], locale, kinds)
        header = (
            _header(locale, zh="全部满足", en="all of")
            if isinstance(node, AllOf)
            else _header(locale, zh="满足任一", en="any of")
        )
        return Clause(header, tuple(_clause(child, locale, kinds) for child in items))
    if isinstance(node, NotOf):
        inner = _clause(node.not_, locale, kinds)
        header = _header(locale, zh="不满足", en="not")
        if not inner.children:
            return Clause(say(locale, zh=f"{header}{inner.text}", en=f"{header} {inner.text}"))
        return Clause(header, (inner,))
    return Clause(kinds.of(node).describe(node, locale))


def explain(
    spec: SegmentSpec | SpecNode,
    locale: str | None = None,
    *,
    pm: pluggy.PluginManager | None = None,
) -> Clause:
    """The rule of ``spec`` (or of one node) as a :class:`Clause` tree in ``locale``.

    Each leaf is described by its registered kind (asked of ``pm``, the
    process's plugin manager when None); a leaf of no registered kind raises
    :class:`~guanxi.segments.validation.SegmentSpecError`.
    """
    node = spec.where if isinstance(spec, SegmentSpec) else spec
    return _clause(node, normal_locale(locale), condition_kinds(pm))


def describe(
    spec: SegmentSpec | SpecNode,
    locale: str | None = None,
    *,
    pm: pluggy.PluginManager | None = None,
) -> str:
    """The rule of ``spec`` as indented text in ``locale`` (see :func:`explain`)."""
    return "\n".join(explain(spec, locale, pm=pm).lines())


def describe_all(spec: SegmentSpec, *, pm: pluggy.PluginManager | None = None) -> dict[str, str]:
    """The rule in every locale: ``{"zh-CN": …, "en": …}``."""
    return {locale: describe(spec, locale, pm=pm) for locale in LOCALES}
