"""Consolidation -> briefing context -> Word (docxtpl) and Markdown (Jinja2) briefings, with charts.

`build_context` turns a `Consolidation` into plain data whose strings are already worded
in official Chinese (see `wording`); the templates only place them. Both templates are
checked against the context before anything is written, so a misspelt placeholder is a
`RenderError` naming it, never a silent blank in a document the director signs::

    >>> result = render_briefing(consolidation, Path("out/简报"))
    >>> [p.name for p in result.paths]
    ['简报_第3期.docx', '简报_第3期.md', '图1_各项活动完成进度.png', '图2_各市排名.png', '图3_进展趋势.png']

docxtpl, Jinja2 and matplotlib are imported only when rendering, to keep them off other commands.
"""

from __future__ import annotations

import datetime as dt
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

from ..config import Config, Indicator, Target
from ..consolidate import Consolidation, Progress
from ..errors import RenderError
from ..issues import issue_label
from .textfile import write_text_file
from ..wording import (
    cn_numeral, fmt_change, fmt_count, fmt_date_cn, fmt_date_full, fmt_number, fmt_percent, fmt_points,
    fmt_value, quantity_name,
)

__all__ = [
    "BriefingResult", "build_context", "check_templates", "render_briefing", "default_template_dir",
    "markdown_escape", "DOCX_TEMPLATE", "MARKDOWN_TEMPLATE", "CHART_FILES", "CONTEXT_KEYS",
]

DOCX_TEMPLATE = "briefing.docx"
MARKDOWN_TEMPLATE = "briefing.md.j2"
CHART_FILES = {"progress": "图1_各项活动完成进度.png", "ranking": "图2_各市排名.png", "trend": "图3_进展趋势.png"}
_CHART_TITLES = {"progress": "各项活动完成进度", "ranking": "各市排名", "trend": "进展趋势"}
_REPORTED = ("accepted", "warned")
_COUNTY_WORD = "县（市、区）"
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
    is stated separately in the text (截至9月18日).

    Names the templates can use (all text unless noted):
      campaign.{name, theme, region, office}; period.{number, cutoff, cutoff_full, time_schedule};
      masthead.{title, issue, office, date}; title; overview;
      numbering.{overview, activities, cities, trend, problems, next_steps} ("一、" …, by the sections present);
      activities: list of {heading, text}; problems: list of {heading ('' when single), text};
      cities: {indicator, columns (4), rows: list of {name, value, share, rank}, total, caption, sentence} or None;
      trend: {text} or None (before the second period);
      charts.{progress, ranking, trend}: chart file name, '' when not drawn; captions.{…}: 图1　… .
    """
    config = c.config
    cities = _cities(c)
    trend = _trend_text(c)
    sections = ["overview", "activities"] + (["cities"] if cities else []) + (["trend"] if trend else []) \
        + ["problems", "next_steps"]
    charts = {key: "" for key in CHART_FILES}
    context = {
        "campaign": {"name": config.campaign.name, "theme": config.campaign.theme,
                     "region": config.campaign.region.short_name, "office": config.campaign.office},
        "period": {"number": str(c.period.number), "cutoff": fmt_date_cn(c.period.cutoff),
                   "cutoff_full": fmt_date_full(c.period.cutoff), "time_schedule": fmt_percent(c.time_schedule)},
        "masthead": {"title": config.campaign.briefing_title, "issue": f"第{c.period.number}期",
                     "office": f"{config.campaign.office}编",
                     "date": fmt_date_full(issue_date or c.generated_at.date())},
        "title": f"{config.campaign.name}进展情况",
        "numbering": {key: f"{cn_numeral(i)}、" for i, key in enumerate(sections, start=1)},
        "overview": _overview(c),
        "activities": _activity_sections(c),
        "cities": cities,
        "trend": trend,
        "problems": _problems(c),
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


def _figure_clause(config: Config, indicator: Indicator, value: Optional[float], increase: Optional[float],
                   progress: Optional[Progress]) -> str:
    """One clause: 运营专柜1,036个，完成目标任务的103.6%，较上期增加120个."""
    target = progress.target if progress else None
    subject = _scope_prefix(config, target) + quantity_name(indicator.name, indicator.kind)
    if value is None:
        return f"{subject}暂无数据" if progress else ""
    shown = fmt_value(value, indicator.kind, indicator.unit)
    parts = [f"{subject}为{shown}" if indicator.kind == "ratio" else f"{subject}{shown}"]
    if target is not None:
        parts.append(_target_phrase(indicator, value, target, progress))
    change = fmt_change(increase, indicator.kind, indicator.unit)
    if change:
        parts.append(change)
    return "，".join(p for p in parts if p)


def _target_phrase(indicator: Indicator, value: float, target: Target, progress: Progress) -> str:
    limit = fmt_value(target.value, indicator.kind, indicator.unit)
    if target.is_cap:
        return f"{'超过' if value > target.value else '未超过'}{limit}上限"
    if indicator.kind == "ratio":
        if value >= target.value:
            return f"达到{limit}的目标要求"
        return f"距{limit}的目标要求还差{fmt_points(target.value - value)}"
    if progress.completion is None:
        return ""
    return f"完成目标任务的{fmt_percent(progress.completion)}"


def _indicator_figures(c: Consolidation, indicator: Indicator, progress: Optional[Progress]):
    """(value, increase) in the target's scope when there is a target, else region-wide."""
    if progress is not None:
        return progress.value, progress.increase
    value = c.region.values.get(indicator.id)
    previous = c.region.previous.get(indicator.id) if c.previous_period else None
    return value, (value - previous if value is not None and previous is not None else None)


def _reporting_counts(c: Consolidation, kind: str) -> tuple[int, int]:
    """(reported, total) among county or member units this period."""
    if c.reporting:
        rows = [r for r in c.reporting if r.unit.kind == kind]
        return sum(r.state in _REPORTED for r in rows), len(rows)
    rows = c.counties if kind == "county" else c.members
    return sum(r.state == "reported" for r in rows), len(rows)


def _overview(c: Consolidation) -> str:
    """总体进展: cut-off, who reported, headline figures with completion and 环比, time schedule."""
    config = c.config
    region = config.campaign.region.short_name
    counties_in, counties_all = _reporting_counts(c, "county")
    members_in, members_all = _reporting_counts(c, "member")
    reported = f"{region}{counties_all}个{_COUNTY_WORD}中已有{counties_in}个报送本期进展情况"
    if members_all:
        reported += f"，{members_all}个成员单位中已有{members_in}个报送"
    carried = sum(r.state == "carried" for r in c.counties + c.members)
    if carried:
        reported += f"，{carried}个单位本期沿用上期数据"
    progress = _progress_by_indicator(c)
    clauses = []
    for target in _headline_targets(config):
        indicator = config.indicator(target.indicator)
        p = progress.get(indicator.id)
        value, increase = _indicator_figures(c, indicator, p)
        clause = _figure_clause(config, indicator, value, increase, p)
        if clause:
            clauses.append(clause)
    text = f"截至{fmt_date_cn(c.period.cutoff)}，{reported}。"
    if clauses:
        text += f"{region}累计" + "；".join(clauses) + "。"
    return text + f"时间进度为{fmt_percent(c.time_schedule)}。"


def _activity_sections(c: Consolidation) -> list[dict[str, str]]:
    """One section per activity, in config order: heading （一）… and its figures worded."""
    config = c.config
    progress = _progress_by_indicator(c)
    sections = []
    for number, activity in enumerate(config.activities, start=1):
        clauses: list[tuple[Indicator, str]] = []
        for indicator in config.indicators:
            if indicator.activity != activity.id or not indicator.numeric:
                continue
            p = progress.get(indicator.id)
            value, increase = _indicator_figures(c, indicator, p)
            clause = _figure_clause(config, indicator, value, increase, p)
            if clause:
                clauses.append((indicator, clause))
        text = _cumulative_sentence(clauses) if clauses else "本期暂无相关数据。"
        sections.append({"heading": f"（{cn_numeral(number)}）{activity.name}", "text": text})
    return sections


def _cumulative_sentence(clauses: list[tuple[Indicator, str]]) -> str:
    """Clauses joined with ；, led by 累计 when the first is a cumulative amount (not a rate,
    not a name that says 累计 itself or begins with a group: 33个国定贫困县…)."""
    first, first_text = clauses[0]
    lead = first.kind in ("count", "money") and "累计" not in first.name and first_text.startswith(
        quantity_name(first.name, first.kind))
    return ("累计" if lead else "") + "；".join(text for _, text in clauses) + "。"


def _cities(c: Consolidation) -> Optional[dict[str, Any]]:
    """The cities' table (name, value, share, rank) and the ranking sentence; None without a ranking."""
    config = c.config
    if not c.city_ranking or not config.ranking_indicator:
        return None
    indicator = config.indicator(config.ranking_indicator)
    ranked = sorted(c.city_ranking, key=lambda r: (r.rank, r.code))
    unit = "" if indicator.kind == "ratio" else indicator.unit
    rows = [{"name": r.name, "value": _table_number(r.value, indicator), "share": _optional_percent(r.share),
             "rank": str(r.rank)} for r in ranked]
    total = {"name": f"{config.campaign.region.short_name}合计",
             "value": _table_number(c.region.values.get(indicator.id), indicator), "share": "100.0%", "rank": ""}
    header = f"{indicator.name}（{unit}）" if unit else indicator.name
    return {"indicator": indicator.name, "columns": ["市", header, "占比", "排名"], "rows": rows, "total": total,
            "caption": f"表1　各市{indicator.name}及排名", "sentence": _ranking_sentence(config, indicator, ranked)}


def _table_number(value: Optional[float], indicator: Indicator) -> str:
    if value is None:
        return "—"
    if indicator.kind == "ratio":
        return fmt_percent(value)
    return fmt_count(value) if indicator.kind == "count" else fmt_number(value)


def _optional_percent(value: Optional[float]) -> str:
    return "—" if value is None else fmt_percent(value)


def _ranking_sentence(config: Config, indicator: Indicator, ranked) -> str:
    """从运营专柜数看，排名前三位的是南宁市（150个）、…；排名靠后的是…。"""
    def item(r) -> str:
        shown = "暂无数据" if r.value is None else fmt_value(r.value, indicator.kind, indicator.unit)
        extra = f"，完成目标任务的{fmt_percent(r.completion)}" if r.completion is not None else ""
        return f"{r.name}（{shown}{extra}）"

    # only cities with a figure are ranked in words; those without are named apart
    with_data = [r for r in ranked if r.value is not None]
    without = [r.name for r in ranked if r.value is None]
    size = 3 if len(with_data) >= 6 else max(1, len(with_data) // 2)
    top, bottom = with_data[:size], with_data[-size:] if len(with_data) > size else []
    text = f"从{indicator.name}看，排名前{cn_numeral(len(top))}位的是" + "、".join(item(r) for r in top) if top else ""
    if bottom:
        text += "；排名后" + cn_numeral(len(bottom)) + "位的是" + "、".join(item(r) for r in bottom)
    if without:
        text += ("；" if text else "") + f"{'、'.join(without)}暂无数据"
    behind = [r.name for r in ranked if r.behind]
    if behind:
        text += f"；{'、'.join(behind)}的完成进度低于时间进度"
    return text + "。"


def _trend_text(c: Consolidation) -> Optional[dict[str, str]]:
    """进展趋势: each headline figure period by period; None before there are two periods."""
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
        shown = "、".join("—" if v is None else fmt_value(v, indicator.kind, indicator.unit) for v in values)
        clauses.append(f"{quantity_name(indicator.name, indicator.kind)}分别为{shown}")
    span = f"第{periods[0]}期至第{periods[-1]}期"
    text = f"{span}，" + "；".join(clauses) + "。" if clauses else f"{span}暂无可比数据。"
    return {"text": text}


def _history(c: Consolidation) -> dict[int, dict[str, Optional[float]]]:
    """Regional values by period up to this one (this period's from the consolidation itself)."""
    series = {p: v for p, v in c.history.items() if p < c.period.number}
    series[c.period.number] = c.region.values
    return series


def _problems(c: Consolidation) -> list[dict[str, str]]:
    """存在的问题: work behind schedule, units not reported, data problems (each a sub-section)."""
    found = [(heading, text) for heading, text in (
        ("部分工作进度滞后", _behind_text(c)),
        ("部分单位未按时报送", _missing_text(c)),
        ("部分报表数据存在问题", _validation_text(c)),
    ) if text]
    if not found:
        return [{"heading": "", "text": "本期各项工作均按时间进度推进，各单位均已按时报送，未发现突出问题。"}]
    return [{"heading": f"（{cn_numeral(i)}）{heading}", "text": text} for i, (heading, text) in enumerate(found, 1)]


def _behind_text(c: Consolidation) -> str:
    config = c.config
    items = []
    for p in c.progress:
        ind = p.indicator
        subject = _scope_prefix(config, p.target) + quantity_name(ind.name, ind.kind)
        if p.status == "behind" and p.completion is not None:
            items.append(f"{subject}完成目标任务的{fmt_percent(p.completion)}，"
                         f"低于时间进度{fmt_points(c.time_schedule - p.completion)}")
        elif p.status == "over-cap" and p.value is not None:
            items.append(f"{subject}为{fmt_value(p.value, ind.kind, ind.unit)}，"
                         f"超过{fmt_value(p.target.value, ind.kind, ind.unit)}上限")
        elif p.status == "no-data":
            items.append(f"{subject}暂无数据")
    behind_cities = [r.name for r in c.city_ranking if r.behind]
    if behind_cities and config.ranking_indicator:
        ind = config.indicator(config.ranking_indicator)
        items.append(f"{'、'.join(behind_cities)}的{ind.name}完成进度低于时间进度")
    return ("；".join(items) + "。") if items else ""


def _missing_text(c: Consolidation) -> str:
    """Units with nothing this period, counties grouped by city: 南宁市（兴宁区、青秀区）."""
    missing = [r.unit for r in c.reporting if r.state == "missing"]
    if not missing:
        return ""
    counties = [u for u in missing if u.kind == "county"]
    members = [u for u in missing if u.kind == "member"]
    by_city: dict[str, list[str]] = {}
    for unit in counties:
        by_city.setdefault(unit.city_name or "", []).append(unit.name)
    city_order = {name: i for i, name in enumerate(c.config.city_names.values())}
    groups = [f"{city}（{'、'.join(names)}）" for city, names in sorted(by_city.items(), key=lambda kv: city_order.get(kv[0], 99))]
    counted = []
    if counties:
        counted.append(f"{len(counties)}个{_COUNTY_WORD}")
    if members:
        counted.append(f"{len(members)}个成员单位")
    listed = "；".join(filter(None, ["，".join(groups), "、".join(u.name for u in members)]))
    text = f"截至报送截止时间，尚有{'和'.join(counted)}未报送本期进展情况：{listed}。"
    if c.config.campaign.missing_returns == "carry":
        text += "以上单位本期暂沿用上期数据。"
    return text


def _validation_text(c: Consolidation) -> str:
    """Counts of data problems by kind, and the returns sent back (退回修改)."""
    parts = []
    if c.issues:
        errors = sum(1 for i in c.issues if i.blocking)
        kinds = Counter(i.code for i in c.issues)
        top = "、".join(f"{issue_label(code)}{n}处" for code, n in
                        sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0].value))[:6])
        parts.append(f"本期校验发现数据问题{len(c.issues)}处（错误{errors}处、警告{len(c.issues) - errors}处），"
                     f"主要是{top}")
    rejected = [r.unit.full_name for r in c.reporting if r.state == "rejected"]
    if rejected:
        parts.append(f"{len(rejected)}个单位的报表因存在错误已退回修改：{'、'.join(rejected)}")
    return ("；".join(parts) + "。") if parts else ""


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
CONTEXT_KEYS = ("campaign", "period", "masthead", "title", "numbering", "overview", "activities", "cities",
                "trend", "problems", "charts", "captions")


def _missing_names(names: set[str], template: Path) -> None:
    if names:
        listed = "、".join(sorted(names))
        raise RenderError(f"简报模板 {template} 中的占位符在数据中不存在：{listed}；"
                          f"请检查模板中这些名称的拼写（可用的名称：{'、'.join(CONTEXT_KEYS)}）")


def check_templates(context: dict[str, Any], template_dir: Path) -> None:
    """Raise RenderError naming every placeholder of either template that the context lacks."""
    import jinja2
    from docx.opc.exceptions import OpcError
    from jinja2 import meta

    docx_path, md_path = template_dir / DOCX_TEMPLATE, template_dir / MARKDOWN_TEMPLATE
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
    _missing_names(set(undeclared), docx_path)
    try:
        parsed = _jinja_env(markdown=True).parse(md_path.read_text(encoding="utf-8"))
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"简报模板 {md_path} 第{exc.lineno}行有语法错误：{exc.message}") from None
    _missing_names(meta.find_undeclared_variables(parsed) - set(context), md_path)


def _undefined_error(template: Path, exc: Exception) -> RenderError:
    """A misspelt attribute (masthead.titel) only shows while rendering: name it."""
    return RenderError(f"简报模板 {template} 引用了数据中不存在的内容（{exc}）；请检查模板中的占位符拼写")


# ---- rendering --------------------------------------------------------------------------------

def render_briefing(c: Consolidation, out_dir: Path, *, template_dir: Optional[Path] = None,
                    issue_date: Optional[dt.date] = None,
                    chart_fonts: Optional[Sequence[str]] = None) -> BriefingResult:
    """Write 简报_第N期.docx, 简报_第N期.md and the chart PNGs into `out_dir` (each atomically).

    `template_dir` holds briefing.docx and briefing.md.j2 (default: the templates inside the package);
    `issue_date` is the masthead date (default: the consolidation's date); `chart_fonts` the
    CJK fonts to try for the charts, most preferred first (default: `charts.CJK_FONT_PREFERENCES`).
    Raises RenderError when a template does not fit the context (no document is written then).
    Notes in the result say which font the charts use, or why there are none.
    """
    template_dir = Path(template_dir) if template_dir else default_template_dir()
    context = build_context(c, issue_date=issue_date)
    check_templates(context, template_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"简报_第{c.period.number}期"
    # Everything is made in a scratch folder first, so that a template failing half-way
    # leaves the previous briefing in out_dir untouched; then each file is moved into place.
    _remove_stale_scratch(out_dir)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=_SCRATCH_PREFIX) as scratch:
        scratch = Path(scratch)
        charts, font, notes = _render_charts(c, context, scratch, chart_fonts)
        docx = _render_docx(context, template_dir / DOCX_TEMPLATE, scratch / f"{stem}.docx", scratch, c.generated_at)
        markdown = _render_markdown(context, template_dir / MARKDOWN_TEMPLATE, scratch / f"{stem}.md")
        placed = [_place(path, out_dir) for path in (docx, markdown, *charts)]
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


def _render_charts(c: Consolidation, context: dict[str, Any], out_dir: Path, preferences: Optional[Sequence[str]]):
    from . import charts as ch

    preferences = tuple(preferences) if preferences is not None else ch.CJK_FONT_PREFERENCES
    font = ch.find_cjk_font(preferences)
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
    for key in ("progress", "ranking", "trend"):
        if data.get(key) is None:
            continue
        path = out_dir / CHART_FILES[key]
        getattr(ch, f"chart_{key}")(path, **data[key], font=font)
        figure += 1
        context["charts"][key] = path.name
        context["captions"][key] = f"图{figure}　{_CHART_TITLES[key]}"
        written.append(path)
    return written, font, notes


def _chart_data(c: Consolidation) -> dict[str, Optional[dict[str, Any]]]:
    """The numbers behind each chart (None where a chart has nothing to show)."""
    config = c.config
    bars = [p for p in c.progress if p.completion is not None]
    progress = {"labels": [_scope_name(config, p.target) + quantity_name(p.indicator.name, p.indicator.kind)
                           for p in bars],
                "completions": [p.completion for p in bars], "time_schedule": c.time_schedule} if bars else None
    ranking = None
    if c.city_ranking and config.ranking_indicator:
        ind = config.indicator(config.ranking_indicator)
        ranked = sorted(c.city_ranking, key=lambda r: (r.rank, r.code))
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


def _render_docx(context: dict[str, Any], template: Path, out: Path, chart_dir: Path, made_at: dt.datetime) -> Path:
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
    _set_properties(tpl.docx.core_properties, context, made_at)
    tpl.save(str(out))
    return out


def _set_properties(core, context: dict[str, Any], made_at: dt.datetime) -> None:
    """The document's own properties (文件 → 信息), not the template's: its title and issue, the
    office as author, the time it was made (UTC, as the format requires; naive times are local)."""
    masthead = context["masthead"]
    core.title = f"{masthead['title']}{masthead['issue']}"
    core.subject = context["title"]
    core.author = core.last_modified_by = context["campaign"]["office"]
    core.category, core.comments, core.keywords, core.language = "工作简报", "", "", "zh-CN"
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
