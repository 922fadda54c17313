"""Archive -> county, city and region tables, progress against targets, who is missing.

Consolidation reads the archive only, never loose files. Base indicators are summed
(math.fsum) from county rows to cities and the region; a derived indicator (`compute`) is
evaluated again at every level on that level's sums, so ratios are always recomputed from
summed numerators and denominators, never averaged. Where a member unit is the counted
source of an indicator (`counted_from`), the regional total takes the unit's figure and
county figures are shown but not added in, so nothing is counted twice.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from dataclasses import dataclass, field, replace
from typing import Literal, Optional

from .config import expr
from .config import Config, Indicator, Period, Target, Unit
from .issues import Issue, Severity
from .archive.store import Archive, NarrativeItem, NewSubmission, ReturnHeader, Submission, moment
from .checks.entries import ManualEntry
from .contract import Header
from .wording import fmt_date_cn, fmt_deadline, printed_figure

__all__ = [
    "UnitRow", "AreaTotals", "Progress", "CityProgress", "ReportingStatus", "NewsRow", "PeriodFigures", "Consolidation",
    "consolidate",
    "record_manual_entries", "split_issues",
]

UnitState = Literal["reported", "carried", "missing"]


@dataclass
class UnitRow:
    """One reporting unit's figures for the period (reported, derived at unit level)."""

    unit: Unit
    state: UnitState                      # reported this period / carried forward / nothing
    values: dict[str, Optional[float]]    # indicator id -> value (base and derived), None = blank
    previous: dict[str, Optional[float]]  # same for the previous period (for 环比)
    submission_id: Optional[int] = None
    received_at: Optional[str] = None
    carried_from: Optional[int] = None    # the period whose figures were carried forward


@dataclass
class AreaTotals:
    """A city or the region: summed base indicators, derived ones recomputed on the sums."""

    code: str
    name: str
    values: dict[str, Optional[float]]
    previous: dict[str, Optional[float]]
    units_total: int = 0
    units_reported: int = 0               # reported this period (not carried)
    not_updated: set[str] = field(default_factory=set)  # indicators whose figure is only carried forward


@dataclass
class Progress:
    """One target of the plan at the cut-off date."""

    target: Target
    indicator: Indicator
    value: Optional[float]                # cumulative value (in the target's scope)
    previous: Optional[float]             # at the previous period's cut-off
    increase: Optional[float]             # value - previous (环比增量)
    completion: Optional[float]           # value / target for '>=' targets; None for caps
    time_schedule: float                  # share of the campaign elapsed (时间进度)
    status: Literal["met", "ahead", "behind", "within-cap", "over-cap", "no-data"]
    not_updated: bool = False             # the figure is only carried forward: no unit behind it reported this period


@dataclass
class CityProgress:
    """A city's standing on the ranking indicator."""

    code: str
    name: str
    value: Optional[float]
    target: Optional[float]               # the city's own target (city_targets) or None
    completion: Optional[float]           # value / city target, when a city target exists
    share: Optional[float]                # the city's share of the regional total
    rank: int                             # 1 = first; cities equal as printed share a rank (1, 2, 2, 4)
    behind: bool                          # below the time schedule (only with a city target)


@dataclass
class ReportingStatus:
    """报送情况 of one unit for the period."""

    unit: Unit
    state: Literal["accepted", "warned", "rejected", "missing"]
    received_at: Optional[str]
    late: bool
    submissions: int                      # files received for the period (all statuses)
    errors: int
    warnings: int
    reminder: str                         # ready-to-send 催报 or 退回 text ('' when accepted)
    reminded: int = 0                     # 催报 mails the server accepted for the period (the send log)
    filled_by: str = ""                   # 填报人 as written on the unit's latest return (see `contact_period`)
    phone: str = ""                       # 联系电话 as written there
    contact_period: Optional[int] = None  # the period of that return: this one, or (nobody named) an earlier one
    contact_earlier: bool = False         # that return is of an earlier period (for the 催报 list only)
    counted_file: str = ""                # the return whose figures count ('' when none counts)
    counted_source: str = ""              # 'file', or 'manual' (typed into the master)
    counted_at: Optional[str] = None      # when that return was received
    replaced: list[tuple[str, str]] = field(default_factory=list)  # (file, received) of earlier returns it replaced
    rejections: int = 0                   # returns of the period sent back (退回), whether redone since or not

    @property
    def contact(self) -> str:
        """韦芳 13907710001: 填报人 and 联系电话 of this period's latest return naming them ('' when
        none did; an earlier period's contact is for the 催报 list, not for 报送情况)."""
        if self.contact_earlier:
            return ""
        return " ".join(t for t in (self.filled_by, self.phone) if t)


@dataclass
class PeriodFigures:
    """One period's figures as the archive gives them now (late and corrected returns included):
    what the master's 历史 sheet shows side by side. The current period's equal the consolidation's."""

    period: Period
    time_schedule: float
    region: dict[str, Optional[float]]
    cities: dict[str, dict[str, Optional[float]]]   # city code -> values
    progress: list[Progress]                          # one per target, in config order


@dataclass(frozen=True)
class NewsRow:
    """One narrative item of the period as the master's 工作动态 sheet shows it and the
    briefing's 各地动态 uses it: the unit's text, and the office's 选用 and edited text."""

    item: NarrativeItem
    unit: Unit
    chosen: bool                          # goes into the briefing
    text: str                             # as printed: the office's edit, else the unit's own text
    recorded: bool                        # the office's choice is archived (else `chosen` is the default)

    @property
    def edited(self) -> bool:
        return self.text != self.item.text


@dataclass
class Consolidation:
    """Everything the master workbook and the briefing show for one period."""

    config: Config
    period: Period
    previous_period: Optional[Period]
    time_schedule: float
    counties: list[UnitRow]
    members: list[UnitRow]
    cities: list[AreaTotals]
    region: AreaTotals
    progress: list[Progress]
    city_ranking: list[CityProgress]
    reporting: list[ReportingStatus]
    issues: list[Issue]                   # current: of the returns that count (or still wait to be redone)
    history: dict[int, dict[str, Optional[float]]] = field(default_factory=dict)  # period -> regional values
    period_figures: list[PeriodFigures] = field(default_factory=list)  # every period up to this one, oldest first
    issue_history: list[Issue] = field(default_factory=list)  # of returns later replaced or corrected
    archive_version: int = 0              # the archive's newest submission id the figures reflect
    news: list[NewsRow] = field(default_factory=list)   # the period's 工作动态 / 典型做法, in config order of units
    news_by_default: bool = False         # nothing chosen in the master: `news` carries the default choice
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))

    @property
    def behind_cities(self) -> list[CityProgress]:
        """Cities below the time schedule on their own target (only where city targets exist)."""
        return [c for c in self.city_ranking if c.behind]

    def reporting_in(self, *states: str) -> list[ReportingStatus]:
        """Reporting status of the units in these states, e.g. `reporting_in("missing")`."""
        return [r for r in self.reporting if r.state in states]


# ---- consolidation ----------------------------------------------------------------------------

@dataclass
class _Tables:
    """The unit rows and area totals of one period (what history and 环比 need)."""

    period: int
    counties: list[UnitRow]
    members: list[UnitRow]
    cities: list[AreaTotals]
    region: AreaTotals


def consolidate(archive: Archive, config: Config, period: int, *, now: Optional[dt.datetime] = None) -> Consolidation:
    """Consolidate `period` from the archive: unit rows, city and regional totals, progress
    against targets, the city ranking, who reported, and the regional history.

        >>> with Archive("data/xf.sqlite") as archive:
        ...     c = consolidate(archive, config, 2)
        >>> c.region.values["counters_operating"]
        1036.0
    """
    now = (now or dt.datetime.now()).replace(microsecond=0)
    current = config.period(period)
    tables = _tables_up_to(archive, config, period)
    this = tables[period]
    previous_period = _previous_period(config, period)
    before = tables.get(previous_period.number) if previous_period else None
    _attach_previous(this, before)
    schedule = config.campaign.time_schedule(current.cutoff)
    issues, issue_history = split_issues(archive, period)
    news, by_default = _news(archive, config, period, this.cities)
    return Consolidation(
        config=config, period=current, previous_period=previous_period, time_schedule=schedule,
        counties=this.counties, members=this.members, cities=this.cities, region=this.region,
        progress=[_progress(config, t, this, before, schedule) for t in config.targets],
        city_ranking=_city_ranking(config, this, schedule),
        reporting=_reporting(archive, config, current, now),
        issues=issues, issue_history=issue_history,
        history={p: dict(t.region.values) for p, t in sorted(tables.items())},
        period_figures=_period_figures(config, tables),
        archive_version=archive.version(), news=news, news_by_default=by_default, generated_at=now)


def _period_figures(config: Config, tables: dict[int, _Tables]) -> list[PeriodFigures]:
    """Each period's regional and city figures and progress, from the same tables (so a period's
    history is what consolidating that period gives)."""
    figures = []
    for number, this in sorted(tables.items()):
        period = config.period(number)
        previous = _previous_period(config, number)
        before = tables.get(previous.number) if previous else None
        schedule = config.campaign.time_schedule(period.cutoff)
        figures.append(PeriodFigures(
            period=period, time_schedule=schedule, region=dict(this.region.values),
            cities={city.code: dict(city.values) for city in this.cities},
            progress=[_progress(config, t, this, before, schedule) for t in config.targets]))
    return figures


def _previous_period(config: Config, period: int) -> Optional[Period]:
    earlier = [p for p in config.periods if p.number < period]
    return max(earlier, key=lambda p: p.number) if earlier else None


def _tables_up_to(archive: Archive, config: Config, period: int) -> dict[int, _Tables]:
    """Tables of every configured period up to `period`, oldest first.

    Carrying forward walks the periods in order, so a unit's carried figures are those of its
    latest accepted return of an earlier period, read once."""
    numbers = sorted({p.number for p in config.periods if p.number <= period}
                     | {p for p in archive.periods() if p <= period})
    last_accepted: dict[str, tuple[int, Submission]] = {}
    tables: dict[int, _Tables] = {}
    for number in numbers:
        accepted = archive.accepted(number)
        rows = {u.code: _unit_row(config, u, accepted.get(u.code), last_accepted.get(u.code))
                for u in config.reporting_units()}
        for code, submission in accepted.items():
            last_accepted[code] = (number, submission)
        if number in {p.number for p in config.periods}:
            tables[number] = _build_tables(config, number, rows)
    return tables


def _unit_row(config: Config, unit: Unit, accepted: Optional[Submission],
              earlier: Optional[tuple[int, Submission]]) -> UnitRow:
    """A unit's row: its accepted return, else (with `carry`) its latest earlier one, else blank."""
    if accepted is not None:
        return UnitRow(unit=unit, state="reported", values=_unit_values(config, unit, accepted.values),
                       previous={}, submission_id=accepted.id, received_at=accepted.received_at)
    if earlier is not None and config.campaign.missing_returns == "carry":
        from_period, submission = earlier
        return UnitRow(unit=unit, state="carried", values=_unit_values(config, unit, submission.values),
                       previous={}, submission_id=submission.id, received_at=submission.received_at,
                       carried_from=from_period)
    return UnitRow(unit=unit, state="missing", values=_unit_values(config, unit, {}), previous={})


def _unit_values(config: Config, unit: Unit, raw: dict) -> dict[str, Optional[float]]:
    """The unit's numeric figures (only indicators it reports), plus derived ones at unit level
    (a county's `count_meeting` is 1 or 0: whether it meets the threshold itself)."""
    values = {ind.id: _number(raw.get(ind.id)) for ind in config.indicators_for(unit) if ind.numeric}
    values.update(_computed(config, values))
    if unit.kind == "county":
        values.update(_counted(config, [values]))
    return values


def _number(value) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _computed(config: Config, base: dict[str, Optional[float]]) -> dict[str, Optional[float]]:
    """`compute` indicators on one level's figures (the sums, at area level)."""
    return {ind.id: _number(expr.evaluate(ind.compute_expr, base))
            for ind in config.indicators if ind.compute_expr is not None}


def _counted(config: Config, county_values: list[dict[str, Optional[float]]]) -> dict[str, Optional[float]]:
    """`count_meeting` indicators: the number of these counties meeting the threshold."""
    return {ind.id: _count_meeting(ind, county_values) for ind in config.indicators if ind.count_meeting is not None}


def _count_meeting(ind: Indicator, county_values: list[dict[str, Optional[float]]]) -> Optional[float]:
    rule = ind.count_meeting
    judged = [v.get(rule.indicator) for v in county_values]
    judged = [x for x in judged if x is not None]
    if not judged:
        return None
    test = _OPS[rule.op]
    return float(sum(1 for x in judged if test(x, rule.value)))


_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


def _base_ids(config: Config) -> list[str]:
    return [i.id for i in config.indicators if not i.derived and i.numeric]


def _sum(rows: list[UnitRow], indicator: str) -> Optional[float]:
    """math.fsum of the rows' figures; None when no row has one."""
    figures = [r.values[indicator] for r in rows if r.values.get(indicator) is not None]
    return math.fsum(figures) if figures else None


def _area_values(config: Config, base: dict[str, Optional[float]], counties: list[UnitRow]) -> dict[str, Optional[float]]:
    values = dict(base)
    values.update(_computed(config, base))
    values.update(_counted(config, [r.values for r in counties]))
    return values


def _county_area(config: Config, counties: list[UnitRow]) -> dict[str, Optional[float]]:
    """Values of a set of counties: summed base figures, derived ones recomputed on the sums."""
    return _area_values(config, {i: _sum(counties, i) for i in _base_ids(config)}, counties)


def _region_values(config: Config, counties: list[UnitRow], members: list[UnitRow]) -> dict[str, Optional[float]]:
    """Regional values: each base indicator from its one counted source (never both)."""
    base: dict[str, Optional[float]] = {}
    for ind in config.indicators:
        if ind.derived or not ind.numeric:
            continue
        source = ind.source
        rows = counties if source == "counties" else [m for m in members if m.unit.code in source]
        base[ind.id] = _sum(rows, ind.id)
    return _area_values(config, base, counties)


def _build_tables(config: Config, period: int, rows: dict[str, UnitRow]) -> _Tables:
    counties = [r for r in rows.values() if r.unit.kind == "county"]
    members = [r for r in rows.values() if r.unit.kind == "member"]
    cities = []
    for city in config.cities:
        own = [r for r in counties if r.unit.city_code == city.code]
        cities.append(AreaTotals(code=city.code, name=city.name, values=_county_area(config, own), previous={},
                                 units_total=len(own), units_reported=_reported(own)))
    region = AreaTotals(code=config.campaign.region.code, name=config.campaign.region.short_name,
                        values=_region_values(config, counties, members), previous={},
                        units_total=len(rows), units_reported=_reported(list(rows.values())),
                        not_updated=_not_updated(config, lambda ind: _source_rows(ind, counties, members)))
    return _Tables(period=period, counties=counties, members=members, cities=cities, region=region)


def _source_rows(ind: Indicator, counties: list[UnitRow], members: list[UnitRow]) -> list[UnitRow]:
    """The rows whose figures make the regional total of a base indicator."""
    return counties if ind.source == "counties" else [m for m in members if m.unit.code in ind.source]


def _not_updated(config: Config, source_rows) -> set[str]:
    """Indicators whose figure comes only from rows carried forward: nobody behind it reported
    this period, so the figure is not news (and not 与上期持平). `source_rows(indicator)` gives
    the rows that make a base indicator's figure; a derived one follows its inputs."""
    present, fresh = set(), set()
    for ind in config.indicators:
        if ind.derived or not ind.numeric:
            continue
        rows = [r for r in source_rows(ind) if r.values.get(ind.id) is not None]
        if rows:
            present.add(ind.id)
        if any(r.state == "reported" for r in rows):
            fresh.add(ind.id)
    stale = present - fresh
    for ind in config.indicators:
        inputs = _base_inputs(config, ind) & present
        if ind.derived and inputs and not inputs & fresh:
            stale.add(ind.id)
    return stale


def _base_inputs(config: Config, ind: Indicator) -> set[str]:
    """The reported indicators a derived one is computed from (itself for a reported one)."""
    if ind.compute_expr is not None:
        return set().union(*(_base_inputs(config, config.indicator(n)) for n in expr.names(ind.compute_expr)))
    if ind.count_meeting is not None:
        return _base_inputs(config, config.indicator(ind.count_meeting.indicator))
    return {ind.id}


def _reported(rows: list[UnitRow]) -> int:
    return sum(1 for r in rows if r.state == "reported")


def _attach_previous(this: _Tables, before: Optional[_Tables]) -> None:
    """Fill each row's and area's `previous` from the previous period's tables."""
    if before is None:
        return
    earlier_rows = {r.unit.code: r for r in before.counties + before.members}
    for row in this.counties + this.members:
        old = earlier_rows.get(row.unit.code)
        row.previous = dict(old.values) if old else {}
    earlier_cities = {c.code: c for c in before.cities}
    for city in this.cities:
        city.previous = dict(earlier_cities[city.code].values) if city.code in earlier_cities else {}
    this.region.previous = dict(before.region.values)


# ---- progress and ranking -----------------------------------------------------------------------

def _scope_values(config: Config, tables: _Tables, scope: str) -> dict[str, Optional[float]]:
    if scope == "region":
        return tables.region.values
    members = set(config.group_members(scope))
    return _county_area(config, [r for r in tables.counties if r.unit.code in members])


def _scope_not_updated(config: Config, tables: _Tables, scope: str) -> set[str]:
    if scope == "region":
        return tables.region.not_updated
    members = set(config.group_members(scope))
    return _not_updated(config, lambda ind: [r for r in tables.counties if r.unit.code in members])


def _progress(config: Config, target: Target, this: _Tables, before: Optional[_Tables], schedule: float) -> Progress:
    value = _scope_values(config, this, target.scope).get(target.indicator)
    previous = _scope_values(config, before, target.scope).get(target.indicator) if before else None
    increase = value - previous if value is not None and previous is not None else None
    completion = value / target.value if value is not None and not target.is_cap and target.value else None
    return Progress(target=target, indicator=config.indicator(target.indicator), value=value, previous=previous,
                    increase=increase, completion=completion, time_schedule=schedule,
                    status=_status(target, value, completion, schedule),
                    not_updated=target.indicator in _scope_not_updated(config, this, target.scope))


def _status(target: Target, value: Optional[float], completion: Optional[float], schedule: float) -> str:
    if value is None:
        return "no-data"
    if target.is_cap:
        return "within-cap" if value <= target.value else "over-cap"
    if value >= target.value:
        return "met"
    if completion is not None and not _below(completion, schedule):
        return "ahead"
    return "behind"


def _below(completion: float, schedule: float) -> bool:
    """Behind the time schedule as printed (13.3% is not below 13.3%, whatever the digits after)."""
    return printed_figure(completion, "ratio", "%") < printed_figure(schedule, "ratio", "%")


def _city_ranking(config: Config, this: _Tables, schedule: float) -> list[CityProgress]:
    """Cities on `ranking_indicator`: by completion of their own target when city targets
    exist, else by value. Cities equal as printed share a rank (1, 2, 2, 4) and are listed in
    config order; cities without a figure come last, all at the rank after the others."""
    indicator = config.ranking_indicator
    if not indicator:
        return []
    targets = config.city_targets.get(indicator, {})
    total = this.region.values.get(indicator)
    standings = []
    for city in this.cities:
        value = city.values.get(indicator)
        target = targets.get(city.code)
        completion = value / target if value is not None and target else None
        share = value / total if value is not None and total else None
        standings.append(CityProgress(code=city.code, name=city.name, value=value, target=target,
                                      completion=completion, share=share, rank=0,
                                      behind=completion is not None and _below(completion, schedule)))
    ind = config.indicator(indicator)

    def key(c: CityProgress):
        if targets:
            return None if c.completion is None else printed_figure(c.completion, "ratio", "%")
        return None if c.value is None else printed_figure(c.value, ind.kind, ind.unit)

    known = [key(c) for c in standings if key(c) is not None]
    for c in standings:
        k = key(c)
        c.rank = 1 + (sum(1 for other in known if other > k) if k is not None else len(known))
    return standings


# ---- 工作动态: the units' narrative and the office's choice ---------------------------------------

DEFAULT_NEWS_CITIES = 3


def _news(archive: Archive, config: Config, period: int, cities: list[AreaTotals]) -> tuple[list[NewsRow], bool]:
    """Every narrative item of the period's counting returns, with the office's archived choice
    and edit. While nothing is chosen, the default is chosen (`default_news`) and the flag says so."""
    order = {u.code: n for n, u in enumerate(config.reporting_units())}
    items = sorted((i for i in archive.narratives(period) if i.unit_code in order),
                   key=lambda i: (order[i.unit_code], i.seq))
    choices = archive.narrative_choices(period)
    chosen_any = any(choices[i.key].chosen for i in items if i.key in choices)
    defaults = set() if chosen_any else default_news(config, items, cities)
    rows = []
    for item in items:
        choice = choices.get(item.key)
        text = choice.text if choice is not None and choice.text.strip() else item.text
        chosen = (choice is not None and choice.chosen) if chosen_any else item.key in defaults
        rows.append(NewsRow(item=item, unit=config.units[item.unit_code], chosen=chosen, text=text,
                            recorded=choice is not None))
    return rows, not chosen_any and bool(items)


def default_news(config: Config, items: list[NarrativeItem], cities: list[AreaTotals]) -> set[str]:
    """The items the briefing takes when the office chose none: of the (three) cities with the
    largest increase this period on the ranking indicator, among those whose counties wrote
    something, each city's longest item — the cities that moved most, in their own words, one
    each, so that no single city fills the section. Keys of the items."""
    by_city: dict[str, list[NarrativeItem]] = {}
    for item in items:
        unit = config.units[item.unit_code]
        if unit.kind == "county" and unit.city_code:
            by_city.setdefault(unit.city_code, []).append(item)
    indicator = config.ranking_indicator

    def increase(city: AreaTotals) -> float:
        if not indicator:
            return 0.0
        return (city.values.get(indicator) or 0.0) - (city.previous.get(indicator) or 0.0)

    ranked = sorted((c for c in cities if c.code in by_city), key=increase, reverse=True)   # ties: config order
    return {max(by_city[c.code], key=lambda i: len(i.text)).key for c in ranked[:DEFAULT_NEWS_CITIES]}


# ---- reporting status and reminders ---------------------------------------------------------------

def _reporting(archive: Archive, config: Config, period: Period, now: dt.datetime) -> list[ReportingStatus]:
    by_unit: dict[str, list[Submission]] = {}
    for submission in archive.submissions(period.number):
        by_unit.setdefault(submission.unit_code, []).append(submission)
    file_issues: dict[str, list[Issue]] = {}
    for issue in archive.issues(period.number):
        if issue.unit:
            file_issues.setdefault(issue.unit, []).append(issue)
    reminded = archive.times_sent(period.number, "reminders")
    return [replace(_unit_status(archive, config, unit, period, by_unit.get(unit.code, []),
                                 file_issues.get(unit.code, []), now), reminded=reminded.get(unit.code, 0))
            for unit in config.reporting_units()]


def split_issues(archive: Archive, period: int) -> tuple[list[Issue], list[Issue]]:
    """The period's issues as (current, history). Current: those of each unit's return that
    counts, of a rejected return received after it (the unit still has to redo it) or, with
    nothing accepted, of its latest rejected return; and file-level findings, unless the unit
    has since had a return accepted. History: those of returns replaced or corrected later."""
    by_unit: dict[str, list[Submission]] = {}
    for submission in archive.submissions(period):
        by_unit.setdefault(submission.unit_code, []).append(submission)
    live = {s.id for subs in by_unit.values() for s in _live_submissions(subs)}
    settled = {code for code, subs in by_unit.items() if any(s.status == "accepted" for s in subs)}
    current, history = [], []
    for source, issue in archive.issues_by_source(period):
        is_current = source in live if source is not None else issue.unit not in settled
        (current if is_current else history).append(issue)
    return current, history


def _live_submissions(submissions: list[Submission]) -> list[Submission]:
    """A unit's submissions whose findings still stand (see `split_issues`)."""
    accepted = next((s for s in submissions if s.status == "accepted"), None)
    rejected = [s for s in submissions if s.status == "rejected"]
    if accepted is None:
        return [max(rejected, key=_received_order)] if rejected else []
    return [accepted] + [s for s in rejected if moment(s.received_at) > moment(accepted.received_at)]


def _unit_status(archive: Archive, config: Config, unit: Unit, period: Period, submissions: list[Submission],
                 unit_issues: list[Issue], now: dt.datetime) -> ReportingStatus:
    """One unit's 报送情况. The state follows its current accepted return; issue counts come from
    the return that decided it (for a figure typed by hand, the last accepted file's)."""
    once_accepted = [s for s in submissions if s.status in ("accepted", "superseded")]
    rejected = sorted((s for s in submissions if s.status == "rejected"), key=_received_order)
    deciding = _deciding(once_accepted) or (rejected[-1] if rejected else None)
    issues = archive.issues(submission_id=deciding.id) if deciding else unit_issues
    errors = sum(1 for i in issues if i.severity is Severity.ERROR)
    warnings = sum(1 for i in issues if i.severity is Severity.WARNING)
    if once_accepted:
        first = [s for s in once_accepted if s.source == "file"] or once_accepted
        received = min((s.received_at for s in first), key=moment)
        state = "warned" if warnings else "accepted"
        reminder = ""
    elif rejected:
        received, state = rejected[-1].received_at, "rejected"
        reminder = _returned_text(config, unit, period, rejected[-1], errors, now)
    else:
        received, state = None, "missing"
        reminder = _reminder_text(config, unit, period, now)
    return ReportingStatus(unit=unit, state=state, received_at=received,
                           late=received is not None and moment(received) > period.deadline,
                           submissions=len(submissions), errors=errors, warnings=warnings, reminder=reminder,
                           rejections=len(rejected), **_latest_contact(archive, unit, period, submissions),
                           **_counting_return(once_accepted))


def _counting_return(once_accepted: list[Submission]) -> dict:
    """Which return counts, and the earlier returns it replaced (报送情况 shows both)."""
    counting = next((s for s in once_accepted if s.status == "accepted"), None)
    if counting is None:
        return {}
    replaced = [(s.file_name, s.received_at) for s in sorted(once_accepted, key=_received_order)
                if s.status == "superseded" and s.source == "file"]
    return {"counted_file": counting.file_name, "counted_source": counting.source,
            "counted_at": counting.received_at, "replaced": replaced}


def _received_order(s: Submission) -> tuple:
    return moment(s.received_at), s.file_name, s.id


def _latest_contact(archive: Archive, unit: Unit, period: Period, submissions: list[Submission]) -> dict:
    """填报人 and 联系电话 of the unit's latest return: of this period (whichever its status: a
    return sent back names who is redoing it), else of the latest earlier period that had one
    (for the 催报 list)."""
    latest = _latest_with_contact(submissions)
    if latest is None:
        earlier = archive.headers_before(unit.code, period.number)
        for number in sorted({s.period for s in earlier}, reverse=True):
            latest = _latest_with_contact([s for s in earlier if s.period == number])
            if latest is not None:
                break
    if latest is None:
        return {}
    return {"filled_by": latest.header.get(Header.FILLED_BY, ""), "phone": latest.header.get(Header.PHONE, ""),
            "contact_period": latest.period, "contact_earlier": latest.period != period.number}


def _latest_with_contact(submissions: list[Submission] | list[ReturnHeader]) -> Optional[Submission | ReturnHeader]:
    """The latest received file that names someone; a figure typed by hand only without one (it
    copies the header of whichever return it replaced, which may be older)."""
    named = [s for s in submissions if s.header.get(Header.FILLED_BY) or s.header.get(Header.PHONE)]
    files = [s for s in named if s.source == "file"] or named
    return max(files, key=_received_order) if files else None


def _deciding(once_accepted: list[Submission]) -> Optional[Submission]:
    files = sorted((s for s in once_accepted if s.source == "file"), key=_received_order)
    current = [s for s in once_accepted if s.status == "accepted"]
    if current and current[0].source != "file" and files:
        return files[-1]
    return current[0] if current else None


def _reminder_text(config: Config, unit: Unit, period: Period, now: dt.datetime) -> str:
    """催报: the unit, the period, its cut-off and deadline, the office and its contact."""
    camp = config.campaign
    deadline = fmt_deadline(period.deadline)
    when = f"报送截止时间{deadline}已过，请尽快报送" if now > period.deadline else f"请于{deadline}前报送"
    return (f"【催报】{unit.full_name}：截至{fmt_deadline(now)}，{camp.office_short}尚未收到贵单位"
            f"第{period.number}期{camp.form_title}（数据截至{fmt_date_cn(period.cutoff)}）。{when}。"
            f"{_sign_off(config)}")


def _returned_text(config: Config, unit: Unit, period: Period, submission: Submission, errors: int,
                   now: dt.datetime) -> str:
    """退回: the return was sent back; fix what the feedback workbook marks and send it again."""
    camp = config.campaign
    name = f"（{submission.file_name}）" if submission.file_name else ""
    found = f"经校验发现{errors}处错误" if errors else "未通过校验"
    deadline = fmt_deadline(period.deadline)
    when = (f"尽快重新报送（报送截止时间{deadline}已过）" if now > period.deadline
            else f"于{deadline}前重新报送")
    return (f"【退回】{unit.full_name}：贵单位报送的第{period.number}期{camp.form_title}{name}{found}，"
            f"已退回，未计入汇总。请按随附的校验反馈表中标注的问题逐项修改后，{when}。{_sign_off(config)}")


def _sign_off(config: Config) -> str:
    camp = config.campaign
    return f"联系方式：{camp.contact}。（{camp.office}）" if camp.contact else f"（{camp.office}）"


# ---- manual entries ------------------------------------------------------------------------------

def record_manual_entries(archive: Archive, entries: list[ManualEntry], period: int, *,
                          consolidation: Optional[Consolidation] = None,
                          file_name: str = "", now: Optional[dt.datetime] = None) -> list[int]:
    """Archive corrections typed into the master workbook, so a rebuild keeps them.

    Only rows whose figures differ from what the master showed become submissions (accepted,
    `source="manual"`, superseding the unit's return for the period). What the master showed
    is taken from `consolidation` when given, else from the archive (the unit's accepted
    return for the period, else its latest earlier one). A row left all blank is never
    recorded. Each new submission holds the unit's full row: unchanged figures and detail
    lists are kept from the return it replaces. Returns the new submission ids.

    Check the entries first (`checks.entries.check_entries`) and pass only those without 错误.
    """
    now = (now or dt.datetime.now()).replace(microsecond=0)
    shown_rows = {r.unit.code: r for r in (consolidation.counties + consolidation.members)} if consolidation else {}
    ids = []
    accepted = archive.accepted(period)
    with archive.transaction():
        for entry in entries:
            base = accepted.get(entry.unit_code) or archive.latest_accepted_before(entry.unit_code, period)
            shown = shown_rows[entry.unit_code].values if entry.unit_code in shown_rows else (base.values if base else {})
            changed = _changed(entry.values, shown)
            if not changed or all(v is None for v in entry.values.values()):
                continue
            values = {**(base.values if base else {}), **entry.values}
            note = "总表手工修改：" + "、".join(entry.cells.get(i, i) for i in changed)
            ids.append(archive.record_submission(NewSubmission(
                unit_code=entry.unit_code, period=period, accepted=True, values=values,
                cells={i: entry.cells[i] for i in entry.values if i in entry.cells},
                details=dict(base.details) if base else {}, source="manual", file_name=file_name,
                template_version=base.template_version if base else "", received_at=now.isoformat(), note=note,
                header=dict(base.header) if base else {},
                narrative_from=base.id if base and base.period == period else None)))
    return ids


def _changed(typed: dict[str, Optional[float]], shown: dict) -> list[str]:
    """Indicators whose typed figure differs from the one shown (blank vs figure counts)."""
    def differs(a, b) -> bool:
        a, b = _number(a), _number(b)
        if a is None or b is None:
            return (a is None) != (b is None)
        return abs(a - b) > 1e-9 * max(1.0, abs(a), abs(b))
    return [i for i, v in typed.items() if differs(v, shown.get(i))]
