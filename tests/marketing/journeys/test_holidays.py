"""The holiday calendar: built-in named days, a user file that adds and changes them, clear errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from guanxi.config import get_settings
from guanxi.errors import ConfigError, NotFoundError
from guanxi.marketing.journeys.holidays import BUILTIN_FILE, known_names, load_calendar, read_calendar

DATA = Path(__file__).parents[2] / "data" / "journeys"
SHOP = DATA / "shop_anniversary.holidays.yaml"

SPRING_FESTIVAL = {
    2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26),
    2029: date(2029, 2, 13), 2030: date(2030, 2, 3), 2031: date(2031, 1, 23), 2032: date(2032, 2, 11),
}  # fmt: skip
MID_AUTUMN = {
    2025: date(2025, 10, 6), 2026: date(2026, 9, 25), 2027: date(2027, 9, 15), 2028: date(2028, 10, 3),
    2029: date(2029, 9, 22), 2030: date(2030, 9, 12), 2031: date(2031, 10, 1), 2032: date(2032, 9, 19),
}  # fmt: skip


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_built_in_calendar_has_the_shopping_and_public_holidays() -> None:
    calendar = load_calendar(get_settings(env="test"))
    assert {
        "元旦",
        "春节",
        "情人节",
        "妇女节",
        "劳动节",
        "618",
        "七夕",
        "中秋",
        "国庆",
        "双11",
        "双12",
        "圣诞",
    } <= set(calendar.names())
    assert calendar.dates("双11", 2027) == [date(2027, 11, 11)]
    assert calendar.dates("618", 2030) == [date(2030, 6, 18)]
    assert calendar.holiday("双11").english == "Singles' Day (11.11)"
    assert all(calendar.holiday(name).english for name in calendar.names())


def test_lunar_holidays_have_their_gregorian_dates_for_2025_to_2032() -> None:
    calendar = read_calendar(BUILTIN_FILE)
    assert {year: calendar.dates("春节", year) for year in SPRING_FESTIVAL} == {
        year: [day] for year, day in SPRING_FESTIVAL.items()
    }
    assert {year: calendar.dates("中秋", year) for year in MID_AUTUMN} == {
        year: [day] for year, day in MID_AUTUMN.items()
    }
    assert calendar.dates("七夕", 2026) == [date(2026, 8, 19)]
    assert calendar.dates("春节", 2033) == []  # not listed: no date, not a guess


def test_an_alias_finds_the_same_holiday() -> None:
    calendar = read_calendar(BUILTIN_FILE)
    assert calendar.holiday("女王节").name == "妇女节"
    assert calendar.dates("双十一", 2026) == [date(2026, 11, 11)]


def test_a_user_file_adds_holidays_and_changes_dates_by_name(tmp_path: Path) -> None:
    calendar = load_calendar(get_settings(env="test", journeys_holidays_file=SHOP))
    assert calendar.names()[-1] == "店庆"
    assert calendar.dates("周年庆", 2026) == [date(2026, 9, 9)]
    assert calendar.dates("双11", 2026) == [date(2026, 11, 10)]  # changed through its alias
    assert calendar.dates("双11", 2027) == [date(2027, 11, 11)]  # other years keep the rule
    assert calendar.holiday("双11").english == "Singles' Day (11.11)"
    assert "店庆" in known_names(get_settings(env="test", journeys_holidays_file=SHOP))


def test_a_29_february_rule_falls_on_the_28th_in_a_common_year(tmp_path: Path) -> None:
    calendar = read_calendar(_write(tmp_path, 'holidays:\n  闰日:\n    on: "02-29"\n'))
    assert calendar.dates("闰日", 2028) == [date(2028, 2, 29)]
    assert calendar.dates("闰日", 2027) == [date(2027, 2, 28)]


def test_several_dates_in_one_year_are_listed_in_order(tmp_path: Path) -> None:
    calendar = read_calendar(
        _write(tmp_path, "holidays:\n  会员日:\n    dates:\n      2026: [2026-06-08, 2026-01-08]\n")
    )
    assert calendar.dates("会员日", 2026) == [date(2026, 1, 8), date(2026, 6, 8)]


def test_upcoming_lists_the_holidays_of_the_next_days_in_date_order() -> None:
    calendar = load_calendar(get_settings(env="test", journeys_holidays_file=SHOP))
    found = [(day, h.name) for day, h in calendar.upcoming(date(2026, 9, 1), 30)]
    assert found == [(date(2026, 9, 9), "店庆"), (date(2026, 9, 25), "中秋")]
    assert [h.name for _, h in calendar.upcoming(date(2026, 12, 25), 8)] == ["圣诞", "元旦"]
    assert calendar.upcoming(date(2026, 12, 25), 0) == []


def test_an_unknown_holiday_name_lists_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match=r"no holiday named '国庆前夜' \(known: 元旦, 春节"):
        read_calendar(BUILTIN_FILE).dates("国庆前夜", 2026)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('holidays:\n  店庆:\n    on: "13-01"\n', ":3: holidays.店庆.on: '13-01' is not a day"),
        ("holidays:\n  店庆:\n    en: Shop\n", ":3: holidays.店庆: give `on"),
        ('holidays:\n  店庆:\n    on: "09-09"\n    colour: red\n', ":4: holidays.店庆.colour: unknown key"),
        (
            "holidays:\n  店庆:\n    dates:\n      26: 2026-09-09\n",
            ":4: holidays.店庆.dates.26: a year must be",
        ),
        (
            "holidays:\n  店庆:\n    dates:\n      2026: 2027-09-09\n",
            ":4: holidays.店庆.dates.2026: 2027-09-09 is not in 2026",
        ),
        ('holidays:\n  店庆:\n    on: "09-09"\n    aliases: [双11]\n', ":2: holidays.店庆: the name '双11'"),
        ("festivals: {}\n", ":1: festivals: unknown key"),
        ("", "holidays: the file is empty"),
        ("holidays: [1\n", "not valid YAML"),
    ],
)
def test_a_bad_user_file_names_file_line_and_key(tmp_path: Path, text: str, where: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_calendar(get_settings(env="test", journeys_holidays_file=path))
    assert caught.value.message.startswith(str(path))
    assert where in caught.value.message


def test_a_missing_user_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the holiday calendar"):
        load_calendar(get_settings(env="test", journeys_holidays_file=tmp_path / "none.yaml"))
