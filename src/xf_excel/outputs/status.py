"""报送情况 as plain text: what `xf-excel status` prints and the demo saves each period."""

from __future__ import annotations

from ..consolidate import Consolidation
from ..wording import fmt_date_cn

__all__ = ["status_text", "reminded_text", "STATE_NAMES"]

STATE_NAMES = {"accepted": "已接收", "warned": "已接收（有警告）", "rejected": "已退回待重报", "missing": "未报送"}


def status_text(c: Consolidation) -> str:
    """Counts by state, then each missing or returned unit with its ready-to-send reminder."""
    lines = [f"第{c.period.number}期（截至{fmt_date_cn(c.period.cutoff)}）报送情况："]
    lines += [f"  {name}：{len(c.reporting_in(state))} 个" for state, name in STATE_NAMES.items()]
    late = [r for r in c.reporting if r.late]
    if late:
        lines.append(f"  逾期报送：{len(late)} 个（{'、'.join(r.unit.full_name for r in late)}）")
    for r in c.reporting_in("missing", "rejected"):
        lines += ["", f"【{r.unit.full_name}】{STATE_NAMES[r.state]}{reminded_text(r.reminded, '（', '）')}",
                  f"  {r.reminder}"]
    return "\n".join(lines)


def reminded_text(times: int, before: str = "", after: str = "") -> str:
    """已催报 2次 (from the send log), or '' when no 催报 mail was sent."""
    return f"{before}已催报 {times}次{after}" if times else ""
