"""Journey steps: idempotent scheduling, step kinds through the hook, the worker running a journey end to end."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic_settings import BaseSettings
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from guanxi.appdb.database import session_factory
from guanxi.config import Settings
from guanxi.errors import ConfigError
from guanxi.marketing.journey_steps import (
    JourneyStepRun,
    StepContext,
    StepKind,
    StepResult,
    StepSpec,
    exit_step,
    registered_step_kinds,
    schedule_step,
    step_key,
    step_kinds,
    wait_step,
)
from guanxi.marketing.outbox import OutboxMessage, enqueue
from guanxi.marketing.worker import run_worker
from guanxi.plugins import hookimpl, using_plugins
from tests.marketing.receiver import WebhookReceiver

BUILT_IN_STEPS = ("send", "wait", "exit", "task", "tag", "points", "webhook", "wait_event", "branch", "split")
"""The step kinds the marketing plugin registers, in order: the three bare-queue ones first."""

CONTACT = {"name": "王芳", "openid": "o-42"}


def care_journey(delay_seconds: int = 86400) -> StepSpec:
    """send a thank-you, wait a day, send a review request, exit."""
    return StepSpec(
        0,
        "thank",
        "send",
        {
            "channel": "webhook",
            "to": "{{ contact.openid }}",
            "subject": "感谢",
            "body": "{{ contact.name }}，感谢您的购买！",
            "contact": CONTACT,
            "next": {
                "index": 1,
                "name": "pause",
                "kind": "wait",
                "payload": {
                    "delay_seconds": delay_seconds,
                    "next": {
                        "index": 2,
                        "name": "review",
                        "kind": "send",
                        "payload": {
                            "channel": "webhook",
                            "to": "{{ contact.openid }}",
                            "body": "{{ contact.name }}，请评价您的商品",
                            "contact": CONTACT,
                            "next": {"index": 3, "name": "done", "kind": "exit"},
                        },
                    },
                },
            },
        },
    )


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def schedule(engine: Engine, step: StepSpec, now: datetime, customer: str = "c42") -> None:
    with session_factory(engine)() as session:
        schedule_step(session, journey_key="care", customer_id=customer, step=step, due_at=now, now=now)
        session.commit()


def runs(session: Session) -> list[tuple[int, str, str, str | None, datetime]]:
    return [
        (run.step_index, run.kind, run.state, run.outcome, run.due_at)
        for run in session.scalars(select(JourneyStepRun).order_by(JourneyStepRun.step_index))
    ]


def test_scheduling_a_step_twice_keeps_one_run(app_session: Session, now: datetime) -> None:
    step = StepSpec(0, "thank", "exit")
    first = schedule_step(app_session, journey_key="care", customer_id="c1", step=step, due_at=now, now=now)
    second = schedule_step(
        app_session, journey_key="care", customer_id="c1", step=step, due_at=now + timedelta(days=1), now=now
    )
    app_session.commit()
    assert first.id == second.id
    assert (second.idempotency_key, second.due_at, second.state) == ("care:c1:0", now, "pending")
    assert step_key("care", "c1", 0) == "care:c1:0"
    assert app_session.scalar(select(func.count()).select_from(JourneyStepRun)) == 1


def test_a_journey_runs_send_wait_send_exit_with_the_wait_honoured(
    delivery_settings: Settings,
    channel_settings: dict[str, BaseSettings],
    app_engine: Engine,
    receiver: WebhookReceiver,
    now: datetime,
) -> None:
    schedule(app_engine, care_journey(), now)
    clock = Clock(now)

    first = run_worker(delivery_settings, "w", once=True, clock=clock, channel_settings=channel_settings)

    assert (first.steps_done, first.sent) == (2, 1)
    with Session(app_engine) as session:
        assert runs(session) == [
            (0, "send", "done", "sent", now),
            (1, "wait", "done", "waited", now),
            (2, "send", "pending", None, now + timedelta(days=1)),
        ]
    clock.now = now + timedelta(days=1) - timedelta(seconds=1)
    assert (
        run_worker(
            delivery_settings, "w", once=True, clock=clock, channel_settings=channel_settings
        ).steps_done
        == 0
    )

    clock.now = now + timedelta(days=1)
    second = run_worker(delivery_settings, "w", once=True, clock=clock, channel_settings=channel_settings)

    assert (second.steps_done, second.sent) == (2, 1)
    with Session(app_engine) as session:
        assert [row[2:4] for row in runs(session)] == [
            ("done", "sent"),
            ("done", "waited"),
            ("done", "sent"),
            ("done", "exited"),
        ]
        messages = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(m.idempotency_key, m.recipient, m.body, m.state) for m in messages] == [
            ("journey:care:c42:0", "o-42", "王芳，感谢您的购买！", "sent"),
            ("journey:care:c42:2", "o-42", "王芳，请评价您的商品", "sent"),
        ]
    assert receiver.keys() == ["journey:care:c42:0", "journey:care:c42:2"]


def test_a_step_run_again_after_a_crash_enqueues_no_second_message(
    delivery_settings: Settings, channel_settings: dict[str, BaseSettings], app_engine: Engine, now: datetime
) -> None:
    # a worker ran the send step (message enqueued) but died before the step's own commit: simulated by
    # enqueueing through the handler's key first
    schedule(app_engine, care_journey(), now)
    with session_factory(app_engine)() as session:
        enqueue(session, channel="webhook", recipient="o-42", idempotency_key="journey:care:c42:0", now=now)
        session.commit()
    run_worker(delivery_settings, "w", once=True, clock=Clock(now), channel_settings=channel_settings)
    with Session(app_engine) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


@pytest.mark.parametrize(
    ("step", "code"),
    [
        (StepSpec(0, "x", "teleport"), "step_kind_unknown"),
        (
            StepSpec(0, "x", "send", {"channel": "webhook", "to": "{{ contact.phone }}", "body": "b"}),
            "template",
        ),
        (StepSpec(0, "x", "send", {"channel": "webhook", "to": "a"}), "needs 'body'"),
        (StepSpec(0, "x", "wait", {"delay_seconds": "tomorrow"}), "delay_seconds"),
        (StepSpec(0, "x", "wait", {"delay_seconds": 5, "next": {"kind": "exit"}}), "index, name and kind"),
    ],
)
def test_a_step_that_can_never_work_is_dead_at_once(
    delivery_settings: Settings,
    channel_settings: dict[str, BaseSettings],
    app_engine: Engine,
    now: datetime,
    step: StepSpec,
    code: str,
) -> None:
    schedule(app_engine, step, now)
    stats = run_worker(delivery_settings, "w", once=True, clock=Clock(now), channel_settings=channel_settings)
    assert stats.dead == 1
    with Session(app_engine) as session:
        run = session.scalars(select(JourneyStepRun)).one()
        assert (run.state, run.attempts) == ("dead", 1)
        assert run.last_error is not None
        assert code in run.last_error
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


class TagPlugin:
    """A plugin adding the step kind ``tag``, whose first run fails after scheduling a side step."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.calls: list[datetime] = []

    def tag(self, context: StepContext, run: JourneyStepRun) -> StepResult:
        self.calls.append(context.now)
        schedule_step(
            context.session,
            journey_key="side",
            customer_id="c",
            step=StepSpec(9, "s", "exit"),
            due_at=self.now,
            now=self.now,
        )
        if len(self.calls) == 1:
            raise RuntimeError("CRM unavailable")
        return StepResult("tagged")

    @hookimpl
    def register_journey_steps(self) -> list[StepKind]:
        return [StepKind("crm_tag", self.tag, "Tag the customer in the CRM")]


def test_a_step_kind_from_a_plugin_is_retried_with_back_off_and_its_effects_rolled_back(
    delivery_settings: Settings, app_engine: Engine, now: datetime
) -> None:
    plugin = TagPlugin(now)
    schedule(app_engine, StepSpec(0, "tag", "crm_tag"), now)
    clock = Clock(now)
    with using_plugins(plugin):
        first = run_worker(delivery_settings, "w", once=True, clock=clock)
        with Session(app_engine) as session:
            run = session.scalars(
                select(JourneyStepRun)
            ).one()  # the side step was rolled back with the failure
            assert (run.state, run.attempts, run.next_attempt_at) == (
                "failed",
                1,
                now + timedelta(seconds=30),
            )
        clock.now = now + timedelta(seconds=30)
        second = run_worker(delivery_settings, "w", once=True, clock=clock)
    assert (first.steps_failed, second.steps_done) == (1, 2)  # tag, then the side step's built-in exit
    assert plugin.calls == [now, now + timedelta(seconds=30)]


def test_the_built_in_step_kinds_come_from_the_hook() -> None:
    kinds = registered_step_kinds()
    assert list(kinds) == [*BUILT_IN_STEPS]
    assert all(kind.config is not None for kind in kinds.values())  # every built-in also runs in journeys
    assert [kind.kind for kind in kinds.values() if kind.terminal] == ["exit"]
    assert all(kind.description for kind in kinds.values())


def test_a_step_kind_defined_twice_is_refused_naming_both_plugins(now: datetime) -> None:
    class SecondSend:
        @hookimpl
        def register_journey_steps(self) -> list[StepKind]:
            return [StepKind("send", exit_step)]

    with using_plugins(SecondSend()), pytest.raises(ConfigError, match="guanxi.marketing.plugin and"):
        registered_step_kinds()


def test_an_explicit_set_of_kinds_replaces_the_registered_ones(
    delivery_settings: Settings, app_engine: Engine, now: datetime
) -> None:
    schedule(app_engine, StepSpec(0, "pause", "wait", {"delay_seconds": 0}), now)
    schedule(app_engine, StepSpec(0, "bye", "exit"), now, customer="c43")
    only_exit = [StepKind("exit", exit_step)]
    stats = run_worker(delivery_settings, "w", once=True, clock=Clock(now), kinds=only_exit)
    assert (stats.steps_done, stats.dead) == (1, 1)
    with Session(app_engine) as session:
        wait = session.scalars(select(JourneyStepRun).where(JourneyStepRun.kind == "wait")).one()
        assert wait.state == "dead"
        assert wait.last_error is not None
        assert "no handler for journey step kind 'wait' (known: exit)" in wait.last_error


@pytest.mark.parametrize("kind", ["", "Tag", "tag-it", "x" * 33, "1st"])
def test_a_step_kind_needs_a_lower_case_name_of_at_most_32_characters(kind: str) -> None:
    with pytest.raises(ConfigError, match="is not a step kind"):
        StepKind(kind, exit_step)


def test_two_kinds_of_one_name_in_an_explicit_set_are_refused() -> None:
    with pytest.raises(ConfigError, match="'exit'"):
        step_kinds([StepKind("exit", exit_step), StepKind("exit", wait_step)])
