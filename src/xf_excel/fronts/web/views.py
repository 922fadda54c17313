"""What the console's pages show, from the pipeline's typed results: plain values for the
templates (which escape every one of them), in the words staff use.

Nothing here decides anything about a return: states, reminders and counts come from the
consolidation; this module only names them, filters them and counts them for one glance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

from ...config import Config
from ...issues import Issue
from ...wording import fmt_date_cn, fmt_deadline, fmt_value

__all__ = ["STATE_LABELS", "FILE_STATUS_LABELS", "StatusRow", "status_rows", "glance", "time_left",
           "issue_rows", "intake_outcome", "progress_rows", "FILTERS", "SEND_WORDS", "send_outcome", "fetch_outcome"]

STATE_LABELS = {"accepted": "已接收", "warned": "有警告", "rejected": "退回待重报", "missing": "未报送",
                "overdue": "逾期未报"}
FILE_STATUS_LABELS = {"accepted": "已接收", "warned": "已接收（有警告）", "rejected": "退回", "duplicate": "重复（已收过）",
                      "not-a-return": "不是报表", "unreadable": "无法读取", "skipped": "跳过"}
SEND_WORDS = {"forms": "填报表", "feedback": "退回通知", "reminders": "催报通知"}
SEND_STATUS_LABELS = {"sent": "已发出", "refused": "被拒收", "failed": "未发出", "already-sent": "此前已发过",
                      "no-address": "没有邮箱地址", "written": "已写成邮件文件"}
MESSAGE_STATUS_LABELS = {"taken": "已收取", "known": "此前已收取", "left": "未能收取（留在邮箱中）"}
# the filters of 报送情况: (key, label, states shown)
FILTERS = [("all", "全部", None), ("missing", "未报送", {"missing", "overdue"}), ("rejected", "退回", {"rejected"}),
           ("warned", "有警告", {"warned"}), ("received", "已接收", {"accepted", "warned"})]


@dataclass
class StatusRow:
    """One unit's line of 报送情况 as the page shows it."""

    code: str
    name: str
    city_code: str
    city: str
    state: str                 # accepted | warned | rejected | missing | overdue
    label: str
    received_at: str           # 9月18日 10:30, or ''
    late: bool
    errors: int
    warnings: int
    reminder: str              # the 催报 or 退回 text, ready to copy ('' when accepted)
    feedback: str              # the feedback workbook's file name, when there is one
    counted_file: str = ""     # the file whose figures count
    contact: str = ""          # 填报人 and 电话 from that return
    reminded: int = 0          # 催报 mails sent this period


def status_rows(consolidation, now: dt.datetime, feedback_names: set[str], feedback_name) -> list[StatusRow]:
    """Every reporting unit's row, in config order. A unit still missing after the deadline is
    逾期未报; `feedback_name(code)` is the name of its feedback workbook, listed when present."""
    deadline = consolidation.period.deadline
    rows = []
    for r in consolidation.reporting:
        state = "overdue" if r.state == "missing" and now > deadline else r.state
        name = feedback_name(r.unit.code) if r.state in ("rejected", "warned") else ""
        rows.append(StatusRow(
            code=r.unit.code, name=r.unit.full_name, city_code=r.unit.city_code or "",
            city=r.unit.city_name or "成员单位", state=state, label=STATE_LABELS[state],
            received_at=_moment(r.received_at), late=r.late, errors=r.errors, warnings=r.warnings,
            reminder=r.reminder, feedback=name if name in feedback_names else "", contact=r.contact,
            reminded=r.reminded))
    return rows


def filtered(rows: list[StatusRow], show: str, city: str) -> list[StatusRow]:
    """The rows a filter and a city (a city code, `member`, or '' for all) leave."""
    states = next((s for key, _, s in FILTERS if key == show), None)
    return [r for r in rows if (states is None or r.state in states)
            and (not city or r.city_code == city or (city == "member" and not r.city_code))]


def _moment(iso: Optional[str]) -> str:
    if not iso:
        return ""
    moment = dt.datetime.fromisoformat(iso)
    if moment.tzinfo:
        moment = moment.astimezone().replace(tzinfo=None)
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def glance(consolidation, now: dt.datetime) -> dict[str, Any]:
    """The counts at the top of every page, and the time left to the deadline."""
    reporting = consolidation.reporting
    count = lambda *states: sum(1 for r in reporting if r.state in states)  # noqa: E731
    return {"units": len(reporting), "received": count("accepted", "warned"), "warned": count("warned"),
            "rejected": count("rejected"), "missing": count("missing"),
            "late": sum(1 for r in reporting if r.late), "deadline": fmt_deadline(consolidation.period.deadline),
            "cutoff": fmt_date_cn(consolidation.period.cutoff), "time_left": time_left(consolidation.period.deadline, now),
            "past": now > consolidation.period.deadline}


def time_left(deadline: dt.datetime, now: dt.datetime) -> str:
    """距报送截止还有 2天3小时 / 报送截止已过 5小时20分钟."""
    seconds = int((deadline - now).total_seconds())
    span = _span(abs(seconds))
    return f"距报送截止还有 {span}" if seconds >= 0 else f"报送截止已过 {span}"


def _span(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{minutes}分钟"
    return f"{max(minutes, 1)}分钟"


def issue_rows(config: Config, issues: list[Issue]) -> list[dict[str, str]]:
    """校验问题 of the period: unit, file, cell, severity, kind and message."""
    rows = []
    for i in issues:
        unit = config.units.get(i.unit or "")
        rows.append({"unit": unit.full_name if unit else (i.unit or ""), "file": i.file, "cell": i.cell,
                     "severity": i.severity.value, "blocking": i.blocking, "label": i.label, "message": i.message})
    return rows


def intake_outcome(report, feedback_url) -> dict[str, Any]:
    """An intake's result page: the summary and one line per file (feedback to download)."""
    files = []
    for f in report.files:
        first = f.issues[0].message if f.issues else ""
        files.append({"file": f.display, "status": f.status, "label": FILE_STATUS_LABELS.get(f.status, f.status),
                      "unit": f.unit_code or "", "message": first, "more": max(len(f.issues) - 1, 0),
                      "feedback": feedback_url(f.feedback) if f.feedback else ""})
    return {"kind": "intake", "summary": report.summary(), "files": files, "notices": list(report.notices)}


_OPS = {">=": "≥", "<=": "≤", ">": "＞", "<": "＜"}


def progress_rows(consolidation) -> list[dict[str, str]]:
    """The plan's targets at the cut-off: value, target, completion, against the time schedule."""
    rows = []
    for p in consolidation.progress:
        ind = p.indicator
        rows.append({"name": ind.name, "value": "—" if p.value is None else fmt_value(p.value, ind.kind, ind.unit),
                     "target": f"{_OPS.get(p.target.op, p.target.op)} {fmt_value(p.target.value, ind.kind, ind.unit)}",
                     "completion": "" if p.completion is None else f"{p.completion:.1%}",
                     "behind": p.status == "behind"})
    return rows


def send_outcome(report) -> dict[str, Any]:
    """A send's result page: how many went, and each unit that did not get its message."""
    s, what = report.summary(), SEND_WORDS[report.kind]
    notes = [f"第{report.period}期没有需要发送{what}的单位。"] if not report.outcomes else [
        f"已发出第{report.period}期{what} {s['sent']} 封" + (f"；此前已发过的 {s['already_sent']} 个单位未重发" if
                                                     s["already_sent"] else "") + "。"]
    problems = [{"unit": o.unit_name, "label": SEND_STATUS_LABELS.get(o.status, o.status), "reply": o.reply}
                for o in report.outcomes if o.status in ("refused", "failed", "no-address")]
    if problems:
        notes.append(f"有 {len(problems)} 个单位未能收到（再点一次只补发未发出的邮件）：")
    return {"kind": "files", "files": [], "notes": notes + list(report.notices), "problems": problems}


def fetch_outcome(fetched, feedback_url) -> dict[str, Any]:
    """收取邮箱: the messages found, then the intake of what they carried."""
    outcome = intake_outcome(fetched.intake, feedback_url)
    s = fetched.summary()
    outcome["notices"] = [f"邮箱 {fetched.mailbox}：新邮件 {s['taken']} 封已收取，此前已收取 {s['known']} 封，"
                          f"未能收取 {s['left']} 封（留在邮箱中）。", *fetched.notices, *outcome["notices"]]
    return outcome
