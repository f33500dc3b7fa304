"""Behaviour events, Segment style: ``track`` events and ``identify`` calls.

Members using the mini-program, app or web shop are tracked under their member
number (``userId``); buyers who never log in only under a device id
(``anonymousId``). 60 % of a buyer's events cluster around an order (views,
clicks and add-to-cart in the two days before it, reviews and shares one to
two weeks after); the rest are spread over the person's time with the brand
(logins, campaign e-mails and SMS opened, replies to the service account).
Each tracked member sends one ``identify`` with name, phone and e-mail traits;
mini-program events carry the mini-program openid and, where known, the
unionid. ``properties``/``traits`` are JSON objects (text).

``occurred`` is naive wall-clock seconds plus ``millis``; the writer turns it
into UTC ISO 8601 as Segment sends it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from guanxi.demo import textcols as tc
from guanxi.demo.accounts import Accounts
from guanxi.demo.catalog import catalog
from guanxi.demo.orders import Orders
from guanxi.demo.people import People
from guanxi.demo.randomness import choice, exact_mask

TRACK_EVENTS = ("view", "click", "add_to_cart", "login", "review", "share", "open", "reply")
VIEW, CLICK, CART, LOGIN, REVIEW, SHARE, OPEN, REPLY = range(len(TRACK_EVENTS))
IDENTIFY = len(TRACK_EVENTS)
BEFORE_ORDER = {VIEW: 50.0, CLICK: 20.0, CART: 20.0, LOGIN: 10.0}
AFTER_ORDER = {REVIEW: 55.0, SHARE: 45.0}
ANY_TIME = {VIEW: 35.0, CLICK: 15.0, LOGIN: 15.0, OPEN: 15.0, REPLY: 10.0, SHARE: 10.0}
CHANNELS = ("miniprogram", "app", "web", "email", "sms", "wechat")
PAGES = ("home", "category", "search", "campaign", "member_center")
ELEMENTS = ("banner_双11", "banner_618", "coupon_center", "new_arrivals", "flash_sale", "live_room")
CAMPAIGNS = ("双11预热", "618大促", "会员日", "新品上市", "生日礼遇", "沉睡唤醒")
REPLIES = ("1", "TD", "谢谢", "怎么领券", "好的", "人工客服")
REVIEWS = ("很好用", "物流很快", "质量不错，会回购", "包装很用心", "性价比高", "一般般")


def _quoted(values: tc.Column) -> tc.Column:
    return tc.concat('"', values, '"')


def _properties(
    rng: np.random.Generator,
    event: npt.NDArray[np.int64],
    product: npt.NDArray[np.int64],
    order_id: tc.Column,
) -> tc.Column:
    """A JSON object per event, fields by event type (values from fixed pools, no escaping needed)."""
    cat = catalog()

    def pool(values: tuple[str, ...], size: int) -> tc.Column:
        return _quoted(tc.pick(values, rng.integers(0, len(values), size)))

    def item(rows: npt.NDArray[np.int64], head: str) -> list[tc.Column | str]:
        p = product[rows]
        return [
            head,
            '{"sku":',
            _quoted(tc.pick(cat.sku, p)),
            ',"product":',
            _quoted(tc.pick(cat.product, p)),
        ]

    def view(rows: npt.NDArray[np.int64]) -> tc.Column:
        p = product[rows]
        return tc.concat(
            *item(rows, ""),
            ',"category":',
            _quoted(tc.pick(cat.category, p)),
            ',"price":',
            tc.money(cat.price[p]),
            "}",
        )

    def review(rows: npt.NDArray[np.int64]) -> tc.Column:
        rating = tc.digits(choice(rng, [1, 1, 3, 10, 30], len(rows)) + 1)
        return tc.concat(
            '{"order_id":',
            _quoted(order_id.take(pa.array(rows))),
            ',"rating":',
            rating,
            ',"content":',
            pool(REVIEWS, len(rows)),
            "}",
        )

    return tc.cases(
        event,
        {
            VIEW: view,
            CLICK: lambda r: tc.concat(
                '{"element":', pool(ELEMENTS, len(r)), ',"page":', pool(PAGES, len(r)), "}"
            ),
            CART: lambda r: tc.concat(
                *item(r, ""), ',"quantity":', tc.digits(rng.integers(1, 3, len(r))), "}"
            ),
            LOGIN: lambda r: tc.concat('{"method":', pool(("wechat", "sms", "password"), len(r)), "}"),
            REVIEW: review,
            SHARE: lambda r: tc.concat(
                *item(r, ""), ',"to":', pool(("wechat_friend", "moments", "weibo"), len(r)), "}"
            ),
            OPEN: lambda r: tc.concat('{"campaign":', pool(CAMPAIGNS, len(r)), "}"),
            REPLY: lambda r: tc.concat('{"text":', pool(REPLIES, len(r)), "}"),
            IDENTIFY: lambda r: None,
        },
    )


def build_events(
    rng: np.random.Generator,
    people: People,
    accounts: Accounts,
    orders: Orders,
    registered: npt.NDArray[np.int64],
    start: int,
    end: int,
    broken_fraction: float,
) -> pa.Table:
    """Every event, sorted by time; ``registered`` (per person, seconds) bounds when a person is seen."""
    size = len(people)
    order_count = np.bincount(orders.buyer, minlength=size)
    tracked = accounts.member & (accounts.mini_user | (rng.random(size) < 0.5))
    anonymous = ~accounts.member & (order_count > 0) & (rng.random(size) < 0.2)
    active = tracked | anonymous
    mean = 0.3 + 0.6 * order_count
    per_person = np.where(active, rng.negative_binomial(0.8, 0.8 / (0.8 + mean)) + 1, 0)
    person = np.repeat(np.arange(size, dtype=np.int64), per_person)
    n = len(person)

    by_buyer = np.argsort(orders.buyer, kind="stable")
    first = np.searchsorted(orders.buyer[by_buyer], np.arange(size))
    pick = by_buyer[
        np.minimum(first[person] + (rng.random(n) * order_count[person]).astype(np.int64), len(orders) - 1)
    ]
    anchored = (order_count[person] > 0) & (rng.random(n) < 0.6)
    after = anchored & (rng.random(n) < 0.15)
    event = np.where(
        after,
        np.array(list(AFTER_ORDER))[choice(rng, list(AFTER_ORDER.values()), n)],
        np.where(
            anchored,
            np.array(list(BEFORE_ORDER))[choice(rng, list(BEFORE_ORDER.values()), n)],
            np.array(list(ANY_TIME))[choice(rng, list(ANY_TIME.values()), n)],
        ),
    )
    event = np.where((event == REPLY) & ~accounts.follower[person], VIEW, event)
    seen_from = np.clip(registered[person], start, end - 3_600)
    occurred = np.where(
        anchored,
        np.where(
            after,
            orders.created[pick] + rng.integers(3, 15, n) * 86_400,
            orders.created[pick] - rng.integers(60, 2 * 86_400, n),
        ),
        seen_from + (rng.random(n) * (end - seen_from)).astype(np.int64),
    )
    outside = (occurred < start) | (occurred > end)
    occurred[outside] = rng.integers(start, end, int(outside.sum()))
    product = np.where(
        anchored,
        orders.lines.product[np.searchsorted(orders.lines.order, pick)],
        rng.integers(0, len(catalog()), n),
    )

    # One identify per tracked member, just before their first event.
    ident_people = np.flatnonzero(tracked & (per_person > 0))
    first_event = np.full(size, end, dtype=np.int64)
    np.minimum.at(first_event, person, occurred)
    person = np.concatenate([person, ident_people])
    occurred = np.concatenate([occurred, np.maximum(first_event[ident_people] - 1, start)])
    event = np.concatenate([event, np.full(len(ident_people), IDENTIFY, dtype=np.int64)])
    product = np.concatenate([product, np.zeros(len(ident_people), dtype=np.int64)])
    pick = np.concatenate([pick, np.zeros(len(ident_people), dtype=np.int64)])
    by_time = np.lexsort((event, occurred))
    person, occurred, event, product, pick = (a[by_time] for a in (person, occurred, event, product, pick))
    n = len(person)

    mini = accounts.mini_user[person]
    channel_code = np.where(mini & (rng.random(n) < 0.75), 0, np.where(rng.random(n) < 0.5, 1, 2))
    channel_code = np.where(event == OPEN, np.where(rng.random(n) < 0.6, 3, 4), channel_code)
    channel_code = np.where(event == REPLY, 5, channel_code)
    identify = event == IDENTIFY
    is_tracked = tracked[person]
    on_mini = channel_code == 0
    knows_union = accounts.unionid_known[person] & (on_mini | identify)

    def traits(rows: npt.NDArray[np.int64]) -> tc.Column:
        who = pa.array(person[rows])
        email = tc.where(
            accounts.uses_email[person[rows]], tc.concat(',"email":"', people.email.take(who), '"'), ""
        )
        return tc.concat(
            '{"name":"', people.name.take(who), '","phone":"', people.mobile.take(who), '"', email, "}"
        )

    def of_person(values: tc.Column) -> Callable[[npt.NDArray[np.int64]], tc.Column]:
        return lambda rows: values.take(pa.array(person[rows]))

    wants_openid = (on_mini & is_tracked) | (event == REPLY)
    return pa.table(
        {
            "person": person,
            "message_id": tc.concat(*_uuid_parts(rng, n)),
            "type": tc.where(identify, "identify", "track"),
            "event": tc.scatter(~identify, lambda rows: tc.pick(TRACK_EVENTS, event[rows])),
            "user_id": tc.scatter(is_tracked, of_person(accounts.member_no)),
            "anonymous_id": tc.concat("dev-", tc.random_text(rng, size, 16, tc.HEX)).take(pa.array(person)),
            "occurred": occurred,
            "millis": rng.integers(0, 1000, n),
            "channel": tc.pick(CHANNELS, channel_code),
            "properties": _properties(rng, event, product, orders.order_id.take(pa.array(pick))),
            "traits": tc.scatter(identify, traits),
            "phone": tc.scatter(identify, of_person(people.mobile)),
            "email": tc.scatter(identify & accounts.uses_email[person], of_person(people.email)),
            "openid": tc.scatter(
                wants_openid,
                lambda rows: tc.where(
                    event[rows] == REPLY,
                    accounts.mp_openid.take(pa.array(person[rows])),
                    accounts.mini_openid.take(pa.array(person[rows])),
                ),
            ),
            "unionid": tc.scatter(knows_union & is_tracked, of_person(accounts.unionid)),
            "defect": np.where(exact_mask(rng, n, broken_fraction), 1 + rng.integers(0, 2, n), 0),
        }
    )


def _uuid_parts(rng: np.random.Generator, n: int) -> list[tc.Column | str]:
    """The pieces of a random UUID-shaped id (8-4-4-4-12 hex)."""
    parts: list[tc.Column | str] = []
    for i, width in enumerate((8, 4, 4, 4, 12)):
        if i:
            parts.append("-")
        parts.append(tc.random_text(rng, n, width, tc.HEX))
    return parts
