"""Importing named files: what loads, what is quarantined, and the guarantees (idempotent, atomic)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from guanxi.errors import MappingError, UnknownPresetError
from guanxi.ingest import merge
from guanxi.ingest.api import STEPS
from tests.progress_calls import ProgressCalls


def test_taobao_gbk_export_loads_good_rows_and_quarantines_broken_ones(
    run_import, warehouse, rows, quarantine
):
    report = run_import("orders", "taobao_orders_gbk_with_broken_rows.csv")

    assert (report.preset, report.source, report.encoding) == ("taobao-orders", "taobao", "gb18030")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (6, 3, 3)
    assert report.reasons == {
        "invalid_datetime": 1,
        "invalid_amount": 1,
        "unknown_status": 1,
        "missing_value": 1,
    }
    orders = {r["order_id"]: r for r in rows("raw_orders", "order_id")}
    assert set(orders) == {"3001000000000001", "3001000000000002", "3001000000000003"}
    first = orders["3001000000000001"]
    assert first["source_customer_id"] == "小王爱购物"
    assert first["phone"] == "+8613812345678"
    assert first["status"] == "delivered"
    assert first["paid_amount"] == Decimal("128.00")
    assert (first["province"], first["city"], first["district"]) == ("广东省", "深圳市", "南山区")
    # masked mobile kept as a partial identifier; the landline in the other column is the phone
    second = orders["3001000000000002"]
    assert (second["phone"], second["phone_partial"]) == ("+8657188886666", "138****5678")
    assert second["total_amount"] == Decimal("1309.00")
    # closed after payment with the money returned: refunded, not cancelled
    assert orders["3001000000000003"]["status"] == "refunded"
    assert (orders["3001000000000003"]["province"], orders["3001000000000003"]["city"]) == (
        "北京市",
        "北京市",
    )
    assert quarantine() == [
        (5, "总金额", "abc", "invalid_amount", "fatal"),
        (5, "订单创建时间", "2024-13-45 99:00:00", "invalid_datetime", "fatal"),
        (6, "订单状态", "神秘状态", "unknown_status", "fatal"),
        (7, "订单编号", None, "missing_value", "fatal"),
    ]


def test_quarantined_rows_keep_the_whole_original_row(run_import, warehouse):
    run_import("orders", "taobao_orders_gbk_with_broken_rows.csv")

    entry = (
        warehouse.table("import_quarantine").filter(lambda t: t.reason == "unknown_status").execute().iloc[0]
    )

    assert entry.file_name == "taobao_orders_gbk_with_broken_rows.csv"
    assert '"收货人姓名":"钱七"' in entry.raw_row
    assert '"订单状态":"神秘状态"' in entry.raw_row


def test_reimporting_the_same_file_changes_nothing(run_import, warehouse):
    first = run_import("orders", "taobao_orders_gbk_with_broken_rows.csv")
    before = warehouse.table("raw_orders").order_by("order_id").execute()
    quarantined = warehouse.table("import_quarantine").count().execute()

    second = run_import("orders", "taobao_orders_gbk_with_broken_rows.csv")

    assert (second.rows_inserted, second.rows_updated, second.rows_unchanged) == (0, 0, first.rows_loaded)
    after = warehouse.table("raw_orders").order_by("order_id").execute()
    assert after.equals(before)
    assert warehouse.table("import_quarantine").count().execute() == quarantined
    assert warehouse.table("import_batches").count().execute() == 2


def test_a_changed_row_is_updated_and_columns_the_file_lacks_are_kept(run_import, warehouse, tmp_path: Path):
    run_import("orders", "taobao_orders_gbk_with_broken_rows.csv")
    later = tmp_path / "later_status.csv"
    later.write_text(
        "order_id,status,created_at\n3001000000000002,paid,2024-06-18 20:15:00\n", encoding="utf-8"
    )

    report = run_import("orders", later, source="taobao")

    assert (report.rows_inserted, report.rows_updated) == (0, 1)
    row = warehouse.table("raw_orders").filter(lambda t: t.order_id == "3001000000000002").execute().iloc[0]
    assert row.status == "paid"
    assert row.buyer_name == "李四"
    assert row.phone == "+8657188886666"


def test_a_failure_while_writing_leaves_every_table_as_before(run_import, warehouse, monkeypatch):
    run_import("orders", "orders_conflicting_duplicates.csv")
    before = {t: warehouse.table(t).count().execute() for t in ("raw_orders", "import_quarantine")}

    def explode(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(merge, "_write_quarantine", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        run_import("orders", "taobao_orders_gbk_with_broken_rows.csv")

    after = {t: warehouse.table(t).count().execute() for t in ("raw_orders", "import_quarantine")}
    assert after == before
    batches = warehouse.table("import_batches").order_by("started_at").execute()
    assert list(batches.status) == ["loaded", "failed"]
    assert batches.rows_loaded.iloc[1] == 0


def test_ctrl_c_during_the_write_rolls_back(run_import, warehouse, monkeypatch):
    def interrupt(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(merge, "_write_batch", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_import("orders", "taobao_orders_gbk_with_broken_rows.csv")

    assert warehouse.table("raw_orders").count().execute() == 0
    assert warehouse.table("import_quarantine").count().execute() == 0


def test_jd_lines_of_one_order_combine_into_one_order(run_import, warehouse, rows):
    report = run_import("orders", "jd_orders_repeated_lines.xlsx")

    assert (report.preset, report.rows_read, report.rows_loaded, report.rows_combined) == (
        "jd-orders",
        3,
        2,
        1,
    )
    assert report.rows_quarantined == 0
    assert report.warnings == 0
    order = rows("raw_orders", "order_id")[0]
    assert order["order_id"] == "210000000001"
    assert order["status"] == "delivered"
    assert order["total_amount"] == Decimal("458.00")
    assert (order["province"], order["city"], order["district"]) == ("广东省", "深圳市", "福田区")


def test_jd_export_read_as_order_lines(run_import, warehouse, rows):
    report = run_import("order-items", "jd_orders_repeated_lines.xlsx", preset="jd-items")

    assert report.rows_loaded == 3
    lines = rows("raw_order_items", "sku")
    assert [(r["sku"], r["quantity"], r["amount"]) for r in lines] == [
        ("100011111", 2, Decimal("596.00")),
        ("100012345", 1, Decimal("399.00")),
        ("100067890", 1, Decimal("59.00")),
    ]


def test_shopify_continuation_lines_fill_in_from_the_first_line(run_import, warehouse, rows):
    report = run_import("orders", "shopify_orders_line_items.csv")

    assert report.warnings == 0  # continuation lines carry no order-level values to conflict with

    assert (report.rows_loaded, report.rows_quarantined, report.rows_combined) == (2, 0, 1)
    first = rows("raw_orders", "order_id")[0]
    assert first["order_id"] == "#1001"
    assert first["email"] == "amy.lin@example.com"
    assert first["created_at"].isoformat() == "2024-03-01T18:11:00"  # +0000 shown in Shanghai time
    assert first["total_amount"] == Decimal("310.00")
    assert (first["province"], first["city"], first["district"]) == ("上海市", "上海市", "静安区")
    assert rows("raw_orders", "order_id")[1]["status"] == "refunded"


def test_shopify_line_items(run_import, warehouse, rows):
    run_import("order-items", "shopify_orders_line_items.csv", preset="shopify-items")

    lines = rows("raw_order_items", "item_key")
    assert [(r["order_id"], r["item_key"], r["brand"]) for r in lines] == [
        ("#1001", "CUP-6", "TeaCo"),
        ("#1002", "OOL-250", "TeaCo"),
        ("#1001", "TEA-1", "TeaCo"),
    ]


def test_youzan_xls_with_separate_address_columns(run_import, warehouse, rows):
    report = run_import("orders", "youzan_orders.xls")

    assert report.preset == "youzan-orders"
    assert report.rows_loaded == 2
    order = rows("raw_orders", "order_id")[0]
    assert (order["province"], order["city"], order["district"]) == ("浙江省", "宁波市", "鄞州区")
    assert order["discount_amount"] == Decimal("20.00")
    assert order["paid_amount"] == Decimal("179.00")


def test_taobao_item_lines_without_sku_get_a_stable_key(run_import, warehouse, rows):
    run_import("order-items", "taobao_items_utf8_bom.csv")
    keys = [r["item_key"] for r in rows("raw_order_items", "order_id")]

    again = run_import("order-items", "taobao_items_utf8_bom.csv")

    assert keys[0] == "SKU-WIPE-6"
    assert keys[2].startswith("p:")
    assert again.rows_unchanged == 3


def test_customer_spreadsheet_keeps_rows_with_bad_contacts_and_records_the_values(
    run_import, warehouse, rows, quarantine
):
    report = run_import("customers", "crm_customers.tsv")

    assert (report.rows_loaded, report.rows_quarantined, report.warnings) == (3, 1, 3)
    customers = {r["source_customer_id"]: r for r in rows("raw_customers", "source_customer_id")}
    assert customers["C001"]["email"] == "xiaoming.wang@qq.com"
    assert customers["C002"]["name"] == "李四"
    assert customers["C002"]["phone"] is None
    assert customers["C002"]["email"] is None
    assert customers["C003"]["name"] == "ABC Limited"
    assert customers["C003"]["gender"] is None
    assert (customers["C002"]["province"], customers["C002"]["district"]) == ("浙江省", "西湖区")
    assert quarantine() == [
        (3, "手机", "12345", "invalid_phone", "warning"),
        (3, "邮箱", "not-an-email", "invalid_email", "warning"),
        (4, "生日", "不详", "invalid_date", "warning"),
        (5, "客户编号", None, "no_identifier", "fatal"),
    ]


def test_wechat_followers_jsonl_are_keyed_by_unionid(run_import, warehouse, rows):
    report = run_import("customers", "wechat_followers.jsonl", source="wechat")

    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    followers = rows("raw_customers", "source_customer_id")
    assert [(r["source"], r["source_customer_id"], r["wechat_appid"]) for r in followers] == [
        ("wechat", "uq_A1", "wx_shop_1"),
        ("wechat", "uq_B2", "wx_shop_1"),
    ]
    assert json.loads(followers[0]["extra"])["tags"] == '["老客户","母婴"]'  # unmapped values kept as read
    assert followers[1]["city"] == "广州市"


def test_parquet_customers(run_import, warehouse, rows):
    run_import("customers", "crm_customers.parquet")

    member = rows("raw_customers", "source_customer_id")[0]
    assert member["phone"] == "+8613700001111"
    assert member["birthday"].isoformat()[:10] == "1992-02-29"
    assert '"points":"1200"' in member["extra"]


def test_tickets_map_chinese_kinds_and_flag_bad_satisfaction(run_import, warehouse, rows):
    report = run_import("tickets", "service_tickets.csv")

    assert report.rows_loaded == 3
    assert report.rows_quarantined == 1
    tickets = rows("raw_tickets", "ticket_id")
    assert [(t["ticket_id"], t["kind"], t["status"]) for t in tickets] == [
        ("T1", "complaint", "已解决"),
        ("T2", "inquiry", "处理中"),
        ("T3", "praise", "已解决"),
    ]
    assert tickets[2]["satisfaction"] is None
    assert report.reasons == {"unknown_value": 1, "out_of_range": 1}


def test_events_without_ids_get_content_ids_so_reimport_is_idempotent(run_import, warehouse, rows):
    first = run_import("events", "events_segment.jsonl")
    second = run_import("events", "events_segment.jsonl")

    assert (first.rows_loaded, first.rows_quarantined) == (3, 1)
    assert second.rows_unchanged == 3
    assert second.rows_inserted == 0
    events = rows("raw_events", "occurred_at")
    assert [e["type"] for e in events] == ["track", "track", "identify"]
    assert events[2]["occurred_at"].isoformat() == "2024-11-11T07:58:00"


def test_wrong_field_counts_are_quarantined_as_malformed(run_import, warehouse, quarantine):
    report = run_import("orders", "orders_wrong_field_counts.csv")

    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (4, 2, 2)
    assert [(r[0], r[3]) for r in quarantine()] == [(3, "malformed_row"), (4, "malformed_row")]


def test_conflicting_duplicates_keep_the_first_value_and_quarantine_the_other(
    run_import, warehouse, rows, quarantine
):
    report = run_import("orders", "orders_conflicting_duplicates.csv")

    assert (report.rows_loaded, report.rows_combined) == (2, 2)
    assert [r["total_amount"] for r in rows("raw_orders", "order_id")] == [Decimal("10.00"), Decimal("20.00")]
    assert quarantine() == [(5, "total_amount", "25.00", "duplicate_key_conflict", "warning")]


def test_unknown_headers_get_a_suggested_mapping_file(run_import):
    with pytest.raises(MappingError) as caught:
        run_import("orders", "orders_unknown_headers.csv")

    message = caught.value.message
    assert "order_id:\n  - 单据号" in message
    assert "created_at:\n  - 下单日" in message
    assert "phone:\n  - 客人电话" in message


def test_a_user_mapping_file_imports_unknown_headers(run_import, warehouse, tmp_path: Path, rows):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "kind: orders\nsource: pos\ncolumns:\n  order_id: [单据号]\n  created_at: [下单日]\n"
        "  phone: [客人电话]\n  paid_amount: [应收]\n",
        encoding="utf-8",
    )

    report = run_import("orders", "orders_unknown_headers.csv", mapping=mapping)

    order = rows("raw_orders", "order_id")[0]
    assert report.source == "pos"
    assert order["source"] == "pos"
    assert order["source_customer_id"] == "+8613812345678"  # no buyer id: the phone stands in
    assert order["status"] == "created"
    assert order["total_amount"] == Decimal("10.00")


def test_a_bad_mapping_file_lists_every_problem(run_import, tmp_path: Path):
    mapping = tmp_path / "bad.yaml"
    mapping.write_text(
        "kind: orders\ncolumns:\n  order_no: [单据号]\n  created_at: []\nstatus_map:\n  完成: done\n",
        encoding="utf-8",
    )

    with pytest.raises(MappingError) as caught:
        run_import("orders", "orders_unknown_headers.csv", mapping=mapping)

    message = caught.value.message
    assert "unknown field 'order_no'" in message
    assert "'created_at' lists no header" in message
    assert "'完成' maps to 'done'" in message


def test_a_preset_of_another_kind_or_an_unknown_preset_is_refused(run_import):
    with pytest.raises(MappingError, match="is for orders, not customers"):
        run_import("customers", "taobao_orders_gbk_with_broken_rows.csv", preset="taobao-orders")
    with pytest.raises(UnknownPresetError, match="taobao-orders"):
        run_import("orders", "taobao_orders_gbk_with_broken_rows.csv", preset="tmall")


def test_batch_record_matches_the_report(run_import, warehouse):
    report = run_import("orders", "taobao_orders_gbk_with_broken_rows.csv")

    batch = warehouse.table("import_batches").execute().iloc[0]
    assert batch.batch_id == report.batch_id
    assert batch.status == "loaded"
    assert (batch.rows_read, batch.rows_loaded, batch.rows_quarantined) == (6, 3, 3)
    assert len(batch.file_sha256) == 64


def test_progress_and_on_step_see_each_step_in_order_and_the_result_is_unchanged(run_import, rows):
    calls, started = ProgressCalls(), []
    # when importing with both a progress callable and the older on_step
    report = run_import(
        "orders", "taobao_orders_gbk_with_broken_rows.csv", progress=calls, on_step=started.append
    )
    # then each step is reported as (index, number of steps, name) as it starts, then the end
    assert calls.calls == [
        (0, 4, "read"),
        (1, 4, "normalise"),
        (2, 4, "validate"),
        (3, 4, "merge"),
        (4, 4, "done"),
    ]
    calls.assert_well_formed()
    assert started == list(STEPS)
    # and the import is the one made without them
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (6, 3, 3)
    assert {r["order_id"] for r in rows("raw_orders", "order_id")} == {
        "3001000000000001",
        "3001000000000002",
        "3001000000000003",
    }
