"""One identity run at a time per process.

A full :func:`~guanxi.identity.resolve.resolve` and an incremental
:func:`~guanxi.identity.incremental.resolve_incremental` build working tables
with the same names and publish into the same tables; the process owning the
warehouse runs resolve jobs and the event resolver on different threads. Both
functions hold :data:`IDENTITY_RUN` for their whole run, so they take turns.
Across processes the one writer of an embedded warehouse (ADR 0008) — or the
job queue's lease on other warehouses — keeps runs apart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

IDENTITY_RUN = threading.RLock()


def one_at_a_time(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` holding :data:`IDENTITY_RUN` (re-entrant: an incremental run may call the full one)."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with IDENTITY_RUN:
            return func(*args, **kwargs)

    return wrapper
