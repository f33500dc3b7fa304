"""Orders: platform, ids, buyer identifiers as exported, money and status.

Each buyer's orders go mostly to their main platform (70 % when they have a
second one). Money is integer fen (cents for dollar orders):

* ``total = goods + shipping`` — shipping is free from 99 yuan (35 dollars) and
  on 40 % of Taobao orders (包邮), otherwise 6–15 yuan by platform;
* ``discount``: 满减 during 618 / 双11 / 双12 (per 300 yuan, 40 / 50 / 20 off
  per 200), coupons on a quarter of other orders, Shopify discount codes —
  never more than half the goods;
* ``payable = total − discount``; ``paid_amount = payable`` once paid, else 0;
* ``refund = payable`` for refunded orders, one line's amount for partial refunds.

1.8 % of orders are gifts shipped to someone else (another person's name,
phone and address on the order). A few orders carry a courier station's or
the shop's own phone instead of the buyer's (shared-number traps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from guanxi.demo import textcols as tc
from guanxi.demo.accounts import JD, SHOPIFY, TAOBAO, YOUZAN, Accounts
from guanxi.demo.basket import Lines, build_lines
from guanxi.demo.catalog import catalog
from guanxi.demo.fulfilment import DELIVERED, PAID, REFUNDED, SHIPPED, Fulfilment, fulfil
from guanxi.demo.people import TRAP_MOBILES, People
from guanxi.demo.phones import PhoneStyle, styles, write_phones
from guanxi.demo.randomness import exact_mask

SECOND_PLATFORM_ORDERS = 0.3
GIFT_SHARE = 0.018
USD_SHARE = 0.18
COURIER_PHONE, SHOP_PHONE = TRAP_MOBILES[3], TRAP_MOBILES[2]
SHIPPING_FEN = {TAOBAO: 800, JD: 600, YOUZAN: 1000, SHOPIFY: 1500}
FREE_FROM_FEN, FREE_FROM_CENTS, USD_SHIPPING_CENTS = 9_900, 3_500, 800

PHONE_STYLES: dict[int, dict[PhoneStyle, float]] = {
    TAOBAO: {
        PhoneStyle.PLAIN: 0.62,
        PhoneStyle.MASKED: 0.35,
        PhoneStyle.FULL_WIDTH: 0.01,
        PhoneStyle.SPACED: 0.02,
    },
    JD: {
        PhoneStyle.PLAIN: 0.82,
        PhoneStyle.MASKED: 0.15,
        PhoneStyle.DASHED: 0.02,
        PhoneStyle.FULL_WIDTH: 0.01,
    },
    YOUZAN: {
        PhoneStyle.PLAIN: 0.91,
        PhoneStyle.SPACED: 0.05,
        PhoneStyle.PLUS86: 0.03,
        PhoneStyle.FULL_WIDTH: 0.01,
    },
    SHOPIFY: {
        PhoneStyle.PLUS86: 0.55,
        PhoneStyle.PLUS86_SPACED: 0.2,
        PhoneStyle.ZERO086: 0.05,
        PhoneStyle.ZERO086_DASH: 0.03,
        PhoneStyle.MISSING: 0.17,
    },
}
"""How each platform's export writes the buyer's mobile."""

NO_DEFECT, BAD_TIME, BAD_AMOUNT, UNKNOWN_STATUS, MISSING_ID = range(5)


@dataclass(frozen=True)
class Orders:
    """One row per order, sorted by creation time; see the module docstring for the money rules."""

    buyer: npt.NDArray[np.int64]
    """Slot of the buying person."""
    recipient: npt.NDArray[np.int64]
    """Slot of the person the parcel goes to (the buyer, or a gift's receiver)."""
    platform: npt.NDArray[np.int64]
    order_id: tc.Column
    customer_id: tc.Column
    """The platform's id of the buyer (Taobao nick, JD account, Youzan fan id, Shopify e-mail)."""
    phone: tc.Column
    """The contact mobile as the platform exports it (masked, spaced, +86 …, or null)."""
    created: npt.NDArray[np.int64]
    state: Fulfilment
    usd: npt.NDArray[np.bool_]
    goods: npt.NDArray[np.int64]
    shipping: npt.NDArray[np.int64]
    discount: npt.NDArray[np.int64]
    refund: npt.NDArray[np.int64]
    festival: npt.NDArray[np.bool_]
    mobile_app: npt.NDArray[np.bool_]
    """Placed from a phone (是否手机订单)."""
    defect: npt.NDArray[np.int64]
    """A broken-row kind (BAD_TIME …) or NO_DEFECT."""
    lines: Lines

    def __len__(self) -> int:
        return len(self.buyer)

    @property
    def total(self) -> npt.NDArray[np.int64]:
        result: npt.NDArray[np.int64] = self.goods + self.shipping
        return result

    @property
    def payable(self) -> npt.NDArray[np.int64]:
        result: npt.NDArray[np.int64] = self.total - self.discount
        return result

    @property
    def paid_amount(self) -> npt.NDArray[np.int64]:
        paid = np.isin(self.state.status, [PAID, SHIPPED, DELIVERED, REFUNDED])
        result: npt.NDArray[np.int64] = np.where(paid, self.payable, 0)
        return result

    @property
    def item_count(self) -> npt.NDArray[np.int64]:
        return np.bincount(self.lines.order, weights=self.lines.quantity, minlength=len(self)).astype(
            np.int64
        )

    def of(self, platform: int) -> npt.NDArray[np.int64]:
        """Row indices of the orders on ``platform``, in time order."""
        return np.flatnonzero(self.platform == platform)


def _order_ids(
    rng: np.random.Generator, platform: npt.NDArray[np.int64], created: npt.NDArray[np.int64]
) -> tc.Column:
    """Increasing platform-style order numbers (orders are already in time order)."""
    n = len(platform)
    ids = np.zeros(n, dtype=np.int64)
    starts = {TAOBAO: 2_000_000_000_000_000_000, JD: 250_000_000_000, YOUZAN: 0, SHOPIFY: 1001}
    for code, first in starts.items():
        rows = platform == code
        count = int(rows.sum())
        if code == TAOBAO:
            step = rng.integers(1, max(2, 6_000_000_000_000_000_000 // max(count, 1)), count)
        elif code == JD:
            step = rng.integers(1, max(2, 700_000_000_000 // max(count, 1)), count)
        elif code == YOUZAN:
            step = rng.integers(1, 99_999_999, count)
        else:
            step = np.ones(count, dtype=np.int64)
        ids[rows] = first + np.cumsum(step) - (1 if code == SHOPIFY else 0)

    def youzan(rows: npt.NDArray[np.int64]) -> tc.Column:
        stamp = tc.clock_text(created[rows], date_format="%Y%m%d", separator="", time_format="%H%M%S")
        return tc.concat("E", stamp, tc.digits(ids[rows] % 100_000_000, 8))

    return tc.cases(
        platform,
        {
            TAOBAO: lambda rows: tc.digits(ids[rows]),
            JD: lambda rows: tc.digits(ids[rows]),
            YOUZAN: youzan,
            SHOPIFY: lambda rows: tc.concat("#", tc.digits(ids[rows])),
        },
    )


def _festival(created: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    day = created.astype("datetime64[s]")
    month = (day.astype("datetime64[M]").astype(np.int64) % 12) + 1
    dom = (day.astype("datetime64[D]") - day.astype("datetime64[M]")).astype(np.int64) + 1
    result: npt.NDArray[np.bool_] = (
        ((month == 6) & (dom <= 18))
        | ((month == 11) & (dom <= 11))
        | ((month == 12) & (dom >= 10) & (dom <= 12))
    )
    return result


def _discounts(
    rng: np.random.Generator,
    goods: npt.NDArray[np.int64],
    created: npt.NDArray[np.int64],
    festival: npt.NDArray[np.bool_],
    platform: npt.NDArray[np.int64],
    usd: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int64]:
    n = len(goods)
    month = (created.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12) + 1
    per, off = (
        np.where(month == 12, 20_000, 30_000),
        np.select([month == 11, month == 6], [5_000, 4_000], 2_000),
    )
    full_reduction = np.where(festival & (rng.random(n) < 0.7), goods // per * off, 0)
    coupon_value = np.array([300, 500, 1_000, 2_000], dtype=np.int64)[rng.integers(0, 4, n)]
    coupon = np.where(~festival & (rng.random(n) < 0.25) & (goods >= 4 * coupon_value), coupon_value, 0)
    code = np.where((platform == SHOPIFY) & (rng.random(n) < 0.15), goods // 10, 0)
    discount = np.where(platform == SHOPIFY, code, full_reduction + coupon)
    discount = np.where(usd, code, discount)
    return np.minimum(discount, goods // 2).astype(np.int64)


def build_orders(
    rng: np.random.Generator,
    people: People,
    accounts: Accounts,
    buyer: npt.NDArray[np.int64],
    created: npt.NDArray[np.int64],
    end: int,
    broken_fraction: float,
) -> Orders:
    """Orders for ``buyer`` slots placed at ``created`` (seconds), as seen at ``end`` (seconds)."""
    by_time = np.argsort(created, kind="stable")
    buyer, created = buyer[by_time], created[by_time]
    n = len(buyer)
    second = accounts.secondary[buyer]
    platform = np.where(
        (second >= 0) & (rng.random(n) < SECOND_PLATFORM_ORDERS), second, accounts.primary[buyer]
    )
    usd = (platform == SHOPIFY) & (rng.random(n) < USD_SHARE)
    festival = _festival(created)

    lines = build_lines(rng, catalog(), people.favourite[buyer], usd)
    goods = np.bincount(lines.order, weights=lines.amount, minlength=n).astype(np.int64)
    fee = np.array([SHIPPING_FEN[p] for p in range(4)], dtype=np.int64)[platform]
    free = np.where(usd, goods >= FREE_FROM_CENTS, goods >= FREE_FROM_FEN)
    free |= (platform == TAOBAO) & (rng.random(n) < 0.4)
    shipping = np.where(free, 0, np.where(usd, USD_SHIPPING_CENTS, fee)).astype(np.int64)
    discount = _discounts(rng, goods, created, festival, platform, usd)
    multi = np.bincount(lines.order, minlength=n) > 1
    state = fulfil(rng, created, end, platform=platform, festival=festival, multi_line=multi)

    payable = goods + shipping - discount
    first_line = np.searchsorted(lines.order, np.arange(n))
    one_line = np.minimum(lines.amount[np.minimum(first_line, len(lines) - 1)], payable)
    refund = np.where(state.status == REFUNDED, payable, np.where(state.partial_refund, one_line, 0))

    gift = rng.random(n) < GIFT_SHARE
    recipient = np.where(gift, rng.integers(0, len(people), n), buyer)
    own = recipient == buyer
    alt = accounts.secondary[buyer] == platform
    mobile = people.mobile.take(recipient)
    alt_mobile = people.alt_mobile.take(recipient)
    number = tc.where(own & alt & np.asarray(alt_mobile.is_valid()), alt_mobile, mobile)
    number = _trap_numbers(rng, number, platform)
    style = np.zeros(n, dtype=np.int64)
    for code, weights in PHONE_STYLES.items():
        rows = platform == code
        style[rows] = styles(rng, int(rows.sum()), weights)
    platform_ids = {
        TAOBAO: accounts.taobao_id,
        JD: accounts.jd_id,
        YOUZAN: accounts.youzan_id,
        SHOPIFY: people.email,
    }

    def account_of(code: int) -> Callable[[npt.NDArray[np.int64]], tc.Column]:
        return lambda rows: platform_ids[code].take(pa.array(buyer[rows]))

    customer = tc.cases(platform, {code: account_of(code) for code in platform_ids})

    defect = np.full(n, NO_DEFECT, dtype=np.int64)
    for code in range(4):
        rows = np.flatnonzero(platform == code)
        broken = rows[exact_mask(rng, len(rows), broken_fraction)]
        defect[broken] = 1 + rng.permutation(len(broken)) % 4
    return Orders(
        buyer=buyer,
        recipient=recipient,
        platform=platform.astype(np.int64),
        order_id=_order_ids(rng, platform, created),
        customer_id=customer,
        phone=write_phones(number, style),
        created=created,
        state=state,
        usd=usd,
        goods=goods,
        shipping=shipping,
        discount=discount,
        refund=refund.astype(np.int64),
        festival=festival,
        mobile_app=rng.random(n) < 0.88,
        defect=defect,
        lines=lines,
    )


def _trap_numbers(rng: np.random.Generator, number: tc.Column, platform: npt.NDArray[np.int64]) -> tc.Column:
    """Put the courier station's number on some Taobao/JD orders and the shop's on some Youzan ones."""
    n = len(platform)
    per_trap = max(40, n // 1_500)
    courier = np.flatnonzero(np.isin(platform, [TAOBAO, JD]))
    shop = np.flatnonzero(platform == YOUZAN)
    mask_courier = np.zeros(n, dtype=np.bool_)
    mask_shop = np.zeros(n, dtype=np.bool_)
    mask_courier[rng.permutation(courier)[: min(per_trap, len(courier) // 8)]] = True
    mask_shop[rng.permutation(shop)[: min(per_trap, len(shop) // 8)]] = True
    number = tc.where(mask_courier, COURIER_PHONE, number)
    return tc.where(mask_shop, SHOP_PHONE, number)
