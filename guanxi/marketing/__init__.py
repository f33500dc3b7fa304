"""Marketing delivery: the durable outbox, journey steps, channels and the worker that runs them.

Data flows one way: a journey step (or a campaign) renders content and
:func:`~guanxi.marketing.outbox.enqueue`\\ s an outbox message; ``guanxi worker``
processes claim due journey steps and outbox messages under a lease and hand
messages to a :class:`~guanxi.marketing.channels.Channel`.

Channels, journey step kinds and journey triggers enter through the plugin
hooks (``register_channels``, ``register_journey_steps``,
``register_journey_triggers``); the built-ins are registered by
:mod:`guanxi.marketing.plugin` exactly as a third-party plugin registers its own.
"""
