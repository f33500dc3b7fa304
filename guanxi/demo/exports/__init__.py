"""Writing a demo data set as the files real platforms and tools export.

:func:`write_exports` writes every file into one folder and returns what it
wrote, each with the imports that read it (kind, preset, source). Files:

| file | written as | read with |
|---|---|---|
| ``taobao_orders.csv`` | GBK CSV | ``taobao-orders`` |
| ``taobao_items.csv`` | UTF-8 CSV with BOM | ``taobao-items`` |
| ``jd_orders.xlsx`` (+ ``jd_orders_more.csv``) | one row per line | ``jd-orders``, ``jd-items`` |
| ``youzan_orders.xls`` / ``.xlsx`` | Excel | ``youzan-orders`` |
| ``shopify_orders.csv`` | UTF-8 CSV | ``shopify-orders``, ``shopify-items`` |
| ``crm_customers.parquet`` | Parquet | ``generic-customers`` (source crm) |
| ``sales_contacts.xlsx`` | Excel | ``generic-customers`` (source sales) |
| ``wechat_followers.jsonl`` | JSON Lines | ``generic-customers`` (source wechat) |
| ``service_tickets.csv`` | UTF-8 CSV with BOM | ``generic-tickets`` |
| ``events.jsonl`` | JSON Lines | ``generic-events`` |
| ``truth.parquet`` | Parquet | — (``source, source_customer_id, person_id``) |
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from guanxi.demo.dataset import DemoDataset
from guanxi.demo.exports.activity import export_events, export_tickets
from guanxi.demo.exports.formats import write_parquet
from guanxi.demo.exports.jd import export_jd
from guanxi.demo.exports.lists import export_lists
from guanxi.demo.exports.manifest import IMPORT_ORDER, ExportContext, ExportedFile, PlannedImport
from guanxi.demo.exports.shopify import export_shopify
from guanxi.demo.exports.taobao import export_taobao
from guanxi.demo.exports.youzan import export_youzan

TRUTH_FILE = "truth.parquet"
WORKERS = 2
FILE_ORDER = (
    export_lists,
    export_taobao,
    export_jd,
    export_youzan,
    export_shopify,
    export_tickets,
    export_events,
)
"""The order files are listed in (and imported in, within a kind)."""
EXPORTERS = (
    export_events,
    export_jd,
    export_taobao,
    export_youzan,
    export_shopify,
    export_lists,
    export_tickets,
)
"""The order exporters start in: the slowest first, so the two threads finish together."""

__all__ = ["IMPORT_ORDER", "TRUTH_FILE", "ExportedFile", "PlannedImport", "write_exports"]


def write_exports(data: DemoDataset, out_dir: Path, *, utc_offset: int) -> list[ExportedFile]:
    """Write every export of ``data`` and ``truth.parquet`` into ``out_dir`` (created if missing).

    Existing files of the same names are overwritten. ``utc_offset`` is the
    configured zone's offset from UTC in seconds (for Shopify times and Segment
    UTC timestamps). Returns the files in writing order (the truth last).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = ExportContext(out_dir, utc_offset, data.spec.excel_row_cap, data.spec.xls_row_cap)
    # Exporters share nothing but the read-only data set, and Arrow's kernels and
    # zlib release the GIL, so two threads keep both cores of a small machine busy.
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        batches = dict(zip(EXPORTERS, pool.map(lambda exporter: exporter(data, ctx), EXPORTERS), strict=True))
    truth_path = out_dir / TRUTH_FILE
    rows = write_parquet(truth_path, data.truth())
    truth = ExportedFile(truth_path, "身份真值 (source, source_customer_id, person_id)", "parquet", rows)
    return [f for exporter in FILE_ORDER for f in batches[exporter]] + [truth]
