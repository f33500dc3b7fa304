"""The app-database tables of marketing delivery, imported together by :mod:`guanxi.appdb.models`."""

from __future__ import annotations

from guanxi.marketing.journey_steps import JourneyStepRun
from guanxi.marketing.outbox import Delivery, OutboxMessage

__all__ = ["Delivery", "JourneyStepRun", "OutboxMessage"]
