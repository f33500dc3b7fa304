"""The exports look like the platforms' own: encodings, headers, layout, broken rows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from guanxi.demo.accounts import JD, SHOPIFY, TAOBAO, YOUZAN
from guanxi.demo.dataset import DemoDataset
from guanxi.demo.exports import ExportedFile
from guanxi.demo.exports.cells import BAD_TIMES
from guanxi.ingest.preset import get_preset
from tests.demo.conftest import BROKEN
from tests.demo.files import csv_rows, headers, json_records, sheet_rows

SEGMENT_KEYS = {"messageId", "userId", "anonymousId", "timestamp", "traits"}
"""Segment's own names, used for events instead of the preset's first aliases."""
SALES_EXTRAS = {"负责人", "备注", "最近跟进"}


def test_taobao_order_report_is_gbk_not_utf8(demo_files: dict[str, ExportedFile]) -> None:
    raw = demo_files["taobao_orders.csv"].path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")
    assert text.startswith('"订单编号","买家会员名"')
    assert "交易成功" in text


def test_item_report_and_ticket_export_carry_a_utf8_bom(demo_files: dict[str, ExportedFile]) -> None:
    for name in ("taobao_items.csv", "service_tickets.csv"):
        assert demo_files[name].path.read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize(
    "name",
    [
        "taobao_orders.csv",
        "taobao_items.csv",
        "jd_orders.xlsx",
        "youzan_orders.xls",
        "shopify_orders.csv",
        "crm_customers.parquet",
        "wechat_followers.jsonl",
        "service_tickets.csv",
    ],
)
def test_headers_are_the_presets_first_aliases(demo_files: dict[str, ExportedFile], name: str) -> None:
    exported = demo_files[name]
    found = headers(exported.path)
    assert exported.imports
    for plan in exported.imports:
        preset = get_preset(plan.preset)
        field_of = {alias: f for f, aliases in preset.columns.items() for alias in aliases}
        not_first = [h for h in found if h in field_of and preset.columns[field_of[h]][0] != h]
        assert not_first == []
        assert preset.missing_required(found) == []
        if not plan.preset.startswith("generic"):
            assert preset.coverage(found) == 1.0


def test_event_keys_are_segment_names_or_first_aliases(demo_files: dict[str, ExportedFile]) -> None:
    preset = get_preset("generic-events")
    firsts = {aliases[0] for aliases in preset.columns.values()}
    keys = set(headers(demo_files["events.jsonl"].path))
    assert {
        "messageId",
        "type",
        "event",
        "userId",
        "anonymousId",
        "timestamp",
        "properties",
        "traits",
    } <= keys
    assert keys <= firsts | SEGMENT_KEYS


def test_sales_sheet_uses_the_chinese_aliases(demo_files: dict[str, ExportedFile]) -> None:
    preset = get_preset("generic-customers")
    aliases = {a for names in preset.columns.values() for a in names}
    found = headers(demo_files["sales_contacts.xlsx"].path)
    assert found[:4] == ["客户编号", "姓名", "性别", "手机"]
    assert set(found) <= aliases | SALES_EXTRAS


def test_shopify_repeats_order_columns_only_on_the_first_line(demo_files: dict[str, ExportedFile]) -> None:
    rows = csv_rows(demo_files["shopify_orders.csv"].path)
    head, body = rows[0], rows[1:]
    name, total, created = head.index("Name"), head.index("Total"), head.index("Created at")
    firsts = [r for i, r in enumerate(body) if i == 0 or r[name] != body[i - 1][name] or not r[name]]
    followers = [r for i, r in enumerate(body) if i > 0 and r[name] and r[name] == body[i - 1][name]]
    assert followers, "some orders have several lines"
    assert all(r[total] == "" for r in followers)
    assert all(r[created].endswith(" +0800") or r[created] in BAD_TIMES for r in followers)
    assert sum(1 for r in firsts if r[total]) >= 0.95 * len(firsts)


def test_jd_repeats_order_columns_on_every_line(demo_files: dict[str, ExportedFile]) -> None:
    rows = sheet_rows(demo_files["jd_orders.xlsx"].path)
    head, body = rows[0], rows[1:]
    order, total, account = head.index("订单号"), head.index("订单金额"), head.index("下单帐号")
    by_order: dict[str, set[tuple[str, str]]] = {}
    for r in body:
        if r[order]:
            by_order.setdefault(r[order], set()).add((r[total], r[account]))
    assert any(len([r for r in body if r[order] == o]) > 1 for o in list(by_order)[:200])
    assert sum(len(v) > 1 for v in by_order.values()) <= 2  # only a broken amount may differ


def _is_time(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _is_amount(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def _broken_orders(
    rows: list[list[str]],
    *,
    order: str,
    time: str,
    amount: str,
    status: str,
    buyer: str,
    preset: str,
    fmt: str = "%Y-%m-%d %H:%M:%S",
) -> int:
    """Distinct orders with an empty id, unreadable time, non-numeric amount or unknown status."""
    head, body = rows[0], rows[1:]
    words = get_preset(preset).status_map
    col = {
        k: head.index(v)
        for k, v in {"order": order, "time": time, "amount": amount, "status": status, "buyer": buyer}.items()
    }
    broken = set()
    for r in body:
        if (
            not r[col["order"]]
            or not _is_time(r[col["time"]], fmt)
            or (r[col["amount"]] and not _is_amount(r[col["amount"]]))
            or (r[col["status"]] and r[col["status"]] not in words)
        ):
            broken.add(r[col["order"]] or (r[col["buyer"]], r[col["time"]]))
    return len(broken)


def _expected(data: DemoDataset, platform: int) -> int:
    return round(len(data.orders.of(platform)) * BROKEN)


def test_broken_rows_are_the_configured_share_of_each_order_file(
    demo_files: dict[str, ExportedFile], demo_data: DemoDataset
) -> None:
    taobao = csv_rows(demo_files["taobao_orders.csv"].path, "gbk")
    assert _broken_orders(
        taobao,
        order="订单编号",
        time="订单创建时间",
        amount="总金额",
        status="订单状态",
        buyer="买家会员名",
        preset="taobao-orders",
    ) == _expected(demo_data, TAOBAO)
    jd = sheet_rows(demo_files["jd_orders.xlsx"].path)
    assert _broken_orders(
        jd,
        order="订单号",
        time="下单时间",
        amount="订单金额",
        status="订单状态",
        buyer="下单帐号",
        preset="jd-orders",
    ) == _expected(demo_data, JD)
    youzan = sheet_rows(demo_files["youzan_orders.xls"].path)
    assert _broken_orders(
        youzan,
        order="订单号",
        time="订单创建时间",
        amount="订单商品总金额",
        status="订单状态",
        buyer="买家ID",
        preset="youzan-orders",
    ) == _expected(demo_data, YOUZAN)
    shopify = csv_rows(demo_files["shopify_orders.csv"].path)
    assert _broken_orders(
        shopify,
        order="Name",
        time="Created at",
        amount="Total",
        status="Financial Status",
        buyer="Email",
        preset="shopify-orders",
        fmt="%Y-%m-%d %H:%M:%S %z",
    ) == _expected(demo_data, SHOPIFY)
    assert _expected(demo_data, TAOBAO) >= 10


def test_broken_events_are_the_configured_share(demo_files: dict[str, ExportedFile]) -> None:
    records = json_records(demo_files["events.jsonl"].path)
    bad = sum(1 for r in records if r is None or r.get("timestamp") == "Invalid Date")
    assert bad == round(len(records) * BROKEN)
    assert any(r is None for r in records)
    assert any(r and r.get("timestamp") == "Invalid Date" for r in records)


def test_order_files_speak_every_status_in_platform_words(demo_files: dict[str, ExportedFile]) -> None:
    taobao = csv_rows(demo_files["taobao_orders.csv"].path, "gbk")
    shopify = csv_rows(demo_files["shopify_orders.csv"].path)
    found: set[str | None] = set()
    for rows, column, preset in (
        (taobao, "订单状态", "taobao-orders"),
        (shopify, "Financial Status", "shopify-orders"),
    ):
        index = rows[0].index(column)
        words = get_preset(preset).status_map
        found |= {words.get(r[index]) for r in rows[1:] if r[index]}
    assert {"unpaid", "paid", "delivered", "cancelled", "refunded"} <= found


def test_some_taobao_phones_are_masked(demo_files: dict[str, ExportedFile]) -> None:
    rows = csv_rows(demo_files["taobao_orders.csv"].path, "gbk")
    column = rows[0].index("联系手机")
    masked = [r[column] for r in rows[1:] if "****" in r[column]]
    assert 0.2 < len(masked) / (len(rows) - 1) < 0.5
    assert all(len(m) == 11 and m[:3].isdigit() and m[7:].isdigit() for m in masked)


def test_money_is_written_with_two_decimals(demo_files: dict[str, ExportedFile]) -> None:
    rows = csv_rows(demo_files["taobao_orders.csv"].path, "gbk")
    column = rows[0].index("买家实际支付金额")
    values = [r[column] for r in rows[1:]]
    assert all(v.count(".") == 1 and len(v.split(".")[1]) == 2 for v in values)


def test_files_hold_the_rows_they_report(demo_files: dict[str, ExportedFile], demo_dir: Path) -> None:
    assert (
        demo_files["taobao_orders.csv"].rows == len(csv_rows(demo_files["taobao_orders.csv"].path, "gbk")) - 1
    )
    assert demo_files["jd_orders.xlsx"].rows == len(sheet_rows(demo_files["jd_orders.xlsx"].path)) - 1
    assert demo_files["events.jsonl"].rows == len(json_records(demo_files["events.jsonl"].path))
    assert (demo_dir / "truth.parquet").is_file()
