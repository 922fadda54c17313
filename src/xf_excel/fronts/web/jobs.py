"""Work the console starts (taking returns in, 汇总, 简报, 填报表, 撤销) runs as a job: in a
thread, one at a time per archive (the same lock the buttons take), reporting its progress,
so the page can show a progress bar and the browser never waits on one long request.

A job's `work(job)` returns what its result page shows (a plain dict for the template); a
failure becomes a Chinese message — the message of an `XfError`, or a pointer to the log for
anything unexpected (the traceback goes to the log, never to the page).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from ...errors import XfError

__all__ = ["Job", "Jobs"]

KEEP_JOBS = 100


@dataclass
class Job:
    """One piece of work and how far it got."""

    id: str
    title: str
    period: int
    kind: str
    state: str = "waiting"            # waiting | running | done | failed
    done: int = 0
    total: int = 0
    outcome: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))

    def progress(self, done: int, total: int) -> None:
        """The pipeline's progress callback."""
        self.done, self.total = done, total

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "done": self.done, "total": self.total, "title": self.title}


class Jobs:
    """The jobs of one console, run one at a time under `lock`."""

    def __init__(self, lock: threading.Lock, log: Callable[[str, str], Path]):
        self._lock = lock
        self._log = log
        self._jobs: dict[str, Job] = {}
        self._guard = threading.Lock()

    def get(self, job_id: str) -> Optional[Job]:
        with self._guard:
            return self._jobs.get(job_id)

    def start(self, title: str, period: int, kind: str, work: Callable[[Job], dict[str, Any]]) -> Job:
        job = Job(id=secrets.token_urlsafe(12), title=title, period=period, kind=kind)
        with self._guard:
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-KEEP_JOBS]:
                del self._jobs[old]
        threading.Thread(target=self._run, args=(job, work), name=f"xf-job-{kind}", daemon=True).start()
        return job

    def _run(self, job: Job, work: Callable[[Job], dict[str, Any]]) -> None:
        with self._lock:
            job.state = "running"
            try:
                job.outcome = work(job)
                job.state = "done"
            except XfError as exc:
                job.error, job.state = f"{job.title}未完成：{exc}", "failed"
            except Exception:  # noqa: BLE001 - the boundary: nothing may reach the page as a traceback
                where = self._log(job.title, traceback.format_exc())
                job.error = f"{job.title}时出现意外错误，操作未完成。详细信息已写入日志：{where}"
                job.state = "failed"
