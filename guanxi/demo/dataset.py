"""The whole demo data set, generated from a :class:`DemoSpec`.

``generate(spec)`` draws the hidden population, their accounts, orders,
customer lists, tickets and events. It is deterministic: the same spec gives
identical tables. Nothing is written here; see :mod:`guanxi.demo.exports`.

The truth (``truth()``) maps every record the exports contain,
``(source, source_customer_id)``, to the hidden ``person_id``, so identity
resolution can be scored against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from guanxi.demo import textcols as tc
from guanxi.demo.accounts import PLATFORMS, Accounts, build_accounts
from guanxi.demo.engagement import build_events
from guanxi.demo.orders import Orders, build_orders
from guanxi.demo.people import People, build_people
from guanxi.demo.profiles import crm_members, sales_contacts, wechat_followers
from guanxi.demo.randomness import stream
from guanxi.demo.service import build_tickets
from guanxi.demo.spec import DemoSpec
from guanxi.demo.timeline import order_times, orders_per_buyer, seconds

NON_BUYER_SHARE = 0.45
"""People who never bought (followers, leads, contacts, app visitors) per buyer."""

EVENT_SOURCE, SERVICE_SOURCE, CRM_SOURCE, SALES_SOURCE, WECHAT_SOURCE = (
    "web",
    "service",
    "crm",
    "sales",
    "wechat",
)


@dataclass(frozen=True)
class DemoDataset:
    """Everything the demo exports, in memory."""

    spec: DemoSpec
    people: People
    accounts: Accounts
    orders: Orders
    crm: pa.Table
    sales: pa.Table
    followers: pa.Table
    tickets: pa.Table
    events: pa.Table

    def lines_of(self, platform: int) -> npt.NDArray[np.int64]:
        """Indices into ``orders.lines`` of the lines of orders on ``platform`` (by order, then line)."""
        return np.flatnonzero(self.orders.platform[self.orders.lines.order] == platform)

    def truth(self) -> pa.Table:
        """``(source, source_customer_id, person_id)`` for every record, one row per record."""
        parts = []
        for code, platform in enumerate(PLATFORMS):
            rows = np.flatnonzero(self.orders.platform == code)
            parts.append(_records(platform, self.orders.customer_id.take(rows), self.orders.buyer[rows]))
        for source, table in (
            (CRM_SOURCE, self.crm),
            (SALES_SOURCE, self.sales),
            (WECHAT_SOURCE, self.followers),
            (SERVICE_SOURCE, self.tickets),
        ):
            parts.append(
                _records(source, table.column("source_customer_id"), table.column("person").to_numpy())
            )
        tracked = pc.is_valid(self.events.column("user_id"))
        events = self.events.filter(tracked)
        parts.append(_records(EVENT_SOURCE, events.column("user_id"), events.column("person").to_numpy()))
        truth = pa.concat_tables(parts)
        return truth.append_column(
            "person_id", pa.array(self.people.person_id).take(truth.column("slot"))
        ).drop_columns("slot")


def _records(source: str, ids: tc.Column, slots: npt.NDArray[np.int64]) -> pa.Table:
    """Distinct ``(source, id) → slot`` pairs (first occurrence wins; ids are per person)."""
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    keep = ~tc.repeats(ids)
    return pa.table(
        {
            "source": tc.constant(source, int(keep.sum())),
            "source_customer_id": ids.filter(pa.array(keep)),
            "slot": pa.array(np.asarray(slots)[keep], type=pa.int64()),
        }
    )


def generate(spec: DemoSpec) -> DemoDataset:
    """The demo data set of ``spec`` (deterministic in ``spec``)."""
    seed = spec.seed
    start, end = seconds(spec.start), seconds(spec.end)
    counts = orders_per_buyer(stream(seed, "orders-per-buyer"), spec.orders)
    size = len(counts) + int(round(len(counts) * NON_BUYER_SHARE))
    per_person = np.zeros(size, dtype=np.int64)
    per_person[: len(counts)] = counts
    people = build_people(stream(seed, "people"), size, spec.end)
    accounts = build_accounts(stream(seed, "accounts"), people, per_person)
    buyer, created = order_times(stream(seed, "timeline"), counts, spec.start, spec.end)
    orders = build_orders(stream(seed, "orders"), people, accounts, buyer, created, end, spec.broken_fraction)

    first_order = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_order, orders.buyer, orders.created)
    first_order = np.where(first_order == np.iinfo(np.int64).max, -1, first_order)
    crm = crm_members(stream(seed, "crm"), people, accounts, first_order, start, end)
    registered = np.where(first_order >= 0, first_order, start)
    registered[crm.column("person").to_numpy()] = np.minimum(
        registered[crm.column("person").to_numpy()],
        crm.column("registered_at").cast(pa.int64()).to_numpy(),
    )
    return DemoDataset(
        spec=spec,
        people=people,
        accounts=accounts,
        orders=orders,
        crm=crm,
        sales=sales_contacts(stream(seed, "sales"), people, accounts, end),
        followers=wechat_followers(stream(seed, "wechat"), people, accounts, first_order, start, end),
        tickets=build_tickets(
            stream(seed, "tickets"), people, accounts, orders, start, end, spec.broken_fraction
        ),
        events=build_events(
            stream(seed, "events"), people, accounts, orders, registered, start, end, spec.broken_fraction
        ),
    )
