"""Parse workbooks in guarded child processes, so that no file can take the batch down.

python-calamine aborts the whole process (SIGABRT, nothing to catch) on some crafted files,
and no reader bounds the memory a file may cost. So parsing happens in long-lived worker
processes, each under an address-space limit (RLIMIT_AS) and a wall-clock timeout per
file; a worker that dies or overruns is killed and replaced, and the file gets an outcome
saying so. A pool is created once per batch: starting a worker costs ~40 ms, parsing a
return ~1–3 ms.

This module has two halves:

- the parent side, `WorkerPool`: starts workers, sends jobs, enforces timeouts, turns what
  comes back into an `Outcome`;
- the child side, `run_job` (`check_and_parse`, `parse_workbook`, `decrypt_default_key`) and
  `_child_main`: run as a script (`python -I workers.py MEMORY_MB`), so a worker imports
  the standard library, the readers (python-calamine; xlrd for .xls error cells;
  msoffcrypto-tool for a workbook encrypted with Excel's default key) and, of the xf_excel
  package, only `intake.safeguard` (the structural checks, run here on an .xlsx/.xlsm just
  before its parse; the package's `__init__` is lazy, so this costs no config models).
  Keep every other package import out of this module.

The child answers with plain values only (lists, str, numbers, dates), unpickled in the
parent by an unpickler that refuses every class but the datetime types.
"""

from __future__ import annotations

import io
import os
import pickle
import queue
import re
import struct
import subprocess
import sys
import threading
import time
import zipfile
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Literal, Optional

__all__ = ["WorkerPool", "Outcome", "WorkerStartError", "parse_workbook", "decrypt_default_key", "run_job",
           "DEFAULT_KEY"]

_HEADER = struct.Struct("<Q")
MAX_FRAME_BYTES = 256 << 20        # a worker's answer larger than this is treated as a crash
STARTUP_TIMEOUT = 30.0             # seconds for a worker to import its reader
_MAX_SAFE_INT = 2 ** 53            # floats beyond this are not exact integers


# ---------------------------------------------------------------------------------------
# Parent side


@dataclass(frozen=True)
class Outcome:
    """What became of one job: `ok` (value = the parsed workbook as plain data), `error`
    (the reader refused the file: value = (exception name, text)), `crashed` (the worker
    died: out of memory or aborted), or `timeout` (killed after the time limit)."""

    status: Literal["ok", "error", "crashed", "timeout"]
    value: Any = None


class WorkerStartError(RuntimeError):
    """A fresh worker could not even start (broken installation), so nothing can be read."""


@dataclass
class _Worker:
    proc: subprocess.Popen
    ready: bool = False
    dead: bool = False
    key: Any = None
    busy: bool = False
    timeout: float = 0.0
    deadline: float = 0.0
    started: float = field(default_factory=time.monotonic)


class WorkerPool:
    """A few long-lived parsing processes, each limited to `memory_mb` of address space.

    >>> with WorkerPool(size=2) as pool:                       # doctest: +SKIP
    ...     for key, outcome in pool.run_many([(0, ("xlsx", data, {}), 20.0)]):
    ...         print(key, outcome.status)
    """

    def __init__(self, size: int = 2, memory_mb: int = 512):
        self.size = max(1, size)
        self.memory_mb = memory_mb
        self._workers: list[_Worker] = []
        self._events: queue.Queue = queue.Queue()
        self.started = 0                 # workers started so far (for tests and the bench)

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start every worker now, without waiting for them: each imports its reader while
        the caller goes on (collecting the inbox), so the first job finds it ready."""
        self._workers = [w for w in self._workers if not w.dead]
        while len(self._workers) < self.size:
            self._workers.append(self._start_worker())

    def run(self, job: tuple, timeout: float) -> Outcome:
        """Parse one job (kind, content, sheet_parts) and wait for its outcome."""
        return next(self.run_many([(0, job, timeout)]))[1]

    def run_many(self, jobs: Iterable[tuple[Any, tuple, float]]) -> Iterator[tuple[Any, Outcome]]:
        """Parse (key, job, timeout) items on all workers; yield (key, outcome) in input order.

        `jobs` is consumed lazily, one item ahead of the free workers, so the caller's
        checks of the next file (done while drawing it) overlap with the parsing of the
        previous ones."""
        pending = iter(jobs)
        ahead = next(pending, None)            # one job drawn ahead, prepared while workers parse
        order: deque = deque()
        done: dict[Any, Outcome] = {}
        while True:
            while ahead is not None and (worker := self._idle_worker()) is not None:
                key, job, timeout = ahead
                order.append(key)
                self._submit(worker, key, job, timeout, done)
                ahead = next(pending, None)
            exhausted = ahead is None
            while order and order[0] in done:
                key = order.popleft()
                yield key, done.pop(key)
            if exhausted and not order:
                return
            self._wait_for_event(done)

    def close(self) -> None:
        """Stop every worker: a busy one by force at once; an idle one politely (end of input),
        reaped by a thread of its own that kills it if it has not exited within a second — so
        the caller does not wait for the workers' interpreters to shut down (~50–100 ms each)."""
        for worker in self._workers:
            if worker.busy or worker.proc.poll() is not None:
                self._stop(worker, polite=False)
            else:
                worker.dead = True
                try:
                    worker.proc.stdin.close()
                except OSError:
                    pass
                threading.Thread(target=self._stop, args=(worker, True), daemon=True).start()
        self._workers.clear()

    # -- workers -------------------------------------------------------------------------

    def _idle_worker(self) -> Optional[_Worker]:
        self._workers = [w for w in self._workers if not w.dead]
        for worker in self._workers:
            if not worker.busy:
                return worker
        if len(self._workers) < self.size:
            worker = self._start_worker()
            self._workers.append(worker)
            return worker
        return None

    def _start_worker(self) -> _Worker:
        command = [sys.executable, "-I", os.path.abspath(__file__), str(self.memory_mb)]
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
        worker = _Worker(proc)
        worker.deadline = worker.started + STARTUP_TIMEOUT
        threading.Thread(target=_pump_frames, args=(worker, self._events), daemon=True).start()
        self.started += 1
        return worker

    def _submit(self, worker: _Worker, key: Any, job: tuple, timeout: float, done: dict) -> None:
        worker.key, worker.busy, worker.timeout = key, True, timeout
        if worker.ready:
            worker.deadline = time.monotonic() + timeout
        try:
            _write_frame(worker.proc.stdin, pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:                       # the worker died between jobs: retry once on a fresh one
            self._stop(worker, polite=False)
            fresh = self._idle_worker()
            if fresh is None or fresh is worker:
                done[key] = Outcome("crashed")
                return
            self._submit(fresh, key, job, timeout, done)

    def _wait_for_event(self, done: dict) -> None:
        busy = [w for w in self._workers if w.busy and not w.dead]
        nearest = min((w.deadline for w in busy), default=time.monotonic() + 1.0)
        try:
            worker, frame = self._events.get(timeout=max(0.0, nearest - time.monotonic()))
        except queue.Empty:
            self._expire(busy, done)
            return
        if worker.dead:
            return                             # a late word from a worker already stopped
        if frame is None:
            self._on_death(worker, done)
            return
        message = _restricted_loads(frame) if frame else ("crashed",)
        if message[0] == "ready":
            self._on_ready(worker)
            return
        self._finish(worker, _outcome(message), done)
        if message[0] not in ("ok", "error"):  # out of memory or garbled: the worker is done for
            self._stop(worker, polite=False)

    def _on_ready(self, worker: _Worker) -> None:
        worker.ready = True
        worker.deadline = time.monotonic() + (worker.timeout if worker.busy else STARTUP_TIMEOUT)

    def _on_death(self, worker: _Worker, done: dict) -> None:
        if not worker.ready:
            self._stop(worker, polite=False)
            raise WorkerStartError(f"the reader process exited at start (status {worker.proc.returncode})")
        if worker.busy:
            self._finish(worker, Outcome("crashed"), done)
        self._stop(worker, polite=False)

    def _expire(self, busy: list[_Worker], done: dict) -> None:
        now = time.monotonic()
        for worker in busy:
            if worker.deadline <= now:
                if not worker.ready:
                    self._stop(worker, polite=False)
                    raise WorkerStartError("the reader process did not start in time")
                self._finish(worker, Outcome("timeout"), done)
                self._stop(worker, polite=False)

    @staticmethod
    def _finish(worker: _Worker, outcome: Outcome, done: dict) -> None:
        if worker.busy:
            done[worker.key] = outcome
        worker.busy, worker.key = False, None

    @staticmethod
    def _stop(worker: _Worker, polite: bool) -> None:
        worker.dead = True
        proc = worker.proc
        try:
            if polite and proc.poll() is None:
                if not proc.stdin.closed:
                    proc.stdin.close()
                proc.wait(timeout=1.0)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


def _pump_frames(worker: _Worker, events: queue.Queue) -> None:
    """Thread: forward each frame the worker writes (None at its end) to the pool's queue.
    A thread rather than select() because Windows cannot select() on pipes."""
    stream = worker.proc.stdout
    try:
        while True:
            frame = _read_frame(stream, MAX_FRAME_BYTES)
            events.put((worker, frame))
            if frame is None or frame == b"":
                return
    except (OSError, ValueError):
        events.put((worker, None))


def _outcome(message: tuple) -> Outcome:
    status = message[0]
    if status == "ok":
        return Outcome("ok", message[1])
    if status == "error":
        return Outcome("error", (message[1], message[2]))
    return Outcome("crashed")                  # "memory" and anything unexpected


class _DatesOnlyUnpickler(pickle.Unpickler):
    """The worker parses hostile files: accept nothing from it but plain data and dates."""

    _ALLOWED = {("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"),
                ("datetime", "timedelta"), ("datetime", "timezone")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused {module}.{name}")


def _restricted_loads(frame: bytes) -> tuple:
    try:
        message = _DatesOnlyUnpickler(io.BytesIO(frame)).load()
    except Exception:                          # a garbled answer means a broken worker
        return ("crashed",)
    return message if isinstance(message, tuple) and message else ("crashed",)


def _write_frame(stream: Any, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _read_frame(stream: Any, limit: int) -> Optional[bytes]:
    """One length-prefixed frame; None at end of stream; b'' for an oversized frame."""
    header = _read_exact(stream, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    if length > limit:
        return b""
    return _read_exact(stream, length)


def _read_exact(stream: Any, size: int) -> Optional[bytes]:
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------------------------------
# Child side (runs in the worker; standard library and python-calamine only)


class SheetTooLarge(Exception):
    """A sheet spans more cells than a return may (its text: name, rows, columns, tab-separated)."""


DEFAULT_KEY = "VelvetSweatshop"    # the password Excel encrypts with when the user set none


CHECK_FIRST = "ooxml"    # the job kind of an .xlsx/.xlsm not yet checked: checks, then the parse


def run_job(job: tuple) -> Any:
    """One job: (kind, content, sheet_parts[, max_cells, max_text[, limits]]). Kind 'decrypt'
    decrypts a workbook encrypted with Excel's default key and returns its bytes; kind
    CHECK_FIRST runs the structural checks (`limits`: the `safeguard.Limits` fields) and then
    parses; any other kind, already checked, is parsed."""
    kind, content, sheet_parts = job[:3]
    if kind == "decrypt":
        return decrypt_default_key(content)
    max_cells, max_text, limits = (tuple(job[3:6]) + (None, None, None))[:3]
    if kind == CHECK_FIRST:
        return check_and_parse(content, limits or {}, max_cells=max_cells, max_text=max_text)
    return parse_workbook(kind, content, sheet_parts, max_cells=max_cells, max_text=max_text)


def check_and_parse(content: bytes, limits: dict[str, int], max_cells: Optional[int] = None,
                    max_text: Optional[int] = None) -> dict[str, Any]:
    """An .xlsx/.xlsm checked (`safeguard.inspect_ooxml`) and, when it passes, parsed from the
    parts the checks inflated. Answers in plain data: `parse_workbook`'s dict plus
    "facts" (kind, sheet_parts, has_macros); or {"refusal": (code, reason, advice, details)};
    or {"check_failed": text} when a check broke on the bytes (an exception, not a refusal)."""
    from xf_excel.intake.safeguard import Limits, Refusal, inspect_ooxml_parts

    try:
        facts, parts = inspect_ooxml_parts(content, Limits(**limits))
    except MemoryError:
        raise
    except Exception as error:                 # noqa: BLE001 - hostile bytes may break a check
        return {"check_failed": f"{type(error).__name__}: {str(error)[:200]}"}
    if isinstance(facts, Refusal):
        return {"refusal": (facts.code.value, facts.reason, facts.advice, facts.details)}
    parsed = parse_workbook(facts.kind, facts.reader_content or content, facts.sheet_parts,
                            max_cells=max_cells, max_text=max_text, parts=parts)
    parsed["facts"] = (facts.kind, facts.sheet_parts, facts.has_macros)
    return parsed


def decrypt_default_key(content: bytes) -> bytes:
    """The workbook decrypted with Excel's built-in key, as Excel opens it without asking.
    Raises (msoffcrypto's InvalidKeyError …) when a real password is needed."""
    import msoffcrypto

    office = msoffcrypto.OfficeFile(io.BytesIO(content))
    office.load_key(password=DEFAULT_KEY)
    plain = io.BytesIO()
    office.decrypt(plain)
    return plain.getvalue()


class TextTooLarge(Exception):
    """The cells hold far more text than a return could (its text: the number of characters)."""


def parse_workbook(kind: str, content: bytes, sheet_parts: dict[str, str],
                   max_cells: Optional[int] = None, max_text: Optional[int] = None,
                   parts: Optional[dict[str, bytes]] = None) -> dict[str, Any]:
    """Read every worksheet of an .xlsx/.xlsm/.xls/.xlsb/.ods into plain data (run this in a worker).

    Returns {"sheets": [(name, state, cells, merged, errors, uncached)], "macro_sheets": bool}.
    `uncached` lists (row, column) of formula cells without a cached value. `cells` is a trimmed grid from A1 in which empty cells
    are None and integral floats are int; `errors` lists (row, column, text) of error cells,
    which calamine reports as empty, found in the sheet's XML part (`sheet_parts`: sheet
    name -> part name; passing names rather than the XML keeps a job within one pipe
    buffer, so handing it over never blocks). A sheet spanning more than `max_cells` raises
    SheetTooLarge before its grid is built in Python (the checks before parsing bound the
    data; this is the second line); cells holding more than `max_text` characters in all
    raise TextTooLarge (one shared string of a megabyte referenced by every cell costs the
    file nothing and every consumer of its text a lot). `parts`: the package's parts already
    inflated (part name -> bytes), read instead of the zip.
    """
    parsed = _parse_either(kind, content, sheet_parts, max_cells, parts)
    if max_text is not None:
        total = sum(len(v) for sheet in parsed["sheets"] for row in sheet[2] for v in row if v.__class__ is str)
        if total > max_text:
            raise TextTooLarge(str(total))
    return parsed


def _parse_either(kind: str, content: bytes, sheet_parts: dict[str, str], max_cells: Optional[int],
                  parts: Optional[dict[str, bytes]] = None) -> dict[str, Any]:
    """calamine's reading, or (for an .xlsx calamine refuses) openpyxl's."""
    try:
        return _parse_with_calamine(kind, content, sheet_parts, max_cells, parts)
    except (KeyboardInterrupt, SystemExit, MemoryError, SheetTooLarge):
        raise
    except BaseException as refused:           # calamine refuses some files Excel writes (a Rust panic too)
        if kind not in ("xlsx", "xlsm"):
            raise
        try:
            return _parse_with_openpyxl(content, sheet_parts, max_cells)
        except (MemoryError, SheetTooLarge):
            raise
        except Exception:                      # noqa: BLE001 - neither reader: the first one's words tell why
            raise refused from None


def _parse_with_calamine(kind: str, content: bytes, sheet_parts: dict[str, str],
                         max_cells: Optional[int], parts: Optional[dict[str, bytes]] = None) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    archive = zipfile.ZipFile(io.BytesIO(content)) if sheet_parts and parts is None else None
    sheets, macro_sheets = [], False
    for meta in book.sheets_metadata:
        if meta.typ != SheetTypeEnum.WorkSheet:
            macro_sheets = macro_sheets or meta.typ == SheetTypeEnum.MacroSheet
            continue
        sheet = book.get_sheet_by_name(meta.name)
        _check_size(meta.name, sheet, max_cells)
        cells = _plain_grid(sheet.to_python(skip_empty_area=False))
        merged = [(r1 + 1, c1 + 1, r2 + 1, c2 + 1) for (r1, c1), (r2, c2) in (sheet.merged_cell_ranges or [])]
        errors: list[tuple[int, int, str]] = []
        uncached: list[tuple[int, int]] = []
        xml = _sheet_xml(sheet_parts.get(meta.name), parts, archive)
        if xml:
            errors = _error_cells(xml)
            uncached = _formulas_without_cache(xml)
        sheets.append((meta.name, _STATES.get(str(meta.visible), "visible"), cells, merged, errors, uncached))
    if kind == "xls":
        _add_xls_errors(content, sheets)
    return {"sheets": sheets, "macro_sheets": macro_sheets}


def _sheet_xml(part: Optional[str], parts: Optional[dict[str, bytes]], archive: Optional[zipfile.ZipFile]
               ) -> Optional[bytes]:
    """A worksheet part's XML: from the parts already inflated, else from the zip."""
    if not part:
        return None
    if parts is not None:
        return parts.get(part)
    return archive.read(part) if archive is not None else None


def _parse_with_openpyxl(content: bytes, sheet_parts: dict[str, str], max_cells: Optional[int]) -> dict[str, Any]:
    """The same plain data, read by openpyxl: for the .xlsx files calamine refuses though
    Excel opens them (an unusual number format, a shared string it cannot find, a part it
    does not expect). Slower, and only ever the second reader."""
    import warnings

    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(io.BytesIO(content), data_only=True, keep_vba=False, keep_links=False)
    archive = zipfile.ZipFile(io.BytesIO(content))
    sheets = []
    for sheet in book.worksheets:
        rows, columns = sheet.max_row, sheet.max_column
        if max_cells is not None and rows * columns > max_cells:
            raise SheetTooLarge(f"{sheet.title}\t{rows}\t{columns}")
        cells = _plain_grid([["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)])
        merged = [(m.min_row, m.min_col, m.max_row, m.max_col) for m in sheet.merged_cells.ranges]
        part = sheet_parts.get(sheet.title)
        xml = archive.read(part) if part and part in archive.namelist() else b""
        sheets.append((sheet.title, sheet.sheet_state, cells, merged, _error_cells(xml), _formulas_without_cache(xml)))
    return {"sheets": sheets, "macro_sheets": False}


def _check_size(name: str, sheet: Any, max_cells: Optional[int]) -> None:
    end = sheet.end
    if max_cells is None or end is None:
        return
    rows, columns = end[0] + 1, end[1] + 1
    if rows * columns > max_cells:
        raise SheetTooLarge(f"{name}\t{rows}\t{columns}")


_STATES = {"SheetVisibleEnum.Visible": "visible", "SheetVisibleEnum.Hidden": "hidden",
           "SheetVisibleEnum.VeryHidden": "veryHidden"}


def _plain_grid(rows: list[list[Any]]) -> list[list[Any]]:
    """'' -> None; integral floats -> int (exactly, |x| <= 2**53); trailing empty rows and
    columns dropped. calamine reports every number as float, so 序号 1 and phone numbers
    would otherwise read as 1.0 and 13067428176.0; an integral float has an exact int.
    (Inlined rather than a function per cell: this loop is most of the parse time.)"""
    limit = _MAX_SAFE_INT
    grid = [[(int(v) if v.is_integer() and -limit <= v <= limit else v) if v.__class__ is float
             else (None if v == "" else v) for v in row] for row in rows]
    while grid and not any(v is not None for v in grid[-1]):
        grid.pop()
    width = 0
    for values in grid:
        used = len(values)
        while used > width and values[used - 1] is None:
            used -= 1
        width = max(width, used)
    return [values[:width] for values in grid]


_P = rb"(?:[A-Za-z_][\w.\-]*:)?"           # an optional namespace prefix (x:c, not only c)
_ERROR_CELL = re.compile(
    rb"<" + _P + rb"c\s([^>]*?\bt\s*=\s*[\"']e[\"'][^>]*)>(.*?)</" + _P + rb"c>", re.S)
_REF = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([A-Za-z]{1,3})([0-9]{1,7})[\"']")
_VALUE = re.compile(rb"<" + _P + rb"v\b[^>]*>([^<]*)<")
_FORMULA = re.compile(rb"<" + _P + rb"f[\s>/]")
_PLAIN_FORMULA = re.compile(rb"<f[\s>/]")         # the usual case: a literal prefix, found fast
_CELL_START = re.compile(rb"<" + _P + rb"c[\s>]")
_CELL_END = re.compile(rb"</" + _P + rb"c>")
_CACHED = re.compile(rb"<" + _P + rb"v\b[^>]*>\s*[^<\s]")
_STRING_TYPE = re.compile(rb"\bt\s*=\s*[\"'](?:str|inlineStr)[\"']")


def _error_cells(xml: bytes) -> list[tuple[int, int, str]]:
    """(row, column, '#DIV/0!') for each error cell (t="e") that carries its address.
    Writers put the type as t="e" (or t='e'); the byte test keeps error-free sheets cheap."""
    if b't="e"' not in xml and b"t='e'" not in xml:
        return []
    found = []
    for attrs, body in _ERROR_CELL.findall(xml):
        ref, value = _REF.search(attrs), _VALUE.search(body)
        if ref and value:
            found.append((int(ref.group(2)), _column_number(ref.group(1)),
                          value.group(1).decode("utf-8", "replace").strip()[:40]))
    return found


def _formulas_without_cache(xml: bytes) -> list[tuple[int, int]]:
    """(row, column) of formula cells with no cached result: no <v>, or an empty one on a
    non-text cell (what openpyxl and other non-Excel writers save). Excel writes t="str" and
    an empty <v></v> for a formula whose result is '', which is a cached value. A cell
    without an address is reported at (0, 0): it still counts, it just cannot be pointed at."""
    found: list[tuple[int, int]] = []
    prefixed = b":f>" in xml or b":f " in xml or b":f/" in xml
    for formula in (_FORMULA if prefixed else _PLAIN_FORMULA).finditer(xml):
        end = _CELL_END.search(xml, formula.end())
        if end is None:
            break
        if _CACHED.search(xml, formula.end(), end.start()):
            continue
        start = xml.rfind(b"<", 0, formula.start())
        while start > 0 and not _CELL_START.match(xml, start):
            start = xml.rfind(b"<", 0, start)
        cell_tag = xml[start:xml.find(b">", start) + 1]
        if not _STRING_TYPE.search(cell_tag):
            ref = _REF.search(cell_tag)
            found.append((int(ref.group(2)), _column_number(ref.group(1))) if ref else (0, 0))
    return found


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def _add_xls_errors(content: bytes, sheets: list) -> None:
    """calamine reads .xls error cells as empty; xlrd (if installed) tells them apart. xlrd
    is stricter than calamine and gives up on files calamine reads (a shared-string count
    off, a formula it cannot decode): then only the error texts are missing, not the file."""
    try:
        _xls_error_cells(content, sheets)
    except Exception:                          # noqa: BLE001 - xlrd refusing is not the file being unreadable
        for entry in sheets:
            entry[4].clear()


def _xls_error_cells(content: bytes, sheets: list) -> None:
    try:
        import xlrd
        from xlrd.biffh import XL_CELL_ERROR, error_text_from_code
    except ImportError:
        return
    with open(os.devnull, "w") as quiet:
        book = xlrd.open_workbook(file_contents=content, logfile=quiet, on_demand=True)
        by_name = {entry[0]: entry for entry in sheets}
        for index, name in enumerate(book.sheet_names()):
            if name not in by_name:
                continue
            sheet = book.sheet_by_index(index)
            for row in range(sheet.nrows):
                for column, ctype in enumerate(sheet.row_types(row)):
                    if ctype == XL_CELL_ERROR:
                        text = error_text_from_code.get(sheet.cell_value(row, column), "#N/A")
                        by_name[name][4].append((row + 1, column + 1, text))


def _limit_resources(memory_mb: int) -> None:
    try:
        import resource
    except ImportError:                        # Windows: no rlimits; the timeout still applies
        return
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# The folder holding the xf_excel package (this file is xf_excel/intake/workers.py).
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _child_main(argv: list[str]) -> None:
    memory_mb = int(argv[1]) if len(argv) > 1 else 512
    answers = os.fdopen(os.dup(1), "wb")       # frames only; stray prints go to stderr
    os.dup2(2, 1)
    jobs = sys.stdin.buffer
    import python_calamine  # noqa: F401  (imported before the memory limit applies)

    sys.path.insert(0, _PACKAGE_ROOT)          # run as a script: make the package's checks importable
    import xf_excel.intake.safeguard  # noqa: F401

    _limit_resources(memory_mb)
    _write_frame(answers, pickle.dumps(("ready",)))
    while (frame := _read_frame(jobs, 1 << 40)) is not None:
        job = pickle.loads(frame)                          # from our own parent
        try:
            message: tuple = ("ok", run_job(job))
        except MemoryError:
            message = ("memory",)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:         # the reader refused the file (a Rust panic too): report, go on
            message = ("error", type(error).__name__, str(error)[:300])
        try:
            payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            payload = pickle.dumps(("memory",))
        _write_frame(answers, payload)
        if message[0] == "memory":
            return


if __name__ == "__main__":
    _child_main(sys.argv)
