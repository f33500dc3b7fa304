"""The holiday calendar of the ``holiday`` journey trigger: named days (双11, 春节 …) and their dates.

The built-in calendar is ``holidays.yaml`` beside this module; a user file
(``Settings.journeys_holidays_file``, ``GUANXI_JOURNEYS_HOLIDAYS_FILE``) of the
same shape adds holidays (a shop's own 店庆) and changes built-in ones. The shape::

    holidays:
      店庆:                   # the name journeys use (and occurrence keys hold)
        en: Shop anniversary  # English name (optional in a user file)
        aliases: [周年庆]      # other names that find it (optional)
        on: "09-09"           # the same day every year …
        dates:                # … and/or explicit dates by year, which win over `on`
          2026: 2026-09-12    # (a list for several days in one year)

Rules, all guaranteed by :func:`load_calendar`:

* ``on: "02-29"`` falls on 28 February in a year that is not a leap year;
* a lunar holiday (春节, 中秋 …) has explicit dates only; a year the calendar
  does not list has no date (the trigger finds no one then — add the year in a
  user file);
* a user entry of a built-in name (or alias) changes that holiday: its ``en``,
  ``aliases`` and ``on`` replace the built-in ones when given, its ``dates``
  replace those years only;
* names and aliases are unique across the calendar;
* a bad file raises :class:`~guanxi.errors.ConfigError` naming the file, the
  line and the key.

Nothing here reads the clock: :meth:`HolidayCalendar.upcoming` takes ``today``.
"""

from __future__ import annotations

import re
from calendar import isleap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import yaml

from guanxi.config import Settings
from guanxi.errors import ConfigError, NotFoundError

BUILTIN_FILE = Path(__file__).with_name("holidays.yaml")
"""The packaged default calendar."""

_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")
_YEAR = re.compile(r"\d{4}")
_FIELDS = ("en", "aliases", "on", "dates")


@dataclass(frozen=True)
class Holiday:
    """One named holiday: a yearly ``month_day`` rule and/or explicit ``dates`` by year."""

    name: str
    english: str = ""
    aliases: tuple[str, ...] = ()
    month_day: tuple[int, int] | None = None
    dates_by_year: Mapping[int, tuple[date, ...]] = field(default_factory=dict)

    def dates(self, year: int) -> list[date]:
        """The holiday's dates in ``year``, sorted (explicit dates first, else the yearly rule; may be empty)."""
        listed = self.dates_by_year.get(year)
        if listed is not None:
            return sorted(listed)
        if self.month_day is None:
            return []
        month, day = self.month_day
        if (month, day) == (2, 29) and not isleap(year):
            day = 28
        return [date(year, month, day)]


@dataclass(frozen=True)
class HolidayCalendar:
    """Named holidays, in file order (built-ins first, then those a user file adds)."""

    holidays: Mapping[str, Holiday]

    def names(self) -> list[str]:
        """Every holiday's name (not its aliases), in calendar order."""
        return list(self.holidays)

    def find(self, name: str) -> Holiday | None:
        """The holiday called ``name`` or with ``name`` among its aliases; None when there is none."""
        found = self.holidays.get(name)
        if found is not None:
            return found
        return next((h for h in self.holidays.values() if name in h.aliases), None)

    def holiday(self, name: str) -> Holiday:
        """The holiday ``name`` (or alias); raises NotFoundError listing the known names."""
        found = self.find(name)
        if found is None:
            raise NotFoundError(f"no holiday named {name!r} (known: {', '.join(self.names())})")
        return found

    def dates(self, name: str, year: int) -> list[date]:
        """The dates of holiday ``name`` (or alias) in ``year``, sorted; NotFoundError for an unknown name."""
        return self.holiday(name).dates(year)

    def upcoming(self, today: date, days: int) -> list[tuple[date, Holiday]]:
        """The holidays falling on ``today`` … ``today + days − 1``, by date then calendar order."""
        end = today + timedelta(days=days)
        found = [
            (day, holiday)
            for holiday in self.holidays.values()
            for year in range(today.year, end.year + 1)
            for day in holiday.dates(year)
            if today <= day < end
        ]
        order = {name: index for index, name in enumerate(self.holidays)}
        return sorted(found, key=lambda pair: (pair[0], order[pair[1].name]))


def load_calendar(settings: Settings) -> HolidayCalendar:
    """The built-in calendar with ``settings.journeys_holidays_file`` applied on top.

    Raises ConfigError naming file, line and key when a file is unreadable or
    malformed, or when a name or alias is used twice.
    """
    calendar = read_calendar(BUILTIN_FILE)
    if settings.journeys_holidays_file is not None:
        calendar = read_calendar(settings.journeys_holidays_file, base=calendar)
    return calendar


def known_names(settings: Settings) -> list[str]:
    """The names of the holidays ``settings`` give (for a journey validator's message)."""
    return load_calendar(settings).names()


def read_calendar(path: Path, *, base: HolidayCalendar | None = None) -> HolidayCalendar:
    """The calendar in ``path`` (on top of ``base`` when given); ConfigError naming file, line, key."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the holiday calendar ({err})") from err
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from err
    return _Reader(path).calendar(root, base or HolidayCalendar({}))


class _Reader:
    """Reads the composed YAML node tree, so every problem carries its line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node | None, where: str, message: str) -> ConfigError:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        return ConfigError(f"{self.path}{line}: {where}: {message}")

    def mapping(self, node: yaml.Node, where: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where, "expected a mapping of keys to values")
        pairs: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or not key.value.strip():
                raise self.fail(key, where, "a key must be a non-empty name")
            if any(key.value == seen for seen, _, _ in pairs):
                raise self.fail(key, f"{where}.{key.value}", "given twice")
            pairs.append((key.value, key, value))
        return pairs

    def text(self, node: yaml.Node, where: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or not node.value.strip():
            raise self.fail(node, where, "expected a non-empty text")
        return str(node.value).strip()

    def calendar(self, root: yaml.Node | None, base: HolidayCalendar) -> HolidayCalendar:
        if root is None:
            raise self.fail(None, "holidays", "the file is empty; expected `holidays:` with named holidays")
        top = {name: (key, value) for name, key, value in self.mapping(root, "file")}
        unknown = [name for name in top if name != "holidays"]
        if unknown:
            raise self.fail(top[unknown[0]][0], unknown[0], "unknown key; the file holds `holidays:` only")
        if "holidays" not in top:
            raise self.fail(root, "holidays", "missing; expected `holidays:` with named holidays")
        found = dict(base.holidays)
        for name, key, node in self.mapping(top["holidays"][1], "holidays"):
            where = f"holidays.{name}"
            existing = base.find(name)
            holiday = self.holiday(name, node, where, existing)
            if existing is not None:
                found[existing.name] = holiday
            else:
                found[name] = holiday
            self.unique(found, key, where)
        return HolidayCalendar(found)

    def holiday(self, name: str, node: yaml.Node, where: str, existing: Holiday | None) -> Holiday:
        fields = {field_name: (key, value) for field_name, key, value in self.mapping(node, where)}
        for field_name, (key, _) in fields.items():
            if field_name not in _FIELDS:
                raise self.fail(key, f"{where}.{field_name}", f"unknown key; use {', '.join(_FIELDS)}")
        holiday = existing or Holiday(name)
        if "en" in fields:
            holiday = replace(holiday, english=self.text(fields["en"][1], f"{where}.en"))
        if "aliases" in fields:
            holiday = replace(holiday, aliases=self.aliases(fields["aliases"][1], f"{where}.aliases"))
        if "on" in fields:
            holiday = replace(holiday, month_day=self.month_day(fields["on"][1], f"{where}.on"))
        if "dates" in fields:
            dates = dict(holiday.dates_by_year)
            dates.update(self.dates(fields["dates"][1], f"{where}.dates"))
            holiday = replace(holiday, dates_by_year=dates)
        if holiday.month_day is None and not holiday.dates_by_year:
            raise self.fail(node, where, 'give `on: "MM-DD"` or `dates:` by year')
        return holiday

    def aliases(self, node: yaml.Node, where: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, where, "expected a list of names")
        return tuple(self.text(item, where) for item in node.value)

    def month_day(self, node: yaml.Node, where: str) -> tuple[int, int]:
        value = self.text(node, where)
        matched = _MONTH_DAY.fullmatch(value)
        if matched is None or not _valid(2000, int(matched[1]), int(matched[2])):
            raise self.fail(node, where, f'{value!r} is not a day of the year as "MM-DD"')
        return int(matched[1]), int(matched[2])

    def dates(self, node: yaml.Node, where: str) -> dict[int, tuple[date, ...]]:
        found: dict[int, tuple[date, ...]] = {}
        for year_text, key, value in self.mapping(node, where):
            at = f"{where}.{year_text}"
            if _YEAR.fullmatch(year_text) is None:
                raise self.fail(key, at, "a year must be four digits")
            year = int(year_text)
            items = value.value if isinstance(value, yaml.SequenceNode) else [value]
            days = tuple(self.day(item, at, year) for item in items)
            if not days:
                raise self.fail(value, at, "give at least one date")
            found[year] = days
        return found

    def day(self, node: yaml.Node, where: str, year: int) -> date:
        value = self.text(node, where)
        try:
            day = date.fromisoformat(value)
        except ValueError as err:
            raise self.fail(node, where, f"{value!r} is not a date as YYYY-MM-DD") from err
        if day.year != year:
            raise self.fail(node, where, f"{value} is not in {year}")
        return day

    def unique(self, holidays: Mapping[str, Holiday], key: yaml.Node, where: str) -> None:
        seen: dict[str, str] = {}
        for holiday in holidays.values():
            for name in (holiday.name, *holiday.aliases):
                owner = seen.setdefault(name, holiday.name)
                if owner != holiday.name:
                    raise self.fail(
                        key, where, f"the name {name!r} is used by {owner!r} and {holiday.name!r}"
                    )


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True
