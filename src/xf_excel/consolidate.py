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
from dataclasses import dataclass, field
from typing import Literal, Optional

from .config import Config, Indicator, Period, Target, Unit
from .issues import Issue

__all__ = [
    "UnitRow", "AreaTotals", "Progress", "CityProgress", "ReportingStatus", "Consolidation", "consolidate",
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


@dataclass
class CityProgress:
    """A city's standing on the ranking indicator."""

    code: str
    name: str
    value: Optional[float]
    target: Optional[float]               # the city's own target (city_targets) or None
    completion: Optional[float]           # value / city target, when a city target exists
    share: Optional[float]                # the city's share of the regional total
    rank: int                             # 1 = first
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
    issues: list[Issue]
    history: dict[int, dict[str, Optional[float]]] = field(default_factory=dict)  # period -> regional values
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))


def consolidate(archive, config: Config, period: int) -> Consolidation:  # noqa: D103 (filled in below)
    raise NotImplementedError
