"""Events in: a Segment-compatible HTTP intake, durable before it answers, loaded in micro-batches.

``POST /v1/track`` … ``/v1/batch`` (:mod:`guanxi.events.api`) check the write
key (:mod:`~guanxi.events.writekeys`), read the messages
(:mod:`~guanxi.events.messages`) and commit them to the app-database spool
(:mod:`~guanxi.events.spool`) before answering 200. The loader service
(:mod:`~guanxi.events.loader`) moves the spool into ``raw_events`` and
``raw_customers`` every few seconds through the import's normalisation
(:mod:`~guanxi.events.fields` says where each part of a message goes).
See docs/events.md.
"""
