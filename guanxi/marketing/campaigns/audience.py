"""A wave's audience and every person's contact points, read from the warehouse.

Everything here builds Ibis expressions on the warehouse connection and runs
there; only the final per-person rows (id, template fields, addresses, flags)
come back, as an Arrow table, for the rules in :mod:`.rules`.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend
from sqlalchemy.orm import Session

from guanxi.errors import ValidationFailedError
from guanxi.marketing.campaigns.definition import Audience
from guanxi.segments.compiler import compile_spec
from guanxi.segments.service import compile_segment, resolver
from guanxi.segments.validation import parse_spec

PROFILE_FIELDS = ("name", "gender", "province", "city", "district", "birthday")
"""Golden-record fields templates may use (besides ``customer_id``)."""

CONTACT_COLUMNS = (
    "customer_id",
    *PROFILE_FIELDS,
    "email",
    "phone",
    "wechat_openid",
    "do_not_disturb",
    "no_cash_coupon",
)
"""The columns :func:`contact_points` returns."""

_MULTIPLIER = 2654435761
_MODULUS = 4294967296


def members(con: BaseBackend, session: Session, audience: Audience, *, as_of: date) -> ir.Table:
    """The audience's customer ids (``customer_id`` int64, distinct) as of ``as_of``.

    A listed id that is not a customer is left out; an id that is not a number
    raises ValidationFailedError.
    """
    customers = con.table("customers")
    if audience.segment is not None:
        table = compile_segment(con, session, audience.segment, as_of=as_of)
    elif audience.spec is not None:
        resolve = resolver(session)
        table = compile_spec(con, parse_spec(audience.spec, resolve=resolve), as_of=as_of, resolve=resolve)
    else:
        try:
            ids = sorted({int(value) for value in audience.customers or []})
        except ValueError as err:
            raise ValidationFailedError(f"a listed customer id is not a number: {err}") from err
        listed = ibis.memtable(pa.table({"customer_id": pa.array(ids, pa.int64())}))
        table = listed.semi_join(customers, "customer_id")
    return table.select(customer_id=table.customer_id.cast("int64")).distinct()


def stable_order(table: ir.Table, seed: int) -> ir.IntegerValue:
    """A pseudo-random but stable rank key for ``customer_id`` (same seed, same order on every backend)."""
    key: ir.IntegerValue = (table.customer_id * _MULTIPLIER + seed) % _MODULUS
    return key


def contact_points(con: BaseBackend, ids: ir.Table, *, wechat_appid: str | None = None) -> ir.Table:
    """Each member's template fields, addresses and marketing flags (one row per member).

    ``wechat_openid`` is an openid the person has for ``wechat_appid`` (any app when
    None; the smallest when several); ``do_not_disturb`` and ``no_cash_coupon`` come
    from the credit model's ``restriction`` tags.
    """
    present = set(con.list_tables())
    customers = con.table("customers")
    table = ids.join(customers, "customer_id")
    if {"identity_identifiers", "identity_map"} <= present:
        identifiers = con.table("identity_identifiers")
        records = con.table("identity_map")
        openids = identifiers.filter(identifiers.kind == "wechat_openid")
        if wechat_appid:
            openids = openids.filter(openids.value.startswith(wechat_appid + "/"))
        scoped = openids.join(records, ["source", "source_customer_id"])
        per_customer = (
            scoped.select(
                customer_id=scoped.customer_id.cast("int64"), openid=scoped.value.re_extract(r"([^/]*)$", 1)
            )
            .group_by("customer_id")
            .aggregate(wechat_openid=lambda t: t.openid.min())
        )
        table = table.left_join(per_customer, "customer_id").drop("customer_id_right")
    else:
        table = table.mutate(wechat_openid=ibis.null("string"))
    if "customer_tags" in present:
        tags = con.table("customer_tags")
        restrictions = tags.filter(
            (tags.tag == "restriction") & tags.value.isin(["do_not_disturb", "no_cash_coupon"])
        )
        flags = restrictions.group_by(customer_id=restrictions.customer_id.cast("int64")).aggregate(
            do_not_disturb=(restrictions.value == "do_not_disturb").any(),
            no_cash_coupon=(restrictions.value == "no_cash_coupon").any(),
        )
        with_flags = table.left_join(flags, "customer_id").drop("customer_id_right")
    else:
        with_flags = table.mutate(do_not_disturb=ibis.null("boolean"), no_cash_coupon=ibis.null("boolean"))
    return with_flags.select(
        "customer_id",
        *PROFILE_FIELDS,
        "email",
        "phone",
        "wechat_openid",
        do_not_disturb=with_flags.do_not_disturb.fill_null(False),
        no_cash_coupon=with_flags.no_cash_coupon.fill_null(False),
    )
