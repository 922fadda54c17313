"""Consolidation -> briefing context -> Word (docxtpl) and Markdown (Jinja2) briefings, with charts.

`build_context` turns a `Consolidation` into plain data whose strings are already worded
in official Chinese (see `wording`); the templates only place them. Both templates are
checked against the context before anything is written, so a misspelt placeholder is a
`RenderError` naming it, never a silent blank in a document the director signs::

    >>> result = render_briefing(consolidation, Path("out/简报"))
    >>> [p.name for p in result.paths]
    ['简报_第3期.docx', '简报_第3期.md', '图1_各项活动完成进度.png', '图2_排名.png', '图3_进展趋势.png']

docxtpl, Jinja2 and matplotlib are imported only when rendering, to keep them off other commands.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Sequence

from ..config import Config, Indicator, Target, Unit
from ..consolidate import Consolidation, Progress
from ..errors import RenderError
from . import charts as ch
from .charts import Painter
from .textfile import write_text_file
from ..wording import (
    cn_numeral, fmt_change, fmt_count, fmt_date_cn, fmt_date_full, fmt_deadline, fmt_number, fmt_percent,
    fmt_plan_value, fmt_points_between, fmt_value, money_unit, printed_figure, quantity_name,
)

__all__ = [
    "BriefingResult", "build_context", "check_templates", "render_briefing", "render_documents", "default_template_dir",
    "markdown_escape", "DOCX_TEMPLATE", "MARKDOWN_TEMPLATE", "CHART_FILES", "CONTEXT_KEYS",
]

DOCX_TEMPLATE = "briefing.docx"
MARKDOWN_TEMPLATE = "briefing.md.j2"
CHART_FILES = {"progress": "图1_各项活动完成进度.png", "ranking": "图2_排名.png", "trend": "图3_进展趋势.png"}
_REPORTED = ("accepted", "warned")
TYPE_AREA_WIDTH_MM = 156   # GB/T 9704 type area: charts are inserted at this width


@dataclass
class BriefingResult:
    """What `render_briefing` wrote, and what the user should know (Chinese notes)."""

    docx: Path
    markdown: Path
    charts: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chart_font: Optional[str] = None

    @property
    def paths(self) -> list[Path]:
        """Every file written: the .docx, the .md, then the chart PNGs."""
        return [self.docx, self.markdown, *self.charts]


# ---- the context ----------------------------------------------------------------------------

def build_context(c: Consolidation, *, issue_date: Optional[dt.date] = None) -> dict[str, Any]:
    """Everything the briefing templates show, as plain data with strings worded in Chinese.

    `issue_date` is the masthead date (成文日期); it defaults to the day the consolidation
    was made (`c.generated_at`), because a 简报 is dated when it is issued — the data date
    is stated separately in the text (截至9月18日). The campaign's last period reads as the
    campaign's result (活动期间累计…), not as a plan.

    Names the templates can use (all text unless noted):
      campaign.{name, theme, region, office}; period.{number, cutoff, cutoff_full, time_schedule};
      masthead.{title, issue, office, date}; title; overview;
      numbering.{overview, activities, cities, trend, news, problems, next_steps} ("一、" …, by the sections present);
      headings.{same keys}: each section's heading without its number;
      activities: list of {heading, text}; problems: list of {heading ('' when single), text};
      cities: {indicator, by_target (bool), columns, rows, total, caption, sentence} or None; a row is
        {name, value, share, rank}, or with city targets {name, target, value, completion, rank};
      trend: {text} or None (before the second period);
      news: 各地动态, list of {unit, text} (the items chosen in the master's 工作动态, each with its unit), or [];
      next_steps: list of {heading, text} (heading with its number and a full stop);
      tail: the 版记, {lines: list of {label, text} (报/送/发), office, date, copies};
      charts.{progress, ranking, trend}: chart file name, '' when not drawn; captions.{…}: 图1　… .
    """
    config = c.config
    cities = _cities(c)
    trend = _trend_text(c)
    news = _news(c)
    sections = ["overview", "activities"] + (["cities"] if cities else []) + (["trend"] if trend else []) \
        + (["news"] if news else []) + ["problems", "next_steps"]
    charts = {key: "" for key in CHART_FILES}
    issued = issue_date or c.generated_at.date()
    context = {
        "campaign": {"name": config.campaign.name, "theme": config.campaign.theme,
                     "region": config.campaign.region.short_name, "office": config.campaign.office},
        "period": {"number": str(c.period.number), "cutoff": fmt_date_cn(c.period.cutoff),
                   "cutoff_full": fmt_date_full(c.period.cutoff), "time_schedule": fmt_percent(c.time_schedule)},
        "masthead": {"title": config.campaign.briefing_title, "issue": f"第{c.period.number}期",
                     "office": f"{config.campaign.office}编", "date": fmt_date_full(issued)},
        "title": f"{config.campaign.name}{'开展情况' if _final(c) else '进展情况'}",
        "numbering": {key: f"{cn_numeral(i)}、" for i, key in enumerate(sections, start=1)},
        "headings": _headings(c),
        "overview": _overview(c),
        "activities": _activity_sections(c),
        "cities": cities,
        "trend": trend,
        "news": news,
        "problems": _problems(c),
        "next_steps": _next_steps(c),
        "tail": _tail(config, issued),
        "charts": charts,
        "captions": {},
    }
    return _clean(context)


def _clean(value: Any) -> Any:
    """Strip characters XML cannot hold and fold line breaks: data strings arrive from Excel cells."""
    if isinstance(value, str):
        value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", value)
        return re.sub(r"\s*[\r\n\t\u2028\u2029]+\s*", " ", value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _final(c: Consolidation) -> bool:
    """The campaign's last period (or one whose cut-off is the campaign's end): its result."""
    return c.period.final or c.period.cutoff >= c.config.campaign.end


def _headings(c: Consolidation) -> dict[str, str]:
    city = c.config.campaign.levels.city
    if _final(c):
        return {"overview": "总体情况", "activities": "各项活动开展情况", "cities": f"各{city}完成情况",
                "trend": "活动期间进展", "news": "各地动态", "problems": "存在的问题", "next_steps": "下一步工作"}
    return {"overview": "总体进展", "activities": "各项活动进展", "cities": f"各{city}进展",
            "trend": "进展趋势", "news": "各地动态", "problems": "存在的问题", "next_steps": "下一步工作"}


def _progress_by_indicator(c: Consolidation) -> dict[str, Progress]:
    found: dict[str, Progress] = {}
    for progress in c.progress:
        found.setdefault(progress.indicator.id, progress)
    return found


def _headline_targets(config: Config) -> list[Target]:
    """Per activity, its first region-wide target to reach on a count or an amount."""
    chosen: dict[str, Target] = {}
    for target in config.targets:
        indicator = config.indicator(target.indicator)
        if target.scope == "region" and not target.is_cap and indicator.kind in ("count", "money"):
            chosen.setdefault(indicator.activity, target)
    order = {a.id: i for i, a in enumerate(config.activities)}
    return sorted(chosen.values(), key=lambda t: order.get(config.indicator(t.indicator).activity, 99))


def _scope_name(config: Config, target: Optional[Target]) -> str:
    """'' for a region-wide target, else the county group's name (国定贫困县)."""
    if target is None or target.scope == "region":
        return ""
    return config.county_groups[target.scope].name


def _scope_prefix(config: Config, target: Optional[Target]) -> str:
    """'' for a region-wide target, else 33个国定贫困县."""
    name = _scope_name(config, target)
    return f"{len(config.group_members(target.scope))}个{name}" if name else ""


@dataclass
class _Figure:
    """One indicator's figure as the briefing words it: in the target's scope when it has a
    target, else region-wide; with the previous period's and whether anything behind it is new."""

    indicator: Indicator
    value: Optional[float]
    previous: Optional[float]
    progress: Optional[Progress]
    not_updated: bool


def _figure(c: Consolidation, indicator: Indicator, progress: Optional[Progress]) -> _Figure:
    if progress is not None:
        return _Figure(indicator, progress.value, progress.previous, progress, progress.not_updated)
    value = c.region.values.get(indicator.id)
    previous = c.region.previous.get(indicator.id) if c.previous_period else None
    return _Figure(indicator, value, previous, None, indicator.id in c.region.not_updated)


def _figure_clause(c: Consolidation, f: _Figure) -> str:
    """One clause: 运营专柜1,036个，完成目标任务的103.6%，较上期增加120个. A figure carried
    forward only (its units' returns missing or sent back) is 本期未更新, never 与上期持平; the
    last period's result has no 环比."""
    config, indicator = c.config, f.indicator
    target = f.progress.target if f.progress else None
    subject = _scope_prefix(config, target) + quantity_name(indicator.name, indicator.kind)
    if f.value is None:
        return f"{subject}暂无数据" if f.progress else ""
    money = money_unit(f.value)
    shown = fmt_value(f.value, indicator.kind, indicator.unit, money=money)
    parts = [f"{subject}为{shown}" if indicator.kind == "ratio" else f"{subject}{shown}"]
    if target is not None:
        parts.append(_target_phrase(indicator, f.value, target, f.progress))
    if f.not_updated and c.previous_period is not None:
        parts.append("本期未更新（沿用此前报送的数据）")
    elif not _final(c):
        parts.append(fmt_change(f.value, f.previous, indicator.kind, indicator.unit, money=money))
    return "，".join(p for p in parts if p)


def _target_phrase(indicator: Indicator, value: float, target: Target, progress: Progress) -> str:
    limit = fmt_plan_value(target.value, indicator.kind, indicator.unit)
    if target.is_cap:
        return f"{'超过' if value > target.value else '未超过'}{limit}上限"
    if indicator.kind == "ratio":
        if value >= target.value:
            return f"达到{limit}的目标要求"
        return f"距{limit}的目标要求还差{fmt_points_between(target.value, value)}"
    if progress.completion is None:
        return ""
    return f"完成目标任务的{fmt_percent(progress.completion)}"


def _reporting_counts(c: Consolidation, kind: str) -> tuple[int, int]:
    """(reported, asked) among county or member units this period."""
    if c.reporting:
        rows = [r for r in c.reporting if r.unit.kind == kind]
        return sum(r.state in _REPORTED for r in rows), len(rows)
    rows = c.counties if kind == "county" else c.members
    return sum(r.state == "reported" for r in rows), len(rows)


def _who_reported(c: Consolidation, what: str = "本期进展情况") -> str:
    """全区111个县（市、区）中已有110个报送本期进展情况，需报送数据的8个成员单位均已报送，…"""
    camp = c.config.campaign
    levels = camp.levels
    counties_in, counties_all = _reporting_counts(c, "county")
    members_in, members_all = _reporting_counts(c, "member")
    if counties_in == counties_all:
        text = f"{camp.region.short_name}{counties_all}个{levels.county}均已报送{what}"
    else:
        text = f"{camp.region.short_name}{counties_all}个{levels.county}中已有{counties_in}个报送{what}"
    if members_all:
        asked = f"需报送数据的{members_all}个{levels.member}"
        text += f"，{asked}均已报送" if members_in == members_all else f"，{asked}中已有{members_in}个报送"
    carried = sum(r.state == "carried" for r in c.counties + c.members)
    if carried:
        text += f"，{carried}个单位本期未报送或报表被退回，暂沿用此前报送的数据"
    return text


def _overview(c: Consolidation) -> str:
    """总体进展: cut-off, who reported, headline figures with completion and 环比, time schedule;
    for the last period the campaign's result."""
    config = c.config
    camp = config.campaign
    progress = _progress_by_indicator(c)
    clauses = []
    for target in _headline_targets(config):
        indicator = config.indicator(target.indicator)
        clause = _figure_clause(c, _figure(c, indicator, progress.get(indicator.id)))
        if clause:
            clauses.append(clause)
    figures = f"{camp.region.short_name}累计" + "；".join(clauses) + "。" if clauses else ""
    if _final(c):
        span = f"活动期间（{fmt_date_cn(camp.start)}至{fmt_date_cn(camp.end)}）"
        return f"{span}，{figures or '暂无汇总数据。'}{_who_reported(c, f'第{c.period.number}期进展情况')}。"
    return f"截至{fmt_date_cn(c.period.cutoff)}，{_who_reported(c)}。{figures}时间进度为{fmt_percent(c.time_schedule)}。"


def _activity_sections(c: Consolidation, empty: str = "本期暂无相关数据。") -> list[dict[str, str]]:
    """One section per activity, in config order: heading （一）… and its figures worded
    (`empty` where it has none)."""
    config = c.config
    progress = _progress_by_indicator(c)
    sections = []
    for number, activity in enumerate(config.activities, start=1):
        clauses: list[tuple[Indicator, str]] = []
        for indicator in config.indicators:
            if indicator.activity != activity.id or not indicator.numeric:
                continue
            clause = _figure_clause(c, _figure(c, indicator, progress.get(indicator.id)))
            if clause:
                clauses.append((indicator, clause))
        text = _cumulative_sentence(clauses) if clauses else empty
        sections.append({"heading": f"（{cn_numeral(number)}）{activity.name}", "text": text})
    return sections


def _cumulative_sentence(clauses: list[tuple[Indicator, str]]) -> str:
    """Clauses joined with ；, led by 累计 when the first is a cumulative amount (not a rate,
    not a name that says 累计 itself or begins with a group: 33个国定贫困县…)."""
    first, first_text = clauses[0]
    lead = first.kind in ("count", "money") and "累计" not in first.name and first_text.startswith(
        quantity_name(first.name, first.kind))
    return ("累计" if lead else "") + "；".join(text for _, text in clauses) + "。"


# ---- the cities ---------------------------------------------------------------------------------

def _cities(c: Consolidation) -> Optional[dict[str, Any]]:
    """The cities' table and the ranking sentence; None without a ranking. Ranked by completion
    of their own targets, the table shows each city's target and completion beside its figure."""
    config = c.config
    if not c.city_ranking or not config.ranking_indicator:
        return None
    indicator = config.indicator(config.ranking_indicator)
    city = config.campaign.levels.city
    ranked = sorted(c.city_ranking, key=lambda r: r.rank)        # stable: config order within a rank
    by_target = any(r.target is not None for r in ranked)
    unit = "" if indicator.kind == "ratio" else indicator.unit
    header = f"{indicator.name}（{unit}）" if unit else indicator.name
    total = {"name": f"{config.campaign.region.short_name}合计",
             "value": _table_number(c.region.values.get(indicator.id), indicator)}
    if by_target:
        targets = [r.target for r in ranked if r.target is not None]
        columns = [city, f"{city}目标（{unit}）" if unit else f"{city}目标", header, "完成率", "排名"]
        rows = [{"name": r.name, "target": _table_number(r.target, indicator),
                 "value": _table_number(r.value, indicator), "completion": _optional_percent(r.completion),
                 "rank": _rank_text(r)} for r in ranked]
        total |= {"target": _table_number(math.fsum(targets), indicator) if targets else "—", "completion": "",
                  "rank": ""}
    else:
        columns = [city, header, "占比", "排名"]
        rows = [{"name": r.name, "value": _table_number(r.value, indicator), "share": _optional_percent(r.share),
                 "rank": _rank_text(r)} for r in ranked]
        total |= {"share": "100.0%", "rank": ""}
    return {"indicator": indicator.name, "by_target": by_target, "columns": columns, "rows": rows, "total": total,
            "caption": f"表1　各{city}{indicator.name}{'目标任务完成情况' if by_target else ''}及排名",
            "sentence": _ranking_sentence(config, indicator, ranked, by_target)}


def _rank_text(r) -> str:
    return "—" if r.value is None or (r.target is not None and r.completion is None) else str(r.rank)


def _table_number(value: Optional[float], indicator: Indicator) -> str:
    """A figure in a table cell, without its unit (the column header carries it)."""
    if value is None:
        return "—"
    if indicator.kind == "ratio":
        return fmt_percent(value)
    return fmt_count(value) if indicator.kind == "count" else fmt_number(value, fixed=True)


def _optional_percent(value: Optional[float]) -> str:
    return "—" if value is None else fmt_percent(value)


def _ranking_sentence(config: Config, indicator: Indicator, ranked, by_target: bool) -> str:
    """从运营专柜数看，排名前三位的是南宁市（150个）、…；排名后三位的是…。 Tied cities say so
    (并列第三); with fewer than six cities all are named in order; those without a figure apart."""
    city = config.campaign.levels.city
    placed = [r for r in ranked if _rank_text(r) != "—"]
    without = [r.name for r in ranked if _rank_text(r) == "—"]
    money = money_unit(*(r.value for r in placed))
    shared = Counter(r.rank for r in placed)

    def item(r) -> str:
        shown = fmt_value(r.value, indicator.kind, indicator.unit, money=money)
        extra = f"，完成目标任务的{fmt_percent(r.completion)}" if by_target else ""
        tie = f"，并列第{cn_numeral(r.rank)}" if shared[r.rank] > 1 else ""
        return f"{r.name}（{shown}{extra}{tie}）"

    basis = f"从{indicator.name}{'目标任务完成情况' if by_target else ''}看"
    if not placed:
        text = ""
    elif len(placed) < 6:
        order = "按完成目标任务的比例" if by_target else ""
        text = f"{basis}，各{city}{order}由高到低依次为" + "、".join(item(r) for r in placed)
    else:
        top = [r for r in placed if r.rank <= 3]
        threshold = placed[-3].rank
        bottom = [r for r in placed if r.rank >= threshold and r not in top]
        text = f"{basis}，排名前三位的是" + "、".join(item(r) for r in top)
        if bottom:
            text += "；排名后三位的是" + "、".join(item(r) for r in bottom)
    if without:
        text += ("；" if text else "") + f"{'、'.join(without)}暂无数据"
    behind = [r.name for r in ranked if r.behind]
    if behind:
        text += f"；{'、'.join(behind)}的完成进度低于时间进度"
    return text + "。"


# ---- trend -----------------------------------------------------------------------------------------

def _trend_text(c: Consolidation) -> Optional[dict[str, str]]:
    """进展趋势: each headline figure period by period, each series in one unit; None before
    there are two periods."""
    series = _history(c)
    if len(series) < 2:
        return None
    config = c.config
    periods = sorted(series)
    clauses = []
    for target in _headline_targets(config):
        indicator = config.indicator(target.indicator)
        values = [series[p].get(indicator.id) for p in periods]
        if all(v is None for v in values):
            continue
        money = money_unit(*values)
        shown = "、".join("—" if v is None else fmt_value(v, indicator.kind, indicator.unit, money=money)
                         for v in values)
        clauses.append(f"{quantity_name(indicator.name, indicator.kind)}分别为{shown}")
    span = f"第{periods[0]}期至第{periods[-1]}期"
    text = f"{span}，" + "；".join(clauses) + "。" if clauses else f"{span}暂无可比数据。"
    return {"text": text}


def _history(c: Consolidation) -> dict[int, dict[str, Optional[float]]]:
    """Regional values by period up to this one (this period's from the consolidation itself)."""
    series = {p: v for p, v in c.history.items() if p < c.period.number}
    series[c.period.number] = c.region.values
    return series


# ---- 各地动态 -------------------------------------------------------------------------------------

_CLOSING = "。！？；…”）)"


def _news(c: Consolidation) -> list[dict[str, str]]:
    """各地动态: the chosen items (the office's edited text), in the 工作动态 sheet's order, each
    led by its unit's full name — as the subject of its first sentence when the text begins with
    the unit's name (“上林县探索…” → “南宁市上林县探索…”), else before a colon. A text's lines
    become one paragraph (a line without closing punctuation gets a full stop); everything
    stays text (the templates escape it)."""
    return [_attributed(row.unit, _one_paragraph(row.text)) for row in c.news if row.chosen]


def _attributed(unit: Unit, text: str) -> dict[str, str]:
    for name in (unit.full_name, unit.name):
        rest = text.removeprefix(name)
        if rest != text and rest and rest[0] not in "：:，,。":
            return {"unit": unit.full_name, "text": rest}
    return {"unit": f"{unit.full_name}：", "text": text}


def _one_paragraph(text: str) -> str:
    lines = [line.strip() for line in re.split(r"[\r\n\u2028\u2029]+", text) if line.strip()]
    return "".join(line if line.endswith(tuple(_CLOSING)) or n == len(lines) - 1 else line + "。"
                   for n, line in enumerate(lines))


# ---- problems -----------------------------------------------------------------------------------

def _problems(c: Consolidation) -> list[dict[str, str]]:
    """存在的问题: work behind schedule (or, at the end, targets not met), units that did not
    report in time, data problems (each a sub-section)."""
    found = [(heading, text) for heading, text in (
        ("部分目标任务未完成" if _final(c) else "部分工作进度滞后", _behind_text(c)),
        ("部分单位未按时报送", _missing_text(c)),
        ("部分报表数据存在问题", _validation_text(c)),
    ) if text]
    if not found:
        done = "活动期间各项目标任务均已完成" if _final(c) else "本期各项工作均按时间进度推进"
        return [{"heading": "", "text": f"{done}，各单位均已按时报送，未发现突出问题。"}]
    return [{"heading": f"（{cn_numeral(i)}）{heading}", "text": text} for i, (heading, text) in enumerate(found, 1)]


def _lagging(c: Consolidation) -> list[Progress]:
    """Targets to reach that are behind: below the time schedule, or at the end not reached."""
    if _final(c):
        return [p for p in c.progress if not p.target.is_cap and p.completion is not None and p.status != "met"]
    return [p for p in c.progress if p.status == "behind" and p.completion is not None]


def _behind_text(c: Consolidation) -> str:
    config = c.config
    items = []
    for p in c.progress:
        ind = p.indicator
        subject = _scope_prefix(config, p.target) + quantity_name(ind.name, ind.kind)
        if p in _lagging(c):
            items.append(_lag_clause(c, p, subject))
        elif p.status == "over-cap" and p.value is not None:
            items.append(f"{subject}为{fmt_value(p.value, ind.kind, ind.unit)}，"
                         f"超过{fmt_plan_value(p.target.value, ind.kind, ind.unit)}上限")
        elif p.status == "no-data":
            items.append(f"{subject}暂无数据")
    behind_cities = [r.name for r in c.city_ranking if r.behind]
    if behind_cities and config.ranking_indicator:
        ind = config.indicator(config.ranking_indicator)
        items.append(f"{'、'.join(behind_cities)}的{ind.name}完成进度低于时间进度")
    return ("；".join(items) + "。") if items else ""


def _lag_clause(c: Consolidation, p: Progress, subject: str) -> str:
    """低于时间进度6.6个百分点 (the printed figures' difference); at the end, what is still missing."""
    ind = p.indicator
    done = f"{subject}完成目标任务的{fmt_percent(p.completion)}"
    if not _final(c):
        return f"{done}，低于时间进度{fmt_points_between(c.time_schedule, p.completion)}"
    if ind.kind in ("count", "money"):
        money = money_unit(p.target.value)
        gap = printed_figure(p.target.value, ind.kind, ind.unit, money) - printed_figure(p.value, ind.kind, ind.unit, money)
        rest = fmt_count(float(gap), ind.unit) if ind.kind == "count" else fmt_number(float(gap), money, fixed=True)
        return f"{done}，距目标任务还差{rest}"
    return f"{done}，未完成目标任务"


def _unit_list(c: Consolidation, units: list[Unit]) -> tuple[str, str]:
    """('3个县（市、区）和1个成员单位', '南宁市（兴宁区、青秀区），河池市（凤山县）；自治区党委宣传部')."""
    levels = c.config.campaign.levels
    counties = [u for u in units if u.kind == "county"]
    members = [u for u in units if u.kind == "member"]
    by_city: dict[str, list[str]] = {}
    for unit in counties:
        by_city.setdefault(unit.city_name or "", []).append(unit.name)
    city_order = {name: i for i, name in enumerate(c.config.city_names.values())}
    groups = [f"{city}（{'、'.join(names)}）" for city, names in sorted(by_city.items(), key=lambda kv: city_order.get(kv[0], 99))]
    counted = []
    if counties:
        counted.append(f"{len(counties)}个{levels.county}")
    if members:
        counted.append(f"{len(members)}个{levels.member}")
    return "和".join(counted), "、".join(groups + [u.name for u in members])


def _missing_text(c: Consolidation) -> str:
    """Who had not reported at the deadline: those who came in late (named) and those still
    missing (named, with what stands in for their figures)."""
    late = [r.unit for r in c.reporting if r.late]
    missing = [r.unit for r in c.reporting if r.state == "missing"]
    if not late and not missing:
        return ""
    if c.generated_at <= c.period.deadline:
        counted, listed = _unit_list(c, missing)
        return (f"截至{fmt_deadline(c.generated_at)}，尚有{counted}未报送本期进展情况：{listed}。"
                + _stand_in(c, missing, "以上单位"))
    counted, _ = _unit_list(c, late + missing)
    text = f"截至报送截止时间（{fmt_deadline(c.period.deadline)}），尚有{counted}未报送本期进展情况"
    if late:
        late_counted, late_listed = _unit_list(c, late)
        text += (f"，均已在截止时间后补报：{late_listed}。" if not missing else
                 f"，其中{late_counted}在截止时间后补报：{late_listed}")
    if missing:
        still_counted, still_listed = _unit_list(c, missing)
        text += (f"；截至目前仍未报送的有{still_counted}：{still_listed}。" if late else f"：{still_listed}。")
    return text + _stand_in(c, missing, "仍未报送的单位" if late else "以上单位")


def _stand_in(c: Consolidation, units: list[Unit], these: str) -> str:
    """What the consolidation shows for units without a return: X暂沿用第2期数据，Y暂无数据。"""
    if not units:
        return ""
    rows = {r.unit.code: r for r in c.counties + c.members}
    carried: dict[int, list[str]] = {}
    empty = []
    for unit in units:
        row = rows.get(unit.code)
        if row is not None and row.state == "carried" and row.carried_from:
            carried.setdefault(row.carried_from, []).append(unit.full_name)
        else:
            empty.append(unit.full_name)
    if not carried:
        return f"{these if len(units) > 1 else empty[0]}暂无数据，未计入汇总。"
    parts = [f"{'、'.join(names)}暂沿用第{period}期数据" for period, names in sorted(carried.items())]
    if empty:
        parts.append(f"{'、'.join(empty)}暂无数据")
    return (f"{these}中，" if len(units) > 1 else "") + "，".join(parts) + "。"


def _validation_text(c: Consolidation) -> str:
    """Data problems found this period (the main kinds by name) and the returns sent back:
    which have since been redone and which are still awaited."""
    parts = []
    found = c.issues + c.issue_history
    if found:
        errors = sum(1 for i in found if i.blocking)
        text = f"本期校验发现数据问题{len(found)}处（错误{errors}处、警告{len(found) - errors}处）"
        kinds = Counter(i.label for i in found).most_common()
        main = [(label, n) for label, n in kinds if n >= _MAIN_KIND][:3]
        if main:
            text += "，主要是" + "、".join(f"{label}{n}处" for label, n in main) + ("等" if len(kinds) > len(main) else "")
        parts.append(text)
    returned = [r for r in c.reporting if r.rejections]
    waiting = [r for r in returned if r.state == "rejected"]
    if returned:
        text = f"{len(returned)}个单位的报表因存在错误被退回修改"
        if not waiting:
            text += "，均已修改后重新报送"
        elif len(waiting) == len(returned):
            text += f"，尚未重新报送：{_names_with_stand_in(c, waiting)}"
        else:
            text += f"，其中{len(returned) - len(waiting)}个已修改后重新报送，{len(waiting)}个尚未重新报送：" \
                    f"{_names_with_stand_in(c, waiting)}"
        parts.append(text)
    return ("；".join(parts) + "。") if parts else ""


_MAIN_KIND = 2   # a kind of problem named in the briefing once it occurs at least this often


def _names_with_stand_in(c: Consolidation, statuses) -> str:
    rows = {r.unit.code: r for r in c.counties + c.members}
    names = []
    for status in statuses:
        row = rows.get(status.unit.code)
        carried = f"（暂沿用第{row.carried_from}期数据）" if row and row.state == "carried" and row.carried_from else ""
        names.append(status.unit.full_name + carried)
    return "、".join(names)


# ---- next steps and the 版记 ---------------------------------------------------------------------

def _next_steps(c: Consolidation) -> list[dict[str, str]]:
    """下一步工作, following the data: what is behind, who has not reported, publicity; at the
    end of the campaign its summing-up."""
    return numbered_steps(_next_step_items(c))


def numbered_steps(steps: list[tuple[str, str]]) -> list[dict[str, str]]:
    """(heading, text) pairs as the template's {heading, text}: （一）heading。"""
    return [{"heading": f"（{cn_numeral(i)}）{heading}。", "text": text} for i, (heading, text) in enumerate(steps, 1)]


FINAL_SUMMING_UP = "认真做好活动总结"


def _next_step_items(c: Consolidation) -> list[tuple[str, str]]:
    levels = c.config.campaign.levels
    lagging = _some_of([quantity_name(p.indicator.name, p.indicator.kind) for p in _lagging(c)])
    unreported = any(r.late or r.state in ("missing", "rejected") for r in c.reporting)
    units = f"各{levels.county}和各{levels.member}"
    steps: list[tuple[str, str]] = []
    if _final(c):
        steps.append((FINAL_SUMMING_UP, f"{units}要全面总结活动开展情况和成效，梳理典型做法和经验，按要求报送活动总结材料。"))
        if lagging:
            steps.append(("抓好未完成任务的后续落实", f"对{lagging}未完成目标任务的工作，要认真分析原因，继续抓好落实。"))
        if unreported:
            steps.append(("及时补报有关数据", "未按时报送或报表被退回的单位要尽快补报、重报，确保活动数据完整准确。"))
        steps.append(("巩固拓展活动成果", "推动活动中形成的好经验好做法常态化、长效化，持续巩固拓展活动成果。"))
    else:
        if lagging:
            steps.append(("加快推进进度滞后的工作", f"{lagging}工作进度低于时间进度，各地各有关单位要对照活动方案确定的目标任务"
                                             "和时间进度，查找差距，倒排工期，确保按时保质完成各项目标任务。"))
        else:
            steps.append(("保持工作力度", "各项工作均达到时间进度要求，各地各有关单位要保持工作力度，确保活动期间各项目标任务全面完成。"))
        if unreported:
            steps.append(("及时准确报送进展情况", f"未按时报送或报表被退回的单位要尽快补报、重报；{units}要严格按照报送期次"
                                           "和时间要求报送数据，认真核对，确保数据真实准确。"))
        else:
            steps.append(("继续做好进展情况报送", f"{units}要继续按照报送期次和时间要求报送数据，认真核对，确保数据真实准确。"))
        steps.append(("加强宣传引导", "充分利用各类媒体平台，广泛宣传活动成效和典型经验，营造全社会参与的良好氛围。"))
    return steps


def _some_of(names: list[str], most: int = 3) -> str:
    """运营专柜等 / 运营专柜、专区等 / 运营专柜、专馆、专区等10项: the first few, and how many in all."""
    if not names:
        return ""
    shown = "、".join(names[:most])
    return f"{shown}等{len(names)}项" if len(names) > most else f"{shown}等"


def _tail(config: Config, issued: dt.date) -> dict[str, Any]:
    """版记: the 报/送/发 lines from config, the compiling office and the date it was issued, the print run."""
    tail = config.campaign.distribution
    lines = [{"label": label, "text": "，".join(names) + "。"}
             for label, names in (("报", tail.report_to), ("送", tail.send_to), ("发", tail.issue_to)) if names]
    return {"lines": lines, "office": config.campaign.office, "date": f"{fmt_date_full(issued)}印发",
            "copies": f"（共印{tail.copies}份）" if tail.copies else ""}


# ---- templates --------------------------------------------------------------------------------

def default_template_dir() -> Path:
    """The templates shipped inside the package (`xf_excel/outputs/templates/`)."""
    return Path(str(resources.files(__package__) / "templates"))


def markdown_escape(value: Any) -> str:
    """Any value as inert Markdown text: no line breaks, no table cells, no HTML, no emphasis,
    links, headings or list items forged from data (a unit name like `a|b`, `<img>`, `*x*`)."""
    text = re.sub(r"\s*[\r\n\u2028\u2029]+\s*", " ", "" if value is None else str(value))
    text = re.sub(r"([\\`*_\[\]<>|~#!&])", r"\\\1", text)
    text = re.sub(r"^(\s*)([+\-=])", r"\1\\\2", text)          # list item, setext underline
    return re.sub(r"^(\s*\d+)([.)])(?=\s|$)", r"\1\\\2", text)  # ordered list item


def _jinja_env(*, markdown: bool):
    import jinja2

    if markdown:
        return jinja2.Environment(undefined=jinja2.StrictUndefined, finalize=markdown_escape,
                                  keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True)


# Top-level names the templates may use (see build_context); listed in RenderError messages.
CONTEXT_KEYS = ("campaign", "period", "masthead", "title", "numbering", "headings", "overview", "activities",
                "cities", "trend", "news", "problems", "next_steps", "tail", "charts", "captions")


def _missing_names(names: set[str], template: Path, keys: Sequence[str]) -> None:
    if names:
        listed = "、".join(sorted(names))
        raise RenderError(f"简报模板 {template} 中的占位符在数据中不存在：{listed}；"
                          f"请检查模板中这些名称的拼写（可用的名称：{'、'.join(keys)}）")


def check_templates(context: dict[str, Any], template_dir: Path,
                    templates: tuple[str, str] = (DOCX_TEMPLATE, MARKDOWN_TEMPLATE),
                    keys: Sequence[str] = CONTEXT_KEYS) -> None:
    """Raise RenderError naming every placeholder of either template (Word, Markdown) that the
    context lacks; `keys` are the names the context offers, listed in the message."""
    import jinja2
    from docx.opc.exceptions import OpcError
    from jinja2 import meta

    docx_path, md_path = template_dir / templates[0], template_dir / templates[1]
    for path in (docx_path, md_path):
        if not path.is_file():
            raise RenderError(f"找不到简报模板 {path}；请检查模板目录或重新生成模板")
    try:
        from docxtpl import DocxTemplate

        undeclared = DocxTemplate(str(docx_path)).get_undeclared_template_variables(
            jinja_env=_jinja_env(markdown=False), context=context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"简报模板 {docx_path} 有语法错误：{exc.message}（请检查 {{{{ }}}} 与 {{% %}} 是否成对）") from None
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:  # not a .docx, or a damaged one
        raise RenderError(f"简报模板 {docx_path} 无法打开（{type(exc).__name__}）：文件已损坏或不是 Word 文档；"
                          "请从备份恢复，或运行 src/xf_excel/outputs/templates/build_briefing_template.py 重新生成") from None
    _missing_names(set(undeclared), docx_path, keys)
    try:
        parsed = _jinja_env(markdown=True).parse(md_path.read_text(encoding="utf-8"))
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"简报模板 {md_path} 第{exc.lineno}行有语法错误：{exc.message}") from None
    _missing_names(meta.find_undeclared_variables(parsed) - set(context), md_path, keys)


def _undefined_error(template: Path, exc: Exception) -> RenderError:
    """A misspelt attribute (masthead.titel) only shows while rendering: name it."""
    return RenderError(f"简报模板 {template} 引用了数据中不存在的内容（{exc}）；请检查模板中的占位符拼写")


# ---- rendering --------------------------------------------------------------------------------

def render_briefing(c: Consolidation, out_dir: Path, *, template_dir: Optional[Path] = None,
                    issue_date: Optional[dt.date] = None,
                    chart_fonts: Optional[Sequence[str]] = None, painter: Optional[Painter] = None) -> BriefingResult:
    """Write 简报_第N期.docx, 简报_第N期.md and the chart PNGs into `out_dir` (each atomically).

    `template_dir` holds briefing.docx and briefing.md.j2 (default: the templates inside the package);
    `issue_date` is the masthead date (default: the consolidation's date); `chart_fonts` the
    CJK fonts to try for the charts, most preferred first (default: `charts.CJK_FONT_PREFERENCES`);
    `painter` draws them (default: in this process; `charts.ChartPainter`: in a helper).
    Raises RenderError when a template does not fit the context (no document is written then).
    Notes in the result say which font the charts use, or why there are none.
    """
    context = build_context(c, issue_date=issue_date)
    return render_documents(c, context, Path(out_dir), f"简报_第{c.period.number}期", template_dir=template_dir,
                            chart_fonts=chart_fonts, painter=painter)


def render_documents(c: Consolidation, context: dict[str, Any], out_dir: Path, stem: str, *,
                     template_dir: Optional[Path] = None,
                     templates: tuple[str, str] = (DOCX_TEMPLATE, MARKDOWN_TEMPLATE),
                     keys: Sequence[str] = CONTEXT_KEYS, charts: Sequence[str] = ("progress", "ranking", "trend"),
                     category: str = "工作简报", chart_fonts: Optional[Sequence[str]] = None,
                     painter: Optional[Painter] = None) -> BriefingResult:
    """The one way a document of the briefing's kind is written: the templates checked against
    `context`, the `charts` drawn (in that order, numbered 图1…), `stem`.docx and `stem`.md
    rendered in a scratch folder, then each file moved into `out_dir`."""
    template_dir = Path(template_dir) if template_dir else default_template_dir()
    check_templates(context, template_dir, templates, keys)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Everything is made in a scratch folder first, so that a template failing half-way
    # leaves the previous briefing in out_dir untouched; then each file is moved into place.
    _remove_stale_scratch(out_dir)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=_SCRATCH_PREFIX) as scratch:
        scratch = Path(scratch)
        drawn, font, notes = _render_charts(c, context, scratch, chart_fonts, charts, painter)
        docx = _render_docx(context, template_dir / templates[0], scratch / f"{stem}.docx", scratch,
                            c.generated_at, category)
        markdown = _render_markdown(context, template_dir / templates[1], scratch / f"{stem}.md")
        placed = [_place(path, out_dir) for path in (docx, markdown, *drawn)]
    return BriefingResult(docx=placed[0], markdown=placed[1], charts=placed[2:], notes=notes, chart_font=font)


_SCRATCH_PREFIX = ".briefing-"
_STALE_AFTER_S = 600


def _remove_stale_scratch(out_dir: Path) -> None:
    """A run killed mid-render leaves its scratch folder behind (half-written files in a
    hidden folder, never in place of the briefing). Clear those the next time round; a
    scratch folder younger than ten minutes may belong to a render still going on."""
    now = time.time()
    for scratch in out_dir.glob(_SCRATCH_PREFIX + "*"):
        if scratch.is_dir() and now - scratch.stat().st_mtime > _STALE_AFTER_S:
            shutil.rmtree(scratch, ignore_errors=True)


def _place(path: Path, out_dir: Path) -> Path:
    """Move a finished file into out_dir in one step (os.replace: never half a file)."""
    target = out_dir / path.name
    try:
        os.replace(path, target)
    except PermissionError:  # Windows: the file is open in Word or an image viewer
        raise RenderError(f"无法写入 {target}：文件可能正在 Word 或其他程序中打开；请关闭后重新生成") from None
    return target


def _render_charts(c: Consolidation, context: dict[str, Any], out_dir: Path, preferences: Optional[Sequence[str]],
                   order: Sequence[str] = ("progress", "ranking", "trend"), painter: Optional[Painter] = None):
    paint = painter or ch.draw_here
    preferences = tuple(preferences) if preferences is not None else ch.CJK_FONT_PREFERENCES
    font = paint("find_cjk_font", preferences)
    if font is None:
        note = ("本机没有可用的中文字体（" + "、".join(preferences[:4]) + "），为避免图中汉字显示为方框，本次未生成图表；"
                f"xf-excel 自带图表字体（{ch.bundled_font_path().name}），出现本提示说明该文件缺失或损坏，"
                "请重新安装 xf-excel 后重新生成简报")
        return [], None, [note]
    notes = []
    if font != preferences[0]:
        notes.append(f"图表使用本机字体“{font}”（首选的 {preferences[0]} 未安装）；"
                     "文档正文仍按公文字体排版，在装有这些字体的电脑上显示正常")
    data = _chart_data(c)
    written = []
    figure = 0
    for key in order:
        if data.get(key) is None:
            continue
        path = out_dir / CHART_FILES[key]
        paint(f"chart_{key}", path, **data[key], font=font)
        figure += 1
        context["charts"][key] = path.name
        context["captions"][key] = f"图{figure}　{_chart_title(c, key)}"
        written.append(path)
    return written, font, notes


def _chart_title(c: Consolidation, key: str) -> str:
    return {"progress": "各项目标任务完成情况" if _final(c) else "各项活动完成进度", "ranking": f"各{c.config.campaign.levels.city}排名",
            "trend": "进展趋势"}[key]


def _chart_data(c: Consolidation) -> dict[str, Optional[dict[str, Any]]]:
    """The numbers behind each chart (None where a chart has nothing to show)."""
    config = c.config
    bars = [p for p in c.progress if p.completion is not None]
    progress = {"labels": [_scope_name(config, p.target) + quantity_name(p.indicator.name, p.indicator.kind)
                           for p in bars],
                "completions": [p.completion for p in bars], "time_schedule": c.time_schedule,
                "final": _final(c)} if bars else None
    ranking = None
    if c.city_ranking and config.ranking_indicator:
        ind = config.indicator(config.ranking_indicator)
        ranked = sorted(c.city_ranking, key=lambda r: r.rank)
        unit = "" if ind.kind == "ratio" else ind.unit
        ranking = {"names": [r.name for r in ranked], "values": [r.value or 0 for r in ranked],
                   "value_labels": [_table_number(r.value, ind) for r in ranked],
                   "axis_label": f"{ind.name}（{unit}）" if unit else ind.name}
    return {"progress": progress, "ranking": ranking, "trend": _trend_data(c)}


def _trend_data(c: Consolidation) -> Optional[dict[str, Any]]:
    series = _history(c)
    if len(series) < 2:
        return None
    config = c.config
    periods = sorted(series)
    known = {p.number: p for p in config.periods}
    lines = {}
    for target in _headline_targets(config):
        ind = config.indicator(target.indicator)
        points = [None if series[p].get(ind.id) is None or not target.value else series[p][ind.id] / target.value
                  for p in periods]
        if any(v is not None for v in points):
            lines[quantity_name(ind.name, ind.kind)] = points
    schedule = [config.campaign.time_schedule(known[p].cutoff) if p in known else None for p in periods]
    return {"period_labels": [f"第{p}期" for p in periods], "series": lines,
            "schedule": [s if s is not None else 0 for s in schedule]}


def _render_docx(context: dict[str, Any], template: Path, out: Path, chart_dir: Path, made_at: dt.datetime,
                 category: str = "工作简报") -> Path:
    import jinja2
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage

    tpl = DocxTemplate(str(template))
    charts = {key: (InlineImage(tpl, str(chart_dir / name), width=Mm(TYPE_AREA_WIDTH_MM)) if name else "")
              for key, name in context["charts"].items()}
    try:
        tpl.render({**context, "charts": charts}, jinja_env=_jinja_env(markdown=False), autoescape=True)
    except jinja2.UndefinedError as exc:
        raise _undefined_error(template, exc) from None
    _set_properties(tpl.docx.core_properties, context, made_at, category)
    tpl.save(str(out))
    return out


def _set_properties(core, context: dict[str, Any], made_at: dt.datetime, category: str = "工作简报") -> None:
    """The document's own properties (文件 → 信息), not the template's: its title and issue, the
    office as author, the time it was made (UTC, as the format requires; naive times are local)."""
    masthead = context["masthead"]
    core.title = context.get("document_title") or f"{masthead['title']}{masthead['issue']}"
    core.subject = context["title"]
    core.author = core.last_modified_by = context["campaign"]["office"]
    core.category, core.comments, core.keywords, core.language = category, "", "", "zh-CN"
    core.created = core.modified = made_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    core.revision = 1


def _render_markdown(context: dict[str, Any], template: Path, out: Path) -> Path:
    import jinja2

    env = _jinja_env(markdown=True)
    try:
        text = env.from_string(template.read_text(encoding="utf-8")).render(context)
    except jinja2.UndefinedError as exc:
        raise _undefined_error(template, exc) from None
    return write_text_file(out, text)
