"""`xf-excel selftest-excel`: which way of running the buttons works on this PC, and why not.

The master workbook's buttons run Python in one of two ways (the `xlwings.conf` sheet's
XF_MODE): **desktop** — xlwings' `RunPython` starts `cmd.exe` and Python on this PC;
**server** — xlwings' `RunServerPython` posts the workbook to `xf-excel serve` over HTTP.
Each fails for its own reasons, which staff cannot see behind a dead button:

- macros are off for the file: it came by mail or download and carries the Mark of the Web
  (Office blocks such macros since 2022), or Excel's macro setting disables them;
- Defender's attack-surface rule "Block all Office applications from creating child
  processes" refuses `cmd.exe` to Excel, which stops RunPython (xlwings #1420) but not
  RunServerPython (WinHTTP, no child process);
- the project does not compile, or a library it references is missing on this PC;
- Python or xf-excel is not where RunPython looks; the server is unreachable or refuses the token.

The command measures what it can (`measure_*`, Windows-only parts marked), keeps the
results in `Facts`, and `report(facts)` decides from them — a pure function, tested on
Linux with facts as they would be measured — and renders a table a non-programmer can
copy into a mail. What could not be measured is said, never guessed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

__all__ = [
    "Facts", "Row", "Verdict", "Report", "report", "render", "REQUIRED_REFERENCES",
    "parse_zone_id", "in_trusted_location", "reference_problems", "probe_server", "probe_python",
    "workbook_name_problem", "parse_xlwings_conf", "WORKBOOK_FILE_NAME", "measure", "facts_as_json",
]

PASS, FAIL, NOTE, SKIPPED = "通过", "失败", "提示", "未检查"
DESKTOP, SERVER = "desktop", "server"
MODE_NAMES = {DESKTOP: "本机 Python 模式（RunPython）", SERVER: "服务器模式（RunServerPython）"}

# Libraries the project must reference beyond VBA and Excel (fronts/excel/vbaproject.py writes them).
REQUIRED_REFERENCES = {
    "{00020430-0000-0000-C000-000000000046}": "stdole（OLE Automation）",
    "{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}": "Office（Microsoft Office Object Library）",
}
ZONE_NAMES = {3: "来自互联网", 4: "来自受限站点"}
VBA_WARNINGS = {1: "启用所有宏", 2: "禁用所有宏，并发出通知", 3: "禁用无数字签名的所有宏", 4: "禁用所有宏，并且不通知"}
WORKBOOK_FILE_NAME = "xf-excel.xlsm"   # ASCII on purpose: xlwings puts the name on RunPython's command line
_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+\Z")
PROBE_BUTTON = "__xf_selftest_probe__"     # no such button: with the right token the server answers 404


@dataclass
class Facts:
    """What was measured on this PC; None means not measured (the reason in `skipped`)."""

    system: str
    python: str
    workbook: str
    when: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))
    workbook_found: bool = True
    mode: str = DESKTOP                           # XF_MODE on the workbook's xlwings.conf sheet
    server_url: str = ""
    zone_id: Optional[int] = None                 # Mark of the Web: 3 internet, 4 restricted; 0 none
    trusted_location: Optional[bool] = None
    vba_warnings: Optional[int] = None            # Excel's macro setting (policy first), 1–4
    excel: Optional[str] = None                   # "16.0（64 位）"; "" = Excel could not be started
    excel_error: str = ""
    vbom_trusted: Optional[bool] = None           # 信任对 VBA 工程对象模型的访问
    references: Optional[list[tuple[str, str, bool]]] = None   # (name, GUID, broken)
    compile_error: Optional[str] = None           # "" = compiled
    child_process: Optional[str] = None           # "" = Excel started cmd.exe; else the error
    interpreter: Optional[str] = None             # what RunPython would start
    python_error: Optional[str] = None            # "" = it imports xf-excel's buttons
    server_error: Optional[str] = None            # "" = reachable
    token_error: Optional[str] = None             # "" = accepted (or not needed)
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    item: str
    result: str
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    mode: str
    works: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    rows: list[Row]
    verdicts: list[Verdict]
    conclusion: str
    text: str

    @property
    def any_mode_works(self) -> bool:
        return any(v.works for v in self.verdicts)


# ---- deciding -----------------------------------------------------------------------------------

def report(facts: Facts) -> Report:
    """The rows, the verdict on each mode and the conclusion, from the measured facts."""
    rows = _rows(facts)
    verdicts = [Verdict(mode, not reasons, tuple(reasons)) for mode, reasons in
                ((DESKTOP, _desktop_reasons(facts)), (SERVER, _server_reasons(facts)))]
    conclusion = _conclusion(facts, verdicts)
    return Report(rows, verdicts, conclusion, render(facts, rows, verdicts, conclusion))


def _macro_reasons(f: Facts) -> list[str]:
    """Why no button of this workbook can run here, whichever mode."""
    if f.system != "Windows":
        return [f"本机是 {f.system}：工作簿的按钮只能在 Windows 版 Excel 中运行（WPS 不支持 xlwings）"]
    if not f.workbook_found:
        return [f"找不到工作簿 {f.workbook}"]
    reasons = []
    if f.excel == "":
        reasons.append(f"无法启动 Excel（{f.excel_error or '未安装 Microsoft Excel？'}）")
    if f.zone_id in ZONE_NAMES and not f.trusted_location:
        reasons.append("文件带有“来自网络”的标记，Excel 会禁用其中的宏：请按首页说明“解除锁定”，"
                       "或把工作簿放到受信任位置")
    if f.vba_warnings == 4 and not f.trusted_location:
        reasons.append("Excel 的宏设置为“禁用所有宏，并且不通知”：请把工作簿放到受信任位置，或请信息化人员调整信任中心设置")
    if f.vba_warnings == 3 and not f.trusted_location:
        reasons.append("Excel 只允许有数字签名的宏，本工作簿没有签名：请把工作簿放到受信任位置")
    missing = reference_problems(f.references) if f.references is not None else []
    reasons += [f"VBA 工程缺少引用：{m}" for m in missing]
    if f.compile_error:
        reasons.append(f"VBA 编译失败：{f.compile_error}")
    return reasons


def _desktop_reasons(f: Facts) -> list[str]:
    reasons = _macro_reasons(f)
    if f.system != "Windows":
        return reasons
    if f.child_process:
        reasons.append("Excel 不能启动其他程序（Defender 规则“阻止所有 Office 应用程序创建子进程”，"
                       f"或其他安全软件）：{f.child_process}。RunPython 因此无法运行，请使用服务器模式")
    if f.python_error:
        reasons.append(f"RunPython 使用的 Python（{f.interpreter or 'pythonw'}）不能运行 xf-excel：{f.python_error}")
    return reasons


def _server_reasons(f: Facts) -> list[str]:
    reasons = _macro_reasons(f)
    if not f.server_url:
        reasons.append("xlwings.conf 表中没有填写 XF_SERVER_URL（服务器地址）")
    elif f.server_error:
        reasons.append(f"连不上服务器 {f.server_url}：{f.server_error}")
    elif f.token_error:
        reasons.append(f.token_error)
    return reasons


def _conclusion(f: Facts, verdicts: list[Verdict]) -> str:
    works = {v.mode for v in verdicts if v.works}
    unmeasured = [what for what in ("child_process", "compile_error", "python_error", "server_error")
                  if getattr(f, what) is None and f.system == "Windows"]
    caveat = "（部分项目未能检查，见上表）" if unmeasured else ""
    if works == {DESKTOP, SERVER}:
        return f"两种模式在本机都可以使用{caveat}；当前设置为 {MODE_NAMES[f.mode]}。"
    if works:
        (mode,) = works
        switch = "" if f.mode == mode else f"请信息化人员把 xlwings.conf 表的 XF_MODE 改为 {mode}。"
        return f"本机只能使用{MODE_NAMES[mode]}{caveat}。{switch}"
    return "本机两种模式都不能使用，原因见下。请把本表发给信息化人员。"


# ---- the rows -----------------------------------------------------------------------------------

def _rows(f: Facts) -> list[Row]:
    rows = [Row("电脑", NOTE, f"{f.system}，Python {f.python}")]
    name_problem = workbook_name_problem(Path(f.workbook).name)
    rows.append(Row("工作簿", (PASS if not name_problem else NOTE) if f.workbook_found else FAIL,
                    f"{f.workbook}" + (f"：{name_problem}" if name_problem else "") +
                    ("" if f.workbook_found else "：找不到此文件")))
    rows.append(Row("当前模式", NOTE, f"{MODE_NAMES.get(f.mode, f.mode)}" +
                    (f"，服务器 {f.server_url}" if f.server_url else "")))
    rows += _excel_rows(f)
    rows.append(_measured("RunPython 的 Python", f.python_error, f, "python_error",
                          ok=f"{f.interpreter} 可以运行 xf-excel", prefix=f"{f.interpreter or 'pythonw'}："))
    rows.append(_measured("连接服务器", f.server_error, f, "server_error", ok=f"{f.server_url} 可以连接"))
    rows.append(_measured("服务器口令", f.token_error, f, "token_error", ok="服务器接受本机的请求"))
    return rows


def _excel_rows(f: Facts) -> list[Row]:
    zone = (Row("文件来源标记", SKIPPED, f.skipped.get("zone_id", "")) if f.zone_id is None else
            Row("文件来源标记", PASS, "没有“来自网络”的标记") if f.zone_id not in ZONE_NAMES else
            Row("文件来源标记", PASS if f.trusted_location else FAIL,
                f"{ZONE_NAMES[f.zone_id]}（Mark of the Web）" +
                ("，但位于受信任位置" if f.trusted_location else "：宏被禁用，需“解除锁定”")))
    location = Row("受信任位置", SKIPPED if f.trusted_location is None else PASS if f.trusted_location else NOTE,
                   f.skipped.get("trusted_location", "") if f.trusted_location is None else
                   "工作簿所在文件夹是 Excel 的受信任位置" if f.trusted_location else "工作簿所在文件夹不是受信任位置")
    warnings = Row("Excel 宏设置", SKIPPED if f.vba_warnings is None else FAIL if f.vba_warnings == 4 else PASS,
                   f.skipped.get("vba_warnings", "") if f.vba_warnings is None else
                   VBA_WARNINGS.get(f.vba_warnings, f"未知设置 {f.vba_warnings}"))
    excel = (Row("Excel", SKIPPED, f.skipped.get("excel", "")) if f.excel is None else
             Row("Excel", FAIL, f.excel_error or "无法启动") if f.excel == "" else Row("Excel", PASS, f.excel))
    return [zone, location, warnings, excel, _vbom_row(f), _references_row(f),
            _measured("VBA 编译（调试 → 编译）", f.compile_error, f, "compile_error", ok="编译通过"),
            _measured("Excel 启动其他程序", f.child_process, f, "child_process", ok="可以（RunPython 需要）")]


def _vbom_row(f: Facts) -> Row:
    if f.vbom_trusted is None:
        return Row("访问 VBA 工程", SKIPPED, f.skipped.get("vbom_trusted", ""))
    if f.vbom_trusted:
        return Row("访问 VBA 工程", PASS, "已允许，可以检查引用和编译")
    return Row("访问 VBA 工程", NOTE, VBOM_HELP)


VBOM_HELP = ("Excel 不允许程序访问 VBA 工程，因此没有检查引用和编译。需要检查时：文件 → 选项 → 信任中心 → "
             "信任中心设置 → 宏设置，勾选“信任对 VBA 工程对象模型的访问”，自检后可再取消；"
             "也可以在 VBA 编辑器（Alt+F11）中点击 调试 → 编译 VBAProject，没有提示即为通过")


def _references_row(f: Facts) -> Row:
    if f.references is None:
        return Row("VBA 引用", SKIPPED, f.skipped.get("references", "需要允许访问 VBA 工程"))
    problems = reference_problems(f.references)
    names = "、".join(name for name, _, _ in f.references)
    return Row("VBA 引用", FAIL if problems else PASS, "；".join(problems) if problems else names)


def _measured(item: str, error: Optional[str], f: Facts, key: str, *, ok: str, prefix: str = "") -> Row:
    if error is None:
        return Row(item, SKIPPED, f.skipped.get(key, ""))
    return Row(item, FAIL, prefix + error) if error else Row(item, PASS, ok)


def reference_problems(references: list[tuple[str, str, bool]]) -> list[str]:
    """What is wrong with the project's references: a required library missing, or one broken."""
    found = {guid.upper(): (name, broken) for name, guid, broken in references}
    problems = [f"没有引用 {label}" for guid, label in REQUIRED_REFERENCES.items() if guid not in found]
    problems += [f"{name}（{guid}）在本机找不到（标为“丢失”）" for name, guid, broken in references if broken]
    return problems


# ---- rendering ----------------------------------------------------------------------------------

def render(f: Facts, rows: list[Row], verdicts: list[Verdict], conclusion: str) -> str:
    """The plain-text table: fixed columns by display width, so it lines up in Notepad and in mail."""
    width = max(_width(r.item) for r in rows) + 2
    lines = [f"xf-excel 自检（{f.when:%Y-%m-%d %H:%M}）：请把以下全部内容复制发给信息化人员", ""]
    lines += [f"{_pad(r.item, width)}{_pad(r.result, 8)}{r.detail}".rstrip() for r in rows]
    lines += ["", f"结论：{conclusion}"]
    for v in verdicts:
        lines.append(f"  {MODE_NAMES[v.mode]}：{'可以使用' if v.works else '不能使用'}")
        lines += [f"    - {reason}" for reason in v.reasons]
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(1, width - _width(text))


# ---- measuring (portable parts) -----------------------------------------------------------------

def workbook_name_problem(name: str) -> str:
    """Why a workbook file name may break the buttons ("" when it is safe): xlwings puts the
    name on RunPython's command line and imports by it in its own templates (xlwings #2004);
    letters, digits, '.', '_' and '-' pass everywhere."""
    if _SAFE_NAME.match(name):
        return ""
    return ("文件名含有中文、空格或其他符号；xlwings 在部分电脑上处理不了这样的文件名（按钮会失效），"
            f"建议改回只含英文字母、数字、“-”和“_”的名称，如 {WORKBOOK_FILE_NAME}")


def parse_zone_id(text: str) -> int:
    """The ZoneId of a Zone.Identifier stream (Windows writes it on downloaded and saved-from-mail
    files); 0 when there is none."""
    match = re.search(r"^\s*ZoneId\s*=\s*(\d+)", text, re.M | re.I)
    return int(match.group(1)) if match else 0


def in_trusted_location(folder: str, locations: list[tuple[str, bool]], env: Optional[dict[str, str]] = None) -> bool:
    """Whether `folder` is one of Excel's trusted locations ((path, subfolders allowed) pairs,
    as the registry lists them, %VARIABLES% expanded as Windows does), compared case-insensitively."""
    env = os.environ if env is None else env
    here = _normal(folder)
    for path, subfolders in locations:
        trusted = _normal(re.sub(r"%([^%]+)%", lambda m: env.get(m.group(1), m.group(0)), path))
        if here == trusted or (subfolders and here.startswith(trusted + "\\")):
            return True
    return False


def _normal(path: str) -> str:
    return path.replace("/", "\\").rstrip("\\").lower()


def parse_xlwings_conf(text: str) -> dict[str, str]:
    """The user's `%USERPROFILE%\\.xlwings\\xlwings.conf` ("KEY","VALUE" lines, as VBA's Write # makes them)."""
    found = {}
    for line in text.splitlines():
        match = re.match(r'\s*"([^"]*)"\s*,\s*"([^"]*)"', line)
        if match:
            found[match.group(1).upper()] = match.group(2)
    return found


Opener = Callable[[str, str, dict[str, str], Optional[bytes]], tuple[int, str]]


def _urlopen(url: str, method: str, headers: dict[str, str], body: Optional[bytes]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:   # noqa: S310 - the configured server
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", errors="replace")


def probe_server(url: str, token: Optional[str], opener: Opener = _urlopen) -> tuple[str, Optional[str]]:
    """(server error, token error) for the server at `url`: "" when fine, None when not tried.
    GET /xlwings/health says it is an xf-excel server; a POST to a button that does not exist
    passes the token check first, so 404 means the token (or the loopback exemption) is accepted."""
    base = url.rstrip("/")
    if not re.match(r"https?://[^/\s]+", base, re.I):
        return "地址格式不对（应为 http://服务器:端口）", None
    try:
        status, text = opener(f"{base}/xlwings/health", "GET", {}, None)
    except (OSError, ValueError) as exc:
        return _network_words(exc), None
    if status != 200 or '"status"' not in text:
        return f"该地址上不是 xf-excel 服务（HTTP {status}）", None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        status, text = opener(f"{base}/xlwings/{PROBE_BUTTON}", "POST", headers, b"{}")
    except (OSError, ValueError) as exc:
        return "", _network_words(exc)
    if status == 404:
        return "", ""
    if status == 401:
        return "", ("服务器不接受本机的口令：请在本机设置与服务器相同的用户环境变量 XF_SERVER_TOKEN" if token else
                    "服务器需要口令，本机没有设置：请在本机运行 setx XF_SERVER_TOKEN 口令（口令向信息化人员索取）")
    if status == 403:
        return "", "服务器没有设置口令，只接受服务器本机的请求：请信息化人员按 README 为服务器设置口令"
    return "", f"服务器的回答出乎意料（HTTP {status}）：{text[:80]}"


def _network_words(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ConnectionRefusedError):
        return "连接被拒绝（服务器上没有启动 xf-excel 服务，或端口不对）"
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return "连接超时（地址不对，或被防火墙挡住）"
    if isinstance(reason, OSError) and getattr(reason, "errno", None) in (-2, -3, 11001, 11004):
        return "找不到这个服务器名称"
    return f"网络错误（{reason}）"


def probe_python(interpreter: str, timeout: float = 120) -> str:
    """"" when `interpreter` can import the buttons' module (what RunPython runs), else why not."""
    try:
        done = subprocess.run([interpreter, "-c", "import xf_excel.fronts.excel.buttons"], capture_output=True,
                              timeout=timeout, text=True, errors="replace")
    except FileNotFoundError:
        return "找不到这个程序：请安装 Python，或在 xlwings.conf 中设置 INTERPRETER_WIN"
    except subprocess.TimeoutExpired:
        return f"{int(timeout)} 秒内没有完成导入"
    except OSError as exc:
        return f"无法启动（{exc.strerror or exc}）"
    if done.returncode == 0:
        return ""
    last = (done.stderr.strip().splitlines() or ["未知错误"])[-1]
    if "No module named" in last:
        return f"没有安装 xf-excel 或 xlwings（{last}）：请在这个 Python 中安装本软件包"
    return last


def facts_as_json(f: Facts) -> dict:
    data = {k: v for k, v in f.__dict__.items() if k != "when"}
    data["when"] = f.when.isoformat()
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


# ---- measuring this PC --------------------------------------------------------------------------

WINDOWS_ONLY = "只能在 Windows 上检查"
COMPILE_TIMEOUT = 90      # seconds before a compile that shows a dialog is given up (Excel is closed)


def measure(workbook: Path, *, env: Optional[dict[str, str]] = None, opener: Opener = _urlopen) -> Facts:
    """Everything `report` needs, measured here; Windows-only parts are skipped elsewhere with the reason."""
    import platform

    env = dict(os.environ) if env is None else env
    facts = Facts(system=platform.system(), python=platform.python_version(), workbook=str(workbook),
                  workbook_found=workbook.is_file())
    conf = read_conf_sheet(workbook) if facts.workbook_found else {}
    if facts.workbook_found:
        facts.mode = str(conf.get("XF_MODE") or DESKTOP).strip().lower()
        facts.server_url = str(conf.get("XF_SERVER_URL") or "").strip()
    user_conf = _user_xlwings_conf(env)
    if facts.server_url:
        facts.server_error, facts.token_error = probe_server(facts.server_url, _token(env, user_conf), opener)
        if facts.token_error is None:
            facts.skipped["token_error"] = "连不上服务器，无法检查"
    else:
        facts.skipped["server_error"] = facts.skipped["token_error"] = "没有服务器地址"
    if facts.system != "Windows":
        for key in ("zone_id", "trusted_location", "vba_warnings", "excel", "vbom_trusted", "references",
                    "compile_error", "child_process", "python_error"):
            facts.skipped[key] = WINDOWS_ONLY
        return facts
    # xlwings' GetConfig: the workbook's xlwings.conf sheet, then the user's file, then pythonw on PATH
    facts.interpreter = (conf.get("INTERPRETER_WIN") or user_conf.get("INTERPRETER_WIN")  # pragma: no cover
                         or _which("pythonw") or "pythonw")
    facts.python_error = probe_python(facts.interpreter)                                      # pragma: no cover
    measure_in_excel(facts, workbook)                                                         # pragma: no cover
    return facts                                                                              # pragma: no cover


def read_conf_sheet(workbook: Path) -> dict[str, str]:
    """The workbook file's xlwings.conf sheet (keys from A1 to the first blank, values in B)."""
    from openpyxl import load_workbook

    from ...contract import MasterSheet

    try:
        book = load_workbook(workbook, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - an unreadable workbook is reported by its own row
        return {}
    try:
        if MasterSheet.CONF not in book.sheetnames:
            return {}
        values = {}
        for key, value, *_ in book[MasterSheet.CONF].iter_rows(max_col=2, values_only=True):
            if key is None or str(key).strip() == "":
                break
            values[str(key).strip().upper()] = "" if value is None else str(value)
        return values
    finally:
        book.close()


def _user_xlwings_conf(env: dict[str, str]) -> dict[str, str]:
    home = env.get("USERPROFILE") or env.get("HOME")
    path = Path(home, ".xlwings", "xlwings.conf") if home else None
    try:
        return parse_xlwings_conf(path.read_text(encoding="mbcs" if os.name == "nt" else "utf-8",
                                                 errors="replace")) if path and path.is_file() else {}
    except OSError:
        return {}


def _token(env: dict[str, str], user_conf: dict[str, str]) -> Optional[str]:
    """The token the buttons send: XF_SERVER_TOKEN, else xlwings' AUTH (XfButtons.bas, Remote.bas)."""
    token = env.get("XF_SERVER_TOKEN", "").strip() or user_conf.get("AUTH", "").strip()
    return token.removeprefix("Bearer ").strip() or None


def _which(program: str) -> Optional[str]:
    import shutil

    return shutil.which(program)


def measure_in_excel(facts: Facts, workbook: Path) -> None:  # pragma: no cover - Windows with Excel only
    """The file's Mark of the Web, Excel's macro setting and trusted locations (registry), then in a
    hidden Excel on a copy of the workbook: access to the VBA project, its references, Debug → Compile
    through the VBE, and whether Excel may start cmd.exe (the probe Functions of XfButtons.bas)."""
    import shutil
    import tempfile

    facts.zone_id = _zone_id(workbook)
    version, locations, facts.vba_warnings = _excel_security()
    facts.trusted_location = in_trusted_location(str(workbook.resolve().parent), locations)
    if facts.vba_warnings is None:
        facts.skipped["vba_warnings"] = f"注册表中没有设置（Excel {version or ''} 默认：禁用所有宏，并发出通知）"
    import xlwings as xw

    try:
        app = xw.App(visible=False, add_book=False)
    except Exception as exc:  # noqa: BLE001 - any failure to start Excel is one fact
        facts.excel, facts.excel_error = "", str(exc)
        return
    copy = Path(tempfile.mkdtemp(prefix="xf-selftest-")) / workbook.name
    shutil.copyfile(workbook, copy)      # no alternate streams: the mark was read above
    try:
        facts.excel = str(app.version)
        app.api.AutomationSecurity = 1   # msoAutomationSecurityLow: the probes run; the user's setting is reported above
        app.display_alerts = False
        book = app.books.open(str(copy))
        _measure_project(facts, app, book)
        if facts.compile_error:
            facts.skipped["child_process"] = "VBA 编译未通过，没有运行宏"
            return
        facts.excel += "（64 位）" if book.macro("XfProbePlatform")() == "Win64" else "（32 位）"
        result = str(book.macro("XfProbeChildProcess")())
        facts.child_process = "" if result == "exit 7" else result
    except Exception as exc:  # noqa: BLE001 - reported, never a traceback
        facts.skipped.setdefault("child_process", f"Excel 中的检查中断：{exc}")
    finally:
        _close(app)


def _close(app) -> None:  # pragma: no cover - Windows with Excel only
    """Quit Excel; kill it when it does not answer (or the compile watchdog already did)."""
    try:
        app.quit()
    except Exception:  # noqa: BLE001
        try:
            app.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass


def _measure_project(facts: Facts, app, book) -> None:  # pragma: no cover - Windows with Excel only
    try:
        project = book.api.VBProject
        project.VBComponents.Count
        facts.vbom_trusted = True
    except Exception:  # noqa: BLE001 - Excel refuses the object model unless the user trusts it
        facts.vbom_trusted = False
        facts.skipped["references"] = facts.skipped["compile_error"] = "Excel 不允许访问 VBA 工程（见“访问 VBA 工程”）"
        return
    refs = project.References
    facts.references = [(refs.Item(i).Name, refs.Item(i).GUID, bool(refs.Item(i).IsBroken))
                        for i in range(1, refs.Count + 1) if not refs.Item(i).BuiltIn]
    facts.compile_error = _compile(app, project)


def _compile(app, project) -> str:  # pragma: no cover - Windows with Excel only
    """Debug → Compile VBAProject (control 578 of the VBE's menus): greyed out once the project
    compiled. A compile error shows a modal dialog that would block forever, so Excel is closed
    after COMPILE_TIMEOUT seconds."""
    import signal
    import threading

    vbe = app.api.VBE
    vbe.ActiveVBProject = project
    control = vbe.CommandBars.FindControl(1, 578)
    if control is None:
        return "VBA 编辑器中找不到“编译”命令"
    if not control.Enabled:
        return ""
    watchdog = threading.Timer(COMPILE_TIMEOUT, lambda: os.kill(app.pid, signal.SIGTERM))
    watchdog.start()
    try:
        control.Execute()
        return "" if not control.Enabled else "编译没有完成，请在 VBA 编辑器中点击 调试 → 编译 VBAProject 查看"
    except Exception:  # noqa: BLE001 - the dialog stopped Excel and the watchdog closed it
        return (f"编译时出现对话框（通常是编译错误），{COMPILE_TIMEOUT} 秒后已关闭 Excel；"
                "请在 VBA 编辑器中点击 调试 → 编译 VBAProject，把出错的行发给信息化人员")
    finally:
        watchdog.cancel()


def _zone_id(workbook: Path) -> int:  # pragma: no cover - NTFS alternate data streams
    try:
        return parse_zone_id(Path(f"{workbook}:Zone.Identifier").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return 0


def _excel_security() -> tuple[Optional[str], list[tuple[str, bool]], Optional[int]]:  # pragma: no cover
    """(Office version, trusted locations, VBAWarnings) from the registry, policies first."""
    import winreg

    for version in ("16.0", "15.0", "14.0"):
        user = rf"Software\Microsoft\Office\{version}\Excel\Security"
        policy = rf"Software\Policies\Microsoft\Office\{version}\Excel\Security"
        warnings = _reg_value(winreg, policy, "VBAWarnings") or _reg_value(winreg, user, "VBAWarnings")
        locations = _reg_locations(winreg, user + r"\Trusted Locations") + \
            _reg_locations(winreg, policy + r"\Trusted Locations")
        if warnings is not None or locations:
            return version, locations, warnings
    return None, [], None


def _reg_value(winreg, key: str, name: str):  # pragma: no cover - Windows only
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
            return winreg.QueryValueEx(handle, name)[0]
    except OSError:
        return None


def _reg_locations(winreg, key: str) -> list[tuple[str, bool]]:  # pragma: no cover - Windows only
    found = []
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
            for i in range(winreg.QueryInfoKey(handle)[0]):
                sub = winreg.EnumKey(handle, i)
                path = _reg_value(winreg, rf"{key}\{sub}", "Path")
                if path:
                    found.append((str(path), bool(_reg_value(winreg, rf"{key}\{sub}", "AllowSubfolders"))))
    except OSError:
        pass
    return found
