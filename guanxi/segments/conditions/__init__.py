"""Segment condition kinds: each leaf of the DSL validates, compiles and describes itself.

* :mod:`.kind` — :class:`ConditionKind` (subclass it to add a kind) and
  :func:`condition_kinds`, the kinds registered on a plugin manager;
* :mod:`.comparison` — ``column op value``, shared by the kinds that compare a column;
* the built-in kinds, one module each: :mod:`.score`, :mod:`.attribute`,
  :mod:`.tag`, :mod:`.behaviour`, :mod:`.segment` — registered by
  :mod:`guanxi.segments.plugin` through the ``register_segment_conditions``
  hook, the same way a plugin registers its own::

      from guanxi.plugins import hookimpl

      @hookimpl
      def register_segment_conditions():
          return [PhonePrefix()]
"""

from __future__ import annotations

from guanxi.segments.conditions.kind import ConditionKind, ConditionKinds, condition_kinds

__all__ = ["ConditionKind", "ConditionKinds", "condition_kinds"]
