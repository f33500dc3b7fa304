"""A journey pass that dies mid-batch (no release, no last commit, as a SIGKILL leaves it), and the next one.

Forty customers have a birthday journey of two webhook steps an hour apart. The first pass dies inside the 15th
step's effect; whatever it had not committed is lost and its claims stay leased. Once the leases expire, later
passes take over: every customer ends with exactly one run of each step and one message per step.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from guanxi.marketing import outbox
from guanxi.marketing.journey_steps import JourneyStepRun
from guanxi.marketing.journeys.runtime import run_pass
from guanxi.tables import CUSTOMERS
from tests.marketing.journeys.conftest import Journeys
from tests.segments.scenario import insert

COUNT = 40
JOURNEY = """
name: 生日 webhook
trigger: {kind: birthday, params: {at: "10:00"}}
steps:
  - {name: first, kind: webhook, event: birthday_first}
  - {name: later, kind: wait, hours: 1}
  - {name: second, kind: webhook, event: birthday_second}
"""


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so no handler of the pass catches it."""


def test_a_pass_killed_mid_journey_leaves_each_step_taken_once(
    journeys: Journeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    journeys.settings = journeys.settings.model_copy(
        update={"journeys_batch": 10, "outbox_lease_seconds": 60}
    )
    journeys.clock.at_local("2026-11-01 09:00")
    insert(journeys.warehouse, CUSTOMERS,
           [{"customer_id": 100 + n, "birthday": date(1990, 11, 2)} for n in range(COUNT)])  # fmt: skip
    journeys.write("birthday-hook", JOURNEY)
    journeys.clock.at_local("2026-11-02 10:01")

    calls = 0
    real = outbox.enqueue

    def dying(*args: object, **kwargs: object) -> outbox.OutboxMessage:
        nonlocal calls
        calls += 1
        if calls == 15:
            raise Killed
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "enqueue", dying)
    with pytest.raises(Killed):
        run_pass(journeys.context())
    monkeypatch.setattr(outbox, "enqueue", real)
    assert len(journeys.messages()) == 14  # the 15th died with its step
    assert len(journeys.enrollments("birthday-hook")) == COUNT  # entering had committed before the steps

    journeys.run()  # the killed pass's claims are still leased: the others run, those wait
    journeys.clock.advance(seconds=61)
    journeys.run()  # the leases expired: taken over
    journeys.clock.advance(hours=1)
    journeys.run()

    messages = journeys.messages()
    assert len(messages) == 2 * COUNT
    assert Counter(m.payload["event"] for m in messages) == {
        "birthday_first": COUNT,
        "birthday_second": COUNT,
    }
    assert len({m.idempotency_key for m in messages}) == 2 * COUNT
    with journeys.sessions() as session:
        runs = list(session.scalars(select(JourneyStepRun)))
    per_step = Counter((run.enrollment_id, run.step_name) for run in runs)
    assert set(per_step.values()) == {1}
    assert len(per_step) == 3 * COUNT
    assert {run.state for run in runs} == {"done"}
    assert {e.state for e in journeys.enrollments("birthday-hook")} == {"completed"}
    assert all(m.created_at - journeys.clock() < timedelta(hours=2) for m in messages)
