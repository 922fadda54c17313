"""The campaign-end report (活动总结, for the plan's 成果展示): the last period's consolidation
as a Word document in the weekly briefing's official layout, and its Markdown twin.

It is made by the briefing's own machinery (`briefing.render_documents`, the templates
`summary.docx` and `summary.md.j2` built by `templates/build_briefing_template.py` with the
briefing's styles) and words its figures with the briefing's own sentences: each activity's
final figures against the plan's targets, in the plan's order and with the plan's words
(`targets[].plan` in config), the cities' ranking and the units that did most, the
week-by-week trend, what was not met and why it matters (`targets[].purpose`), and a
one-page table of every target fit to print::

    >>> result = render_summary(consolidation, Path("out/活动总结"))
    >>> [p.name for p in result.paths][:2]
    ['2020年消费扶贫月活动总结.docx', '2020年消费扶贫月活动总结.md']
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any, Optional, Sequence

from ..consolidate import Consolidation, Progress
from ..filenames import safe_filename
from ..wording import cn_numeral, fmt_count, fmt_date_cn, fmt_date_full, fmt_percent, fmt_plan_value, fmt_value, \
    money_unit, quantity_name
from . import briefing as b

__all__ = ["SUMMARY_DOCX_TEMPLATE", "SUMMARY_MARKDOWN_TEMPLATE", "SUMMARY_KEYS", "build_summary_context",
           "render_summary", "target_name", "target_results"]

SUMMARY_DOCX_TEMPLATE = "summary.docx"
SUMMARY_MARKDOWN_TEMPLATE = "summary.md.j2"
SUMMARY_KEYS = ("campaign", "period", "masthead", "title", "overview", "numbering", "headings", "activities",
                "cities", "leaders", "trend", "practices", "unmet", "next_steps", "table", "tail", "charts", "captions")
_PRACTICES = 8          # 典型做法 collected: one a city (or member unit), at most eight
_LEADERS = 5            # the units that did most: the first five (and any tied with the fifth)
_RESULT = {"met": "已完成", "ahead": "未完成", "behind": "未完成", "within-cap": "未超过上限",
           "over-cap": "超过上限", "no-data": "暂无数据"}


def target_results(c: Consolidation) -> list[tuple[Progress, str]]:
    """Each target of the plan in the plan's order (its activity's, then config's), with its
    result as the table prints it (已完成 / 未完成 / 未超过上限 / 超过上限 / 暂无数据)."""
    order = {a.id: i for i, a in enumerate(c.config.activities)}
    ranked = sorted(enumerate(c.progress), key=lambda ip: (order.get(ip[1].indicator.activity, 99), ip[0]))
    return [(p, _RESULT[p.status]) for _, p in ranked]


def target_name(c: Consolidation, p: Progress) -> str:
    """A target named as the report names it: 运营专柜, 33个国定贫困县扶贫产品入驻率."""
    return b._scope_prefix(c.config, p.target) + quantity_name(p.indicator.name, p.indicator.kind)


def build_summary_context(c: Consolidation, *, issue_date: Optional[dt.date] = None,
                          practices: Sequence[Any] = ()) -> dict[str, Any]:
    """Everything the summary templates show, worded in Chinese (names: `SUMMARY_KEYS`; the
    shared ones as in `briefing.build_context`); `issue_date` defaults to config's
    `campaign.summary.date`, else the day the consolidation was made. `practices` are the
    campaign's 典型做法 items (the archive's `NarrativeItem`s, the office's edit as their text);
    the section is left out without any."""
    if not c.period.final:       # the campaign's last period, worded as its result whatever config marks
        c = dataclasses.replace(c, period=c.period.model_copy(update={"final": True}))
    config = c.config
    camp = config.campaign
    issued = issue_date or camp.summary.date or c.generated_at.date()
    cities = b._cities(c)
    trend = b._trend_text(c)
    unmet = _unmet(c)
    chosen = _practices(c, practices)
    sections = ["activities"] + (["cities"] if cities else []) + (["trend"] if trend else []) \
        + (["practices"] if chosen else []) + (["unmet"] if unmet else []) + ["next_steps"]
    city = camp.levels.city
    context = {
        "campaign": {"name": camp.name, "theme": camp.theme, "region": camp.region.short_name, "office": camp.office},
        "period": {"number": str(c.period.number), "cutoff": fmt_date_cn(c.period.cutoff),
                   "cutoff_full": fmt_date_full(c.period.cutoff)},
        "masthead": {"title": camp.briefing_title, "issue": camp.summary.issue, "office": f"{camp.office}编",
                     "date": fmt_date_full(issued)},
        "title": camp.summary_title,
        "document_title": camp.summary_title,
        "overview": _overview(c),
        "numbering": {key: f"{cn_numeral(i)}、" for i, key in enumerate(sections, start=1)},
        "headings": {"activities": "各项活动完成情况", "cities": f"各{city}完成情况", "trend": "活动期间进展情况",
                     "practices": "典型做法", "unmet": "未完成的目标任务", "next_steps": "下一步工作"},
        "activities": _activities(c),
        "cities": cities,
        "leaders": _leaders(c),
        "trend": trend,
        "practices": chosen,
        "unmet": unmet,
        "next_steps": b.numbered_steps([s for s in b._next_step_items(c) if s[0] != b.FINAL_SUMMING_UP]),
        "table": _table(c),
        "tail": b._tail(config, issued),
        "charts": {key: "" for key in b.CHART_FILES},
        "captions": {},
    }
    return b._clean(context)


def _overview(c: Consolidation) -> str:
    """活动期间（9月1日至9月30日），… the headline figures, how many of the plan's targets were
    met, how many periods were reported and who sent the last."""
    config = c.config
    camp = config.campaign
    progress = b._progress_by_indicator(c)
    clauses = [b._figure_clause(c, b._figure(c, config.indicator(t.indicator), progress.get(t.indicator)))
               for t in b._headline_targets(config)]
    clauses = [text for text in clauses if text]
    theme = f"围绕“{camp.theme}”主题，" if camp.theme else ""
    text = (f"活动期间（{fmt_date_cn(camp.start)}至{fmt_date_cn(camp.end)}），{camp.region.short_name}各地各有关单位"
            f"{theme}按照活动方案组织开展各项活动。")
    if clauses:
        text += f"{camp.region.short_name}累计" + "；".join(clauses) + "。"
    text += _targets_sentence(c)
    periods = len({*c.history, c.period.number})
    text += f"活动期间共汇总进展情况{periods}期，{b._who_reported(c, f'第{c.period.number}期进展情况')}。"
    return text


def _targets_sentence(c: Consolidation) -> str:
    """方案确定的15项量化目标中，已完成12项，未完成2项，1项暂无数据。"""
    results = [result for _, result in target_results(c)]
    if not results:
        return ""
    met = sum(r in ("已完成", "未超过上限") for r in results)
    unmet = sum(r in ("未完成", "超过上限") for r in results)
    empty = results.count("暂无数据")
    if met == len(results):
        return f"方案确定的{len(results)}项量化目标全部完成。"
    parts = [f"已完成{met}项"] + ([f"未完成{unmet}项"] if unmet else []) + ([f"{empty}项暂无数据"] if empty else [])
    return f"方案确定的{len(results)}项量化目标中，" + "，".join(parts) + "。"


def _activities(c: Consolidation) -> list[dict[str, str]]:
    """Per activity in the plan's order: its heading, what the plan asked (config's plan), its final figures."""
    sections = b._activity_sections(c, empty="活动期间暂无相关数据。")
    out = []
    for activity, section in zip(c.config.activities, sections):
        text = section["text"]
        out.append({"heading": section["heading"],
                    "plan": f"方案要求：{activity.plan.rstrip('。')}。" if activity.plan else "",
                    "text": text if text.startswith("活动期间") else f"活动期间，{text}"})
    return out


def _leaders(c: Consolidation) -> str:
    """The units that did most on the ranking indicator: the first five (ties with the fifth too)."""
    config = c.config
    if not config.ranking_indicator:
        return ""
    ind = config.indicator(config.ranking_indicator)
    rows = sorted((r for r in c.counties if r.values.get(ind.id) is not None),
                  key=lambda r: -float(r.values[ind.id]))
    if not rows:
        return ""
    money = money_unit(*(r.values[ind.id] for r in rows[:_LEADERS]))
    shown = [fmt_value(r.values[ind.id], ind.kind, ind.unit, money=money) for r in rows]
    cut = min(_LEADERS, len(rows))
    while cut < len(rows) and shown[cut] == shown[cut - 1]:      # equal as printed: tied with the last named
        cut += 1
    named = "、".join(f"{r.unit.full_name}（{text}）" for r, text in zip(rows[:cut], shown))
    county = config.campaign.levels.county
    return f"从{ind.name}看，各{county}中位居前列的是：{named}。"


def _practices(c: Consolidation, items: Sequence[Any]) -> list[dict[str, str]]:
    """典型做法 collected: of each city (cities in ranking order) and then each member unit, the
    longest 典型做法 any of its units wrote during the campaign, at most eight; each led by its
    unit's name, as the briefing's 各地动态."""
    from ..contract import NarrativeKind

    config = c.config
    units = config.units
    ranked = {r.code: r.rank for r in c.city_ranking}
    order = {code: i for i, code in enumerate(units)}
    best: dict[str, Any] = {}
    for item in items:
        unit = units.get(item.unit_code)
        if unit is None or item.kind != NarrativeKind.PRACTICE or not item.text.strip():
            continue
        group = unit.city_code if unit.kind == "county" and unit.city_code else unit.code
        if group not in best or len(item.text) > len(best[group].text):
            best[group] = item
    groups = sorted(best, key=lambda g: (g not in ranked, ranked.get(g, 0), order.get(best[g].unit_code, 0)))
    return [b._attributed(units[best[g].unit_code], b._one_paragraph(best[g].text)) for g in groups[:_PRACTICES]]


def _unmet(c: Consolidation) -> list[dict[str, str]]:
    """What was not met, each with how far it fell short and why it matters (config's purpose);
    a cap exceeded; a target without data. None when everything was met (the section is left out:
    the overview says so)."""
    items, said = [], set()
    for p, result in target_results(c):
        ind = p.indicator
        subject = target_name(c, p)
        if result == "未完成":
            text = b._lag_clause(c, p, subject) if ind.kind != "ratio" else \
                f"{subject}为{fmt_percent(p.value)}，{b._target_phrase(ind, p.value, p.target, p)}"
        elif result == "超过上限":
            text = f"{subject}为{fmt_value(p.value, ind.kind, ind.unit)}，{b._target_phrase(ind, p.value, p.target, p)}"
        elif result == "暂无数据":
            text = f"{subject}暂无数据，无法评价完成情况"
        else:
            continue
        purpose = p.target.purpose.rstrip("。")
        why = f"。{purpose}，这项工作需在活动结束后继续抓好落实" if purpose and purpose not in said else ""
        said.add(purpose)
        items.append({"heading": "", "text": f"{text}{why}。"})
    return items


def _table(c: Consolidation) -> dict[str, Any]:
    """附表: every target in the plan's order, its final figure, completion and result (each
    activity named on its first row)."""
    config = c.config
    rows = []
    for p, result in target_results(c):
        ind = p.indicator
        target = fmt_plan_value(p.target.value, ind.kind, ind.unit)
        activity = config.activity(ind.activity).short_name
        first = not rows or rows[-1]["_activity"] != activity
        rows.append({"_activity": activity, "activity": activity if first else "",
                     "indicator": b._scope_name(config, p.target) + ind.name,
                     "target": f"≤{target}" if p.target.is_cap else target,
                     "value": "—" if p.value is None else fmt_value(p.value, ind.kind, ind.unit),
                     "completion": "—" if p.completion is None or ind.kind == "ratio" else fmt_percent(p.completion),
                     "result": result})
    for row in rows:
        del row["_activity"]
    return {"caption": f"{config.campaign.name}目标任务完成情况汇总表",
            "columns": ["活动", "指标", "方案目标", "完成情况", "完成率", "结果"], "rows": rows,
            "note": f"注：数据截至{fmt_date_full(c.period.cutoff)}，为第{c.period.number}期汇总数据；"
                    f"共{fmt_count(len(rows))}项目标。"}


def render_summary(c: Consolidation, out_dir: Path, *, issue_date: Optional[dt.date] = None,
                   practices: Sequence[Any] = (), template_dir: Optional[Path] = None,
                   chart_fonts: Optional[Sequence[str]] = None) -> b.BriefingResult:
    """Write <summary title>.docx and .md and their charts into `out_dir` (each atomically),
    as `briefing.render_briefing` writes a briefing."""
    context = build_summary_context(c, issue_date=issue_date, practices=practices)
    return b.render_documents(c, context, Path(out_dir), safe_filename(c.config.campaign.summary_title, path=False),
                              template_dir=template_dir,
                              templates=(SUMMARY_DOCX_TEMPLATE, SUMMARY_MARKDOWN_TEMPLATE), keys=SUMMARY_KEYS,
                              category="活动总结", chart_fonts=chart_fonts)
