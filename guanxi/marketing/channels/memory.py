"""An in-memory channel for tests, shipped in the package (as httpx ships ``MockTransport``).

A :class:`MemoryChannel` records every :class:`~guanxi.marketing.channels.Envelope`
it is given — failed attempts included — and answers through a handler: a
callable that returns the provider message id or raises
:class:`~guanxi.marketing.errors.TransientDeliveryError` /
:class:`~guanxi.marketing.errors.PermanentDeliveryError`. Without a handler every
send succeeds with the id ``memory-<n>`` (n counts the envelopes, from 1);
:func:`scripted` answers a fixed sequence first::

    channel = MemoryChannel(scripted(TransientDeliveryError("busy"), "p-1"))
    run_worker(settings, once=True, channel_definitions=[channel.definition("sms")])
    assert channel.keys() == [...]

:meth:`MemoryChannel.definition` wraps the channel in a
:class:`~guanxi.marketing.channels.ChannelDefinition` whose factory returns this
very instance, so the test keeps its handle on what was sent;
:meth:`MemoryChannel.plugin` does the same as a plugin object for
:func:`guanxi.plugins.using_plugins`. Closing marks the channel closed but keeps
it usable, because one test may run several workers on it. Thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from pydantic_settings import SettingsConfigDict

from guanxi.marketing.channels import Channel, ChannelDefinition, ChannelSettings, Envelope
from guanxi.plugins import hookimpl

Answer = Callable[[Envelope], str]
"""Answers one send: returns the provider message id or raises a DeliveryError."""


class MemorySettings(ChannelSettings):
    """The memory channel has no settings (``GUANXI_MEMORY_*`` reads nothing)."""

    model_config = SettingsConfigDict(env_prefix="GUANXI_MEMORY_")


def scripted(*outcomes: str | Exception, then: Answer | None = None) -> Answer:
    """An answer that gives ``outcomes`` in order — a string is the provider id, an exception is raised —
    and after them answers with ``then`` (default: ``memory-<n>``)."""
    pending: deque[str | Exception] = deque(outcomes)
    lock = threading.Lock()
    counter = [0]

    def answer(message: Envelope) -> str:
        with lock:
            counter[0] += 1
            outcome = pending.popleft() if pending else None
            number = counter[0]
        if outcome is None:
            return then(message) if then is not None else f"memory-{number}"
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return answer


class MemoryChannel:
    """Records every envelope and answers with ``handler`` (default: always delivered, id ``memory-<n>``)."""

    def __init__(self, handler: Answer | None = None) -> None:
        self.handler = handler
        self.envelopes: list[Envelope] = []
        """Every envelope given to :meth:`send`, in order, whatever the answer."""
        self.delivered: list[tuple[Envelope, str]] = []
        """The envelopes the handler accepted, with the provider id it answered."""
        self.closed = False
        self._lock = threading.Lock()

    def send(self, message: Envelope) -> str:
        """Record ``message`` and answer with the handler; raises whatever the handler raises."""
        with self._lock:
            self.envelopes.append(message)
            number = len(self.envelopes)
        provider_id = self.handler(message) if self.handler is not None else f"memory-{number}"
        with self._lock:
            self.delivered.append((message, provider_id))
        return provider_id

    def close(self) -> None:
        """Mark the channel closed; it keeps recording (a test may run several workers on it)."""
        self.closed = True

    def keys(self) -> list[str]:
        """The idempotency keys of every envelope given, in order (resends appear again)."""
        with self._lock:
            return [message.idempotency_key for message in self.envelopes]

    def definition(
        self,
        name: str = "memory",
        description: str = "Keeps messages in memory (tests)",
        *,
        concurrent: bool = False,
    ) -> ChannelDefinition[MemorySettings]:
        """A definition named ``name`` whose factory returns this channel (the same instance every time);
        ``concurrent`` lets the worker send several messages on it at once."""

        def factory(_: MemorySettings) -> Channel:
            return self

        return ChannelDefinition(name, factory, MemorySettings, description, concurrent=concurrent)

    def plugin(self, name: str = "memory") -> object:
        """A plugin object registering this channel as ``name`` through ``register_channels``."""
        return _ChannelPlugin(self.definition(name))


class _ChannelPlugin:
    def __init__(self, definition: ChannelDefinition[MemorySettings]) -> None:
        self._definition = definition

    @hookimpl
    def register_channels(self) -> list[ChannelDefinition]:
        return [self._definition]
