"""Journey triggers: what makes a customer enter a journey, as a query over the warehouse.

A trigger kind enters through the ``register_journey_triggers`` hook as a
:class:`TriggerKind`; :func:`registered_triggers` collects them. The built-in
kinds (orders, events, dates, holidays, segments, lifecycle and tiers) live in
:mod:`guanxi.marketing.journeys.trigger_kinds` and are registered by the
marketing plugin through the same hook. A journey scheduler calls
:meth:`TriggerKind.entries` for a time window and starts the journey once per
row it gets back.

The query (:class:`TriggerQuery`) is called as
``find(con, since=…, until=…, params=…, settings=…)``:

* ``con`` — the warehouse connection (an Ibis backend); the query builds an
  Ibis expression from its tables and must not execute anything, so it runs
  where the data is, on every backend (it may ask ``con.list_tables()``, so a
  table nothing has written yet gives no entries instead of an error).
* ``since``, ``until`` — time-zone-aware datetimes, the half-open window
  ``[since, until)`` in which the entering occasion happened (fired). Windows
  of successive scheduler passes touch without overlapping, so an occasion
  falls in exactly one.
* ``params`` — the trigger's parameters from the journey definition, already
  validated and normalised by the kind's ``params`` model (defaults filled in:
  ``{"minutes": 15}``).
* ``settings`` — the :class:`~guanxi.config.Settings`: ``settings.timezone``
  and the holiday calendar (``journeys_holidays_file``).

**Window and time zone.** Warehouse timestamps are naive wall-clock times in
``Settings.timezone`` (:mod:`guanxi.tables`); :func:`local_window` turns the
aware window into that naive form (``since.astimezone(zone)`` without its
zone), and a query compares columns with it. A delayed occasion (an order
still unpaid 15 minutes on) fires at *column + delay*, so it compares the
column with ``[since − delay, until − delay)``. In a zone with daylight saving
time the hour repeated when the clocks go back is seen by two windows:
occasions then may be found twice, which the occurrence key makes harmless.

**Late data.** A row that reaches the warehouse after the pass whose window
held its firing moment is not found by later windows (they look at later
moments). The scheduler re-running a window (after a crash, or lagging its
windows behind the import latency) finds it, with the same occurrence key.

It returns a Table with at least the columns ``customer_id`` and
``occurrence_key`` (:data:`ENTRY_COLUMNS`), and optionally ``entered_at``
(:data:`ENTERED_AT`): one row per entry. ``occurrence_key`` names the occasion
(``taobao:A1`` for an order, ``2026`` for a yearly birthday …) so that the
same customer can enter again on a new occasion, while the same occasion found
twice — a window re-run after a crash — starts the journey once (the scheduler
keys the journey's steps on it). ``entered_at`` is the moment the occasion
fired (naive, ``Settings.timezone``): the order's ``created_at + minutes``, the
birthday's ``D 10:00`` …
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import pluggy
from ibis.backends import BaseBackend
from pydantic import BaseModel, ConfigDict, ValidationError

from guanxi.config import Settings
from guanxi.errors import ConfigError, ValidationFailedError
from guanxi.marketing.errors import TriggerKindUnknownError, TriggerOutputError
from guanxi.plugins import collect, plugin_manager

KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
"""A trigger kind: lower-case letters, digits and ``_``, at most 32 characters."""

ENTRY_COLUMNS = ("customer_id", "occurrence_key")
"""The columns a query must return, both cast to strings by :meth:`TriggerKind.entries`."""

ENTERED_AT = "entered_at"
"""The optional third column: when the occasion fired (timestamp, naive ``Settings.timezone``)."""

OUTPUT_COLUMNS = (*ENTRY_COLUMNS, ENTERED_AT)
"""The columns of :meth:`TriggerKind.entries`: ``customer_id``, ``occurrence_key`` (strings), ``entered_at``."""

Problem = tuple[str, str]
"""``(path, message)``: a parameter (``minutes``, ``properties.sku``; ``""`` for the whole) and what is wrong."""


class NoParams(BaseModel):
    """The parameters of a kind that takes none: any key is a problem."""

    model_config = ConfigDict(extra="forbid")


class TriggerQuery(Protocol):
    """Finds the customers entering in ``[since, until)``; see the module docstring for the contract."""

    def __call__(
        self,
        con: BaseBackend,
        *,
        since: datetime,
        until: datetime,
        params: Mapping[str, Any],
        settings: Settings,
    ) -> ir.Table: ...


ParamsCheck = Callable[[Mapping[str, Any], Settings], list[Problem]]
"""A further check of already valid params that needs the settings (a holiday name against the calendar)."""


class TriggerParamsInvalidError(ValidationFailedError):
    """A trigger's params with problems; ``problems`` lists every ``(path, message)`` (HTTP 422)."""

    code = "trigger_params_invalid"

    def __init__(self, kind: str, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        listed = "; ".join(f"{path}: {message}" if path else message for path, message in self.problems)
        super().__init__(f"invalid params for trigger {kind!r}: {listed}")


def local_window(since: datetime, until: datetime, settings: Settings) -> tuple[datetime, datetime]:
    """The aware window ``[since, until)`` as naive wall-clock times in ``settings.timezone``.

    Those compare directly with warehouse timestamps. Raises ValueError for a naive datetime.
    """
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("a trigger window needs time-zone-aware datetimes")
    zone = settings.zone
    return since.astimezone(zone).replace(tzinfo=None), until.astimezone(zone).replace(tzinfo=None)


@dataclass(frozen=True)
class TriggerKind:
    """A journey trigger kind as a plugin declares it, returned from the ``register_journey_triggers`` hook.

    ``params`` is the pydantic model of its parameters (strict: unknown keys are
    problems; the default takes none); ``check`` an optional further check that
    needs the settings. Raises ConfigError at construction when ``kind`` is not
    a valid name (:data:`KIND_PATTERN`).
    """

    kind: str
    find: TriggerQuery
    description: str = ""
    """One line saying when a customer enters ("an order unpaid for N minutes"), for listings and docs."""
    params: type[BaseModel] = NoParams
    check: ParamsCheck | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or KIND_PATTERN.fullmatch(self.kind) is None:
            raise ConfigError(
                f"{self.kind!r} is not a trigger kind: lower-case letters, digits and _, at most 32 characters"
            )

    def check_params(
        self, params: Mapping[str, Any], *, settings: Settings | None = None
    ) -> tuple[list[Problem], dict[str, Any]]:
        """Every problem with ``params`` and the normalised params (defaults filled in); never raises.

        Problems are ``(path, message)`` pairs, all of them at once; the dict is
        empty when there are problems. With ``settings`` the kind's ``check``
        runs too (a holiday name against the calendar).
        """
        try:
            model = self.params.model_validate(dict(params))
        except ValidationError as err:
            return [
                (".".join(str(part) for part in error["loc"]), error["msg"])
                for error in err.errors(include_url=False, include_input=False)
            ], {}
        normal = model.model_dump()
        if settings is not None and self.check is not None:
            problems = self.check(normal, settings)
            if problems:
                return problems, {}
        return [], normal

    def entries(
        self,
        con: BaseBackend,
        *,
        since: datetime,
        until: datetime,
        params: Mapping[str, Any] | None = None,
        settings: Settings,
    ) -> ir.Table:
        """The customers entering in ``[since, until)``: an unexecuted Table of exactly :data:`OUTPUT_COLUMNS`.

        ``customer_id`` and ``occurrence_key`` are strings, each pair once;
        ``entered_at`` is a timestamp (the earliest the query gave for the pair;
        null when it gives none). The same window gives the same rows while the
        data are unchanged.

        Raises ValueError when the window is not time-zone aware or empty,
        TriggerParamsInvalidError (``validation_failed`` family, 422) listing every
        problem with ``params``, and TriggerOutputError when the query returns
        anything but a Table with both entry columns.
        """
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("a trigger window needs time-zone-aware datetimes")
        if since >= until:
            raise ValueError(f"a trigger window must end after it starts ({since} ≥ {until})")
        problems, normal = self.check_params(params or {}, settings=settings)
        if problems:
            raise TriggerParamsInvalidError(self.kind, problems)
        found = self.find(con, since=since, until=until, params=normal, settings=settings)
        if not isinstance(found, ir.Table):
            raise TriggerOutputError(
                f"trigger {self.kind!r} returned a {type(found).__name__}, not an Ibis table"
            )
        missing = [column for column in ENTRY_COLUMNS if column not in found.columns]
        if missing:
            raise TriggerOutputError(f"trigger {self.kind!r} returned no column {', '.join(missing)}")
        entered = (
            found[ENTERED_AT].cast("timestamp")
            if ENTERED_AT in found.columns
            else ibis.null().cast("timestamp")
        )
        shaped = found.select(
            *(found[column].cast("string").name(column) for column in ENTRY_COLUMNS),
            entered.name(ENTERED_AT),
        )
        return shaped.group_by(list(ENTRY_COLUMNS)).aggregate(shaped[ENTERED_AT].min().name(ENTERED_AT))


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
