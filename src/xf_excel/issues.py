"""Findings about returns and workbooks: structured records, never exceptions or strings.

Every finding is an `Issue` with a stable kebab-case `code`, a `severity` (错误 blocks a
return; 警告 is accepted and listed), where it is (file, sheet, cell as Excel shows it) and a
Chinese message the person who filled the form can act on. Each code has one short Chinese
label (for counts and tables) and one message template (`KINDS`), so a finding reads the same
wherever it is found — in a return, in the master workbook, in the briefing's counts::

    >>> Issue.of(IssueCode.REQUIRED, Severity.ERROR, sheet="填报", row=12, column=5, name="运营专柜数").message
    '「运营专柜数」（填报!E12）为必填项，未填写；如果没有，请填 0。'

Technical detail (a library's own words) goes into `details`, never into the sentence.
The CLI's --json output, the 校验问题 sheet and the feedback workbooks are all made from
the same rows (`Issue.to_dict`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from string import Formatter
from typing import Any, NamedTuple

__all__ = ["Severity", "IssueCode", "Issue", "Kind", "KINDS", "HasIssues", "issue_label", "cell_address",
           "column_letter"]


class Severity(str, Enum):
    """错误 blocks acceptance of a return; 警告 is accepted and listed for review."""

    ERROR = "错误"
    WARNING = "警告"


class IssueCode(str, Enum):
    """Stable codes of every kind of finding (used in --json output, tests and the archive)."""

    # the file as a whole
    NOT_A_RETURN = "not-a-return"
    UNREADABLE_FILE = "unreadable-file"
    ENCRYPTED_FILE = "encrypted-file"
    UNSAFE_FILE = "unsafe-file"
    WRONG_TEMPLATE = "wrong-template"
    OLD_TEMPLATE = "old-template"
    DUPLICATE_FILE = "duplicate-file"
    MACROS_IGNORED = "macros-ignored"
    NO_CACHED_VALUES = "no-cached-values"
    SKIPPED_FILE = "skipped-file"          # intake: a temp/hidden/own-output file left out of the inbox
    FEEDBACK_NOT_WRITTEN = "feedback-not-written"   # the return is archived, its feedback workbook could not be written
    # who sent it
    UNKNOWN_UNIT = "unknown-unit"
    UNIT_MISMATCH = "unit-mismatch"
    SENDER_MISMATCH = "sender-mismatch"
    WRONG_PERIOD = "wrong-period"
    SAME_TIME_RETURNS = "same-time-returns"   # two accepted returns of a unit received at the same moment
    # the header block
    MISSING_HEADER = "missing-header"
    BAD_PHONE = "bad-phone"
    LONG_NARRATIVE = "long-narrative"      # a 工作动态 / 典型做法 text over the length hint (kept whole)
    # indicator cells
    MISSING_INDICATOR = "missing-indicator"
    DUPLICATE_INDICATOR = "duplicate-indicator"
    REQUIRED = "required"
    NOT_A_NUMBER = "not-a-number"
    NOT_AN_INTEGER = "not-an-integer"
    NEGATIVE = "negative"
    OUT_OF_RANGE = "out-of-range"
    ERROR_VALUE = "error-value"
    NORMALISED = "normalised"
    RULE_FAILED = "rule-failed"
    BELOW_PREVIOUS = "below-previous"
    IMPLAUSIBLE_JUMP = "implausible-jump"
    PEER_OUTLIER = "peer-outlier"
    # detail lists
    MISSING_DETAIL_SHEET = "missing-detail-sheet"
    DETAIL_REQUIRED = "detail-required"
    DETAIL_BAD_CHOICE = "detail-bad-choice"
    DETAIL_BAD_DATE = "detail-bad-date"
    DATE_OUTSIDE_CAMPAIGN = "date-outside-campaign"
    DETAIL_TOTAL_MISMATCH = "detail-total-mismatch"
    TOO_MANY_ROWS = "too-many-rows"
    # added by validate/normalize: a unit word that is not the indicator's, an estimate,
    # a form without its hidden xf_meta sheet, a detail sheet without one of its columns
    WRONG_UNIT = "wrong-unit"
    APPROXIMATE = "approximate"
    MISSING_META = "missing-meta"
    MISSING_DETAIL_COLUMN = "missing-detail-column"
    # added by master: a figure typed into the master for an indicator the unit does not report
    NOT_REPORTED_BY_UNIT = "not-reported-by-unit"

class Kind(NamedTuple):
    """What a code means to people: a short label and the template of its message."""

    label: str
    template: str


# Slots every template may use: {file}, {cell} (填报!E12, or the sheet, or ''), {name} (the
# indicator's Chinese name), {text} (the value as typed); others are named per code.
_FILE_FRAME = "{what}「{file}」{reason}。{advice}"
KINDS: dict[IssueCode, Kind] = {
    # the file as a whole
    IssueCode.NOT_A_RETURN: Kind("不是报表文件", _FILE_FRAME),
    IssueCode.UNREADABLE_FILE: Kind("文件无法读取", _FILE_FRAME),
    IssueCode.ENCRYPTED_FILE: Kind("文件设有密码", _FILE_FRAME),
    IssueCode.UNSAFE_FILE: Kind("文件结构异常", _FILE_FRAME),
    IssueCode.WRONG_TEMPLATE: Kind("不是下发的表格", _FILE_FRAME),
    IssueCode.OLD_TEMPLATE: Kind("使用旧版模板",
                                 "文件「{file}」使用的是旧版填报表（版本 {version}，现行版本 {current}）。请使用{which}重新填报。"),
    IssueCode.DUPLICATE_FILE: Kind("重复报送", "文件「{file}」与已收到的「{other}」内容完全相同，已按重复报送处理。"),
    IssueCode.MACROS_IGNORED: Kind("含宏已忽略",
                                   "文件「{file}」含有宏；宏没有运行，也不会被保存或转发。请今后使用下发的 .xlsx 填报表。"),
    IssueCode.NO_CACHED_VALUES: Kind("公式无计算结果",
                                     "{cell} 是公式，但文件中没有它的计算结果（文件不是由 Excel/WPS 保存的），按空白读取；"
                                     "请在 Excel 中打开并保存后重新发送，或直接填写数值"),
    IssueCode.SKIPPED_FILE: Kind("已跳过的文件", "已跳过「{file}」：{reason}。"),
    IssueCode.FEEDBACK_NOT_WRITTEN: Kind("反馈表未写出",
                                         "未能为文件「{file}」写出反馈表{reason}；文件已存档。"
                                         "请把问题清单（汇总表“校验问题”页）告知报送单位。"),
    IssueCode.MISSING_META: Kind("缺少隐藏页",
                                 "文件「{file}」缺少下发表格中的隐藏页（{meta_sheet}），可能不是在下发的原表上填写的；"
                                 "本次已按表头和指标名称读取，今后请在下发的原表上填写"),
    # who sent it
    IssueCode.UNKNOWN_UNIT: Kind("单位无法识别", "{where}{reason}；{advice}"),
    IssueCode.UNIT_MISMATCH: Kind("单位信息不一致",
                                  "{source}为“{claimed}”，与{chosen_source}（“{chosen}”）不一致；"
                                  "请使用本单位的填报表填写并核对单位，以免数据记到其他单位名下"),
    IssueCode.SENDER_MISMATCH: Kind("发件人不符",
                                    "文件「{file}」由 {sender} 发送，不是{unit_name}登记的报送邮箱（{addresses}）；请核实是否为本单位报送"),
    IssueCode.WRONG_PERIOD: Kind("期次不符",
                                 "表中报送期次为第{stated}期，本次收取的是第{period}期报表：第{stated}期的数据不能计入"
                                 "第{period}期；请使用第{period}期下发的填报表填写截至第{period}期的数据后重新报送"),
    IssueCode.SAME_TIME_RETURNS: Kind("报送时间相同",
                                      "{unit_name}第{period}期的「{counted}」与「{other}」接收时间相同（{when}），"
                                      "无法判断哪一份是后报的；目前以「{counted}」计入汇总。请与该单位核实以哪一份为准；"
                                      "如应以「{other}」为准，请在汇总表中按该份改正数字后点击“校验”"),
    # the header block
    IssueCode.MISSING_HEADER: Kind("表头信息缺失", "未填写{label}{where}；请填写，以便核实数据时联系"),
    IssueCode.BAD_PHONE: Kind("联系电话有误",
                              "联系电话（{cell}）“{text}”格式不对：手机为1开头的11位数字，座机请带区号（如 0771-1234567）；"
                              "单元格为数字格式时区号的 0 会丢失，请设为文本"),
    IssueCode.LONG_NARRATIVE: Kind("文字材料过长",
                                   "{label}（{cell}）共{length}字，超过{limit}字的建议篇幅；已全文收录，"
                                   "编发简报时可能删节，请尽量精简，突出做法和成效"),
    # indicator cells: one checker for a typed figure, in returns and in the master alike
    IssueCode.MISSING_INDICATOR: Kind("缺少指标行", "“{sheet_name}”表中找不到指标「{name}」所在的行；请勿删除指标行或改动指标名称"),
    IssueCode.DUPLICATE_INDICATOR: Kind("指标行重复", "指标「{name}」出现了两行（{first}、{cell}），无法确定以哪行为准；请删除多余的一行"),
    IssueCode.REQUIRED: Kind("必填项未填", "「{name}」（{cell}）为必填项，未填写；如果没有，请填 0"),
    IssueCode.NOT_A_NUMBER: Kind("不是数字", "「{name}」（{cell}）填写的“{text}”：{reason}"),
    IssueCode.NOT_AN_INTEGER: Kind("不是整数", "「{name}」（{cell}）填写的“{text}”：{reason}"),
    IssueCode.NEGATIVE: Kind("出现负数", "「{name}」（{cell}）填写的“{text}”：{reason}"),
    IssueCode.ERROR_VALUE: Kind("单元格错误值", "「{name}」（{cell}）填写的“{text}”：{reason}"),
    IssueCode.WRONG_UNIT: Kind("单位有误", "「{name}」（{cell}）填写的“{text}”：{reason}"),
    IssueCode.APPROXIMATE: Kind("填写估计数", "「{name}」（{cell}）填写的“{text}”：{reason}"),
    IssueCode.OUT_OF_RANGE: Kind("超出范围", "「{name}」（{cell}）为 {figure}，不应{side}于 {bound}，请核对"),
    IssueCode.NORMALISED: Kind("数字格式已规范", "「{name}」（{cell}）填写的“{text}”已按数字 {figure} 读取；请核对"),
    IssueCode.RULE_FAILED: Kind("逻辑校验不通过", "{reason}"),
    IssueCode.BELOW_PREVIOUS: Kind("累计数小于上期",
                                   "「{name}」（{cell}）为 {figure}，累计数不应小于上期的 {before}；本栏填{since}以来的累计数，请核对"),
    IssueCode.IMPLAUSIBLE_JUMP: Kind("增幅异常",
                                     "「{name}」（{cell}）由上期的 {before} 增至 {figure}，增长超过 {times} 倍；"
                                     "请核对是否多填了位数或单位有误"),
    IssueCode.PEER_OUTLIER: Kind("明显偏离同类单位",
                                 "「{name}」（{cell}）为 {figure}，是同类单位中位数 {median} 的 {times} 倍；"
                                 "请核对单位（{unit_word}）和位数是否正确"),
    IssueCode.NOT_REPORTED_BY_UNIT: Kind("非本单位填报指标",
                                         "「{name}」（{cell}）：{unit_name}不填报此项，该数已忽略；请清空该单元格"),
    # detail lists
    IssueCode.MISSING_DETAIL_SHEET: Kind("缺少明细表", "文件「{file}」中找不到“{sheet_name}”工作表；请在下发表格的“{sheet_name}”页逐行填写"),
    IssueCode.MISSING_DETAIL_COLUMN: Kind("缺少明细列", "“{sheet_name}”表中找不到“{column_name}”列（表头第{header_row}行）；请勿删除或改动列名"),
    IssueCode.DETAIL_REQUIRED: Kind("明细必填项未填", "{where}为必填项，未填写"),
    IssueCode.DETAIL_BAD_CHOICE: Kind("明细选项不符", "{where}“{text}”不是可选项；{hint}可选：{choices}"),
    IssueCode.DETAIL_BAD_DATE: Kind("明细日期有误", "{where}“{text}”不是日期；请按“2020-09-15”的格式填写"),
    IssueCode.DATE_OUTSIDE_CAMPAIGN: Kind("日期不在活动期间", "{where}为 {day}，不在活动期间（{start}至{end}）内，请核对"),
    IssueCode.DETAIL_TOTAL_MISMATCH: Kind("明细与合计不符", "“{sheet_name}”{what} {counted} 行，与「{name}」（{cell}）{figure} 不一致；请核对明细或该项数字"),
    IssueCode.TOO_MANY_ROWS: Kind("明细行数过多",
                                  "“{sheet_name}”最多读取 {max_rows} 行，第{first_row}行起的 {extra} 行未读取；如确有更多，请与{office}联系"),
}


def _sentence(text: str) -> str:
    """Every message is a finished Chinese sentence: it ends with 。 (or ！/？)."""
    text = text.rstrip()
    return text if text.endswith(("。", "！", "？")) else text.rstrip("；，：、") + "。"


def issue_label(code: IssueCode | str) -> str:
    """The short Chinese name of an issue kind (also for a code read back from the archive)."""
    return KINDS[IssueCode(getattr(code, "value", code))].label


def template_slots(code: IssueCode) -> set[str]:
    """The slots a code's template uses (for tests: every call site fills them all)."""
    return {name for _, name, _, _ in Formatter().parse(KINDS[code].template) if name}


def column_letter(column: int) -> str:
    """1 -> A, 27 -> AA (Excel's column names)."""
    letters = ""
    while column > 0:
        column, rem = divmod(column - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_address(sheet: str | None, row: int | None, column: int | None) -> str:
    """The address as a person sees it in Excel: `填报!D12`, or `填报` or '' when unknown."""
    if not sheet:
        return ""
    if row is None or column is None:
        return sheet
    return f"{sheet}!{column_letter(column)}{row}"


@dataclass(frozen=True)
class Issue:
    """One finding. `row`/`column` are 1-based as Excel shows them; `message` is Chinese."""

    code: IssueCode
    severity: Severity
    message: str
    file: str = ""
    sheet: str | None = None
    row: int | None = None
    column: int | None = None
    indicator: str | None = None
    value: Any = None
    unit: str | None = None
    details: str = ""           # technical detail (a library's message), never shown in the sentence

    @classmethod
    def of(cls, code: IssueCode, severity: Severity, *, file: str = "", sheet: str | None = None,
           row: int | None = None, column: int | None = None, indicator: str | None = None, value: Any = None,
           unit: str | None = None, details: str = "", **slots: Any) -> "Issue":
        """An issue whose message is rendered from its code's template; `slots` fill it
        (`file` and `cell` are filled from the location)."""
        where = cell_address(sheet, row, column)
        message = _sentence(KINDS[code].template.format(file=file, cell=where, **slots))
        return cls(code, severity, message, file=file, sheet=sheet, row=row, column=column, indicator=indicator,
                   value=value, unit=unit, details=details)

    @property
    def label(self) -> str:
        """The code's short Chinese name (问题类型)."""
        return KINDS[self.code].label

    @property
    def cell(self) -> str:
        """`填报!D12` (or the sheet alone, or '')."""
        return cell_address(self.sheet, self.row, self.column)

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        """A flat, JSON-ready row (enum values as their text, the cell address included)."""
        row = asdict(self)
        row["code"] = self.code.value
        row["severity"] = self.severity.value
        row["cell"] = self.cell
        row["label"] = self.label
        if row["value"] is not None and not isinstance(row["value"], (int, float, str, bool)):
            row["value"] = str(row["value"])
        return row


class HasIssues:
    """What every result that checks something offers over its `issues` (returns, figures
    typed into the master, a file taken in): one vocabulary for fronts and tests."""

    issues: list[Issue]

    @property
    def ok(self) -> bool:
        """True when nothing blocks (warnings allowed)."""
        return not any(issue.blocking for issue in self.issues)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.WARNING]

    def flatten(self, fields: list[str]) -> list[list[Any]]:
        """Rows of the named fields, e.g. `flatten(["cell", "code"])` (for tests and tables)."""
        return [[issue.to_dict()[f] for f in fields] for issue in self.issues]
