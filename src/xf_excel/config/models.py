"""The campaign as configuration: the pydantic models of config.yaml and `load_config`.

Nothing about a campaign is written in Python: its dates, periods, units, indicators,
detail lists, rules and targets all come from config.yaml. Every field documents itself;
`load_config` turns pydantic's errors and our cross-checks into `ConfigError` lines that
name the YAML path and line::

    >>> config = load_config("config.yaml")
    >>> config.period(2).cutoff
    datetime.date(2020, 9, 11)
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from . import expr
from .mail import Contact, ImapSettings, MailSettings, SmtpSettings
from ..errors import ConfigError, NotConfigured
from ..issues import Severity

__all__ = [
    "Config", "Campaign", "Levels", "Distribution", "Period", "City", "County", "CountyGroup", "MemberUnit", "Activity",
    "Indicator", "ReportedBy", "CountMeeting", "DetailList", "DetailColumn", "DetailTotal",
    "Rule", "Plausibility", "Target", "Summary", "Unit", "Contact", "MailSettings", "ImapSettings", "SmtpSettings",
    "load_config", "parse_config",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Region(_Model):
    code: str = Field(description="Code of the region (GB/T 2260), e.g. 450000.")
    name: str = Field(description="Full name, e.g. 广西壮族自治区.")
    short_name: str = Field(description="Name in tables, e.g. 全区.")


class Levels(_Model):
    """What the campaign calls its levels, as its documents say them (defaults: a province of
    cities and counties, as Guangxi)."""

    city: str = Field("市", description="The middle level: 市 (prefecture cities), or e.g. 片区. Used in 各市进展, 所属市, 市级目标.")
    county: str = Field("县（市、区）", description="The reporting places below it, as counted: 111个县（市、区）.")
    member: str = Field("成员单位", description="The member units that report figures only they hold.")
    city_in_names: bool = Field(True, description="A county's full name begins with its city's (南宁市武鸣区); false "
                                                 "where the middle level is no part of a place's name (片区).")


class Distribution(_Model):
    """The briefing's 版记: who it goes to and how many copies are printed."""

    report_to: list[str] = Field(default_factory=list, description="报： the leaders and offices it is reported to.")
    send_to: list[str] = Field(default_factory=list, description="送： the units it is sent to.")
    issue_to: list[str] = Field(default_factory=list, description="发： the units it is issued to.")
    copies: Optional[int] = Field(None, ge=1, description="Print run (共印N份); none printed when not set.")


class Summary(_Model):
    """The campaign-end report (活动总结, for the 成果展示): its title, the masthead's issue line, its date."""

    title: str = Field("", description="Title of the report; default: the campaign's name and 总结 (2020年消费扶贫月活动总结).")
    issue: str = Field("活动总结专刊", description="The masthead's issue line in place of 第N期.")
    date: Optional[dt.date] = Field(None, description="The date it is issued (成文日期); default: the day it is made.")


class Campaign(_Model):
    name: str = Field(description="Name of the campaign, e.g. 2020年消费扶贫月活动.")
    theme: str = Field("", description="Theme of the campaign, quoted in the briefing.")
    start: dt.date = Field(description="First day of the campaign.")
    end: dt.date = Field(description="Last day of the campaign.")
    region: Region = Field(description="The region the campaign covers.")
    office: str = Field(description="The issuing office, shown on the briefing masthead (…办公室编).")
    office_short: str = Field(description="Short name of the office, used in messages.")
    briefing_title: str = Field(description="Masthead of the briefing, e.g. 消费扶贫月活动简报.")
    form_title: str = Field(description="Title printed on every return form.")
    template_version: str = Field(description="Version of the return form; older forms are refused.")
    missing_returns: Literal["carry", "none"] = Field(
        "carry", description="carry: a unit without a return this period keeps its last accepted figures (marked); none: left empty.")
    contact: str = Field("", description="Contact line printed on forms and reminders.")
    levels: Levels = Field(default_factory=Levels, description="What the campaign calls its levels (市/片区, 县（市、区）…).")
    distribution: Distribution = Field(default_factory=Distribution, description="The briefing's 版记 (报/送/发, copies).")
    summary: Summary = Field(default_factory=Summary, description="The campaign-end report (活动总结): title, issue line, date.")

    @property
    def summary_title(self) -> str:
        """The campaign-end report's title: as configured, else 2020年消费扶贫月活动总结."""
        return self.summary.title or f"{self.name}总结"

    @property
    def days(self) -> int:
        """Length of the campaign in days (30 for September)."""
        return (self.end - self.start).days + 1

    def time_schedule(self, cutoff: dt.date) -> float:
        """时间进度: the share of the campaign elapsed at the end of the cut-off date (0..1)."""
        elapsed = (min(max(cutoff, self.start - dt.timedelta(days=1)), self.end) - self.start).days + 1
        return elapsed / self.days


class Period(_Model):
    number: int = Field(ge=1, description="报送期次, 1, 2, …")
    cutoff: dt.date = Field(description="截至日期: figures are cumulative from the campaign start to this day.")
    deadline: dt.datetime = Field(description="Submission deadline (date and time).")
    final: bool = Field(False, description="The last period of the campaign.")

    @field_validator("deadline", mode="before")
    @classmethod
    def _deadline_text(cls, value: Any) -> Any:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return dt.datetime.combine(value, dt.time(18, 0))
        return value


class City(_Model):
    code: str = Field(description="GB/T 2260 code of the city.")
    name: str = Field(description="Name, e.g. 南宁市.")


class County(_Model):
    code: str = Field(description="GB/T 2260 code of the county-level unit.")
    name: str = Field(description="Name, e.g. 武鸣区.")
    type: str = Field(description="市辖区, 县级市, 县 or 自治县.")
    city: str = Field(description="Code of its city.")
    groups: list[str] = Field(default_factory=list, description="Ids of the county groups it belongs to.")
    note: str = Field("", description="Administrative changes to know when joining with other data.")


class CountyGroup(_Model):
    name: str = Field(description="Chinese name of the group, e.g. 国定贫困县.")
    members: list[str] = Field(default_factory=list, description="County codes added to those that name the group.")


class MemberUnit(_Model):
    code: str = Field(description="Code on the member unit's return form, e.g. BM05.")
    name: str = Field(description="Full name, e.g. 自治区总工会.")
    short_name: str = Field(description="Short name, e.g. 总工会.")
    duty: str = Field("", description="What the unit answers for in the plan.")


class Activity(_Model):
    id: str = Field(description="Short id used by indicators, e.g. a1.")
    number: int = Field(description="Order in the plan.")
    name: str = Field(description="Name as in the plan.")
    short_name: str = Field(description="Name in tables and charts.")
    lead: list[str] = Field(default_factory=list, description="Member-unit codes of the lead units.")
    plan: str = Field("", description="What the plan asks of it, in its words (消费扶贫月期间，建成运营消费扶贫专馆不少于100个): "
                                      "quoted in the campaign-end report.")


class ReportedBy(_Model):
    counties: str = Field("none", description="'all', 'none', or a county group id.")
    units: list[str] = Field(default_factory=list, description="Member-unit codes that report it.")


class CountMeeting(_Model):
    indicator: str = Field(description="The indicator each unit is judged on.")
    op: Literal[">=", "<=", ">", "<"] = Field(description="Comparison with `value`.")
    value: float = Field(description="Threshold (ratios as fractions: 0.7 for 70%).")


Kind = Literal["count", "money", "number", "ratio", "text", "date"]


class Indicator(_Model):
    id: str = Field(description="Identifier used in rules, targets and the archive.")
    name: str = Field(description="Chinese name exactly as on the form (the label the reader looks for).")
    unit: str = Field("", description="Unit shown on the form: 个, 万元, %, 人, 场 …")
    kind: Kind = Field(description="count (whole ≥ 0), money, number, ratio, text or date.")
    activity: str = Field(description="Id of the activity it belongs to.")
    reported_by: ReportedBy = Field(default_factory=ReportedBy, description="Who fills it in.")
    counted_from: Union[Literal["counties"], list[str], None] = Field(
        None, description="Which source makes the regional total when both counties and units report it.")
    compute: Optional[str] = Field(None, description="A derived indicator: an expression over other indicators.")
    count_meeting: Optional[CountMeeting] = Field(None, description="Number of counties meeting a threshold.")
    required: bool = Field(False, description="A blank cell is an error.")
    min: Optional[float] = Field(None, description="Smallest allowed value (counts and money: 0 unless set).")
    max: Optional[float] = Field(None, description="Largest allowed value.")
    help: str = Field("", description="Help text printed beside the cell and shown while typing.")

    @property
    def derived(self) -> bool:
        """Computed by xf-excel, never typed into a form."""
        return self.compute is not None or self.count_meeting is not None

    @property
    def numeric(self) -> bool:
        return self.kind in ("count", "money", "number", "ratio")

    @cached_property
    def compute_expr(self) -> Optional[expr.Expr]:
        return expr.parse(self.compute) if self.compute else None

    @property
    def source(self) -> Union[str, list[str]]:
        """'counties' or the unit codes whose figures count for the regional total."""
        if self.counted_from is not None:
            return self.counted_from
        if self.reported_by.counties != "none":
            return "counties"
        return list(self.reported_by.units)


class DetailColumn(_Model):
    id: str = Field(description="Identifier of the column.")
    name: str = Field(description="Chinese column header on the detail sheet.")
    kind: Literal["text", "choice", "date", "money", "count", "number"] = Field(description="Type of the column.")
    required: bool = Field(False, description="A row with this cell blank is an error.")
    choices: list[str] = Field(default_factory=list, description="Allowed values of a choice column.")


class DetailTotal(_Model):
    count_where: Optional[dict[str, str]] = Field(None, description="Count rows whose columns equal these values …")
    count_all: bool = Field(False, description="… or count every row …")
    equals: str = Field(description="… and compare with this indicator.")
    severity: Severity = Field(Severity.WARNING, description="错误 or 警告 when they differ.")


class DetailList(_Model):
    id: str = Field(description="Identifier of the list.")
    name: str = Field(description="Sheet name on the form, e.g. 专柜明细.")
    reported_by: ReportedBy = Field(description="Who fills it in.")
    max_rows: int = Field(500, description="Rows offered on the form (and the most read back).")
    columns: list[DetailColumn] = Field(description="Columns of the list, in order.")
    totals: list[DetailTotal] = Field(default_factory=list, description="Checks of the list against indicators.")


class Rule(_Model):
    id: str = Field(description="Identifier, shown with the issue.")
    check: str = Field(description="Expression that must hold, e.g. counters_operating <= counters_built.")
    severity: Severity = Field(Severity.ERROR, description="错误 or 警告.")
    message: str = Field("", description="Chinese message; {value} is the left side's value. Default: made from the check.")

    @cached_property
    def expr(self) -> expr.Expr:
        return expr.parse(self.check)


class Plausibility(_Model):
    max_period_growth: float = Field(5.0, description="A cumulative figure above this many times its last accepted value is queried.")
    min_jump: float = Field(50, description="… but only when it grew by at least this much.")
    peer_factor: float = Field(20.0, description="A figure above this many times the median of its peers is queried.")


class Target(_Model):
    indicator: str = Field(description="Indicator the target is set on.")
    op: Literal[">=", "<="] = Field(description=">= a target to reach; <= a cap.")
    value: float = Field(description="Target value, in the indicator's unit (ratios as fractions).")
    scope: str = Field("region", description="'region', or a county group the ratio is measured over.")
    purpose: str = Field("", description="Why it matters, in the plan's words: said in the campaign-end report when "
                                         "the target was not met.")

    @property
    def is_cap(self) -> bool:
        return self.op == "<="


class Unit(_Model):
    """A reporting unit: a county-level unit or a member unit."""

    code: str
    name: str
    kind: Literal["county", "member"]
    city_code: Optional[str] = None
    city_name: Optional[str] = None
    groups: tuple[str, ...] = ()
    city_in_name: bool = True             # `Levels.city_in_names`

    @property
    def full_name(self) -> str:
        """南宁市武鸣区, or 自治区总工会 (a county's name alone where its city is no part of it: 良庆区)."""
        return f"{self.city_name}{self.name}" if self.kind == "county" and self.city_in_name else self.name


class Config(_Model):
    """The whole of config.yaml."""

    campaign: Campaign
    periods: list[Period] = Field(description="Reporting periods in order.")
    county_groups: dict[str, CountyGroup] = Field(default_factory=dict, description="Named groups of counties.")
    member_units: list[MemberUnit] = Field(default_factory=list, description="Member units of the committee.")
    activities: list[Activity] = Field(description="Activities of the plan.")
    indicators: list[Indicator] = Field(description="Indicators, reported and derived.")
    details: list[DetailList] = Field(default_factory=list, description="Detail lists (one form sheet each).")
    rules: list[Rule] = Field(default_factory=list, description="Cross-field validation rules.")
    plausibility: Plausibility = Field(default_factory=Plausibility, description="History and peer checks (warnings).")
    targets: list[Target] = Field(default_factory=list, description="Targets and caps from the plan.")
    city_targets: dict[str, dict[str, float]] = Field(default_factory=dict, description="indicator -> city code -> target.")
    contacts: dict[str, Contact] = Field(
        default_factory=dict, description="unit code -> its mailbox and contact person (forms and reminders go there; "
                                          "a return from another address is queried).")
    mail: Optional[MailSettings] = Field(None, description="The office mailbox: fetching returns, sending mail.")
    ranking_indicator: Optional[str] = Field(None, description="Indicator whose target completion ranks the cities.")
    cities: list[City] = Field(description="Cities (prefecture level).")
    counties: list[County] = Field(description="County-level units.")
    # the folder config.yaml was read from: relative paths in it (mail.password_file, mail.ca_file) start here
    _folder: Path = PrivateAttr(default_factory=Path.cwd)
    # unit code -> (the indicator list it was worked out from, its indicators): asked for every
    # return read and every form written. Keyed to the list too, as model_copy shares this dict.
    _indicators_by_unit: dict[str, tuple[list, tuple]] = PrivateAttr(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The folder of config.yaml (relative paths in it are relative to this folder)."""
        return self._folder

    # ---- look-ups -------------------------------------------------------------------------
    def period(self, number: int) -> Period:
        """The period with this number; `NotConfigured` (a Chinese message) otherwise."""
        for period in self.periods:
            if period.number == number:
                return period
        raise NotConfigured(f"配置中没有第{number}期（现有：{'、'.join(str(p.number) for p in self.periods)}）")

    def indicator(self, indicator_id: str) -> Indicator:
        """The indicator with this id; `NotConfigured` otherwise."""
        try:
            return self._indicators[indicator_id]
        except KeyError:
            raise NotConfigured(f"配置中没有指标 {indicator_id}") from None

    def activity(self, activity_id: str) -> Activity:
        """The activity with this id; `NotConfigured` otherwise."""
        for activity in self.activities:
            if activity.id == activity_id:
                return activity
        raise NotConfigured(f"配置中没有活动 {activity_id}")

    @cached_property
    def _indicators(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.indicators}

    @cached_property
    def city_names(self) -> dict[str, str]:
        return {c.code: c.name for c in self.cities}

    @cached_property
    def units(self) -> dict[str, Unit]:
        """Every reporting unit by code: counties first (in config order), then member units."""
        units: dict[str, Unit] = {}
        for county in self.counties:
            groups = set(county.groups) | {g for g, grp in self.county_groups.items() if county.code in grp.members}
            units[county.code] = Unit(code=county.code, name=county.name, kind="county", city_code=county.city,
                                      city_name=self.city_names[county.city], groups=tuple(sorted(groups)),
                                      city_in_name=self.campaign.levels.city_in_names)
        for member in self.member_units:
            units[member.code] = Unit(code=member.code, name=member.name, kind="member")
        return units

    def unit(self, code: str) -> Unit:
        """The reporting unit with this code; `NotConfigured` otherwise."""
        try:
            return self.units[code]
        except KeyError:
            raise NotConfigured(f"配置中没有单位代码 {code}") from None

    def group_members(self, group: str) -> list[str]:
        """County codes in a group ('all' for every county)."""
        return [u.code for u in self.units.values() if u.kind == "county" and (group == "all" or group in u.groups)]

    def counties_of(self, city_code: str) -> list[Unit]:
        return [u for u in self.units.values() if u.city_code == city_code]

    @staticmethod
    def _covers(reported_by: ReportedBy, unit: Unit) -> bool:
        if unit.kind == "member":
            return unit.code in reported_by.units
        return reported_by.counties == "all" or reported_by.counties in unit.groups

    def indicators_for(self, unit: Unit | str) -> list[Indicator]:
        """The indicators a unit fills in, in config order."""
        unit = self.units[unit] if isinstance(unit, str) else unit
        if self.units.get(unit.code) is not unit:          # a unit from elsewhere: not remembered
            return self._indicators_of(unit)
        source, found = self._indicators_by_unit.get(unit.code, (None, ()))
        if source is not self.indicators:
            found = tuple(self._indicators_of(unit))
            self._indicators_by_unit[unit.code] = (self.indicators, found)
        return list(found)

    def _indicators_of(self, unit: Unit) -> list[Indicator]:
        return [i for i in self.indicators if not i.derived and self._covers(i.reported_by, unit)]

    def details_for(self, unit: Unit | str) -> list[DetailList]:
        """The detail lists a unit fills in."""
        unit = self.units[unit] if isinstance(unit, str) else unit
        return [d for d in self.details if self._covers(d.reported_by, unit)]

    def rules_for(self, unit: Unit | str) -> list[Rule]:
        """Rules whose every indicator the unit reports."""
        reported = {i.id for i in self.indicators_for(unit)}
        return [r for r in self.rules if set(expr.names(r.expr)) <= reported]

    def reporting_units(self) -> list[Unit]:
        """Units that have something to report (every county; member units with indicators)."""
        return [u for u in self.units.values() if self.indicators_for(u) or self.details_for(u)]

    def targets_for(self, indicator_id: str) -> list[Target]:
        return [t for t in self.targets if t.indicator == indicator_id]

    @property
    def campaign_days(self) -> int:
        return self.campaign.days

    def addresses(self, unit_code: str) -> list[str]:
        """The unit's registered mailboxes ([] when it has none)."""
        contact = self.contacts.get(unit_code)
        return list(contact.email) if contact else []

    def units_without_contact(self) -> list[Unit]:
        """Reporting units with no mailbox in `contacts`: nothing can be mailed to them."""
        return [u for u in self.reporting_units() if u.code not in self.contacts]


# ---- loading --------------------------------------------------------------------------------

def load_config(path: str | Path = "config.yaml") -> Config:
    """Read and check config.yaml. Raises `ConfigError` listing every problem with its YAML path and line."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(str(path), ["这是一个文件夹，不是配置文件；请指定其中的 config.yaml"])
    if not path.is_file():
        raise ConfigError(str(path), [], missing=True)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), [f"无法读取（{exc.strerror or exc}）；请检查文件的访问权限"]) from None
    config = parse_config(decode_config(raw, str(path)), str(path))
    config._folder = path.resolve().parent
    return config


_SAVE_AS_UTF8 = "请用记事本打开它，点“文件 → 另存为”，在“编码”中选择 UTF-8 后保存"


def decode_config(raw: bytes, source: str = "config.yaml") -> str:
    """config.yaml's bytes as text: UTF-8 (with or without Notepad's byte-order mark), UTF-16
    with its mark (Notepad's "Unicode"), else GB18030 — Notepad's "ANSI" on a Chinese Windows,
    a superset of GBK. A file with NUL bytes and no UTF-16 mark is not a text file at all."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in raw:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
    else:
        raise ConfigError(source, ["这不是文本文件（可能选错了文件，例如 Excel 工作簿或压缩包）；请指定用记事本编辑的 config.yaml"])
    raise ConfigError(source, [f"文件的编码无法识别，读不出其中的文字；{_SAVE_AS_UTF8}"])


def parse_config(text: str, source: str = "config.yaml") -> Config:
    """Check config text (see `load_config`)."""
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [_yaml_problem(exc)]) from None
    except ValueError:  # PyYAML builds dates itself and fails on e.g. 2020-09-31
        raise ConfigError(source, _invalid_dates(text)) from None
    if not isinstance(data, dict):
        raise ConfigError(source, ["文件内容应为键值映射（campaign:, periods:, …）"])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        lines = _line_index(text)
        raise ConfigError(source, [_describe(err, lines) for err in exc.errors()]) from None
    problems = list(_cross_check(config))
    if problems:
        lines = _line_index(text)
        raise ConfigError(source, [f"{_where(loc, lines)}：{msg}" for loc, msg in problems])
    return config


# What a YAML parser's complaint usually means for a person editing the file in Notepad.
_YAML_HINTS = (
    ("'\\t'", "用了制表符（Tab 键）缩进；只能用空格缩进"),
    ("tab character", "用了制表符（Tab 键）缩进；只能用空格缩进"),
    ("mapping values are not allowed", "冒号的位置不对：冒号后要有空格，含冒号的文字要加引号"),
    ("did not find expected key", "缩进不一致：同一层的各项应对齐"),
    ("expected <block end>", "缩进不一致：同一层的各项应对齐"),
    ("found unexpected end of stream", "引号或括号不成对"),
    ("while scanning a quoted scalar", "引号不成对"),
    ("found duplicate anchor", "有重复的锚点（&）"),
)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML syntax error in Chinese: where, the likely cause, and the parser's words in brackets."""
    mark = getattr(exc, "problem_mark", None)
    where = f"第{mark.line + 1}行第{mark.column + 1}列" if mark else "文件中"
    problem = str(getattr(exc, "problem", None) or exc).strip()
    context = str(getattr(exc, "context", None) or "")
    hint = next((text for key, text in _YAML_HINTS if key in problem or key in context), "")
    return f"{where}格式有误，无法读取{('：' + hint) if hint else '（请检查该行及上一行的缩进、冒号和引号）'}（YAML：{problem}）"


# libyaml's loader where PyYAML was built with it (5-10x faster); both are "safe" loaders
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_index(text: str) -> dict[tuple, int]:
    """Map each YAML path (tuple of keys and indexes) to its 1-based line number."""
    index: dict[tuple, int] = {}

    def walk(node: yaml.Node, loc: tuple) -> None:
        index[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                index[loc + (key.value,)] = key.start_mark.line + 1
                walk(value, loc + (key.value,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, loc + (i,))

    root = yaml.compose(text)
    if root is not None:
        walk(root, ())
    return index


def _invalid_dates(text: str) -> list[str]:
    """Name every date scalar that is not a real calendar date."""
    problems: list[str] = []

    def walk(node: yaml.Node, loc: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, loc + (key.value,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, loc + (i,))
        elif node.tag == "tag:yaml.org,2002:timestamp":
            try:
                yaml.SafeLoader("").construct_yaml_timestamp(node)
            except ValueError:
                path = ".".join(str(p) for p in loc)
                problems.append(f"{path}（第{node.start_mark.line + 1}行）：日期格式应为 YYYY-MM-DD，且须为有效日期（{node.value}）")

    walk(yaml.compose(text), ())
    return problems or ["配置中有无效的值"]


def _where(loc: tuple, lines: dict[tuple, int]) -> str:
    path = ".".join(str(part) for part in loc) or "(根)"
    probe = tuple(loc)
    while probe and probe not in lines:
        probe = probe[:-1]
    line = lines.get(probe)
    return f"{path}（第{line}行）" if line else path


_PYDANTIC_MESSAGES = {
    "missing": "缺少必填项",
    "extra_forbidden": "不认识的设置项（拼写错误？）",
    "literal_error": "取值不在允许范围内",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "datetime_parsing": "日期时间格式应为 YYYY-MM-DD HH:MM",
    "datetime_from_date_parsing": "日期时间格式应为 YYYY-MM-DD HH:MM",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "string_type": "应为文字",
    "list_type": "应为列表（[...] 或 - 开头的各行）",
    "dict_type": "应为键值映射",
    "model_type": "应为键值映射",
    "greater_than_equal": "数值太小",
}


def _describe(err: dict, lines: dict[tuple, int]) -> str:
    """One pydantic error as a Chinese line naming the YAML path and line; pydantic's own
    (English) words only in brackets, and only where no Chinese says it all."""
    loc = tuple(part for part in err["loc"] if not (isinstance(part, str) and part.startswith("function-")))
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "value_error":             # our own validators: already Chinese
        message = str(ctx.get("error") or err["msg"]).removeprefix("Value error, ")
    elif kind == "literal_error":
        message = f"取值不在允许范围内，应为 {str(ctx.get('expected', '')).replace(' or ', ' 或 ')}"
    elif kind in ("greater_than_equal", "greater_than") and ("ge" in ctx or "gt" in ctx):
        message = f"数值太小，应不小于 {ctx.get('ge', ctx.get('gt'))}"
    elif kind in _PYDANTIC_MESSAGES:
        message = _PYDANTIC_MESSAGES[kind]
    else:
        message = f"取值无效（{err['msg']}）"
    return f"{_where(loc, lines)}：{message}"


def _cross_check(config: Config):
    """Yield (yaml path, Chinese message) for every reference that does not resolve."""
    yield from _check_periods(config)
    yield from _check_hierarchy(config)
    yield from _check_indicators(config)
    yield from _check_rules_and_targets(config)
    yield from _check_details(config)
    yield from _check_contacts(config)


def _check_contacts(config: Config):
    for code in config.contacts:
        if code not in config.units:
            yield ("contacts", code), f"单位代码 {code} 不在 counties 或 member_units 中"


def _check_periods(config: Config):
    camp = config.campaign
    if camp.end < camp.start:
        yield ("campaign", "end"), f"结束日期 {camp.end} 早于开始日期 {camp.start}"
    seen: set[int] = set()
    previous: Optional[Period] = None
    for i, period in enumerate(config.periods):
        if period.number in seen:
            yield ("periods", i, "number"), f"期次 {period.number} 重复"
        seen.add(period.number)
        if not camp.start <= period.cutoff <= camp.end:
            yield ("periods", i, "cutoff"), f"截至日期 {period.cutoff} 不在活动期间（{camp.start}至{camp.end}）内"
        if period.deadline.date() < period.cutoff:
            yield ("periods", i, "deadline"), f"报送截止时间 {period.deadline:%Y-%m-%d %H:%M} 早于截至日期 {period.cutoff}"
        if previous and period.cutoff <= previous.cutoff:
            yield ("periods", i, "cutoff"), f"截至日期 {period.cutoff} 应晚于上一期的 {previous.cutoff}"
        previous = period
    if not config.periods:
        yield ("periods",), "至少要有一个报送期次"


def _check_hierarchy(config: Config):
    city_codes = {c.code for c in config.cities}
    codes: set[str] = set()
    for i, county in enumerate(config.counties):
        if county.city not in city_codes:
            yield ("counties", i, "city"), f"{county.name} 所属市代码 {county.city} 不在 cities 中"
        for group in county.groups:
            if group not in config.county_groups:
                yield ("counties", i, "groups"), f"{county.name} 的分组 {group} 未在 county_groups 中定义"
        if county.code in codes:
            yield ("counties", i, "code"), f"单位代码 {county.code} 重复"
        codes.add(county.code)
    for i, member in enumerate(config.member_units):
        if member.code in codes or member.code in city_codes:
            yield ("member_units", i, "code"), f"单位代码 {member.code} 重复"
        codes.add(member.code)
    for gid, group in config.county_groups.items():
        for code in group.members:
            if code not in {c.code for c in config.counties}:
                yield ("county_groups", gid, "members"), f"县代码 {code} 不在 counties 中"
    members = {m.code for m in config.member_units}
    for i, activity in enumerate(config.activities):
        for code in activity.lead:
            if code not in members:
                yield ("activities", i, "lead"), f"牵头单位代码 {code} 不在 member_units 中"


def _check_reported_by(config: Config, loc: tuple, reported_by: ReportedBy):
    members = {m.code for m in config.member_units}
    if reported_by.counties not in ("all", "none") and reported_by.counties not in config.county_groups:
        yield loc + ("counties",), f"“{reported_by.counties}”应为 all、none 或 county_groups 中的分组"
    for code in reported_by.units:
        if code not in members:
            yield loc + ("units",), f"成员单位代码 {code} 不在 member_units 中"


def _check_indicators(config: Config):
    ids: set[str] = set()
    names: set[str] = set()
    activities = {a.id for a in config.activities}
    for i, ind in enumerate(config.indicators):
        loc = ("indicators", i)
        if ind.id in ids:
            yield loc + ("id",), f"指标编号 {ind.id} 重复"
        if ind.name in names:
            yield loc + ("name",), f"指标名称“{ind.name}”重复（表格按名称识别指标，名称必须唯一）"
        ids.add(ind.id)
        names.add(ind.name)
        if ind.activity not in activities:
            yield loc + ("activity",), f"活动编号 {ind.activity} 不在 activities 中"
        yield from _check_reported_by(config, loc + ("reported_by",), ind.reported_by)
        if ind.compute and ind.count_meeting:
            yield loc, "compute 与 count_meeting 只能选一个"
        if not ind.derived and ind.reported_by.counties == "none" and not ind.reported_by.units:
            yield loc + ("reported_by",), f"指标 {ind.id} 没有填报单位，也不是计算指标"
        if isinstance(ind.counted_from, list):
            for code in ind.counted_from:
                if code not in ind.reported_by.units:
                    yield loc + ("counted_from",), f"{code} 不是该指标的填报单位"
        if ind.counted_from == "counties" and ind.reported_by.counties == "none":
            yield loc + ("counted_from",), "该指标没有县级填报，不能以县级数据汇总"
    reported = {i.id for i in config.indicators if not i.derived}
    for i, ind in enumerate(config.indicators):
        if ind.compute:
            yield from _check_expr(ind.compute, ("indicators", i, "compute"), reported)
        if ind.count_meeting and ind.count_meeting.indicator not in ids:
            yield ("indicators", i, "count_meeting", "indicator"), f"指标 {ind.count_meeting.indicator} 未定义"


def _check_expr(text: str, loc: tuple, known: set[str]):
    try:
        parsed = expr.parse(text)
    except expr.ExprError as exc:
        yield loc, f"表达式“{text}”有误：{exc}"
        return
    for name in expr.names(parsed):
        if name not in known:
            yield loc, f"表达式“{text}”中的 {name} 不是已定义的填报指标"


def _check_rules_and_targets(config: Config):
    ids = {i.id for i in config.indicators}
    reported = {i.id for i in config.indicators if not i.derived}
    for i, rule in enumerate(config.rules):
        yield from _check_expr(rule.check, ("rules", i, "check"), reported)
    for i, target in enumerate(config.targets):
        if target.indicator not in ids:
            yield ("targets", i, "indicator"), f"指标 {target.indicator} 未定义"
        if target.scope != "region" and target.scope not in config.county_groups:
            yield ("targets", i, "scope"), f"“{target.scope}”应为 region 或 county_groups 中的分组"
    cities = {c.code for c in config.cities}
    for ind_id, by_city in config.city_targets.items():
        if ind_id not in ids:
            yield ("city_targets", ind_id), f"指标 {ind_id} 未定义"
        for code in by_city:
            if code not in cities:
                yield ("city_targets", ind_id, code), f"市代码 {code} 不在 cities 中"
    if config.ranking_indicator and not config.targets_for(config.ranking_indicator):
        yield ("ranking_indicator",), f"排名指标 {config.ranking_indicator} 没有目标任务，无法计算完成率"


def _check_details(config: Config):
    ids = {i.id for i in config.indicators}
    for i, detail in enumerate(config.details):
        loc = ("details", i)
        yield from _check_reported_by(config, loc + ("reported_by",), detail.reported_by)
        columns = {c.id for c in detail.columns}
        for j, column in enumerate(detail.columns):
            if column.kind == "choice" and not column.choices:
                yield loc + ("columns", j, "choices"), f"选项列“{column.name}”缺少 choices"
        for j, total in enumerate(detail.totals):
            if total.equals not in ids:
                yield loc + ("totals", j, "equals"), f"指标 {total.equals} 未定义"
            for col in (total.count_where or {}):
                if col not in columns:
                    yield loc + ("totals", j, "count_where"), f"列 {col} 不在该明细表中"
