"""Campaigns: purpose + audience + content + channel + timing, sent in waves through the one send path.

* :mod:`~guanxi.marketing.campaigns.definition` — the user-written definition (pydantic, versioned);
* :mod:`~guanxi.marketing.campaigns.tables` — campaigns, versions, waves and recipients in the app DB;
* :mod:`~guanxi.marketing.campaigns.audience` — the wave's audience and contact points from the warehouse;
* :mod:`~guanxi.marketing.campaigns.rules` — the send path's rules over whole columns (reachable → consented
  → not suppressed → not do-not-disturb → under the cap → quiet hours);
* :mod:`~guanxi.marketing.campaigns.build` — preview, dry run and the wave build into the outbox;
* :mod:`~guanxi.marketing.campaigns.service` — create, update, launch, pause, resume, cancel, status;
* :mod:`~guanxi.marketing.campaigns.jobs` — the ``campaigns.wave`` job kind and the wave scheduler service.
"""
