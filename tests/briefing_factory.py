"""Build `Consolidation` objects directly (no archive, no consolidate()) for briefing tests,
the benchmark and the sample page image.

`make_consolidation` sums the figures it is given the way the consolidation rules say
(base indicators summed from counties, or taken from the counted member unit; derived ones
recomputed on the sums), so tests can state their inputs and compute expectations on their own.
`realistic_consolidation` fills all of a config's counties with plausible numbers.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Iterable, Optional

from xf_excel.config import expr
from xf_excel.config import Config, Indicator
from xf_excel.consolidate import (
    AreaTotals, CityProgress, Consolidation, Progress, ReportingStatus, UnitRow,
)
from xf_excel.issues import Issue, IssueCode, Severity

Values = dict[str, Optional[float]]


def _with_derived(config: Config, values: Values) -> Values:
    out = dict(values)
    for ind in config.indicators:
        if ind.compute_expr is not None:
            result = expr.evaluate(ind.compute_expr, out)
            out[ind.id] = None if result is None else float(result)
    return out


def _sum(values: Iterable[Optional[float]]) -> Optional[float]:
    present = [v for v in values if v is not None]
    return math.fsum(present) if present else None


def _count_meeting(config: Config, ind: Indicator, rows: list[Values]) -> Optional[float]:
    rule = ind.count_meeting
    ops = {">=": float.__ge__, "<=": float.__le__, ">": float.__gt__, "<": float.__lt__}
    judged = [r.get(rule.indicator) for r in rows if r.get(rule.indicator) is not None]
    return float(sum(ops[rule.op](float(v), rule.value) for v in judged)) if judged else None


def _area(config: Config, county_rows: list[Values], member_values: dict[str, Values], *, region: bool) -> Values:
    """Base indicators summed (from counties, or the counted member unit for the region), then derived."""
    values: Values = {}
    for ind in config.indicators:
        if ind.derived:
            continue
        source = ind.source
        if region and source != "counties":
            values[ind.id] = _sum(member_values.get(code, {}).get(ind.id) for code in source)
        else:
            values[ind.id] = _sum(r.get(ind.id) for r in county_rows)
    values = _with_derived(config, values)
    for ind in config.indicators:
        if ind.count_meeting is not None:
            values[ind.id] = _count_meeting(config, ind, [_with_derived(config, r) for r in county_rows])
    return values


def make_consolidation(
    config: Config,
    period: int,
    counties: dict[str, Values],
    members: Optional[dict[str, Values]] = None,
    *,
    previous_counties: Optional[dict[str, Values]] = None,
    previous_members: Optional[dict[str, Values]] = None,
    missing: Iterable[str] = (),
    rejected: Iterable[str] = (),
    issues: Optional[list[Issue]] = None,
    history: Optional[dict[int, Values]] = None,
    generated_at: dt.datetime = dt.datetime(2020, 9, 21, 10, 0),
) -> Consolidation:
    """A consolidation of `period` from per-unit figures (county code / member code -> values).

    Units in `missing` (no return) and `rejected` (sent back) keep their given figures as
    carried-forward rows when the campaign carries missing returns, as consolidate would."""
    members = members or {}
    previous_counties = previous_counties or {}
    previous_members = previous_members or {}
    missing, rejected = set(missing), set(rejected)
    p = config.period(period)
    prev_period = next((q for q in config.periods if q.number == period - 1), None)
    schedule = config.campaign.time_schedule(p.cutoff)

    def unit_row(code: str, values: Values, previous: Values) -> UnitRow:
        state = "reported" if code not in missing | rejected else (
            "carried" if config.campaign.missing_returns == "carry" else "missing")
        return UnitRow(unit=config.unit(code), state=state, values=_with_derived(config, values),
                       previous=_with_derived(config, previous), carried_from=period - 1 if state == "carried" else None)

    county_rows = [unit_row(code, counties.get(code, {}), previous_counties.get(code, {}))
                   for code, u in config.units.items() if u.kind == "county"]
    member_rows = [unit_row(u.code, members.get(u.code, {}), previous_members.get(u.code, {}))
                   for u in config.reporting_units() if u.kind == "member"]
    counted = [r for r in county_rows if r.state != "missing"]

    def area(rows: list[UnitRow], *, region: bool, prev: bool = False) -> Values:
        pick = (lambda r: r.previous) if prev else (lambda r: r.values)
        mv = previous_members if prev else members
        return _area(config, [pick(r) for r in rows], mv, region=region)

    region_values = area(counted, region=True)
    region_prev = area(counted, region=True, prev=True) if prev_period else {}
    reported_units = [r for r in county_rows + member_rows if r.state == "reported"]
    region = AreaTotals(code=config.campaign.region.code, name=config.campaign.region.short_name,
                        values=region_values, previous=region_prev,
                        units_total=len(county_rows) + len(member_rows), units_reported=len(reported_units))
    cities = []
    for city in config.cities:
        rows = [r for r in counted if r.unit.city_code == city.code]
        cities.append(AreaTotals(code=city.code, name=city.name, values=area(rows, region=False),
                                 previous=area(rows, region=False, prev=True) if prev_period else {},
                                 units_total=sum(r.unit.city_code == city.code for r in county_rows),
                                 units_reported=sum(r.state == "reported" for r in rows)))
    return Consolidation(
        config=config, period=p, previous_period=prev_period, time_schedule=schedule,
        counties=county_rows, members=member_rows, cities=cities, region=region,
        progress=_progress(config, counted, region_values, region_prev, schedule, bool(prev_period)),
        city_ranking=_ranking(config, cities, region_values),
        reporting=_reporting(config, county_rows + member_rows, missing, rejected, issues or []),
        issues=list(issues or []), history=dict(history or {}), generated_at=generated_at,
    )


def _progress(config, counted, region_values, region_prev, schedule, has_prev) -> list[Progress]:
    result = []
    for target in config.targets:
        ind = config.indicator(target.indicator)
        if target.scope == "region":
            value, previous = region_values.get(ind.id), region_prev.get(ind.id) if has_prev else None
        else:
            group = [r for r in counted if target.scope in r.unit.groups]
            value = _area(config, [r.values for r in group], {}, region=False).get(ind.id)
            previous = _area(config, [r.previous for r in group], {}, region=False).get(ind.id) if has_prev else None
        increase = value - previous if value is not None and previous is not None else None
        completion = value / target.value if value is not None and not target.is_cap and target.value else None
        if value is None:
            status = "no-data"
        elif target.is_cap:
            status = "within-cap" if value <= target.value else "over-cap"
        else:
            status = "met" if completion >= 1 else ("ahead" if completion >= schedule else "behind")
        result.append(Progress(target=target, indicator=ind, value=value, previous=previous, increase=increase,
                               completion=completion, time_schedule=schedule, status=status))
    return result


def _ranking(config, cities, region_values) -> list[CityProgress]:
    ind = config.ranking_indicator
    if not ind:
        return []
    total = region_values.get(ind)
    ordered = sorted(cities, key=lambda a: (-(a.values.get(ind) or 0), a.code))
    result = []
    for rank, area in enumerate(ordered, start=1):
        value = area.values.get(ind)
        target = config.city_targets.get(ind, {}).get(area.code)
        completion = value / target if value is not None and target else None
        result.append(CityProgress(code=area.code, name=area.name, value=value, target=target, completion=completion,
                                   share=value / total if value is not None and total else None, rank=rank,
                                   behind=False))
    return result


def _reporting(config, rows, missing, rejected, issues) -> list[ReportingStatus]:
    result = []
    for row in rows:
        code = row.unit.code
        state = "missing" if code in missing else "rejected" if code in rejected else "accepted"
        mine = [i for i in issues if i.unit == code]
        result.append(ReportingStatus(
            unit=row.unit, state=state, received_at=None if state == "missing" else "2020-09-20T10:00:00",
            late=False, submissions=0 if state == "missing" else 1,
            errors=sum(i.blocking for i in mine), warnings=sum(not i.blocking for i in mine),
            reminder="" if state == "accepted" else f"请{row.unit.full_name}尽快报送",
            rejections=int(state == "rejected")))
    return result


# ---- a realistic campaign -------------------------------------------------------------------

def _county_figures(config: Config, code: str, scale: float, rng: random.Random) -> Values:
    unit = config.unit(code)
    poor = "national_poverty" in unit.groups
    built = round(rng.uniform(4, 16) * scale)
    values: Values = {
        "counters_built": built, "counters_operating": max(0, built - rng.randint(0, 2)),
        "counter_sales": round(rng.uniform(8, 60) * scale, 2),
        "halls_operating": round(rng.uniform(0.3, 1.6) * scale),
        "hall_sales": round(rng.uniform(10, 90) * scale, 2),
        "institution_purchases": round(rng.uniform(20, 160) * scale, 2),
        "zones_online": round(rng.uniform(0, 0.9) * scale), "zones_offline": round(rng.uniform(0, 0.8) * scale),
        "zone_sales": round(rng.uniform(5, 50) * scale, 2),
        "procurement_832": round(rng.uniform(5, 40) * scale, 2),
        "harvest_events": round(rng.uniform(2, 10) * scale), "harvest_streamers": round(rng.uniform(3, 25) * scale),
        "harvest_sales": round(rng.uniform(10, 120) * scale, 2),
        "union_purchases": round(rng.uniform(50, 400) * scale, 2),
        "sport_villages": round(rng.uniform(3, 12) * scale), "sport_merchants": round(rng.uniform(30, 120) * scale),
        "media_reports": round(rng.uniform(3, 20) * scale), "psa_broadcasts": round(rng.uniform(10, 80) * scale),
        "psa_sms": round(rng.uniform(0.5, 6) * scale, 2),
    }
    if poor:
        certified = rng.randint(80, 220)
        suppliers = rng.randint(20, 70)
        values.update(products_certified=certified, products_listed=round(certified * min(1, rng.uniform(0.4, 0.9) * (0.6 + 0.4 * scale))),
                      suppliers_certified=suppliers, suppliers_listed=round(suppliers * min(1, rng.uniform(0.4, 0.9) * (0.6 + 0.4 * scale))))
    return values


def _member_figures(scale: float) -> dict[str, Values]:
    return {
        "BM05": {"union_purchases": round(68_500 * scale, 2), "voucher_members": round(152_000 * scale),
                 "voucher_amount": round(4_080 * scale, 2)},
        "BM08": {"procurement_832": round(6_120.5 * scale, 2)},
        "BM16": {"fair_products": 1_250, "fair_poverty_products": 468, "fair_deals": round(35_600 * scale, 2),
                 "demo_bases": 36, "shenpin_certs": 52},
        "BM14": {"sport_stars": round(86 * scale), "sport_media": round(112 * scale), "sport_influencers": round(1_260 * scale),
                 "sport_villages": round(1_080 * scale), "sport_merchants": round(9_400 * scale),
                 "sport_vouchers": round(31_500 * scale, 2)},
        "BM03": {"media_reports": 420, "psa_broadcasts": 3_100, "psa_sms": 2_600},
        "BM09": {"harvest_events": 380, "harvest_sales": 12_000},
        "BM10": {"zones_online": 30, "zones_offline": 28, "zone_sales": 9_000},
        "BM13": {"zones_online": 6, "zones_offline": 9},
    }


def realistic_consolidation(config: Config, period: int, *, seed: int = 2020,
                            generated_at: dt.datetime = dt.datetime(2020, 9, 21, 10, 0)) -> Consolidation:
    """Plausible figures for every county and member unit of `config`, growing period by period,
    with a few missing and rejected returns and some data issues (for the sample page and bench)."""
    numbers = [p.number for p in config.periods if p.number <= period]
    last = config.periods[-1].number

    def figures(n: int):
        rng = random.Random(seed)  # same county profile each period, scaled by progress
        scale = (n / last) ** 0.9
        counties = {code: _county_figures(config, code, scale, rng)
                    for code, u in config.units.items() if u.kind == "county"}
        return counties, _member_figures(scale)

    history = {}
    for n in numbers[:-1]:
        counties, members = figures(n)
        history[n] = make_consolidation(config, n, counties, members).region.values
    counties, members = figures(period)
    prev = figures(period - 1) if period > 1 else ({}, {})
    county_codes = [code for code, u in config.units.items() if u.kind == "county"]
    rng = random.Random(seed + period)
    missing = rng.sample(county_codes, 4) + ["BM13"]
    rejected = rng.sample([c for c in county_codes if c not in missing], 2)
    issues = [Issue(code=code, severity=sev, message="示例", unit=unit)
              for code, sev, unit in [(IssueCode.NOT_A_NUMBER, Severity.ERROR, rejected[0]),
                                      (IssueCode.RULE_FAILED, Severity.ERROR, rejected[1]),
                                      (IssueCode.DETAIL_TOTAL_MISMATCH, Severity.WARNING, county_codes[3]),
                                      (IssueCode.DETAIL_TOTAL_MISMATCH, Severity.WARNING, county_codes[9]),
                                      (IssueCode.NORMALISED, Severity.WARNING, county_codes[20])]]
    return make_consolidation(config, period, counties, members, previous_counties=prev[0], previous_members=prev[1],
                              missing=missing, rejected=rejected, issues=issues, history=history,
                              generated_at=generated_at)
