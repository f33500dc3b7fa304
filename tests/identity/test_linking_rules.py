"""Which identifiers link records: scenario files resolved end to end."""

from __future__ import annotations

from collections.abc import Callable

from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.identity import IdentityRules, resolve, shared_identifiers
from guanxi.identity.rules import CustomIdentifier

from .conftest import NOW, ids, partition


def test_two_profiles_with_the_same_phone_become_one_customer(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given a Taobao and a JD buyer with the same phone, and an unrelated CRM row
    con = load("two_profiles_same_phone")
    # when resolving
    report = resolve(con, settings, now=NOW)
    # then the two buyers share one id; ids follow seniority (the 2020 CRM row is 1)
    assert partition(con) == {frozenset({"taobao:tb_wang01", "jd:jd_88231"}), frozenset({"crm:c-0007"})}
    assert ids(con) == {"crm:c-0007": 1, "taobao:tb_wang01": 2, "jd:jd_88231": 2}
    assert (report.records, report.customers, report.created) == (3, 2, 2)


def test_a_chain_via_email_then_unionid_links_all_three(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given CRM ↔ Youzan by e-mail and Youzan ↔ WeChat by unionid
    con = load("chain_via_email_then_unionid")
    resolve(con, settings, now=NOW)
    # then all three are one customer, the other CRM row stays apart
    assert partition(con) == {
        frozenset({"crm:c-101", "youzan:yz-5531", "wechat:wx-o-77"}),
        frozenset({"crm:c-102"}),
    }


def test_a_shared_shop_phone_is_flagged_and_links_nobody(
    load: Callable[[str], BaseBackend], strict_settings: Settings
) -> None:
    # given four buyers whose orders carry the shop's landline (limit: 3 records)
    con = load("shared_shop_phone_not_merged")
    # when the quality report asks before any run
    before = shared_identifiers(con, strict_settings).to_pyarrow().to_pylist()
    report = resolve(con, strict_settings, now=NOW)
    # then the phone is listed with its record count, flagged, and only the e-mail links
    assert before == [{"kind": "phone", "value": "+8657188886666", "record_count": 4}]
    assert partition(con) == {
        frozenset({"taobao:tb_a", "crm:c-liu"}),
        frozenset({"taobao:tb_b"}),
        frozenset({"jd:jd_c"}),
        frozenset({"youzan:yz_d"}),
    }
    flags = con.table("identity_identifier_flags").select("kind", "value", "reason", "record_count")
    assert flags.to_pyarrow().to_pylist() == [
        {"kind": "phone", "value": "+8657188886666", "reason": "shared", "record_count": 4}
    ]
    assert report.flagged_identifiers == 1


def test_the_same_identifier_under_the_limit_still_links(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given the same file with the default limit of 20 records
    con = load("shared_shop_phone_not_merged")
    resolve(con, settings, now=NOW)
    # then the landline links all five records
    assert len(partition(con)) == 1


def test_openid_links_only_within_one_app(load: Callable[[str], BaseBackend], settings: Settings) -> None:
    # given one openid string seen in two different apps
    con = load("openid_scoped_by_app")
    resolve(con, settings, now=NOW)
    # then only the records of the same app id are linked
    assert partition(con) == {frozenset({"wechat:wx-1", "miniapp:mp-3"}), frozenset({"wechat:wx-2"})}


def test_a_masked_phone_links_only_together_with_the_same_name(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given one masked phone on 张伟, 李娜 and "张 伟"
    con = load("masked_phone_never_links_alone")
    resolve(con, settings, now=NOW)
    # then the two 张伟 records link (white space ignored) and 李娜 stays apart
    assert partition(con) == {frozenset({"taobao:tb_m1", "jd:jd_m3"}), frozenset({"taobao:tb_m2"})}


def test_masked_phone_alone_never_links_even_when_the_name_rule_is_off(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    con = load("masked_phone_never_links_alone")
    rules = IdentityRules(links={**IdentityRules().links, "phone_partial_name": False})
    resolve(con, settings, now=NOW, rules=rules)
    assert len(partition(con)) == 3


def test_a_placeholder_email_never_links(load: Callable[[str], BaseBackend], settings: Settings) -> None:
    # given two shoppers who typed test@test.com
    con = load("placeholder_email_not_merged")
    resolve(con, settings, now=NOW)
    # then they stay apart and the value is flagged as a placeholder
    assert len(partition(con)) == 2
    flags = con.table("identity_identifier_flags").select("value", "reason").to_pyarrow().to_pylist()
    assert flags == [{"value": "test@test.com", "reason": "placeholder"}]


def test_a_custom_identifier_from_extra_json_links(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given a Douyin id kept in the JSON extra column (one of them a number)
    con = load("custom_identifier_douyin")
    rules = IdentityRules(
        custom_identifiers=[CustomIdentifier(kind="douyin_id", table="customers", json_key="douyin_id")]
    )
    resolve(con, settings, now=NOW, rules=rules)
    # then the two records with the same Douyin id merge; the numeric one is read as text
    assert partition(con) == {frozenset({"douyin:dy-shop-1", "crm:c-ml"}), frozenset({"crm:c-other"})}
    values = con.table("identity_identifiers").filter(lambda t: t.kind == "douyin_id").value
    assert sorted(values.to_pyarrow().to_pylist()) == ["12345", "dy_778899", "dy_778899"]


def test_orders_tickets_and_events_contribute_identifiers(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given a CRM profile, a Taobao buyer known only from orders, a service ticket
    # with the e-mail and WeChat events with the phone
    con = load("customer_360_timeline")
    resolve(con, settings, now=NOW)
    # then all four records are one customer
    assert partition(con) == {
        frozenset({"crm:c-900", "taobao:tb_huang", "service:svc-33", "wechat:wx-hr"}),
    }
    kinds = con.table("identity_identifiers").filter(lambda t: t.source == "taobao")
    assert sorted(kinds.select("kind", "origins").to_pyarrow().to_pylist(), key=str) == [
        {"kind": "phone", "origins": "orders"},
        {"kind": "taobao_id", "origins": "record"},
    ]


def test_an_empty_warehouse_resolves_to_no_customers(
    memory_warehouse: BaseBackend, settings: Settings
) -> None:
    report = resolve(memory_warehouse, settings, now=NOW)
    assert (report.records, report.customers, report.edges, report.created) == (0, 0, 0, 0)
    assert memory_warehouse.table("customers").count().execute() == 0
