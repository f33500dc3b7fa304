"""Definitions in the app database; preview, refresh history and export in the warehouse."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from ibis.backends import BaseBackend
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.appdb.audit import AuditEntry
from guanxi.errors import GuanxiError, NotFoundError
from guanxi.segments import (
    SEGMENT_MEMBERS,
    SEGMENT_MEMBERSHIP,
    SegmentSpecError,
    archive_segment,
    create_segment,
    get_segment,
    list_segments,
    members,
    preview,
    refresh,
    spec_of,
    update_segment,
)
from guanxi.segments.service import member_ids
from tests.progress_calls import ProgressCalls

from .scenario import AS_OF

RECENT = {"where": {"behaviour": "bought", "within_days": 10}}
"""Bought in the last 10 days: {5} on 2024-12-31, {2} on 2025-01-10, nobody on 2025-01-20."""

D1, D2, D3 = AS_OF, date(2025, 1, 10), date(2025, 1, 20)


def spans(con: BaseBackend, key: str) -> set[tuple[int, date, date | None]]:
    t = con.table(SEGMENT_MEMBERSHIP.name)
    rows = t.filter(t.segment_key == key).to_pyarrow().to_pylist()
    return {(r["customer_id"], r["entered_on"], r["left_on"]) for r in rows}


def current(con: BaseBackend, key: str) -> set[tuple[int, date]]:
    t = con.table(SEGMENT_MEMBERS.name)
    rows = t.filter(t.segment_key == key).to_pyarrow().to_pylist()
    return {(r["customer_id"], r["as_of"]) for r in rows}


def counts(result: Any) -> tuple[int, int, int]:
    return result.members, result.entered, result.left


def test_create_get_list_update_and_archive(app_session: Session, now: datetime) -> None:
    created = create_segment(app_session, "big", {"where": "clv >= 500"}, actor="cli", now=now)
    assert (created.name, created.description, created.archived) == ("big", "", False)
    assert created.spec == {"where": {"score": "clv", "op": ">=", "value": 500}}
    create_segment(
        app_session,
        "gd",
        {"name": "广东", "where": "province = 广东"},
        actor="user:ana",
        now=now,
        description="d",
    )
    assert [s.key for s in list_segments(app_session)] == ["big", "gd"]
    assert get_segment(app_session, "gd").name == "广东"

    update_segment(app_session, "big", actor="user:ana", now=now, spec={"where": "clv >= 700"}, name="Big")
    assert spec_of(get_segment(app_session, "big")).to_data()["where"]["value"] == 700
    assert get_segment(app_session, "big").updated_by == "user:ana"

    archive_segment(app_session, "gd", actor="cli", now=now)
    assert [s.key for s in list_segments(app_session)] == ["big"]
    assert [s.key for s in list_segments(app_session, include_archived=True)] == ["big", "gd"]
    actions = app_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["segment.create", "segment.create", "segment.update", "segment.archive"]


def test_keys_are_unique_and_well_formed(app_session: Session, now: datetime) -> None:
    create_segment(app_session, "big", {"where": "clv >= 500"}, actor="cli", now=now)
    with pytest.raises(GuanxiError) as taken:
        create_segment(app_session, "big", {"where": "clv >= 1"}, actor="cli", now=now)
    assert taken.value.code == "already_exists"
    with pytest.raises(SegmentSpecError, match="lower-case"):
        create_segment(app_session, "Big One", {"where": "clv >= 1"}, actor="cli", now=now)
    with pytest.raises(NotFoundError):
        get_segment(app_session, "nope")


def test_references_must_exist_and_must_not_form_a_cycle(app_session: Session, now: datetime) -> None:
    with pytest.raises(SegmentSpecError) as unknown:
        create_segment(app_session, "a", {"where": {"segment": "b"}}, actor="cli", now=now)
    assert unknown.value.problems[0].code == "unknown_segment"
    create_segment(app_session, "b", {"where": "clv > 1"}, actor="cli", now=now)
    create_segment(app_session, "a", {"where": {"segment": "b"}}, actor="cli", now=now)
    with pytest.raises(SegmentSpecError) as cycle:
        update_segment(app_session, "b", actor="cli", now=now, spec={"where": {"not": {"segment": "a"}}})
    assert [(p.path, p.code) for p in cycle.value.problems] == [("where.not.segment", "segment_cycle")]
    with pytest.raises(GuanxiError) as in_use:
        archive_segment(app_session, "b", actor="cli", now=now)
    assert in_use.value.code == "segment_in_use"


def test_preview_counts_and_samples_without_writing(
    scenario: BaseBackend, app_session: Session, now: datetime
) -> None:
    create_segment(app_session, "big", {"where": "clv >= 500"}, actor="cli", now=now)
    stored = preview(scenario, app_session, "big", as_of=AS_OF, sample=2)
    assert stored.count == 3
    assert stored.sample == [
        {"customer_id": 1, "name": "一", "gender": "F", "province": "广东", "city": "深圳"},
        {"customer_id": 3, "name": "三", "gender": "F", "province": "浙江", "city": "杭州"},
    ]
    unsaved = preview(
        scenario, app_session, {"where": {"all": [{"segment": "big"}, "province = 广东"]}}, as_of=AS_OF
    )
    assert (unsaved.count, [r["customer_id"] for r in unsaved.sample]) == (1, [1])
    assert SEGMENT_MEMBERS.name not in scenario.list_tables()


def test_refresh_records_entries_and_exits_between_runs(
    scenario: BaseBackend, app_session: Session, now: datetime
) -> None:
    create_segment(app_session, "recent", RECENT, actor="cli", now=now)

    [first] = refresh(scenario, app_session, ["recent"], as_of=D1, now=now)
    assert counts(first) == (1, 1, 0)
    assert spans(scenario, "recent") == {(5, D1, None)}
    assert current(scenario, "recent") == {(5, D1)}

    [second] = refresh(scenario, app_session, ["recent"], as_of=D2, now=now)
    assert counts(second) == (1, 1, 1)
    assert spans(scenario, "recent") == {(5, D1, D2), (2, D2, None)}
    assert current(scenario, "recent") == {(2, D2)}
    row = get_segment(app_session, "recent")
    assert (row.last_as_of, row.member_count, row.last_refreshed_at) == (D2, 1, now)

    [third] = refresh(scenario, app_session, ["recent"], as_of=D3, now=now)
    assert counts(third) == (0, 0, 1)
    assert spans(scenario, "recent") == {(5, D1, D2), (2, D2, D3)}
    assert current(scenario, "recent") == set()


def test_refreshing_the_same_date_again_changes_nothing(
    scenario: BaseBackend, app_session: Session, now: datetime
) -> None:
    create_segment(app_session, "recent", RECENT, actor="cli", now=now)
    refresh(scenario, app_session, ["recent"], as_of=D1, now=now)
    [once] = refresh(scenario, app_session, ["recent"], as_of=D2, now=now)
    before = (spans(scenario, "recent"), current(scenario, "recent"))
    [again] = refresh(scenario, app_session, ["recent"], as_of=D2, now=now)
    assert counts(again) == counts(once) == (1, 1, 1)
    assert (spans(scenario, "recent"), current(scenario, "recent")) == before
    assert scenario.table(SEGMENT_MEMBERSHIP.name).count().execute() == 2
    assert not [t for t in scenario.list_tables() if t.startswith("segment_staging_")]


def test_refreshing_an_earlier_date_rewinds_later_history(
    scenario: BaseBackend, app_session: Session, now: datetime
) -> None:
    create_segment(app_session, "recent", RECENT, actor="cli", now=now)
    for day in (D1, D2, D3):
        refresh(scenario, app_session, ["recent"], as_of=day, now=now)
    [rewound] = refresh(scenario, app_session, ["recent"], as_of=D2, now=now)
    assert counts(rewound) == (1, 1, 1)
    assert spans(scenario, "recent") == {(5, D1, D2), (2, D2, None)}


def test_a_customer_who_comes_back_gets_a_second_span(
    scenario: BaseBackend, app_session: Session, now: datetime
) -> None:
    create_segment(app_session, "recent", RECENT, actor="cli", now=now)
    for day in (D1, D2, D3):
        refresh(scenario, app_session, ["recent"], as_of=day, now=now)
    update_segment(app_session, "recent", actor="cli", now=now, spec={"where": "province = 上海"})
    [back] = refresh(scenario, app_session, ["recent"], as_of=date(2025, 2, 1), now=now)
    assert counts(back) == (1, 1, 0)
    assert spans(scenario, "recent") == {(5, D1, D2), (2, D2, D3), (5, date(2025, 2, 1), None)}


def test_refresh_without_keys_refreshes_every_live_segment(
    scenario: BaseBackend, app_session: Session, now: datetime
) -> None:
    create_segment(app_session, "big", {"where": "clv >= 500"}, actor="cli", now=now)
    create_segment(app_session, "gd", {"where": "province = 广东"}, actor="cli", now=now)
    create_segment(app_session, "old", {"where": "province = 北京"}, actor="cli", now=now)
    archive_segment(app_session, "old", actor="cli", now=now)
    results = refresh(scenario, app_session, as_of=AS_OF, now=now)
    assert {(r.key, r.members) for r in results} == {("big", 3), ("gd", 3)}
    with pytest.raises(GuanxiError) as archived:
        refresh(scenario, app_session, ["old"], as_of=AS_OF, now=now)
    assert archived.value.code == "segment_archived"


def test_members_export_carries_the_golden_record(
    scenario: BaseBackend, app_session: Session, now: datetime
) -> None:
    create_segment(app_session, "gd", {"where": "province = 广东"}, actor="cli", now=now)
    [result] = refresh(scenario, app_session, ["gd"], as_of=AS_OF, now=now)
    rows = members(scenario, "gd").to_pyarrow().to_pylist()
    assert [(r["customer_id"], r["name"], r["phone"], r["as_of"]) for r in rows] == [
        (1, "一", "+8613800000001", AS_OF),
        (2, "二", None, AS_OF),
        (6, "六", None, AS_OF),
    ]
    assert {r["run_id"] for r in rows} == {result.run_id}
    assert member_ids(scenario, "gd").count().execute() == 3


def test_refresh_checks_every_key_before_writing(
    scenario: BaseBackend, app_session: Session, now: datetime
) -> None:
    create_segment(app_session, "gd", {"where": "province = 广东"}, actor="cli", now=now)
    with pytest.raises(NotFoundError):
        refresh(scenario, app_session, ["gd", "ghost"], as_of=AS_OF, now=now)
    assert SEGMENT_MEMBERS.name not in scenario.list_tables()
    assert get_segment(app_session, "gd").last_as_of is None


def test_refresh_reports_each_segment_in_order_and_keeps_the_results(
    scenario: BaseBackend, app_session: Session, now: datetime
) -> None:
    # given two live segments refreshed once without progress
    create_segment(app_session, "big", {"where": "clv >= 500"}, actor="cli", now=now)
    create_segment(app_session, "gd", {"where": "province = 广东"}, actor="cli", now=now)
    plain = refresh(scenario, app_session, as_of=AS_OF, now=now)
    before = {key: current(scenario, key) for key in ("big", "gd")}
    calls = ProgressCalls()
    # when refreshing them again for the same date with a progress callable
    reported = refresh(scenario, app_session, as_of=AS_OF, now=now, progress=calls)
    # then each segment is reported by key as it starts, then the end
    assert calls.calls == [(0, 2, "big"), (1, 2, "gd"), (2, 2, "done")]
    calls.assert_well_formed()
    # and the results and members are those of the run without progress
    assert [(r.key, *counts(r)) for r in reported] == [(r.key, *counts(r)) for r in plain]
    assert {key: current(scenario, key) for key in ("big", "gd")} == before


def test_refreshing_no_segments_reports_the_end_at_once(
    scenario: BaseBackend, app_session: Session, now: datetime
) -> None:
    calls = ProgressCalls()
    assert refresh(scenario, app_session, as_of=AS_OF, now=now, progress=calls) == []
    assert calls.calls == [(0, 0, "done")]
