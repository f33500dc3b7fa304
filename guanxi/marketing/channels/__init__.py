"""Channels deliver one rendered message to a provider (SMTP server, webhook endpoint …).

A channel's :meth:`Channel.send` returns the provider's message id, or raises a
:class:`~guanxi.marketing.errors.TransientDeliveryError` (try again later) or a
:class:`~guanxi.marketing.errors.PermanentDeliveryError` (never retried). It
passes the message's idempotency key on to the provider so a resend after a
crash is recognisable. Channels are built from Settings by name through
:data:`CHANNEL_FACTORIES`; a factory is called once per worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from guanxi.config import Settings
from guanxi.marketing.errors import ChannelUnknownError


@dataclass(frozen=True)
class Envelope:
    """A message as a channel sees it: rendered text plus the idempotency key."""

    channel: str
    recipient: str
    subject: str
    body: str
    idempotency_key: str
    payload: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    """Sends messages to one provider."""

    def send(self, message: Envelope) -> str:
        """Deliver ``message``; return the provider's message id.

        Raises TransientDeliveryError or PermanentDeliveryError.
        """
        ...

    def close(self) -> None:
        """Release connections; the channel is not used afterwards."""
        ...


ChannelFactory = Callable[[Settings], Channel]


def _email(settings: Settings) -> Channel:
    from guanxi.marketing.channels.smtp import SmtpChannel

    return SmtpChannel.from_settings(settings)


def _webhook(settings: Settings) -> Channel:
    from guanxi.marketing.channels.webhook import WebhookChannel

    return WebhookChannel.from_settings(settings)


CHANNEL_FACTORIES: dict[str, ChannelFactory] = {"email": _email, "webhook": _webhook}
"""Channel name → factory. Further channels (sms, wechat) register here by name."""


class ChannelSet:
    """The channels of one worker, each built on first use and closed together."""

    def __init__(self, settings: Settings, factories: dict[str, ChannelFactory] | None = None) -> None:
        self._settings = settings
        self._factories = dict(CHANNEL_FACTORIES if factories is None else factories)
        self._built: dict[str, Channel] = {}

    @property
    def names(self) -> Iterable[str]:
        return self._factories.keys()

    def get(self, name: str) -> Channel:
        """The channel called ``name``; raises ChannelUnknownError (permanent) for an unknown name."""
        if name not in self._built:
            factory = self._factories.get(name)
            if factory is None:
                known = ", ".join(sorted(self._factories)) or "none"
                raise ChannelUnknownError(f"no channel named {name!r} (known: {known})")
            self._built[name] = factory(self._settings)
        return self._built[name]

    def close(self) -> None:
        for channel in self._built.values():
            channel.close()
        self._built.clear()
