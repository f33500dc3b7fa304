"""JD (京东) merchant back-office order export: one row per order line, order columns repeated.

Written as .xlsx up to ``excel_row_cap`` lines (whole orders only); the lines
beyond go to ``jd_orders_more.csv`` (UTF-8 with BOM), as a merchant splits an
export Excel cannot hold. The same files are read twice: as orders
(``jd-orders``) and as order lines (``jd-items``). Headers are the presets'
first aliases plus columns the real export has that the presets do not map.
"""

from __future__ import annotations

import numpy as np

from guanxi.demo import textcols as tc
from guanxi.demo.accounts import JD
from guanxi.demo.catalog import catalog
from guanxi.demo.dataset import DemoDataset
from guanxi.demo.exports.cells import break_cells, money, times
from guanxi.demo.exports.formats import write_csv, write_xlsx
from guanxi.demo.exports.manifest import ExportContext, ExportedFile, PlannedImport
from guanxi.demo.geography import short_province
from guanxi.demo.randomness import choice, stream

STATUS_WORDS = ("等待付款", "等待付款", "等待出库", "等待确认收货", "完成", "退款成功", "已取消")
"""Canonical status index → 订单状态."""
UNKNOWN_STATUS = "暂停"
STORE = "关系优品京东官方旗舰店"
CHANNELS = (("京东APP", 70.0), ("微信-京东购物", 15.0), ("PC", 10.0), ("京东小程序", 5.0))
HEADERS = (
    "订单号",
    "商品ID",
    "商品名称",
    "订购数量",
    "支付方式",
    "下单时间",
    "京东价",
    "订单金额",
    "优惠金额",
    "应付金额",
    "订单状态",
    "订单类型",
    "下单帐号",
    "客户姓名",
    "客户地址",
    "联系电话",
    "订单备注",
    "运费金额",
    "付款确认时间",
    "订单完成时间",
    "订单渠道",
    "店铺名称",
    "商品类目",
    "品牌",
)
IMPORTS = (PlannedImport("orders", "jd-orders"), PlannedImport("order-items", "jd-items"))


def jd_sku(product: np.ndarray) -> tc.Column:
    """JD's numeric SKU id for catalogue products."""
    return tc.digits(100_012_000_000 + product.astype(np.int64) * 7_919)


def export_jd(data: DemoDataset, ctx: ExportContext) -> list[ExportedFile]:
    """Write ``jd_orders.xlsx`` (and ``jd_orders_more.csv`` past the Excel cap); returns the files."""
    rng = stream(data.spec.seed, "export-jd")
    orders, people, lines = data.orders, data.people, data.lines_of(JD)
    order_of = orders.lines.order[lines]
    product = orders.lines.product[lines]
    st = orders.state
    who = orders.recipient[order_of]
    n_orders = len(orders)
    channel = choice(rng, [w for _, w in CHANNELS], n_orders)
    pays_cash = rng.random(n_orders) < 0.05
    province_short = tc.translate(people.province.take(who), short_province)
    cat = catalog()
    cells = {
        "订单号": orders.order_id.take(order_of),
        "商品ID": jd_sku(product),
        "商品名称": tc.pick(cat.product, product),
        "订购数量": tc.digits(orders.lines.quantity[lines]),
        "支付方式": tc.where(pays_cash[order_of], "货到付款", "在线支付"),
        "下单时间": times(orders.created[order_of]),
        "京东价": money(orders.lines.price[lines]),
        "订单金额": money(orders.total[order_of]),
        "优惠金额": money(orders.discount[order_of]),
        "应付金额": money(orders.payable[order_of]),
        "订单状态": tc.pick(STATUS_WORDS, st.status[order_of]),
        "订单类型": tc.constant("普通订单", len(lines)),
        "下单帐号": orders.customer_id.take(order_of),
        "客户姓名": people.name.take(who),
        "客户地址": tc.concat(
            province_short, people.city.take(who), people.district.take(who), people.street.take(who)
        ),
        "联系电话": orders.phone.take(order_of),
        "订单备注": tc.constant("", len(lines)),
        "运费金额": money(orders.shipping[order_of]),
        "付款确认时间": times(st.paid[order_of]),
        "订单完成时间": times(st.delivered[order_of]),
        "订单渠道": tc.pick([c for c, _ in CHANNELS], channel[order_of]),
        "店铺名称": tc.constant(STORE, len(lines)),
        "商品类目": tc.pick(cat.category, product),
        "品牌": tc.pick(cat.brand, product),
    }
    cells = break_cells(
        orders.defect[order_of],
        cells,
        time_key="下单时间",
        amount_key="订单金额",
        status_key="订单状态",
        id_key="订单号",
        unknown_status=UNKNOWN_STATUS,
    )
    columns = [cells[h] for h in HEADERS]
    cut = len(lines)
    if cut > ctx.excel_row_cap:
        # Keep whole orders in the workbook: cut where the order at the cap begins.
        cut = int(np.searchsorted(order_of, order_of[ctx.excel_row_cap], side="left"))
    path = ctx.path("jd_orders.xlsx")
    written = write_xlsx(path, HEADERS, [c.slice(0, cut) for c in columns], sheet="订单列表")
    files = [ExportedFile(path, "京东 订单导出", "xlsx", written, IMPORTS)]
    if cut < len(lines):
        more = ctx.path("jd_orders_more.csv")
        written = write_csv(more, HEADERS, [c.slice(cut) for c in columns], encoding="utf-8-sig")
        files.append(ExportedFile(more, "京东 订单导出（续）", "csv (UTF-8 BOM)", written, IMPORTS))
    return files
