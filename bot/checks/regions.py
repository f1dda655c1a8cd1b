"""Province-level region codes (GB/T 2260) and the tax system's separately listed cities."""

PROVINCES: dict[str, tuple[str, str]] = {
    "11": ("北京", "Beijing"),
    "12": ("天津", "Tianjin"),
    "13": ("河北", "Hebei"),
    "14": ("山西", "Shanxi"),
    "15": ("内蒙古", "Inner Mongolia"),
    "21": ("辽宁", "Liaoning"),
    "22": ("吉林", "Jilin"),
    "23": ("黑龙江", "Heilongjiang"),
    "31": ("上海", "Shanghai"),
    "32": ("江苏", "Jiangsu"),
    "33": ("浙江", "Zhejiang"),
    "34": ("安徽", "Anhui"),
    "35": ("福建", "Fujian"),
    "36": ("江西", "Jiangxi"),
    "37": ("山东", "Shandong"),
    "41": ("河南", "Henan"),
    "42": ("湖北", "Hubei"),
    "43": ("湖南", "Hunan"),
    "44": ("广东", "Guangdong"),
    "45": ("广西", "Guangxi"),
    "46": ("海南", "Hainan"),
    "50": ("重庆", "Chongqing"),
    "51": ("四川", "Sichuan"),
    "52": ("贵州", "Guizhou"),
    "53": ("云南", "Yunnan"),
    "54": ("西藏", "Tibet"),
    "61": ("陕西", "Shaanxi"),
    "62": ("甘肃", "Gansu"),
    "63": ("青海", "Qinghai"),
    "64": ("宁夏", "Ningxia"),
    "65": ("新疆", "Xinjiang"),
}

# Cities with their own tax bureau (计划单列市), identified by the first four digits.
LISTED_CITIES: dict[str, tuple[str, str]] = {
    "2102": ("大连", "Dalian"),
    "3302": ("宁波", "Ningbo"),
    "3502": ("厦门", "Xiamen"),
    "3702": ("青岛", "Qingdao"),
    "4403": ("深圳", "Shenzhen"),
}


def region_name(code4_or_2: str) -> tuple[str, str] | None:
    """(zh, en) name of a 4-digit or 2-digit region code, or None when no province has it."""
    if len(code4_or_2) >= 4 and code4_or_2[:4] in LISTED_CITIES:
        return LISTED_CITIES[code4_or_2[:4]]
    return PROVINCES.get(code4_or_2[:2])
