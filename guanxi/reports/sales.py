"""Built-in sales reports, on the shared measures (:mod:`guanxi.measures`).

``monthly_sales`` — per calendar month of payment (wall-clock, ``Settings.timezone``):
paid orders, paid revenue (net of refunds), refunds and the average paid order, in the
configured currency (orders naming no currency count as in it). The series ends with the
latest month that has a payment within the period and has ``months`` entries; months without
payments show zeros. Its revenue over any span equals the dashboard's and the models'.
"""

from __future__ import annotations

from datetime import date, datetime, time

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend

from guanxi import measures
from guanxi.config import Settings
from guanxi.reports.definition import ReportColumn, ReportDefinition, ReportParams
from guanxi.tables import RAW_ORDERS


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def monthly_sales_table(con: BaseBackend, settings: Settings, params: ReportParams) -> ir.Table:
    """The ``monthly_sales`` table (see the module docstring); one small query finds the last month."""
    orders = con.table(RAW_ORDERS.name)
    orders = orders.filter(measures.in_currency(orders, settings.currency))
    paid = measures.paid_orders(orders)
    if params.start is not None:
        paid = paid.filter(paid.paid_at >= datetime.combine(params.start, time.min))
    if params.end is not None:
        paid = paid.filter(paid.paid_at < datetime.combine(_day_after(params.end), time.min))
    latest = paid.paid_at.max().to_pyarrow().as_py()
    last = date(latest.year, latest.month, 1) if latest is not None else None
    months = [] if last is None else [_add_months(last, -offset) for offset in range(params.months)][::-1]
    if params.start is not None:
        months = [m for m in months if m >= date(params.start.year, params.start.month, 1)]
    series = ibis.memtable(pa.table({"month": pa.array(months, type=pa.date32())}))
    paid = paid.mutate(month=paid.paid_at.truncate("M").cast("date"), refund=measures.order_refund(paid))
    totals = paid.group_by("month").aggregate(
        paid_orders=paid.count(),
        paid_revenue=paid.net_amount.sum(),
        refunds=paid.refund.sum(),
    )
    joined = series.left_join(totals, "month").drop("month_right")
    zero = ibis.literal(0).cast(measures.MONEY)
    count = ibis.coalesce(joined.paid_orders, 0)
    revenue = ibis.coalesce(joined.paid_revenue, zero).cast(measures.MONEY)
    return joined.select(
        "month",
        paid_orders=count,
        paid_revenue=revenue,
        refunds=ibis.coalesce(joined.refunds, zero).cast(measures.MONEY),
        average_order_value=ibis.cases((count > 0, revenue / count), else_=ibis.null()).cast(measures.MONEY),
    )


def _day_after(day: date) -> date:
    return date.fromordinal(day.toordinal() + 1)


MONTHLY_SALES = ReportDefinition(
    name="monthly_sales",
    titles={"zh-CN": "月度销售", "en": "Monthly sales"},
    descriptions={
        "zh-CN": "按付款月份：已付订单、已付收入（扣除退款）、退款、平均订单金额",
        "en": "By month of payment: paid orders, paid revenue (net of refunds), refunds, average order value",
    },
    columns=(
        ReportColumn("month", "date", {"zh-CN": "月份", "en": "Month"}),
        ReportColumn("paid_orders", "count", {"zh-CN": "已付订单", "en": "Paid orders"}),
        ReportColumn("paid_revenue", "money", {"zh-CN": "已付收入", "en": "Paid revenue"}),
        ReportColumn("refunds", "money", {"zh-CN": "退款", "en": "Refunds"}),
        ReportColumn("average_order_value", "money", {"zh-CN": "平均订单金额", "en": "Average order value"}),
    ),
    build=monthly_sales_table,
    order_by=("month",),
    tags=("sales",),
)
