"""Import N Taobao-style orders from CSV and compare with a bare ``duckdb.read_csv`` of the same file.

Usage: ``python bench/ingest.py --orders 1000000``. Prints rows/s of both and the ratio (the figure
that matters: goal within 3x of the bare read). The file is generated with DuckDB SQL (UTF-8, Taobao
headers, realistic phones, addresses, amounts, 1 in 500 rows broken) under bench/.work/.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from guanxi.config import get_settings  # noqa: E402
from guanxi.ingest.api import import_file  # noqa: E402
from guanxi.warehouse import connect  # noqa: E402

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


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=float, default=1e6)
    args = parser.parse_args()
    n = int(args.orders)
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

    with tempfile.TemporaryDirectory() as tmp:
        bare = duckdb.connect(str(Path(tmp) / "bare.duckdb"))
        started = time.perf_counter()
        bare.execute("CREATE TABLE orders AS SELECT * FROM read_csv($p)", {"p": str(path)})
        bare_seconds = time.perf_counter() - started
        bare_rows = bare.execute("SELECT count(*) FROM orders").fetchone()[0]
        bare.close()

        settings = get_settings(warehouse_url=f"duckdb://{tmp}/warehouse.duckdb", progress=False)
        con = connect(settings)
        started = time.perf_counter()
        report = import_file(con, settings, "orders", path)
        ours_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = import_file(con, settings, "orders", path)
        again_seconds = time.perf_counter() - started
        con.disconnect()

    result = {
        "benchmark": "ingest",
        "orders": n,
        "bare_read_csv_seconds": round(bare_seconds, 3),
        "bare_rows_per_second": round(bare_rows / bare_seconds),
        "import_seconds": round(ours_seconds, 3),
        "import_rows_per_second": round(report.rows_read / ours_seconds),
        "ratio_import_to_bare": round(ours_seconds / bare_seconds, 2),
        "reimport_seconds": round(again_seconds, 3),
        "loaded": report.rows_loaded,
        "quarantined": report.rows_quarantined,
        "reimport_unchanged": again.rows_unchanged,
        "peak_rss_mib": round(peak_rss_mib()),
    }
    print(f"bare duckdb.read_csv : {bare_seconds:7.2f}s  {result['bare_rows_per_second']:>12,} rows/s")
    print(f"guanxi import        : {ours_seconds:7.2f}s  {result['import_rows_per_second']:>12,} rows/s")
    print(f"ratio import / bare  : {result['ratio_import_to_bare']:.2f}x  (goal: within 3x)")
    print(f"re-import (no change): {again_seconds:7.2f}s  unchanged={again.rows_unchanged:,}")
    print(
        f"loaded={report.rows_loaded:,} quarantined={report.rows_quarantined:,} peak RSS={result['peak_rss_mib']} MiB"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
