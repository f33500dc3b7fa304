"""The send path's rules over whole columns: who gets which channel, and why the others get nothing.

For each person, in this order (the preview's funnel):

1. **reachable** — has the address some listed channel needs (an e-mail, a
   phone, an openid …);
2. **consented** — on one of those channels, marketing is allowed: the channel
   needs no consent, or the address's consent is ``granted`` (transactional
   campaigns skip this rule);
3. **not suppressed** — and that address is not on the suppression list
   (for its medium or every medium). Applies to transactional campaigns too;
4. **not do-not-disturb** — marketing only, when the campaign respects it; then
   the credit model's ``no_cash_coupon`` restriction for campaigns offering cash
   coupons;
5. **under the cap** — marketing only: fewer than ``cap`` marketing messages in
   the cap window before the send time, across channels;
6. **target** — not held out: of the people who pass 1–5, the policy's
   ``control_share`` is the control group, drawn by a seeded hash of (scope,
   customer) (:mod:`guanxi.marketing.measurement.holdout`), so the same people
   are held out on every run and wave. They are recorded, never messaged, and
   measured against the target group (the control group is drawn from the
   people who *would* have been sent to, so the two groups are alike).

The chosen channel is the first in the campaign's order that passes 1–3. The
outcome is ``queued`` or the first rule failed: ``unreachable``,
``no_consent``, ``suppressed``, ``do_not_disturb``, ``no_cash_coupon``,
``capped``, ``control``. Quiet hours never drop anyone: the build delays the send.

:func:`apply_rules` is pure (Arrow in, Arrow out) and runs in an in-memory
DuckDB through Ibis — no Python loop over people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from guanxi.marketing.measurement.holdout import held_out_column

OUTCOMES = (
    "queued",
    "unreachable",
    "no_consent",
    "suppressed",
    "do_not_disturb",
    "no_cash_coupon",
    "capped",
    "control",
)
FUNNEL = ("audience", "reachable", "consented", "not_suppressed", "not_do_not_disturb", "under_cap", "target")
"""The preview's stages: how many people are left after each rule."""


@dataclass(frozen=True)
class ChannelRule:
    """What the rules need to know of one listed channel."""

    name: str
    address: str
    medium: str
    needs_consent: bool
    customer_facing: bool


@dataclass(frozen=True)
class Policy:
    transactional: bool
    respect_do_not_disturb: bool
    offers_cash_coupon: bool
    cap: int
    holdout_scope: str = ""
    """The control group's scope (:mod:`guanxi.marketing.measurement.holdout`); with a share of 0, none."""
    control_share: float = 0.0
    """The share of the people who would be sent to that is held out (outcome ``control``)."""


def _address(table: ir.Table, kind: str) -> ir.StringValue:
    column: ir.StringValue = (
        table.customer_id.cast("string") if kind == "customer_id" else table[kind].cast("string")
    )
    return column


def apply_rules(
    contacts: pa.Table,
    channels: Sequence[ChannelRule],
    *,
    consent: pa.Table,
    suppressed: pa.Table,
    contacted: pa.Table,
    policy: Policy,
) -> pa.Table:
    """Each person's outcome, channel and address (plus every contact column).

    ``contacts`` has the columns of :data:`.audience.CONTACT_COLUMNS`;
    ``consent`` (medium, address, state) the granted contact points;
    ``suppressed`` (medium, address) the active entries (``*`` = every medium);
    ``contacted`` (customer_id string, sent int64) marketing messages in the cap
    window. Adds ``outcome``, ``channel``, ``address``, ``medium``.
    """
    backend = ibis.duckdb.connect()
    people = ibis.memtable(contacts)
    granted = ibis.memtable(consent)
    blocked = ibis.memtable(suppressed)
    counts = ibis.memtable(contacted)
    table = people.mutate(_key=people.customer_id.cast("string"))
    passing: list[tuple[ir.BooleanValue, ChannelRule, ir.StringValue]] = []
    reachable_any: ir.BooleanValue = ibis.literal(False)
    consented_any: ir.BooleanValue = ibis.literal(False)
    allowed_any: ir.BooleanValue = ibis.literal(False)
    for index, rule in enumerate(channels):
        address_name, consent_name, block_name = f"_a{index}", f"_c{index}", f"_s{index}"
        table = table.mutate(**{address_name: _address(table, rule.address)})
        ok = (
            granted.filter((granted.medium == rule.medium) & (granted.state == "granted"))
            .select(**{address_name: granted.address, consent_name: ibis.literal(True)})
            .distinct()
        )
        table = table.left_join(ok, address_name).drop(f"{address_name}_right")
        stop = (
            blocked.filter(blocked.medium.isin([rule.medium, "*"]))
            .select(**{address_name: blocked.address, block_name: ibis.literal(True)})
            .distinct()
        )
        table = table.left_join(stop, address_name).drop(f"{address_name}_right")
        reachable = table[address_name].notnull() & (table[address_name] != "")
        free = not rule.needs_consent or not rule.customer_facing or policy.transactional
        consented = reachable & (ibis.literal(True) if free else table[consent_name].fill_null(False))
        allowed = consented & ~table[block_name].fill_null(False)
        table = table.mutate(**{f"_r{index}": reachable, f"_k{index}": consented, f"_ok{index}": allowed})
    for index, rule in enumerate(channels):
        reachable_any = reachable_any | table[f"_r{index}"]
        consented_any = consented_any | table[f"_k{index}"]
        allowed_any = allowed_any | table[f"_ok{index}"]
        passing.append((table[f"_ok{index}"], rule, table[f"_a{index}"]))
    chosen_channel = ibis.cases(*[(ok, rule.name) for ok, rule, _ in passing], else_=ibis.null("string"))
    chosen_address = ibis.cases(*[(ok, address) for ok, _, address in passing], else_=ibis.null("string"))
    chosen_medium = ibis.cases(*[(ok, rule.medium) for ok, rule, _ in passing], else_=ibis.null("string"))
    facing = ibis.cases(*[(ok, rule.customer_facing) for ok, rule, _ in passing], else_=False)
    table = table.left_join(counts.rename(_key="customer_id"), "_key").drop("_key_right")
    sent = table.sent.fill_null(0)
    marketing = not policy.transactional
    dnd = (
        table.do_not_disturb.fill_null(False)
        if marketing and policy.respect_do_not_disturb
        else ibis.literal(False)
    )
    coupon = table.no_cash_coupon.fill_null(False) if policy.offers_cash_coupon else ibis.literal(False)
    capped = (facing & (sent >= policy.cap)) if marketing else ibis.literal(False)
    outcome = ibis.cases(
        (~reachable_any, "unreachable"),
        (~consented_any, "no_consent"),
        (~allowed_any, "suppressed"),
        (dnd, "do_not_disturb"),
        (coupon, "no_cash_coupon"),
        (capped, "capped"),
        (held_out_column(table._key, policy.holdout_scope, policy.control_share), "control"),
        else_="queued",
    )
    result = table.mutate(
        outcome=outcome, channel=chosen_channel, address=chosen_address, medium=chosen_medium
    )
    keep = [*contacts.column_names, "outcome", "channel", "address", "medium"]
    return backend.to_pyarrow(result.select(*keep).order_by("customer_id"))


def funnel(outcomes: pa.Table) -> dict[str, int]:
    """People left after each rule (:data:`FUNNEL`) and, as ``outcome_<name>``, the count of each outcome."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for entry in pc.value_counts(outcomes.column("outcome")).to_pylist():
        counts[str(entry["values"])] = int(entry["counts"])
    total = outcomes.num_rows
    reachable = total - counts["unreachable"]
    consented = reachable - counts["no_consent"]
    not_suppressed = consented - counts["suppressed"]
    not_dnd = not_suppressed - counts["do_not_disturb"] - counts["no_cash_coupon"]
    stages = {
        "audience": total,
        "reachable": reachable,
        "consented": consented,
        "not_suppressed": not_suppressed,
        "not_do_not_disturb": not_dnd,
        "under_cap": not_dnd - counts["capped"],
        "target": not_dnd - counts["capped"] - counts["control"],
    }
    return {**stages, **{f"outcome_{k}": v for k, v in counts.items()}}
