"""The worker loop: graceful stop, signals, and the ``guanxi worker`` / ``guanxi outbox`` commands."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from guanxi.appdb.database import session_factory
from guanxi.cli.main import app
from guanxi.config import Settings
from guanxi.marketing import outbox
from guanxi.marketing.channels import Envelope
from guanxi.marketing.channels.memory import MemoryChannel
from guanxi.marketing.channels.webhook import WebhookSettings
from guanxi.marketing.errors import PermanentDeliveryError
from guanxi.marketing.outbox import OutboxMessage
from guanxi.marketing.worker import run_worker
from tests.marketing.processes import WorkerProcess, wait_for, worker_env
from tests.marketing.receiver import WebhookReceiver


def fill(engine: Engine, count: int, now: datetime, channel: str = "webhook") -> None:
    with session_factory(engine)() as session:
        for n in range(count):
            outbox.enqueue(session, channel=channel, recipient=f"c{n}", idempotency_key=f"k{n:03d}", now=now)
        session.commit()


def states(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {m.idempotency_key: m.state for m in session.scalars(select(OutboxMessage))}


def test_a_stop_finishes_the_current_message_and_releases_the_rest(
    app_settings: Settings, app_engine: Engine, now: datetime
) -> None:
    fill(app_engine, 5, now, channel="fake")
    stop = threading.Event()

    def stop_during_the_send(message: Envelope) -> str:
        stop.set()
        return "p-1"

    channel = MemoryChannel(stop_during_the_send)

    stats = run_worker(
        app_settings,
        "w",
        batch=5,
        stop_event=stop,
        clock=lambda: now,
        channel_definitions=[channel.definition("fake")],
    )

    assert channel.keys() == ["k000"]
    assert channel.closed
    assert (stats.sent, stats.released) == (1, 4)
    assert states(app_engine) == {
        "k000": "sent",
        "k001": "pending",
        "k002": "pending",
        "k003": "pending",
        "k004": "pending",
    }
    with Session(app_engine) as session:
        assert all(
            m.attempts == 0 and m.lease_owner is None
            for m in session.scalars(select(OutboxMessage))
            if m.state == "pending"
        )


def test_sigterm_lets_the_worker_process_finish_its_send_and_exit(
    delivery_settings: Settings,
    webhook_settings: WebhookSettings,
    app_engine: Engine,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    receiver.gate.clear()
    fill(app_engine, 5, datetime.now(UTC))
    worker = WorkerProcess(
        "graceful",
        worker_env(delivery_settings, webhook_settings, GUANXI_WORKER_SEND_CONCURRENCY="2"),
        tmp_path,
        "--batch",
        "5",
    )
    try:
        assert receiver.arrived.wait(60), "the worker never sent"
        worker.process.send_signal(signal.SIGTERM)
        wait_for(lambda: "received SIGTERM" in worker.log.read_text(), 30, "the worker to see SIGTERM")
        receiver.gate.set()
        assert worker.stop() == 0
    finally:
        if worker.process.poll() is None:
            worker.kill()
    # two sends were in flight (the webhook channel is concurrent): both finish, the three unstarted go back
    assert sorted(receiver.keys()) == ["k000", "k001"]
    assert states(app_engine) == {
        "k000": "sent",
        "k001": "sent",
        "k002": "pending",
        "k003": "pending",
        "k004": "pending",
    }
    log = worker.log.read_text()
    assert "gave back 3 unstarted item(s)" in log
    assert "whsec" not in log
    assert "您" not in log


def test_worker_once_sends_everything_due_and_outbox_commands_report_it(
    delivery_settings: Settings,
    webhook_settings: WebhookSettings,
    app_engine: Engine,
    receiver: WebhookReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in worker_env(delivery_settings, webhook_settings).items():
        if key.startswith("GUANXI_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    now = datetime.now(UTC)
    fill(app_engine, 3, now)
    with session_factory(app_engine)() as session:
        outbox.enqueue(session, channel="pigeon", recipient="x", idempotency_key="bad", now=now)
        session.commit()
    runner = CliRunner()

    ran = runner.invoke(app, ["worker", "--id", "cli", "--once", "--batch", "2"])
    assert ran.exit_code == 0, ran.output
    assert "worker cli: 3 sent" in ran.output
    assert "1 dead" in ran.output

    status = runner.invoke(app, ["outbox", "status"])
    assert status.exit_code == 0, status.output
    lines = {line.split("│")[1].strip(): line for line in status.output.splitlines() if "│" in line}
    assert [cell.strip() for cell in lines["webhook"].split("│")[1:-1]] == [
        "webhook",
        "0",
        "0",
        "3",
        "0",
        "0",
        "3",
    ]
    assert [cell.strip() for cell in lines["pigeon"].split("│")[1:-1]] == [
        "pigeon",
        "0",
        "0",
        "0",
        "0",
        "1",
        "1",
    ]

    revived = runner.invoke(app, ["outbox", "retry-dead"])
    assert revived.exit_code == 0, revived.output
    assert "1 dead message(s) are pending again" in revived.output
    assert states(app_engine)["bad"] == "pending"
    assert sorted(receiver.keys()) == ["k000", "k001", "k002"]


def test_the_worker_refuses_an_unmigrated_database(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUANXI_APP_DB_URL", f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["worker", "--once"])
    assert result.exit_code == 2
    assert "guanxi init" in result.output


def test_items_behind_a_slow_send_are_released_before_their_lease_runs_low(
    app_settings: Settings, app_engine: Engine, now: datetime
) -> None:
    local = app_settings.model_copy(update={"outbox_lease_seconds": 120.0})
    fill(app_engine, 3, now, channel="slow")
    clock = [now]

    def take_70_seconds(message: Envelope) -> str:
        clock[0] += timedelta(seconds=70)
        return "p"

    channel = MemoryChannel(take_70_seconds)

    stats = run_worker(
        local,
        "w",
        batch=3,
        once=True,
        clock=lambda: clock[0],
        channel_definitions=[channel.definition("slow")],
    )

    # claim at t+0 (leases to t+120), k000 takes until t+70: under half the lease left, k001 and k002 go back;
    # claim at t+70 (to t+190), k001 until t+140: k002 goes back; claim at t+140, k002 is sent.
    # Released claims are not counted as attempts.
    assert channel.keys() == ["k000", "k001", "k002"]
    assert stats.released == 3
    assert stats.sent == 3
    with Session(app_engine) as session:
        assert {m.idempotency_key: m.attempts for m in session.scalars(select(OutboxMessage))} == {
            "k000": 1,
            "k001": 1,
            "k002": 1,
        }


class InFlight:
    """Counts the sends in flight at once; each send waits until ``together`` of them have started
    (or a short timeout, so a serial channel goes on one at a time)."""

    def __init__(self, together: int, fail: set[str] | None = None) -> None:
        self.barrier = threading.Barrier(together)
        self.fail = fail or set()
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __call__(self, message: Envelope) -> str:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            self.barrier.wait(timeout=0.5)
        except threading.BrokenBarrierError:
            pass
        finally:
            with self.lock:
                self.now -= 1
        if message.idempotency_key in self.fail:
            raise PermanentDeliveryError("rejected by the provider")
        return f"p-{message.idempotency_key}"


def test_a_concurrent_channel_has_several_sends_in_flight_and_every_outcome_is_recorded(
    app_settings: Settings, app_engine: Engine, now: datetime
) -> None:
    fill(app_engine, 8, now, channel="fast")
    answer = InFlight(4, fail={"k005"})
    channel = MemoryChannel(answer)

    stats = run_worker(
        app_settings.model_copy(update={"worker_send_concurrency": 4}),
        "w",
        batch=8,
        once=True,
        clock=lambda: now,
        channel_definitions=[channel.definition("fast", concurrent=True)],
    )

    assert answer.most == 4
    assert not answer.barrier.broken
    assert sorted(channel.keys()) == [f"k{n:03d}" for n in range(8)]
    assert (stats.sent, stats.send_failed, stats.dead) == (7, 1, 1)
    assert states(app_engine) == {f"k{n:03d}": "dead" if n == 5 else "sent" for n in range(8)}
    with Session(app_engine) as session:
        provider_ids = {
            m.idempotency_key: m.provider_message_id for m in session.scalars(select(OutboxMessage))
        }
    assert provider_ids["k002"] == "p-k002"  # each outcome lands on its own message


def test_a_channel_not_marked_concurrent_sends_one_message_at_a_time(
    app_settings: Settings, app_engine: Engine, now: datetime
) -> None:
    fill(app_engine, 3, now, channel="serial")
    answer = InFlight(2)
    channel = MemoryChannel(answer)

    stats = run_worker(
        app_settings.model_copy(update={"worker_send_concurrency": 4}),
        "w",
        batch=3,
        once=True,
        clock=lambda: now,
        channel_definitions=[channel.definition("serial")],
    )

    assert answer.most == 1
    assert channel.keys() == ["k000", "k001", "k002"]
    assert stats.sent == 3


def test_a_stop_releases_messages_waiting_for_a_concurrent_send(
    app_settings: Settings, app_engine: Engine, now: datetime
) -> None:
    fill(app_engine, 3, now, channel="fast")
    with session_factory(app_engine)() as session:
        outbox.enqueue(session, channel="slow", recipient="c", idempotency_key="k100", now=now)
        session.commit()
    stop = threading.Event()

    def stop_on_the_serial_send(message: Envelope) -> str:
        stop.set()
        return "p"

    fast, slow = MemoryChannel(), MemoryChannel(stop_on_the_serial_send)

    stats = run_worker(
        app_settings.model_copy(update={"worker_send_concurrency": 4}),
        "w",
        batch=4,
        stop_event=stop,
        clock=lambda: now,
        channel_definitions=[fast.definition("fast", concurrent=True), slow.definition("slow")],
    )

    # the three fast messages wait for a full group of four; the serial send stops the worker before they go
    sent_states = states(app_engine)
    assert slow.keys() == ["k100"]
    assert sent_states["k100"] == "sent"
    assert fast.keys() == []
    assert {sent_states[k] for k in ("k000", "k001", "k002")} == {"pending"}
    assert (stats.sent, stats.released) == (1, 3)
