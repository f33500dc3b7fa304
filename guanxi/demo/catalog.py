"""What the demo shop sells: categories, brands, products and their prices.

The catalogue is fixed (it does not depend on the seed), so product ids, names
and list prices are the same in every demo data set. Prices are in fen.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

CATEGORY_SHARE: dict[str, float] = {
    "服饰": 24.0,
    "美妆": 18.0,
    "食品": 16.0,
    "母婴": 12.0,
    "家居": 11.0,
    "数码": 9.0,
    "个护": 6.0,
    "运动": 4.0,
}
"""Share of order lines per category (percent)."""

CATEGORY_CODE = {
    "服饰": "FS",
    "美妆": "MZ",
    "食品": "SP",
    "母婴": "MY",
    "家居": "JJ",
    "数码": "SM",
    "个护": "GH",
    "运动": "YD",
}

_PRODUCTS: dict[str, dict[str, tuple[tuple[str, int], ...]]] = {
    "服饰": {
        "优衣库": (("男装 圆领T恤 纯棉短袖", 79), ("女装 摇粒绒拉链外套", 199), ("男装 弹力修身牛仔裤", 249)),
        "太平鸟": (("女装 碎花连衣裙 春夏新款", 599), ("男装 休闲西装外套", 899), ("女装 针织开衫", 459)),
        "波司登": (("男士 连帽短款羽绒服", 1299), ("女士 中长款鹅绒服", 1899), ("轻薄款 羽绒马甲", 599)),
        "森马": (("男士 卫衣 宽松连帽", 169), ("女士 高腰阔腿裤", 139), ("情侣款 休闲夹克", 259)),
        "海澜之家": (("男士 商务长袖衬衫", 198), ("男士 纯棉POLO衫", 168), ("男士 休闲长裤", 228)),
        "江南布衣": (("女装 亚麻衬衫", 798), ("女装 半身长裙", 898), ("女装 毛呢大衣", 2498)),
    },
    "美妆": {
        "兰蔻": (("小黑瓶 精华肌底液 50ml", 1080), ("菁纯 口红 196", 350), ("极光水 清滢柔肤水 400ml", 590)),
        "雅诗兰黛": (
            ("特润修护肌活精华露 小棕瓶 50ml", 960),
            ("沁水粉底液 30ml", 460),
            ("多效智妍面霜 50ml", 690),
        ),
        "欧莱雅": (
            ("复颜玻尿酸水光充盈导入膨润精华 30ml", 329),
            ("男士 劲能醒肤露 50ml", 149),
            ("紫熨斗 全脸眼霜 30ml", 359),
        ),
        "完美日记": (("反重力唇釉 3.5g", 69), ("小细跟 口红", 79), ("十二色 动物眼影盘", 129)),
        "花西子": (("空气蜜粉 散粉 8g", 149), ("雕花口红 3.4g", 169), ("螺黛生花 眉笔", 89)),
        "珀莱雅": (("红宝石精华 30ml", 329), ("双抗精华 30ml", 299), ("源力面霜 50g", 269)),
        "薇诺娜": (("舒敏保湿特护霜 50g", 268), ("清透防晒乳 50g", 198), ("舒敏保湿修护精华液 30ml", 298)),
    },
    "食品": {
        "三只松鼠": (("每日坚果 750g 30袋", 129), ("夏威夷果 265g", 39), ("零食大礼包 1.5kg", 99)),
        "良品铺子": (("猪肉脯 200g", 36), ("芒果干 108g×3", 45), ("零食礼盒 年货", 168)),
        "百草味": (("东北松子 218g", 59), ("坚果礼盒 1.4kg", 139), ("牛肉粒 168g", 49)),
        "蒙牛": (("特仑苏 纯牛奶 250ml×12盒", 69), ("纯甄 酸牛奶 200g×24盒", 79), ("真果粒 250g×12盒", 45)),
        "伊利": (
            ("金典 有机纯牛奶 250ml×12盒", 79),
            ("安慕希 希腊酸奶 205g×16盒", 69),
            ("QQ星 儿童成长牛奶 195ml×12", 52),
        ),
        "五芳斋": (("粽子礼盒 端午 10只装", 128), ("鲜肉粽 100g×6", 49), ("月饼礼盒 中秋", 168)),
        "稻香村": (("糕点礼盒 京八件", 128), ("月饼礼盒 多口味", 198), ("牛舌饼 500g", 35)),
    },
    "母婴": {
        "飞鹤": (("星飞帆 3段 幼儿配方奶粉 700g", 268), ("臻稚 有机 2段 较大婴儿配方奶粉 800g", 458)),
        "爱他美": (("卓萃 3段 幼儿配方奶粉 900g", 398), ("白金版 2段 800g", 358)),
        "帮宝适": (
            ("一级帮 纸尿裤 L码 52片", 179),
            ("清新帮 拉拉裤 XL码 42片", 139),
            ("黑金帮 纸尿裤 M码 50片", 209),
        ),
        "花王": (("妙而舒 纸尿裤 M码 64片", 139), ("妙而舒 学步裤 L码 44片", 129)),
        "贝亲": (
            ("宽口径 玻璃奶瓶 240ml", 119),
            ("婴儿 洗发沐浴露 二合一 200ml", 59),
            ("婴儿 湿巾 80抽×6包", 69),
        ),
        "好孩子": (
            ("高景观 婴儿推车 可坐可躺", 1299),
            ("儿童 安全座椅 9个月-12岁", 1599),
            ("婴儿 餐椅", 399),
        ),
        "巴拉巴拉": (("儿童 加绒卫衣", 159), ("宝宝 连体衣 纯棉", 129), ("儿童 羽绒服 中长款", 499)),
    },
    "家居": {
        "宜家": (("马尔姆 抽屉柜 4斗", 599), ("格罗纳 收纳盒 3件套", 49), ("汉妮斯 床头柜", 299)),
        "九阳": (("破壁机 料理机 家用", 699), ("豆浆机 免滤 1.2L", 399), ("空气炸锅 5.5L", 329)),
        "美的": (("电饭煲 4L 智能预约", 299), ("电磁炉 家用 2200W", 199), ("电热水壶 1.7L", 99)),
        "苏泊尔": (("不粘锅 炒锅 32cm", 229), ("球釜 电饭煲 5L", 499), ("保温杯 500ml", 89)),
        "罗莱": (("全棉 四件套 1.8m", 899), ("蚕丝被 春秋被", 1299), ("乳胶枕 一对", 399)),
        "洁柔": (("抽纸 3层 100抽×24包", 59), ("卷纸 4层 140g×27卷", 69), ("湿厕纸 80片×3包", 39)),
    },
    "数码": {
        "华为": (
            ("FreeBuds Pro 3 无线耳机", 1299),
            ("WATCH GT 4 智能手表", 1588),
            ("66W 超级快充 充电器", 149),
        ),
        "小米": (("Redmi Note 13 Pro 手机 8+256G", 1599), ("小米手环 8", 239), ("移动电源 20000mAh", 129)),
        "苹果": (("AirPods Pro 第二代", 1899), ("20W USB-C 电源适配器", 145), ("iPad 第十代 64G", 3599)),
        "罗技": (("MX Master 3S 无线鼠标", 699), ("K380 蓝牙键盘", 179), ("G304 无线游戏鼠标", 199)),
        "倍思": (("数据线 Type-C 快充 1m", 29), ("氮化镓 65W 充电器", 99), ("车载 手机支架", 59)),
        "荣耀": (("Magic6 手机 12+256G", 4399), ("亲选 Earbuds X5 耳机", 199), ("平板 X9 11.5英寸", 1299)),
    },
    "个护": {
        "蓝月亮": (("深层洁净 洗衣液 3kg×2瓶", 89), ("洗手液 500g×3瓶", 49)),
        "舒肤佳": (("纯白清香 沐浴露 1L", 59), ("香皂 108g×6块", 39)),
        "高露洁": (("劲白 小苏打 牙膏 180g×3支", 45), ("软毛 牙刷 10支装", 39)),
        "飞利浦": (("电动牙刷 钻石系列", 599), ("电动剃须刀 5系", 499), ("吹风机 负离子", 199)),
        "海飞丝": (("去屑洗发水 750ml", 79), ("丝质柔滑 洗发露 400ml×2", 69)),
    },
    "运动": {
        "李宁": (("赤兔6 跑步鞋 男款", 399), ("速干 运动T恤", 99), ("羽毛球拍 全碳素", 299)),
        "安踏": (("氢跑鞋 女款 轻便", 299), ("运动卫裤 加绒", 169), ("篮球鞋 KT8", 599)),
        "迪卡侬": (("瑜伽垫 8mm 加厚", 99), ("户外 登山包 30L", 149), ("跳绳 计数", 39)),
        "Keep": (("智能 动感单车", 1999), ("健身 弹力带 5件套", 59), ("体脂秤", 129)),
    },
}


@dataclass(frozen=True)
class Catalog:
    """Every product, aligned tuples; ``price`` in fen."""

    sku: tuple[str, ...]
    product: tuple[str, ...]
    category: tuple[str, ...]
    brand: tuple[str, ...]
    price: npt.NDArray[np.int64]
    category_names: tuple[str, ...]
    category_of: npt.NDArray[np.int64]
    """Index into ``category_names`` of each product."""

    def __len__(self) -> int:
        return len(self.sku)

    def products_of(self, category: int) -> npt.NDArray[np.int64]:
        """Indices of the products of category number ``category``."""
        return np.flatnonzero(self.category_of == category)


@cache
def catalog() -> Catalog:
    """The fixed product catalogue (built once per process)."""
    sku: list[str] = []
    product: list[str] = []
    category: list[str] = []
    brand: list[str] = []
    price: list[int] = []
    names = tuple(CATEGORY_SHARE)
    for cat in names:
        for b_index, (brand_name, items) in enumerate(_PRODUCTS[cat].items()):
            for p_index, (title, yuan) in enumerate(items):
                sku.append(f"{CATEGORY_CODE[cat]}{b_index + 1:02d}{p_index + 1:03d}")
                product.append(f"{brand_name} {title}")
                category.append(cat)
                brand.append(brand_name)
                price.append(yuan * 100)
    return Catalog(
        sku=tuple(sku),
        product=tuple(product),
        category=tuple(category),
        brand=tuple(brand),
        price=np.array(price, dtype=np.int64),
        category_names=names,
        category_of=np.array([names.index(c) for c in category], dtype=np.int64),
    )


def category_weights() -> npt.NDArray[np.float64]:
    """:data:`CATEGORY_SHARE` as a probability vector in catalogue category order."""
    w = np.array(list(CATEGORY_SHARE.values()), dtype=np.float64)
    result: npt.NDArray[np.float64] = w / w.sum()
    return result
