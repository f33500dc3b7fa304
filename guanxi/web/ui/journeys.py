"""客户旅程: the journey list with the recipes to install, one journey with its diagram and per-step
counts, the YAML editor (validate without saving, save as a new version), and the controls (activate,
pause, archive after a confirmation page).

Reading needs ``view``; installing, editing and the controls need ``edit`` and a
CSRF token, and their buttons show only to roles that have it. Every change is
audited as ``user:<name>``. A refused control
(:class:`~guanxi.marketing.journeys.service.JourneyStateError`) comes back as a
notice on the journey page; an invalid definition as every ``(path, problem)``
listed beside the editor (422) with the text kept as typed. Times are shown in
``Settings.timezone``. The diagram is an inline SVG drawn on the server
(:mod:`guanxi.web.journey_diagram`); no page of this module loads a script.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from guanxi.appdb.roles import Permission
from guanxi.errors import NotFoundError, ValidationFailedError
from guanxi.marketing.journey_steps import STATES
from guanxi.marketing.journeys import service
from guanxi.marketing.journeys import tables as jt
from guanxi.marketing.journeys.definition import (
    Catalogue,
    GoalRef,
    JourneyDefinition,
    JourneyInvalidError,
    Problem,
    TriggerRef,
    load_text,
    problems_of,
)
from guanxi.marketing.journeys.recipes import find_recipe, registered_recipes
from guanxi.marketing.journeys.runtime import catalogue
from guanxi.web.auth import CanEdit, CanView, Principal
from guanxi.web.csrf import CsrfChecked
from guanxi.web.i18n import knows, translator
from guanxi.web.journey_diagram import render_svg
from guanxi.web.pages import flash, locale_of, render
from guanxi.web.state import AppState, DbSession, State

router = APIRouter()
JourneyKey = Annotated[str, Path(pattern=f"^{service.KEY_PATTERN.pattern}$")]

STEP_KINDS = ("send", "task", "tag", "points", "webhook", "wait", "wait_event", "branch", "split", "exit")
EXITS = ("then", "else", "on_event", "on_timeout")
TRIGGERS = (
    "order_unpaid",
    "order_paid",
    "order_shipped",
    "order_delivered",
    "order_refunded",
    "order_arrived",
    "event",
    "birthday",
    "first_order_anniversary",
    "after_first_order",
    "holiday",
    "segment_entered",
    "segment_left",
    "lifecycle_changed",
    "tier_changed",
)
GOALS = ("order_paid", "order_cancelled", "purchase", "event", "segment")
OUTCOMES = (
    "waited",
    "event",
    "timeout",
    "waiting",
    "then",
    "else",
    "task",
    "tagged",
    "points",
    "webhook",
    "exited",
    "goal",
    "stopped",
    "skipped",
    "not_a_customer",
    "unreachable",
    "no_consent",
    "suppressed",
    "do_not_disturb",
    "no_cash_coupon",
    "capped",
    "render_failed",
)
RUN_STATES = STATES.all
"""A step run's queue states (pending, running, done, failed, dead)."""
ACTIONS: dict[str, tuple[str, ...]] = {
    jt.DRAFT: ("activate", "edit", "archive"),
    jt.ACTIVE: ("pause", "edit", "archive"),
    jt.PAUSED: ("resume", "edit", "archive"),
    jt.ARCHIVED: (),
}
"""The buttons a journey page offers in each status (labels ``journeys.action.<name>``)."""
STATUS_BADGES = {jt.DRAFT: "queued", jt.ACTIVE: "done", jt.PAUSED: "retrying", jt.ARCHIVED: "cancelled"}
STATE_BADGES = {
    jt.IN_JOURNEY: "running",
    jt.COMPLETED: "done",
    jt.GOAL: "done",
    jt.EXITED: "cancelled",
    jt.CONTROL: "queued",
    jt.STOPPED: "cancelled",
}
"""Journey statuses and enrollment states drawn with the jobs' badge colours."""

STARTER = """\
# 新旅程 New journey — 写好触发、步骤和目标;保存后是草稿,启用后才开始运行。
name: 新旅程 New journey
trigger:
  kind: order_paid          # 订单付款后进入 (after an order is paid)
  params:
    after_minutes: 60
goal:
  kind: purchase            # 再次购买即达成目标 (buying again reaches the goal)
reentry:
  mode: once_per_days
  days: 30
control_share: 0.1          # 10% 的客户作为对照组,不发送 (held out)
steps:
  - name: thanks
    label: 感谢下单
    kind: send
    channels: [sms]
    content:
      sms:
        body: "{{ name | default('亲') }},感谢您的购买!"
  - name: wait_3_days
    label: 等待 3 天
    kind: wait
    days: 3
  - name: tag_thanked
    label: 标记 已感谢
    kind: tag
    add: [已感谢]
"""
"""What ``/journeys/new`` starts from: a small journey that validates as it is."""


# ---- words -----------------------------------------------------------------------------------------------


def words(locale: str) -> dict[str, dict[str, str]]:
    """Every computed label family of these pages in ``locale`` (templates look labels up here)."""
    t = translator(locale)
    families: dict[str, Sequence[str]] = {
        "status": jt.STATUSES,
        "state": jt.ENROLLMENT_STATES,
        "kind": STEP_KINDS,
        "exit": EXITS,
        "trigger": TRIGGERS,
        "goal": GOALS,
        "outcome": OUTCOMES,
        "run": RUN_STATES,
        "action": ("activate", "resume", "pause", "archive", "edit"),
        "count": ("here", "done", "waiting", "dead", "end"),
    }
    return {
        family: {name: t(f"journeys.{family}.{name}") for name in names} for family, names in families.items()
    }


def outcome_text(outcome: str | None, w: Mapping[str, Mapping[str, str]]) -> str:
    """A step run's outcome in words: ``sent:sms`` → 已发送(sms), ``variant:a`` → 分组 a, others looked up."""
    if not outcome:
        return "—"
    head, _, rest = outcome.partition(":")
    if head == "sent" and rest:
        return w["outcome_sent"]["sent"].format(channel=rest)
    if head == "variant" and rest:
        return w["outcome_sent"]["variant"].format(variant=rest)
    return w["outcome"].get(outcome, outcome)


def _page_words(locale: str) -> dict[str, Any]:
    t = translator(locale)
    w: dict[str, Any] = words(locale)
    w["outcome_sent"] = {"sent": t("journeys.outcome_sent"), "variant": t("journeys.outcome_variant")}
    return w


def _ref_text(ref: TriggerRef | GoalRef, names: Mapping[str, str], descriptions: Mapping[str, str]) -> str:
    """A trigger or goal in words: its name (the kind's own line when it has no translation), then its params."""
    name = names.get(ref.kind) or descriptions.get(ref.kind) or ref.kind
    params = "，".join(f"{key} = {_value(value)}" for key, value in ref.params.items())
    return f"{name}（{params}）" if params else name


def _value(value: Any) -> str:
    if isinstance(value, list):
        return " / ".join(str(v) for v in value)
    return str(value)


def facts_of(definition: JourneyDefinition, cat: Catalogue, locale: str) -> list[tuple[str, str]]:
    """The journey's rules in words: trigger, goal, stop, audience, re-entry, control group, timing."""
    t = translator(locale)
    w = words(locale)
    triggers = {k: getattr(v, "description", "") for k, v in cat.triggers.items()}
    goals = {k: getattr(v, "description", "") for k, v in cat.goals.items()}
    none = t("journeys.none")
    reentry = definition.reentry
    if reentry.mode == "once":
        again = t("journeys.reentry_once")
    elif reentry.mode == "once_per_days":
        again = t("journeys.reentry_days", days=reentry.days)
    else:
        again = t("journeys.reentry_every_time")
    share = definition.control_share
    audience = definition.audience
    if audience is None:
        who = t("journeys.audience_all")
    elif audience.segment:
        who = t("journeys.audience_segment", segment=audience.segment)
    else:
        who = t("journeys.audience_spec")
    active = definition.active
    dates = none
    if active.start or active.until:
        dates = f"{active.start or '…'} – {active.until or '…'}"
    facts = [
        (t("journeys.trigger"), _ref_text(definition.trigger, w["trigger"], triggers)),
        (t("journeys.goal"), _ref_text(definition.goal, w["goal"], goals) if definition.goal else none),
        (t("journeys.stop"), _ref_text(definition.stop, w["goal"], goals) if definition.stop else none),
        (t("journeys.audience"), who),
        (t("journeys.reentry"), again),
        (
            t("journeys.control"),
            t("journeys.control_share", percent=f"{share * 100:g}") if share else t("journeys.control_none"),
        ),
        (t("journeys.active_dates"), dates),
        (
            t("journeys.kind_of_messages"),
            t("journeys.transactional") if definition.transactional else t("journeys.marketing"),
        ),
        (
            t("journeys.quiet_hours"),
            f"{definition.quiet_hours.start}–{definition.quiet_hours.end}"
            if definition.quiet_hours
            else t("journeys.quiet_default"),
        ),
        (
            t("journeys.cap"),
            t("journeys.cap_of", messages=definition.cap.messages, days=definition.cap.days)
            if definition.cap
            else t("journeys.cap_default"),
        ),
    ]
    return facts


def trigger_name(definition: Mapping[str, Any], locale: str) -> str:
    kind = str((definition.get("trigger") or {}).get("kind", ""))
    key = f"journeys.trigger.{kind}"
    return translator(locale)(key) if knows(locale, key) else kind


# ---- the editor ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownProblem:
    path: str
    message: str
    step: str
    """The name of the step the path points into (``steps.2…``), when the text names one."""


def check_text(text: str, cat: Catalogue) -> tuple[Any, list[Problem]]:
    """The data in ``text`` (None when it does not parse) and every problem of it as a journey."""
    try:
        data = load_text(text)
    except JourneyInvalidError as err:
        return None, err.problems
    return data, problems_of(data, cat)[1]


def shown_problems(problems: Sequence[Problem], data: Any) -> list[ShownProblem]:
    steps = data.get("steps") if isinstance(data, dict) else None
    shown = []
    for path, message in problems:
        name = ""
        parts = path.split(".")
        if isinstance(steps, list) and len(parts) > 1 and parts[0] == "steps" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(steps) and isinstance(steps[index], dict):
                name = str(steps[index].get("name", ""))
        shown.append(ShownProblem(path, message, name))
    return shown


def _editor(
    request: Request,
    state: AppState,
    session: Session,
    *,
    journey: jt.Journey | None,
    key: str,
    text: str,
    problems: Sequence[Problem] = (),
    data: Any = None,
    checked: bool = False,
    based_on: int | None = None,
    status_code: int = 200,
) -> Response:
    locale = locale_of(request, state)
    cat = catalogue(settings=state.settings)
    context = {
        "journey": journey,
        "key": key,
        "text": text,
        "problems": shown_problems(problems, data),
        "checked": checked,
        "based_on": based_on,
        "versions": service.versions(session, journey) if journey is not None else [],
        "reference": {
            "steps": sorted((n, k.description) for n, k in cat.steps.items() if k.config is not None),
            "triggers": sorted((n, k.description) for n, k in cat.triggers.items()),
            "goals": sorted((n, getattr(k, "description", "")) for n, k in cat.goals.items()),
        },
        "w": _page_words(locale),
    }
    return render(request, state, "journey_edit.html", context, section="journeys", status_code=status_code)


def _form_text(value: Any) -> str:
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


# ---- routes ----------------------------------------------------------------------------------------------


@router.get("/journeys")
def journey_list(request: Request, principal: CanView, session: DbSession, state: State) -> Response:
    """Every journey with its enrollments by state, and the recipes to install from."""
    locale = locale_of(request, state)
    rows = service.list_journeys(session)
    counts = service.counts_by_journey(session, [row.key for row in rows])
    recipes = registered_recipes()
    newest = {row.key: service.version_of(session, row).definition for row in rows}
    context = {
        "journeys": [
            {
                "j": row,
                "c": counts[row.key],
                "recipe": recipes[row.recipe].title if row.recipe in recipes else row.recipe,
                "trigger": trigger_name(newest[row.key], locale),
            }
            for row in rows
        ],
        "recipes": list(recipes.values()),
        "w": _page_words(locale),
        "status_badges": STATUS_BADGES,
    }
    return render(request, state, "journeys.html", context, section="journeys")


def _free_key(session: Session, wanted: str) -> str:
    taken = {row.key for row in service.list_journeys(session)}
    if wanted not in taken:
        return wanted
    number = 2
    while f"{wanted}-{number}" in taken:
        number += 1
    return f"{wanted}-{number}"


@router.post("/journeys/install")
async def install(
    request: Request, principal: CanEdit, _csrf: CsrfChecked, session: DbSession, state: State
) -> Response:
    """Install a recipe as a new draft (``<recipe>``, or ``<recipe>-2`` … when the key is taken)."""
    form = await request.form()
    chosen = form.get("recipe")
    recipe = find_recipe(chosen if isinstance(chosen, str) else "", registered_recipes())
    key = _free_key(session, recipe.key.replace("_", "-"))
    try:
        journey = service.install_recipe(
            session,
            recipe,
            actor=principal.actor,
            now=state.clock(),
            catalogue=catalogue(settings=state.settings),
            key=key,
        )
    except ValidationFailedError as err:
        session.rollback()
        flash(request, "error", "journeys.install_failed", name=recipe.title, message=err.message)
        return RedirectResponse("/journeys", status_code=303)
    session.commit()
    flash(request, "ok", "journeys.installed", name=journey.name)
    return RedirectResponse(f"/journeys/{journey.key}", status_code=303)


@router.get("/journeys/new")
def new_journey(request: Request, principal: CanEdit, session: DbSession, state: State) -> Response:
    return _editor(request, state, session, journey=None, key="", text=STARTER)


@router.post("/journeys")
async def create(
    request: Request, principal: CanEdit, _csrf: CsrfChecked, session: DbSession, state: State
) -> Response:
    """Validate (``action=validate``: nothing saved) or save a new draft; problems beside the editor (422)."""
    form = await request.form()
    key = _form_text(form.get("key")).strip()
    text = _form_text(form.get("text"))
    return _save(request, principal, session, state, key=key, text=text, journey=None, form=form)


def _save(
    request: Request,
    principal: Principal,
    session: Session,
    state: AppState,
    *,
    key: str,
    text: str,
    journey: jt.Journey | None,
    form: Any,
) -> Response:
    cat = catalogue(settings=state.settings)
    data, problems = check_text(text, cat)
    if form.get("action") == "validate":
        code = 422 if problems else 200
        return _editor(
            request, state, session, journey=journey, key=key, text=text, problems=problems, data=data,
            checked=True, status_code=code,
        )  # fmt: skip
    before = journey.version if journey is not None else 0
    if not problems:
        try:
            saved = service.save_journey(
                session,
                key,
                text,
                actor=principal.actor,
                now=state.clock(),
                catalogue=cat,
                create=journey is None,
            )
        except JourneyInvalidError as err:
            session.rollback()
            problems = err.problems
        except ValidationFailedError as err:
            session.rollback()
            problems = [("key" if journey is None else "", err.message)]
        else:
            session.commit()
            if journey is None:
                flash(request, "ok", "journeys.created", name=saved.name)
            elif saved.version == before:
                flash(request, "info", "journeys.unchanged", name=saved.name)
            else:
                flash(request, "ok", "journeys.saved", name=saved.name, version=saved.version)
            return RedirectResponse(f"/journeys/{saved.key}", status_code=303)
    return _editor(
        request, state, session, journey=journey, key=key, text=text, problems=problems, data=data,
        status_code=422,
    )  # fmt: skip


@router.get("/journeys/{key}")
def journey_page(
    request: Request, key: JourneyKey, principal: CanView, session: DbSession, state: State
) -> Response:
    """The status, the counts, the diagram with each step's counts, the steps' outcomes, the rules in words."""
    locale = locale_of(request, state)
    t = translator(locale)
    cat = catalogue(settings=state.settings)
    found = service.status(session, key, cat)
    journey, definition = found.journey, found.definition
    w = _page_words(locale)
    names = {step.name: step.label for step in found.steps}
    diagram = render_svg(
        found.steps,
        start=f"{t('journeys.start')} · {trigger_name(definition.model_dump(), locale)}",
        words=w["count"],
        kind_names=w["kind"],
        exit_names=w["exit"],
        title=t("journeys.diagram_title", name=journey.name),
    )
    steps = [
        {
            "s": step,
            "outcomes": [(outcome_text(o, w), n) for o, n in step.outcomes.most_common()],
            "exits": [
                (
                    w["exit"].get(label, "") if label != "next" else "",
                    names.get(target or "", t("journeys.count.end")),
                )
                for label, target in step.exits
            ],
        }
        for step in found.steps
    ]
    recipes = registered_recipes()
    context = {
        "j": journey,
        "d": definition,
        "c": found.counts,
        "steps": steps,
        "diagram": diagram,
        "facts": facts_of(definition, cat, locale),
        "recipe": recipes[journey.recipe].title if journey.recipe in recipes else journey.recipe,
        "actions": ACTIONS.get(journey.status, ()) if principal.can(Permission.EDIT) else (),
        "versions": service.versions(session, journey)[:5],
        "w": w,
        "status_badges": STATUS_BADGES,
    }
    return render(request, state, "journey.html", context, section="journeys")


@router.get("/journeys/{key}/edit")
def edit_journey(
    request: Request,
    key: JourneyKey,
    principal: CanEdit,
    session: DbSession,
    state: State,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    """The newest version's YAML (or ``version``'s, to start again from it); an archived journey is read-only."""
    journey = service.get_journey(session, key)
    if journey.status == jt.ARCHIVED:
        flash(request, "error", "journeys.archived_read_only", name=journey.name)
        return RedirectResponse(f"/journeys/{key}", status_code=303)
    text = service.source_of(session, journey, version)
    return _editor(request, state, session, journey=journey, key=key, text=text, based_on=version)


@router.post("/journeys/{key}/edit")
async def update(
    request: Request,
    key: JourneyKey,
    principal: CanEdit,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
) -> Response:
    """Validate (``action=validate``) or save the text as the next version; problems beside the editor (422)."""
    journey = service.get_journey(session, key)
    form = await request.form()
    return _save(
        request,
        principal,
        session,
        state,
        key=key,
        text=_form_text(form.get("text")),
        journey=journey,
        form=form,
    )


def _control(
    request: Request,
    key: str,
    action: str,
    principal: Principal,
    session: Session,
    state: AppState,
    **kw: Any,
) -> Response:
    """Run one control in one transaction; a refusal is a notice on the journey page."""
    now = state.clock()
    params: dict[str, Any] = {}
    try:
        if action in ("activate", "resume"):
            journey = service.activate(session, key, actor=principal.actor, now=now, **kw)
        elif action == "pause":
            journey = service.pause(session, key, actor=principal.actor, now=now)
        else:
            params["stopped"] = service.archive(session, key, actor=principal.actor, now=now)
            journey = service.get_journey(session, key)
    except ValidationFailedError as err:
        session.rollback()
        label = words(locale_of(request, state))["action"][action]
        flash(request, "error", "journeys.refused", action=label, message=err.message)
        return RedirectResponse(f"/journeys/{key}", status_code=303)
    session.commit()
    done = {"activate": "activated", "resume": "resumed", "pause": "paused", "archive": "archived"}[action]
    flash(request, "ok", f"journeys.{done}", name=journey.name, **params)
    return RedirectResponse(f"/journeys/{key}", status_code=303)


@router.post("/journeys/{key}/activate")
async def activate(
    request: Request,
    key: JourneyKey,
    principal: CanEdit,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
) -> Response:
    """Start a draft, or resume a paused journey (``catch_up=1``: also the occasions of the paused time)."""
    form = await request.form()
    journey = service.get_journey(session, key)
    action = "resume" if journey.status == jt.PAUSED else "activate"
    return _control(request, key, action, principal, session, state, catch_up=form.get("catch_up") == "1")


@router.post("/journeys/{key}/pause")
def pause(
    request: Request,
    key: JourneyKey,
    principal: CanEdit,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
) -> Response:
    """No one enters and no step runs until it is activated again."""
    return _control(request, key, "pause", principal, session, state)


@router.get("/journeys/{key}/archive")
def confirm_archive(
    request: Request, key: JourneyKey, principal: CanEdit, session: DbSession, state: State
) -> Response:
    """The confirmation page: archiving is for good, and says how many customers it stops."""
    journey = service.get_journey(session, key)
    counts = service.counts_by_journey(session, [key])[key]
    context = {"j": journey, "in_journey": counts.active, "w": _page_words(locale_of(request, state))}
    return render(request, state, "journey_archive.html", context, section="journeys")


@router.post("/journeys/{key}/archive")
def archive(
    request: Request,
    key: JourneyKey,
    principal: CanEdit,
    _csrf: CsrfChecked,
    session: DbSession,
    state: State,
) -> Response:
    """End the journey for good: customers still in it leave as stopped, their unsent messages withdrawn."""
    return _control(request, key, "archive", principal, session, state)


# ---- one customer (the Customer 360 page) ----------------------------------------------------------------


def customer_journeys(session: Session, customer_id: str, locale: str) -> list[dict[str, Any]]:
    """The customer's journeys for the 360 page: state, entry, current step and each step's outcome.

    Step labels come from the version the customer entered (a later version may
    have renamed or dropped the step); a journey whose row is gone shows names only.
    """
    w = _page_words(locale)
    labels: dict[tuple[str, int], dict[str, str]] = {}
    shown = []
    for found in service.customer_history(session, customer_id):
        enrollment = found.enrollment
        version = (enrollment.journey_key, enrollment.version)
        if version not in labels:
            try:
                journey = service.get_journey(session, enrollment.journey_key)
                definition = service.definition_of(session, journey, enrollment.version)
            except NotFoundError:
                labels[version] = {}
            else:
                labels[version] = {s.name: s.label or s.name for s in definition.steps}
        names = labels[version]
        shown.append(
            {
                "e": enrollment,
                "name": found.journey_name,
                "state": w["state"].get(enrollment.state, enrollment.state),
                "badge": STATE_BADGES.get(enrollment.state, "cancelled"),
                "step": names.get(enrollment.step or "", enrollment.step) if enrollment.step else None,
                "steps": [
                    {
                        "label": names.get(step.name, step.name),
                        "name": step.name,
                        "kind": w["kind"].get(step.kind, step.kind),
                        "run": w["run"].get(step.state, step.state),
                        "outcome": outcome_text(step.outcome, w) if step.outcome else None,
                        "at": step.finished_at or step.due_at,
                        "finished": step.finished_at is not None,
                    }
                    for step in found.steps
                ],
            }
        )
    return shown
