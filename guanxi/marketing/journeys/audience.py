"""Who a journey is for: the members of a stored segment or an inline segment rule, as of a date."""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis.expr.types as ir
from ibis.backends import BaseBackend
from sqlalchemy.orm import Session

from guanxi.marketing.campaigns.audience import members
from guanxi.marketing.campaigns.definition import Audience


def segment_members(
    con: BaseBackend,
    session: Session,
    *,
    segment: str | None = None,
    spec: dict[str, Any] | None = None,
    as_of: date,
) -> ir.Table:
    """``customer_id`` (int64, distinct) of the segment ``segment`` or the rule ``spec`` as of ``as_of``.

    Exactly one of the two is given (the definition checks it); compiled with the
    segment DSL, unexecuted, so callers join it where the data is.
    """
    return members(con, session, Audience(segment=segment, spec=spec), as_of=as_of)
