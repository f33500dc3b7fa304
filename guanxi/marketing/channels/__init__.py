"""Channels deliver one rendered message to a provider (SMTP server, webhook endpoint …).

A channel's :meth:`Channel.send` returns the provider's message id, or raises a
:class:`~guanxi.marketing.errors.TransientDeliveryError` (try again later) or a
:class:`~guanxi.marketing.errors.PermanentDeliveryError` (never retried). It
passes the message's idempotency key on to the provider so a resend after a
crash is recognisable.

Every channel — the built-in ``email`` and ``webhook`` as much as a plugin's —
enters through the ``register_channels`` hook as a :class:`ChannelDefinition`:
its name, a factory, and its own settings model (a pydantic-settings class,
usually a :class:`ChannelSettings`, read from ``GUANXI_<CHANNEL>_*`` variables
and the ``.env`` file). :class:`ChannelSet` builds a worker's channels from
those definitions, each on first use and with its settings read at that moment;
tests pass definitions and settings objects explicitly instead.
:mod:`guanxi.marketing.channels.memory` ships an in-memory channel for tests.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol

import pluggy
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from typing_extensions import TypeVar

from guanxi.config import ENV_FILE
from guanxi.errors import ConfigError
from guanxi.marketing.errors import ChannelUnknownError
from guanxi.plugins import collect, plugin_manager

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
"""A channel name: lower-case letters, digits and ``_``, at most 32 characters (the outbox column)."""
ADDRESS_KINDS = ("email", "phone", "wechat_openid", "customer_id")
"""The contact points a channel can address, as the send path finds them on a profile."""


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


class ChannelSettings(BaseSettings):
    """Base of a channel's own settings: environment variables and the ``.env`` file ``Settings`` reads.

    A subclass sets ``model_config = SettingsConfigDict(env_prefix="GUANXI_<CHANNEL>_")``;
    a field with a ``validation_alias`` is read from that variable instead (and
    can still be given by its field name). Values are frozen; secrets belong in
    ``SecretStr`` fields, which never show in a repr, a log line or an error.
    """

    model_config = SettingsConfigDict(
        env_file=ENV_FILE, extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True
    )


S = TypeVar("S", bound=BaseSettings, default=Any)


@dataclass(frozen=True)
class ChannelDefinition(Generic[S]):
    """A channel as a plugin declares it, returned from the ``register_channels`` hook.

    ``factory`` builds the channel from an instance of ``settings`` (the channel's
    own pydantic-settings model); it may raise :class:`ConfigError` when a
    setting the channel cannot work without is missing. Raises ConfigError at
    construction when ``name`` is not a valid channel name (:data:`NAME_PATTERN`)
    or ``settings`` is not a pydantic-settings class.
    """

    name: str
    factory: Callable[[S], Channel]
    settings: type[S]
    description: str = ""
    """One line saying what the channel sends through, for listings and docs."""
    address: str = "customer_id"
    """Which contact point of a profile the recipient is: ``email``, ``phone``, ``wechat_openid`` or
    ``customer_id`` (a channel that addresses the person inside guanxi or the seller's own system)."""
    medium: str = ""
    """The consent medium (``email``, ``sms``, ``wechat`` …): channels sharing one share consent and
    suppression (``sms`` and ``aliyun_sms`` are both ``sms``). Empty: the channel's name."""
    needs_consent: bool = True
    """Whether marketing on this channel needs a ``granted`` consent of the address."""
    customer_facing: bool = True
    """False for channels that reach the seller's staff (sales-rep tasks): no caps, no quiet hours."""
    concurrent: bool = False
    """Whether ``send`` may run in several threads at once (a thread-safe client and a provider that
    takes parallel requests): the worker then has up to ``worker_send_concurrency`` messages of a
    claimed batch in flight on the channel together. False: one after another."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or NAME_PATTERN.fullmatch(self.name) is None:
            raise ConfigError(
                f"{self.name!r} is not a channel name: lower-case letters, digits and _, at most 32 characters"
            )
        if not (isinstance(self.settings, type) and issubclass(self.settings, BaseSettings)):
            raise ConfigError(f"the settings of channel {self.name!r} must be a pydantic-settings class")
        if self.address not in ADDRESS_KINDS:
            raise ConfigError(
                f"channel {self.name!r} addresses {self.address!r}; use one of: {', '.join(ADDRESS_KINDS)}"
            )

    @property
    def consent_medium(self) -> str:
        """The medium consent and suppression are kept under."""
        return self.medium or self.name

    def variables(self) -> dict[str, str]:
        """Field name → the environment variable it is read from (``GUANXI_SMTP_HOST`` …)."""
        prefix = str(self.settings.model_config.get("env_prefix", ""))
        names: dict[str, str] = {}
        for name, info in self.settings.model_fields.items():
            alias = info.validation_alias
            names[name] = (alias if isinstance(alias, str) else prefix + name).upper()
        return names

    def read_settings(self) -> S:
        """The channel's settings from the environment and ``.env``.

        Raises ConfigError naming each invalid variable; the values themselves
        are left out of the message, so a secret never reaches a log.
        """
        try:
            return self.settings()
        except ValidationError as err:
            variables = self.variables()
            problems = []
            for error in err.errors(include_input=False, include_url=False):
                field_name = str(error["loc"][0]) if error["loc"] else ""
                problems.append(f"{variables.get(field_name, field_name or self.name)}: {error['msg']}")
            # from None: the ValidationError's own text would carry the rejected values
            raise ConfigError(
                f"invalid settings for the {self.name} channel: {'; '.join(problems)}"
            ) from None

    def build(self, settings: S | None = None) -> Channel:
        """The channel, from ``settings`` or (when None) from :meth:`read_settings`."""
        return self.factory(self.read_settings() if settings is None else settings)


def registered_channels(pm: pluggy.PluginManager | None = None) -> dict[str, ChannelDefinition]:
    """Every channel registered through ``register_channels``, by name, built-ins first.

    ``pm`` defaults to the process's plugin manager. Raises ConfigError when two
    plugins define the same name.
    """
    manager = pm or plugin_manager()
    found: dict[str, ChannelDefinition] = collect(
        manager.hook.register_channels, what="channel", name=lambda d: d.name, pm=manager
    )
    return found


class ChannelSet:
    """The channels of one worker, each built on first use and closed together.

    ``definitions`` are the channels to offer; when None, those registered
    through the ``register_channels`` hook on ``pm`` (default: the process's
    plugin manager), collected once, here. ``channel_settings`` gives a channel
    its settings object instead of reading its environment variables (tests,
    embedding): ``ChannelSet(channel_settings={"webhook": WebhookSettings(url=…, secret=…)})``.

    Raises ConfigError when two definitions share a name, or a settings object
    names no offered channel or is not an instance of that channel's settings
    model. :meth:`get` may be called from several threads (a channel is built
    once); :meth:`close` only when no send is in flight.
    """

    def __init__(
        self,
        definitions: Iterable[ChannelDefinition] | None = None,
        *,
        channel_settings: Mapping[str, BaseSettings] | None = None,
        pm: pluggy.PluginManager | None = None,
    ) -> None:
        if definitions is None:
            self._definitions = registered_channels(pm)
        else:
            self._definitions = {}
            for definition in definitions:
                if definition.name in self._definitions:
                    raise ConfigError(f"two channels are named {definition.name!r}")
                self._definitions[definition.name] = definition
        self._settings = dict(channel_settings or {})
        for name, value in self._settings.items():
            offered = self._definitions.get(name)
            if offered is None:
                raise ConfigError(f"settings given for {name!r}, which is not a channel ({self._known()})")
            if not isinstance(value, offered.settings):
                raise ConfigError(
                    f"the settings of channel {name!r} must be a {offered.settings.__name__}, "
                    f"not a {type(value).__name__}"
                )
        self._built: dict[str, Channel] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> tuple[str, ...]:
        """The offered channels' names, in registration order."""
        return tuple(self._definitions)

    @property
    def definitions(self) -> Mapping[str, ChannelDefinition]:
        """The offered channels' definitions by name."""
        return self._definitions

    def definition(self, name: str) -> ChannelDefinition:
        """The definition of ``name``; raises ChannelUnknownError (permanent) listing the known ones."""
        found = self._definitions.get(name)
        if found is None:
            raise ChannelUnknownError(f"no channel named {name!r} ({self._known()})")
        return found

    def get(self, name: str) -> Channel:
        """The channel called ``name``, built once; raises ChannelUnknownError (permanent) for an unknown name.

        Building reads the channel's settings (unless given) and may raise
        ConfigError; nothing is kept then, so the next call tries again.
        """
        with self._lock:
            if name not in self._built:
                self._built[name] = self.definition(name).build(self._settings.get(name))
            return self._built[name]

    def close(self) -> None:
        """Close every channel built so far (all of them, even when one fails; the first error is raised)."""
        built, self._built = list(self._built.values()), {}
        errors: list[Exception] = []
        for channel in built:
            try:
                channel.close()
            except Exception as err:  # noqa: BLE001 - the others must still be closed
                errors.append(err)
        if errors:
            raise errors[0]

    def _known(self) -> str:
        return "known: " + (", ".join(sorted(self._definitions)) or "none")
