"""Built-in presets and header recognition."""

from __future__ import annotations

import pytest

from guanxi.ingest.preset import available_presets, detect_preset, mappable_fields, suggest_mapping
from guanxi.ingest.reader import stage


@pytest.mark.parametrize(
    ("kind", "file", "preset"),
    [
        ("orders", "taobao_orders_gbk_with_broken_rows.csv", "taobao-orders"),
        ("order-items", "taobao_items_utf8_bom.csv", "taobao-items"),
        ("orders", "jd_orders_repeated_lines.xlsx", "jd-orders"),
        ("orders", "youzan_orders.xls", "youzan-orders"),
        ("orders", "shopify_orders_line_items.csv", "shopify-orders"),
        ("customers", "crm_customers.tsv", "generic-customers"),
        ("tickets", "service_tickets.csv", "generic-tickets"),
        ("events", "events_segment.jsonl", "generic-events"),
    ],
)
def test_each_platform_export_is_recognised_from_its_headers(kind, file, preset, ingest_data):
    import duckdb

    staged = stage(duckdb.connect(), ingest_data / file, "t")

    found = detect_preset(kind, staged.headers)

    assert found is not None
    assert found.name == preset


def test_every_preset_maps_only_real_fields_and_canonical_statuses():
    presets = available_presets()

    assert {"taobao-orders", "jd-orders", "youzan-orders", "shopify-orders"} <= set(presets)
    for preset in presets.values():
        assert set(preset.columns) <= set(mappable_fields(preset.kind)), preset.name


def test_suggestion_matches_english_and_chinese_variants():
    suggestion = suggest_mapping("customers", ["Mobile", "E-mail", "姓 名", "注册日期", "whatever"])

    assert suggestion == {"phone": "Mobile", "email": "E-mail", "name": "姓 名", "registered_at": "注册日期"}
