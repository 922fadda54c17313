"""What the demo's clerks write under 本期工作动态 / 典型做法: seeded, plausible, different each week.

Each unit draws, per period, whether it writes anything and what: one or two short news items
(an event with its date, place and a figure or two) and now and then a 典型做法 (a way of
working others could copy). The texts are built from a few sentence patterns of real 简报
items and Guangxi's own products and places; the same seed gives the same texts.
"""

from __future__ import annotations

import datetime as dt
import random

from ..config import Config, Unit
from ..contract import NARRATIVE_FIELDS, NARRATIVE_LABELS, NarrativeKind

__all__ = ["narrative_for"]

_PRODUCTS = ("砂糖橘", "百香果", "六堡茶", "罗汉果", "香菇", "芒果", "火龙果", "沃柑", "螺蛳粉", "红薯", "茶油", "土鸡")
_PLACES = ("县城步行街", "高铁站候车大厅", "大型商超", "机关食堂", "农贸市场", "城市广场", "景区游客中心")
_MODELS = ("合作社+贫困户", "龙头企业+基地+贫困户", "电商+扶贫车间", "村集体+合作社+贫困户")
_CHANNELS = ("扶贫产品专柜", "电商平台", "机关、学校、医院食堂", "定点帮扶单位工会")

_NEWS = (
    "{date}，{who}在{place}举办扶贫产品展销活动，组织{n}家企业和合作社参展，现场销售{product}等扶贫产品{money}万元。",
    "{who}组织机关干部职工开展“以购代捐”活动，{n}个单位参与认购，认购{product}等扶贫产品{money}万元。",
    "{who}围绕{activity}组织{n}个单位集中采购，本期采购{product}等扶贫产品{money}万元。",
    "{date}，{who}联合电商平台开展直播带货，{n}名干部走进直播间推介{product}，当天销售{money}万元。",
    "{date}，{who}召开{campaign}工作推进会，对照活动方案逐项梳理任务，明确责任单位和完成时限。",
    "{who}在{place}设立扶贫产品专区，集中展示{product}等{n}类产品，\n活动以来累计接待群众{visits}人次。",
)
_PRACTICES = (
    "{who}探索“{model}”模式，由合作社统一收购、分拣、包装{product}，通过{channel}销售，带动{n}户贫困户增收。",
    "{who}建立扶贫产品产销对接清单，每周收集{product}等产品的供给信息，定向推送给{channel}，实现以销定产。",
    "{who}把扶贫产品采购纳入干部结对帮扶内容，每名帮扶干部至少帮助结对户销售一批{product}，已帮助{n}户销售产品。",
)


def narrative_for(config: Config, seed: int, unit: Unit, period: int) -> dict[str, str]:
    """Narrative label -> text the unit's clerk types for the period (often nothing)."""
    rng = random.Random(f"{seed}|narrative|{unit.code}|{period}")
    odds = {NARRATIVE_LABELS[0]: 0.55, NARRATIVE_LABELS[1]: 0.2, NARRATIVE_LABELS[2]: 0.15}
    if unit.kind == "member":
        odds = {label: p * 0.7 for label, p in odds.items()}
    texts: dict[str, str] = {}
    for label, kind in NARRATIVE_FIELDS:
        if rng.random() >= odds[label] or (label == NARRATIVE_LABELS[1] and NARRATIVE_LABELS[0] not in texts):
            continue
        patterns = _PRACTICES if kind is NarrativeKind.PRACTICE else _NEWS
        texts[label] = rng.choice(patterns).format(**_slots(config, rng, unit, period))
    return texts


def _slots(config: Config, rng: random.Random, unit: Unit, period: int) -> dict[str, str]:
    cutoff = config.period(period).cutoff
    start = max(config.campaign.start, cutoff - dt.timedelta(days=6))
    day = start + dt.timedelta(days=rng.randint(0, max((cutoff - start).days, 0)))
    return {
        "date": f"{day.month}月{day.day}日",
        "who": unit.name,
        "campaign": config.campaign.name, "activity": _quoted(rng.choice(config.activities).name),
        "place": rng.choice(_PLACES), "product": rng.choice(_PRODUCTS), "model": rng.choice(_MODELS),
        "channel": rng.choice(_CHANNELS), "n": str(rng.randint(3, 60)),
        "money": f"{rng.uniform(2, 80):.1f}", "visits": f"{rng.randint(20, 300) * 10:,}",
    }


def _quoted(name: str) -> str:
    """An activity's name in quotation marks, unless it carries its own (“百星百媒…”广西运动健康消费大行动)."""
    return name if "“" in name else f"“{name}”"
