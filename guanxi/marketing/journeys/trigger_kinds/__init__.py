"""The built-in journey trigger kinds, registered by the marketing plugin as any plugin would.

Every kind follows :mod:`guanxi.marketing.triggers`: a strict params model, a
query over the warehouse for a half-open aware window, entries with
``customer_id``, ``occurrence_key`` and ``entered_at`` (the naive local moment
the occasion fired). The kinds by area:

* :mod:`.orders` — ``order_unpaid``, ``order_paid``, ``order_shipped``,
  ``order_delivered``, ``order_refunded`` (occurrence ``<source>:<order_id>``);
* :mod:`.events` — ``event`` (a custom event with property filters) and
  ``order_arrived`` (occurrence ``<source>:<event_id>``);
* :mod:`.dates` — ``birthday``, ``first_order_anniversary`` (``"YYYY"``),
  ``after_first_order`` (``"first"``), ``holiday`` (``"<holiday>:YYYY"``);
* :mod:`.segments` — ``segment_entered``, ``segment_left``,
  ``lifecycle_changed``, ``tier_changed`` (the day, ``"YYYY-MM-DD"``).
"""

from __future__ import annotations

from guanxi.marketing.journeys.trigger_kinds.dates import date_triggers
from guanxi.marketing.journeys.trigger_kinds.events import event_triggers
from guanxi.marketing.journeys.trigger_kinds.orders import order_triggers
from guanxi.marketing.journeys.trigger_kinds.segments import segment_triggers
from guanxi.marketing.triggers import TriggerKind


def builtin_triggers() -> list[TriggerKind]:
    """Every built-in trigger kind, each kind once."""
    return [*order_triggers(), *event_triggers(), *date_triggers(), *segment_triggers()]


__all__ = ["builtin_triggers"]
