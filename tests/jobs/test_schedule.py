"""Schedules: parsing GUANXI_SCHEDULE_*, slots in the configured zone, once per slot, missed slots once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from guanxi.appdb.database import session_factory
from guanxi.config import Settings
from guanxi.errors import ConfigError
from guanxi.jobs.registry import job_kinds
from guanxi.jobs.schedule import (
    DEFAULT_SCHEDULES,
    Step,
    check_kinds,
    create_due_jobs,
    load_schedules,
    parse_schedule,
)
from guanxi.jobs.tables import Job

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_default_is_incremental_models_then_segments_at_two_every_night(app_settings: Settings) -> None:
    schedules = load_schedules(app_settings, environ={}, env_file=None)
    assert [s.name for s in schedules] == ["nightly"]
    nightly = schedules[0]
    assert nightly.cron == "0 2 * * *"
    assert nightly.steps == (Step("models.run", {"incremental": True}), Step("segments.refresh", {}))
    kind, params = nightly.job()
    assert kind == "pipeline"
    assert params == {
        "steps": [
            {"kind": "models.run", "params": {"incremental": True}},
            {"kind": "segments.refresh", "params": {}},
        ]
    }
    assert DEFAULT_SCHEDULES["nightly"].startswith("0 2 ")


def test_variables_add_replace_and_switch_off_schedules(app_settings: Settings) -> None:
    environ = {
        "GUANXI_SCHEDULE_NIGHTLY": "off",
        "GUANXI_SCHEDULE_HOURLY": "15 * * * * resolve:probabilistic=false",
    }
    schedules = load_schedules(app_settings, environ=environ, env_file=None)
    assert [(s.name, s.cron, s.steps) for s in schedules] == [
        ("hourly", "15 * * * *", (Step("resolve", {"probabilistic": False}),))
    ]
    assert schedules[0].job() == ("resolve", {"probabilistic": False})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0 2 * *", "five cron fields"),
        ("0 25 * * * resolve", "not a cron expression"),
        ("0 2 * * * resolve:probabilistic", "must be key=value"),
    ],
)
def test_a_bad_schedule_names_its_variable_and_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match="GUANXI_SCHEDULE_NIGHTLY") as caught:
        parse_schedule("nightly", text)
    assert problem in caught.value.message


def test_an_unknown_kind_is_refused_before_anything_runs() -> None:
    schedule = parse_schedule("nightly", "0 2 * * * models.rnu")
    assert schedule is not None
    with pytest.raises(ConfigError, match="unknown job kind 'models.rnu'"):
        check_kinds([schedule], job_kinds())


def test_slots_are_read_in_the_configured_zone() -> None:
    nightly = parse_schedule("nightly", "0 2 * * * resolve")
    assert nightly is not None
    # 2026-12-03 01:30 in Shanghai is 2026-12-02 17:30 UTC: the latest slot is the day before's 02:00.
    assert nightly.latest_slot(datetime(2026, 12, 2, 17, 30, tzinfo=UTC), SHANGHAI) == datetime(
        2026, 12, 2, 2, 0, tzinfo=SHANGHAI
    )
    # exactly at 02:00 Shanghai (18:00 UTC) the slot is now
    assert nightly.latest_slot(datetime(2026, 12, 2, 18, 0, 30, tzinfo=UTC), SHANGHAI) == datetime(
        2026, 12, 3, 2, 0, tzinfo=SHANGHAI
    )


def _jobs(session: Session) -> list[tuple[str, str | None]]:
    return [(j.kind, j.slot_key) for j in session.scalars(select(Job).order_by(Job.id))]


def test_a_slot_creates_one_job_and_slots_before_the_schedule_was_seen_none(app_engine: Engine) -> None:
    sessions = session_factory(app_engine)
    nightly = parse_schedule("nightly", "0 2 * * * models.run:incremental=true segments.refresh")
    assert nightly is not None
    kinds = job_kinds()
    first_seen = datetime(2026, 12, 3, 15, 0, tzinfo=SHANGHAI)  # after today's 02:00
    for minutes in (0, 1, 30):
        with sessions() as session, session.begin():
            made = create_due_jobs(
                session, [nightly], kinds, now=first_seen + timedelta(minutes=minutes), zone=SHANGHAI
            )
            assert made == []
    next_night = datetime(2026, 12, 4, 2, 0, 5, tzinfo=SHANGHAI)
    with sessions() as session, session.begin():
        made = create_due_jobs(session, [nightly], kinds, now=next_night, zone=SHANGHAI)
        assert [job.kind for job in made] == ["pipeline"]
    with sessions() as session, session.begin():  # later passes in the same slot: nothing new
        assert (
            create_due_jobs(session, [nightly], kinds, now=next_night + timedelta(hours=3), zone=SHANGHAI)
            == []
        )
        assert _jobs(session) == [("pipeline", "schedule:nightly:2026-12-04T02:00:00+08:00")]


def test_missed_slots_run_once_after_a_restart(app_engine: Engine) -> None:
    sessions = session_factory(app_engine)
    nightly = parse_schedule("nightly", "0 2 * * * resolve")
    assert nightly is not None
    kinds = job_kinds()
    with sessions() as session, session.begin():
        create_due_jobs(
            session, [nightly], kinds, now=datetime(2026, 12, 1, 12, 0, tzinfo=SHANGHAI), zone=SHANGHAI
        )
    # nothing ran for three nights (12-02, 12-03, 12-04); back at 12-04 09:00: one job, for the latest slot
    back = datetime(2026, 12, 4, 9, 0, tzinfo=SHANGHAI)
    with sessions() as session, session.begin():
        made = create_due_jobs(session, [nightly], kinds, now=back, zone=SHANGHAI)
        assert len(made) == 1
    with sessions() as session:
        assert _jobs(session) == [("resolve", "schedule:nightly:2026-12-04T02:00:00+08:00")]


def test_two_schedulers_racing_for_a_slot_create_it_once(app_engine: Engine) -> None:
    """Many threads, each its own connection and transaction, all at the same slot."""
    sessions = session_factory(app_engine)
    nightly = parse_schedule("nightly", "*/5 * * * * resolve")
    assert nightly is not None
    kinds = job_kinds()
    with sessions() as session, session.begin():
        create_due_jobs(
            session, [nightly], kinds, now=datetime(2026, 12, 4, 8, 0, tzinfo=SHANGHAI), zone=SHANGHAI
        )
    slot_time = datetime(2026, 12, 4, 8, 5, 1, tzinfo=SHANGHAI)
    created: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def scheduler() -> None:
        start.wait()
        for attempt in range(20):
            try:
                with sessions() as session, session.begin():
                    made = create_due_jobs(session, [nightly], kinds, now=slot_time, zone=SHANGHAI)
                    created.extend(job.id for job in made)
                return
            except (
                Exception
            ) as err:  # SQLite: "database is locked" under contention: a real scheduler retries
                if attempt == 19:
                    errors.append(err)

    threads = [threading.Thread(target=scheduler) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(created) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 2  # 08:00 and 08:05
