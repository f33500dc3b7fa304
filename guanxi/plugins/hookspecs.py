"""The hooks guanxi calls; a plugin implements any of them with :data:`hookimpl`.

Every ``register_*`` hook returns a list; guanxi concatenates the lists of all
plugins (built-ins first, then installed plugins) and rejects two definitions
of the same name with a :class:`~guanxi.errors.ConfigError` naming both
plugins. Hooks are called when the thing they feed is first needed (a worker
building its channels, a model run, a segment compiling, the app starting),
never at import time, so a plugin may import guanxi freely.

The types the hooks return belong to their domains and are documented there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from guanxi.ingest.preset import Mapping
    from guanxi.jobs.kinds import JobKind, Service
    from guanxi.marketing.channels import ChannelDefinition
    from guanxi.marketing.journey_steps import StepKind
    from guanxi.marketing.journeys.goals import GoalKind
    from guanxi.marketing.journeys.recipes import Recipe
    from guanxi.marketing.triggers import TriggerKind
    from guanxi.models.declared import ModelDefinition
    from guanxi.reports.definition import ReportDefinition
    from guanxi.segments.conditions import ConditionKind
    from guanxi.web.pages import MenuItem

PROJECT = "guanxi"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_channels() -> list[ChannelDefinition]:
    """Delivery channels, as :class:`guanxi.marketing.channels.ChannelDefinition` ``(name, factory, settings)``.

    ``settings`` is the channel's own pydantic-settings model (subclass
    ``guanxi.marketing.channels.ChannelSettings`` with ``env_prefix="GUANXI_<NAME>_"``);
    ``factory`` builds the channel (``send(Envelope) -> provider id``, ``close()``)
    from it. A worker builds each channel on first use and raises
    ``TransientDeliveryError`` / ``PermanentDeliveryError`` from ``send`` as the
    outbox expects. Tests use ``guanxi.marketing.channels.memory.MemoryChannel``.
    """


@hookspec
def register_journey_steps() -> list[StepKind]:
    """Journey step kinds, as :class:`guanxi.marketing.journey_steps.StepKind` ``(kind, handler)``.

    ``handler(context, run) -> StepResult`` runs one due step of one customer;
    its effects (outbox messages, follow-up steps) commit with the step's state.
    """


@hookspec
def register_journey_triggers() -> list[TriggerKind]:
    """Journey triggers, as :class:`guanxi.marketing.triggers.TriggerKind` ``(kind, find, description, params)``.

    ``find(con, *, since, until, params, settings)`` returns an unexecuted Ibis
    table of ``customer_id``, ``occurrence_key`` and optionally ``entered_at``
    (naive, ``Settings.timezone``) for the aware half-open window ``[since,
    until)``; each ``(customer, occurrence)`` enters the journey once.
    ``params`` arrive validated by the kind's ``params`` model.
    """


@hookspec
def register_journey_recipes() -> list[Recipe]:
    """Journey recipes, as :class:`guanxi.marketing.journeys.recipes.Recipe` ``(key, name_zh, name_en, summary, text)``.

    ``text`` is the YAML of an editable journey; ``guanxi journeys install KEY``
    saves it as a draft journey.
    """


@hookspec
def register_journey_goals() -> list[GoalKind]:
    """Journey exit goals, as :class:`guanxi.marketing.journeys.goals.GoalKind` ``(kind, find, params)``.

    ``find(context, enrollments, params)`` returns the Ibis table of the
    ``enrollment_id`` whose goal is reached; a customer who reaches it leaves the
    journey at whatever step they are.
    """


@hookspec
def register_job_kinds() -> list[JobKind]:
    """Kinds of background job, as :class:`guanxi.jobs.kinds.JobKind` ``(name, run, check, writes_warehouse)``.

    ``run(context, params) -> result`` does the work (an import, a model run, an
    export …) reporting progress through ``context.progress``; it must be safe to
    start again from the beginning (a job whose process died is claimed again).
    ``guanxi jobs run KIND``, schedules, the web app and queued CLI commands start jobs by kind.
    """


@hookspec
def register_services() -> list[Service]:
    """Passes repeated every few seconds, as :class:`guanxi.jobs.kinds.Service` ``(name, run, interval)``.

    Run by the process that owns the warehouse (``guanxi serve`` or ``guanxi
    worker``); ``run(context) -> items handled`` does one bounded, repeatable pass
    (the event loader moves spooled events into the warehouse this way).
    """


@hookspec
def register_import_presets() -> list[Mapping | Path]:
    """Import presets: :class:`guanxi.ingest.preset.Mapping` objects, or folders of preset ``*.yaml`` files.

    A preset maps a platform export's headers onto the canonical fields of one
    import kind (``orders``, ``customers`` …) and its words onto canonical values
    (``status_map``). ``guanxi presets`` lists them; ``--preset NAME`` uses one.
    """


@hookspec
def register_models() -> list[ModelDefinition[Any]]:
    """Customer models, as :class:`guanxi.models.declared.ModelDefinition`.

    Each declares its ``customer_scores`` columns (name → Ibis type), which of them
    are kept in ``score_snapshots``, its ``models.yaml`` section (a pydantic model),
    the models it runs after, and its compute step ``(RunContext) -> Table | None``
    keyed by ``customer_id``. Columns are added to existing warehouse tables.
    """


@hookspec
def register_segment_conditions() -> list[ConditionKind[Any]]:
    """Segment condition kinds, as :class:`guanxi.segments.conditions.ConditionKind` instances.

    A kind names the spec key that marks its leaf (``score``, ``tag`` …), the
    leaf's pydantic model, and carries its own ``validate`` (problems with paths),
    ``compile`` (the matching ``customer_id`` set as an Ibis table) and
    ``describe`` (the rule in ``zh-CN`` or ``en``); optionally a shorthand reader.
    """


@hookspec
def register_reports() -> list[ReportDefinition]:
    """Reports, as :class:`guanxi.reports.definition.ReportDefinition`.

    A name, titles and descriptions per language, the columns (key, kind, heading)
    and ``build(con, settings, ReportParams) -> Table`` computed in the warehouse on
    the shared measures (:mod:`guanxi.measures`). Shown by ``guanxi report`` and
    ``/v1/reports``.
    """


@hookspec
def register_commands(cli: typer.Typer) -> None:
    """Add commands or command groups to the ``guanxi`` command (``cli.command`` / ``cli.add_typer``)."""


@hookspec
def register_pages() -> list[APIRouter]:
    """Routers of server-rendered pages (left out of the API schema)."""


@hookspec
def register_api_routes() -> list[APIRouter]:
    """Routers of JSON API routes, mounted under ``/v1`` with the one error shape."""


@hookspec
def menu_items() -> list[MenuItem]:
    """Entries of the main menu, as :class:`guanxi.web.pages.MenuItem` ``(key, href, permission, section, order)``.

    ``key`` is a word registered through :func:`register_translations`; the item
    shows only to roles with ``permission``; ``order`` places it (built-ins: 100–900).
    """


@hookspec
def register_translations() -> dict[str, dict[str, str]]:
    """Words of the interface: ``{locale: {key: text}}`` merged into the catalogues (``zh-CN``, ``en``)."""


@hookspec
def register_appdb_tables() -> list[str]:
    """Modules (dotted names) whose SQLAlchemy tables live on :data:`guanxi.appdb.base.Base.metadata`."""


@hookspec
def register_migrations() -> list[Path]:
    """Folders of Alembic revision scripts, applied in one version chain by ``guanxi init``."""
