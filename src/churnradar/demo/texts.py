"""Names and texts for the demo simulator, in Chinese and English: the word lists and what is built of them.

Every entry is written into CSV unquoted, so none may hold an ASCII comma, a double quote or a line break
(the tests check it); Chinese text uses the full-width comma instead. Lists are written as `|`-separated
strings to keep this file short. Event texts are addressed by integer codes into one list, `VOCAB`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Ints = npt.NDArray[np.int64]


def _words(text: str) -> tuple[str, ...]:
    """Split a `|`-separated list."""
    return tuple(w.strip() for w in text.split("|"))


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """Split `汉字:pinyin|...` into (characters, pinyin) pairs."""
    return tuple((w.split(":")[0], w.split(":")[1]) for w in _words(text))


LANGS = ("zh", "en")
INDUSTRIES = ("saas", "manufacturing", "retail", "services", "education")

# Pinyin beside each name so that logins can be ascii slugs of the display name.
ZH_SURNAMES = _pairs(
    "王:wang|李:li|张:zhang|刘:liu|陈:chen|杨:yang|黄:huang|赵:zhao|吴:wu|周:zhou|徐:xu|孙:sun|马:ma|朱:zhu|"
    "胡:hu|郭:guo|何:he|高:gao|林:lin|罗:luo|郑:zheng|梁:liang|谢:xie|宋:song|唐:tang|韩:han|冯:feng|"
    "邓:deng|曹:cao|彭:peng"
)
ZH_GIVEN = _pairs(
    "伟:wei|芳:fang|娜:na|敏:min|静:jing|丽:li|强:qiang|磊:lei|军:jun|洋:yang|勇:yong|艳:yan|杰:jie|"
    "娟:juan|涛:tao|明:ming|超:chao|秀英:xiuying|霞:xia|平:ping|刚:gang|桂英:guiying|建华:jianhua|"
    "晓东:xiaodong|海燕:haiyan|志强:zhiqiang|文博:wenbo|雨婷:yuting|子涵:zihan|浩然:haoran|欣怡:xinyi|"
    "俊杰:junjie"
)
EN_FIRST = _words(
    "Emma|Liam|Olivia|Noah|Ava|James|Sophia|Lucas|Mia|Ethan|Grace|Daniel|Chloe|Ryan|Hannah|Jack|Zoe|Leo|"
    "Ella|Owen|Amelia|Henry|Isla|Samuel|Ruby|Oscar|Alice|Thomas|Lily|Adam"
)
EN_LAST = _words(
    "Smith|Johnson|Brown|Taylor|Wilson|Clark|Lewis|Walker|Hall|Young|King|Wright|Scott|Green|Baker|Adams|"
    "Nelson|Carter|Mitchell|Turner|Parker|Evans|Collins|Murphy|Bennett|Hughes|Foster|Ward|Reed|Cooper"
)

# Sales regions for team names: a zh team reads 华东一组, an en team "East 2".
REGIONS = _pairs(
    "华东:East|华南:South|华北:North|华中:Central|西南:Southwest|西北:Northwest|东北:Northeast|"
    "大客户:Key Accounts"
)
ZH_NUMERALS = tuple("一二三四五六七八九十")
HQ_TEAM = "Sales HQ"
USER_DOMAIN = "example.com"

# Company names: zh = city + two brand characters + trade + suffix; en = brand + word + trade + suffix.
ZH_CITIES = _words(
    "上海|北京|深圳|广州|杭州|苏州|南京|成都|武汉|西安|天津|重庆|宁波|无锡|厦门|青岛|长沙|郑州|合肥|佛山|"
    "东莞|济南|福州|昆明|大连|沈阳|温州|常州|嘉兴|珠海"
)
ZH_BRAND_1 = tuple("华新恒盛鑫泰瑞嘉宏博金永长安达信德中天海东正联汇凯明方睿智远腾弘益祥科兴源国创立")
ZH_BRAND_2 = tuple("新达源泰盛通晟丰华宇信辉诚锐邦成和利昌茂远航峰润森拓鼎康启尚云途能捷维迅力聚美恒")
ZH_TRADES = {
    "saas": _words("软件|信息技术|网络科技|数据科技|智能科技|云计算|数字科技|软件技术"),
    "manufacturing": _words(
        "精密机械|机电设备|电子|新材料|汽车零部件|五金制品|模具|自动化设备|塑胶制品|包装材料"
    ),
    "retail": _words("商贸|连锁超市|百货|便利店|电子商务|贸易|食品|母婴用品"),
    "services": _words("企业管理咨询|物流|人力资源服务|广告|法律咨询|财务咨询|营销策划|工程服务"),
    "education": _words("教育科技|职业培训|文化传播|教育咨询|语言培训|在线教育|艺术培训"),
}
ZH_SUFFIXES = _words("有限公司|有限公司|有限公司|股份有限公司|集团有限公司")
EN_BRANDS = _words(
    "Northwind|Blue Harbor|Silverline|Redwood|Brightpath|Summit|Evergreen|Ironbridge|Goldcrest|Clearwater|"
    "Pinnacle|Oakridge|Starlight|Greenfield|Riverstone|Highland|Maple|Falcon|Crescent|Horizon|Lakeside|"
    "Sterling|Westbrook|Eastgate|Nova|Atlas|Orion|Cedar|Granite|Lotus|Jade|Harbor|Kestrel|Meridian|Willow|"
    "Bluebird|Copperfield|Sunrise|Aurora|Beacon"
)
EN_WORDS = _words(
    "Pacific|United|Prime|Apex|Union|Vista|Pioneer|Premier|Coastal|Royal|Metro|Allied|Vanguard|Frontier|"
    "Heritage|Quantum|Keystone|Liberty|Sapphire|Crown|Dragon|Phoenix|Golden|Everest|Harmony"
)
EN_TRADES = {
    "saas": _words("Analytics|Software|Cloud|Data|Systems|Digital|Labs|Technologies"),
    "manufacturing": _words("Machinery|Precision|Components|Industries|Plastics|Tooling|Electronics"),
    "retail": _words("Trading|Stores|Foods|Outfitters|Market|Goods|Supply"),
    "services": _words("Consulting|Logistics|Partners|Advisory|Staffing|Marketing|Engineering"),
    "education": _words("Academy|Learning|Education|Institute|Training|Tutoring"),
}
EN_SUFFIXES = _words("Ltd|Ltd|Inc|Co|Group|LLC")

SEGMENTS = ("SMB", "mid-market", "enterprise")
TIERS = ("high", "medium", "low")
CHANNELS = ("phone", "email", "wechat", "visit", "dingtalk", "portal", "nps", "csat", "web")
DIRECTIONS = ("in", "out")
FEATURES = _words("dashboard|reports|export|mobile|workflow|api|integrations|sso|course_complete")
DEEP_FEATURES = ("workflow", "api", "integrations", "sso")

COMPETITORS = ("销售易", "纷享销客", "Salesforce", "HubSpot", "Zoho", "金蝶", "用友")
_COMPETITOR_TEMPLATES = {
    "zh": _words(
        "客户提到{c}报价更低|{c}的销售最近在接触他们|他们正在试用{c}|问我们和{c}相比有什么优势|"
        "采购部要求对比{c}的方案|听说他们的子公司已经换成{c}了|对方说{c}的功能更全"
    ),
    "en": _words(
        "Mentioned that {c} quoted a lower price|A {c} sales rep has been in touch with them|"
        "They are trialling {c}|Asked how we compare with {c}|Procurement wants a comparison with {c}|"
        "Their subsidiary already moved to {c}|Said {c} has more features for the money"
    ),
}
COMPETITOR_TEXTS = {
    lang: tuple(t.format(c=c) for t in templates for c in COMPETITORS)
    for lang, templates in _COMPETITOR_TEMPLATES.items()
}

COMPLAINTS = {
    "zh": {
        "saas": _words("系统经常卡顿|报表导出总是失败|上次升级后数据对不上|接口经常超时|价格涨得太多了"),
        "manufacturing": _words(
            "发货太慢，考虑换供应商|这批零件有质量问题|维修工程师迟迟不到|交期一再推迟|报价比去年高了不少"
        ),
        "retail": _words("到货少了好几箱|配送总是晚到|退货处理太慢|促销价格没有按约定执行|包装破损严重"),
        "services": _words(
            "项目进度严重滞后|对接人换了三次|回复太慢，问题一直没解决|交付质量不达标|账单和合同不一致"
        ),
        "education": _words(
            "课程视频经常打不开|老师临时调课没有通知|学员反馈内容太旧|直播课卡顿严重|续费价格太高"
        ),
    },
    "en": {
        "saas": _words(
            "The system keeps freezing|Report exports keep failing|Data stopped matching after the upgrade|"
            "The API times out all the time|The price increase is too steep"
        ),
        "manufacturing": _words(
            "Deliveries are too slow - looking at other suppliers|Quality problems in the last batch|"
            "The repair engineer never showed up|Lead times keep slipping|Quote is much higher than last year"
        ),
        "retail": _words(
            "Several cartons missing from the delivery|Deliveries always arrive late|"
            "Returns take forever to process|Promotion prices were not applied|"
            "Packaging arrived badly damaged"
        ),
        "services": _words(
            "The project is far behind schedule|Our contact person changed three times|"
            "Support took 3 days to answer|Deliverables below the agreed standard|"
            "Invoice does not match the contract"
        ),
        "education": _words(
            "Course videos often fail to load|Classes rescheduled without notice|"
            "Learners say the content is outdated|Live classes keep lagging|Renewal price is too high"
        ),
    },
}
TICKETS = {
    "zh": {
        "saas": _words("登录后页面空白|单点登录配置失败|数据同步延迟|权限设置不生效|导入Excel报错"),
        "manufacturing": _words("设备报警需要上门维修|主轴异响|控制器故障停机|更换易损件|液压系统漏油"),
        "retail": _words("订单状态不更新|发票信息有误|会员积分没有到账|补货申请|收货地址修改"),
        "services": _words("申请调整服务排期|需要补充项目资料|报告模板修改|现场服务预约"),
        "education": _words("学员账号无法登录|课程进度没有保存|证书无法下载|新增班级|排课冲突"),
    },
    "en": {
        "saas": _words(
            "Blank page after login|SSO setup fails|Data sync is delayed|Permission changes not applied|"
            "Excel import throws an error"
        ),
        "manufacturing": _words(
            "Machine alarm - on-site repair needed|Spindle making noise|Controller failure stopped the line|"
            "Replace wear parts|Hydraulic oil leak"
        ),
        "retail": _words(
            "Order status not updating|Wrong invoice details|Member points not credited|Restock request|"
            "Change of delivery address"
        ),
        "services": _words(
            "Reschedule the service plan|Project documents needed|Change the report template|"
            "Book an on-site visit"
        ),
        "education": _words(
            "Learner cannot log in|Course progress not saved|Certificate download fails|Add a new class|"
            "Timetable clash"
        ),
    },
}
SURVEY_COMMENTS = {
    "zh": {
        "good": _words("非常满意，会推荐给同行|服务响应很及时|产品稳定好用|客户经理很专业"),
        "neutral": _words("整体还可以|希望价格再优惠一些|功能够用，但是有点复杂|一般般"),
        "bad": _words("问题反复出现，很失望|响应太慢了|性价比不高，在看其他方案|不会再续约了"),
    },
    "en": {
        "good": _words(
            "Very happy - would recommend|Support is quick to respond|Stable and easy to use|"
            "Our account manager is great"
        ),
        "neutral": _words(
            "It is okay overall|Would like a better price|Does the job but feels complicated|Average"
        ),
        "bad": _words(
            "The same problems keep coming back|Responses are far too slow|"
            "Poor value - looking at alternatives|We will not renew"
        ),
    },
}
# Keyed by churn pattern; a sudden churn has causes of its own (closure, acquisition) that gave no warning.
CHURN_PATTERNS = (
    "decay_logins", "decay_orders", "decay_service", "competitor", "late_payment", "contract_lapse", "sudden",
)  # fmt: skip
CHURN_REASONS = {
    "zh": {
        "decay_logins": _words("使用率低|没有用起来"),
        "decay_orders": _words("价格太高|需求减少"),
        "decay_service": _words("服务差|问题长期未解决"),
        "competitor": _words("转用竞品|竞争对手价格更低"),
        "late_payment": _words("预算削减|资金紧张"),
        "contract_lapse": _words("合同到期未续约|预算削减"),
        "sudden": _words("公司倒闭|被收购|业务调整"),
    },
    "en": {
        "decay_logins": _words("low usage|never adopted"),
        "decay_orders": _words("price|less demand"),
        "decay_service": _words("poor service|unresolved issues"),
        "competitor": _words("competitor|cheaper competitor"),
        "late_payment": _words("budget cut|cash flow problems"),
        "contract_lapse": _words("contract not renewed|budget cut"),
        "sudden": _words("company closed|acquired|business change"),
    },
}


# Each industry's own signals (#21 item 3, docs/contract.md): a ticket's category leads its text, a
# manufacturing order names its product category, a member's web visit names its page, an education
# customer's interactions say what they are.
TICKET_CATEGORIES = {
    "zh": _words("缺陷|故障|不满|咨询|需求"),
    "en": _words("defect|fault|dissatisfaction|question|request"),
}
DEFECT, FAULT, DISSATISFACTION, QUESTION, REQUEST = range(5)
PRODUCT_CATEGORIES = _words("spare_part|consumables|equipment")
PAGES = _words("/help/return-policy|/account/close")
INTERACTIONS = _words("question|discussion")


class CodeTable(NamedTuple):
    """Where each (language, column) list starts in VOCAB and how long it is; arrays of shape (2, columns)."""

    offset: Ints
    length: Ints


# A categorised ticket's list per (language, category * len(INDUSTRIES) + industry): "缺陷：登录后页面空白".
_CATEGORY_COLUMNS = tuple(f"{k}/{i}" for k in range(5) for i in INDUSTRIES)
_SIGNAL_WORDS = (*PRODUCT_CATEGORIES, *PAGES, *INTERACTIONS)


def _categorised_tickets() -> dict[str, dict[str, tuple[str, ...]]]:
    sep = {"zh": "：", "en": ": "}
    return {
        lang: {
            f"{k}/{i}": tuple(f"{category}{sep[lang]}{subject}" for subject in TICKETS[lang][i])
            for k, category in enumerate(TICKET_CATEGORIES[lang])
            for i in INDUSTRIES
        }
        for lang in LANGS
    }


def _vocabulary() -> tuple[tuple[str, ...], dict[str, CodeTable]]:
    """Every event text and churn reason in one list, with the tables that address it."""
    words: list[str] = list(FEATURES)  # a feature's code is its index in FEATURES
    sources: dict[str, tuple[Mapping[str, Mapping[str, Sequence[str]]], Sequence[str]]] = {
        "complaint": (COMPLAINTS, INDUSTRIES),
        "ticket": (TICKETS, INDUSTRIES),
        "comment": (SURVEY_COMMENTS, ("bad", "neutral", "good")),
        "competitor": ({lang: {"all": t} for lang, t in COMPETITOR_TEXTS.items()}, ("all",)),
        "reason": (CHURN_REASONS, CHURN_PATTERNS),
        "ticket_category": (_categorised_tickets(), _CATEGORY_COLUMNS),
        "signal": ({lang: {"all": _SIGNAL_WORDS} for lang in LANGS}, ("all",)),
    }
    tables = {}
    for name, (by_lang, cols) in sources.items():
        offset = np.zeros((len(LANGS), len(cols)), dtype=np.int64)
        length = np.zeros_like(offset)
        for li, lang in enumerate(LANGS):
            for ci, col in enumerate(cols):
                offset[li, ci], length[li, ci] = len(words), len(by_lang[lang][col])
                words.extend(by_lang[lang][col])
        tables[name] = CodeTable(offset, length)
    return tuple(words), tables


VOCAB, CODES = _vocabulary()


def signal_word(word: str) -> int:
    """The VOCAB code of a product category, page or interaction word."""
    return int(CODES["signal"].offset[0, 0]) + _SIGNAL_WORDS.index(word)


def person_names(rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
    """n display names (about two thirds Chinese) and unique ascii logins such as `zhang.wei`."""
    zh = rng.random(n) < 0.65
    a, b = rng.integers(0, 1 << 30, n), rng.integers(0, 1 << 30, n)
    names, logins, seen = [], [], dict[str, int]()
    for i in range(n):
        if zh[i]:
            sur, sur_py = ZH_SURNAMES[a[i] % len(ZH_SURNAMES)]
            giv, giv_py = ZH_GIVEN[b[i] % len(ZH_GIVEN)]
            name, slug = sur + giv, f"{sur_py}.{giv_py}"
        else:
            first, last = EN_FIRST[a[i] % len(EN_FIRST)], EN_LAST[b[i] % len(EN_LAST)]
            name, slug = f"{first} {last}", f"{first}.{last}".lower()
        seen[slug] = seen.get(slug, 0) + 1
        names.append(name)
        logins.append(slug if seen[slug] == 1 else f"{slug}{seen[slug]}")  # a slug never ends in a digit
    return names, logins


def team_names(n: int) -> list[str]:
    """Sales team names, mostly Chinese (华东一组), some English (Key Accounts 2)."""
    out = []
    for t in range(n):
        (region_zh, region_en), k = REGIONS[t % len(REGIONS)], t // len(REGIONS) + 1
        numeral = ZH_NUMERALS[k - 1] if k <= len(ZH_NUMERALS) else str(k)
        out.append(f"{region_zh}{numeral}组" if t % 3 != 2 else f"{region_en} {k}")
    return out


def _take(words: Sequence[str], codes: Ints) -> pa.Array:
    return pa.array(words, type=pa.string()).take(pa.array(codes))


def company_names(picks: Ints, industry: Ints, english: npt.NDArray[np.bool_]) -> pa.Array:
    """Names from five random integers per company: 上海华新精密机械有限公司, Northwind Prime Data Ltd."""

    def pick(words: Sequence[str], col: int) -> pa.Array:
        return _take(words, picks[:, col] % len(words))

    def trade(by_industry: Mapping[str, Sequence[str]]) -> pa.Array:
        sizes = np.array([len(by_industry[i]) for i in INDUSTRIES])
        starts = np.cumsum(sizes) - sizes
        return _take(
            [w for i in INDUSTRIES for w in by_industry[i]], starts[industry] + picks[:, 3] % sizes[industry]
        )

    first = picks[:, 1] % len(ZH_BRAND_1)
    second = picks[:, 2] % len(ZH_BRAND_2)
    # The same character twice (华华) reads oddly; take the next one instead.
    second = (second + (np.array(ZH_BRAND_1)[first] == np.array(ZH_BRAND_2)[second])) % len(ZH_BRAND_2)
    zh = pc.binary_join_element_wise(
        pick(ZH_CITIES, 0), _take(ZH_BRAND_1, first), _take(ZH_BRAND_2, second), trade(ZH_TRADES),
        pick(ZH_SUFFIXES, 4), "",
    )  # fmt: skip
    en = pc.binary_join_element_wise(
        pick(EN_BRANDS, 0), pick(EN_WORDS, 1), trade(EN_TRADES), pick(EN_SUFFIXES, 4), " "
    )
    return pc.if_else(pa.array(english), en, zh)
