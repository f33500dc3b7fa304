"""Customer lists: the CRM's member table (Parquet), the sales team's contact
spreadsheet (.xlsx), the WeChat service account's followers (JSON Lines).

All three are read with the ``generic-customers`` preset. The CRM and WeChat
files use the preset's first (English) aliases, as system exports do; the
sales spreadsheet, typed by people, uses its Chinese aliases (客户编号, 姓名,
手机 …) and real Excel date cells.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from guanxi.demo import textcols as tc
from guanxi.demo.dataset import CRM_SOURCE, SALES_SOURCE, WECHAT_SOURCE, DemoDataset
from guanxi.demo.exports.formats import write_json_lines, write_parquet, write_xlsx
from guanxi.demo.exports.manifest import ExportContext, ExportedFile, PlannedImport

CRM_COLUMNS = (
    "source_customer_id",
    "member_no",
    "name",
    "gender",
    "birthday",
    "phone",
    "email",
    "wechat_unionid",
    "qq",
    "province",
    "city",
    "district",
    "address",
    "registered_at",
    "updated_at",
    "level",
    "points",
    "signup_channel",
)
SALES_HEADERS = {
    "source_customer_id": "客户编号",
    "name": "姓名",
    "gender": "性别",
    "phone": "手机",
    "email": "邮箱",
    "company": "公司",
    "title": "职位",
    "province": "省份",
    "city": "城市",
    "address": "地址",
    "birthday": "生日",
    "owner": "负责人",
    "note": "备注",
    "last_contact": "最近跟进",
}
"""Sales spreadsheet column → header (the generic-customers preset's Chinese aliases, plus extras)."""
WECHAT_COLUMNS = (
    "source_customer_id",
    "wechat_appid",
    "wechat_openid",
    "wechat_unionid",
    "registered_at",
    "subscribe",
    "subscribe_scene",
    "tagid_list",
    "remark",
    "language",
)


def export_lists(data: DemoDataset, ctx: ExportContext) -> list[ExportedFile]:
    """Write ``crm_customers.parquet``, ``sales_contacts.xlsx`` and ``wechat_followers.jsonl``."""
    crm_path = ctx.path("crm_customers.parquet")
    rows = write_parquet(crm_path, data.crm.select(list(CRM_COLUMNS)))
    files = [
        ExportedFile(
            crm_path,
            "CRM 会员表",
            "parquet",
            rows,
            (PlannedImport("customers", "generic-customers", CRM_SOURCE),),
        )
    ]
    sales_path = ctx.path("sales_contacts.xlsx")
    rows = _write_sales_sheet(sales_path, data.sales)
    files.append(
        ExportedFile(
            sales_path,
            "销售 客户通讯录",
            "xlsx",
            rows,
            (PlannedImport("customers", "generic-customers", SALES_SOURCE),),
        )
    )
    wechat_path = ctx.path("wechat_followers.jsonl")
    rows = write_json_lines(wechat_path, _follower_fields(data.followers))
    files.append(
        ExportedFile(
            wechat_path,
            "微信公众号 粉丝列表",
            "jsonl",
            rows,
            (PlannedImport("customers", "generic-customers", WECHAT_SOURCE),),
        )
    )
    return files


SALES_WIDTHS = (10, 8, 6, 16, 26, 30, 10, 10, 10, 36, 12, 8, 20, 18)


def _write_sales_sheet(path: Path, table: pa.Table) -> int:
    """A people-made spreadsheet: bold header, column widths, real date cells."""
    columns = [table.column(name).combine_chunks() for name in SALES_HEADERS]
    return write_xlsx(path, list(SALES_HEADERS.values()), columns, sheet="客户", widths=SALES_WIDTHS)


def _follower_fields(table: pa.Table) -> list[tuple[str, tc.Column, bool]]:
    """The WeChat user-info shape: ids, subscribe flag and time, scene, tag ids, remark, language."""
    tags = table.column("tagid_list").combine_chunks()
    tag_text = tc.concat("[", pc.binary_join(tags.cast(pa.list_(pa.string())), ","), "]")
    raw = {"subscribe", "tagid_list"}
    return [
        (name, tag_text if name == "tagid_list" else table.column(name).combine_chunks(), name in raw)
        for name in WECHAT_COLUMNS
    ]
