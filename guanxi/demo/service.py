"""Service-desk tickets: inquiries, complaints, returns and praise.

Tickets follow the orders: 80 % of refunds start with a return ticket, 2 % of
paid orders bring a "when will it ship" inquiry, 1.5 % of delivered orders a
complaint and 1 % praise; besides, 1 % of members and followers ask something
before buying. The service desk knows people by its own customer number and
records the phone (sometimes masked), the e-mail for e-mail tickets, and the
order number. Satisfaction is 1–5 (praise 5, complaints 1–3), blank when the
customer did not rate. Times are naive wall-clock seconds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from guanxi.demo import textcols as tc
from guanxi.demo.accounts import Accounts
from guanxi.demo.catalog import catalog
from guanxi.demo.fulfilment import DELIVERED, NO_TIME, REFUNDED
from guanxi.demo.orders import Orders
from guanxi.demo.people import People
from guanxi.demo.phones import PhoneStyle, styles, write_phones
from guanxi.demo.randomness import exact_mask

INQUIRY, COMPLAINT, RETURN, PRAISE = range(4)
KIND_WORDS = (("咨询",), ("投诉",), ("退货", "退换货"), ("表扬", "好评"))
PLATFORM_CHANNEL = ("旺旺", "京东咚咚", "微信客服", "邮件")
OPEN_CHANNELS = ("电话", "微信客服", "在线客服")
STATUS_WORDS = ("已解决", "已关闭", "处理中")
SUBJECTS: dict[int, tuple[tuple[str, str], ...]] = {
    INQUIRY: (
        ("请问", "什么时候发货？"),
        ("", "，现在有优惠券吗？"),
        ("", "，尺码/规格怎么选？"),
        ("买了", "，可以开发票吗？"),
    ),
    COMPLAINT: (
        ("快递太慢，", "下单一周还没到"),
        ("收到的", "外包装破损了"),
        ("", "和描述不符"),
        ("客服回复太慢，", "的问题一直没解决"),
    ),
    RETURN: (("", "不合适，申请退货"), ("", "有质量问题，要求退款"), ("", "拍错了，想换货")),
    PRAISE: (("", "很好用，点赞！"), ("", "，物流很快，包装用心"), ("客服很耐心，", "的问题解决得很快")),
}


def _tickets_from_orders(
    rng: np.random.Generator, orders: Orders
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(order row, kind, created)`` of the tickets orders give rise to."""
    st = orders.state
    n = len(orders)
    u = rng.random(n)
    day = 86_400
    returned = ((st.status == REFUNDED) | st.partial_refund) & (u < 0.8)
    shipped_late = (st.paid != NO_TIME) & (u >= 0.8) & (u < 0.82)
    complaint = (st.status == DELIVERED) & (u >= 0.82) & (u < 0.835)
    praise = (st.status == DELIVERED) & (u >= 0.835) & (u < 0.845)
    rows, kinds, times = [], [], []
    for mask, kind, base, spread in (
        (returned, RETURN, np.where(st.closed != NO_TIME, st.closed, st.delivered) - 2 * day, 2 * day),
        (shipped_late, INQUIRY, st.paid + 3_600, 2 * day),
        (complaint, COMPLAINT, st.delivered - day, 4 * day),
        (praise, PRAISE, st.delivered, 5 * day),
    ):
        picked = np.flatnonzero(mask)
        rows.append(picked)
        kinds.append(np.full(len(picked), kind, dtype=np.int64))
        times.append(
            np.maximum(base[picked], orders.created[picked] + 600) + rng.integers(0, spread, len(picked))
        )
    return np.concatenate(rows), np.concatenate(kinds), np.concatenate(times)


def build_tickets(
    rng: np.random.Generator,
    people: People,
    accounts: Accounts,
    orders: Orders,
    start: int,
    end: int,
    broken_fraction: float,
) -> pa.Table:
    """The service desk's tickets, sorted by creation time."""
    row, kind, created = _tickets_from_orders(rng, orders)
    asking = np.flatnonzero((accounts.member | accounts.follower) & (rng.random(len(people)) < 0.01))
    person = np.concatenate([orders.buyer[row], asking])
    order_row = np.concatenate([row, np.full(len(asking), -1, dtype=np.int64)])
    kind = np.concatenate([kind, np.full(len(asking), INQUIRY, dtype=np.int64)])
    created = np.concatenate([created, rng.integers(start, end, len(asking))])
    keep = created <= end
    by_time = np.argsort(created[keep], kind="stable")
    person, order_row, kind, created = (a[keep][by_time] for a in (person, order_row, kind, created))
    n = len(person)
    has_order = order_row >= 0
    safe_row = np.maximum(order_row, 0)

    first_line = np.searchsorted(orders.lines.order, safe_row)
    product_idx = np.where(
        has_order,
        orders.lines.product[np.minimum(first_line, len(orders.lines) - 1)],
        rng.integers(0, len(catalog()), n),
    )
    product = tc.pick(catalog().product, product_idx)
    template = rng.integers(0, 4, n) % np.array([len(SUBJECTS[k]) for k in range(4)])[kind]
    prefixes = [p for k in range(4) for p, _ in SUBJECTS[k]]
    suffixes = [s for k in range(4) for _, s in SUBJECTS[k]]
    offset = np.cumsum([0] + [len(SUBJECTS[k]) for k in range(3)])[kind] + template
    subject = tc.concat(tc.pick(prefixes, offset), product, tc.pick(suffixes, offset))

    variant = (rng.random(n) < 0.15).astype(np.int64)
    word_index = np.array([0, 1, 2, 4])[kind] + np.where(np.isin(kind, [RETURN, PRAISE]), variant, 0)
    words = [w for group in KIND_WORDS for w in group]
    platform = np.where(has_order, orders.platform[safe_row], -1)
    channel = tc.where(
        has_order,
        tc.pick(PLATFORM_CHANNEL, np.maximum(platform, 0)),
        tc.pick(OPEN_CHANNELS, rng.integers(0, len(OPEN_CHANNELS), n)),
    )
    recent = created > end - 3 * 86_400
    status = np.where(recent & (rng.random(n) < 0.6), 2, np.where(rng.random(n) < 0.25, 1, 0))
    status = np.where(rng.random(n) < 0.03, 2, status)
    resolved = np.minimum(created + np.exp(rng.normal(np.log(5 * 3_600), 1.0, n)).astype(np.int64), end)
    low, high = np.array([3, 1, 2, 5])[kind], np.array([6, 4, 6, 6])[kind]
    satisfaction = rng.integers(low, high)
    rated = (status != 2) & (rng.random(n) < 0.7)
    phone_style = styles(rng, n, {PhoneStyle.PLAIN: 0.7, PhoneStyle.MASKED: 0.2, PhoneStyle.MISSING: 0.1})
    email_ticket = platform == 3
    email = tc.nullify(
        people.email.take(person), ~(email_ticket | (accounts.uses_email[person] & (rng.random(n) < 0.1)))
    )
    number = np.arange(1, n + 1, dtype=np.int64)
    ticket_id = tc.concat(
        "GD", tc.clock_text(created, date_format="%Y%m%d", time_format=None), tc.digits(number, 7)
    )
    return pa.table(
        {
            "person": person,
            "ticket_id": ticket_id,
            "source_customer_id": accounts.service_id.take(person),
            "phone": write_phones(people.mobile.take(person), phone_style),
            "email": email,
            "order_id": tc.nullify(orders.order_id.take(safe_row), ~has_order),
            "kind": tc.pick(words, word_index),
            "channel": channel,
            "status": tc.pick(STATUS_WORDS, status),
            "satisfaction": pa.array(satisfaction.astype(np.int64), mask=~rated),
            "subject": subject,
            "created_at": tc.timestamps(created),
            "resolved_at": tc.timestamps(resolved, status != 2),
            "agent": tc.pick(
                ("客服小美", "客服阿杰", "客服糖糖", "客服小林", "售后主管"), rng.integers(0, 5, n)
            ),
            "defect": _defects(rng, n, broken_fraction),
        }
    )


def _defects(rng: np.random.Generator, size: int, fraction: float) -> npt.NDArray[np.int64]:
    """0 for a good row, 1 for an unreadable time, 2 for a missing ticket id (exact share)."""
    defect = np.zeros(size, dtype=np.int64)
    rows = np.flatnonzero(exact_mask(rng, size, fraction))
    defect[rows] = 1 + rng.permutation(len(rows)) % 2
    return defect
