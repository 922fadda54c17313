"""The two workbook layouts people and outside checks rely on, in one place.

**The return form** (docs/form-contract.md): a data sheet `填报` whose header block holds
the labels of `HEADER_LABELS`, each with its value in the cell to its right; a table whose
header row holds `INDICATOR_LABEL` and `VALUE_LABEL` (one row per indicator, its Chinese
name exactly as in config.yaml); one sheet per detail list; a hidden `META_SHEET` with the
keys of `Meta`. Forms are written at the positions below, but read by label only: clerks
insert rows, move columns and rename sheets.

**The master workbook**: the sheets of `MasterSheet`; entry sheets (a city's counties, a
member unit) with a header row of `ENTRY_CODE_LABEL`, `ENTRY_NAME_LABEL`,
`ENTRY_STATE_LABEL`, the indicator names, `ENTRY_NOTE_LABEL`; the defined names of
`BookName` on 首页, which the buttons read; and the `xlwings.conf` sheet's keys.

Everything that writes, reads or fills these workbooks (forms, reading by label, the demo's
clerk, the master writer, the .xlsm builder, the buttons) takes its names from here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Config

__all__ = [
    "FORM_SHEET", "META_SHEET", "LISTS_SHEET", "Header", "HEADER_LABELS", "Meta",
    "SERIAL_LABEL", "INDICATOR_LABEL", "UNIT_LABEL", "PREVIOUS_LABEL", "VALUE_LABEL", "HELP_LABEL", "HINT_LABEL",
    "TABLE_HEADERS", "FORM_DATE_FORMAT", "FORM_TITLE_ROW", "FORM_HEADER_ROWS", "FORM_NOTE_ROW",
    "FORM_TABLE_HEADER_ROW", "FORM_FIRST_BODY_ROW", "DETAIL_TITLE_ROW", "DETAIL_UNIT_ROW", "DETAIL_HEADER_ROW",
    "TOTAL_WORDS",
    "MasterSheet", "region_sheet", "cities_sheet", "ENTRY_CODE_LABEL", "ENTRY_NAME_LABEL", "ENTRY_STATE_LABEL", "ENTRY_NOTE_LABEL",
    "ENTRY_UNIT_ROW_LABEL", "ENTRY_MESSAGE_LABEL", "ENTRY_HEADER_ROW", "ENTRY_FIRST_ROW", "ISSUE_COLUMNS",
    "ISSUE_HISTORY_HEADING",
    "BookName", "Conf", "CONF_DEFAULTS", "FEEDBACK_REJECTED_PREFIX", "FEEDBACK_WARNED_PREFIX",
    "NarrativeKind", "NARRATIVE_FIELDS", "NARRATIVE_LABELS", "NARRATIVE_HEADING", "NARRATIVE_MAX_CHARS",
    "NEWS_SHEET", "NewsColumn", "NEWS_COLUMNS", "NEWS_CHOSEN_WORDS",
]

# ---- the return form ------------------------------------------------------------------------

FORM_SHEET = "填报"          # the data sheet (found by its table header when renamed)
META_SHEET = "xf_meta"       # hidden: template version, unit, period, campaign
LISTS_SHEET = "xf_lists"     # hidden: long choice lists the data validation points to


class Header(StrEnum):
    """Labels of the form's header block; each value sits in the cell to the label's right."""

    UNIT_NAME = "填报单位"
    UNIT_CODE = "单位代码"
    PERIOD = "报送期次"
    CUTOFF = "截至日期"
    FILLED_BY = "填报人"
    PHONE = "联系电话"


HEADER_LABELS = tuple(h.value for h in Header)


class Meta(StrEnum):
    """Keys of the hidden meta sheet (column A), values in column B."""

    TEMPLATE_VERSION = "template_version"
    UNIT_CODE = "unit_code"
    UNIT_NAME = "unit_name"
    PERIOD = "period"
    CAMPAIGN = "campaign"


SERIAL_LABEL = "序号"
INDICATOR_LABEL = "指标名称"
UNIT_LABEL = "单位"
PREVIOUS_LABEL = "上期累计"
VALUE_LABEL = "截至本期累计"
HELP_LABEL = "填报说明"
HINT_LABEL = "校验提示"
TABLE_HEADERS = (SERIAL_LABEL, INDICATOR_LABEL, UNIT_LABEL, PREVIOUS_LABEL, VALUE_LABEL, HELP_LABEL, HINT_LABEL)
FORM_DATE_FORMAT = 'yyyy"年"m"月"d"日"'

# Where the form writer puts things (1-based rows). Nothing reads by these positions.
FORM_TITLE_ROW = 1
FORM_HEADER_ROWS = (2, 3, 4)     # two labels per row, in columns A/B and D/E
FORM_NOTE_ROW = 5
FORM_TABLE_HEADER_ROW = 6
FORM_FIRST_BODY_ROW = 7
# A detail sheet: its title, the unit and period, then the header row of its columns (read by label).
DETAIL_TITLE_ROW, DETAIL_UNIT_ROW, DETAIL_HEADER_ROW = 1, 2, 3

# The narrative section below the table: free text, each label in the 指标名称 column with its
# text in the cell to its right (read by label, like the header block). Kinds, in the briefing's words:
class NarrativeKind(StrEnum):
    NEWS = "工作动态"
    PRACTICE = "典型做法"


NARRATIVE_FIELDS = (("本期工作动态（一）", NarrativeKind.NEWS), ("本期工作动态（二）", NarrativeKind.NEWS),
                    ("典型做法", NarrativeKind.PRACTICE))
NARRATIVE_LABELS = tuple(label for label, _ in NARRATIVE_FIELDS)
NARRATIVE_HEADING = "本期工作动态和典型做法（选填，文字材料，供编发简报选用）"
NARRATIVE_MAX_CHARS = 300    # the length hint; a longer text is kept whole and flagged 警告

TOTAL_WORDS = frozenset({"合计", "总计", "小计"})   # a row a clerk added under a list: not data

# Names of the feedback workbooks we write (staff may save them back into the inbox).
FEEDBACK_REJECTED_PREFIX = "退回_"   # a return sent back: fix and resend
FEEDBACK_WARNED_PREFIX = "提示_"     # accepted, with warnings to look at

# ---- the master workbook ----------------------------------------------------------------------


class MasterSheet(StrEnum):
    """Sheets of the master workbook with fixed names. The region's and the cities' sheets are
    named after the campaign's levels (`region_sheet`, `cities_sheet`); city and member-unit
    sheets after the city and the unit's short name."""

    HOME = "首页"
    REPORTING = "报送情况"
    CHASE = "催报清单"          # printable: per city, only the units still missing or sent back
    HISTORY = "历史"            # every period's figures side by side, with line charts
    ISSUES = "校验问题"
    TARGETS = "目标"
    CONF = "xlwings.conf"


def region_sheet(config: "Config") -> str:
    """The regional totals' sheet: 全区汇总 (全市汇总 where the region is a city)."""
    return f"{config.campaign.region.short_name}汇总"


def cities_sheet(config: "Config") -> str:
    """The cities' progress sheet: 各市进展 (各片区进展 where the middle level is 片区)."""
    return f"各{config.campaign.levels.city}进展"


ENTRY_CODE_LABEL = "单位代码"
ENTRY_NAME_LABEL = "单位名称"
ENTRY_STATE_LABEL = "填报状态"
ENTRY_NOTE_LABEL = "备注"
ENTRY_UNIT_ROW_LABEL = "计量单位"
ENTRY_MESSAGE_LABEL = "校验提示"     # written by the 校验 button after the last header
ENTRY_HEADER_ROW, ENTRY_FIRST_ROW = 3, 5   # as written; read back by label
ISSUE_COLUMNS = ("单位代码", "单位名称", "文件", "单元格", "级别", "问题类型", "指标", "值", "说明")
# 校验问题 lists the current issues, then under this heading those of returns since replaced or corrected
ISSUE_HISTORY_HEADING = "以下是已被更正或替换的报表中的问题，仅供查阅，不计入上方统计"


# 工作动态: every narrative item of the period, one row each; staff choose (选用) and edit
# (简报采用文字) the items of the briefing's 各地动态, and 校验 / 生成简报 archive what they chose.
NEWS_SHEET = "工作动态"


class NewsColumn(StrEnum):
    KEY = "编号"              # the item's archive key (`N<submission>-<seq>`): how a row is read back
    UNIT_CODE = "单位代码"
    UNIT_NAME = "单位名称"
    CITY = "所属"             # + the city level's name (所属市, 所属片区): matched by prefix
    KIND = "类别"
    ORIGINAL = "原文"
    CHOSEN = "选用"
    TEXT = "简报采用文字"


NEWS_COLUMNS = tuple(NewsColumn)
NEWS_CHOSEN_WORDS = frozenset({"是", "√", "✓", "✔", "选用", "y", "yes", "1", "x"})   # what marks a row 选用


class BookName(StrEnum):
    """Defined names on 首页 that the buttons read and write."""

    PERIOD = "Period"
    INBOX = "InboxFolder"
    OUTPUT = "OutputFolder"
    LAST_RUN = "LastRun"
    ARCHIVE_VERSION = "ArchiveVersion"     # the archive's newest submission id when the book was filled
    COMMAND = "Command"                    # the one-button fallback: the operation chosen in a cell


class Conf(StrEnum):
    """Keys of the `xlwings.conf` sheet (column A), as xlwings reads them."""

    MODE = "XF_MODE"
    SERVER_URL = "XF_SERVER_URL"
    CONFIG = "XF_CONFIG"
    ARCHIVE = "XF_ARCHIVE"


CONF_DEFAULTS = {
    Conf.MODE: "desktop",
    Conf.SERVER_URL: "http://127.0.0.1:8000",
    Conf.CONFIG: "config.yaml",
    Conf.ARCHIVE: "data/xf.sqlite",
}
