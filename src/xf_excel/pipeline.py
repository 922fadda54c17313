"""The use cases — the only orchestration. Fronts (cli, xl, server) call these and nothing else."""

from __future__ import annotations

from typing import Any

from .config import Config

__all__ = ["config_summary"]


def config_summary(config: Config) -> dict[str, Any]:
    """What `xf-excel config check` prints: periods, units, indicators per activity, targets."""
    counties = [u for u in config.units.values() if u.kind == "county"]
    members = [u for u in config.reporting_units() if u.kind == "member"]
    return {
        "campaign": config.campaign.name,
        "start": config.campaign.start.isoformat(),
        "end": config.campaign.end.isoformat(),
        "periods": [{"number": p.number, "cutoff": p.cutoff.isoformat(), "deadline": f"{p.deadline:%Y-%m-%d %H:%M}"}
                    for p in config.periods],
        "units": {"total": len(counties) + len(members), "counties": len(counties), "cities": len(config.cities),
                  "members": len(members)},
        "activities": [{"id": a.id, "name": a.short_name,
                        "reported": sum(1 for i in config.indicators if i.activity == a.id and not i.derived),
                        "derived": sum(1 for i in config.indicators if i.activity == a.id and i.derived)}
                       for a in config.activities],
        "targets": [{"indicator": t.indicator, "name": config.indicator(t.indicator).name, "op": t.op,
                     "value": _target_text(t.value, config.indicator(t.indicator).kind),
                     "unit": "" if config.indicator(t.indicator).kind == "ratio" else config.indicator(t.indicator).unit,
                     "scope": "全区" if t.scope == "region" else config.county_groups[t.scope].name}
                    for t in config.targets],
        "rules": len(config.rules),
        "details": [d.name for d in config.details],
    }


def _target_text(value: float, kind: str) -> str:
    return f"{value:.0%}" if kind == "ratio" else f"{value:g}"
