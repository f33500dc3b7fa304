"""The pure timing rule of the ``wait`` step (the step kinds themselves run in the recipes' end-to-end tests)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from guanxi.marketing.journeys.flow_steps import WaitConfig, wait_until

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("config", "started", "ends"),
    [
        ({"minutes": 105}, "2026-11-01 10:15", "2026-11-01 12:00"),
        ({"hours": 2, "at": "09:00"}, "2026-11-01 20:00", "2026-11-02 09:00"),  # 22:00, then the next 09:00
        ({"at": "20:00"}, "2026-11-01 10:00", "2026-11-01 20:00"),
        ({"at": "20:00"}, "2026-11-01 20:30", "2026-11-02 20:00"),
        ({"days": 30, "at": "10:00"}, "2026-10-31 10:01", "2026-11-30 10:00"),  # calendar days
        ({"days": 2, "at": "20:00"}, "2026-11-08 10:00", "2026-11-10 20:00"),
        (
            {"days": 1.5, "at": "10:00"},
            "2026-11-01 10:00",
            "2026-11-03 10:00",
        ),  # not whole days: the next 10:00
        ({"days": 1, "until_date": "2026-12-01T08:00"}, "2026-11-01 10:00", "2026-12-01 08:00"),
    ],
)
def test_wait_until(config: dict[str, object], started: str, ends: str) -> None:
    assert wait_until(WaitConfig.model_validate(config), local(started), SHANGHAI) == local(ends)


def test_a_wait_needs_something_to_wait_for() -> None:
    with pytest.raises(ValueError, match="a wait needs"):
        WaitConfig.model_validate({})
