"""Cities: the normalised `city` derived from a talent's free-text location, and city filters.

A small gazetteer of the places recruiting in China and beyond mostly deals with. A Chinese
city is named in Chinese (上海), any other in English (Singapore); either language finds it.
"""

from __future__ import annotations

import re

# canonical name: other ways people write it
CITIES: dict[str, tuple[str, ...]] = {
    "北京": ("beijing", "peking", "北京市"), "上海": ("shanghai", "上海市"), "深圳": ("shenzhen", "深圳市"),
    "广州": ("guangzhou", "canton", "广州市"), "杭州": ("hangzhou", "杭州市"), "南京": ("nanjing", "南京市"),
    "苏州": ("suzhou", "苏州市"), "成都": ("chengdu", "成都市"), "武汉": ("wuhan", "武汉市"),
    "西安": ("xi'an", "xian", "西安市"), "重庆": ("chongqing", "重庆市"), "天津": ("tianjin", "天津市"),
    "厦门": ("xiamen", "厦门市"), "长沙": ("changsha", "长沙市"), "郑州": ("zhengzhou", "郑州市"),
    "合肥": ("hefei", "合肥市"), "青岛": ("qingdao", "青岛市"), "济南": ("jinan", "济南市"),
    "大连": ("dalian", "大连市"), "沈阳": ("shenyang", "沈阳市"), "宁波": ("ningbo", "宁波市"),
    "无锡": ("wuxi", "无锡市"), "珠海": ("zhuhai", "珠海市"), "东莞": ("dongguan", "东莞市"),
    "佛山": ("foshan", "佛山市"), "福州": ("fuzhou", "福州市"), "昆明": ("kunming", "昆明市"),
    "哈尔滨": ("harbin", "哈尔滨市"), "长春": ("changchun", "长春市"), "南昌": ("nanchang", "南昌市"),
    "贵阳": ("guiyang", "贵阳市"), "南宁": ("nanning", "南宁市"), "石家庄": ("shijiazhuang", "石家庄市"),
    "太原": ("taiyuan", "太原市"), "兰州": ("lanzhou", "兰州市"), "海口": ("haikou", "海口市"),
    "香港": ("hong kong", "hongkong", "hk"), "澳门": ("macau", "macao"), "台北": ("taipei",),
    "Singapore": ("新加坡",), "Tokyo": ("东京",), "Seoul": ("首尔",), "London": ("伦敦",),
    "New York": ("纽约", "nyc", "new york city"), "San Francisco": ("旧金山", "sf"), "Seattle": ("西雅图",),
    "Los Angeles": ("洛杉矶",), "Boston": ("波士顿",), "Berlin": ("柏林",), "Paris": ("巴黎",),
    "Sydney": ("悉尼",), "Toronto": ("多伦多",), "Dubai": ("迪拜",), "Bangalore": ("bengaluru", "班加罗尔"),
    "Mountain View": (), "Palo Alto": (), "San Jose": (), "Austin": (), "Chicago": ("芝加哥",),
    "Amsterdam": ("阿姆斯特丹",), "Dublin": ("都柏林",), "Munich": ("münchen", "慕尼黑"), "Zurich": ("zürich", "苏黎世"),
    "Kuala Lumpur": ("吉隆坡",), "Bangkok": ("曼谷",), "Jakarta": ("雅加达",), "Ho Chi Minh City": ("胡志明市", "saigon"),
}
_ALIASES: dict[str, str] = {}
for canonical, aliases in CITIES.items():
    for alias in (canonical, *aliases):
        _ALIASES[alias.casefold()] = canonical
# Longest first, so that "San Jose" wins over "San" and 哈尔滨 over nothing shorter.
_PATTERN = re.compile("|".join(sorted((re.escape(a) for a in _ALIASES), key=len, reverse=True)), re.IGNORECASE)


def city_of(location: str | None) -> str | None:
    """The first known city named in `location`, in its canonical form; None if none is known."""
    if not location:
        return None
    for match in _PATTERN.finditer(location):
        text = match.group(0)
        start, end = match.span()
        latin = text.isascii()
        if latin and ((start > 0 and location[start - 1].isalnum()) or
                      (end < len(location) and location[end].isalnum())):
            continue  # "sf" inside "transfer" is no city
        return _ALIASES[text.casefold()]
    return None


def canonical_city(name: str) -> str:
    """A city filter value in canonical form; an unknown name is kept as written."""
    return _ALIASES.get(name.strip().casefold(), name.strip())
