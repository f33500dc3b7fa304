"""Journey triggers: what makes a customer enter a journey, as a query over the warehouse.

A trigger kind enters through the ``register_journey_triggers`` hook as a
:class:`TriggerKind`; :func:`registered_triggers` collects them (none are built
in yet: order, date and segment-entry triggers come with journeys). A journey
scheduler calls :meth:`TriggerKind.entries` for a time window and starts the
journey once per row it gets back.

The query (:class:`TriggerQuery`) is called as
``find(con, since=…, until=…, params=…)``:

* ``con`` — the warehouse connection (an Ibis backend); the query builds an
  Ibis expression from its tables and must not execute anything, so it runs
  where the data is, on every backend.
* ``since``, ``until`` — time-zone-aware datetimes, the half-open window
  ``[since, until)`` in which the entering event happened. Windows of
  successive scheduler runs touch without overlapping, so an event falls in
  exactly one.
* ``params`` — the trigger's parameters from the journey definition (``{"minutes": 30}``).

It returns a Table with at least the columns ``customer_id`` and
``occurrence_key``: one row per entry. ``occurrence_key`` names the occasion
(an order id, ``2026`` for a yearly birthday …) so that the same customer can
enter again on a new occasion, while the same occasion found twice — a window
re-run after a crash — starts the journey once (the scheduler keys the
journey's steps on it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import ibis.expr.types as ir
import pluggy
from ibis.backends import BaseBackend

from guanxi.errors import ConfigError
from guanxi.marketing.errors import TriggerKindUnknownError, TriggerOutputError
from guanxi.plugins import collect, plugin_manager

KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
"""A trigger kind: lower-case letters, digits and ``_``, at most 32 characters."""

ENTRY_COLUMNS = ("customer_id", "occurrence_key")
"""The columns of an entries table, both strings."""


class TriggerQuery(Protocol):
    """Finds the customers entering in ``[since, until)``; see the module docstring for the contract."""

    def __call__(
        self, con: BaseBackend, *, since: datetime, until: datetime, params: Mapping[str, Any]
    ) -> ir.Table: ...


@dataclass(frozen=True)
class TriggerKind:
    """A journey trigger kind as a plugin declares it, returned from the ``register_journey_triggers`` hook.

    Raises ConfigError at construction when ``kind`` is not a valid name (:data:`KIND_PATTERN`).
    """

    kind: str
    find: TriggerQuery
    description: str = ""
    """One line saying when a customer enters ("an order unpaid for N minutes"), for listings and docs."""

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or KIND_PATTERN.fullmatch(self.kind) is None:
            raise ConfigError(
                f"{self.kind!r} is not a trigger kind: lower-case letters, digits and _, at most 32 characters"
            )

    def entries(
        self,
        con: BaseBackend,
        *,
        since: datetime,
        until: datetime,
        params: Mapping[str, Any] | None = None,
    ) -> ir.Table:
        """The customers entering in ``[since, until)``: an unexecuted Table of exactly
        :data:`ENTRY_COLUMNS`, both cast to strings, each row distinct.

        Raises ValueError when the window is not time-zone aware or empty, and
        TriggerOutputError when the query returns anything but a Table with both columns.
        """
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("a trigger window needs time-zone-aware datetimes")
        if since >= until:
            raise ValueError(f"a trigger window must end after it starts ({since} ≥ {until})")
        found = self.find(con, since=since, until=until, params=dict(params or {}))
        if not isinstance(found, ir.Table):
            raise TriggerOutputError(
                f"trigger {self.kind!r} returned a {type(found).__name__}, not an Ibis table"
            )
        missing = [column for column in ENTRY_COLUMNS if column not in found.columns]
        if missing:
            raise TriggerOutputError(f"trigger {self.kind!r} returned no column {', '.join(missing)}")
        return found.select(
            *(found[column].cast("string").name(column) for column in ENTRY_COLUMNS)
        ).distinct()


def registered_triggers(pm: pluggy.PluginManager | None = None) -> dict[str, TriggerKind]:
    """Every trigger kind registered through ``register_journey_triggers``, by kind, built-ins first.

    ``pm`` defaults to the process's plugin manager. Raises ConfigError when two
    plugins define the same kind.
    """
    manager = pm or plugin_manager()
    found: dict[str, TriggerKind] = collect(
        manager.hook.register_journey_triggers, what="journey trigger", name=lambda t: t.kind, pm=manager
    )
    return found


def trigger_kind(kind: str, pm: pluggy.PluginManager | None = None) -> TriggerKind:
    """The registered trigger ``kind``; raises TriggerKindUnknownError listing the known kinds."""
    known = registered_triggers(pm)
    found = known.get(kind)
    if found is None:
        names = ", ".join(sorted(known)) or "none"
        raise TriggerKindUnknownError(f"no journey trigger of kind {kind!r} (known: {names})")
    return found
