"""``guanxi journeys …``: recipes, install, show, validate, save, activate, pause, archive, status, run.

A journey is a YAML definition (see docs/journeys.md) stored in the app
database as versions; ``validate`` checks a file without writing anything and
every command that saves one lists each problem on its own line as
``path: message``. ``run`` makes one pass of the ``journeys`` service here and
now; it refuses (``warehouse_busy``) while ``guanxi serve`` or ``guanxi worker``
holds the embedded warehouse, as that process runs the passes itself. Times are
shown in ``GUANXI_TIMEZONE``. Changes are audited with the actor ``cli``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich import box
from rich.markup import escape
from rich.table import Column, Table

from guanxi.appdb.database import make_engine, session_factory
from guanxi.appdb.migrate import upgrade
from guanxi.cli.context import console, err_console, fails_cleanly, warehouse
from guanxi.cli.users import app_db
from guanxi.config import Settings, get_settings
from guanxi.errors import AlreadyExistsError, ConfigError, NotFoundError, ValidationFailedError
from guanxi.jobs.errors import WarehouseBusyError
from guanxi.jobs.kinds import JobContext
from guanxi.jobs.writer import WriterLock, holder
from guanxi.marketing.journeys import service
from guanxi.marketing.journeys import tables as t
from guanxi.marketing.journeys.definition import (
    Catalogue,
    GoalRef,
    JourneyDefinition,
    JourneyInvalidError,
    Problem,
    configured,
    exits_of,
    load_text,
    problems_of,
)
from guanxi.marketing.journeys.holidays import load_calendar
from guanxi.marketing.journeys.recipes import find_recipe, registered_recipes
from guanxi.marketing.journeys.runtime import catalogue, run_pass

app = typer.Typer(
    help="Journeys: automatic programmes — a trigger lets customers in, steps run, a goal lets them out.",
    no_args_is_help=True,
)
ACTOR = "cli"

STATUS_WORDS = {
    t.DRAFT: "草稿 draft",
    t.ACTIVE: "运行中 active",
    t.PAUSED: "已暂停 paused",
    t.ARCHIVED: "已归档 archived",
}
ENROLLMENT_WORDS = {
    t.IN_JOURNEY: "旅程中 in journey",
    t.COMPLETED: "已完成 completed",
    t.EXITED: "已退出 exited",
    t.GOAL: "达成目标 goal reached",
    t.CONTROL: "对照组 control",
    t.STOPPED: "已停止 stopped",
}
COUNTS = (
    ("entered", "进入 entered"),
    ("active", "旅程中 in journey"),
    ("completed", "完成 completed"),
    ("exited", "退出 exited"),
    ("goal", "达成目标 goal reached"),
    ("control", "对照组 control"),
    ("stopped", "停止 stopped"),
)
LIST_COUNTS = {
    "entered": "进入\nentered",
    "active": "旅程中\nactive",
    "completed": "完成\ncompleted",
    "goal": "达成\ngoal",
    "control": "对照组\ncontrol",
}
WEEKDAYS = "一二三四五六日"

DefinitionFile = Annotated[Path, typer.Option("--file", "-f", help="A YAML (or JSON) journey definition.")]
Key = Annotated[str, typer.Argument(help="Journey key: lower-case letters, digits, _ and -.")]


def _now() -> datetime:
    return datetime.now(UTC)


def _local(settings: Settings, value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")


def _read(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(f"no such journey file {path}")
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read it as UTF-8 text ({err})") from err


def _print_problems(problems: list[Problem]) -> None:
    for path, message in problems:
        err_console.print(escape(f"{path}: {message}" if path else message), highlight=False, soft_wrap=True)


@contextmanager
def _each_problem() -> Iterator[None]:
    """An invalid definition printed one ``path: message`` per line, exit 2 (as :func:`fails_cleanly`)."""
    try:
        yield
    except JourneyInvalidError as err:
        count = len(err.problems)
        err_console.print(
            f"[bold red]error[/] {escape(f'[{err.code}]')}: invalid journey, {count} problem(s):",
            highlight=False,
        )
        _print_problems(err.problems)
        raise typer.Exit(2) from err


def _text(header: str) -> Column:
    """A column of free text (Chinese has no spaces to wrap at): long words fold instead of being cut."""
    return Column(header, overflow="fold")


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={_value(value)}" for name, value in params.items())


def _fields(model: type[BaseModel] | None) -> str:
    """The fields as they are written in YAML: ``name*`` when required, ``name=default`` when it has one."""
    if model is None:
        return ""
    shown = []
    for name, info in model.model_fields.items():
        written = info.alias or name
        if info.is_required():
            shown.append(f"{written}*")
            continue
        default = info.get_default(call_default_factory=True)
        shown.append(written if default in (None, "", {}, []) else f"{written}={_value(default)}")
    return ", ".join(shown)


def _counts_line(counts: service.Counts) -> str:
    """The enrollment counts and the goal rate as one line of ``label count`` pairs (wraps at any width)."""
    rate = counts.goal_rate
    shown = [f"{label} [bold]{getattr(counts, name):,}[/bold]" for name, label in COUNTS]
    shown.append(f"目标达成率 goal rate [bold]{'-' if rate is None else f'{rate:.1%}'}[/bold]")
    return " · ".join(shown)


def _exits(exits: list[tuple[str, str | None]], terminal: bool) -> str:
    if terminal:
        return "离开旅程 leaves (exited)"
    return ", ".join(f"{label} → {target or '结束 end'}" for label, target in exits) or "结束 end"


# --- catalogue listings ---------------------------------------------------------------------


@app.command("list")
@fails_cleanly
def list_command() -> None:
    """Every journey, the newest first, with its enrollment counts."""
    with app_db() as session:
        journeys = service.list_journeys(session)
        counts = service.counts_by_journey(session)
        if not journeys:
            console.print(
                "暂无旅程 no journeys yet: `guanxi journeys recipes` lists ready-made ones, "
                "`guanxi journeys install RECIPE` installs one"
            )
            return
        table = Table(
            _text("旅程 journey"),
            Column("状态\nstatus", no_wrap=True),
            *(Column(header, justify="right", no_wrap=True) for header in LIST_COUNTS.values()),
            box=box.SIMPLE_HEAD,
        )
        for journey in journeys:
            found = counts.get(journey.key, service.Counts())
            table.add_row(
                f"[bold]{escape(journey.key)}[/bold] v{journey.version}\n{escape(journey.name)}",
                STATUS_WORDS.get(journey.status, journey.status).replace(" ", "\n"),
                *(f"{getattr(found, name):,}" for name in LIST_COUNTS),
            )
        console.print(table)


@app.command("recipes")
@fails_cleanly
def recipes_command() -> None:
    """The ready-made journeys a shop installs and adapts."""
    table = Table(
        Column("标识 key", no_wrap=True),
        Column("名称 name", overflow="fold", max_width=18),
        _text("说明 summary"),
        box=box.SIMPLE_HEAD,
    )
    for recipe in registered_recipes().values():
        table.add_row(
            escape(recipe.key),
            f"{escape(recipe.name_zh)}\n[dim]{escape(recipe.name_en)}[/dim]",
            escape(recipe.summary),
        )
    console.print(table)
    console.print(
        "install one as a draft: guanxi journeys install KEY (or its Chinese name)", highlight=False
    )


@app.command("triggers")
@fails_cleanly
def triggers_command() -> None:
    """The trigger kinds a definition's ``trigger.kind`` may name, with their ``params``."""
    table = Table(
        Column("类型 kind", no_wrap=True), _text("说明 description"), _text("参数 params (* required)")
    )
    for kind in catalogue().triggers.values():
        table.add_row(escape(kind.kind), escape(kind.description), escape(_fields(kind.params)))
    console.print(table)


@app.command("goals")
@fails_cleanly
def goals_command() -> None:
    """The goal kinds a definition's ``goal.kind`` or ``stop.kind`` may name, with their ``params``."""
    table = Table(
        Column("类型 kind", no_wrap=True), _text("说明 description"), _text("参数 params (* required)")
    )
    for kind in catalogue().goals.values():
        table.add_row(escape(kind.kind), escape(kind.description), escape(_fields(kind.params)))
    console.print(table)


@app.command("steps")
@fails_cleanly
def steps_command() -> None:
    """The step kinds a definition's steps may use, with their fields (besides name, kind and label)."""
    table = Table(
        Column("类型 kind", no_wrap=True), _text("说明 description"), _text("字段 fields (* required)")
    )
    for kind in catalogue().steps.values():
        if kind.config is not None:
            table.add_row(escape(kind.kind), escape(kind.description), escape(_fields(kind.config)))
    console.print(table)


@app.command("holidays")
@fails_cleanly
def holidays_command(
    year: Annotated[
        int | None, typer.Option(min=1900, max=2999, help="Which year; default this year (GUANXI_TIMEZONE).")
    ] = None,
) -> None:
    """The holiday calendar of the ``holiday`` trigger, with each holiday's dates in the year."""
    settings = get_settings()
    chosen = year or datetime.now(settings.zone).year
    calendar = load_calendar(settings)
    rows: list[tuple[date | None, str, str, str, str]] = []
    for holiday in calendar.holidays.values():
        days = holiday.dates(chosen)
        shown = ", ".join(f"{day.isoformat()} 周{WEEKDAYS[day.weekday()]}" for day in days)
        rows.append(
            (
                days[0] if days else None,
                holiday.name,
                holiday.english,
                shown or "-",
                ", ".join(holiday.aliases),
            )
        )
    table = Table(
        "节日 holiday", "English", f"日期 date {chosen}", "别名 aliases", title=f"{chosen} 节日 holidays"
    )
    for _, name, english, shown, aliases in sorted(
        rows, key=lambda row: (row[0] is None, row[0] or date.min)
    ):
        table.add_row(escape(name), escape(english), shown, escape(aliases))
    console.print(table)
    if any(day is None for day, *_ in rows):
        console.print(
            f"-: no date in {chosen} (lunar holidays are listed year by year): "
            "add it in GUANXI_JOURNEYS_HOLIDAYS_FILE",
            highlight=False,
        )


# --- definitions ----------------------------------------------------------------------------


@app.command("install")
@fails_cleanly
def install_command(
    recipe: Annotated[
        str | None,
        typer.Argument(help="A recipe's key, Chinese or English name (`journeys recipes`)."),
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Journey key; default the recipe's (payment-reminder).")
    ] = None,
    every: Annotated[
        bool,
        typer.Option(
            "--all", help="Install every recipe not installed yet under its own key (again: no change)."
        ),
    ] = False,
) -> None:
    """Install a recipe as a draft journey (nothing runs until it is activated)."""
    settings = get_settings()
    recipes = registered_recipes()
    if (every and (recipe is not None or key is not None)) or (not every and recipe is None):
        raise ValidationFailedError("name one RECIPE (with an optional --key), or give --all alone")
    known = catalogue(settings=settings)
    if every:
        with app_db() as session, _each_problem():
            taken = {journey.key for journey in service.list_journeys(session)}
            installed = [
                service.install_recipe(session, found, actor=ACTOR, now=_now(), catalogue=known)
                for found in recipes.values()
                if found.key.replace("_", "-") not in taken
            ]
        console.print(
            f"installed {len(installed)} recipe(s) as draft journeys"
            + (f": {', '.join(journey.key for journey in installed)}" if installed else "")
            + f"; {len(recipes) - len(installed)} already installed",
            highlight=False,
        )
        return
    found = find_recipe(recipe or "", recipes)
    with app_db() as session, _each_problem():
        try:
            journey = service.install_recipe(
                session, found, actor=ACTOR, now=_now(), catalogue=known, key=key
            )
        except AlreadyExistsError as err:
            raise AlreadyExistsError(f"{err.message}: install it under another --key") from err
        console.print(
            f"installed {escape(found.title)} as draft journey [bold]{escape(journey.key)}[/bold] (v1)",
            highlight=False,
        )
        console.print(
            f"next: review it with `guanxi journeys show {journey.key}` (edit with --yaml and "
            f"`guanxi journeys save {journey.key} --file …`), then `guanxi journeys activate {journey.key}`",
            highlight=False,
        )


def _print_ref(label: str, ref: GoalRef | None, known: Catalogue) -> None:
    if ref is None:
        return
    goal = known.goals.get(ref.kind)
    about = f" — {goal.description}" if goal is not None and goal.description else ""
    params = f" ({_params(ref.params)})" if ref.params else ""
    console.print(f"{label}: {escape(ref.kind)}{escape(params)}{escape(about)}", highlight=False)


def _print_definition(definition: JourneyDefinition, known: Catalogue) -> None:
    trigger = known.triggers.get(definition.trigger.kind)
    about = f" — {trigger.description}" if trigger is not None and trigger.description else ""
    params = f" ({_params(definition.trigger.params)})" if definition.trigger.params else ""
    console.print(f"触发 trigger: {escape(definition.trigger.kind + params + about)}", highlight=False)
    _print_ref("目标 goal", definition.goal, known)
    _print_ref("停止 stop", definition.stop, known)
    if definition.audience is not None:
        audience = definition.audience.segment or "inline spec " + _value(definition.audience.spec)
        console.print(f"人群 audience: {escape(audience)}", highlight=False)
    reentry = definition.reentry
    days = f" ({reentry.days} days)" if reentry.days else ""
    console.print(f"再次进入 re-entry: {reentry.mode}{days}", highlight=False)
    console.print(f"对照组 control share: {definition.control_share:.0%}", highlight=False)
    if definition.active.start or definition.active.until:
        start, until = definition.active.start, definition.active.until
        console.print(f"有效日期 active: {start or '…'} – {until or '…'}", highlight=False)
    if definition.transactional:
        console.print("服务消息 transactional: yes (no consent needed, no cap)", highlight=False)
    if definition.quiet_hours is not None:
        quiet = definition.quiet_hours
        console.print(f"免打扰 quiet hours: {quiet.start}–{quiet.end}", highlight=False)
    if definition.cap is not None:
        console.print(f"频次 cap: {definition.cap.messages} per {definition.cap.days} days", highlight=False)
    table = Table(
        "#", Column("步骤 step", no_wrap=True), _text("说明 label"), "类型 kind", _text("去向 exits")
    )
    for index, step in enumerate(definition.steps):
        kind = known.steps.get(step.kind)
        if kind is None or kind.config is None:
            ways = "? (step kind not installed)"
        else:
            ways = _exits(exits_of(step, configured(step, known.steps), definition, kind), kind.terminal)
        table.add_row(
            str(index), escape(step.name), escape(step.label or ""), escape(step.kind), escape(ways)
        )
    console.print(table)


@app.command("show")
@fails_cleanly
def show_command(
    key: Key,
    version: Annotated[int | None, typer.Option(min=1, help="Which version; default the newest.")] = None,
    as_yaml: Annotated[
        bool, typer.Option("--yaml", help="Print the YAML source as saved (to edit it).")
    ] = False,
) -> None:
    """A journey's definition: trigger, goal, stop, re-entry, control group and steps (or its YAML)."""
    settings = get_settings()
    with app_db() as session:
        journey = service.get_journey(session, key)
        if as_yaml:
            source = service.source_of(session, journey, version)
            typer.echo(source, nl=not source.endswith("\n"))
            return
        definition = service.definition_of(session, journey, version)
        numbers = [stored.version for stored in service.versions(session, journey)]
    shown = version or journey.version
    console.print(
        f"[bold]{escape(journey.key)}[/bold] {escape(definition.name)}: "
        f"{STATUS_WORDS.get(journey.status, journey.status)}, version {shown} of {len(numbers)}"
        + (f", recipe {escape(journey.recipe)}" if journey.recipe else ""),
        highlight=False,
    )
    if definition.description:
        console.print(escape(definition.description), highlight=False)
    _print_definition(definition, catalogue(settings=settings))


@app.command("validate")
@fails_cleanly
def validate_command(
    file: Annotated[Path, typer.Argument(help="A YAML (or JSON) journey definition.")],
) -> None:
    """Check a definition file and list every problem with its path (exit 1 when invalid); saves nothing."""
    text = _read(file)
    try:
        data = load_text(text)
    except JourneyInvalidError as err:
        problems = err.problems
        definition = None
    else:
        definition, problems = problems_of(data, catalogue(settings=get_settings()))
    if problems or definition is None:
        err_console.print(f"[bold red]无效 invalid[/]: {len(problems)} problem(s) in {escape(str(file))}")
        _print_problems(problems or [("", "the file holds no journey definition")])
        raise typer.Exit(1)
    console.print(
        f"有效 valid: {escape(definition.name)}, {len(definition.steps)} step(s), "
        f"trigger {escape(definition.trigger.kind)}",
        highlight=False,
    )


@app.command("save")
@fails_cleanly
def save_command(key: Key, file: DefinitionFile) -> None:
    """Create a draft journey from a file, or save the file as the journey's next version."""
    settings = get_settings()
    text = _read(file)
    with app_db() as session, _each_problem():
        try:
            before: int | None = service.get_journey(session, key).version
        except NotFoundError:
            before = None
        journey = service.save_journey(
            session, key, text, actor=ACTOR, now=_now(), catalogue=catalogue(settings=settings)
        )
        if before is None:
            console.print(f"created draft journey [bold]{escape(key)}[/bold], version 1", highlight=False)
        elif journey.version == before:
            console.print(f"journey {escape(key)} unchanged, still version {before}", highlight=False)
        else:
            console.print(
                f"saved journey [bold]{escape(key)}[/bold] as version {journey.version}", highlight=False
            )
            if journey.status != t.DRAFT:
                console.print(
                    "customers already in it stay on the version they entered; new entries take the new one",
                    highlight=False,
                )


# --- status changes -------------------------------------------------------------------------


@app.command("activate")
@fails_cleanly
def activate_command(
    key: Key,
    catch_up: Annotated[
        bool, typer.Option("--catch-up", help="Resuming: let in the occasions of the paused time too.")
    ] = False,
) -> None:
    """Start a draft journey (its trigger counts from now) or resume a paused one."""
    with app_db() as session:
        resumed = service.get_journey(session, key).status == t.PAUSED
        journey = service.activate(session, key, actor=ACTOR, now=_now(), catch_up=catch_up)
        if resumed:
            skipped = (
                "the paused time's occasions enter too"
                if catch_up
                else "the paused time's occasions are skipped"
            )
            console.print(
                f"resumed [bold]{escape(key)}[/bold] (v{journey.version}): {skipped}", highlight=False
            )
        else:
            console.print(
                f"activated [bold]{escape(key)}[/bold] (v{journey.version}): from now on its trigger lets "
                "customers in (nothing earlier enters); `guanxi serve` or `guanxi worker` runs it",
                highlight=False,
            )


@app.command("pause")
@fails_cleanly
def pause_command(key: Key) -> None:
    """Stop entries and steps of an active journey (goals are still checked) until it is activated again."""
    with app_db() as session:
        service.pause(session, key, actor=ACTOR, now=_now())
    console.print(
        f"paused [bold]{escape(key)}[/bold]: no one enters and no step runs until "
        f"`guanxi journeys activate {escape(key)}`",
        highlight=False,
    )


@app.command("archive")
@fails_cleanly
def archive_command(
    key: Key, yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False
) -> None:
    """End a journey for good: customers still in it stop and their unsent messages are withdrawn."""
    if not yes:
        typer.confirm(
            f"Archive journey {key} for good? Customers still in it stop and it becomes read-only", abort=True
        )
    with app_db() as session:
        stopped = service.archive(session, key, actor=ACTOR, now=_now())
    console.print(f"archived [bold]{escape(key)}[/bold]: {stopped:,} customer(s) stopped", highlight=False)


# --- what happened --------------------------------------------------------------------------


@app.command("status")
@fails_cleanly
def status_command(key: Key) -> None:
    """The enrollment counts and, per step of the newest version, who is there and what the runs did."""
    settings = get_settings()
    with app_db() as session:
        found = service.status(session, key, catalogue(settings=settings))
    journey = found.journey
    console.print(
        f"[bold]{escape(journey.key)}[/bold] {escape(journey.name)}: "
        f"{STATUS_WORDS.get(journey.status, journey.status)} (v{journey.version}), "
        f"activated {_local(settings, journey.activated_at)}, triggers evaluated up to "
        f"{_local(settings, journey.cursor)}",
        highlight=False,
    )
    if journey.last_error:
        console.print(f"[red]last trigger pass failed: {escape(journey.last_error)}[/red]", highlight=False)
    console.print(_counts_line(found.counts), highlight=False)
    table = Table(
        "#",
        _text("步骤 step\n说明 label"),
        *(
            Column(h, justify="right", no_wrap=True)
            for h in ("当前\nhere", "等待\nwaiting", "完成\ndone", "失败\ndead")
        ),
        _text("结果 outcomes"),
        box=box.SIMPLE_HEAD,
    )
    for step in found.steps:
        outcomes = ", ".join(f"{name} {count:,}" for name, count in step.outcomes.most_common())
        table.add_row(
            str(step.index),
            f"[bold]{escape(step.name)}[/bold] [dim]{escape(step.kind)}[/dim]\n{escape(step.label)}",
            f"{step.here:,}",
            f"{step.waiting:,}",
            f"{step.done:,}",
            f"{step.dead:,}",
            escape(outcomes or "-"),
        )
    console.print(table)


@app.command("history")
@fails_cleanly
def history_command(
    customer_id: Annotated[str, typer.Argument(help="The golden customer id.")],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many entries.")] = 50,
) -> None:
    """One customer's journeys, the newest entry first, each with its steps."""
    settings = get_settings()
    with app_db() as session:
        found = service.customer_history(session, customer_id, limit=limit)
    if not found:
        console.print(
            f"customer {escape(customer_id)} has not entered any journey (暂无旅程)", highlight=False
        )
        return
    for entry in found:
        enrollment = entry.enrollment
        ended = f", ended {_local(settings, enrollment.ended_at)}" if enrollment.ended_at else ""
        where = f", at step {enrollment.step}" if enrollment.state == t.IN_JOURNEY and enrollment.step else ""
        variant = f", variant {enrollment.variant}" if enrollment.variant else ""
        console.print(
            f"[bold]{escape(entry.journey_name)}[/bold] ({escape(enrollment.journey_key)} v{enrollment.version}) "
            f"occasion {escape(enrollment.occurrence_key)}: "
            f"{ENROLLMENT_WORDS.get(enrollment.state, enrollment.state)}, "
            f"entered {_local(settings, enrollment.entered_at)}{ended}{escape(where + variant)}",
            highlight=False,
        )
        if not entry.steps:
            continue
        table = Table("步骤 step", "类型 kind", "状态 state", "结果 outcome", "到期 due", "完成 finished")
        for step in entry.steps:
            table.add_row(
                escape(step.name),
                escape(step.kind),
                step.state,
                escape(step.outcome or "-"),
                _local(settings, step.due_at),
                _local(settings, step.finished_at),
            )
        console.print(table)


# --- one pass -------------------------------------------------------------------------------


def _moment(text: str | None, settings: Settings) -> datetime:
    if text is None:
        return _now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise ValidationFailedError(f"--now {text!r}: write an ISO time such as 2026-11-11T10:00") from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings.zone)
    return moment.astimezone(UTC)


def _refuse_going_back(settings: Settings, moment: datetime) -> None:
    """ValidationFailedError when ``moment`` is before a running journey's last pass (its trigger cursor).

    A pass at such a time would move that cursor back, and the next pass would
    evaluate the trigger again over a window already covered.
    """
    with app_db(settings) as session:
        ahead = [
            journey
            for journey in service.list_journeys(session)
            if journey.status in (t.ACTIVE, t.PAUSED)
            and journey.cursor is not None
            and journey.cursor > moment
        ]
    if ahead:
        journey = max(ahead, key=lambda found: found.cursor or moment)
        raise ValidationFailedError(
            f"--now {_local(settings, moment)} is before the last pass of journey {journey.key!r} "
            f"({_local(settings, journey.cursor)}): a pass cannot go back in time"
        )


@app.command("run")
@fails_cleanly
def run_command(
    now: Annotated[
        str | None,
        typer.Option("--now", help="The pass's time, ISO (no offset: GUANXI_TIMEZONE); default now."),
    ] = None,
) -> None:
    """One journeys pass here and now: enter, leave on goals, run due steps (exit 1 on errors).

    Messages it queues are delivered by ``guanxi worker`` or ``guanxi serve``.
    """
    settings = get_settings()
    moment = _moment(now, settings)
    if now is not None:
        _refuse_going_back(settings, moment)
    lock = WriterLock(settings, role="cli", takes_jobs=False)
    if not lock.acquire():
        current = holder(settings)
        who = current.describe() if current is not None else "another process"
        raise WarehouseBusyError(
            f"the warehouse is held by {who}"
            + (
                f", which runs the journeys pass itself every {settings.journeys_seconds:g} s"
                if current is not None and current.takes_jobs
                else "; try again when it has finished"
            )
        )
    engine = make_engine(settings)
    try:
        upgrade(settings, engine=engine)
        with warehouse(settings) as con:
            stats = run_pass(
                JobContext(
                    settings=settings,
                    warehouse=con,
                    sessions=session_factory(engine),
                    now=moment,
                    owner=f"cli:{os.getpid()}",
                )
            )
    finally:
        engine.dispose()
        lock.release()
    console.print(
        f"journeys pass at {_local(settings, moment)}: 进入 entered {stats.entered:,}, "
        f"达成目标/停止 left on goal or stop {stats.goals:,}, 步骤 steps {stats.steps:,}, "
        f"失败 failed {stats.failed:,}",
        highlight=False,
    )
    for error in stats.errors:
        err_console.print(f"[red]{escape(error)}[/red]", highlight=False)
    if stats.errors:
        raise typer.Exit(1)
