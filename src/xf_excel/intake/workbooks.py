"""Received files → cell grids, read safely: structural checks on the bytes (`safeguard`),
then parsing, in guarded child processes (`workers`).

An .xlsx/.xlsm — nearly every return — is checked in the worker just before its parse, so
this process only hands files over and takes the results (and each zip is inflated once);
the rarer kinds (.xls, .xlsb, .ods, an encrypted workbook once decrypted) are checked here.

The result of every file is a `WorkbookRead`: the `RawWorkbook` when it could be read, and
always its issues (one issue naming the file and saying what the sender should do when it
could not).

    >>> with WorkbookReader() as reader:                               # doctest: +SKIP
    ...     for file, read in reader.read_many(files):
    ...         print(file.display, "ok" if read.workbook else read.issues[0].message)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Iterable, Iterator, Optional, Union

from ..errors import IntakeError
from ..issues import HasIssues, Issue, IssueCode
from .records import CellError, RawSheet, RawWorkbook, ReceivedFile
from .safeguard import Limits, Refusal, inspect_ods, inspect_ooxml, inspect_xls, inspect_xlsb, size_refusal
from .sniff import ADVICE_RESAVE, ADVICE_XLSX, WORKBOOK_KINDS, WPS_REFUSAL, file_issue, identify, refusal_issue
from .workers import CHECK_FIRST, Outcome, WorkerPool, WorkerStartError

__all__ = ["WorkbookRead", "WorkbookReader", "read_workbook"]


@dataclass
class WorkbookRead(HasIssues):
    """One received file as read: its cell grids (None when it could not be read) and its issues."""

    file: ReceivedFile
    workbook: Optional[RawWorkbook]
    issues: list[Issue]



@dataclass
class _Prepared:
    """A workbook ready for a worker: checked here, or (kind CHECK_FIRST) to be checked there."""

    kind: str
    sheet_parts: dict[str, str]
    has_macros: bool
    content: Optional[bytes] = None    # what the worker parses, when not the file's own bytes
    decrypted: Optional[bytes] = None  # the workbook decrypted with Excel's default key


class WorkbookReader:
    """Reads received files safely, with a few worker processes kept for the whole batch.

        >>> with WorkbookReader() as reader:                            # doctest: +SKIP
        ...     result = reader.read(received)            # WorkbookRead: .workbook or .issues

    `timeout` (seconds) and `memory_mb` bound each file's parse; `workers` processes are
    started lazily (sequential `read` calls use one; `read_many` keeps them all busy).
    A worker that dies or overruns is replaced and the next file goes on."""

    def __init__(self, *, timeout: float = 20, memory_mb: int = 512, workers: int = 2,
                 limits: Limits = Limits()):
        self.timeout = timeout
        self.limits = limits
        self._limit_fields = dataclasses.asdict(limits)   # the checks' limits, as the worker takes them
        self._pool = WorkerPool(size=workers, memory_mb=memory_mb)
        self._decryptor = WorkerPool(size=1, memory_mb=memory_mb)   # started only for an encrypted file

    def __enter__(self) -> "WorkbookReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> "WorkbookReader":
        """Start the parsing workers now rather than at the first file, so that their start-up
        overlaps with what the caller does next (collecting the inbox). The decryptor stays
        lazy: most batches hold no encrypted file."""
        self._pool.start()
        return self

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.close()
        self._decryptor.close()

    @property
    def workers_started(self) -> int:
        """How many worker processes were started so far (replacements included)."""
        return self._pool.started + self._decryptor.started

    def read(self, file: ReceivedFile, *, timeout: Optional[float] = None) -> WorkbookRead:
        """Check and parse one file: its cell grids, or the one issue that says why not."""
        return next(self.read_many([file], timeout=timeout))[1]

    def read_many(self, files: Iterable[ReceivedFile], *, timeout: Optional[float] = None
                  ) -> Iterator[tuple[ReceivedFile, WorkbookRead]]:
        """(file, result) for each file, in order; the checks of the next file in this
        process overlap with the parsing of earlier ones in the workers."""
        files = list(files)
        early: dict[int, WorkbookRead] = {}
        prepared: dict[int, _Prepared] = {}
        limit = self.timeout if timeout is None else timeout

        def jobs() -> Iterator[tuple[int, tuple, float]]:
            for index, file in enumerate(files):
                ready = self._prepare_safely(file)
                if isinstance(ready, Issue):
                    early[index] = WorkbookRead(file, None, [ready])
                else:
                    prepared[index] = ready
                    yield index, (ready.kind, ready.content or file.content, ready.sheet_parts,
                                  self.limits.max_cells, self.limits.max_text, self._limit_fields), limit

        following = 0
        try:
            for index, outcome in self._pool.run_many(jobs()):
                while following < index:
                    yield files[following], early.pop(following)
                    following += 1
                yield files[index], self._finish(files[index], prepared.pop(index), outcome, limit)
                following = index + 1
        except WorkerStartError as error:
            raise IntakeError(f"无法启动读取进程（{error}）；请检查 Python 环境与 python-calamine 的安装") from error
        while following < len(files):
            yield files[following], early.pop(following)
            following += 1

    def _prepare_safely(self, file: ReceivedFile) -> Union[_Prepared, Issue]:
        """`_prepare`, and a check that breaks on a file's bytes is that file's issue, never the batch's."""
        try:
            return self._prepare(file)
        except WorkerStartError:
            raise
        except Exception as error:             # noqa: BLE001 - hostile bytes may break a check: one file's issue
            return _check_failed_issue(file, f"{type(error).__name__}: {str(error)[:200]}")

    def _prepare(self, file: ReceivedFile) -> Union[_Prepared, Issue]:
        # A workbook kind was sniffed from the content at collection; the checks below
        # verify the structure anyway. Anything else is identified again for its issue.
        kind = file.kind
        if kind not in WORKBOOK_KINDS:
            identity = identify(file.name, file.content)
            if identity.kind not in (*WORKBOOK_KINDS, "encrypted"):
                refusal = identity.refusal or Refusal(IssueCode.NOT_A_RETURN, "不是单个 Excel 报表文件", ADVICE_XLSX)
                return refusal_issue(file.display, refusal)
            kind = identity.kind
        if kind in ("xlsx", "xlsm"):
            return _Prepared(CHECK_FIRST, {}, False)       # checked in the worker, then parsed
        return self._checked(file, kind, file.content)

    def _checked(self, file: ReceivedFile, kind: str, content: bytes,
                 plain: Optional[bytes] = None) -> Union[_Prepared, Issue]:
        """The structural checks of the workbook's kind on `content` (the decrypted bytes,
        once decrypted: `plain`)."""
        if kind == "encrypted":
            return self._decrypted(file, content)
        if kind == "xls":
            facts = inspect_xls(content, self.limits)
            if isinstance(facts, Refusal):
                return refusal_issue(file.display, facts)
            if facts.encrypted and plain is None:
                return self._decrypted(file, content)
            if facts.encrypted:               # still encrypted once decrypted: a scheme we cannot undo
                return file_issue(IssueCode.ENCRYPTED_FILE, file.display, "设有打开密码", "请取消密码后重新发送。")
            return _Prepared("xls", {}, facts.has_macros, plain, plain)
        inspect = {"xlsb": inspect_xlsb, "ods": inspect_ods}.get(kind, inspect_ooxml)
        facts = inspect(content, self.limits)
        if isinstance(facts, Refusal):
            return refusal_issue(file.display, facts)
        return _Prepared(facts.kind, facts.sheet_parts, facts.has_macros, facts.reader_content or plain, plain)

    def _decrypted(self, file: ReceivedFile, content: bytes) -> Union[_Prepared, Issue]:
        """Decrypt with Excel's default key in a guarded worker (Excel opens such a file
        without asking), then check the plain workbook like any other; a real password
        stays the sender's to remove."""
        outcome = self._decryptor.run(("decrypt", content, {}), self.timeout)
        if outcome.status != "ok" or not isinstance(outcome.value, bytes):
            if outcome.status == "error":
                return file_issue(IssueCode.ENCRYPTED_FILE, file.display, "设有打开密码", "请取消密码后重新发送。",
                                  details=f"{outcome.value[0]}: {outcome.value[1]}")
            return _failure_issue(file, outcome, self.timeout)
        plain = outcome.value
        identity = identify(file.name, plain)
        if identity.kind not in WORKBOOK_KINDS:
            return file_issue(IssueCode.UNREADABLE_FILE, file.display, "已损坏，无法打开（解密后不是工作簿）", ADVICE_RESAVE)
        return self._checked(file, identity.kind, plain, plain)

    def _finish(self, file: ReceivedFile, ready: _Prepared, outcome: Outcome, limit: float) -> WorkbookRead:
        if outcome.status == "ok" and ready.kind == CHECK_FIRST:
            return _checked_in_worker(file, outcome.value)
        if outcome.status == "ok":
            return WorkbookRead(file, _raw_workbook(file, ready, outcome.value), [])
        if outcome.status == "error" and outcome.value[0] == "TextTooLarge":
            return WorkbookRead(file, None, [file_issue(
                IssueCode.UNSAFE_FILE, file.display, f"的单元格共有 {int(outcome.value[1]) // 10_000} 万字以上的文字，"
                "远超正常报表（疑似“共享字符串炸弹”），为安全起见未读取", ADVICE_RESAVE)])
        if outcome.status == "error" and outcome.value[0] == "SheetTooLarge":
            sheet, rows, columns = (outcome.value[1].split("\t") + ["?", "0", "0"])[:3]
            refusal = size_refusal(sheet, int(rows), int(columns), self.limits)
            if refusal:
                return WorkbookRead(file, None, [refusal_issue(file.display, refusal)])
        return WorkbookRead(file, None, [_failure_issue(file, outcome, limit)])


def _checked_in_worker(file: ReceivedFile, answer: dict[str, Any]) -> WorkbookRead:
    """What the worker's checks and parse of an .xlsx/.xlsm came to: a refusal, a check that
    broke on the bytes (the same issue as when it breaks here), or the parsed workbook."""
    if "refusal" in answer:
        code, reason, advice, details = answer["refusal"]
        return WorkbookRead(file, None, [refusal_issue(file.display, Refusal(IssueCode(code), reason, advice, details))])
    if "check_failed" in answer:
        return WorkbookRead(file, None, [_check_failed_issue(file, answer["check_failed"])])
    kind, sheet_parts, has_macros = answer["facts"]
    return WorkbookRead(file, _raw_workbook(file, _Prepared(kind, sheet_parts, has_macros), answer), [])


def _check_failed_issue(file: ReceivedFile, details: str) -> Issue:
    return file_issue(IssueCode.UNREADABLE_FILE, file.display, "已损坏，无法打开（结构检查未通过）", ADVICE_RESAVE,
                      details=details)


def read_workbook(file: ReceivedFile, *, timeout: float = 20, memory_mb: int = 512) -> WorkbookRead:
    """Read one received file safely (checks and parsing in a guarded child process).

    For a batch use `WorkbookReader`, which keeps its worker processes between files.

        >>> result = read_workbook(received)                            # doctest: +SKIP
        >>> result.workbook.sheet("填报").value(3, 2) if result.workbook else result.issues[0].message
    """
    with WorkbookReader(timeout=timeout, memory_mb=memory_mb, workers=1) as reader:
        return reader.read(file)


def _raw_workbook(file: ReceivedFile, ready: _Prepared, parsed: dict[str, Any]) -> RawWorkbook:
    sheets = [RawSheet(name=_printable(str(name)), state=state, cells=_with_errors(_printable_grid(cells), errors),
                       merged=[tuple(m) for m in merged])
              for name, state, cells, merged, errors, _ in parsed["sheets"]]
    uncached = {str(name): [tuple(cell) for cell in cells]
                for name, _, _, _, _, cells in parsed["sheets"] if cells}
    return RawWorkbook(file=file, sheets=sheets, has_macros=ready.has_macros or bool(parsed["macro_sheets"]),
                       uncached_formulas=uncached, content=ready.decrypted)


# Control characters other than tab and line breaks: XML 1.0 cannot hold them, so no output
# (feedback, master, briefing) could write them; a cached =CHAR(7) means nothing to a reader.
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def _printable(text: str) -> str:
    return text if text.isprintable() else text.translate(_CONTROL)


def _printable_grid(cells: list[list[Any]]) -> list[list[Any]]:
    """The grid with control characters dropped from its texts (in place)."""
    for values in cells:
        for index, value in enumerate(values):
            if value.__class__ is str and not value.isprintable():
                values[index] = value.translate(_CONTROL)
    return cells


def _with_errors(cells: list[list[Any]], errors: list[tuple[int, int, str]]) -> list[list[Any]]:
    """Put error values (#DIV/0! …, which calamine reads as empty) back into the grid."""
    for row, column, text in errors:
        width = max(len(cells[0]) if cells else 0, column)
        for values in cells:
            values.extend([None] * (width - len(values)))
        while len(cells) < row:
            cells.append([None] * width)
        cells[row - 1][column - 1] = CellError(text)
    return cells


def _failure_issue(file: ReceivedFile, outcome: Outcome, limit: float) -> Issue:
    display = file.display
    if outcome.status == "timeout":
        return file_issue(IssueCode.UNSAFE_FILE, display, f"读取超过 {limit:g} 秒仍未完成，为安全起见已停止读取",
                          "请对方检查文件是否过大或含有异常内容，用 Excel 另存为 .xlsx 后重新发送。")
    if outcome.status == "crashed":
        return file_issue(IssueCode.UNSAFE_FILE, display, "结构异常，读取时耗尽内存或使读取程序异常退出，为安全起见未读取",
                          ADVICE_RESAVE)
    name, text = outcome.value
    if name == "PasswordError":
        return file_issue(IssueCode.ENCRYPTED_FILE, display, "设有打开密码", "请取消密码后重新发送。")
    if "#GETTING_DATA" in text:
        return file_issue(IssueCode.UNREADABLE_FILE, display, "中有单元格显示 #GETTING_DATA（数据仍在计算时保存），无法读取",
                          "请对方等计算完成后重新保存并发送。", details=f"{name}: {text}")
    if PurePosixPath(file.name.lower()).suffix in (".et", ".ett"):
        return file_issue(IssueCode.NOT_A_RETURN, display, *WPS_REFUSAL, details=f"{name}: {text}")
    return file_issue(IssueCode.UNREADABLE_FILE, display, "已损坏，无法打开",
                      "请对方用 Excel 打开确认无误后，重新导出为 .xlsx 发送。", details=f"{name}: {text}")
