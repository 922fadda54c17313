"""Simulated campaign data for `xf-excel demo`: what the counties and member units would send.

Everything comes from `Config` (units, indicators, rules, targets, periods, detail lists);
nothing here knows a particular campaign. Three layers, each deterministic for a seed:

- `simulate(config, seed)` — the true figures: every reporting unit's cumulative figures and
  detail rows per period (the *simulation model*, below), and a `PeriodPlan` per period of
  how people behave.
- `deliveries(sim, period)` — what arrives: on time or late, some units missing, typing
  quirks (`１２`, `12个`, `1,200`, numbers as text, an inserted row or column, a renamed
  sheet), real errors that get the return rejected (a broken rule, `约20`, a figure below
  last week's) and a corrected return in a second batch, a mistyped phone number (only
  warned about), a mail, a zip of two returns, an exact duplicate, a file that is not a return.
  `expected_accepted(sim, period)` says which figures the pipeline should end up accepting.
- `fill_form` / `write_inbox` — the files: the real form (`forms.write_form`) filled *by
  label* through the form contract (docs/form-contract.md), as a clerk would in Excel.

Simulation model (why the numbers look real):

- Regional totals. An indicator with a `>=` target ends at target × a per-activity
  *performance* factor drawn from 0.8–1.3 (some activities end over, some short); a `<=` cap
  ends at 60–95 % of the cap; a target on a computed indicator (a sum such as
  `zones_online + zones_offline`, a ratio such as `listed / certified`) is met by scaling the
  figures it is computed from. Indicators without a target get a plausible scale by kind.
- Who holds the total. `Indicator.source` decides: counties share it, or the counted member
  units hold it. Reporters that do not count report their own smaller figures (a member
  unit 10–40 % of the regional total; counties together 20–50 % of the unit's figure).
- County shares are uneven: a size per county from its type (市辖区 and 县级市 bigger), the
  number of counties in its city (bigger cities) and a log-normal draw, times a per-indicator
  log-normal draw.
- Rules hold in every correct figure: for a rule `a <= b` the unit's `a` is drawn as a share
  of its `b`; any other failing rule is repaired by scaling the first figure it names.
- Growth over the periods follows an S-curve (logistic in the share of the campaign elapsed,
  midpoint 30–50 % drawn per unit and activity, 0 at the start and the full figure at the
  end), so cumulative figures never decrease and rarely jump more than 4× in a period.
  Counts are whole, money has two decimals.
- Detail rows (e.g. 专柜明细): one row per counted item (`count_all` total), the first
  `count_where` rows in that status (运营中) and the rest in the other states; names from the
  unit, the site type and the activity (`武鸣区学校消费扶贫专柜`), addresses in the unit,
  opening dates between the campaign start and the cut-off, sales that add up to the unit's
  money figure of the same activity.

`units=N` keeps the first N counties (member units always), with the same figures they
have in the full simulation: shares are always drawn over every county in the config.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import random
import zipfile
from dataclasses import dataclass, field, replace
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence


from ..config import expr
from ..config import Config, DetailList, Indicator, Target, Unit
from .fill import (BLANK_COLUMN, BLANK_ROW, FULLWIDTH, LAYOUT_QUIRKS, RENAME_SHEET, TEXT_NUMBER, TEXT_QUIRKS,
                   THOUSANDS, UNIT_SUFFIX, _fill_bytes, fill_form)
from ..outputs.forms import form_filename
from .narrative import narrative_for

__all__ = [
    "Simulation", "PeriodPlan", "Delivery", "simulate", "campaign_of", "correct_entries", "deliveries", "expected_accepted", "fill_form",
    "write_inbox", "mail_inbox", "unit_mailbox", "first_intake_at",
    "FILE", "EML", "ZIP", "DUPLICATE", "NOT_A_RETURN", "RETURN_VIAS",
    "FULLWIDTH", "UNIT_SUFFIX", "THOUSANDS", "TEXT_NUMBER", "BLANK_ROW", "BLANK_COLUMN", "RENAME_SHEET",
    "TEXT_QUIRKS", "LAYOUT_QUIRKS", "LATE", "MISSING", "RESUBMITTED", "ABANDONED", "RULE_BROKEN", "BELOW_PREVIOUS", "NOT_A_NUMBER", "ERRORS", "BAD_PHONE", "SLIPS",
]

# ---- vocabulary ---------------------------------------------------------------------------------

# How a delivery is sent.
FILE, EML, ZIP, DUPLICATE, NOT_A_RETURN = "file", "eml", "zip", "duplicate", "not-a-return"
RETURN_VIAS = (FILE, EML, ZIP, DUPLICATE)

# Deliberate errors: each makes validate reject the return (错误).
RULE_BROKEN = "rule-broken"        # a rule `a <= b` broken (运营专柜数 > 建成专柜数)
BELOW_PREVIOUS = "below-previous"  # this week's increase typed instead of the cumulative figure
NOT_A_NUMBER = "not-a-number"      # 约20
ERRORS = (RULE_BROKEN, NOT_A_NUMBER, BELOW_PREVIOUS)
# Slips that validate reports as a warning (警告): the return is accepted.
BAD_PHONE = "bad-phone"            # a mobile number missing a digit
SLIPS = (BAD_PHONE,)

# Plan event kinds (PeriodPlan.events) besides the quirk and error kinds above.
LATE, MISSING, RESUBMITTED, ABANDONED = "late", "missing", "resubmitted", "abandoned"

_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n" \
       b"trailer<</Root 1 0 R>>\n%%EOF\n"


# ---- records ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PeriodPlan:
    """How people behave in one period (unit codes). Every unit not `missing` sends a return;
    units in `errors` send a wrong one first (rejected) and a corrected one in batch 2, except
    those in `abandoned`, who send no correction this period."""

    period: int
    missing: tuple[str, ...] = ()
    late: tuple[str, ...] = ()
    errors: Mapping[str, str] = field(default_factory=dict)          # unit -> error kind
    abandoned: tuple[str, ...] = ()
    eml: tuple[str, ...] = ()
    zipped: tuple[str, ...] = ()
    duplicated: tuple[str, ...] = ()
    stray: tuple[str, ...] = ()                                       # also send a file that is not a return
    quirks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # unit -> quirks
    slips: Mapping[str, str] = field(default_factory=dict)            # unit -> slip kind (accepted, warned)

    def events(self) -> list[tuple[str, str]]:
        """(event kind, unit code) for everything planned; quirk kinds without their target."""
        events = [(MISSING, c) for c in self.missing] + [(LATE, c) for c in self.late]
        for code, kind in self.errors.items():
            events += [(kind, code), (ABANDONED if code in self.abandoned else RESUBMITTED, code)]
        events += [(EML, c) for c in self.eml] + [(ZIP, c) for c in self.zipped]
        events += [(DUPLICATE, c) for c in self.duplicated] + [(NOT_A_RETURN, c) for c in self.stray]
        for code, quirks in self.quirks.items():
            events += [(q.split(":", 1)[0], code) for q in quirks]
        events += [(kind, code) for code, kind in self.slips.items()]
        return events


@dataclass(frozen=True)
class Simulation:
    """The simulated campaign. `figures[unit][period][indicator id]` is the true cumulative
    figure; `details[unit][period][detail id]` the detail rows (column id -> value);
    `people[unit]` = (填报人, 联系电话); `performance[activity id]` = final ÷ target factor."""

    config: Config
    seed: int
    units: tuple[Unit, ...]
    performance: Mapping[str, float]
    figures: Mapping[str, Mapping[int, Mapping[str, float]]]
    details: Mapping[str, Mapping[int, Mapping[str, list[dict[str, Any]]]]]
    people: Mapping[str, tuple[str, str]]
    plans: Mapping[int, PeriodPlan]

    @property
    def periods(self) -> list[int]:
        return [p.number for p in self.config.periods]

    def regional_total(self, indicator_id: str, period: int) -> float:
        """Sum of the true figures of the units that count for the regional total."""
        indicator = self.config.indicator(indicator_id)
        return round(sum(self.figures[u.code][period].get(indicator_id, 0) for u in self.units
                         if _counts_for_region(indicator, u)), 2)


@dataclass(frozen=True)
class Delivery:
    """One thing that arrives in the office's inbox.

    `values` (indicator name -> what is typed) and `details` (sheet name -> rows of column
    name -> value) and `header` (label -> value) are what the clerk enters, through
    `fill_form` with `quirks`, and `narrative` (label -> text) below the table. `figures`
    (indicator id -> number) are the figures meant.
    `error` names the deliberate error ('' for a correct return): such a return is rejected;
    `slip` names a deliberate slip that validate only warns about (the return is accepted).
    `via` is file, eml, zip (`container` names the zip), duplicate or not-a-return."""

    batch: int
    unit_code: str
    values: Mapping[str, object]
    details: Mapping[str, list[dict[str, object]]]
    header: Mapping[str, str]
    quirks: tuple[str, ...]
    via: str
    received_at: dt.datetime
    file_name: str
    figures: Mapping[str, float] = field(default_factory=dict)
    error: str = ""
    container: str = ""
    slip: str = ""
    narrative: Mapping[str, str] = field(default_factory=dict)   # 本期工作动态 / 典型做法 label -> text typed

    @property
    def is_return(self) -> bool:
        return self.via in RETURN_VIAS

    @property
    def acceptable(self) -> bool:
        """A return with no deliberate error (validate should accept it, perhaps with warnings)."""
        return self.is_return and not self.error


# ---- randomness -----------------------------------------------------------------------------------

def _rng(seed: int, *parts: object) -> random.Random:
    """A generator for one named draw. String seeds are hashed with SHA-512 by `random`, so
    draws do not depend on PYTHONHASHSEED or on how many other draws came before."""
    return random.Random("|".join(str(p) for p in (seed, *parts)))


# ---- the simulation -------------------------------------------------------------------------------

_TYPE_WEIGHT = {"市辖区": 1.3, "县级市": 1.2, "县": 1.0, "自治县": 0.9}
_PER_COUNTY_SCALE = {"count": (3, 60), "money": (20, 400), "number": (1, 30), "ratio": (0.5, 0.95)}
_CURVE_STEEPNESS = 5.0


def simulate(config: Config, seed: int = 2020, units: Optional[int] = None) -> Simulation:
    """Simulate the campaign: true figures, detail rows and people's behaviour, per period.

    Deterministic for a seed. `units` keeps the first N counties in config order (member
    units are always included); their figures are the same as in the full simulation.

        >>> sim = simulate(load_config("config.yaml"), seed=2020, units=10)
        >>> len(sim.units), sim.figures["450102"][5]["counters_built"]   # 10 counties + 8 member units
        (18, 9)
    """
    reporting = config.reporting_units()
    counties = [u for u in reporting if u.kind == "county"]
    chosen = tuple((counties if units is None else counties[:units]) + [u for u in reporting if u.kind == "member"])
    performance = {a.id: round(_rng(seed, "performance", a.id).uniform(0.8, 1.3), 3) for a in config.activities}
    finals = _final_figures(config, seed, performance)
    figures = {u.code: _cumulative(config, seed, u, finals[u.code]) for u in chosen}
    details = {u.code: _unit_details(config, seed, u, figures[u.code]) for u in chosen}
    people = {u.code: _person(seed, u.code) for u in chosen}
    plans = _plans(config, seed, chosen, figures)
    return Simulation(config, seed, chosen, performance, figures, details, people, plans)


def campaign_of(sim: Simulation) -> Config:
    """The campaign as the office of a partial simulation sees it: only the simulated
    counties (and their cities) are expected to report, so the region is theirs."""
    kept = {u.code for u in sim.units if u.kind == "county"}
    config = sim.config
    if len(kept) == len(config.counties):
        return config
    data = config.model_dump(mode="json")
    data["counties"] = [c for c in data["counties"] if c["code"] in kept]
    cities = {c["city"] for c in data["counties"]}
    data["cities"] = [c for c in data["cities"] if c["code"] in cities]
    for group in data["county_groups"].values():
        group["members"] = [code for code in group["members"] if code in kept]
    data["city_targets"] = {ind: {code: v for code, v in by_city.items() if code in cities}
                            for ind, by_city in data["city_targets"].items()}
    return Config.model_validate(data)


def _reported(config: Config) -> list[Indicator]:
    return [i for i in config.indicators if not i.derived and i.numeric]


def _simple_pairs(config: Config) -> list[tuple[str, str]]:
    """(a, b) for every rule `a <= b` or `a < b` between two figures (and `b >= a`)."""
    pairs = []
    for rule in config.rules:
        node = rule.expr
        if isinstance(node, expr.Binary) and isinstance(node.left, expr.Name) and isinstance(node.right, expr.Name):
            if node.op in ("<=", "<"):
                pairs.append((node.left.id, node.right.id))
            elif node.op in (">=", ">"):
                pairs.append((node.right.id, node.left.id))
    return pairs


def _county_sizes(config: Config, seed: int) -> dict[str, float]:
    per_city: dict[str, int] = {}
    for county in config.counties:
        per_city[county.city] = per_city.get(county.city, 0) + 1
    biggest = max(per_city.values(), default=1)
    return {c.code: _TYPE_WEIGHT.get(c.type, 1.0) * (1 + per_city[c.city] / biggest)
            * _rng(seed, "size", c.code).lognormvariate(0, 0.4) for c in config.counties}


def _goal(target: Target, indicator: Indicator, performance: float, seed: int) -> float:
    if target.is_cap:
        return target.value * _rng(seed, "cap", target.indicator).uniform(0.6, 0.95)
    goal = target.value * performance
    return min(goal, 0.97) if indicator.kind == "ratio" else goal


def _aim(node: expr.Expr, figures: dict[str, float], goal: float, fixed: Iterable[str] = ()) -> None:
    """Scale figures so that `node` evaluates to `goal`: all of its figures together (exact for
    sums), else the first one not in `fixed` (exact for ratios and products), up or down."""
    names = [n for n in expr.names(node) if n in figures]
    current = expr.evaluate(node, figures)
    if not names or not current:
        return
    factor = goal / current
    trial = {**figures, **{n: figures[n] * factor for n in names}}
    if _close(expr.evaluate(node, trial), goal):
        figures.update({n: trial[n] for n in names})
        return
    free = [n for n in names if n not in set(fixed)] or names
    for candidate in (factor, 1 / factor):
        trial = {**figures, free[0]: figures[free[0]] * candidate}
        if _close(expr.evaluate(node, trial), goal):
            figures[free[0]] = trial[free[0]]
            return


def _close(value: Optional[float], goal: float) -> bool:
    return value is not None and abs(value - goal) <= 1e-6 * max(1.0, abs(goal))


def _regional_totals(config: Config, seed: int, performance: Mapping[str, float]) -> tuple[dict[str, float], set[str]]:
    """Regional total per reported indicator, and the ids that have a target of their own."""
    counties = max(len(config.counties), 1)
    totals: dict[str, float] = {}
    for indicator in _reported(config):
        low, high = _PER_COUNTY_SCALE.get(indicator.kind, (1, 30))
        per_county = math.exp(_rng(seed, "scale", indicator.id).uniform(math.log(low), math.log(high)))
        totals[indicator.id] = per_county if indicator.kind == "ratio" else per_county * counties
    targeted: set[str] = set()
    for target in config.targets:
        indicator = config.indicator(target.indicator)
        if indicator.id in totals:
            totals[indicator.id] = _goal(target, indicator, performance[indicator.activity], seed)
            targeted.add(indicator.id)
    for a, b in _simple_pairs(config):
        if a in totals and b in totals:
            ratio = _rng(seed, "pair", a, b).uniform(0.8, 0.95)
            if a in targeted and b not in targeted:
                totals[b] = totals[a] / ratio
            elif a not in targeted:
                totals[a] = totals[b] * ratio
    for target in config.targets:
        indicator = config.indicator(target.indicator)
        if indicator.compute_expr is not None:
            _aim(indicator.compute_expr, totals, _goal(target, indicator, performance[indicator.activity], seed), targeted)
    return totals, targeted


def _final_figures(config: Config, seed: int, performance: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """Every reporting unit's figures at the end of the campaign (unrounded)."""
    totals, _ = _regional_totals(config, seed, performance)
    sizes = _county_sizes(config, seed)
    finals: dict[str, dict[str, float]] = {u.code: {} for u in config.reporting_units()}
    for indicator in _reported(config):
        for code, value in _split_total(config, seed, indicator, totals[indicator.id], sizes).items():
            if code in finals:
                finals[code][indicator.id] = value
    for code, figures in finals.items():
        _clip_to_detail_rows(config, code, figures)
        _respect_pairs(config, seed, code, figures, totals)
        _repair_rules(config, code, figures)
    return finals


def _split_total(config: Config, seed: int, indicator: Indicator, total: float,
                 sizes: Mapping[str, float]) -> dict[str, float]:
    """The total shared between its reporters (see the module docstring)."""
    rng = _rng(seed, "split", indicator.id)
    reported_by = indicator.reported_by
    counties = config.group_members(reported_by.counties) if reported_by.counties != "none" else []
    if indicator.kind == "ratio":   # a reported ratio: each reporter near the regional level
        return {code: min(1.0, total * rng.uniform(0.85, 1.15)) for code in counties + reported_by.units}
    source = indicator.source
    shares: dict[str, float] = {}
    if source == "counties":
        county_total = total
        for code in reported_by.units:
            shares[code] = total * rng.uniform(0.1, 0.4)
    else:
        weights = {code: rng.uniform(0.8, 1.2) for code in source}
        for code, weight in weights.items():
            shares[code] = total * weight / sum(weights.values())
        for code in reported_by.units:
            shares.setdefault(code, total * rng.uniform(0.1, 0.4))
        county_total = total * rng.uniform(0.2, 0.5)
    if counties:
        weights = {c: sizes[c] * _rng(seed, "share", indicator.id, c).lognormvariate(0, 0.3) for c in counties}
        if indicator.kind == "count":
            # whole items apportioned exactly: rounding ~0.5 zone per county would lose the total
            shares.update(zip(weights, _largest_remainder(round(county_total), list(weights.values()))))
        else:
            whole = sum(weights.values())
            shares.update({c: county_total * w / whole for c, w in weights.items()})
    return shares


def _clip_to_detail_rows(config: Config, code: str, figures: dict[str, float]) -> None:
    """A list cannot hold more rows than the form offers, so neither can the figure it totals."""
    for detail in config.details_for(code):
        for total in detail.totals:
            if total.equals in figures:
                figures[total.equals] = min(figures[total.equals], detail.max_rows)


def _respect_pairs(config: Config, seed: int, code: str, figures: dict[str, float],
                   totals: Mapping[str, float]) -> None:
    """For `a <= b`: the unit's a is its b times the regional ratio (±10 %), never above b."""
    for a, b in _simple_pairs(config):
        if a in figures and b in figures and totals.get(b):
            ratio = totals[a] / totals[b] * _rng(seed, "pair-unit", a, b, code).uniform(0.9, 1.1)
            figures[a] = figures[b] * min(ratio, 1.0)


def _repair_rules(config: Config, code: str, figures: dict[str, float]) -> None:
    """A rule still failing (one that is not a simple pair) is met with a 5 % margin by
    scaling the first figure on its left side."""
    for rule in config.rules_for(code):
        node = rule.expr
        if expr.evaluate(node, figures) is not False or not isinstance(node, expr.Binary):
            continue
        bound = expr.evaluate(node.right, figures)
        if bound is None:
            continue
        goal = bound * (0.95 if node.op in ("<=", "<") else 1.05)
        _aim(node.left, figures, goal)


def _progress(t: float, midpoint: float) -> float:
    """Share of the final figure reached when a share `t` of the campaign has elapsed: a
    logistic curve rescaled to run from 0 at the start to 1 at the end."""
    def logistic(x: float) -> float:
        return 1 / (1 + math.exp(-_CURVE_STEEPNESS * (x - midpoint)))
    low, high = logistic(0.0), logistic(1.0)
    return min(1.0, max(0.0, (logistic(t) - low) / (high - low)))


def _curve_activity(config: Config, indicator: Indicator) -> str:
    """A figure bounded by another (a <= b) grows on b's curve, so the rule holds every week."""
    for a, b in _simple_pairs(config):
        if a == indicator.id:
            return config.indicator(b).activity
    return indicator.activity


def _rounded(value: float, kind: str) -> float:
    if kind == "count":
        return int(math.floor(value + 0.5))
    if kind == "ratio":
        return round(value, 4)
    return round(value + 1e-9, 2)


def _cumulative(config: Config, seed: int, unit: Unit, finals: Mapping[str, float]) -> dict[int, dict[str, float]]:
    by_period: dict[int, dict[str, float]] = {}
    for period in config.periods:
        t = config.campaign.time_schedule(period.cutoff)
        figures: dict[str, float] = {}
        for indicator in config.indicators_for(unit):
            if indicator.id not in finals:
                continue
            if indicator.kind == "ratio":
                figures[indicator.id] = _rounded(finals[indicator.id], "ratio")
                continue
            midpoint = _rng(seed, "curve", unit.code, _curve_activity(config, indicator)).uniform(0.3, 0.5)
            figures[indicator.id] = _rounded(finals[indicator.id] * _progress(t, midpoint), indicator.kind)
        by_period[period.number] = figures
    return by_period


# ---- detail rows -----------------------------------------------------------------------------------

_STREETS = ("人民路", "解放路", "建设路", "新华路", "朝阳路", "文化路", "和平路", "中山路", "民主路", "育才路")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁韦蒙覃莫陆"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玲红建文斌宁海燕"


def _unit_details(config: Config, seed: int, unit: Unit,
                  figures: Mapping[int, Mapping[str, float]]) -> dict[int, dict[str, list[dict[str, Any]]]]:
    result: dict[int, dict[str, list[dict[str, Any]]]] = {p.number: {} for p in config.periods}
    for detail in config.details_for(unit):
        for number, rows in _DetailRows(config, seed, unit, detail, figures).by_period().items():
            result[number][detail.id] = rows
    return result


@dataclass
class _DetailRows:
    """The rows of one unit's detail list in every period (see the module docstring)."""

    config: Config
    seed: int
    unit: Unit
    detail: DetailList
    figures: Mapping[int, Mapping[str, float]]

    def by_period(self) -> dict[int, list[dict[str, Any]]]:
        count_all = next((t.equals for t in self.detail.totals if t.count_all), None)
        status = next((t for t in self.detail.totals if t.count_where), None)
        opened = self._opening_dates(status.equals if status else None)
        result = {}
        for period in self.config.periods:
            figures = self.figures[period.number]
            active = int(figures.get(status.equals, 0)) if status else 0
            total = int(figures.get(count_all, active)) if count_all else active
            # Items not active are mostly not open yet; of three or more, the last is paused.
            paused = total - 1 if total - active >= 3 else -1
            rows = []
            for k in range(total):
                state = "active" if k < active else "paused" if k == paused else "waiting"
                day = opened.get(k) if state == "active" else (
                    min(self.config.campaign.start + dt.timedelta(days=k % 7), period.cutoff) if state == "paused" else None)
                rows.append(self._row(k, state, day))
            self._allocate_money(rows, period.number, period.cutoff)
            result[period.number] = rows
        return result

    def _opening_dates(self, active_indicator: Optional[str]) -> dict[int, dt.date]:
        """Item k opens in the first period in which it is counted as active, on a day
        between the previous cut-off and this one."""
        dates: dict[int, dt.date] = {}
        start = self.config.campaign.start
        for period in self.config.periods:
            active = int(self.figures[period.number].get(active_indicator, 0)) if active_indicator else 0
            for k in range(len(dates), active):
                span = max((period.cutoff - start).days, 0)
                dates[k] = start + dt.timedelta(days=_rng(self.seed, "opened", self.unit.code, k).randint(0, span))
            start = period.cutoff + dt.timedelta(days=1)
        return dates

    def _status_value(self, column_id: str, state: str) -> Optional[str]:
        """The choice for a status column: the counted value when active, else the first other
        choice (not open yet) or the last one (paused)."""
        for total in self.detail.totals:
            if total.count_where and column_id in total.count_where:
                wanted = total.count_where[column_id]
                column = next(c for c in self.detail.columns if c.id == column_id)
                others = [c for c in column.choices if c != wanted] or [wanted]
                return wanted if state == "active" else others[-1] if state == "paused" else others[0]
        return None

    def _row(self, k: int, state: str, day: Optional[dt.date]) -> dict[str, Any]:
        rng = _rng(self.seed, "row", self.unit.code, self.detail.id, k)
        row: dict[str, Any] = {}
        for column in self.detail.columns:
            status = self._status_value(column.id, state)
            if status is not None:
                row[column.id] = status
            elif column.kind == "choice":
                # the last choice (其他 by convention) is drawn less often
                weights = [0.3 if i == len(column.choices) - 1 and len(column.choices) > 2 else 1.0
                           for i in range(len(column.choices))]
                row[column.id] = rng.choices(column.choices, weights)[0]
            elif column.kind == "date":
                row[column.id] = day
            elif column.kind == "count":
                row[column.id] = rng.randint(1, 20)
            elif column.kind == "number":
                row[column.id] = round(rng.uniform(1, 50), 2)
        texts = [c for c in self.detail.columns if c.kind == "text"]
        if texts:
            row[texts[0].id] = self._name(row, k)
        for column in texts[1:2]:
            row[column.id] = f"{self.unit.city_name or ''}{self.unit.name}{rng.choice(_STREETS)}{rng.randint(1, 300)}号"
        return row

    def _name(self, row: dict[str, Any], k: int) -> str:
        """`{unit}{site}{activity}` (武鸣区学校消费扶贫专柜), numbered when the site is the
        catch-all last choice."""
        site = next((c for c in self.detail.columns if c.kind == "choice" and self._status_value(c.id, "active") is None), None)
        label = self._label()
        if site is None or row[site.id] == site.choices[-1]:
            return f"{self.unit.name}{label}{k + 1}号"
        return f"{self.unit.name}{row[site.id]}{label}"

    def _label(self) -> str:
        for total in self.detail.totals:
            return self.config.activity(self.config.indicator(total.equals).activity).short_name
        return self.detail.name.removesuffix("明细")

    def _allocate_money(self, rows: list[dict[str, Any]], period: int, cutoff: dt.date) -> None:
        """Money columns share the unit's money figure of the same activity among open items,
        by days open (to the cent); items never opened have none."""
        money = [c for c in self.detail.columns if c.kind == "money"]
        total = self._money_figure(period)
        if not money or not rows or total is None:
            return
        dated = next((c for c in self.detail.columns if c.kind == "date"), None)
        weights = []
        for k, row in enumerate(rows):
            opened = row.get(dated.id) if dated else None
            days = (cutoff - opened).days + 1 if opened else 0
            weights.append(days * _rng(self.seed, "sales", self.unit.code, k).uniform(0.5, 1.5))
        cents = _largest_remainder(round(total * 100), weights)
        for row, share, weight in zip(rows, cents, weights):
            for column in money:
                row[column.id] = round(share / 100, 2) if weight else None

    def _money_figure(self, period: int) -> Optional[float]:
        activities = {self.config.indicator(t.equals).activity for t in self.detail.totals}
        for indicator in self.config.indicators_for(self.unit):
            if indicator.kind == "money" and indicator.activity in activities:
                return self.figures[period].get(indicator.id)
        return None


def _largest_remainder(whole: int, weights: Sequence[float]) -> list[int]:
    """Split a whole number in proportion to weights, exactly (Hamilton's method)."""
    total = sum(weights)
    if whole <= 0 or total <= 0:
        return [0] * len(weights)
    raw = [whole * w / total for w in weights]
    parts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))
    for i in order[: whole - sum(parts)]:
        parts[i] += 1
    return parts


def _person(seed: int, code: str) -> tuple[str, str]:
    rng = _rng(seed, "person", code)
    name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
    phone = "1" + rng.choice("3589") + "".join(str(rng.randint(0, 9)) for _ in range(9))
    return name, phone


# ---- people's behaviour ---------------------------------------------------------------------------

def _plans(config: Config, seed: int, units: Sequence[Unit],
           figures: Mapping[str, Mapping[int, Mapping[str, float]]]) -> dict[int, PeriodPlan]:
    """One plan per period, in order: a plan needs each unit's last accepted figures (for an
    error that types a figure below them), which depend on the plans before it."""
    plans: dict[int, PeriodPlan] = {}
    accepted: dict[str, Mapping[str, float]] = {}
    for index, period in enumerate(config.periods):
        plan = _PlanMaker(config, seed, index, units, figures, accepted).make()
        plans[period.number] = plan
        for unit in units:
            if unit.code not in plan.missing and unit.code not in plan.abandoned:
                accepted[unit.code] = figures[unit.code][period.number]
    return plans


@dataclass
class _PlanMaker:
    config: Config
    seed: int
    index: int
    units: Sequence[Unit]
    figures: Mapping[str, Mapping[int, Mapping[str, float]]]
    accepted: Mapping[str, Mapping[str, float]]

    @property
    def number(self) -> int:
        return self.config.periods[self.index].number

    def make(self) -> PeriodPlan:
        rng = _rng(self.seed, "plan", self.number)
        order = [u.code for u in self.units]
        rng.shuffle(order)
        n = len(order)
        final = self.index == len(self.config.periods) - 1
        missing = order[: 0 if final or n < 4 else max(1, round(0.02 * n))]
        rest = order[len(missing):]
        errors = self._errors(rest, n)
        abandoned = tuple(list(errors)[-1:]) if self.index % 2 == 0 and len(errors) > 1 else ()
        free = [c for c in rest if c not in errors]
        eml, zipped, duplicated, stray = self._vias(free)
        quirk_pool = list(free)
        _rng(self.seed, "quirk-order", self.number).shuffle(quirk_pool)
        late_pool = [c for c in free if c not in zipped]   # a zip's time is the forwarding office's
        _rng(self.seed, "late-order", self.number).shuffle(late_pool)
        late = tuple(late_pool[: max(1, round(0.06 * n))])
        slips = {quirk_pool[-1]: BAD_PHONE} if quirk_pool else {}
        return PeriodPlan(self.number, tuple(missing), late, errors, abandoned, eml, zipped, duplicated, stray,
                          self._quirks(quirk_pool), slips)

    # -- errors
    def _errors(self, candidates: list[str], n: int) -> dict[str, str]:
        wanted = min(len(ERRORS), max(2, n // 30))
        start = (self.index * wanted) % len(ERRORS)
        kinds = [ERRORS[(start + i) % len(ERRORS)] for i in range(len(ERRORS))]
        errors: dict[str, str] = {}
        for kind in kinds:
            if len(errors) == wanted:
                break
            code = next((c for c in candidates if c not in errors and self._can_err(kind, c)), None)
            if code is not None:
                errors[code] = kind
        return errors

    def _can_err(self, kind: str, code: str) -> bool:
        if kind == RULE_BROKEN:
            return _breakable_pair(self.config, code) is not None
        if kind == NOT_A_NUMBER:
            return any(i.kind == "count" for i in self.config.indicators_for(code))
        if kind == BELOW_PREVIOUS:
            return _lowerable(self.config, self.figures[code][self.number], self.accepted.get(code)) is not None
        return True

    # -- how returns are sent
    def _vias(self, free: list[str]) -> tuple[tuple[str, ...], ...]:
        pool = list(free)
        eml = pool[:1]
        pool = pool[1:]
        zipped = self._two_of_a_city(pool)
        pool = [c for c in pool if c not in zipped]
        return tuple(eml), tuple(zipped), tuple(pool[:1]), tuple(pool[1:2])

    def _two_of_a_city(self, pool: list[str]) -> list[str]:
        """Two counties of one city (a city office forwarding its counties' returns in a zip)."""
        city_of = {u.code: u.city_code for u in self.units}
        for code in pool:
            partner = next((c for c in pool if c != code and city_of[code] and city_of[c] == city_of[code]), None)
            if partner:
                return [code, partner]
        return pool[:2]

    # -- quirks
    def _quirks(self, pool: list[str]) -> dict[str, tuple[str, ...]]:
        """Each quirk once per period, on a unit where it shows (a count for １２ and 个, a
        figure of 1,000 or more for the separators, …), preferring units without one yet."""
        wanted = [(FULLWIDTH, "count"), (UNIT_SUFFIX, "count"), (UNIT_SUFFIX, "money"), (THOUSANDS, "big"),
                  (TEXT_NUMBER, "any"), (BLANK_ROW, None), (BLANK_COLUMN, None), (RENAME_SHEET, None)]
        quirks: dict[str, list[str]] = {}
        for kind, what in wanted:
            ranked = sorted(pool, key=lambda c: c in quirks)   # stable: untouched units first
            for code in ranked:
                quirk = self._quirk(kind, what, code, quirks.get(code, []))
                if quirk:
                    quirks.setdefault(code, []).append(quirk)
                    break
        return {code: tuple(q) for code, q in quirks.items()}

    def _quirk(self, kind: str, what: Optional[str], code: str, taken: list[str]) -> Optional[str]:
        if what is None:
            if kind == RENAME_SHEET:
                unit = self.config.unit(code)
                return f"{RENAME_SHEET}:{unit.name}第{self.number}期"
            return kind
        used = {q.split(":", 1)[1] for q in taken if ":" in q}
        figures = self.figures[code][self.number]
        fitting = []
        for indicator in self.config.indicators_for(code):
            value = figures.get(indicator.id)
            if value is None or indicator.name in used or indicator.kind == "ratio":
                continue
            if {"count": indicator.kind == "count" and value > 0, "money": indicator.kind == "money" and value > 0,
                    "big": value >= 1000, "any": value > 0}[what]:
                fitting.append(indicator.name)
        if not fitting:
            return None
        return f"{kind}:{_rng(self.seed, 'quirk', self.number, code, kind).choice(fitting)}"


def _breakable_pair(config: Config, code: str) -> Optional[tuple[str, str]]:
    """A rule `a <= b` with severity 错误 that the unit's form carries."""
    blocking = {r.id for r in config.rules_for(code) if r.severity.value == "错误"}
    for rule in config.rules:
        if rule.id in blocking:
            node = rule.expr
            if isinstance(node, expr.Binary) and isinstance(node.left, expr.Name) and isinstance(node.right, expr.Name):
                if node.op in ("<=", "<"):
                    return node.left.id, node.right.id
                if node.op in (">=", ">"):
                    return node.right.id, node.left.id
    return None


def _lowerable(config: Config, current: Mapping[str, float], previous: Optional[Mapping[str, float]]) -> Optional[str]:
    """A cumulative figure whose last accepted value is at least 2 (so a lower one exists)."""
    if not previous:
        return None
    for indicator_id, value in previous.items():
        if config.indicator(indicator_id).kind in ("count", "money", "number") and value >= 2 and indicator_id in current:
            return indicator_id
    return None


# ---- deliveries -----------------------------------------------------------------------------------

def first_intake_at(config: Config, period: int) -> dt.datetime:
    """When the office first reads the inbox (the end of batch 1): a day after the deadline.
    Late returns arrive before it; corrections (batch 2) after it."""
    return config.period(period).deadline + dt.timedelta(days=1)


def deliveries(sim: Simulation, period: int) -> list[Delivery]:
    """Everything that arrives for `period`, both batches, ordered by (batch, received_at, unit)."""
    config, plan = sim.config, sim.plans[period]
    result: list[Delivery] = []
    zip_time: dict[str, dt.datetime] = {}
    for unit in sim.units:
        code = unit.code
        if code in plan.missing:
            continue
        when = _arrival(sim, period, code, code in plan.late)
        if code in plan.zipped:
            when = zip_time.setdefault("zip", when)
        via = EML if code in plan.eml else ZIP if code in plan.zipped else FILE
        correct = _return(sim, unit, period, 1, via, when, plan.quirks.get(code, ()))
        if code in plan.slips:
            correct = _with_slip(correct, plan.slips[code])
        if via == ZIP:
            correct = replace(correct, container=_zip_name(sim, plan))
        if code in plan.errors:
            result.append(_with_error(sim, correct, plan.errors[code], period))
            if code not in plan.abandoned:
                later = first_intake_at(config, period) + _minutes(sim, period, code, "fix", 60, 20 * 60)
                stem = correct.file_name.removesuffix(".xlsx")
                result.append(replace(correct, batch=2, via=FILE, received_at=later, quirks=(), container="",
                                      file_name=f"{stem}（修改）.xlsx"))
        else:
            result.append(correct)
            if code in plan.duplicated:
                again = min(when + _minutes(sim, period, code, "dup", 5, 180), first_intake_at(config, period)
                            - dt.timedelta(minutes=1))
                result.append(replace(correct, via=DUPLICATE, received_at=again))
        if code in plan.stray:
            result.append(Delivery(1, code, {}, {}, {}, (), NOT_A_RETURN, when + dt.timedelta(minutes=2),
                                   f"{unit.name}{config.campaign.name}开展情况.pdf"))
    return sorted(result, key=lambda d: (d.batch, d.received_at, d.unit_code, d.via))


def _minutes(sim: Simulation, period: int, code: str, what: str, low: int, high: int) -> dt.timedelta:
    return dt.timedelta(minutes=_rng(sim.seed, "time", what, period, code).randint(low, high))


def _arrival(sim: Simulation, period: int, code: str, late: bool) -> dt.datetime:
    """On time: between 15:00 on the cut-off day and half an hour before the deadline;
    late: up to 20 hours after the deadline (before the office's first intake)."""
    deadline = sim.config.period(period).deadline
    if late:
        return deadline + _minutes(sim, period, code, "late", 10, 20 * 60)
    opens = dt.datetime.combine(sim.config.period(period).cutoff, dt.time(15, 0))
    span = max(int((deadline - opens).total_seconds() // 60) - 30, 1)
    return opens + _minutes(sim, period, code, "arrive", 0, span)


def _zip_name(sim: Simulation, plan: PeriodPlan) -> str:
    cities = {sim.config.unit(c).city_name for c in plan.zipped}
    who = cities.pop() if len(cities) == 1 and None not in cities else "多单位"
    return f"{who}第{plan.period}期报表.zip"


def correct_entries(sim: Simulation, unit: Unit, period: int) -> tuple[dict, dict, dict]:
    """What a careful clerk types into the unit's form: (indicator name -> figure, detail sheet
    name -> rows of column name -> value, header label -> value), as `fill_form` takes them."""
    config = sim.config
    values = {config.indicator(i).name: v for i, v in sim.figures[unit.code][period].items()}
    details = {}
    for detail in config.details_for(unit):
        names = {c.id: c.name for c in detail.columns}
        rows = sim.details[unit.code][period].get(detail.id, [])
        details[detail.name] = [{names[k]: v for k, v in row.items() if v is not None} for row in rows]
    person, phone = sim.people[unit.code]
    return values, details, {"填报人": person, "联系电话": phone}


def _return(sim: Simulation, unit: Unit, period: int, batch: int, via: str, when: dt.datetime,
            quirks: tuple[str, ...]) -> Delivery:
    values, details, header = correct_entries(sim, unit, period)
    return Delivery(batch, unit.code, values, details, header, tuple(quirks), via, when,
                    form_filename(sim.config, unit, period), dict(sim.figures[unit.code][period]),
                    narrative=narrative_for(sim.config, sim.seed, unit, period))


def _with_error(sim: Simulation, delivery: Delivery, kind: str, period: int) -> Delivery:
    """The same return with one deliberate error typed in (see ERRORS)."""
    config, code = sim.config, delivery.unit_code
    values, header = dict(delivery.values), dict(delivery.header)
    figures = delivery.figures
    if kind == RULE_BROKEN:
        a, b = _breakable_pair(config, code)
        bound = figures.get(b, 0)
        values[config.indicator(a).name] = _rounded(bound + max(1, bound * 0.2), config.indicator(a).kind)
    elif kind == NOT_A_NUMBER:
        indicator = next(i for i in config.indicators_for(code) if i.kind == "count")
        values[indicator.name] = f"约{figures.get(indicator.id, 0) or 20}"
    elif kind == BELOW_PREVIOUS:
        previous = _last_accepted_before(sim, code, period)
        indicator_id = _lowerable(config, figures, previous)
        last = previous[indicator_id]
        increase = figures[indicator_id] - last
        # the week's increase typed instead of the cumulative figure; else a slip below last week
        typed = increase if 0 <= increase < last else last - 1
        values[config.indicator(indicator_id).name] = _rounded(typed, config.indicator(indicator_id).kind)
    return replace(delivery, values=values, header=header, error=kind)


def _with_slip(delivery: Delivery, kind: str) -> Delivery:
    """The same return with a slip validate warns about (see SLIPS)."""
    header = dict(delivery.header)
    if kind == BAD_PHONE:
        header["联系电话"] = header["联系电话"][:-1]
    return replace(delivery, header=header, slip=kind)


def _last_accepted_before(sim: Simulation, code: str, period: int) -> Optional[Mapping[str, float]]:
    """The unit's true figures of the last earlier period in which a return of it was accepted."""
    numbers = sim.periods
    for number in reversed(numbers[: numbers.index(period)]):
        plan = sim.plans[number]
        if code not in plan.missing and code not in plan.abandoned:
            return sim.figures[code][number]
    return None


def expected_accepted(sim: Simulation, period: int) -> dict[str, dict[str, float]]:
    """The figures (unit code -> indicator id -> value) the pipeline should hold as accepted
    for each unit after both batches of `period`: those of the unit's last correct return.

    A unit with no accepted return this period (missing, or its only return rejected) keeps
    its last accepted figures when `campaign.missing_returns` is `carry` (as consolidation
    shows them, marked 沿用上期), and is left out when it is `none` or it never had any."""
    numbers = sim.periods
    carried = expected_accepted(sim, numbers[numbers.index(period) - 1]) if numbers.index(period) > 0 else {}
    latest: dict[str, Delivery] = {}
    for delivery in deliveries(sim, period):
        if delivery.acceptable:
            latest[delivery.unit_code] = delivery
    result: dict[str, dict[str, float]] = {}
    for unit in sim.units:
        if unit.code in latest:
            result[unit.code] = dict(latest[unit.code].figures)
        elif sim.config.campaign.missing_returns == "carry" and unit.code in carried:
            result[unit.code] = carried[unit.code]
    return result


def _counts_for_region(indicator: Indicator, unit: Unit) -> bool:
    source = indicator.source
    if source == "counties":
        return unit.kind == "county"
    return unit.code in source


# ---- the inbox ------------------------------------------------------------------------------------

def write_inbox(sim: Simulation, period: int, batch: int, forms_dir: Path, inbox_dir: Path) -> list[Path]:
    """Write what arrives in batch `batch` of `period` into `inbox_dir`, as the office saves it:
    one folder per day received (`2020-09-13/`), returns as .xlsx, the mail as .eml, the zip,
    the duplicate (`… (1).xlsx`) and the stray file; each file's modification time is its
    arrival. Forms are read from `forms_dir` (named by `forms.form_filename`). Returns the
    paths written, sorted."""
    forms_dir, inbox_dir = Path(forms_dir), Path(inbox_dir)
    filled: dict[tuple[str, int], bytes] = {}

    def content(delivery: Delivery) -> bytes:
        key = (delivery.unit_code, delivery.batch)
        if key not in filled:   # the duplicate reuses these bytes: an exact copy
            form = forms_dir / form_filename(sim.config, delivery.unit_code, period)
            if not form.is_file():
                raise FileNotFoundError(f"找不到填报表 {form}（请先生成第{period}期填报表）")
            filled[key] = _fill_bytes(form, delivery.values, delivery.details, {**delivery.header, **delivery.narrative},
                                          delivery.quirks)
        return filled[key]

    written: list[Path] = []
    zips: dict[str, list[Delivery]] = {}
    for delivery in (d for d in deliveries(sim, period) if d.batch == batch):
        folder = inbox_dir / f"{delivery.received_at:%Y-%m-%d}"
        if delivery.via == ZIP:
            zips.setdefault(delivery.container, []).append(delivery)
            continue
        if delivery.via == FILE:
            path, data = folder / delivery.file_name, content(delivery)
        elif delivery.via == DUPLICATE:
            path, data = folder / f"{delivery.file_name.removesuffix('.xlsx')} (1).xlsx", content(delivery)
        elif delivery.via == EML:
            subject = _subject(sim, delivery, period)
            path, data = folder / f"{subject}.eml", _mail(sim, delivery, subject, content(delivery))
        else:
            path, data = folder / delivery.file_name, _PDF
        written.append(_save(path, data, delivery.received_at))
    for name, group in zips.items():
        folder = inbox_dir / f"{group[0].received_at:%Y-%m-%d}"
        written.append(_save(folder / name, _zip(group, content), group[0].received_at))
    return sorted(written)


def mail_inbox(sim: Simulation, period: int, batch: int, forms_dir: Path) -> list[bytes]:
    """What arrives in batch `batch` of `period` as the office's mailbox receives it: every
    return mailed with its workbook attached (the zip, the duplicate sent twice, the stray PDF
    each in a mail of their own). The same deliveries as `write_inbox`, in the same order."""
    forms_dir = Path(forms_dir)
    filled: dict[tuple[str, int], bytes] = {}

    def content(delivery: Delivery) -> bytes:
        key = (delivery.unit_code, delivery.batch)
        if key not in filled:
            form = forms_dir / form_filename(sim.config, delivery.unit_code, period)
            filled[key] = _fill_bytes(form, delivery.values, delivery.details, {**delivery.header, **delivery.narrative},
                                          delivery.quirks)
        return filled[key]

    mails: list[bytes] = []
    zips: dict[str, list[Delivery]] = {}
    for delivery in (d for d in deliveries(sim, period) if d.batch == batch):
        subject = _subject(sim, delivery, period)
        if delivery.via == ZIP:
            zips.setdefault(delivery.container, []).append(delivery)
        elif delivery.via == NOT_A_RETURN:
            mails.append(_mail(sim, delivery, subject, _PDF, subtype="pdf"))
        else:
            mails.append(_mail(sim, delivery, subject, content(delivery)))
    for name, group in zips.items():
        mails.append(_mail(sim, group[0], _subject(sim, group[0], period), _zip(group, content), name=name,
                           subtype="zip"))
    return mails


def unit_mailbox(sim: Simulation, code: str) -> str:
    """The simulated unit's mailbox (its registered contact, else one made up for it)."""
    return _sender(sim, code)


def _save(path: Path, data: bytes, when: dt.datetime) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = when.timestamp()   # naive: the machine's local time, as a saved attachment gets
    os.utime(path, (stamp, stamp))
    return path


def _zip(group: list[Delivery], content: Callable[[Delivery], bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for delivery in group:
            info = zipfile.ZipInfo(delivery.file_name, date_time=delivery.received_at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content(delivery))
    return out.getvalue()


def _sender(sim: Simulation, code: str) -> str:
    known = sim.config.addresses(code)
    return known[0] if known else f"fpb@{code.lower()}.example.gov.cn"


def _subject(sim: Simulation, delivery: Delivery, period: int) -> str:
    unit = sim.config.unit(delivery.unit_code)
    return f"{unit.full_name}第{period}期{sim.config.campaign.name}进展情况报表"


def _mail(sim: Simulation, delivery: Delivery, subject: str, attachment: bytes, *, name: Optional[str] = None,
          subtype: str = "vnd.openxmlformats-officedocument.spreadsheetml.sheet") -> bytes:
    """The return as a clerk mails it: a short Chinese note and the workbook attached."""
    unit = sim.config.unit(delivery.unit_code)
    person, phone = delivery.header.get("填报人", ""), delivery.header.get("联系电话", "")
    message = EmailMessage()
    message["From"] = Address(unit.full_name, addr_spec=_sender(sim, delivery.unit_code))
    message["To"] = Address(sim.config.campaign.office_short, addr_spec="office@example.gov.cn")
    message["Subject"] = subject
    # Naive campaign times are local: stamp them with this machine's offset, like the file times.
    message["Date"] = format_datetime(delivery.received_at.astimezone())
    message["Message-ID"] = f"<{delivery.received_at:%Y%m%d%H%M%S}.{delivery.unit_code}@example.gov.cn>"
    message.set_content(f"{sim.config.campaign.office_short}：\n\n    附件是我单位{subject}，请查收。\n\n"
                        f"{unit.full_name}  {person}  {phone}\n")
    message.add_attachment(attachment, maintype="application", subtype=subtype, filename=name or delivery.file_name)
    # a fixed boundary keeps the mail the same bytes for the same seed
    message.set_boundary(f"==xf-demo-{delivery.unit_code}-{delivery.received_at:%Y%m%d%H%M}-{delivery.batch}==")
    return message.as_bytes()
