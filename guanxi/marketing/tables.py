"""The app-database tables of marketing, imported together by :mod:`guanxi.appdb.models`."""

from __future__ import annotations

from guanxi.marketing.campaigns.tables import Campaign, CampaignRecipient, CampaignVersion, CampaignWave
from guanxi.marketing.consent import ConsentRecord, ConsentState
from guanxi.marketing.frequency import Contact
from guanxi.marketing.journey_steps import JourneyStepRun
from guanxi.marketing.outbox import Delivery, OutboxMessage
from guanxi.marketing.suppression import Suppression

__all__ = [
    "Campaign",
    "CampaignRecipient",
    "CampaignVersion",
    "CampaignWave",
    "ConsentRecord",
    "ConsentState",
    "Contact",
    "Delivery",
    "JourneyStepRun",
    "OutboxMessage",
    "Suppression",
]
