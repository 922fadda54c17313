"""A naive peer pipeline: what a capable analyst would write with pandas, as a reference.

A loop of `pandas.read_excel(path, sheet_name="填报", header=<row>, engine="openpyxl")`
over the inbox (the header row found once, on the first file), the `截至本期累计` column
picked by the `指标名称` labels, everything concatenated, then grouped by city and summed.
Regional totals take each indicator from its counted source (the counties, or the member
units named in config's `counted_from`), as the plan says.

`peer_week` does the peer's whole week, as the product's weekly job does its own: the same
totals, then a master workbook written with openpyxl (a region sheet and one sheet per city
listing its units' figures) and a Word document with python-docx (a title, a paragraph per
city, a table of the cities' totals) — so the ratio compares like with like (issue 20).

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
    return _totals(read_returns(paths), config)


def _totals(table, config) -> dict[str, dict[str, Optional[float]]]:
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


def peer_week(paths: list[Path], config, out_dir: Path) -> dict[str, dict[str, Optional[float]]]:
    """The peer's whole week: `peer_totals`' reading and sums, a master workbook (openpyxl)
    and a Word document (python-docx) in `out_dir`. Returns the totals."""
    table = read_returns(paths)
    totals = _totals(table, config)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_peer_master(table, totals, config, out_dir / "汇总.xlsx")
    write_peer_document(totals, config, out_dir / "简报.docx")
    return totals


def write_peer_master(table, totals: dict[str, dict[str, Optional[float]]], config, path: Path) -> Path:
    """全区汇总 (every area's totals) and one sheet per city (its units × indicators), openpyxl."""
    from openpyxl import Workbook

    summed = [i for i in config.indicators if not i.derived and i.numeric]
    book = Workbook()
    region = book.active
    region.title = "全区汇总"
    region.append(["地区", *[i.name for i in summed]])
    for area, values in totals.items():
        region.append([area, *[values.get(i.id) for i in summed]])
    wide = table.pivot_table(index=["city", "unit"], columns=LABEL, values=VALUE, aggfunc="first")
    for city in wide.index.get_level_values("city").unique():
        sheet = book.create_sheet(str(city)[:31])
        sheet.append(["单位", *[i.name for i in summed]])
        for unit, row in wide.xs(city, level="city").iterrows():
            sheet.append([unit, *[_plain(row.get(i.name)) for i in summed]])
    book.save(path)
    return path


def write_peer_document(totals: dict[str, dict[str, Optional[float]]], config, path: Path) -> Path:
    """A title, a sentence per area and a table of the areas' totals, python-docx."""
    from docx import Document

    summed = [i for i in config.indicators if not i.derived and i.numeric][:6]
    document = Document()
    document.add_heading(f"{config.campaign.region.short_name}工作简报", level=1)
    for area, values in totals.items():
        document.add_paragraph("，".join(f"{i.name}{values.get(i.id) or 0:g}{i.unit}" for i in summed) + "。")
    grid = document.add_table(rows=1, cols=len(summed) + 1)
    for cell, text in zip(grid.rows[0].cells, ["地区", *[i.name for i in summed]]):
        cell.text = text
    for area, values in totals.items():
        for cell, value in zip(grid.add_row().cells, [area, *[values.get(i.id) for i in summed]]):
            cell.text = "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
    document.save(path)
    return path


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
