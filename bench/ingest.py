"""Import N Taobao-style orders from CSV and compare with a bare ``duckdb.read_csv`` of the same file.

Usage: ``python bench/ingest.py --orders 1000000 [--json PATH]``. Prints rows/s of both and the
ratio (the figure that matters: goal within 3x of the bare read). The file is generated with DuckDB
SQL (UTF-8, Taobao headers, realistic phones, addresses, amounts, 1 in 500 rows broken) under
bench/.work/. Generation and the bare read run in their own processes, so the import's peak RSS is
its own.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import figures
from process import call_isolated, self_peak_rss_mib

from guanxi.config import get_settings
from guanxi.ingest.api import import_file
from guanxi.warehouse import connect

WORK = Path(__file__).parent / ".work"

GENERATE = """
COPY (
  SELECT
    CAST(3000000000000000 + i AS VARCHAR) AS "订单编号",
    'buyer_' || CAST(hash(i % $buyers) % 100000000 AS VARCHAR) AS "买家会员名",
    printf('%.2f', 20 + (hash(i * 7) % 50000) / 100.0) AS "买家应付货款",
    '0.00' AS "买家应付邮费",
    CASE WHEN i % 500 = 7 THEN 'abc' ELSE printf('%.2f', 20 + (hash(i * 7) % 50000) / 100.0) END AS "总金额",
    printf('%.2f', 20 + (hash(i * 7) % 50000) / 100.0) AS "买家实际支付金额",
    ['交易成功', '交易成功', '交易成功', '等待买家付款', '交易关闭', '卖家已发货，等待买家确认'][1 + i % 6] AS "订单状态",
    ['王小明', '李四', '张伟', '刘洋', '陈静', '杨帆'][1 + CAST(hash(i) % 6 AS BIGINT)] AS "收货人姓名",
    ['广东省 深圳市 南山区 科技园', '浙江省 杭州市 西湖区 文三路', '北京 北京市 朝阳区 建国路',
     '上海市 浦东新区 世纪大道', '江苏省 苏州市 工业园区 星湖街', '四川省 成都市 武侯区 人民南路'][1 + CAST(hash(i * 3) % 6 AS BIGINT)]
      || ' ' || CAST(i % 999 AS VARCHAR) || '号' AS "收货地址",
    '' AS "联系电话",
    CASE WHEN i % 10 = 0 THEN '138****' || lpad(CAST(i % 10000 AS VARCHAR), 4, '0')
         ELSE '1' || ['38', '39', '50', '86', '77', '35'][1 + i % 6] || lpad(CAST(hash(i % $buyers) % 100000000 AS VARCHAR), 8, '0') END
      AS "联系手机",
    CASE WHEN i % 1000 = 3 THEN '2024-13-45 99:00:00'
         ELSE strftime(TIMESTAMP '2023-01-01' + to_seconds(CAST(hash(i) % 63072000 AS BIGINT)), '%Y-%m-%d %H:%M:%S') END
      AS "订单创建时间",
    strftime(TIMESTAMP '2023-01-01' + to_seconds(CAST(hash(i) % 63072000 + 60 AS BIGINT)), '%Y-%m-%d %H:%M:%S') AS "订单付款时间",
    ['婴儿湿巾', '蓝牙耳机', '面膜', 'T恤', '零食大礼包', '保温杯'][1 + i % 6] AS "宝贝标题",
    CAST(1 + i % 3 AS VARCHAR) AS "宝贝总数量",
    '旗舰店' AS "店铺名称"
  FROM range($n) t(i)
) TO '{path}' (HEADER, DELIMITER ',')
"""


def generate(n: int) -> str:
    """The Taobao CSV of ``n`` orders under bench/.work/ (generated once, then reused); its path."""
    WORK.mkdir(exist_ok=True)
    path = WORK / f"taobao_orders_{n}.csv"
    if not path.exists():
        started = time.perf_counter()
        duckdb.connect().execute(
            GENERATE.format(path=str(path).replace("'", "''")), {"n": n, "buyers": max(n // 3, 1)}
        )
        print(
            f"generated {n:,} orders in {time.perf_counter() - started:.1f}s ({path.stat().st_size / 2**20:.0f} MiB)"
        )
    return str(path)


def bare_read(path: str, database: str) -> dict[str, Any]:
    """The baseline: ``CREATE TABLE … AS SELECT * FROM read_csv(path)`` into a fresh DuckDB file."""
    bare = duckdb.connect(database)
    started = time.perf_counter()
    bare.execute("CREATE TABLE orders AS SELECT * FROM read_csv($p)", {"p": path})
    seconds = time.perf_counter() - started
    row = bare.execute("SELECT count(*) FROM orders").fetchone()
    bare.close()
    return {"seconds": seconds, "rows": int(row[0]) if row else 0}


def measure(orders: float) -> dict[str, Any]:
    """Import vs bare read_csv of the same file; the baseline runs in its own process."""
    n = int(orders)
    path = Path(call_isolated("ingest:generate", n=n).result)
    with tempfile.TemporaryDirectory() as tmp:
        child = call_isolated("ingest:bare_read", path=str(path), database=str(Path(tmp) / "bare.duckdb"))
        bare_seconds, bare_rows = child.result["seconds"], child.result["rows"]

        settings = get_settings(warehouse_url=f"duckdb://{tmp}/warehouse.duckdb", progress=False)
        con = connect(settings)
        started = time.perf_counter()
        report = import_file(con, settings, "orders", path)
        ours_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = import_file(con, settings, "orders", path)
        again_seconds = time.perf_counter() - started
        con.disconnect()

    peak = self_peak_rss_mib()
    details = {
        "orders": n,
        "file_mib": round(path.stat().st_size / 2**20, 1),
        "bare_read_csv_seconds": round(bare_seconds, 3),
        "bare_rows_per_second": round(bare_rows / bare_seconds),
        "import_seconds": round(ours_seconds, 3),
        "import_rows_per_second": round(report.rows_read / ours_seconds),
        "reimport_seconds": round(again_seconds, 3),
        "loaded": report.rows_loaded,
        "quarantined": report.rows_quarantined,
        "reimport_unchanged": again.rows_unchanged,
    }
    return {
        "benchmark": "ingest",
        "sizes": {"orders": n},
        "figures": [
            figures.timed(
                "import orders CSV",
                guanxi_seconds=ours_seconds,
                baseline="DuckDB read_csv",
                baseline_seconds=bare_seconds,
                goal_ratio=3.0,
                guanxi_peak_rss_mib=peak,
                baseline_peak_rss_mib=child.peak_rss_mib,
                note=f"{report.rows_loaded:,} loaded, {report.rows_quarantined:,} quarantined",
            ),
            figures.value(
                "re-import unchanged file",
                value=f"{again_seconds:.2f} s, {again.rows_unchanged:,} unchanged",
                goal="every row unchanged",
                met=again.rows_unchanged == report.rows_loaded,
                guanxi_seconds=again_seconds,
            ),
        ],
        "details": details,
        "warnings": [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=float, default=1e6)
    parser.add_argument("--json", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args()
    result = measure(args.orders)
    d = result["details"]
    ratio = d["import_seconds"] / d["bare_read_csv_seconds"]
    print(
        f"bare duckdb.read_csv : {d['bare_read_csv_seconds']:7.2f}s  {d['bare_rows_per_second']:>12,} rows/s"
    )
    print(f"guanxi import        : {d['import_seconds']:7.2f}s  {d['import_rows_per_second']:>12,} rows/s")
    print(f"ratio import / bare  : {ratio:.2f}x  (goal: within 3x)")
    print(f"re-import (no change): {d['reimport_seconds']:7.2f}s  unchanged={d['reimport_unchanged']:,}")
    print(
        f"loaded={d['loaded']:,} quarantined={d['quarantined']:,} "
        f"peak RSS={result['figures'][0]['guanxi_peak_rss_mib']} MiB"
    )
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
