"""The hidden population: one row per real person, with what a person *is*.

Names follow surname shares and gendered given-name characters; birthdays put
most shoppers between 22 and 45; every person has one mobile number (unique in
the population), most have an e-mail address, some a QQ number and a second
mobile. Platform accounts and app ids are in :mod:`guanxi.demo.accounts`.
All columns are aligned by *slot* (0 … n-1); ``person_id`` is the hidden id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from guanxi.demo import geography, naming
from guanxi.demo import textcols as tc
from guanxi.demo.catalog import CATEGORY_SHARE
from guanxi.demo.randomness import choice, unique_ints

TRAP_MOBILES = ("13800138000", "13800000000", "18888888888", "13912345678")
"""Placeholder and shop numbers typed for many people (never a real person's own number)."""

_FAVOURITE_FEMALE = {
    "服饰": 26,
    "美妆": 26,
    "食品": 14,
    "母婴": 16,
    "家居": 10,
    "数码": 3,
    "个护": 4,
    "运动": 1,
}
_FAVOURITE_MALE = {"服饰": 20, "美妆": 3, "食品": 20, "母婴": 6, "家居": 10, "数码": 26, "个护": 7, "运动": 8}


@dataclass(frozen=True)
class People:
    """Aligned columns for n people (Arrow string columns, numpy for numbers and flags)."""

    person_id: npt.NDArray[np.int64]
    female: npt.NDArray[np.bool_]
    name: tc.Column
    pinyin: tc.Column
    """Full name in pinyin without tones or spaces (``zhangwei``)."""
    birthday: npt.NDArray[np.datetime64]
    mobile: tc.Column
    alt_mobile: tc.Column
    """A second number (nullable): an old SIM, a work phone."""
    email: tc.Column
    """Every person's address; only those with ``has_email`` use one."""
    has_email: npt.NDArray[np.bool_]
    qq: tc.Column
    """QQ number (nullable)."""
    place: npt.NDArray[np.int64]
    """Index into :func:`guanxi.demo.geography.places`."""
    province: tc.Column
    city: tc.Column
    district: tc.Column
    street: tc.Column
    """The address below the district (road, number, compound, building, room)."""
    favourite: npt.NDArray[np.int64]
    """Index of the person's favourite category in catalogue order."""

    def __len__(self) -> int:
        return len(self.person_id)


def _mobiles(rng: np.random.Generator, size: int) -> npt.NDArray[np.int64]:
    """Distinct 11-digit mobile numbers with weighted prefixes, never one of the trap numbers.

    Within a prefix, the n-th number gets suffix ``(a·n + b) mod 10^8`` with ``a``
    coprime to 10^8, so numbers are distinct by construction.
    """
    prefixes = np.array([int(p) for p, _ in naming.MOBILE_PREFIXES], dtype=np.int64)
    group = choice(rng, [w for _, w in naming.MOBILE_PREFIXES], size)
    order = np.argsort(group.astype(np.int16), kind="stable")
    counts = np.bincount(group, minlength=len(prefixes))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(size, dtype=np.int64)
    rank[order] = np.arange(size, dtype=np.int64) - starts[group[order]]
    a = rng.integers(1_000_000, 50_000_000, len(prefixes)) * 10 + rng.choice([1, 3, 7, 9], len(prefixes))
    b = rng.integers(0, 100_000_000, len(prefixes))
    numbers = prefixes[group] * 100_000_000 + (rank * a[group] + b[group]) % 100_000_000
    banned = np.isin(numbers, np.array([int(t) for t in TRAP_MOBILES], dtype=np.int64))
    if banned.any():  # give those rows ranks beyond the group's size: still distinct
        spare = counts[group[banned]] + np.arange(int(banned.sum()), dtype=np.int64)
        numbers[banned] = (
            prefixes[group[banned]] * 100_000_000
            + (spare * a[group[banned]] + b[group[banned]]) % 100_000_000
        )
    result: npt.NDArray[np.int64] = numbers
    return result


def _given_names(rng: np.random.Generator, female: npt.NDArray[np.bool_]) -> tuple[tc.Column, tc.Column]:
    """Given names of one or two characters from the gendered pools, with their pinyin."""
    size = len(female)
    chars = [c for c, _ in naming.MALE_CHARS] + [c for c, _ in naming.FEMALE_CHARS] + [""]
    sounds = [p for _, p in naming.MALE_CHARS] + [p for _, p in naming.FEMALE_CHARS] + [""]
    n_male, n_female, nothing = len(naming.MALE_CHARS), len(naming.FEMALE_CHARS), len(chars) - 1

    def draw() -> npt.NDArray[np.int64]:
        return np.where(
            female, n_male + rng.integers(0, n_female, size), rng.integers(0, n_male, size)
        ).astype(np.int64)

    first, second = draw(), draw()
    second = np.where(rng.random(size) < 0.72, second, nothing)
    return (
        tc.concat(tc.pick(chars, first), tc.pick(chars, second)),
        tc.concat(tc.pick(sounds, first), tc.pick(sounds, second)),
    )


def _emails(
    rng: np.random.Generator, pinyin: tc.Column, birth_year: npt.NDArray[np.int64], qq: npt.NDArray[np.int64]
) -> tc.Column:
    """One plausible, unique address per person (QQ numbers at qq.com, pinyin handles elsewhere)."""
    size = len(birth_year)
    domains = [d for d, _ in naming.EMAIL_DOMAINS]
    domain = choice(rng, [w for _, w in naming.EMAIL_DOMAINS], size)
    style = rng.integers(0, 5, size)
    style = np.where((domain == domains.index("qq.com")) & (rng.random(size) < 0.7), 5, style)
    number = rng.integers(1, 10_000, size)
    word = rng.integers(0, len(naming.HANDLE_WORDS), size)

    def sound(rows: npt.NDArray[np.int64]) -> tc.Column:
        return pinyin.take(pa.array(rows))

    local = tc.cases(
        style,
        {
            0: lambda r: tc.concat(sound(r), tc.digits(birth_year[r])),
            1: lambda r: tc.concat(sound(r), tc.digits(birth_year[r] % 100, 2)),
            2: lambda r: tc.concat(sound(r), "_", tc.digits(number[r] % 1000)),
            3: lambda r: tc.concat(tc.pick(naming.HANDLE_WORDS, word[r]), "_", sound(r)),
            4: lambda r: tc.concat(tc.pick(naming.HANDLE_WORDS, word[r]), tc.digits(number[r])),
            5: lambda r: tc.digits(qq[r]),
        },
    )
    host = tc.pick(domains, domain)
    address = tc.concat(local, "@", host)
    again = tc.repeats(address)
    if not again.any():
        return address
    rows = np.flatnonzero(again)
    unique_local = tc.concat(local.take(pa.array(rows)), ".", tc.digits(rows))
    fixed = tc.concat(unique_local, "@", host.take(pa.array(rows)))
    index = np.arange(size, dtype=np.int64)
    index[rows] = size + np.arange(len(rows), dtype=np.int64)
    return pa.concat_arrays([address, fixed]).take(pa.array(index))


def _streets(rng: np.random.Generator, size: int) -> tc.Column:
    """``人民路128号阳光花园3栋2单元1502室`` style addresses below the district."""
    road = tc.pick(geography.ROADS, rng.integers(0, len(geography.ROADS), size))
    compound = tc.pick(geography.COMPOUNDS, rng.integers(0, len(geography.COMPOUNDS), size))
    room = rng.integers(1, 33, size) * 100 + rng.integers(1, 5, size)
    return tc.concat(
        road,
        tc.digits(rng.integers(1, 1000, size)),
        "号",
        compound,
        tc.digits(rng.integers(1, 31, size)),
        "栋",
        tc.digits(rng.integers(1, 5, size)),
        "单元",
        tc.digits(room),
        "室",
    )


def build_people(rng: np.random.Generator, size: int, today: datetime) -> People:
    """``size`` people drawn from ``rng``; ``today`` (naive) anchors their ages."""
    female = rng.random(size) < 0.58
    surname = choice(rng, [w for _, _, w in naming.SURNAMES], size)
    given, given_sound = _given_names(rng, female)
    name = tc.concat(tc.pick([s for s, _, _ in naming.SURNAMES], surname), given)
    pinyin = tc.concat(tc.pick([p for _, p, _ in naming.SURNAMES], surname), given_sound)

    age_days = ((18 + rng.gamma(4.0, 4.2, size)).clip(16, 78) * 365.25).astype(np.int64)
    birthday = np.datetime64(today.date(), "D") - age_days.astype("timedelta64[D]")
    birth_year = birthday.astype("datetime64[Y]").astype(np.int64) + 1970

    mobiles = _mobiles(rng, size * 2)
    has_alt = rng.random(size) < 0.07
    qq_number = unique_ints(rng, 100_000, 3_999_999_999, size)
    has_qq = rng.random(size) < 0.45

    places = geography.places()
    place = choice(rng, places.weight, size)
    cats = list(CATEGORY_SHARE)
    favourite = np.where(
        female,
        choice(rng, [_FAVOURITE_FEMALE[c] for c in cats], size),
        choice(rng, [_FAVOURITE_MALE[c] for c in cats], size),
    )
    ids = rng.permutation(size).astype(np.int64) + 1
    return People(
        person_id=ids,
        female=female,
        name=name,
        pinyin=pinyin,
        birthday=birthday,
        mobile=tc.digits(mobiles[:size]),
        alt_mobile=tc.nullify(tc.digits(mobiles[size:]), ~has_alt),
        email=_emails(rng, pinyin, birth_year, qq_number),
        has_email=rng.random(size) < 0.78,
        qq=tc.nullify(tc.digits(qq_number), ~has_qq),
        place=place,
        province=tc.pick(places.province, place),
        city=tc.pick(places.city, place),
        district=tc.pick(places.district, place),
        street=_streets(rng, size),
        favourite=favourite.astype(np.int64),
    )
