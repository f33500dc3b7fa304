"""Preferences as tags: categories, brands, price band, discount sensitivity, channel, time of day.

Measured on purchases paid in the window. Each tag is a row
``(customer_id, tag, value, weight)``:

=============  ==============================  =============================================
tag            value                           weight
=============  ==============================  =============================================
category       a top category (up to N)        its share of the customer's net item spend
brand          a top brand (up to N)           its share of the customer's net item spend
price_band     low / mid / high (configurable)  the customer's average item price (yuan)
discount       sensitive / insensitive         share of purchases with a discount
channel        the channel with most purchases its share of purchases
daypart        the daypart with most purchases its share of purchases
=============  ==============================  =============================================

Item spend is net of the order's refunded share. A category or brand is tagged
only when it holds at least ``min_share`` of the spend; ties in rank go to the
alphabetically first name. Price bands are equal-count bands of average item
price among buyers, by the tie rule of :mod:`guanxi.models.scoring`. Dayparts
use the paid time's wall-clock hour.

As a declared model (:data:`MODEL`) a run writes the tags to ``customer_tags``
(``model = preference``) and scores each customer's ``top_category`` from the
tags then current. An incremental run whose preference settings are unchanged
rewrites only the tags of customers that can have changed, and every price band.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from guanxi import portable
from guanxi.models import intermediates
from guanxi.models.config import PreferenceConfig
from guanxi.models.declared import ConfigSection, ModelDefinition, RunContext
from guanxi.models.inputs import cutoff, window_start
from guanxi.models.outputs import CUSTOMER_TAGS
from guanxi.models.scoring import quantile_score
from guanxi.tables import conform

TAG_COLUMNS = ("customer_id", "tag", "value", "weight")


def _window(rows: ir.Table, column: str, as_of: date, window_days: int | None) -> ir.Table:
    start = window_start(as_of, window_days)
    rows = rows.filter(rows[column] < cutoff(as_of))
    return rows if start is None else rows.filter(rows[column] >= start)


def _top_shares(items: ir.Table, key: str, *, top: int, min_share: float, tag: str) -> ir.Table:
    named = items.filter(items[key].notnull() & (items[key] != ""))
    spend = named.item_amount.cast("float64") * named.kept_share
    per = named.group_by("customer_id", key).aggregate(_spend=spend.sum())
    total = per._spend.sum().over(ibis.window(group_by=per.customer_id))
    rank = ibis.row_number().over(
        ibis.window(group_by=per.customer_id, order_by=[ibis.desc(per._spend), per[key]])
    )
    ranked = per.mutate(_share=per._spend / total, _rank=rank)
    kept = ranked.filter((ranked._rank < top) & (ranked._share >= min_share) & (ranked._spend > 0))
    return kept.select(
        "customer_id", tag=ibis.literal(tag), value=kept[key].cast("string"), weight=kept._share.round(4)
    )


def _top_count(rows: ir.Table, key: ir.Value, tag: str) -> ir.Table:
    shaped = rows.mutate(_key=key).filter(lambda t: t._key.notnull())
    per = shaped.group_by("customer_id", "_key").aggregate(_n=shaped.count())
    total = per._n.sum().over(ibis.window(group_by=per.customer_id))
    rank = ibis.row_number().over(
        ibis.window(group_by=per.customer_id, order_by=[ibis.desc(per._n), per._key])
    )
    ranked = per.mutate(_share=per._n.cast("float64") / total.cast("float64"), _rank=rank)
    top = ranked.filter(ranked._rank == 0)
    return top.select(
        "customer_id", tag=ibis.literal(tag), value=top._key.cast("string"), weight=top._share.round(4)
    )


def daypart(hour: ir.IntegerValue, config: PreferenceConfig) -> ir.StringValue:
    """The configured daypart name of a wall-clock hour (0..23)."""
    return ibis.cases(
        *(
            ((hour >= start) & (hour < end), ibis.literal(name))
            for name, (start, end) in config.dayparts.items()
        ),
        else_=ibis.null("string"),
    )


def preference_tags(
    purchases: ir.Table,
    items: ir.Table,
    *,
    as_of: date,
    config: PreferenceConfig,
    customers: ir.Table | None = None,
) -> ir.Table:
    """All preference tags, columns customer_id, tag, value, weight (float64).

    With ``customers`` (a ``customer_id`` column), every tag but ``price_band``
    is computed for those customers only; price bands are always computed for
    every buyer, since equal-count bands are relative to all of them.
    """
    window_items = _window(items, "paid_at", as_of, config.window_days)
    window_orders = _window(purchases, "paid_at", as_of, config.window_days)
    price = _price_bands(window_items, config)
    if customers is not None:
        window_items = window_items.semi_join(customers, "customer_id")
        window_orders = window_orders.semi_join(customers, "customer_id")
    categories = _top_shares(
        window_items, "category", top=config.top_categories, min_share=config.min_share, tag="category"
    )
    brands = _top_shares(
        window_items, "brand", top=config.top_brands, min_share=config.min_share, tag="brand"
    )
    discounted = window_orders.group_by("customer_id").aggregate(
        _rate=window_orders.count(where=window_orders.discount > 0).cast("float64")
        / window_orders.count().cast("float64")
    )
    discount = discounted.select(
        "customer_id",
        tag=ibis.literal("discount"),
        value=ibis.cases(
            (discounted._rate >= config.discount_sensitive_rate, "sensitive"), else_="insensitive"
        ),
        weight=discounted._rate.round(4),
    )
    channel = _top_count(window_orders, window_orders.channel, "channel")
    dayparts = _top_count(window_orders, daypart(window_orders.paid_at.hour(), config), "daypart")
    tags = [t.select(*TAG_COLUMNS) for t in (categories, brands, price, discount, channel, dayparts)]
    return ibis.union(*tags, distinct=False)


def changed_customers(orders: ir.Table, *, since: date, as_of: date, window_days: int | None) -> ir.Table:
    """``customer_id`` of customers whose preference window gained or lost an order between two runs.

    ``orders`` is every kept order (see :mod:`guanxi.models.intermediates`);
    the window of the run as of ``since`` and that of the run as of ``as_of``
    (not earlier) differ by the orders paid or created in between and, for a
    bounded window, the orders paid in the days that left it. Together with the
    customers whose orders changed, these are the only customers whose tags
    other than ``price_band`` can differ from the earlier run's.
    """
    entered = (orders.paid_at >= cutoff(since)) & (orders.paid_at < cutoff(as_of))
    created = ibis.coalesce(orders.created_at, orders.paid_at)
    entered |= (created >= cutoff(since)) & (created < cutoff(as_of))
    start_then, start_now = window_start(since, window_days), window_start(as_of, window_days)
    if start_then is not None and start_now is not None:
        entered |= (orders.paid_at >= start_then) & (orders.paid_at < start_now)
    return orders.filter(entered).select("customer_id").distinct()


def _price_bands(window_items: ir.Table, config: PreferenceConfig) -> ir.Table:
    priced = window_items.filter(window_items.quantity > 0)
    avg_price = priced.group_by("customer_id").aggregate(
        _price=priced.item_amount.cast("float64").sum() / priced.quantity.sum().cast("float64")
    )
    bands = config.price_bands
    band_score = quantile_score(avg_price._price, buckets=len(bands))
    band = ibis.cases(*((band_score == i + 1, ibis.literal(name)) for i, name in enumerate(bands)))
    return avg_price.select(
        "customer_id", tag=ibis.literal("price_band"), value=band, weight=avg_price._price.round(2)
    )


def top_category(tags: ir.Table) -> ir.Table:
    """customer_id, top_category: each customer's highest-share category tag."""
    cats = tags.filter(tags.tag == "category")
    rank = ibis.row_number().over(
        ibis.window(group_by=cats.customer_id, order_by=[ibis.desc(cats.weight), cats.value])
    )
    ranked = cats.mutate(_rank=rank)
    return ranked.filter(ranked._rank == 0).select("customer_id", top_category=ranked.value)


def _compute(ctx: RunContext[PreferenceConfig]) -> ir.Table:
    """Write this run's tags (all, or the changed customers' and the price bands), then score top_category."""
    scope = None
    since, changed = ctx.incremental_since(), ctx.refresh.changed_customers
    if since is not None and changed is not None:
        moved = changed_customers(
            intermediates.orders(ctx.con), since=since, as_of=ctx.as_of, window_days=ctx.config.window_days
        )
        scope = ctx.keep("tag_scope", ibis.union(changed, moved, distinct=True))
    tags = ctx.keep(
        "tags", preference_tags(ctx.bought, ctx.items, as_of=ctx.as_of, config=ctx.config, customers=scope)
    )
    with ctx.ws.timed("write_tags"):
        _write_tags(ctx, tags, scope)
    current = ctx.con.table(CUSTOMER_TAGS.name)
    current = current.filter(current.model == "preference").select(*TAG_COLUMNS)
    return ctx.keep("top_category", top_category(current))


def _write_tags(ctx: RunContext[PreferenceConfig], tags: ir.Table, scope: ir.Table | None) -> None:
    """Write this run's preference tags: all of them, or those of ``scope`` plus every price band.

    With a scope the other customers' tags stay as the earlier run wrote them
    (with its run id and as-of date): they are what this run would compute.
    """
    stamp = {
        "run_id": ibis.literal(ctx.run_id),
        "as_of": ibis.literal(ctx.as_of),
        "model": ibis.literal("preference"),
    }
    if scope is None:
        portable.delete_where(ctx.con, CUSTOMER_TAGS.name, model="preference")
    else:
        portable.delete_where(ctx.con, CUSTOMER_TAGS.name, model="preference", tag="price_band")
        doomed = ctx.keep("tag_doomed", scope.mutate(model=ibis.literal("preference")))
        portable.delete_matching(ctx.con, CUSTOMER_TAGS.name, doomed, ["customer_id", "model"])
    ctx.con.insert(CUSTOMER_TAGS.name, conform(tags.mutate(**stamp), CUSTOMER_TAGS))


MODEL = ModelDefinition(
    name="preference",
    columns={"top_category": "string"},
    compute=_compute,
    config=ConfigSection("preference", PreferenceConfig),
)
"""Preference tags (and the top category) as a declared model (see :mod:`guanxi.models.declared`)."""
