"""Segments: reproducible audience definitions over customers, scores, tags and orders.

* :mod:`~guanxi.segments.spec` — the DSL users write, as pydantic models;
* :mod:`~guanxi.segments.conditions` — the condition kinds (``score``, ``attribute``,
  ``tag``, ``behaviour``, ``segment`` and any a plugin registers), each validating,
  compiling and describing its own leaves;
* :mod:`~guanxi.segments.validation` — reading a spec, every problem at once with its path;
* :mod:`~guanxi.segments.compiler` — a spec as one Ibis expression of ``customer_id``;
* :mod:`~guanxi.segments.description` — a spec in words, in ``zh-CN`` or ``en``;
* :mod:`~guanxi.segments.store` — definitions in the app database (``segments``);
* :mod:`~guanxi.segments.membership` — ``segment_members`` and ``segment_membership``
  in the warehouse, entries and exits between refreshes;
* :mod:`~guanxi.segments.service` — create / update / archive / list / get,
  ``preview``, ``refresh``, ``members``.
"""

from __future__ import annotations

from guanxi.segments.compiler import compile_spec
from guanxi.segments.conditions import ConditionKind, condition_kinds
from guanxi.segments.description import Clause, describe, describe_all, explain
from guanxi.segments.membership import SEGMENT_MEMBERS, SEGMENT_MEMBERSHIP, RefreshResult
from guanxi.segments.service import (
    Preview,
    archive_segment,
    create_segment,
    get_segment,
    list_segments,
    member_ids,
    members,
    preview,
    refresh,
    spec_of,
    update_segment,
)
from guanxi.segments.spec import SegmentSpec
from guanxi.segments.store import Segment
from guanxi.segments.validation import Problem, SegmentSpecError, dump_json, load_spec, parse_spec

__all__ = [
    "SEGMENT_MEMBERS",
    "SEGMENT_MEMBERSHIP",
    "Clause",
    "ConditionKind",
    "Preview",
    "Problem",
    "RefreshResult",
    "Segment",
    "SegmentSpec",
    "SegmentSpecError",
    "archive_segment",
    "compile_spec",
    "condition_kinds",
    "create_segment",
    "describe",
    "describe_all",
    "dump_json",
    "explain",
    "get_segment",
    "list_segments",
    "load_spec",
    "member_ids",
    "members",
    "parse_spec",
    "preview",
    "refresh",
    "spec_of",
    "update_segment",
]
