"""The one checker of typed figures: a return's indicator cells and the figures staff type
into the master workbook pass through the same checks, with the same severities and words.

Policy (that of returns): a value that is not one number beyond doubt, a blank required
figure, a figure out of its range, a broken rule and a cumulative figure below the unit's
last accepted one are 错误; a jump beyond the plausible and an outlier among peer counties
are 警告. Harmless normalisation (`１２`, `1,200`, `12个`) is silent: the figure is certain,
and a warning for it would only teach clerks to ignore warnings.

    >>> figures = check_figures(config, unit, {"counters_built": CellValue("１２个", "填报", 8, 5)}, file="x.xlsx")
    >>> figures.values["counters_built"], figures.issues
    (12.0, [])
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional, Sequence

from ..config import Config, Indicator, Unit, expr
from ..issues import HasIssues, Issue, IssueCode, Severity
from ..wording import fmt_date_cn
from .normalize import Parsed, fmt_number, parse_date, parse_number
from .read import CellValue, cell_text, shown_value
from .rules import evaluate_rule, rule_failure

__all__ = ["Figures", "check_figures"]

ERROR, WARNING = Severity.ERROR, Severity.WARNING
_MIN_PEERS = 3


@dataclass
class Figures(HasIssues):
    """The checked figures of one unit: normalised values (None: blank or refused) and issues."""

    values: dict[str, float | str | None]
    issues: list[Issue] = field(default_factory=list)


@dataclass(frozen=True)
class _Where:
    """What every issue of one unit's figures shares."""

    config: Config
    unit: Unit
    file: str
    cells: Mapping[str, CellValue]

    def issue(self, code: IssueCode, severity: Severity, indicator: Indicator, value: Any = None,
              **slots: Any) -> Issue:
        """An issue at the indicator's cell; `value` defaults to the cell as typed."""
        cell = self.cells.get(indicator.id)
        if cell is None:  # a rule whose first figure has no row on the form
            return Issue.of(code, severity, file=self.file, indicator=indicator.id, value=value, unit=self.unit.code,
                            name=indicator.name, text="", **slots)
        return Issue.of(code, severity, file=self.file, sheet=cell.sheet, row=cell.row, column=cell.column,
                        indicator=indicator.id, value=shown_value(cell.value) if value is None else value,
                        unit=self.unit.code, name=indicator.name, text=cell_text(cell.value), **slots)

    def cell_of(self, indicator_id: str) -> str:
        cell = self.cells.get(indicator_id)
        return cell.cell if cell else ""


def check_figures(config: Config, unit: Unit, cells: Mapping[str, CellValue], *, file: str,
                  previous: Mapping[str, Any] | None = None,
                  peers: Mapping[str, Sequence[float]] | None = None) -> Figures:
    """Check the typed figures of one unit: `cells` maps indicator id to the cell as typed
    (indicators the unit does not report are ignored); `previous` holds the unit's last
    accepted values (history checks); `peers` each indicator's county figures (outliers,
    for counties only)."""
    where = _Where(config, unit, file, cells)
    indicators = [i for i in config.indicators_for(unit) if i.id in cells]
    parsed = {i.id: _parse_cell(i, cells[i.id]) for i in indicators}
    values: dict[str, float | str | None] = {i.id: None for i in config.indicators_for(unit)}
    values.update({i.id: parsed[i.id][0] for i in indicators})
    checks = (
        _check_cells(where, indicators, parsed),
        _check_ranges(where, indicators, values),
        _check_rules(where, values),
        _check_history(where, indicators, values, previous or {}),
        _check_peers(where, indicators, values, peers or {}),
    )
    return Figures(values=values, issues=[issue for check in checks for issue in check])


def _parse_cell(indicator: Indicator, cell: CellValue) -> tuple[float | str | None, Optional[Parsed]]:
    """(normalised value, the parse result for numeric indicators)."""
    if indicator.kind == "text":
        return (cell_text(cell.value) or None), None
    if indicator.kind == "date":
        day = parse_date(cell.value, 2000)
        return (day.isoformat() if day else None), None
    result = parse_number(cell.value, indicator.kind, indicator.unit)
    return result.number, result


def _check_cells(where: _Where, indicators: list[Indicator], parsed: dict) -> Iterator[Issue]:
    for indicator in indicators:
        value, result = parsed[indicator.id]
        if result is not None and not result.ok:
            yield where.issue(result.code, ERROR, indicator, reason=result.reason)
        elif value is None and indicator.required:
            yield where.issue(IssueCode.REQUIRED, ERROR, indicator)


def _check_ranges(where: _Where, indicators: list[Indicator], values: dict) -> Iterator[Issue]:
    for indicator in indicators:
        value = values[indicator.id]
        if not isinstance(value, float):
            continue
        for side, bound, broken in (("小", indicator.min, lambda v, b: v < b), ("大", indicator.max, lambda v, b: v > b)):
            if bound is not None and broken(value, bound):
                yield where.issue(IssueCode.OUT_OF_RANGE, ERROR, indicator, figure=fmt_number(value), side=side,
                                  bound=fmt_number(bound))


def _check_rules(where: _Where, values: dict) -> Iterator[Issue]:
    numbers = {k: v for k, v in values.items() if isinstance(v, float)}
    for rule in where.config.rules_for(where.unit):
        if evaluate_rule(rule, numbers) is not False:
            continue  # holds, or cannot be judged while a figure is blank
        first = where.config.indicator(expr.names(rule.expr)[0])
        yield where.issue(IssueCode.RULE_FAILED, rule.severity, first, value=numbers.get(first.id),
                          reason=rule_failure(where.config, rule, numbers, where.cell_of))


def _check_history(where: _Where, indicators: list[Indicator], values: dict,
                   previous: Mapping[str, Any]) -> Iterator[Issue]:
    plaus = where.config.plausibility
    since = fmt_date_cn(where.config.campaign.start)
    for indicator in indicators:
        value, before = values[indicator.id], previous.get(indicator.id)
        if not isinstance(value, float) or not isinstance(before, (int, float)) or isinstance(before, bool):
            continue
        if value < before - 1e-9:
            yield where.issue(IssueCode.BELOW_PREVIOUS, ERROR, indicator, figure=fmt_number(value),
                              before=fmt_number(before), since=since)
        elif before > 0 and value > plaus.max_period_growth * before and value - before >= plaus.min_jump:
            yield where.issue(IssueCode.IMPLAUSIBLE_JUMP, WARNING, indicator, figure=fmt_number(value),
                              before=fmt_number(before), times=fmt_number(plaus.max_period_growth))


def _check_peers(where: _Where, indicators: list[Indicator], values: dict,
                 peers: Mapping[str, Sequence[float]]) -> Iterator[Issue]:
    if where.unit.kind != "county":
        return  # peers are counties; a member unit's region-wide figure is not one of them
    plaus = where.config.plausibility
    for indicator in indicators:
        value = values[indicator.id]
        others = [float(v) for v in peers.get(indicator.id, ()) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if not isinstance(value, float) or len(others) < _MIN_PEERS:
            continue
        median = statistics.median(others)
        if median > 0 and value > plaus.peer_factor * median and value - median >= plaus.min_jump:
            yield where.issue(IssueCode.PEER_OUTLIER, WARNING, indicator, figure=fmt_number(value),
                              median=fmt_number(median), times=fmt_number(value / median, 1), unit_word=indicator.unit)
