"""Failed sign-ins lock a username for a while."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from guanxi.errors import GuanxiError
from guanxi.web.throttle import SignInThrottle

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_the_limit_locks_until_the_oldest_failure_leaves_the_window() -> None:
    throttle = SignInThrottle(limit=3, window=timedelta(minutes=15))
    for minute in range(3):
        throttle.check("Li.Na", T0 + timedelta(minutes=minute))
        throttle.failed("Li.Na", T0 + timedelta(minutes=minute))
    with pytest.raises(GuanxiError, match="try again in 6 minutes") as info:
        throttle.check("li.na", T0 + timedelta(minutes=10))
    assert info.value.code == "rate_limited"
    throttle.check("li.na", T0 + timedelta(minutes=15))


def test_success_clears_and_other_names_are_unaffected() -> None:
    throttle = SignInThrottle(limit=1)
    throttle.failed("a", T0)
    throttle.check("b", T0)
    throttle.succeeded("a")
    throttle.check("a", T0)
