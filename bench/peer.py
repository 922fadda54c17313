"""A naive peer pipeline: what a capable analyst would write with pandas, as a reference.

A loop of `pandas.read_excel(path, sheet_name="填报", header=<row>, engine="openpyxl")`
over the inbox (the header row found once, on the first file), the `截至本期累计` column
picked by the `指标名称` labels, everything concatenated, then grouped by city and summed.
Regional totals take each indicator from its counted source (the counties, or the member
units named in config's `counted_from`), as the plan says.

No validation, no archive, no safety: it is the yardstick for speed, and a second opinion on
the totals. `compare_totals` checks that the product's consolidation agrees with it for
every summed indicator, in every city and the region, to the cent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

SHEET, LABEL, VALUE = "填报", "指标名称", "截至本期累计"
MEMBERS = "成员单位"
TOLERANCE = 0.005   # to the cent (money is in 万元 with 2 decimals; counts are whole)


def find_header_row(path: Path) -> int:
    """The 0-based row of the table header (the row holding 指标名称) on one return."""
    import pandas as pd

    grid = pd.read_excel(path, sheet_name=SHEET, header=None, engine="openpyxl")
    for index, row in grid.iterrows():
        if LABEL in set(row.astype(str)):
            return int(index)
    raise ValueError(f"{path.name}: no {LABEL} row")


def city_of(path: Path) -> str:
    """第1期_南宁市_兴宁区.xlsx → 南宁市; a member unit's 第1期_自治区总工会.xlsx → 成员单位."""
    parts = path.stem.split("_")
    return parts[1] if len(parts) == 3 else MEMBERS


def read_returns(paths: list[Path]):
    """One long table: file, unit, city, indicator (Chinese name), value."""
    import pandas as pd

    header = find_header_row(paths[0])
    frames = []
    for path in paths:
        sheet = pd.read_excel(path, sheet_name=SHEET, header=header, engine="openpyxl")
        rows = sheet[[LABEL, VALUE]].dropna(subset=[LABEL])
        rows = rows.assign(file=path.name, unit=path.stem.split("_")[-1], city=city_of(path))
        frames.append(rows)
    table = pd.concat(frames, ignore_index=True)
    table[VALUE] = pd.to_numeric(table[VALUE], errors="coerce")
    return table


def peer_totals(paths: list[Path], config) -> dict[str, dict[str, Optional[float]]]:
    """{city name or 全区: {indicator id: total}} for every summed indicator."""
    table = read_returns(paths)
    summed = {i.name: i for i in config.indicators if not i.derived and i.numeric}
    table = table[table[LABEL].isin(summed)]
    wide = table.pivot_table(index=["city", "unit"], columns=LABEL, values=VALUE, aggfunc="first")
    by_city = wide.groupby(level="city").sum(min_count=1)
    result: dict[str, dict[str, Optional[float]]] = {}
    for city, row in by_city.iterrows():
        if city != MEMBERS:
            result[city] = {summed[name].id: _plain(row.get(name)) for name in summed}
    counties = by_city.drop(index=MEMBERS, errors="ignore")
    members = wide.xs(MEMBERS, level="city") if MEMBERS in by_city.index else None
    region: dict[str, Optional[float]] = {}
    for name, indicator in summed.items():
        source = indicator.source
        if source == "counties":
            region[indicator.id] = _plain(counties[name].sum(min_count=1)) if name in counties else None
        else:
            units = [config.units[code].name for code in source]
            picked = members.loc[members.index.isin(units), name] if members is not None and name in members else None
            region[indicator.id] = _plain(picked.sum(min_count=1)) if picked is not None else None
    result[config.campaign.region.short_name] = region
    return result


def _plain(value: Any) -> Optional[float]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number   # NaN → None


def product_totals(consolidation) -> dict[str, dict[str, Optional[float]]]:
    """The same shape from the product's `Consolidation`."""
    result = {city.name: dict(city.values) for city in consolidation.cities}
    result[consolidation.region.name] = dict(consolidation.region.values)
    return result


def compare_totals(product: dict, peer: dict, indicator_ids: list[str]) -> list[str]:
    """Every disagreement, as text ('' when none): area, indicator, product, peer."""
    problems = []
    for area in sorted(set(product) | set(peer)):
        for ind in indicator_ids:
            a, b = product.get(area, {}).get(ind), peer.get(area, {}).get(ind)
            a = None if a is None else float(a)
            if (a is None) != (b is None) or (a is not None and abs(a - b) > TOLERANCE):
                problems.append(f"{area} {ind}: product {a} ≠ peer {b}")
    return problems


def summed_indicator_ids(config) -> list[str]:
    """The indicators both sides sum: reported (not derived) and numeric."""
    return [i.id for i in config.indicators if not i.derived and i.numeric]
