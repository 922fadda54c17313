"""Run a command in a child process and measure its wall time and peak memory.

Two figures of peak memory, both in MB:

- `maxrss_mb`: the kernel's own high-water mark, from `os.wait4` on the child — the largest
  resident set of the child *or of any process it waited for* (its reader workers). Exact,
  but the largest single process, not their sum.
- `tree_mb`: the largest sum of the proportional set sizes (PSS) of the child and all its
  descendants, sampled from /proc every `interval` seconds (Linux). This is what the
  machine had to hold at once: a page two processes share (a forked helper and its parent)
  counts half in each, where summing resident sets would count it twice. It may miss a
  spike shorter than the interval; where a kernel gives no PSS, the resident set is used.

The peak the table reports is the larger of the two.

Children are started by a `Launcher`, a small process of its own started before the
benchmark grows: on Linux a child's high-water mark starts at that of the process that
spawned it (vfork + exec carries it over), so a child spawned by the benchmark itself
would report at least the benchmark's own size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

_PAGE = os.sysconf("SC_PAGE_SIZE")
_PROC = Path("/proc")


@dataclass
class ChildRun:
    """What one measured child did."""

    returncode: int
    stdout: str
    stderr: str
    wall: float            # seconds from spawn to exit (includes interpreter start-up)
    maxrss_mb: float
    tree_mb: float

    @property
    def peak_mb(self) -> float:
        return max(self.maxrss_mb, self.tree_mb)


def run_child(command: Sequence[str], *, cwd: Optional[Path] = None, env: Optional[dict] = None,
              timeout: float = 3600, interval: float = 0.05) -> ChildRun:
    """Run `command`, wait for it, and return its outputs, wall time and peak memory."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=out, stderr=err)
        sampler = _TreeSampler(process.pid, interval)
        sampler.start()
        try:
            status, usage = _wait(process, timeout)
        finally:
            sampler.stop()
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        return ChildRun(process.returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                        wall, usage.ru_maxrss / 1024, sampler.peak / 2**20)


def _wait(process: subprocess.Popen, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            return status, usage
        if time.monotonic() > deadline:
            process.kill()
            _, status, usage = os.wait4(process.pid, 0)
            raise TimeoutError(f"{' '.join(process.args)} ran over {timeout:.0f} s")
        time.sleep(0.005)


class _TreeSampler(threading.Thread):
    """Polls /proc for the summed PSS of a process and its descendants; keeps the peak (bytes)."""

    def __init__(self, root: int, interval: float):
        super().__init__(daemon=True)
        self.root, self.interval, self.peak = root, interval, 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, tree_memory(self.root))
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


def tree_memory(root: int) -> int:
    """Summed proportional set size (bytes) of `root` and every descendant, now."""
    parents: dict[int, int] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_bytes()
            except OSError:
                continue
            fields = stat[stat.rindex(b")") + 2:].split()
            parents[int(entry.name)] = int(fields[1])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(_proportional(pid) for pid in tree)


def _proportional(pid: int) -> int:
    """One process's PSS in bytes (its resident set where the kernel gives no PSS); 0 once gone."""
    try:
        for line in (_PROC / str(pid) / "smaps_rollup").read_bytes().splitlines():
            if line.startswith(b"Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    try:
        return int((_PROC / str(pid) / "statm").read_bytes().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


class Launcher:
    """A lean process (standard library only) that runs `run_child` for us.

        >>> with Launcher() as launcher:
        ...     child = launcher.run([sys.executable, "-c", "pass"])
    """

    def __init__(self) -> None:
        self._process = subprocess.Popen([sys.executable, "-I", str(Path(__file__).resolve()), "--serve"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, command: Sequence[str], *, cwd: Optional[Path] = None, timeout: float = 3600) -> ChildRun:
        request = {"command": [str(c) for c in command], "cwd": str(cwd) if cwd else None, "timeout": timeout}
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        answer = json.loads(self._process.stdout.readline())
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return ChildRun(**answer)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            self._process.wait(timeout=30)

    def __enter__(self) -> "Launcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve() -> None:
    """The launcher's loop: one JSON request a line on stdin, one JSON answer a line on stdout."""
    for line in sys.stdin:
        request = json.loads(line)
        try:
            child = run_child(request["command"], cwd=request["cwd"], timeout=request["timeout"])
            answer = child.__dict__
        except Exception as error:   # reported to the benchmark, which records it on the row
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    _serve()
