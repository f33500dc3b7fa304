"""Youzan (有赞) shop order export: one row per order.

Small shops get the classic .xls (Excel 97; at most ``xls_row_cap`` rows),
larger ones .xlsx. Headers are the ``youzan-orders`` preset's first aliases
plus unmapped columns of the real export (商品名称, 支付方式, 配送方式 …).
Youzan's 订单商品总金额 is the goods total before shipping and discounts.
"""

from __future__ import annotations

import numpy as np

from guanxi.demo import textcols as tc
from guanxi.demo.accounts import YOUZAN
from guanxi.demo.catalog import catalog
from guanxi.demo.dataset import DemoDataset
from guanxi.demo.exports.cells import break_cells, money, times
from guanxi.demo.exports.formats import write_xls, write_xlsx
from guanxi.demo.exports.manifest import ExportContext, ExportedFile, PlannedImport
from guanxi.demo.randomness import choice, stream

STATUS_WORDS = ("待付款", "待付款", "待发货", "已发货", "交易成功", "已退款", "已关闭")
"""Canonical status index → 订单状态."""
UNKNOWN_STATUS = "售后处理中"
STORES = (
    ("关系优品微商城", 80.0),
    ("关系优品·上海静安店", 8.0),
    ("关系优品·杭州西湖店", 7.0),
    ("关系优品·深圳南山店", 5.0),
)
SOURCES = (("微信小程序", 55.0), ("微商城", 25.0), ("有赞APP", 8.0), ("门店收银", 7.0), ("视频号", 5.0))
PAYMENTS = (("微信支付", 82.0), ("储值卡", 6.0), ("有赞E卡", 4.0), ("支付宝", 8.0))
DELIVERY = (("快递发货", 88.0), ("同城配送", 5.0), ("到店自提", 7.0))
HEADERS = (
    "订单号",
    "归属店铺",
    "订单状态",
    "订单来源",
    "买家ID",
    "收货人/提货人",
    "收货人手机号/提货人手机号",
    "收货人省份",
    "收货人城市",
    "收货人地区",
    "详细收货地址/提货地址",
    "订单创建时间",
    "买家付款时间",
    "商家发货时间",
    "交易成功时间",
    "订单商品总金额",
    "订单运费",
    "订单优惠",
    "订单实付金额",
    "订单已退款金额",
    "商品名称",
    "商品数量",
    "支付方式",
    "配送方式",
    "买家备注",
)


def _pick(rng: np.random.Generator, pool: tuple[tuple[str, float], ...], size: int) -> tc.Column:
    return tc.pick([name for name, _ in pool], choice(rng, [w for _, w in pool], size))


def export_youzan(data: DemoDataset, ctx: ExportContext) -> list[ExportedFile]:
    """Write ``youzan_orders.xls`` (small shops) or ``youzan_orders.xlsx``; returns the file."""
    rng = stream(data.spec.seed, "export-youzan")
    orders, people = data.orders, data.people
    rows = orders.of(YOUZAN)
    n = len(rows)
    st = orders.state
    who = orders.recipient[rows]
    first_line = np.searchsorted(orders.lines.order, rows)
    cells = {
        "订单号": orders.order_id.take(rows),
        "归属店铺": _pick(rng, STORES, n),
        "订单状态": tc.pick(STATUS_WORDS, st.status[rows]),
        "订单来源": _pick(rng, SOURCES, n),
        "买家ID": orders.customer_id.take(rows),
        "收货人/提货人": people.name.take(who),
        "收货人手机号/提货人手机号": orders.phone.take(rows),
        "收货人省份": people.province.take(who),
        "收货人城市": people.city.take(who),
        "收货人地区": people.district.take(who),
        "详细收货地址/提货地址": people.street.take(who),
        "订单创建时间": times(orders.created[rows]),
        "买家付款时间": times(st.paid[rows]),
        "商家发货时间": times(st.shipped[rows]),
        "交易成功时间": times(st.delivered[rows]),
        "订单商品总金额": money(orders.goods[rows]),
        "订单运费": money(orders.shipping[rows]),
        "订单优惠": money(orders.discount[rows]),
        "订单实付金额": money(orders.paid_amount[rows]),
        "订单已退款金额": money(orders.refund[rows]),
        "商品名称": tc.pick(catalog().product, orders.lines.product[first_line]),
        "商品数量": tc.digits(orders.item_count[rows]),
        "支付方式": _pick(rng, PAYMENTS, n),
        "配送方式": _pick(rng, DELIVERY, n),
        "买家备注": tc.where(rng.random(n) < 0.05, "麻烦包装好一点，送人的", ""),
    }
    cells = break_cells(
        orders.defect[rows],
        cells,
        time_key="订单创建时间",
        amount_key="订单商品总金额",
        status_key="订单状态",
        id_key="订单号",
        unknown_status=UNKNOWN_STATUS,
    )
    columns = [cells[h] for h in HEADERS]
    if n <= ctx.xls_row_cap:
        path = ctx.path("youzan_orders.xls")
        written, fmt = write_xls(path, HEADERS, columns, sheet="订单"), "xls"
    else:
        path = ctx.path("youzan_orders.xlsx")
        written, fmt = write_xlsx(path, HEADERS, columns, sheet="订单"), "xlsx"
    return [ExportedFile(path, "有赞 订单导出", fmt, written, (PlannedImport("orders", "youzan-orders"),))]
