"""The manual block list and the review queue of the probabilistic grey zone."""

from __future__ import annotations

from collections.abc import Callable

import ibis
import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.errors import NotFoundError
from guanxi.identity import (
    IdentityInputError,
    IdentityRules,
    block_add,
    block_list,
    block_remove,
    decide_reviews,
    resolve,
    review_queue,
)
from guanxi.identity.links import replace_probabilistic

from .conftest import LATER, NOW, partition

PAIRS_SCHEMA = {
    "left_source": "string",
    "left_source_customer_id": "string",
    "right_source": "string",
    "right_source_customer_id": "string",
    "match_probability": "float64",
}


def test_a_blocked_phone_stops_linking_until_it_is_removed(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given two buyers linked only by a phone
    con = load("two_profiles_same_phone")
    # when the phone is blocked, written the way a person types it
    entry = block_add(con, settings, "phone", "139 1234 5001", reason="courier", actor="ops", now=NOW)
    resolve(con, settings, now=NOW)
    # then it is stored canonical, flagged and links nobody
    assert (entry.kind, entry.value) == ("phone", "+8613912345001")
    assert len(partition(con)) == 3
    flags = con.table("identity_identifier_flags").select("value", "reason", "record_count")
    assert flags.to_pyarrow().to_pylist() == [
        {"value": "+8613912345001", "reason": "blocked", "record_count": 2}
    ]
    # adding it again changes nothing
    assert block_add(con, settings, "phone", "+8613912345001", reason="x", actor="y", now=LATER) == entry
    assert [e.value for e in block_list(con)] == ["+8613912345001"]
    # when it is removed the two buyers link again
    block_remove(con, settings, "phone", "13912345001")
    resolve(con, settings, now=LATER)
    assert len(partition(con)) == 2
    assert block_list(con) == []


def test_block_list_rejects_bad_input(memory_warehouse: BaseBackend, settings: Settings) -> None:
    with pytest.raises(IdentityInputError, match="unknown identifier kind"):
        block_add(memory_warehouse, settings, "fax", "123", reason="", actor="ops", now=NOW)
    with pytest.raises(IdentityInputError, match="not a valid phone"):
        block_add(memory_warehouse, settings, "phone", "12", reason="", actor="ops", now=NOW)
    with pytest.raises(NotFoundError):
        block_remove(memory_warehouse, settings, "email", "nobody@example.cn")


def _propose(con: BaseBackend, pairs: list[tuple[str, str, str, str, float]]) -> None:
    table = ibis.memtable(
        {name: [p[i] for p in pairs] for i, name in enumerate(PAIRS_SCHEMA)}, schema=PAIRS_SCHEMA
    )
    replace_probabilistic(con, table, IdentityRules(), NOW)


def test_grey_zone_pairs_wait_for_review_and_decisions_stick(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given three unrelated customers and two proposed pairs in the grey zone
    con = load("chain_via_email_then_unionid")
    con.create_table(
        "raw_customers", con.table("raw_customers").filter(lambda t: t.source == "crm"), overwrite=True
    )
    _propose(con, [("crm", "c-101", "crm", "c-102", 0.90)])
    resolve(con, settings, now=NOW)
    queue = review_queue(con).to_pyarrow().to_pylist()
    # then the pair is queued and the customers stay apart
    assert [(q["link_id"], q["left_customer_id"], q["right_customer_id"]) for q in queue] == [(1, 1, 2)]
    assert len(partition(con)) == 2
    # when a person rejects it, the next matching run proposes it again at a higher score
    decide_reviews(con, settings, {1: False}, now=LATER, actor="ops")
    _propose(con, [("crm", "c-101", "crm", "c-102", 0.99)])
    resolve(con, settings, now=LATER)
    # then the rejection holds
    assert len(partition(con)) == 2
    assert review_queue(con).count().execute() == 0
    with pytest.raises(IdentityInputError, match="rejected"):
        decide_reviews(con, settings, {1: True}, now=LATER, actor="ops")


def test_accepting_a_review_item_merges_and_high_scores_link_directly(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    con = load("two_profiles_same_phone")
    # given a pair in the grey zone
    _propose(con, [("crm", "c-0007", "jd", "jd_88231", 0.85)])
    report = resolve(con, settings, now=NOW)
    assert report.review_pending == 1
    # when the grey-zone pair is accepted
    report = decide_reviews(con, settings, {1: True}, now=LATER, actor="ops")
    # then everything is one customer with the oldest member's id
    assert partition(con) == {frozenset({"crm:c-0007", "taobao:tb_wang01", "jd:jd_88231"})}
    assert report.review_pending == 0
    links = con.table("identity_links").select("origin", "status", "actor").to_pyarrow().to_pylist()
    assert links == [{"origin": "review", "status": "linked", "actor": "ops"}]


def test_a_pair_above_the_threshold_links_without_review(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    con = load("placeholder_email_not_merged")
    _propose(con, [("shopify", "sh-1", "shopify", "sh-2", 0.97)])
    report = resolve(con, settings, now=NOW)
    assert len(partition(con)) == 1
    assert (report.probabilistic_links, report.review_pending) == (1, 0)
