"""Incremental resolution: micro-batches join, create or wait; merges and splits are left to the full resolve.

Every scenario starts from a warehouse resolved in full at NOW (rows ingested at
10:00); the batches are ingested after it and resolved a few seconds later.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.identity import IncrementalReport, block_add, resolve, resolve_incremental
from guanxi.identity import incremental as incremental_module
from guanxi.identity.deferred import needs_full_resolve, pending_notes
from guanxi.identity.deltas import Execute, Transaction
from guanxi.identity.links import add_manual_link

from .conftest import NOW, ids, insert_rows, partition

BEFORE = "2024-06-01 10:00:00"
SOON = datetime(2024, 6, 1, 12, 0, 10)
LATER = datetime(2024, 6, 1, 12, 0, 20)

OUTPUTS = (
    "identity_map",
    "customers",
    "customer_source_values",
    "company_contacts",
    "customer_companies",
    "identity_identifiers",
    "identity_records",
    "identity_history",
)


def profile(source: str, record: str, *, ingested: str = BEFORE, **fields: str) -> dict[str, Any]:
    """A raw_customers row (an identify call, or a platform profile)."""
    return {"source": source, "source_customer_id": record, "ingested_at": ingested, **fields}


def event(source: str, record: str, event_id: str, *, ingested: str, **fields: str) -> dict[str, Any]:
    """A raw_events row (a track call)."""
    row = {"source": source, "source_customer_id": record, "event_id": event_id, "type": "track"}
    return {**row, "event": "view", "occurred_at": ingested, "ingested_at": ingested, **fields}


def at(seconds: int) -> str:
    """An ingestion time a few seconds after the full resolve at NOW."""
    return f"2024-06-01 12:00:{seconds:02d}"


def snapshot(con: BaseBackend, tables: tuple[str, ...] = OUTPUTS) -> dict[str, list[dict[str, Any]]]:
    """Every output table's rows in a fixed order (a table not created yet has none)."""
    result: dict[str, list[dict[str, Any]]] = {}
    existing = set(con.list_tables())
    for name in tables:
        if name not in existing:
            result[name] = []
            continue
        table = con.table(name)
        result[name] = table.order_by(list(table.columns)).to_pyarrow().to_pylist()
    flags = con.table("identity_identifier_flags").drop("flagged_at")
    result["flags"] = flags.order_by(list(flags.columns)).to_pyarrow().to_pylist()
    return result


@pytest.fixture
def resolved(memory_warehouse: BaseBackend, settings: Settings) -> Callable[..., BaseBackend]:
    """Load profiles and resolve them in full at NOW."""

    def _resolved(*rows: dict[str, Any], config: Settings = settings) -> BaseBackend:
        insert_rows(memory_warehouse, "customers", list(rows))
        resolve(memory_warehouse, config, now=NOW)
        return memory_warehouse

    return _resolved


WANG = profile("taobao", "tb-wang", name="王芳", phone="+8613811110001", registered_at="2021-01-01 00:00:00")
LI = profile("jd", "jd-li", name="李雷", email="li.lei@example.cn", registered_at="2022-01-01 00:00:00")


def test_a_new_event_with_the_phone_of_an_existing_customer_joins_it(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    # given 王芳 and 李雷, resolved
    con = resolved(WANG, LI)
    # when a web visitor's event carries 王芳's phone
    insert_rows(con, "events", [event("web", "u-1", "e1", ingested=at(5), phone="+8613811110001")])
    report = resolve_incremental(con, settings, now=SOON)
    # then the visitor joins 王芳's customer; nothing waits for a full resolve
    assert ids(con)["web:u-1"] == ids(con)["taobao:tb-wang"]
    assert (report.new_records, report.joined, report.created, report.needs_full_resolve) == (1, 1, 0, False)
    golden = con.table("customers").filter(lambda t: t.customer_id == ids(con)["taobao:tb-wang"]).execute()
    assert (golden["record_count"][0], golden["sources"][0]) == (2, "taobao,web")


def test_a_visitor_known_by_its_id_only_becomes_a_new_customer_above_every_id_issued(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    # given two customers (ids 1 and 2)
    con = resolved(WANG, LI)
    # when a mini-program visitor, known only by the record id its source gives it, views a page
    insert_rows(con, "events", [event("miniapp", "mp-visitor-7f3a", "e1", ingested=at(5))])
    report = resolve_incremental(con, settings, now=SOON)
    # then it is a customer of its own, id 3, with a create event
    assert ids(con)["miniapp:mp-visitor-7f3a"] == 3
    assert (report.created, report.joined) == (1, 0)
    history = con.table("identity_history").filter(lambda t: t.customer_id == 3).to_pyarrow().to_pylist()
    assert [(h["event"], h["record_count"], h["run_id"]) for h in history] == [("create", 1, report.run_id)]


def test_an_event_with_only_an_anonymous_id_is_not_a_record(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    # given a resolved warehouse
    con = resolved(WANG, LI)
    # when a track call arrives with an anonymousId and no userId (no source_customer_id, see docs/events.md)
    anonymous = event("web", "", "e1", ingested=at(5), anonymous_id="anon-7f3a")
    insert_rows(con, "events", [anonymous])
    report = resolve_incremental(con, settings, now=SOON)
    # then, as in the full resolve, it makes no customer
    assert (report.records, report.created) == (0, 0)
    assert len(partition(con)) == 2


def test_two_new_records_sharing_an_email_in_one_batch_form_one_new_customer(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    con = resolved(WANG, LI)
    # when two new sources identify the same e-mail in one micro-batch
    insert_rows(
        con,
        "customers",
        [
            profile("youzan", "yz-1", ingested=at(3), name="赵敏", email="zhao.min@example.cn"),
            profile("shopify", "sp-1", ingested=at(4), email="zhao.min@example.cn", city="杭州"),
        ],
    )
    report = resolve_incremental(con, settings, now=SOON)
    # then they are one new customer, whose golden record combines both
    assert frozenset({"youzan:yz-1", "shopify:sp-1"}) in partition(con)
    assert report.created == 1
    customer = ids(con)["youzan:yz-1"]
    golden = con.table("customers").filter(lambda t: t.customer_id == customer).to_pyarrow().to_pylist()[0]
    assert (golden["name"], golden["city"], golden["record_count"]) == ("赵敏", "杭州", 2)


def test_an_identifier_shared_by_more_records_than_the_limit_links_nothing(
    resolved: Callable[..., BaseBackend], strict_settings: Settings
) -> None:
    # given a resolved warehouse and a shared-identifier limit of 3
    con = resolved(WANG, LI, config=strict_settings)
    # when four new buyers arrive with the shop's own phone
    shop = "+8657188886666"
    rows = [profile("youzan", f"yz-{i}", ingested=at(i), phone=shop) for i in range(1, 5)]
    insert_rows(con, "customers", rows)
    report = resolve_incremental(con, strict_settings, now=SOON)
    # then each is a customer of its own and the phone is flagged, as a full resolve would flag it
    assert report.created == 4
    assert {frozenset({f"youzan:yz-{i}"}) for i in range(1, 5)} <= partition(con)
    flags = con.table("identity_identifier_flags").filter(lambda t: t.value == shop).to_pyarrow().to_pylist()
    assert [(f["reason"], f["record_count"]) for f in flags] == [("shared", 4)]
    assert not report.needs_full_resolve


def test_an_identifier_matching_two_customers_is_left_to_the_full_resolve(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    # given 王芳 (id 1, older) and 李雷 (id 2)
    con = resolved(WANG, LI)
    # when a new record carries 王芳's phone and 李雷's e-mail
    bridge = profile("crm", "c-9", ingested=at(5), phone="+8613811110001", email="li.lei@example.cn")
    insert_rows(con, "customers", [bridge])
    report = resolve_incremental(con, settings, now=SOON)
    # then nothing is merged; the new record joins the customer whose id a merge would keep
    mapping = ids(con)
    assert (mapping["taobao:tb-wang"], mapping["jd:jd-li"], mapping["crm:c-9"]) == (1, 2, 1)
    assert (report.needs_full_resolve, report.deferred, report.pending) == (True, 1, 1)
    notes = pending_notes(con).to_pyarrow().to_pylist()
    assert [(n["reason"], n["customer_id"], n["other_customer_id"]) for n in notes] == [("merge", 2, 1)]
    # and the next full resolve merges them the same way, after which nothing is pending
    resolve(con, settings, now=LATER)
    assert ids(con) == {"taobao:tb-wang": 1, "jd:jd-li": 1, "crm:c-9": 1}
    assert not needs_full_resolve(con)


def test_an_existing_record_gaining_another_customers_identifier_is_noted_not_merged(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    con = resolved(WANG, LI)
    # when 李雷's record identifies 王芳's phone
    insert_rows(con, "customers", [profile("jd", "jd-li", ingested=at(5), phone="+8613811110001")])
    report = resolve_incremental(con, settings, now=SOON)
    # then both keep their ids until the full resolve
    assert ids(con) == {"taobao:tb-wang": 1, "jd:jd-li": 2}
    assert report.needs_full_resolve
    # and a later batch linked only to 李雷 joins the customer the merge will keep
    insert_rows(con, "events", [event("web", "u-5", "e5", ingested=at(15), email="li.lei@example.cn")])
    later = resolve_incremental(con, settings, now=LATER)
    assert (ids(con)["web:u-5"], later.deferred, later.pending) == (1, 0, 1)


def test_identify_with_a_new_name_phone_and_city_shows_in_the_golden_record_at_once(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    con = resolved(WANG, LI)
    # when 李雷 identifies himself again with a new name, phone and city
    identify = profile(
        "jd", "jd-li", ingested=at(5), updated_at=at(5), name="李雷雷", phone="+8613900002222", city="成都"
    )
    insert_rows(con, "customers", [identify])
    report = resolve_incremental(con, settings, now=SOON)
    # then his golden record shows them (recent phone; the CRM-less profile's latest name)
    golden = con.table("customers").filter(lambda t: t.customer_id == 2).to_pyarrow().to_pylist()[0]
    assert (golden["phone"], golden["city"], golden["email"]) == (
        "+8613900002222",
        "成都",
        "li.lei@example.cn",
    )
    assert golden["updated_at"] == SOON
    values = con.table("customer_source_values").filter(lambda t: (t.customer_id == 2) & (t.field == "phone"))
    assert values.to_pyarrow().to_pylist()[0]["chosen"]
    assert (report.refreshed, report.new_records) == (1, 0)
    # and 王芳's row is untouched
    wang = con.table("customers").filter(lambda t: t.customer_id == 1).to_pyarrow().to_pylist()[0]
    assert wang["updated_at"] == NOW


def test_a_second_run_with_nothing_new_changes_nothing(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    # given a batch already resolved incrementally
    con = resolved(WANG, LI)
    insert_rows(con, "events", [event("web", "u-1", "e1", ingested=at(5), phone="+8613811110001")])
    resolve_incremental(con, settings, now=SOON)
    before = snapshot(con, (*OUTPUTS, "identity_incremental_runs", "identity_deferred"))
    # when it runs again
    again = resolve_incremental(con, settings, now=LATER)
    # then it finds nothing and writes nothing
    assert snapshot(con, (*OUTPUTS, "identity_incremental_runs", "identity_deferred")) == before
    assert (again.records, again.changed_rows) == (0, {})


def test_a_full_resolve_after_incremental_runs_changes_nothing(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    # given three incremental batches: a join, a new customer of two records, an identify with a company
    con = resolved(WANG, LI)
    insert_rows(con, "events", [event("web", "u-1", "e1", ingested=at(1), phone="+8613811110001")])
    resolve_incremental(con, settings, now=datetime(2024, 6, 1, 12, 0, 2))
    insert_rows(
        con,
        "customers",
        [
            profile(
                "youzan", "yz-1", ingested=at(3), email="zhao@example.cn", company="杭州云帆科技有限公司"
            ),
            profile("shopify", "sp-1", ingested=at(3), email="zhao@example.cn", title="采购经理"),
        ],
    )
    resolve_incremental(con, settings, now=datetime(2024, 6, 1, 12, 0, 4))
    insert_rows(
        con, "customers", [profile("jd", "jd-li", ingested=at(5), company="杭州 云帆科技", title="CTO")]
    )
    resolve_incremental(con, settings, now=SOON)
    before = snapshot(con)
    # when the nightly full resolve runs
    report = resolve(con, settings, now=LATER)
    # then it changes no id, resolved_at, golden record, source value, company or history row
    assert snapshot(con) == before
    assert (report.created, report.merged, report.split) == (0, 0, 0)


def test_a_record_left_for_the_full_resolve_is_placed_by_it(
    resolved: Callable[..., BaseBackend], strict_settings: Settings
) -> None:
    # given three records linked only by one phone (limit 3: it still links them), c-1 with an e-mail
    shared = "+8613700007777"
    rows = [
        profile("crm", f"c-{i}", phone=shared, registered_at=f"202{i}-01-01 00:00:00") for i in range(1, 4)
    ]
    rows[0]["email"] = "c1@example.cn"
    con = resolved(*rows, config=strict_settings)
    assert len(set(ids(con).values())) == 1
    # when a fourth record brings the phone over the limit, and has c-1's e-mail
    insert_rows(
        con, "customers", [profile("web", "w-4", ingested=at(5), phone=shared, email="c1@example.cn")]
    )
    report = resolve_incremental(con, strict_settings, now=SOON)
    # then the customer may split, so where w-4 belongs is left to the full resolve
    assert "web:w-4" not in ids(con)
    assert (report.unplaced, report.needs_full_resolve) == (1, True)
    reasons = sorted(n["reason"] for n in pending_notes(con).to_pyarrow().to_pylist())
    assert reasons == ["split", "unplaced"]
    # and a run with nothing new keeps waiting without writing anything
    assert resolve_incremental(con, strict_settings, now=LATER).changed_rows == {}
    # and the full resolve splits the customer and places the record with c-1
    resolve(con, strict_settings, now=LATER)
    assert partition(con) == {
        frozenset({"crm:c-1", "web:w-4"}),
        frozenset({"crm:c-2"}),
        frozenset({"crm:c-3"}),
    }
    assert not needs_full_resolve(con)


def test_a_new_record_only_sharing_a_newly_flagged_identifier_is_a_customer_of_its_own(
    resolved: Callable[..., BaseBackend], strict_settings: Settings
) -> None:
    # given three records linked only by one phone (limit 3)
    shared = "+8613700007777"
    rows = [
        profile("crm", f"c-{i}", phone=shared, registered_at=f"202{i}-01-01 00:00:00") for i in range(1, 4)
    ]
    con = resolved(*rows, config=strict_settings)
    # when a fourth record brings the phone over the limit
    insert_rows(con, "customers", [profile("web", "w-4", ingested=at(5), phone=shared)])
    report = resolve_incremental(con, strict_settings, now=SOON)
    # then it links to nobody (a full resolve would not link it either), and the split is noted
    assert (ids(con)["web:w-4"], report.created, report.needs_full_resolve) == (2, 1, True)
    resolve(con, strict_settings, now=LATER)
    assert ids(con)["web:w-4"] == 2
    assert len(partition(con)) == 4


def test_a_newly_blocked_identifier_is_a_possible_split(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    # given two records of one customer linked by a phone, which is then blocked
    rows = [profile("crm", "c-1", phone="+8613700007777"), profile("jd", "j-1", phone="+8613700007777")]
    con = resolved(*rows)
    block_add(con, settings, "phone", "+8613700007777", reason="shop phone", actor="ops", now=SOON)
    # when a new record with the phone arrives
    insert_rows(con, "customers", [profile("web", "w-1", ingested=at(5), phone="+8613700007777")])
    report = resolve_incremental(con, settings, now=SOON)
    # then the blocked phone links it to nobody, and the possible split is noted for the full resolve
    assert ids(con)["web:w-1"] == 2
    notes = pending_notes(con).to_pyarrow().to_pylist()
    assert (report.needs_full_resolve, [(n["reason"], n["customer_id"]) for n in notes]) == (
        True,
        [("split", 1)],
    )


def test_wechat_openids_link_only_within_one_app(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    # given a follower of the shop's app
    con = resolved(profile("wechat", "wx-1", wechat_appid="wx_shop", wechat_openid="o_1"))
    # when the same openid arrives from another app, and from the same app
    insert_rows(
        con,
        "customers",
        [
            profile("wechat", "wx-2", ingested=at(5), wechat_appid="wx_service", wechat_openid="o_1"),
            profile("miniapp", "mp-3", ingested=at(5), wechat_appid="wx_shop", wechat_openid="o_1"),
        ],
    )
    resolve_incremental(con, settings, now=SOON)
    # then only the same app's record joins
    assert partition(con) == {frozenset({"wechat:wx-1", "miniapp:mp-3"}), frozenset({"wechat:wx-2"})}


def test_a_never_resolved_warehouse_is_resolved_in_full(
    memory_warehouse: BaseBackend, settings: Settings
) -> None:
    insert_rows(memory_warehouse, "customers", [WANG, LI])
    report = resolve_incremental(memory_warehouse, settings, now=NOW)
    assert report.full_resolve is not None
    assert (report.created, len(partition(memory_warehouse))) == (2, 2)


class _FailingTransaction:
    """A transaction that fails after a number of statements (the process dying mid-publish)."""

    def __init__(self, inner: Transaction, after: int) -> None:
        self.inner, self.after = inner, after

    def __call__(self) -> AbstractContextManager[Execute]:
        @contextmanager
        def block() -> Any:
            with self.inner() as execute:
                done = 0

                def failing(sql: str) -> int:
                    nonlocal done
                    if done == self.after:
                        raise RuntimeError("the warehouse went away")
                    done += 1
                    return execute(sql)

                yield failing

        return block()


def test_a_run_that_fails_while_publishing_leaves_every_table_as_it_was(
    resolved: Callable[..., BaseBackend], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = resolved(WANG, LI)
    insert_rows(con, "events", [event("web", "u-1", "e1", ingested=at(5), phone="+8613811110001")])
    before = snapshot(con, (*OUTPUTS, "identity_incremental_runs", "identity_deferred"))
    real = incremental_module.transaction_for
    monkeypatch.setattr(
        incremental_module, "transaction_for", lambda c: _FailingTransaction(real(c), after=4)
    )
    with pytest.raises(RuntimeError, match="went away"):
        resolve_incremental(con, settings, now=SOON)
    assert snapshot(con, (*OUTPUTS, "identity_incremental_runs", "identity_deferred")) == before
    monkeypatch.undo()
    report: IncrementalReport = resolve_incremental(con, settings, now=SOON)
    assert report.joined == 1


def test_a_new_record_committed_late_is_still_found(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    # given an incremental run that saw rows up to 12:00:05
    con = resolved(WANG, LI)
    insert_rows(con, "events", [event("web", "u-1", "e1", ingested=at(5), phone="+8613811110001")])
    assert resolve_incremental(con, settings, now=SOON).watermark == datetime(2024, 6, 1, 12, 0, 5)
    # when a writer commits a new record stamped before that, and one without ingested_at
    insert_rows(con, "events", [event("web", "u-2", "e2", ingested=at(3), email="li.lei@example.cn")])
    insert_rows(con, "customers", [{"source": "crm", "source_customer_id": "c-7", "name": "周迅"}])
    report = resolve_incremental(con, settings, now=LATER)
    # then both are resolved by the next run
    assert (ids(con)["web:u-2"], report.joined, report.created) == (2, 1, 1)
    assert "crm:c-7" in ids(con)


def test_a_warehouse_without_transactions_is_resolved_in_full(
    resolved: Callable[..., BaseBackend], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = resolved(WANG, LI)
    insert_rows(con, "events", [event("web", "u-1", "e1", ingested=at(5), phone="+8613811110001")])
    monkeypatch.setattr(incremental_module, "transaction_for", lambda c: None)
    report = resolve_incremental(con, settings, now=SOON)
    assert report.full_resolve is not None
    assert ids(con)["web:u-1"] == 1


def test_a_linked_pair_joins_a_new_record_as_the_full_resolve_would(
    resolved: Callable[..., BaseBackend], settings: Settings
) -> None:
    # given a manual link between 王芳's record and a record not seen yet
    con = resolved(WANG, LI)
    add_manual_link(con, ("taobao", "tb-wang"), ("web", "u-9"), reason="same person", actor="ops", now=NOW)
    # when that record's first event arrives, carrying no identifier
    insert_rows(con, "events", [event("web", "u-9", "e9", ingested=at(5))])
    report = resolve_incremental(con, settings, now=SOON)
    # then it joins 王芳, and the full resolve agrees
    assert (ids(con)["web:u-9"], report.joined) == (1, 1)
    before = snapshot(con)
    resolve(con, settings, now=LATER)
    assert snapshot(con) == before
