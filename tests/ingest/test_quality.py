"""The data-quality report on tiny data with hand-counted figures."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from guanxi.ingest.quality import quality_report

NOW = datetime(2025, 6, 1, 12, 0)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_report_counts_completeness_contacts_staleness_and_orphans(run_import, warehouse, settings, tmp_path):
    run_import(
        "customers",
        write(
            tmp_path,
            "customers.csv",
            "customer_id,name,phone,email,registered_at\n"
            "c1,甲,13800000001,shop@test.com,2025-05-01\n"
            "c2,乙,13800000001,,2023-01-01\n"
            "c3,,13800000003,shop@test.com,2025-05-20\n"
            "c4,丁,bad-phone,,2020-01-01\n",
        ),
    )
    run_import(
        "orders",
        write(
            tmp_path,
            "orders.csv",
            "order_id,customer_id,status,created_at,total_amount\n"
            "o1,c2,paid,2025-05-30 10:00:00,10\n"
            "o2,ghost,paid,2025-05-30 10:00:00,10\n",
        ),
    )
    run_import(
        "order-items",
        write(tmp_path, "items.csv", "order_id,sku,price\no1,s1,10\nmissing,s2,5\n"),
    )
    small = settings.model_copy(update={"shared_identifier_limit": 2, "stale_months": 12})

    report = quality_report(warehouse, small, now=NOW)

    name = next(
        r
        for r in report.section("completeness").rows
        if (r["table"], r["field"]) == ("raw_customers", "name")
    )
    assert (name["rows"], name["filled"], name["share"]) == (4, 3, 0.75)
    assert {"table": "customers", "problem": "invalid_phone", "values": 1} in report.section(
        "invalid_contacts"
    ).rows
    duplicates = {(r["identifier"], r["value"]): r for r in report.section("duplicate_contacts").rows}
    assert duplicates[("phone", "(all)")]["values"] == 1
    assert duplicates[("phone", "+8613800000001")]["records"] == 2
    assert duplicates[("email", "shop@test.com")]["records"] == 2
    # c1, c2 and c3 carry the shared phone/e-mail at most twice: not over a limit of 2
    assert report.section("shared_identifiers").rows == []
    stale = {r["source"]: r for r in report.section("stale_records").rows}
    # records: c1..c4 and the order buyer "ghost"; c2 bought on 2025-05-30, c4 last seen 2020
    assert (stale["crm"]["records"], stale["crm"]["stale"]) == (5, 1)
    orphans = {r["check"]: r["rows"] for r in report.section("orphans").rows}
    assert orphans == {
        "orders_without_customer_record": 1,
        "orders_without_buyer_identifier": 0,
        "order_items_without_order": 1,
        "tickets_with_unknown_order": 0,
    }
    json.dumps(report.to_dict(), ensure_ascii=False)


def test_identifiers_over_the_limit_are_listed(run_import, warehouse, settings, tmp_path):
    lines = "".join(f"o{i},buyer{i},paid,2025-01-01 10:00:00,1,13912345678\n" for i in range(5))
    run_import(
        "orders",
        write(tmp_path, "o.csv", "order_id,customer_id,status,created_at,total_amount,phone\n" + lines),
    )

    report = quality_report(warehouse, settings.model_copy(update={"shared_identifier_limit": 4}), now=NOW)

    assert report.section("shared_identifiers").rows == [
        {"identifier": "phone", "value": "+8613912345678", "records": 5}
    ]
