"""The loader: spooled messages land in raw_events / raw_customers through the import's normalisation,
each once, also when a pass is repeated after a crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ibis.backends import BaseBackend

from guanxi.events import loader, spool
from guanxi.events.loader import LoadReport
from tests.events.conftest import rows

Post = Callable[..., Any]
Load = Callable[..., LoadReport]

SENT = "2026-03-01T08:30:00Z"
"""The clients' clocks are an hour behind the server's (09:30 UTC = 17:30 in Shanghai)."""


def events(con: BaseBackend) -> dict[str, dict[str, Any]]:
    return {r["event_id"]: r for r in rows(con, "SELECT * FROM raw_events ORDER BY event_id")}


def customers(con: BaseBackend) -> dict[str, dict[str, Any]]:
    return {r["source_customer_id"]: r for r in rows(con, "SELECT * FROM raw_customers")}


def test_each_call_type_lands_in_raw_events_with_its_columns(
    post: Post, load: Load, warehouse: BaseBackend
) -> None:
    batch = [
        {
            "type": "track",
            "messageId": "t1",
            "userId": "u1",
            "anonymousId": "a1",
            "event": "Order Completed",
            "timestamp": "2026-03-01T08:25:00Z",
            "properties": {"revenue": 99.5, "sku": "ＳＫＵ１"},
            "context": {"ip": "1.2.3.4", "traits": {"phone": "138 1234 5678"}, "userAgent": "Mozilla"},
            "channel": "browser",
        },
        {
            "type": "identify",
            "messageId": "i1",
            "userId": "u1",
            "timestamp": "2026-03-01T08:26:00Z",
            "traits": {"email": "Li.Si@Example.COM", "phone": "+86 139-0000-1111"},
        },
        {
            "type": "page",
            "messageId": "p1",
            "anonymousId": "a1",
            "name": "首页",
            "timestamp": "2026-03-01T08:27:00Z",
        },
        {
            "type": "screen",
            "messageId": "s1",
            "userId": "u1",
            "name": "Cart",
            "context": {"channel": "mobile"},
        },
        {"type": "alias", "messageId": "a1", "previousId": "anon-7", "userId": "u1"},
        {"type": "group", "messageId": "g1", "userId": "u1", "groupId": "acme", "traits": {"name": "Acme"}},
    ]
    assert post("batch", {"batch": batch, "sentAt": SENT}).status_code == 200
    report = load()
    assert (report.claimed, report.skipped) == (6, 0)
    got = events(warehouse)
    assert {k: (v["type"], v["event"]) for k, v in got.items()} == {
        "t1": ("track", "Order Completed"),
        "i1": ("identify", None),
        "p1": ("page", "首页"),
        "s1": ("screen", "Cart"),
        "a1": ("alias", None),
        "g1": ("group", None),
    }
    track = got["t1"]
    assert track["occurred_at"] == datetime(2026, 3, 1, 17, 25)  # 08:25 client = 09:25 UTC, in Asia/Shanghai
    assert (track["source"], track["source_customer_id"], track["anonymous_id"]) == ("segment", "u1", "a1")
    assert (track["channel"], track["phone"]) == ("browser", "+8613812345678")
    assert json.loads(track["properties"]) == {"revenue": 99.5, "sku": "ＳＫＵ１"}
    extra = json.loads(track["extra"])
    assert json.loads(extra["context"])["ip"] == "1.2.3.4"
    assert (extra["timestamp"], extra["sentAt"]) == ("2026-03-01T08:25:00Z", SENT)
    assert (got["i1"]["email"], got["i1"]["phone"]) == ("li.si@example.com", "+8613900001111")
    assert got["s1"]["channel"] == "mobile"
    assert got["s1"]["occurred_at"] == datetime(2026, 3, 1, 17, 30)  # no timestamp: received at
    assert (got["a1"]["source_customer_id"], got["a1"]["anonymous_id"]) == ("u1", "anon-7")
    assert json.loads(got["g1"]["extra"])["groupId"] == "acme"
    assert json.loads(got["g1"]["properties"]) == {"name": "Acme"}
    assert {r.kind for r in report.imports} == {"events", "customers"}


def test_wechat_ids_come_from_integrations_or_the_traits(
    post: Post, load: Load, warehouse: BaseBackend
) -> None:
    batch = [
        {
            "type": "track",
            "messageId": "w1",
            "anonymousId": "x",
            "event": "Shared",
            "integrations": {"WeChat": {"openid": "oAbc123", "unionid": "uAbc999", "appid": "wx42"}},
        },
        {
            "type": "track",
            "messageId": "w2",
            "anonymousId": "y",
            "event": "Shared",
            "context": {"traits": {"wechat_openid": "oDef456", "unionid": "uDef"}},
        },
    ]
    assert post("batch", {"batch": batch}).status_code == 200
    load()
    got = events(warehouse)
    assert (got["w1"]["wechat_openid"], got["w1"]["wechat_unionid"]) == ("oAbc123", "uAbc999")
    assert json.loads(got["w1"]["extra"])["wechat_appid"] == "wx42"
    assert (got["w2"]["wechat_openid"], got["w2"]["wechat_unionid"]) == ("oDef456", "uDef")


def test_identify_traits_upsert_raw_customers_and_later_calls_update_only_what_they_say(
    post: Post, load: Load, warehouse: BaseBackend
) -> None:
    first = {
        "userId": "u1",
        "messageId": "i1",
        "timestamp": "2026-03-01T08:00:00Z",
        "traits": {
            "firstName": "四",
            "lastName": "李",
            "phone": "13812345678",
            "email": "LI@EXAMPLE.COM",
            "gender": "男",
            "birthday": "1990-05-01",
            "createdAt": "2025-01-02T03:04:05Z",
            "address": {"street": "广东省深圳市南山区科技园1号"},
            "vip": True,
        },
        "integrations": {"WeChat": {"openid": "o1", "appid": "wx1"}},
    }
    post("identify", first)
    load()
    (stored,) = customers(warehouse).values()
    assert (stored["source"], stored["source_customer_id"], stored["name"]) == ("segment", "u1", "李四")
    assert (stored["phone"], stored["email"], stored["gender"]) == ("+8613812345678", "li@example.com", "M")
    assert str(stored["birthday"]) == "1990-05-01"
    assert stored["registered_at"] == datetime(2025, 1, 2, 11, 4, 5)
    assert (stored["province"], stored["city"], stored["district"]) == ("广东省", "深圳市", "南山区")
    assert (stored["wechat_openid"], stored["wechat_appid"]) == ("o1", "wx1")
    assert json.loads(json.loads(stored["extra"])["traits"])["vip"] is True

    post(
        "identify", {"userId": "u1", "messageId": "i2", "traits": {"email": "new@example.com", "plan": "pro"}}
    )
    load()
    (updated,) = customers(warehouse).values()
    assert (updated["email"], updated["phone"], updated["name"]) == (
        "new@example.com",
        "+8613812345678",
        "李四",
    )
    assert updated["updated_at"] == datetime(2026, 3, 1, 17, 30)
    assert json.loads(json.loads(updated["extra"])["traits"]) == {
        **first["traits"],
        "email": "new@example.com",
        "plan": "pro",
    }


def test_several_identifies_of_one_user_in_a_pass_fold_into_the_newest(
    post: Post, load: Load, warehouse: BaseBackend
) -> None:
    batch = [
        {
            "type": "identify",
            "userId": "u1",
            "messageId": "b",
            "timestamp": "2026-03-01T09:00:00Z",
            "traits": {"email": "b@example.com"},
        },
        {
            "type": "identify",
            "userId": "u1",
            "messageId": "a",
            "timestamp": "2026-03-01T08:00:00Z",
            "traits": {"email": "a@example.com", "phone": "13812345678"},
        },
    ]
    post("batch", {"batch": batch})
    report = load()
    (stored,) = customers(warehouse).values()
    assert (stored["email"], stored["phone"]) == ("b@example.com", "+8613812345678")
    assert next(r for r in report.imports if r.kind == "customers").warnings == 0


def test_identify_without_user_id_or_identifying_traits_makes_no_customer_row(
    post: Post, load: Load, warehouse: BaseBackend
) -> None:
    post("identify", {"anonymousId": "a1", "messageId": "i1", "traits": {"plan": "free"}})
    post("identify", {"anonymousId": "a2", "messageId": "i2", "traits": {"email": "x@example.com"}})
    load()
    assert list(customers(warehouse)) == ["x@example.com"]
    assert set(events(warehouse)) == {"i1", "i2"}


def test_a_bad_cell_is_quarantined_with_the_message_id_and_the_event_kept(
    post: Post, load: Load, warehouse: BaseBackend
) -> None:
    post(
        "track",
        {
            "userId": "u1",
            "event": "Signed Up",
            "messageId": "q1",
            "context": {"traits": {"email": "not-an-email"}},
        },
    )
    report = load()
    got = events(warehouse)["q1"]
    assert got["email"] is None
    (entry,) = rows(warehouse, "SELECT * FROM import_quarantine")
    assert (entry["column_name"], entry["value"], entry["reason"]) == (
        "email",
        "not-an-email",
        "invalid_email",
    )
    assert entry["file_name"] == f"http:segment:{report.batch}"
    assert entry["row_number"] == 1
    assert json.loads(entry["raw_row"])["event_id"] == "q1"
    (batch,) = rows(warehouse, "SELECT * FROM import_batches WHERE kind = 'events'")
    assert (batch["preset"], batch["file_format"], batch["rows_loaded"], batch["warnings"]) == (
        "segment-events",
        "segment",
        1,
        1,
    )


def test_duplicates_by_message_id_are_stored_once_across_batches_and_reloads(
    post: Post, load: Load, warehouse: BaseBackend
) -> None:
    message = {"type": "track", "userId": "u1", "event": "Paid", "messageId": "d1"}
    post("batch", {"batch": [message, {**message, "messageId": "d2"}]})
    load()
    # The client retries after the first copy was loaded: a new spool row, found already stored.
    post("batch", {"batch": [{**message, "event": "Paid again"}, {**message, "messageId": "d3"}]})
    report = load()
    assert (report.claimed, report.skipped) == (2, 1)
    got = rows(
        warehouse, "SELECT event_id, event, count(*) OVER (PARTITION BY event_id) AS n FROM raw_events"
    )
    assert sorted((r["event_id"], r["event"], r["n"]) for r in got) == [
        ("d1", "Paid", 1),
        ("d2", "Paid", 1),
        ("d3", "Paid", 1),
    ]


def test_a_crash_after_the_warehouse_commit_repeats_the_claim_and_stores_nothing_twice(
    client: TestClient, post: Post, load: Load, warehouse: BaseBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    post(
        "batch",
        {
            "batch": [
                {"type": "identify", "userId": "u1", "messageId": "c1", "traits": {"phone": "13812345678"}},
                {
                    "type": "track",
                    "userId": "u1",
                    "event": "Paid",
                    "messageId": "c2",
                    "context": {"traits": {"email": "bad"}},
                },
            ]
        },
    )

    def crash(*_args: Any, **_kwargs: Any) -> int:
        raise KeyboardInterrupt("killed between the warehouse commit and the spool delete")

    monkeypatch.setattr(spool, "release", crash)
    with pytest.raises(KeyboardInterrupt):
        load()
    monkeypatch.undo()
    assert len(events(warehouse)) == 2
    with client.app.state.guanxi.sessions() as session:  # type: ignore[attr-defined]
        assert spool.waiting(session) == 2
    post("track", {"userId": "u2", "event": "Later", "messageId": "c3"})
    again = load()
    assert (again.claimed, again.skipped) == (2, 2)  # the old claim first, whole
    assert load().claimed == 1
    assert load().claimed == 0
    assert sorted(events(warehouse)) == ["c1", "c2", "c3"]
    assert len(customers(warehouse)) == 1
    assert len(rows(warehouse, "SELECT * FROM import_quarantine")) == 1


def test_a_crash_between_the_customers_and_the_events_merge_is_repaired_by_the_next_pass(
    post: Post, load: Load, warehouse: BaseBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    post("identify", {"userId": "u1", "messageId": "c1", "traits": {"email": "a@example.com"}})
    real_merge = loader._merge
    calls: list[str] = []

    def merge_then_die(raw: Any, settings: Any, kind: str, *args: Any) -> Any:
        calls.append(kind)
        if kind == "events":
            raise RuntimeError("the warehouse went away")
        return real_merge(raw, settings, kind, *args)

    monkeypatch.setattr(loader, "_merge", merge_then_die)
    with pytest.raises(RuntimeError):
        load()
    monkeypatch.undo()
    assert calls == ["customers", "events"]
    assert len(customers(warehouse)) == 1
    assert events(warehouse) == {}
    report = load()
    assert [(r.kind, r.rows_inserted, r.rows_unchanged) for r in report.imports] == [
        ("customers", 0, 1),
        ("events", 1, 0),
    ]


def test_a_pass_takes_at_most_its_limit_in_arrival_order(
    post: Post, load: Load, warehouse: BaseBackend
) -> None:
    post(
        "batch",
        {"batch": [{"type": "track", "userId": "u", "event": "E", "messageId": f"m{i}"} for i in range(5)]},
    )
    assert load(limit=3).claimed == 3
    assert sorted(events(warehouse)) == ["m0", "m1", "m2"]
    assert load(limit=3).claimed == 2
    assert load().claimed == 0


def test_an_empty_spool_is_a_pass_that_does_nothing(load: Load, warehouse: BaseBackend) -> None:
    report = load()
    assert (report.batch, report.claimed, report.imports) == (None, 0, [])
    assert rows(warehouse, "SELECT * FROM import_batches") == []


def test_the_loader_is_registered_as_a_service_every_events_load_seconds() -> None:
    from guanxi.jobs.registry import services

    service = services()["events-loader"]
    assert service.run is loader.load_spooled
    assert service.interval(loader_settings(events_load_seconds=0.5)) == 0.5
    assert service.writes_warehouse


def loader_settings(**values: Any) -> Any:
    from guanxi.config import get_settings

    return get_settings(env="test", **values)


def test_with_events_resolve_the_new_records_get_customer_ids_after_the_pass(
    client: TestClient, post: Post, warehouse: BaseBackend, events_settings: Any, now: datetime
) -> None:
    from guanxi.jobs.kinds import JobContext

    post("identify", {"userId": "u1", "messageId": "i1", "traits": {"phone": "13812345678", "name": "李四"}})
    post(
        "track",
        {
            "userId": "u2",
            "event": "Paid",
            "messageId": "t1",
            "context": {"traits": {"phone": "138 1234 5678"}},
        },
    )
    state = client.app.state.guanxi  # type: ignore[attr-defined]
    settings = events_settings.model_copy(update={"events_resolve": True})
    context = JobContext(settings=settings, warehouse=warehouse, sessions=state.sessions, now=now)
    report = loader.load_pass(context)
    assert report.written == 3
    assert "identity_map" not in warehouse.list_tables()  # the loader only loads; the resolver resolves
    assert loader.resolve_pass(context) == 2
    mapped = rows(warehouse, "SELECT source_customer_id, customer_id FROM identity_map ORDER BY 1")
    assert [r["source_customer_id"] for r in mapped] == ["u1", "u2"]
    assert all(r["customer_id"] is not None for r in mapped)
    golden = {r["name"]: r["phone"] for r in rows(warehouse, "SELECT name, phone FROM customers")}
    assert golden.get("李四") == "+8613812345678"
