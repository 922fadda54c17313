"""The demo generator: a deterministic, plausible campaign, and forms filled by label."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from xf_excel.demo import simulate as demo
from xf_excel.config import expr
from xf_excel.demo import fill
from xf_excel.config import load_config
from xf_excel.contract import DETAIL_HEADER_ROW
from xf_excel.outputs.forms import form_filename, write_form
from xf_excel.checks.normalize import parse_number

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sim(config):
    """The whole 2020 campaign (all 111 counties), seed 2020."""
    return demo.simulate(config, seed=2020)


@pytest.fixture(scope="module")
def small(config):
    return demo.simulate(config, seed=11, units=6)


def _forms(config, units, period, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for unit in units:
        write_form(config, unit, period, folder / form_filename(config, unit, period))
    return folder


def _read_back(path: Path, values, details):
    """Read a filled form by label with openpyxl: (sheet title, header, values, detail rows)."""
    book = openpyxl.load_workbook(path)
    sheet = next(s for s in book.worksheets if any(c.value == "截至本期累计" for row in s.iter_rows(max_row=12) for c in row))
    cells = {(c.row, c.column): c.value for row in sheet.iter_rows() for c in row if c.value is not None}
    head_row, value_col = next(pos for pos, v in cells.items() if v == "截至本期累计")
    name_col = next(c for (r, c), v in cells.items() if r == head_row and v == "指标名称")
    rows = {v: r for (r, c), v in cells.items() if c == name_col and r > head_row}
    header = {}
    for (r, c), v in cells.items():
        if v in ("填报人", "联系电话") and r < head_row:
            header[v] = next((cells[(r, c2)] for c2 in range(c + 1, c + 3) if (r, c2) in cells), None)
    got = {name: sheet.cell(rows[name], value_col).value for name in values}
    got_details = {}
    for sheet_name, expected in details.items():
        detail = book[sheet_name]
        titles = [c.value for c in detail[DETAIL_HEADER_ROW]]
        got_details[sheet_name] = [
            {titles[i]: (v.date() if isinstance(v, dt.datetime) else v) for i, v in enumerate(line)
             if v is not None and titles[i] != "序号"}
            for line in detail.iter_rows(min_row=DETAIL_HEADER_ROW + 1, max_row=DETAIL_HEADER_ROW + len(expected),
                                         values_only=True)]
    return sheet.title, header, got, got_details


# ---- the simulation ---------------------------------------------------------------------------------

def test_same_seed_same_campaign_other_seed_another(config, small):
    again = demo.simulate(config, seed=11, units=6)
    for field in ("figures", "details", "people", "plans", "performance"):
        assert repr(getattr(again, field)) == repr(getattr(small, field))
    assert [repr(demo.deliveries(again, p)) for p in again.periods] == [repr(demo.deliveries(small, p)) for p in small.periods]
    other = demo.simulate(config, seed=12, units=6)
    assert repr(other.figures) != repr(small.figures)
    assert repr(other.plans) != repr(small.plans)


def test_units_limits_counties_keeps_members_and_their_figures(config, sim, small):
    counties = [u.code for u in config.reporting_units() if u.kind == "county"]
    members = [u.code for u in config.reporting_units() if u.kind == "member"]
    assert [u.code for u in small.units] == counties[:6] + members
    same_seed = demo.simulate(config, seed=2020, units=6)
    assert {c: same_seed.figures[c] for c in counties[:6]} == {c: sim.figures[c] for c in counties[:6]}


def test_every_reported_indicator_has_a_figure_of_its_kind(config, sim):
    for unit in sim.units:
        for period in sim.periods:
            figures = sim.figures[unit.code][period]
            assert set(figures) == {i.id for i in config.indicators_for(unit)}
            for indicator_id, value in figures.items():
                kind = config.indicator(indicator_id).kind
                assert value >= 0
                if kind == "count":
                    assert isinstance(value, int)
                else:
                    assert round(value, 2) == value


def test_rules_hold_in_every_true_figure(config, sim):
    for unit in sim.units:
        for period in sim.periods:
            for rule in config.rules_for(unit):
                assert expr.evaluate(rule.expr, sim.figures[unit.code][period]) is not False, (unit.code, period, rule.id)


def test_cumulative_figures_never_decrease_and_start_small(config, sim):
    first, last = sim.periods[0], sim.periods[-1]
    for unit in sim.units:
        series = [sim.figures[unit.code][p] for p in sim.periods]
        for before, after in zip(series, series[1:]):
            assert all(after[i] >= before[i] for i in before), unit.code
    for target in config.targets:
        if not config.indicator(target.indicator).derived and target.op == ">=":
            assert sim.regional_total(target.indicator, first) < 0.3 * sim.regional_total(target.indicator, last)


def _summed(config, sim, target, period):
    """The target's indicator at its scope, computed from summed figures of the counted units."""
    indicator = config.indicator(target.indicator)
    names = expr.names(indicator.compute_expr) if indicator.compute_expr else [indicator.id]
    members = None if target.scope == "region" else set(config.group_members(target.scope))
    sums = {}
    for name in names:
        counted = [u for u in sim.units if demo._counts_for_region(config.indicator(name), u)
                   and (members is None or u.code in members)]
        sums[name] = sum(sim.figures[u.code][period].get(name, 0) for u in counted)
    return expr.evaluate(indicator.compute_expr, sums) if indicator.compute_expr else sums[indicator.id]


def test_final_regional_figures_land_near_their_targets(config, sim):
    final = sim.periods[-1]
    outcomes = []
    for target in config.targets:
        value = _summed(config, sim, target, final)
        if target.is_cap:
            assert 0.5 * target.value <= value <= target.value, target.indicator
        else:
            assert 0.75 * target.value <= value <= 1.35 * target.value, (target.indicator, value)
            outcomes.append(value >= target.value)
    assert any(outcomes) and not all(outcomes)   # some activities end over, some short


def test_member_units_that_count_hold_the_regional_figure(config, sim):
    final = sim.periods[-1]
    union = config.indicator("union_purchases")
    by_unit = sim.figures["BM05"][final]["union_purchases"]
    by_counties = sum(sim.figures[u.code][final]["union_purchases"] for u in sim.units if u.kind == "county")
    assert union.source == ["BM05"] and 0.75 * 60000 <= by_unit <= 1.35 * 60000
    assert 0 < by_counties < by_unit


def test_county_shares_are_uneven_but_not_absurd(config, sim):
    final = sim.figures
    values = sorted(final[u.code][sim.periods[-1]]["counter_sales"] for u in sim.units if u.kind == "county")
    median = values[len(values) // 2]
    assert values[-1] > 2.5 * median
    assert values[-1] < config.plausibility.peer_factor * median


def test_detail_rows_match_the_counter_figures(config, sim):
    detail = config.details[0]
    columns = {c.id: c for c in detail.columns}
    start = config.campaign.start
    for unit in sim.units:
        if unit.kind != "county":
            continue
        for period in sim.periods:
            figures, rows = sim.figures[unit.code][period], sim.details[unit.code][period][detail.id]
            cutoff = config.period(period).cutoff
            assert len(rows) == figures["counters_built"]
            operating = [r for r in rows if r["status"] == "运营中"]
            assert len(operating) == figures["counters_operating"]
            for row in rows:
                assert all(row.get(c.id) not in (None, "") for c in detail.columns if c.required)
                assert all(row[c.id] in c.choices for c in detail.columns if c.kind == "choice")
            for row in operating:
                assert start <= row["opened"] <= cutoff
            if operating:
                assert round(sum(r["sales"] or 0 for r in rows), 2) == figures["counter_sales"]
            assert row_names_are_plausible(unit, rows, columns)


def row_names_are_plausible(unit, rows, columns) -> bool:
    return all(r["name"].startswith(unit.name) and unit.name in r["address"] for r in rows)


def test_counters_keep_their_opening_date_from_week_to_week(sim):
    unit = "450103"
    previous = None
    for period in sim.periods:
        rows = sim.details[unit][period]["counters"]
        opened = [r["opened"] for r in rows if r["status"] == "运营中"]
        if previous:
            assert opened[: len(previous)] == previous
        previous = opened


# ---- people's behaviour ---------------------------------------------------------------------------

def test_the_campaign_shows_every_kind_of_behaviour(sim):
    seen = Counter(kind for p in sim.periods for kind, _ in sim.plans[p].events())
    wanted = {demo.MISSING, demo.LATE, demo.RESUBMITTED, demo.ABANDONED, demo.EML, demo.ZIP, demo.DUPLICATE,
              demo.NOT_A_RETURN, *demo.ERRORS, *demo.SLIPS, *demo.TEXT_QUIRKS, *demo.LAYOUT_QUIRKS}
    assert wanted <= set(seen), wanted - set(seen)


def test_deliveries_follow_the_plan(config, sim):
    for period in sim.periods:
        plan, found = sim.plans[period], demo.deliveries(sim, period)
        deadline, intake = config.period(period).deadline, demo.first_intake_at(config, period)
        returns = {d.unit_code for d in found if d.is_return}
        assert returns == {u.code for u in sim.units} - set(plan.missing)
        for d in found:
            assert (d.received_at <= intake) == (d.batch == 1)
            if d.batch == 1 and d.is_return:
                assert (d.received_at > deadline) == (d.unit_code in plan.late)
        for code, kind in plan.errors.items():
            mine = [d for d in found if d.unit_code == code and d.is_return]
            assert [d.error for d in mine] == [kind] + ([] if code in plan.abandoned else [""])
            assert [d.batch for d in mine] == [1] + ([] if code in plan.abandoned else [2])
        vias = Counter(d.via for d in found)
        assert vias[demo.ZIP] == 2 and vias[demo.EML] == 1 and vias[demo.DUPLICATE] == 1 and vias[demo.NOT_A_RETURN] == 1
        zipped = [d for d in found if d.via == demo.ZIP]
        assert len({d.container for d in zipped}) == 1 and len({config.unit(d.unit_code).city_code for d in zipped}) == 1


def test_deliberate_errors_are_errors_and_quirks_are_not(config, sim):
    for period in sim.periods:
        for d in demo.deliveries(sim, period):
            if d.error == demo.RULE_BROKEN:
                typed = {config.indicator(i).id: d.values[config.indicator(i).name] for i in d.figures}
                assert any(expr.evaluate(r.expr, typed) is False for r in config.rules_for(d.unit_code))
            elif d.error == demo.NOT_A_NUMBER:
                text = next(v for v in d.values.values() if isinstance(v, str))
                assert text.startswith("约") and parse_number(text, "count", "个").code is not None
            elif d.error == demo.BELOW_PREVIOUS:
                previous = demo._last_accepted_before(sim, d.unit_code, period)
                assert any(config.indicator(i).name in d.values and d.values[config.indicator(i).name] < v
                           for i, v in previous.items())
            elif d.is_return:
                assert d.acceptable and d.values == {config.indicator(i).name: v for i, v in d.figures.items()}
                assert len(d.header["联系电话"]) == (10 if d.slip == demo.BAD_PHONE else 11)


def test_quirk_texts_normalise_to_the_figure(config, sim):
    checked = Counter()
    for period in sim.periods:
        for code, quirks in sim.plans[period].quirks.items():
            for quirk in quirks:
                kind, _, name = quirk.partition(":")
                if kind not in demo.TEXT_QUIRKS:
                    continue
                indicator = next(i for i in config.indicators if i.name == name)
                value = sim.figures[code][period][indicator.id]
                typed = fill._typed(value, kind, indicator.unit)
                parsed = parse_number(typed, indicator.kind, indicator.unit)
                assert parsed.code is None and parsed.number == pytest.approx(value), (quirk, typed)
                checked[kind] += 1
    assert set(checked) == set(demo.TEXT_QUIRKS)


def test_expected_accepted_takes_the_correction_or_carries_the_last(config, sim):
    for index, period in enumerate(sim.periods):
        plan, expected = sim.plans[period], demo.expected_accepted(sim, period)
        previous = demo.expected_accepted(sim, sim.periods[index - 1]) if index else {}
        for unit in sim.units:
            code = unit.code
            if code in plan.missing or code in plan.abandoned:
                assert expected.get(code) == previous.get(code)
            else:
                assert expected[code] == sim.figures[code][period]
    abandoned = [(p, c) for p in sim.periods[1:] for c in sim.plans[p].abandoned]
    assert abandoned, "the campaign should have a unit whose only return was rejected"


def test_expected_accepted_leaves_out_missing_units_when_config_says_none(config, small):
    campaign = config.campaign.model_copy(update={"missing_returns": "none"})
    strict = demo.simulate(config.model_copy(update={"campaign": campaign}), seed=11, units=6)
    period = strict.periods[0]
    left_out = set(strict.plans[period].missing) | set(strict.plans[period].abandoned)
    assert left_out and not left_out & set(demo.expected_accepted(strict, period))


# ---- filling forms ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def county_form(config, tmp_path_factory):
    return _forms(config, ["450103"], 2, tmp_path_factory.mktemp("forms")) / form_filename(config, "450103", 2)


@pytest.mark.parametrize("engine", ["xml", "openpyxl"])
def test_fill_form_round_trips_by_label(sim, county_form, tmp_path, engine):
    d = next(d for d in demo.deliveries(sim, 2) if d.unit_code == "450103" and d.acceptable)
    out = demo.fill_form(county_form, tmp_path / "out.xlsx", d.values, d.details, d.header, engine=engine)
    title, header, values, details = _read_back(out, d.values, d.details)
    assert title == "填报" and header == dict(d.header) and values == dict(d.values)
    assert details == {name: [dict(r) for r in rows] for name, rows in d.details.items()}
    assert len(details["专柜明细"]) == sim.figures["450103"][2]["counters_built"] > 0


def test_both_engines_write_the_same_cells(sim, county_form, tmp_path):
    d = next(d for d in demo.deliveries(sim, 2) if d.unit_code == "450103" and d.acceptable)
    grids = []
    for engine in ("xml", "openpyxl"):
        out = demo.fill_form(county_form, tmp_path / f"{engine}.xlsx", d.values, d.details, d.header, engine=engine)
        book = openpyxl.load_workbook(out)
        grids.append({s.title: [[c.value for c in row] for row in s.iter_rows()] for s in book.worksheets})
        styles = book["专柜明细"][f"F{DETAIL_HEADER_ROW + 1}"].number_format
        assert "yyyy" in styles  # the date typed in takes the column's date format
    assert grids[0] == grids[1]


def test_text_quirks_produce_what_clerks_type(county_form, tmp_path):
    values = {"建成专柜数": 12, "运营专柜数": 10, "专柜累计销售额": 35.5, "专馆累计销售额": 1200, "线上专区数": 3}
    quirks = ["fullwidth:建成专柜数", "unit-suffix:运营专柜数", "unit-suffix:专柜累计销售额", "thousands:专馆累计销售额",
              "text-number:线上专区数"]
    out = demo.fill_form(county_form, tmp_path / "q.xlsx", values, quirks=quirks)
    _, header, got, _ = _read_back(out, values, {})
    assert header == {"填报人": None, "联系电话": None}
    assert got == {"建成专柜数": "１２", "运营专柜数": "10个", "专柜累计销售额": "35.5万元", "专馆累计销售额": "1,200",
                   "线上专区数": "3"}


def test_layout_quirks_move_the_table_and_reading_by_label_copes(county_form, tmp_path):
    values = {"建成专柜数": 12, "运营专柜数": 10}
    header = {"填报人": "韦芳", "联系电话": "13907710000"}
    plain = demo.fill_form(county_form, tmp_path / "plain.xlsx", values, header=header)
    moved = demo.fill_form(county_form, tmp_path / "moved.xlsx", values, header=header,
                           quirks=["blank-row", "blank-column", "rename-sheet:青秀区报表"])
    title, got_header, got, _ = _read_back(moved, values, {})
    assert (title, got_header, got) == ("青秀区报表", header, values)

    def where(path):
        sheet = openpyxl.load_workbook(path).worksheets[0]
        return next((c.row, c.column) for row in sheet.iter_rows() for c in row if c.value == "截至本期累计"), sheet
    (row, column), before = where(plain)
    (row2, column2), after = where(moved)
    assert (row2, column2) == (row + 1, column + 1)
    assert "填报" not in openpyxl.load_workbook(moved).sheetnames
    # the form's own hint formulas follow the cells they check, as in Excel
    formula = next(c.value for line in after.iter_rows() for c in line if c.data_type == "f")
    assert f"{openpyxl.utils.get_column_letter(column2)}" in formula


def test_xml_engine_refuses_layout_quirks_and_unknown_labels(county_form, tmp_path):
    with pytest.raises(ValueError):
        demo.fill_form(county_form, tmp_path / "x.xlsx", {"建成专柜数": 1}, quirks=["blank-row"], engine="xml")
    with pytest.raises(ValueError, match="没有这个指标"):
        demo.fill_form(county_form, tmp_path / "x.xlsx", {"没有这个指标": 1})


# ---- the inbox -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inbox(config, small, tmp_path_factory):
    period = small.periods[1]
    root = tmp_path_factory.mktemp("demo")
    forms = _forms(config, small.units, period, root / "forms")
    written = {batch: demo.write_inbox(small, period, batch, forms, root / f"batch{batch}") for batch in (1, 2)}
    return period, written


def test_inbox_holds_each_delivery_as_received(small, inbox):
    period, written = inbox
    found = demo.deliveries(small, period)
    for batch, paths in written.items():
        mine = [d for d in found if d.batch == batch]
        expected = len([d for d in mine if d.via != demo.ZIP]) + len({d.container for d in mine if d.via == demo.ZIP})
        assert len(paths) == expected
        for path in paths:
            assert path.parent.name == dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d")
    suffixes = Counter(p.suffix for p in written[1])
    assert suffixes[".eml"] == 1 and suffixes[".zip"] == 1 and suffixes[".pdf"] == 1
    duplicate = next(p for p in written[1] if p.name.endswith(" (1).xlsx"))
    original = next(p for p in written[1] if p.name == duplicate.name.replace(" (1)", ""))
    assert duplicate.read_bytes() == original.read_bytes()


def test_the_mail_parses_and_carries_the_return(config, small, inbox):
    period, written = inbox
    path = next(p for p in written[1] if p.suffix == ".eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    code = next(d.unit_code for d in demo.deliveries(small, period) if d.via == demo.EML)
    assert message["From"].addresses[0].addr_spec == f"fpb@{code.lower()}.example.gov.cn"
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == form_filename(config, code, period)
    book = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
    assert "填报" in book.sheetnames or len(book.sheetnames) > 1


def test_the_zip_holds_two_returns(config, small, inbox):
    period, written = inbox
    path = next(p for p in written[1] if p.suffix == ".zip")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(form_filename(config, d.unit_code, period)
                                       for d in demo.deliveries(small, period) if d.via == demo.ZIP)
        for name in names:
            openpyxl.load_workbook(io.BytesIO(archive.read(name)))


def test_the_second_batch_holds_the_corrections(small, inbox):
    period, written = inbox
    corrected = [d for d in demo.deliveries(small, period) if d.batch == 2]
    assert corrected and sorted(p.name for p in written[2]) == sorted(d.file_name for d in corrected)
    assert all("（修改）" in p.name for p in written[2])


# ---- a second campaign -----------------------------------------------------------------------------

def test_another_campaign_runs_through_the_generator(tmp_path):
    config = load_config(ROOT / "examples" / "nanning" / "config.yaml")
    sim = demo.simulate(config, seed=3)
    final = sim.periods[-1]
    for target in config.targets:
        assert 0.75 * target.value <= _summed(config, sim, target, final) <= 1.35 * target.value, target.indicator
    seen = {kind for p in sim.periods for kind, _ in sim.plans[p].events()}
    assert set(demo.ERRORS) <= seen
    period = sim.periods[0]
    forms = _forms(config, sim.units, period, tmp_path / "forms")
    paths = demo.write_inbox(sim, period, 1, forms, tmp_path / "inbox")
    assert paths and all(p.stat().st_size > 0 for p in paths)
