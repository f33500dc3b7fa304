"""Taobao / Tmall seller-centre exports: 订单报表 (GBK CSV) and 宝贝报表 (UTF-8 CSV with BOM).

Headers are the first alias of each field in the ``taobao-orders`` and
``taobao-items`` presets, plus columns the real reports carry that the presets
do not map (they land in ``extra``). 35 % of buyers' mobiles are masked
(``138****5678``), as Taobao hides them.
"""

from __future__ import annotations

import numpy as np

from guanxi.demo import textcols as tc
from guanxi.demo.accounts import TAOBAO
from guanxi.demo.catalog import catalog
from guanxi.demo.dataset import DemoDataset
from guanxi.demo.exports.cells import break_cells, money, times
from guanxi.demo.exports.formats import write_csv
from guanxi.demo.exports.manifest import ExportContext, ExportedFile, PlannedImport
from guanxi.demo.fulfilment import CANCELLED, NO_TIME, REFUNDED
from guanxi.demo.randomness import stream

STATUS_WORDS = (
    "等待买家付款",
    "等待买家付款",
    "买家已付款，等待卖家发货",
    "卖家已发货，等待买家确认",
    "交易成功",
    "付款以后用户退款成功，交易自动关闭",
    "交易关闭",
)
"""Canonical status index → 订单状态 (the order report)."""
ITEM_STATUS_WORDS = (
    "等待买家付款",
    "等待买家付款",
    "买家已付款，等待卖家发货",
    "卖家已发货，等待买家确认",
    "交易成功",
    "退款成功",
    "交易关闭",
)
"""Canonical status index → 订单状态 (the item report)."""
UNKNOWN_STATUS = "交易异常"
STORE = "关系优品旗舰店"
COURIERS = (
    ("顺丰速运", "SF"),
    ("中通快递", "ZT"),
    ("圆通速递", "YT"),
    ("韵达快递", "YD"),
    ("极兔速递", "JT"),
)
BUYER_NOTES = (
    "",
    "",
    "",
    "",
    "",
    "",
    "请尽快发货",
    "不要放快递柜",
    "麻烦发顺丰",
    "送人的，不要放发票",
    "周末送货",
)
CLOSE_REASONS = ("买家不想买了", "超时未付款", "信息填写错误，重新拍", "其他原因")
ATTRIBUTES = ("颜色分类:黑色", "颜色分类:白色", "尺码:M", "尺码:L", "规格:标准装", "规格:礼盒装", "")

ORDER_HEADERS = (
    "订单编号",
    "买家会员名",
    "买家应付邮费",
    "总金额",
    "买家实际支付金额",
    "订单状态",
    "买家留言",
    "收货人姓名",
    "收货地址",
    "运送方式",
    "联系手机",
    "订单创建时间",
    "订单付款时间",
    "宝贝标题",
    "宝贝种类",
    "物流单号",
    "物流公司",
    "订单备注",
    "宝贝总数量",
    "店铺名称",
    "订单关闭原因",
    "是否手机订单",
    "退款金额",
    "发货时间",
    "确认收货时间",
)
ITEM_HEADERS = (
    "订单编号",
    "标题",
    "价格",
    "购买数量",
    "商家编码",
    "商品属性",
    "套餐信息",
    "备注",
    "订单状态",
    "类目",
    "品牌",
)


def export_taobao(data: DemoDataset, ctx: ExportContext) -> list[ExportedFile]:
    """Write ``taobao_orders.csv`` (GBK) and ``taobao_items.csv``; returns both files."""
    rng = stream(data.spec.seed, "export-taobao")
    orders, people = data.orders, data.people
    rows = orders.of(TAOBAO)
    n = len(rows)
    st = orders.state
    status = st.status[rows]
    who = orders.recipient[rows]
    first_line = np.searchsorted(orders.lines.order, rows)
    line_count = np.bincount(orders.lines.order, minlength=len(orders))[rows]
    shipped = st.shipped[rows] != NO_TIME
    courier = rng.integers(0, len(COURIERS), n)
    tracking = tc.concat(
        tc.pick([c for _, c in COURIERS], courier), tc.digits(rng.integers(10**11, 10**12, n))
    )
    district = people.district.take(who)
    address = tc.concat(
        people.province.take(who),
        " ",
        people.city.take(who),
        " ",
        tc.where(tc.blank(district), "", tc.concat(district, " ")),
        people.street.take(who),
    )
    cells = {
        "订单编号": orders.order_id.take(rows),
        "买家会员名": orders.customer_id.take(rows),
        "买家应付邮费": money(orders.shipping[rows]),
        "总金额": money(orders.total[rows]),
        "买家实际支付金额": money(orders.paid_amount[rows]),
        "订单状态": tc.pick(STATUS_WORDS, status),
        "买家留言": tc.pick(BUYER_NOTES, rng.integers(0, len(BUYER_NOTES), n)),
        "收货人姓名": people.name.take(who),
        "收货地址": address,
        "运送方式": tc.where(rng.random(n) < 0.97, "快递", "EMS"),
        "联系手机": orders.phone.take(rows),
        "订单创建时间": times(orders.created[rows]),
        "订单付款时间": times(st.paid[rows]),
        "宝贝标题": tc.pick(catalog().product, orders.lines.product[first_line]),
        "宝贝种类": tc.digits(line_count),
        "物流单号": tc.nullify(tracking, ~shipped),
        "物流公司": tc.nullify(tc.pick([c for c, _ in COURIERS], courier), ~shipped),
        "订单备注": tc.where(rng.random(n) < 0.03, "已联系买家确认地址", ""),
        "宝贝总数量": tc.digits(orders.item_count[rows]),
        "店铺名称": tc.constant(STORE, n),
        "订单关闭原因": tc.where(
            status == REFUNDED,
            "退款",
            tc.where(status == CANCELLED, tc.pick(CLOSE_REASONS, rng.integers(0, len(CLOSE_REASONS), n)), ""),
        ),
        "是否手机订单": tc.where(orders.mobile_app[rows], "手机订单", ""),
        "退款金额": money(orders.refund[rows]),
        "发货时间": times(st.shipped[rows]),
        "确认收货时间": times(st.delivered[rows]),
    }
    cells = break_cells(
        orders.defect[rows],
        cells,
        time_key="订单创建时间",
        amount_key="总金额",
        status_key="订单状态",
        id_key="订单编号",
        unknown_status=UNKNOWN_STATUS,
    )
    orders_path = ctx.path("taobao_orders.csv")
    written = write_csv(orders_path, ORDER_HEADERS, [cells[h] for h in ORDER_HEADERS], encoding="gbk")
    files = [
        ExportedFile(
            orders_path, "淘宝 订单报表", "csv (GBK)", written, (PlannedImport("orders", "taobao-orders"),)
        )
    ]

    lines = orders.lines
    mine = data.lines_of(TAOBAO)
    order_of = lines.order[mine]
    product = lines.product[mine]
    line_status = np.where(
        st.partial_refund[order_of] & (mine == np.searchsorted(lines.order, order_of)),
        REFUNDED,
        st.status[order_of],
    )
    m = len(mine)
    cat = catalog()
    item_cells = {
        "订单编号": orders.order_id.take(order_of),
        "标题": tc.pick(cat.product, product),
        "价格": money(lines.price[mine]),
        "购买数量": tc.digits(lines.quantity[mine]),
        "商家编码": tc.pick(cat.sku, product),
        "商品属性": tc.pick(ATTRIBUTES, rng.integers(0, len(ATTRIBUTES), m)),
        "套餐信息": tc.constant("", m),
        "备注": tc.constant("", m),
        "订单状态": tc.pick(ITEM_STATUS_WORDS, line_status),
        "类目": tc.pick(cat.category, product),
        "品牌": tc.pick(cat.brand, product),
    }
    items_path = ctx.path("taobao_items.csv")
    written = write_csv(items_path, ITEM_HEADERS, [item_cells[h] for h in ITEM_HEADERS], encoding="utf-8-sig")
    files.append(
        ExportedFile(
            items_path,
            "淘宝 宝贝报表",
            "csv (UTF-8 BOM)",
            written,
            (PlannedImport("order-items", "taobao-items"),),
        )
    )
    return files
