"""``segment``: membership of another (not archived) segment, evaluated live as of the same date.

Long form ``{segment: vip}``, shorthand ``segment: vip``. The referenced
segment's rule is compiled again (not its last refresh), so a refresh never
depends on the order segments are refreshed in. References are checked when a
spec is read: the key must name a live segment and no cycle may form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir

from guanxi.segments.conditions.kind import ConditionKind
from guanxi.segments.description import say
from guanxi.segments.spec import SpecNode

if TYPE_CHECKING:
    from guanxi.segments.compiler import Compiler

_SHORT_SEGMENT = re.compile(r"^\s*segment\s*:\s*(?P<key>\S+)\s*$")


class SegmentRef(SpecNode):
    """Membership of another (not archived) segment, evaluated as of the same date."""

    segment: str


class Segment(ConditionKind[SegmentRef]):
    key = "segment"
    model = SegmentRef

    def read_shorthand(self, text: str) -> dict[str, Any] | None:
        match = _SHORT_SEGMENT.match(text)
        return None if match is None else {"segment": match["key"]}

    def references(self, node: SegmentRef) -> Iterator[str]:
        yield node.segment

    def compile(self, node: SegmentRef, compiler: Compiler) -> ir.Table:
        return compiler.members_of(node.segment)

    def describe(self, node: SegmentRef, locale: str) -> str:
        return say(locale, zh=f"属于分群 {node.segment}", en=f"in segment {node.segment}")
