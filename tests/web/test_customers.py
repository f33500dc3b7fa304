"""客户 and 客户360: the golden-record list with its search, one customer's page, and /v1/customers."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from ibis.backends import BaseBackend

from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.identity import merge, resolve
from guanxi.tables import RAW_CUSTOMERS, RAW_ORDERS
from guanxi.web.customers import looks_like_key, mask_phone
from guanxi.web.i18n import en, zh_cn

from .conftest import insert_rows

RESOLVED_AT = datetime(2026, 3, 1, 9, 0)
NEW_KEYS = [k for k in zh_cn.MESSAGES if k.startswith("customers.") or k == "nav.customers"]


def customer_id_of(client: TestClient, query: str) -> int:
    response = client.get("/customers", params={"q": query}, follow_redirects=False)
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/customers/(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


@pytest.fixture
def two_customers(warehouse_con: BaseBackend, app_settings: Settings) -> BaseBackend:
    """王伟 in two sources sharing a phone (one customer, with a paid Tmall order); 李娜 alone in the CRM."""
    insert_rows(
        warehouse_con,
        RAW_CUSTOMERS,
        [
            {
                "source": "tmall",
                "source_customer_id": "tm-1",
                "name": "王伟",
                "phone": "+8613957781234",
                "city": "杭州",
                "registered_at": datetime(2025, 6, 1, 10, 0),
            },
            {
                "source": "crm",
                "source_customer_id": "c-7",
                "name": "王伟",
                "phone": "+8613957781234",
                "email": "wang.wei@example.cn",
                "city": "杭州",
                "registered_at": datetime(2025, 8, 1, 10, 0),
            },
            {
                "source": "crm",
                "source_customer_id": "c-8",
                "name": "李娜",
                "phone": "+8613600001111",
                "city": "上海",
                "registered_at": datetime(2025, 9, 1, 10, 0),
            },
        ],
    )
    insert_rows(
        warehouse_con,
        RAW_ORDERS,
        [
            {
                "source": "tmall",
                "order_id": "TM-2026-0001",
                "source_customer_id": "tm-1",
                "status": "paid",
                "created_at": datetime(2026, 2, 14, 20, 30),
                "paid_amount": Decimal("299.00"),
                "product_title": "龙井茶礼盒",
            }
        ],
    )
    resolve(warehouse_con, app_settings, now=RESOLVED_AT)
    return warehouse_con


def test_mask_phone_hides_the_middle_digits() -> None:
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("138 1234 5678") == "138****5678"
    assert mask_phone("+442079460958") == "442****0958"
    assert mask_phone("12345") == "***45"
    assert (mask_phone(None), mask_phone("")) == ("—", "—")


def test_keys_and_names_are_told_apart() -> None:
    assert looks_like_key("+86 139 5778 1234")
    assert looks_like_key("wang.wei@example.cn")
    assert looks_like_key("42")
    assert looks_like_key("id:42")
    assert not looks_like_key("王")
    assert not looks_like_key("Wang")


def test_list_shows_each_customer_with_a_masked_phone(
    two_customers: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    page = as_role(Role.VIEWER).get("/customers")
    assert page.status_code == 200
    assert page.text.count('href="/customers/') >= 4
    assert "王伟" in page.text
    assert "李娜" in page.text
    assert "139****1234" in page.text
    assert "8613957781234" not in page.text
    assert "crm, tmall" in page.text
    assert 'href="/customers" class="active"' in page.text


def test_phone_search_in_any_spelling_redirects_to_the_360_page(
    two_customers: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    client = as_role(Role.VIEWER)
    by_phone = customer_id_of(client, "+86 139 5778 1234")
    assert customer_id_of(client, "13957781234") == by_phone
    assert customer_id_of(client, "WANG.WEI@example.cn") == by_phone
    assert customer_id_of(client, str(by_phone)) == by_phone


def test_the_360_page_shows_golden_name_both_sources_and_the_order(
    two_customers: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    client = as_role(Role.VIEWER)
    customer_id = customer_id_of(client, "+86 139 5778 1234")
    page = client.get(f"/customers/{customer_id}")
    assert page.status_code == 200
    assert "<h1>王伟" in page.text
    assert "tm-1" in page.text
    assert "c-7" in page.text
    assert "来源：crm, tmall" in page.text
    assert "TM-2026-0001" in page.text
    assert "龙井茶礼盒" in page.text
    assert "¥299.00" in page.text
    assert "2026-02-14 20:30" in page.text
    assert "+8613957781234" in page.text
    assert "wang.wei@example.cn" in page.text
    english = client.get(f"/customers/{customer_id}?lang=en").text
    assert "Customer 360" in english
    assert "Timeline" in english


def test_name_prefix_search_lists_only_matching_names(
    two_customers: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    page = as_role(Role.VIEWER).get("/customers", params={"q": "李"})
    assert page.status_code == 200
    assert "李娜" in page.text
    assert "王伟" not in page.text
    assert "姓名以“李”开头的客户" in page.text


def test_unknown_key_says_not_found_on_the_page_and_404_on_v1(
    two_customers: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    client = as_role(Role.VIEWER)
    page = client.get("/customers", params={"q": "+86 137 0000 0000"}, follow_redirects=False)
    assert page.status_code == 200
    assert "没有与“+86 137 0000 0000”匹配的客户" in page.text
    assert client.get("/customers", params={"q": "not@valid"}).status_code == 200
    api = client.get("/v1/customers/987654321")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"
    assert client.get("/customers/987654321").status_code == 404


def test_v1_gives_the_same_dict_as_customer_360(
    two_customers: BaseBackend, as_role: Callable[[Role], TestClient]
) -> None:
    client = as_role(Role.VIEWER)
    customer_id = customer_id_of(client, "13957781234")
    body = client.get(f"/v1/customers/{customer_id}").json()
    assert body["customer_id"] == customer_id
    assert body["golden"]["name"] == "王伟"
    assert {r["source"] for r in body["records"]} == {"crm", "tmall"}
    assert [(e["kind"], e["reference"], e["amount"]) for e in body["timeline"]] == [
        ("order", "TM-2026-0001", "299.00")
    ]
    listed = client.get("/v1/customers", params={"q": "李"}).json()
    assert (listed["total"], listed["items"][0]["name"]) == (1, "李娜")
    assert client.get("/v1/customers").json()["total"] == 2


def test_a_merged_id_redirects_to_its_survivor(
    two_customers: BaseBackend, app_settings: Settings, as_role: Callable[[Role], TestClient]
) -> None:
    client = as_role(Role.VIEWER)
    wang, li = customer_id_of(client, "13957781234"), customer_id_of(client, "13600001111")
    merge(two_customers, app_settings, wang, li, now=datetime(2026, 3, 2, 9, 0), actor="test")
    survivor = customer_id_of(client, "13957781234")
    retired = li if survivor == wang else wang
    response = client.get(f"/customers/{retired}", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, f"/customers/{survivor}")
    assert f"客户 {retired} 已合并到客户 {survivor}" in client.get(f"/customers/{survivor}").text
    assert client.get(f"/v1/customers/{retired}").json()["redirected_from"] == retired


def test_before_any_resolve_the_list_says_to_run_it(as_role: Callable[[Role], TestClient]) -> None:
    client = as_role(Role.VIEWER)
    page = client.get("/customers")
    assert page.status_code == 200
    assert "先运行 guanxi resolve" in page.text
    assert "run guanxi resolve first" in client.get("/customers?lang=en").text
    assert client.get("/v1/customers/1").status_code == 404


def test_signed_out_callers_are_sent_to_sign_in_or_get_401(client: TestClient) -> None:
    page = client.get("/customers/5", follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=%2Fcustomers%2F5")
    api = client.get("/v1/customers/5")
    assert (api.status_code, api.json()["error"]["code"]) == (401, "auth_failed")


def test_every_new_key_is_in_both_languages() -> None:
    assert len(NEW_KEYS) > 50
    assert [k for k in NEW_KEYS if not en.MESSAGES.get(k)] == []
