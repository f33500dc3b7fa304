"""Control groups: which customers a campaign or journey holds out, decided by a seeded hash.

A customer is held out of scope ``S`` (``campaign:<key>``, ``journey:<key>``)
when the first 64 bits of SHA-256 of ``"S:<customer id>"``, read as an
unsigned integer, are below ``ceil(share × 2⁶⁴)``. :func:`held_out` decides
one customer in Python; :func:`held_out_column` decides a whole column in the
engine (comparing the digest's first 16 hex digits with the threshold's, which
orders the same as the integers), and the two agree exactly. Guarantees:

* the same customer, scope and share give the same answer on every run,
  machine, wave and version of Python (no random state, no salt of the process);
* a larger share holds out a superset of a smaller one's customers, so raising
  the share later never moves a held-out customer back into the target group;
* different scopes draw independently, so one customer is not held out of
  every campaign at once.
"""

from __future__ import annotations

import hashlib
import math

import ibis
import ibis.expr.types as ir

DEFAULT_SHARE = 0.10
"""The share held out when a campaign does not say (10 %)."""


def draw(scope: str, customer_id: str) -> float:
    """The customer's fixed position in ``[0, 1)`` for ``scope``."""
    digest = hashlib.sha256(f"{scope}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def threshold(share: float) -> int:
    """The integers below which a draw is held out at ``share`` (0 … 2⁶⁴)."""
    if share <= 0:
        return 0
    if share >= 1:
        return 2**64
    return math.ceil(share * 2**64)  # share × 2⁶⁴ is exact in binary floating point


def held_out(scope: str, customer_id: str, share: float) -> bool:
    """Whether the customer is in the control group of ``scope`` at ``share`` (0 holds no one out)."""
    digest = hashlib.sha256(f"{scope}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") < threshold(share)


def held_out_column(customer_ids: ir.StringValue, scope: str, share: float) -> ir.BooleanValue:
    """:func:`held_out` of each id of a string column, computed in the engine."""
    limit = threshold(share)
    if limit == 0:
        return ibis.literal(False)
    if limit >= 2**64:
        return ibis.literal(True)
    digest = (ibis.literal(f"{scope}:") + customer_ids).hexdigest("sha256").lower().substr(0, 16)
    return digest < f"{limit:016x}"


def campaign_scope(key: str) -> str:
    """The holdout scope of the campaign ``key``."""
    return f"campaign:{key}"


def journey_scope(key: str) -> str:
    """The holdout scope of the journey ``key``."""
    return f"journey:{key}"
