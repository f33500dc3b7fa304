"""Shopify admin "Export orders" CSV: one row per line item, English headers.

As Shopify does, ``Name``, ``Email``, ``Created at`` and the line-item and
vendor columns are on every row; the order-level columns (statuses, money,
addresses, phone) only on the first row of each order. Times are
``2024-03-01 10:11:12 +0800``. ``Total`` is what the customer pays (goods
after discounts plus shipping; prices include tax). The file is read as orders
(``shopify-orders``) and as line items (``shopify-items``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from guanxi.demo import textcols as tc
from guanxi.demo.accounts import SHOPIFY
from guanxi.demo.catalog import catalog
from guanxi.demo.dataset import DemoDataset
from guanxi.demo.exports.cells import break_cells, money, offset_suffix, times
from guanxi.demo.exports.formats import write_csv
from guanxi.demo.exports.manifest import ExportContext, ExportedFile, PlannedImport
from guanxi.demo.fulfilment import CANCELLED, DELIVERED, PAID, REFUNDED, SHIPPED, UNPAID
from guanxi.demo.geography import PROVINCE_PINYIN
from guanxi.demo.randomness import choice, stream

UNKNOWN_STATUS = "chargeback"
LOCATION = "Shanghai Jing'an Store"
HEADERS = (
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem sku",
    "Lineitem category",
    "Lineitem requires shipping",
    "Billing Name",
    "Shipping Address1",
    "Shipping City",
    "Shipping Zip",
    "Shipping Province Name",
    "Shipping Country",
    "Phone",
    "Cancelled at",
    "Payment Method",
    "Refunded Amount",
    "Vendor",
    "Location",
    "Source",
    "Tags",
)
EVERY_ROW = frozenset(
    {
        "Name",
        "Email",
        "Created at",
        "Lineitem quantity",
        "Lineitem name",
        "Lineitem price",
        "Lineitem sku",
        "Lineitem category",
        "Lineitem requires shipping",
        "Vendor",
    }
)
"""Columns Shopify repeats on every line of an order; the rest are on the first line only."""


def financial_status(status: npt.NDArray[np.int64], partial: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Index into ``("pending", "paid", "partially_refunded", "refunded", "voided")`` per order."""
    out = np.full(len(status), 1, dtype=np.int64)
    out = np.where(status == UNPAID, 0, out)
    out = np.where(partial & np.isin(status, [PAID, SHIPPED, DELIVERED]), 2, out)
    out = np.where(status == REFUNDED, 3, out)
    return np.where(status == CANCELLED, 4, out)


def export_shopify(data: DemoDataset, ctx: ExportContext) -> list[ExportedFile]:
    """Write ``shopify_orders.csv``; returns the file."""
    rng = stream(data.spec.seed, "export-shopify")
    orders, people = data.orders, data.people
    lines = data.lines_of(SHOPIFY)
    order_of = orders.lines.order[lines]
    product = orders.lines.product[lines]
    n = len(lines)
    first = np.concatenate([[True], order_of[1:] != order_of[:-1]]) if n else np.zeros(0, dtype=bool)
    st = orders.state
    who = orders.recipient[order_of]
    stamp = " " + offset_suffix(ctx.utc_offset)
    n_orders = len(orders)
    pos = rng.random(n_orders) < 0.06
    code = orders.discount > 0
    cat = catalog()
    cells = {
        "Name": orders.order_id.take(order_of),
        "Email": orders.customer_id.take(order_of),
        "Financial Status": tc.pick(
            ("pending", "paid", "partially_refunded", "refunded", "voided"),
            financial_status(st.status, st.partial_refund)[order_of],
        ),
        "Paid at": times(st.paid[order_of], stamp),
        "Fulfillment Status": tc.where(st.shipped[order_of] >= 0, "fulfilled", "unfulfilled"),
        "Fulfilled at": times(st.shipped[order_of], stamp),
        "Accepts Marketing": tc.where((rng.random(n_orders) < 0.4)[order_of], "yes", "no"),
        "Currency": tc.where(orders.usd[order_of], "USD", "CNY"),
        "Subtotal": money((orders.goods - orders.discount)[order_of]),
        "Shipping": money(orders.shipping[order_of]),
        "Taxes": tc.constant("0.00", n),
        "Total": money(orders.payable[order_of]),
        "Discount Code": tc.where(
            code[order_of], tc.pick(("WELCOME10", "VIP10", "SPRING10"), rng.integers(0, 3, n)), ""
        ),
        "Discount Amount": money(orders.discount[order_of]),
        "Shipping Method": tc.where(
            pos[order_of], "", tc.where(orders.shipping[order_of] > 0, "Standard", "Free Shipping")
        ),
        "Created at": times(orders.created[order_of], stamp),
        "Lineitem quantity": tc.digits(orders.lines.quantity[lines]),
        "Lineitem name": tc.pick(cat.product, product),
        "Lineitem price": money(orders.lines.price[lines]),
        "Lineitem sku": tc.pick(cat.sku, product),
        "Lineitem category": tc.pick(cat.category, product),
        "Lineitem requires shipping": tc.where(pos[order_of], "false", "true"),
        "Billing Name": people.name.take(orders.buyer[order_of]),
        "Shipping Address1": tc.concat(people.district.take(who), people.street.take(who)),
        "Shipping City": people.city.take(who),
        "Shipping Zip": tc.digits(rng.integers(100_000, 860_000, n)),
        "Shipping Province Name": tc.translate(
            people.province.take(who), lambda p: PROVINCE_PINYIN.get(p, p)
        ),
        "Shipping Country": tc.constant("China", n),
        "Phone": orders.phone.take(order_of),
        "Cancelled at": times(np.where(st.status == CANCELLED, st.closed, -1)[order_of], stamp),
        "Payment Method": tc.pick(
            ("Alipay", "WeChat Pay", "Shopify Payments", "PayPal"),
            choice(rng, [40, 35, 15, 10], n_orders)[order_of],
        ),
        "Refunded Amount": money(orders.refund[order_of]),
        "Vendor": tc.pick(cat.brand, product),
        "Location": tc.where(pos[order_of], LOCATION, ""),
        "Source": tc.where(pos[order_of], "pos", "web"),
        "Tags": tc.where((rng.random(n_orders) < 0.1)[order_of], "VIP", ""),
    }
    cells = break_cells(
        orders.defect[order_of],
        cells,
        time_key="Created at",
        amount_key="Total",
        status_key="Financial Status",
        id_key="Name",
        unknown_status=UNKNOWN_STATUS,
    )
    for header in HEADERS:
        if header not in EVERY_ROW:
            cells[header] = tc.where(first, cells[header], None)
    path = ctx.path("shopify_orders.csv")
    written = write_csv(path, HEADERS, [cells[h] for h in HEADERS], encoding="utf-8")
    return [
        ExportedFile(
            path,
            "Shopify orders export",
            "csv",
            written,
            (PlannedImport("orders", "shopify-orders"), PlannedImport("order-items", "shopify-items")),
        )
    ]
