"""报送情况 as plain text: what `xf-excel status` prints and the demo saves each period, and
the words for which return counts (also on the master's 报送情况 sheet)."""

from __future__ import annotations

from ..archive.store import moment
from ..consolidate import Consolidation, ReportingStatus
from ..wording import fmt_date_cn, fmt_deadline

__all__ = ["status_text", "reminded_text", "counted_text", "STATE_NAMES"]

STATE_NAMES = {"accepted": "已接收", "warned": "已接收（有警告）", "rejected": "已退回待重报", "missing": "未报送"}


def status_text(c: Consolidation) -> str:
    """Counts by state, the returns replaced by a later one, then each missing or returned unit
    with its ready-to-send reminder."""
    lines = [f"第{c.period.number}期（截至{fmt_date_cn(c.period.cutoff)}）报送情况："]
    lines += [f"  {name}：{len(c.reporting_in(state))} 个" for state, name in STATE_NAMES.items()]
    late = [r for r in c.reporting if r.late]
    if late:
        lines.append(f"  逾期报送：{len(late)} 个（{'、'.join(r.unit.full_name for r in late)}）")
    replaced = [r for r in c.reporting if r.replaced]
    if replaced:
        lines.append(f"  重新报送：{len(replaced)} 个（以后收到的一份为准）")
        lines += [f"    {r.unit.full_name}：{counted_text(r)}" for r in replaced]
    for r in c.reporting_in("missing", "rejected"):
        lines += ["", f"【{r.unit.full_name}】{STATE_NAMES[r.state]}{reminded_text(r.reminded, '（', '）')}",
                  f"  {r.reminder}"]
    return "\n".join(lines)


def reminded_text(times: int, before: str = "", after: str = "") -> str:
    """已催报 2次 (from the send log), or '' when no 催报 mail was sent."""
    return f"{before}已催报 {times}次{after}" if times else ""


def counted_text(r: ReportingStatus) -> str:
    """Which return counts and what it replaced: 采用「更正_….xlsx」（9月14日15时收到），替换此前报送的「….xlsx」（9月14日9时收到）."""
    if not r.counted_source:
        return ""
    if r.counted_source == "manual":
        text = f"采用总表手工修改（{_when(r.counted_at)}）"
    else:
        text = f"采用「{r.counted_file}」（{_when(r.counted_at)}收到）"
    if r.replaced:
        earlier = "、".join(f"「{name}」（{_when(at)}收到）" for name, at in r.replaced)
        text += f"，替换此前报送的{earlier}"
    return text


def _when(iso) -> str:
    return fmt_deadline(moment(iso)) if iso else ""
