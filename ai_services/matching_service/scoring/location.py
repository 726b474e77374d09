"""Where a talent lives against where a job is: the same city, the same commuting region, a
remote job, or a talent willing to relocate.

Cities are named as the CRM names them (a Chinese city in Chinese, any other in English), with
the ways people write them. A region is a set of cities people commute between every day, not a
province: 上海 and 苏州 are one region (25 minutes by train), 北京 and 上海 are not. A city the
table does not know is compared by its written name and belongs to no region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SAME_CITY, SAME_REGION, RELOCATES, SAME_COUNTRY, ELSEWHERE = 1.0, 0.75, 0.6, 0.3, 0.1

# region: (country, {city: aliases})
REGIONS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "京津冀": ("CN", {"北京": ("beijing", "peking", "北京市"), "天津": ("tianjin", "天津市"), "廊坊": ("langfang",)}),
    "上海都市圈": ("CN", {"上海": ("shanghai", "上海市"), "苏州": ("suzhou", "苏州市", "苏州工业园区"),
                          "昆山": ("kunshan",), "嘉兴": ("jiaxing",), "无锡": ("wuxi", "无锡市"), "南通": ("nantong",)}),
    "杭州都市圈": ("CN", {"杭州": ("hangzhou", "杭州市"), "绍兴": ("shaoxing",), "湖州": ("huzhou",)}),
    "宁波": ("CN", {"宁波": ("ningbo", "宁波市")}),
    "南京都市圈": ("CN", {"南京": ("nanjing", "南京市"), "镇江": ("zhenjiang",), "扬州": ("yangzhou",)}),
    "粤港澳大湾区": ("CN", {"深圳": ("shenzhen", "深圳市"), "广州": ("guangzhou", "canton", "广州市"),
                             "东莞": ("dongguan", "东莞市"), "佛山": ("foshan", "佛山市"), "珠海": ("zhuhai", "珠海市"),
                             "惠州": ("huizhou",), "中山": ("zhongshan",), "香港": ("hong kong", "hongkong", "hk"),
                             "澳门": ("macau", "macao")}),
    "成都": ("CN", {"成都": ("chengdu", "成都市")}),
    "重庆": ("CN", {"重庆": ("chongqing", "重庆市")}),
    "武汉": ("CN", {"武汉": ("wuhan", "武汉市")}),
    "西安": ("CN", {"西安": ("xi'an", "xian", "西安市"), "咸阳": ("xianyang",)}),
    "长株潭": ("CN", {"长沙": ("changsha", "长沙市"), "株洲": ("zhuzhou",), "湘潭": ("xiangtan",)}),
    "厦漳泉": ("CN", {"厦门": ("xiamen", "厦门市"), "泉州": ("quanzhou",), "漳州": ("zhangzhou",)}),
    "郑州": ("CN", {"郑州": ("zhengzhou", "郑州市")}),
    "合肥": ("CN", {"合肥": ("hefei", "合肥市")}),
    "青岛": ("CN", {"青岛": ("qingdao", "青岛市")}),
    "济南": ("CN", {"济南": ("jinan", "济南市")}),
    "大连": ("CN", {"大连": ("dalian", "大连市")}),
    "沈阳": ("CN", {"沈阳": ("shenyang", "沈阳市")}),
    "台北": ("TW", {"台北": ("taipei",), "新北": ("new taipei",)}),
    "Singapore": ("SG", {"Singapore": ("新加坡",)}),
    "Tokyo area": ("JP", {"Tokyo": ("东京",), "Yokohama": ("横滨",)}),
    "Seoul area": ("KR", {"Seoul": ("首尔",), "Incheon": ()}),
    "London area": ("GB", {"London": ("伦敦",)}),
    "Bay Area": ("US", {"San Francisco": ("旧金山", "sf"), "Mountain View": (), "Palo Alto": (), "San Jose": (),
                        "Sunnyvale": (), "Menlo Park": (), "Cupertino": (), "Oakland": (), "Santa Clara": ()}),
    "Seattle area": ("US", {"Seattle": ("西雅图",), "Bellevue": (), "Redmond": ()}),
    "New York area": ("US", {"New York": ("纽约", "nyc", "new york city", "brooklyn", "manhattan"),
                             "Jersey City": (), "Newark": ()}),
    "Boston area": ("US", {"Boston": ("波士顿",)}),
    "Los Angeles area": ("US", {"Los Angeles": ("洛杉矶",)}),
    "Austin": ("US", {"Austin": ()}),
    "Chicago area": ("US", {"Chicago": ("芝加哥",)}),
    "Toronto area": ("CA", {"Toronto": ("多伦多",)}),
    "Sydney": ("AU", {"Sydney": ("悉尼",)}),
    "Berlin": ("DE", {"Berlin": ("柏林",)}),
    "Munich": ("DE", {"Munich": ("münchen", "慕尼黑")}),
    "Paris area": ("FR", {"Paris": ("巴黎",)}),
    "Amsterdam area": ("NL", {"Amsterdam": ("阿姆斯特丹",)}),
    "Dublin": ("IE", {"Dublin": ("都柏林",)}),
    "Zurich": ("CH", {"Zurich": ("zürich", "苏黎世")}),
    "Dubai": ("AE", {"Dubai": ("迪拜",)}),
    "Bangalore": ("IN", {"Bangalore": ("bengaluru", "班加罗尔", "bangalore urban")}),
    "Mumbai area": ("IN", {"Mumbai": ("bombay", "navi mumbai", "thane")}),
    "Pune": ("IN", {"Pune": ()}),
    "Delhi NCR": ("IN", {"Delhi": ("new delhi", "ncr"), "Gurgaon": ("gurugram",), "Noida": (), "Ghaziabad": (),
                         "Faridabad": ()}),
    "Hyderabad": ("IN", {"Hyderabad": ("secunderabad",)}),
    "Chennai": ("IN", {"Chennai": ("madras",)}),
    "Kolkata": ("IN", {"Kolkata": ("calcutta",)}),
    "Kuala Lumpur": ("MY", {"Kuala Lumpur": ("吉隆坡",)}),
    "Bangkok": ("TH", {"Bangkok": ("曼谷",)}),
    "Jakarta": ("ID", {"Jakarta": ("雅加达",)}),
    "Ho Chi Minh City": ("VN", {"Ho Chi Minh City": ("胡志明市", "saigon")}),
}


@dataclass(frozen=True, slots=True)
class Place:
    """A city in canonical form, with its commuting region and country when the table knows them."""

    city: str
    region: str | None
    country: str | None


def place_of(city: str | None = None, location: str | None = None) -> Place | None:
    """The place a talent or a job is in: the CRM's normalised `city` when given, else the first
    known city named in the free-text `location`, else the location's first part as written."""
    for text in (city, location):
        if text and (found := _find(text)):
            return found
    written = (city or location or "").split(",")[0].strip()
    return Place(written.casefold(), None, None) if written else None


def location_fit(talent: Place | None, job_places: tuple[Place, ...], remote: bool,
                 relocates: bool) -> tuple[float | None, str]:
    """The score and how it was reached: remote, same-city, same-region, relocates, same-country,
    elsewhere; None when the talent's place or the job's is unknown."""
    if remote:
        return 1.0, "remote"
    if talent is None or not job_places:
        return None, "unknown"
    if any(place.city == talent.city for place in job_places):
        return SAME_CITY, "same-city"
    if talent.region and any(place.region == talent.region for place in job_places):
        return SAME_REGION, "same-region"
    if relocates:
        return RELOCATES, "relocates"
    if talent.country and any(place.country == talent.country for place in job_places):
        return SAME_COUNTRY, "same-country"
    return ELSEWHERE, "elsewhere"


def location_fit_codes(city: np.ndarray, region: np.ndarray, country: np.ndarray, relocates: np.ndarray,
                       job_cities: list[int], job_regions: list[int], job_countries: list[int]) -> np.ndarray:
    """`location_fit` over the talent matrix's integer codes (-1 unknown); NaN where unknown."""
    score = np.full(city.shape, ELSEWHERE)
    score = np.where(np.isin(country, job_countries) & (country >= 0), SAME_COUNTRY, score)
    score = np.where(relocates, RELOCATES, score)
    score = np.where(np.isin(region, job_regions) & (region >= 0), SAME_REGION, score)
    score = np.where(np.isin(city, job_cities), SAME_CITY, score)
    return np.where(city < 0, np.nan, score)


def _find(text: str) -> Place | None:
    aliases, pattern = _gazetteer()
    for match in pattern.finditer(text):
        written = match.group(0)
        start, end = match.span()
        if written.isascii() and ((start > 0 and text[start - 1].isalnum()) or
                                  (end < len(text) and text[end].isalnum())):
            continue  # "sf" inside "transfer" is no city
        return aliases[written.casefold()]
    return None


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[dict[str, Place], re.Pattern[str]]:
    aliases: dict[str, Place] = {}
    for region, (country, cities) in REGIONS.items():
        for city, written in cities.items():
            place = Place(city, region, country)
            for alias in (city, *written):
                aliases[alias.casefold()] = place
    # Longest first, so that "Navi Mumbai" wins over "Mumbai" and "San Jose" over nothing shorter.
    pattern = re.compile("|".join(sorted((re.escape(alias) for alias in aliases), key=len, reverse=True)),
                         re.IGNORECASE)
    return aliases, pattern
