"""Golden records: survivorship per field, every source value kept, B2B companies and roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from ibis.backends import BaseBackend

from guanxi.config import Settings
from guanxi.identity import IdentityRules, Survivorship, resolve

from .conftest import NOW

PLACE = ("province", "city", "district", "address")


def _golden(con: BaseBackend) -> dict[str, object]:
    rows = con.table("customers").to_pyarrow().to_pylist()
    assert len(rows) == 1
    return dict(rows[0])


def test_default_survivorship_picks_trusted_recent_and_frequent_values(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given a CRM profile (trusted, 2022) and a Taobao profile + 3 orders (2023–2024)
    con = load("survivorship_fields")
    resolve(con, settings, now=NOW)
    golden = _golden(con)
    # then name/gender/birthday come from the trusted CRM row, the e-mail is the latest,
    # and the place is the one seen most often (Taobao profile + 2 orders), taken as a whole
    assert (golden["name"], golden["gender"], golden["birthday"]) == ("周迅", "F", dt.date(1990, 10, 18))
    assert golden["email"] == "new.zhou@example.cn"
    assert tuple(golden[f] for f in PLACE) == ("浙江省", "杭州", "西湖区", "文三路1号")
    assert (golden["sources"], golden["record_count"]) == ("crm,taobao", 2)
    assert golden["first_seen_at"] == dt.datetime(2022, 1, 1, 10, 0)
    assert golden["last_seen_at"] == dt.datetime(2024, 5, 1, 10, 0)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("most_recent", ("广东省", "深圳", "南山区", "科技园路2号")),
        ("most_trusted", ("上海", "上海", "静安区", "南京西路1号")),
    ],
)
def test_place_survivorship_rule_is_configurable(
    load: Callable[[str], BaseBackend], settings: Settings, rule: str, expected: tuple[str, ...]
) -> None:
    con = load("survivorship_fields")
    rules = IdentityRules(survivorship=Survivorship(place=rule))  # type: ignore[arg-type]
    resolve(con, settings, now=NOW, rules=rules)
    assert tuple(_golden(con)[f] for f in PLACE) == expected


def test_every_source_value_is_kept_with_the_chosen_one_marked(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    con = load("survivorship_fields")
    resolve(con, settings, now=NOW)
    values = con.table("customer_source_values").filter(lambda t: t.field == "name")
    rows = sorted(
        (r["value"], r["source"], r["origin"], r["observations"], r["chosen"])
        for r in values.to_pyarrow().to_pylist()
    )
    # the Taobao name was seen on its profile and on three orders
    assert rows == [
        ("周小迅", "taobao", "customers", 1, False),
        ("周小迅", "taobao", "orders", 3, False),
        ("周迅", "crm", "customers", 1, True),
    ]


def test_contacts_of_one_company_are_grouped_with_their_roles(
    load: Callable[[str], BaseBackend], settings: Settings
) -> None:
    # given three contacts of 杭州云帆科技 under three spellings and one of Acme
    con = load("b2b_company_contacts")
    resolve(con, settings, now=NOW)
    companies = con.table("customer_companies").order_by("company_key").to_pyarrow().to_pylist()
    contacts = con.table("company_contacts").order_by(["company_key", "customer_id"]).to_pyarrow().to_pylist()
    # then the spellings are one company named by its most used spelling
    assert [(c["company_key"], c["name"], c["contact_count"]) for c in companies] == [
        ("acmetrading", "Acme Trading Co.，Ltd.", 1),
        ("杭州云帆科技", "杭州云帆科技有限公司", 3),
    ]
    # and each contact has a role read from the title (黄药师's CRM and JD rows are one customer)
    assert [(c["company_key"], c["name"], c["title"], c["role"]) for c in contacts] == [
        ("acmetrading", "洪七公", "Purchasing Manager", "purchasing"),
        ("杭州云帆科技", "郭靖", "总经理", "decision_maker"),
        ("杭州云帆科技", "黄药师", "采购经理", "purchasing"),
        ("杭州云帆科技", "梅超风", "财务主管", "finance"),
    ]
    assert [c["sources"] for c in contacts if c["name"] == "黄药师"] == ["crm,jd"]
