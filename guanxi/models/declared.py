"""Declared customer models: what a model adds to a run, and the run context its step receives.

A customer model is a :class:`ModelDefinition`: a name, its section of
``models.yaml`` (a :class:`ConfigSection`), its output columns in
``customer_scores`` (and which of them ``score_snapshots`` keeps), the models it
runs after, and its **compute step** — a function of one :class:`RunContext`
returning an Ibis table keyed by ``customer_id`` with those columns, or None
when it has nothing to score (a fit skipped with a warning). Side outputs
(ledger entries, tags, cluster rows) are written by the step itself or by its
``after_write`` step, which sees the run's written scores.

Every model, built-in or not, enters through the ``register_models`` hook
(:mod:`guanxi.models.plugin` for the built-ins)::

    from guanxi.plugins import hookimpl

    @hookimpl
    def register_models():
        return [ModelDefinition("recent_orders", {"orders_last_30d": "int64"}, count_recent,
                                config=ConfigSection("recent_orders", RecentOrdersConfig))]

:func:`declared_models` collects the definitions and checks them (unique names,
columns and sections; known dependencies without a cycle) and orders them so
every model runs after what it needs; :func:`customer_scores_spec` and
:func:`score_snapshots_spec` build the two wide tables from them. Both are
computed at call time, from the plugin manager given or the process's one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pluggy
from ibis.backends import BaseBackend
from pydantic import BaseModel

from guanxi.errors import ConfigError
from guanxi.plugins.manager import collect, plugin_manager
from guanxi.tables import TableSpec

if TYPE_CHECKING:
    from guanxi.config import Settings
    from guanxi.models.config import ModelsConfig
    from guanxi.models.intermediates import Refresh
    from guanxi.models.run import ModelsReport
    from guanxi.models.workspace import Workspace

C = TypeVar("C")

SCORES_TABLE = "customer_scores"
SNAPSHOTS_TABLE = "score_snapshots"

RUN_COLUMNS: Mapping[str, str] = MappingProxyType(
    {"customer_id": "int64", "run_id": "string", "as_of": "date"}
)
"""The columns every row of ``customer_scores`` and ``score_snapshots`` starts with (no model declares them)."""

RESERVED_SECTIONS = frozenset({"output"})
"""``models.yaml`` sections of the runner itself, which no model may claim."""


@dataclass(frozen=True)
class ConfigSection(Generic[C]):
    """A model's section of ``models.yaml``: its key and the pydantic model that validates it.

    Every field of ``model`` needs a default: ``model()`` is the section's value
    when the file leaves it out. The built-ins' defaults are also written out in
    the shipped ``default_models.yaml`` (a test checks the two agree); a plugin
    gives ``template`` — commented YAML of its section, ``key:`` included — for
    ``guanxi models defaults`` (without one the defaults are dumped plainly).
    With ``can_disable`` the model has a boolean ``enabled`` field; a disabled
    model is not run and leaves its columns null.
    """

    key: str
    model: type[C]
    can_disable: bool = False
    template: str | None = None


@dataclass(frozen=True)
class PreviousRun:
    """The latest completed run before this one: its as-of date and the configuration it used (JSON)."""

    as_of: date
    config: Mapping[str, Any]


@dataclass(frozen=True)
class RunInputs:
    """The shared inputs of one run, all cut off at the end of the as-of date.

    * ``customers`` — ``customer_id``, ``province`` of every customer scored (kept);
    * ``orders`` — every order of a resolved customer (``model_orders`` columns);
    * ``bought`` — its purchases (paid, positive net amount);
    * ``days`` — purchase days: ``customer_id``, ``paid_date``, ``orders``, ``net_amount`` (kept);
    * ``items`` — items of paid orders with ``customer_id``, ``paid_at``, ``category`` …;
    * ``events`` / ``tickets`` — interactions and service records with their ``customer_id``;
    * ``identity_map`` — record → customer.
    """

    customers: ir.Table
    orders: ir.Table
    bought: ir.Table
    days: ir.Table
    items: ir.Table
    events: ir.Table
    tickets: ir.Table
    identity_map: ir.Table


@dataclass(frozen=True)
class RunContext(Generic[C]):
    """What one model's step sees: the warehouse, the run, the shared inputs, its config, earlier parts.

    ``config`` is the model's own section (None for a model without one) and
    ``models_config`` the whole file. ``parts`` holds the tables returned by the
    models it declared in ``after`` (a model disabled or skipped is missing).
    ``previous`` holds the rows of the latest snapshot before ``as_of``
    (``previous_date``; empty when there is none). ``refresh`` says what the
    kept order tables' refresh did and ``previous_run`` is the last completed
    run when this one is incremental (see :meth:`incremental_since`). Steps
    write warnings and fitted parameters to ``report``, materialise what is
    read more than once with :meth:`keep`, and time their work with ``ws.timed``.
    """

    con: BaseBackend
    ws: Workspace
    settings: Settings
    as_of: date
    run_id: str
    started_at: datetime
    inputs: RunInputs
    models_config: ModelsConfig
    report: ModelsReport
    refresh: Refresh
    previous_run: PreviousRun | None
    previous: ir.Table
    previous_date: date | None
    config: C
    section: str | None = None
    parts: Mapping[str, ir.Table] = field(default_factory=dict)

    @property
    def customers(self) -> ir.Table:
        return self.inputs.customers

    @property
    def orders(self) -> ir.Table:
        return self.inputs.orders

    @property
    def bought(self) -> ir.Table:
        return self.inputs.bought

    @property
    def days(self) -> ir.Table:
        return self.inputs.days

    @property
    def items(self) -> ir.Table:
        return self.inputs.items

    @property
    def events(self) -> ir.Table:
        return self.inputs.events

    @property
    def tickets(self) -> ir.Table:
        return self.inputs.tickets

    @property
    def identity_map(self) -> ir.Table:
        return self.inputs.identity_map

    def keep(self, name: str, expr: ir.Table) -> ir.Table:
        """Materialise ``expr`` for the rest of the run (a temporary table, timed as ``name``)."""
        return self.ws.keep(name, expr)

    def incremental_since(self) -> date | None:
        """The last run's as-of date, when this run is incremental and that run used this model's settings.

        Outputs that run wrote for customers whose orders did not change are then
        still right, and a step may bring only the others up to date. None means:
        compute everything.
        """
        last = self.previous_run
        if last is None or self.section is None or not isinstance(self.config, BaseModel):
            return None
        if last.config.get(self.section) != self.config.model_dump(mode="json"):
            return None
        return last.as_of

    def for_model(
        self,
        definition: ModelDefinition[Any],
        config: Any,
        parts: Mapping[str, ir.Table],
        *,
        own: bool = False,
    ) -> RunContext[Any]:
        """This context as the step of ``definition`` sees it: its config, its dependencies' parts.

        With ``own`` (for ``after_write``) ``parts`` also holds the model's own table.
        """
        section = definition.config.key if definition.config is not None else None
        names = (*definition.after, definition.name) if own else definition.after
        visible = MappingProxyType({name: parts[name] for name in names if name in parts})
        return dataclasses.replace(self, config=config, section=section, parts=visible)


Step = Callable[[RunContext[C]], "ir.Table | None"]
AfterWrite = Callable[[RunContext[C], ir.Table], None]
Check = Callable[[C, date], None]


@dataclass(frozen=True, eq=False)
class ModelDefinition(Generic[C]):
    """One customer model as a run uses it.

    * ``name`` — unique among all models (``rfm``, ``clv`` …);
    * ``columns`` — its output columns in ``customer_scores``, name → Ibis type, in order;
    * ``compute`` — the step: ``RunContext → Table | None``, a table keyed by
      ``customer_id`` with (at least) every declared column, one row per customer
      it scores; None when it has nothing (a fit skipped with a warning);
    * ``config`` — its section of ``models.yaml`` (None: the step reads ``models_config``);
    * ``snapshot`` — the columns ``score_snapshots`` keeps per as-of date (labels migrations are drawn over);
    * ``after`` — models whose outputs it needs; they run first and their tables are in ``parts``;
    * ``fill`` — the value a column gets for a customer the step leaves out (default null);
    * ``after_write`` — called with this run's written ``customer_scores`` rows
      (a kept table) once scores and snapshot are written: transitions, tags …;
    * ``check`` — validates the config against the as-of date before anything is read
      (raise :class:`~guanxi.errors.ConfigError`).
    """

    name: str
    columns: Mapping[str, str]
    compute: Step[C]
    config: ConfigSection[C] | None = None
    snapshot: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    fill: Mapping[str, Any] = field(default_factory=dict)
    after_write: AfterWrite[C] | None = None
    check: Check[C] | None = None

    def enabled(self, config: Any) -> bool:
        """Whether the model runs with ``config`` (its section's value)."""
        if self.config is None or not self.config.can_disable:
            return True
        return bool(getattr(config, "enabled", True))


def declared_models(pm: pluggy.PluginManager | None = None) -> tuple[ModelDefinition[Any], ...]:
    """Every registered model, checked, in run order (each after what it needs; otherwise as registered).

    Raises :class:`ConfigError` naming the models involved when two models share
    a name, a column or a config section, a model declares a reserved column or
    section, a snapshot or fill column it does not output, an unknown type, a
    dependency nobody declares, or dependencies that form a cycle.
    """
    pm = pm or plugin_manager()
    found: dict[str, ModelDefinition[Any]] = collect(
        pm.hook.register_models, what="customer model", name=lambda d: d.name, pm=pm
    )
    definitions = list(found.values())
    problems = [p for d in definitions for p in _own_problems(d)]
    problems += _shared_problems(definitions)
    if problems:
        raise ConfigError("customer models are declared wrongly: " + "; ".join(problems))
    return _run_order(definitions)


def _own_problems(d: ModelDefinition[Any]) -> list[str]:
    problems = []
    for column, kind in d.columns.items():
        if column in RUN_COLUMNS:
            problems.append(f"model {d.name!r} declares the column {column!r}, which every run writes itself")
        try:
            dt.dtype(kind)
        except Exception as err:  # ibis raises several kinds for a bad type string
            problems.append(f"model {d.name!r} declares {column!r} of unknown type {kind!r} ({err})")
    for label, names in (("snapshot", d.snapshot), ("fill", tuple(d.fill))):
        problems += [
            f"model {d.name!r} lists {c!r} under {label} but has no such column"
            for c in names
            if c not in d.columns
        ]
    if d.name in d.after:
        problems.append(f"model {d.name!r} runs after itself")
    if d.config is not None:
        if d.config.key in RESERVED_SECTIONS:
            problems.append(f"model {d.name!r} claims the reserved config section {d.config.key!r}")
        fields = getattr(d.config.model, "model_fields", None)
        if fields is None:
            problems.append(f"model {d.name!r}: its config model must be a pydantic model")
        elif d.config.can_disable and "enabled" not in fields:
            problems.append(f"model {d.name!r} can be disabled but its config has no 'enabled' field")
    return problems


def _shared_problems(definitions: Sequence[ModelDefinition[Any]]) -> list[str]:
    problems = []
    names = {d.name for d in definitions}
    column_owner: dict[str, str] = {}
    section_owner: dict[str, str] = {}
    for d in definitions:
        for column in d.columns:
            if column in column_owner:
                problems.append(
                    f"models {column_owner[column]!r} and {d.name!r} both declare the column {column!r}"
                )
            column_owner.setdefault(column, d.name)
        if d.config is not None:
            key = d.config.key
            if key in section_owner:
                problems.append(
                    f"models {section_owner[key]!r} and {d.name!r} both claim the config section {key!r}"
                )
            section_owner.setdefault(key, d.name)
        problems += [
            f"model {d.name!r} runs after {need!r}, which no plugin declares"
            for need in d.after
            if need not in names
        ]
    return problems


def _run_order(definitions: Sequence[ModelDefinition[Any]]) -> tuple[ModelDefinition[Any], ...]:
    """Stable topological order: the first registered model whose dependencies have run goes next."""
    pending = list(definitions)
    done: set[str] = set()
    ordered: list[ModelDefinition[Any]] = []
    while pending:
        ready = next((d for d in pending if all(need in done for need in d.after)), None)
        if ready is None:
            cycle = ", ".join(f"{d.name} (after {', '.join(d.after)})" for d in pending)
            raise ConfigError(f"customer models wait for each other in a cycle: {cycle}")
        pending.remove(ready)
        done.add(ready.name)
        ordered.append(ready)
    return tuple(ordered)


def customer_scores_spec(pm: pluggy.PluginManager | None = None) -> TableSpec:
    """``customer_scores`` as the registered models declare it: run columns, then each model's columns."""
    return scores_spec(declared_models(pm))


def score_snapshots_spec(pm: pluggy.PluginManager | None = None) -> TableSpec:
    """``score_snapshots`` as the registered models declare it: run columns, then each model's snapshot columns."""
    return snapshots_spec(declared_models(pm))


def scores_spec(definitions: Sequence[ModelDefinition[Any]]) -> TableSpec:
    """``customer_scores`` for these definitions (see :func:`customer_scores_spec`)."""
    columns = dict(RUN_COLUMNS)
    for d in definitions:
        columns.update(d.columns)
    return TableSpec(SCORES_TABLE, columns, ("customer_id", "run_id"))


def snapshots_spec(definitions: Sequence[ModelDefinition[Any]]) -> TableSpec:
    """``score_snapshots`` for these definitions (see :func:`score_snapshots_spec`)."""
    columns = dict(RUN_COLUMNS)
    for d in definitions:
        columns.update({name: d.columns[name] for name in d.columns if name in d.snapshot})
    return TableSpec(SNAPSHOTS_TABLE, columns, ("as_of", "customer_id"))
