"""The master .xlsm with its buttons, built on Linux with XlsxWriter.

The workbook holds the master workbook's sheets exactly as `master.py` lays them out (for
the first period, before any return: the 汇总 button later refreshes them value by value),
with the buttons, two more named cells and the instructions on 首页; an `xlwings.conf` sheet in xlwings' own
format (key/value pairs from A1) and a source-only VBA project: xlwings' own modules,
`macros/*.bas`, and one document module per workbook object (ThisWorkbook and every
sheet's code name; XlsxWriter gives every sheet a code name once a project is added).
Buttons call the Subs of `macros/XfButtons.bas`; captions and messages stay in Python
because VBA source must be ASCII.

The build is byte-reproducible (fixed document dates, sorted inputs), so CI can rebuild
the committed file and compare::

    >>> build_workbook(load_config("config.yaml"), Path("workbook/xf-excel.xlsm"))
    PosixPath('workbook/xf-excel.xlsm')

`check_bindings(path)` reads a built file back (the buttons' macros from the drawing
VML, the Subs from the VBA project via olevba) and says which button points nowhere.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Optional

import xlsxwriter

from ...config import Config
from ...contract import CONF_DEFAULTS, NEWS_SHEET, BookName, Conf, MasterSheet, cities_sheet, region_sheet
from ...errors import require
from ...pipeline import add_master_sheets, blank_consolidation, write_atomically
from .selftest import WORKBOOK_FILE_NAME
from .vbaproject import VbaModule, build_vba_project, document_module, load_modules, xlwings_vba_modules

__all__ = [
    "BUTTONS", "SELFTEST", "INPUT_NAMES", "EXTRA_NAMES", "Button", "ButtonBinding",
    "build_workbook", "check_bindings", "vba_subs", "macros_dir", "workbook_sheets", "conf_defaults",
]

BUILD_DATE = dt.datetime(2020, 9, 1, 0, 0, 0)   # fixed so two builds are byte-identical


@dataclass(frozen=True)
class Button:
    """A button on 首页: the Sub it runs (in macros/XfButtons.bas), its caption, and the
    name of the Python entry point (`xf_excel.fronts.excel.buttons.<key>_button`, `POST /xlwings/<key>`)."""

    key: str
    macro: str
    caption: str
    help: str


BUTTONS = (
    Button("make_forms", "XfMakeForms", "生成填报表", "按“报送期次”为每个填报单位生成填报表（预填上期数据），写入输出文件夹。"),
    Button("validate", "XfValidate", "校验", "检查各填报数据工作表中手工录入或修改的数字，标出有问题的单元格，并刷新“校验问题”表。"),
    Button("consolidate", "XfConsolidate", "汇总", "收取收件文件夹中的报表（逐一校验、存档，有错误的生成退回表），然后汇总并刷新各表。"),
    Button("undo", "XfUndo", "撤销上次收取", "本期最近一次“汇总”收取的报表作废（档案库中保留记录），退回表移入“已撤销”；之后可重新收取同一批文件。"),
    Button("brief", "XfBrief", "生成简报", "按当前期次生成工作简报（Word 和 Markdown，含图表），写入输出文件夹。"),
    Button("summary", "XfSummary", "生成总结", "活动结束后，按最后一期数据生成活动总结（Word 和 Markdown，含目标任务完成情况汇总表），写入输出文件夹。"),
    Button("send_forms", "XfSendForms", "发送填报表", "用办公邮箱给每个填报单位发送本单位的填报表（已发过的不重发）。"),
    Button("send_feedback", "XfSendFeedback", "发送退回", "给报表被退回的单位发送退回通知和校验反馈表（同一份报表只发一次）。"),
    Button("send_reminders", "XfSendReminders", "发送催报", "给尚未报送的单位发送催报通知和填报表（每个单位每天最多一次）。"),
)
SELFTEST = Button("selftest", "XfSelfTest", "自检", "检查本工作簿、配置和档案库是否就绪（供信息化人员使用）。")

# 首页 (beside master.py's cells, in its free columns F–I): buttons, then two named cells.
BUTTON_COLUMN, BUTTON_FIRST_ROW = "F", 3
_BELOW_BUTTONS = BUTTON_FIRST_ROW + 2 * (len(BUTTONS) + 1) + 1     # each button takes two rows; a blank row
EXTRA_NAMES = {                      # defined name -> (row, label, default); the value sits in G
    BookName.COMMAND: (_BELOW_BUTTONS, "备用操作", "汇总"),
}
INSTRUCTIONS_ROW = _BELOW_BUTTONS + 3   # 0-based row of the 使用说明 block (F–I)
INBOX_DEFAULT, OUTPUT_DEFAULT = "收件箱", "输出"
INPUT_NAMES = (BookName.PERIOD, BookName.INBOX, BookName.OUTPUT)


def conf_defaults() -> dict[str, str]:
    """The xlwings.conf sheet's keys and their defaults (relative paths: against the
    workbook's folder under RunPython, the server's folder in server mode)."""
    return {str(key): value for key, value in CONF_DEFAULTS.items()}


def macros_dir() -> Path:
    """The VBA sources of the buttons, shipped inside the package (`fronts/excel/macros/`)."""
    return Path(str(resources.files(__package__) / "macros"))


def workbook_sheets(config: Config) -> list[str]:
    """The master workbook's sheet names in order (as the master writer writes them)."""
    members = {m.code: m.short_name for m in config.member_units}
    return [MasterSheet.HOME, region_sheet(config), cities_sheet(config), MasterSheet.HISTORY,
            *(c.name for c in config.cities),
            *(members[u.code] for u in config.reporting_units() if u.kind == "member"),
            NEWS_SHEET, MasterSheet.REPORTING, MasterSheet.CHASE, MasterSheet.ISSUES, MasterSheet.TARGETS]


# ---- building ---------------------------------------------------------------------------------

def build_workbook(config: Config, path: str | Path, *, macros: Optional[Path] = None,
                   conf: Optional[dict[str, str]] = None) -> Path:
    """Write the master .xlsm to `path` (atomically) and return the path.

    The sheets are the master workbook's, as `master.py` writes them for a period with no
    returns yet (first period); 首页 gains the buttons, the instructions and two more named
    cells (`Command` for `xl.main`, `ArchiveVersion`). `macros` is the folder of `*.bas`
    sources (default: the source tree's `macros/`); `conf` overrides values of the
    xlwings.conf sheet (see `conf_defaults`)."""
    settings = {**conf_defaults(), **(conf or {})}
    folder = macros or macros_dir()
    sources = sorted(folder.glob("*.bas"))
    if not sources:
        raise FileNotFoundError(f"no VBA sources (*.bas) in {folder}")
    consolidation = blank_consolidation(config, at=BUILD_DATE)
    return write_atomically(Path(path), lambda tmp: _write(consolidation, tmp, load_modules(sources), settings))


def _write(consolidation, target: Path, macros: list[VbaModule], settings: dict[str, str]) -> None:
    config = consolidation.config
    book = xlsxwriter.Workbook(str(target), {"strings_to_numbers": False, "strings_to_formulas": False,
                                             "strings_to_urls": False})
    book.set_properties({"title": f"{config.campaign.name}汇总工作簿", "author": config.campaign.office,
                         "company": config.campaign.office, "created": BUILD_DATE,
                         "comments": "由 xf-excel 生成"})
    book.set_vba_name("ThisWorkbook")
    add_master_sheets(book, consolidation, (INBOX_DEFAULT, OUTPUT_DEFAULT))
    _add_buttons(book, book.get_worksheet_by_name(MasterSheet.HOME), config)
    _write_conf_sheet(book, settings)
    sheets = book.worksheets()
    for index, sheet in enumerate(sheets, start=1):
        sheet.set_vba_name(f"Sheet{index}")
    modules = [*xlwings_vba_modules(remote=True), *macros, document_module("ThisWorkbook"),
               *(document_module(f"Sheet{i}") for i in range(1, len(sheets) + 1))]
    book.add_vba_project(io.BytesIO(build_vba_project(modules)), is_stream=True)
    book.close()


def _add_buttons(book: xlsxwriter.Workbook, sheet, config: Config) -> None:
    """Buttons in 首页's free columns F–I, each with its help text; the named `Command` cell;
    instructions below."""
    base = {"font_size": 10, "valign": "vcenter"}
    note = book.add_format({**base, "font_color": "#404040", "text_wrap": True})
    label = book.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1})
    value = book.add_format({**base, "bg_color": "#FFF2CC", "border": 1})
    heading = book.add_format({"bold": True, "font_size": 12})
    sheet.set_column(f"{BUTTON_COLUMN}:{BUTTON_COLUMN}", 16)
    sheet.set_column("G:I", 22)
    for i, button in enumerate((*BUTTONS, SELFTEST)):
        row = BUTTON_FIRST_ROW + i * 2
        sheet.insert_button(f"{BUTTON_COLUMN}{row}", {"macro": button.macro, "caption": button.caption,
                                                      "width": 110, "height": 30})
        sheet.merge_range(f"G{row}:I{row + 1}", button.help, note)
    for name, (row, text, default) in EXTRA_NAMES.items():
        sheet.write_string(f"{BUTTON_COLUMN}{row}", text, label)
        if isinstance(default, str):
            sheet.write_string(f"G{row}", default, value)
        else:
            sheet.write_number(f"G{row}", default, value)
        book.define_name(name, f"='{MasterSheet.HOME}'!$G${row}")
    sheet.data_validation(f"G{EXTRA_NAMES[BookName.COMMAND][0]}", {"validate": "list",
                                                             "source": [b.caption for b in (*BUTTONS, SELFTEST)]})
    top = INSTRUCTIONS_ROW
    for offset, line in enumerate(_instructions(config)):
        sheet.merge_range(top + offset, 5, top + offset, 8, line, heading if offset == 0 else note)
        if offset:
            sheet.set_row(top + offset, 15 * max(1, math.ceil(_display_width(line) / 80)))


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _instructions(config: Config) -> list[str]:
    levels = config.campaign.levels
    return [
        "使用说明",
        "1. 在“期次”中填写要处理的期次；把收到的报表附件（或整封邮件 .eml/.msg、压缩包 .zip）保存到“收件文件夹”。",
        "2. 点击“汇总”：逐一读取、校验、存档收到的报表，有错误的报表在输出文件夹的“退回”中生成校验反馈表；"
        "各表随之刷新，汇总表文件同时写入输出文件夹。",
        f"3. 核对各表；需要手工录入或更正（如电话报送的数字）时，直接在各{levels.city}或{levels.member}工作表中修改，然后点击“校验”："
        "有问题的单元格标红或标黄，原因写在该行的“校验提示”列，全部问题列在“校验问题”表；没有错误的修改记入档案库。",
        "4. 点击“生成简报”，在输出文件夹的“简报”中得到 Word 和 Markdown 格式的工作简报。"
        "活动结束、最后一期收齐后，点击“生成总结”，在“活动总结”中得到活动总结（成果展示材料）。",
        "收取错了（如报送期次选错、收件文件夹选错）：点击“撤销上次收取”，本期最近一次收取的报表即作废（档案库中保留记录），"
        "改正后再点击“汇总”重新收取。",
        f"5. 每期开始时点击“生成填报表”，把生成的填报表发给各{levels.county}和各{levels.member}。",
        "6. 配置了办公邮箱时：“发送填报表”由邮箱逐一发出填报表；“汇总”先收取邮箱中的新邮件（无需手工保存附件）；"
        "“发送退回”“发送催报”通知被退回和未报送的单位。",
        "相对路径以本工作簿所在文件夹为准（服务器模式下以服务器的工作文件夹为准）。",
        "安装（信息化人员）：把本工作簿放在办公室的网络共享文件夹或 Excel 的受信任位置"
        "（文件 → 选项 → 信任中心 → 信任中心设置 → 受信任位置），大家从那里打开。"
        "不要用邮件、聊天工具或网页下载分发本文件（压缩后也不行）：这样收到的文件被 Windows 标记为“来自网络”，Excel 会禁用其中的宏。",
        "按钮无反应、提示“宏已被禁用”或顶部出现红色“安全风险”提示时：本文件带有“来自网络”的标记，其中的宏被阻止了。"
        "请先关闭本文件，在资源管理器中右键单击文件 → 属性 → 在“常规”选项卡底部勾选“解除锁定” → 确定，"
        "然后重新打开，并点击“启用内容”。",
        f"文件名请保持 {WORKBOOK_FILE_NAME}（只用英文字母、数字和“-”），不要改成中文名：xlwings 在部分电脑上处理不了中文、空格和符号。",
        "单位电脑不允许 Excel 启动其他程序（如 Defender 的“阻止所有 Office 应用程序创建子进程”规则，"
        "这时按钮提示“拒绝访问”或 Permission denied），或电脑上没有安装 Python 时，请使用服务器模式："
        "由信息化人员按 README 在办公室服务器上启动 xf-excel 服务，把“xlwings.conf”表中的 XF_MODE 改为 server，"
        "XF_SERVER_URL 填写服务器地址；服务器口令不写在本工作簿中，请按 README 设置。",
        "不确定本机能用哪种方式时：由信息化人员在本机运行 xf-excel 的 Excel 自检（见 README），把结果表发回。",
        f"联系：{config.campaign.contact or config.campaign.office}",
    ]


def _write_conf_sheet(book: xlsxwriter.Workbook, settings: dict[str, str]) -> None:
    """xlwings reads keys from A1 down to the first blank cell (GetConfigFromSheet), values in B;
    the notes in D are ignored by it."""
    sheet = book.add_worksheet(MasterSheet.CONF)
    note = book.add_format({"font_color": "#595959"})
    sheet.set_column("A:A", 18)
    sheet.set_column("B:B", 32)
    sheet.set_column("D:D", 90)
    notes = {
        Conf.MODE: "desktop：本机 Python 运行（需安装 Python、xf-excel 和 xlwings 加载项）；server：由办公室服务器运行",
        Conf.SERVER_URL: "服务器地址（server 模式）；口令不在此填写，见 README",
        Conf.CONFIG: "活动配置文件 config.yaml 的路径（server 模式下使用服务器自己的配置）",
        Conf.ARCHIVE: "档案库（SQLite）的路径，日志 xf-excel.log 写在它旁边（server 模式下使用服务器自己的档案库）",
    }
    for row, (key, value) in enumerate(settings.items()):
        sheet.write_string(row, 0, key)
        sheet.write_string(row, 1, value)
        if key in notes:
            sheet.write_string(row, 3, notes[key], note)


# ---- reading a built file back ------------------------------------------------------------------

@dataclass(frozen=True)
class ButtonBinding:
    """One button found in a built file: its caption, the macro it runs, and whether that
    macro is a Sub of the workbook's VBA project."""

    sheet: str
    caption: str
    macro: str
    exists: bool


_VML_SHAPE = re.compile(r"<v:shape\b.*?</v:shape>", re.S)
_VML_MACRO = re.compile(r"<x:FmlaMacro>(.*?)</x:FmlaMacro>", re.S)
_VML_TEXT = re.compile(r"<font[^>]*>(.*?)</font>", re.S)
_SUB = re.compile(r"^\s*(?:Public\s+)?Sub\s+([A-Za-z]\w*)\s*\(", re.M | re.I)


def check_bindings(path: str | Path) -> list[ButtonBinding]:
    """Every button of the .xlsm at `path` with the macro it runs and whether a public Sub
    of that name exists in the file's VBA project (read with olevba)."""
    path = Path(path)
    subs = set(vba_subs(path))
    bindings = []
    with zipfile.ZipFile(path) as archive:
        for sheet, vml in _sheet_drawings(archive):
            for shape in _VML_SHAPE.findall(vml):
                macro = _VML_MACRO.search(shape)
                if macro is None:
                    continue
                name = macro.group(1).strip().removeprefix("[0]!")
                caption = "".join(_VML_TEXT.findall(shape)).strip()
                bindings.append(ButtonBinding(sheet, caption, name, name in subs))
    return bindings


def vba_subs(path: str | Path) -> dict[str, str]:
    """Public Subs of the file's VBA project -> the module holding them (private Subs excluded)."""
    olevba = require("oletools.olevba", "oletools", "检查工作簿中按钮对应的宏")
    parser = olevba.VBA_Parser(str(path))
    try:
        subs: dict[str, str] = {}
        for _, _, module, code in parser.extract_macros():
            for line in code.splitlines():
                match = _SUB.match(line)
                if match and not line.strip().lower().startswith("private"):
                    subs.setdefault(match.group(1), module)
        return subs
    finally:
        parser.close()


def _sheet_drawings(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, VML text) of each sheet that has a legacy drawing (where buttons live)."""
    names = _sheet_names_by_part(archive)
    found = []
    for part, sheet in names.items():
        rels = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
        if rels not in archive.namelist():
            continue
        for target in re.findall(r'Target="([^"]+\.vml)"', archive.read(rels).decode("utf-8")):
            vml_part = "xl/" + target.removeprefix("../")
            found.append((sheet, archive.read(vml_part).decode("utf-8", errors="replace")))
    return found


def _sheet_names_by_part(archive: zipfile.ZipFile) -> dict[str, str]:
    workbook = archive.read("xl/workbook.xml").decode("utf-8")
    rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = dict(re.findall(r'Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*Id="([^"]+)"', rels)})
    sheets = re.findall(r'<sheet name="([^"]+)" sheetId="\d+" r:id="([^"]+)"', workbook)
    return {"xl/" + targets[rid].removeprefix("/xl/"): _unescape(name) for name, rid in sheets}


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
