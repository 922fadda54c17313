"""How a rule of config.yaml is judged and worded — one wording for the form's 校验提示,
for a return's issue and for a figure typed into the master.

A rule without its own `message` is worded from its check: `运营专柜数大于建成专柜数，请核对`
on the form (no figures known yet), `「运营专柜数」（填报!E9）15 大于「建成专柜数」（填报!E8）12，请核对`
once the figures are known. A rule's own `message` may hold `{value}`, the left side's value
rounded to two decimals (on the form: an Excel `ROUND` of the cells).
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional

from ..config import Config, Rule, expr
from .normalize import fmt_number

__all__ = ["FAILED_PHRASE", "evaluate_rule", "rule_left_value", "rule_wording", "rule_failure", "readable_rule"]

# What a failed comparison says about its left side: `a <= b` failed means a 大于 b.
FAILED_PHRASE = {"<=": "大于", "<": "大于或等于", ">=": "小于", ">": "小于或等于", "=": "不等于", "<>": "等于"}


def evaluate_rule(rule: Rule, numbers: Mapping[str, float]) -> Optional[bool]:
    """True/False, or None when a figure the rule needs is blank."""
    result = expr.evaluate(rule.expr, numbers)
    return None if result is None else bool(result)


def rule_left_value(rule: Rule, numbers: Mapping[str, float]) -> Optional[float]:
    """The left side of a comparison rule (what `{value}` stands for), or None."""
    node = rule.expr
    if isinstance(node, expr.Binary) and node.op in FAILED_PHRASE:
        value = expr.evaluate(node.left, numbers)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return None


def readable_rule(config: Config, node: expr.Expr) -> str:
    """A rule or a side of it with indicator names and ≤ ≥ × ÷ (`运营专柜数≤建成专柜数`)."""
    names = {i.id: i.name for i in config.indicators}
    text = expr.to_excel(node, lambda indicator_id: names.get(indicator_id, indicator_id))
    return text.replace("*", "×").replace("/", "÷").replace("<=", "≤").replace(">=", "≥").replace("<>", "≠")


def rule_wording(config: Config, rule: Rule) -> str:
    """The rule's failure in words, before any figure is known (`{value}` stays a placeholder)."""
    if rule.message:
        return rule.message
    node = rule.expr
    if isinstance(node, expr.Binary) and node.op in FAILED_PHRASE:
        left, right = (readable_rule(config, side) for side in (node.left, node.right))
        return f"{left}{FAILED_PHRASE[node.op]}{right}，请核对"
    return f"不符合校验规则“{readable_rule(config, node)}”，请核对"


def rule_failure(config: Config, rule: Rule, numbers: Mapping[str, float], cell_of: Callable[[str], str]) -> str:
    """The rule's failure with the figures and cells that broke it (a rule's own message is
    followed by the cells it judged); `cell_of` gives an indicator's cell ('' when it has none)."""
    if rule.message:
        left = rule_left_value(rule, numbers)
        text = rule.message.replace("{value}", fmt_number(left, 2) if left is not None else "")
        cells = "、".join(c for c in dict.fromkeys(cell_of(name) for name in expr.names(rule.expr)) if c)
        return f"{text}（{cells}）" if cells else text
    node = rule.expr
    if isinstance(node, expr.Binary) and node.op in FAILED_PHRASE and isinstance(node.left, expr.Name) \
            and isinstance(node.right, expr.Name):
        left, right = (_figure(config, side.id, numbers, cell_of) for side in (node.left, node.right))
        return f"{left} {FAILED_PHRASE[node.op]}{right}，请核对"
    figures = "，".join(_figure(config, name, numbers, cell_of) for name in expr.names(node))
    return f"不符合校验规则“{expr.to_excel(node, lambda i: config.indicator(i).name)}”（{figures}），请核对"


def _figure(config: Config, indicator_id: str, numbers: Mapping[str, float], cell_of: Callable[[str], str]) -> str:
    """「运营专柜数」（填报!E12）15."""
    where = cell_of(indicator_id)
    return f"「{config.indicator(indicator_id).name}」{f'（{where}）' if where else ''}{fmt_number(numbers[indicator_id])}"
