"""Quiet hours delay marketing to the window's end on the local clock, never drop it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from guanxi.errors import ValidationFailedError
from guanxi.marketing.quiet_hours import QuietHours

SHANGHAI = ZoneInfo("Asia/Shanghai")
NIGHT = QuietHours.of("21:00", "08:00", "Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("due", "goes"),
    [
        ("2026-11-01T20:59", "2026-11-01T20:59"),
        ("2026-11-01T21:00", "2026-11-02T08:00"),
        ("2026-11-01T23:30", "2026-11-02T08:00"),
        ("2026-11-02T03:00", "2026-11-02T08:00"),
        ("2026-11-02T07:59", "2026-11-02T08:00"),
        ("2026-11-02T08:00", "2026-11-02T08:00"),
        ("2026-12-31T22:00", "2027-01-01T08:00"),
    ],
)
def test_a_send_inside_the_night_goes_at_eight_the_next_morning(due: str, goes: str) -> None:
    assert NIGHT.next_allowed(local(due)) == local(goes).astimezone(UTC)


def test_a_window_that_does_not_wrap_midnight() -> None:
    lunch = QuietHours.of("12:00", "13:30", SHANGHAI)
    assert lunch.contains(local("2026-11-01T12:10"))
    assert not lunch.contains(local("2026-11-01T13:30"))
    assert lunch.next_allowed(local("2026-11-01T12:10")) == local("2026-11-01T13:30").astimezone(UTC)


def test_equal_start_and_end_means_no_quiet_hours() -> None:
    assert not QuietHours.of("08:00", "08:00", SHANGHAI).contains(local("2026-11-01T08:00"))


def test_the_zone_decides_the_clock_a_utc_time_is_read_in() -> None:
    at = datetime(2026, 11, 1, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai, 14:00 in London
    assert NIGHT.contains(at)
    assert not QuietHours.of("21:00", "08:00", "Europe/London").contains(at)


def test_a_bad_time_of_day_is_refused() -> None:
    with pytest.raises(ValidationFailedError, match="HH:MM"):
        QuietHours.of("9pm", "08:00", SHANGHAI)
