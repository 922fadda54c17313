"""Findings about returns and workbooks: structured records, never exceptions or strings.

Every finding is an `Issue` with a stable kebab-case `code`, a `severity` (错误 blocks a
return; 警告 is accepted and listed), where it is (file, sheet, cell as Excel shows it) and a
Chinese message the person who filled the form can act on. A `ValidationResult` collects
all issues of one pass; the CLI's --json output, the 校验问题 sheet and the feedback
workbooks are all made from the same rows (`flatten`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Iterable

__all__ = ["Severity", "IssueCode", "Issue", "ValidationResult", "cell_address", "column_letter"]


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
    # who sent it
    UNKNOWN_UNIT = "unknown-unit"
    UNIT_MISMATCH = "unit-mismatch"
    SENDER_MISMATCH = "sender-mismatch"
    WRONG_PERIOD = "wrong-period"
    # the header block
    MISSING_HEADER = "missing-header"
    BAD_PHONE = "bad-phone"
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
        if row["value"] is not None and not isinstance(row["value"], (int, float, str, bool)):
            row["value"] = str(row["value"])
        return row


@dataclass
class ValidationResult:
    """All issues of one pass over something (a return, a workbook), plus counts."""

    issues: list[Issue] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

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

    def extend(self, issues: Iterable[Issue]) -> None:
        self.issues.extend(issues)

    def flatten(self, fields: list[str]) -> list[list[Any]]:
        """Rows of the named fields, e.g. `flatten(["cell", "code"])` (for tests and tables)."""
        return [[issue.to_dict()[f] for f in fields] for issue in self.issues]

    def to_frame(self):
        """The issues as a pandas DataFrame (pandas is imported only when asked for)."""
        import pandas as pd

        return pd.DataFrame([issue.to_dict() for issue in self.issues])
