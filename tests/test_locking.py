"""One writer at a time, and files replaced atomically."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from xf_excel.archive.locking import LockBusy, archive_lock, atomic_write


def _hold(path, ready, release):
    with archive_lock(path):
        ready.set()
        release.wait(30)


def test_second_writer_is_told_who_holds_the_lock(tmp_path):
    archive = tmp_path / "xf.sqlite"
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(archive, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(LockBusy) as info:
            with archive_lock(archive, timeout=0.2):
                pass
        assert f"进程 {holder.pid}" in str(info.value)
    finally:
        release.set()
        holder.join()
    with archive_lock(archive, timeout=1):      # free again once the holder is done
        pass


def test_atomic_write_replaces_or_leaves_the_old_file(tmp_path):
    target = tmp_path / "汇总.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(ValueError):
        atomic_write(target, lambda tmp: (tmp.write_bytes(b"half"), (_ for _ in ()).throw(ValueError("crash"))))
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["汇总.xlsx"]
    assert atomic_write(target, lambda tmp: tmp.write_bytes(b"new")) == target
    assert target.read_bytes() == b"new"


def test_atomic_write_beside_a_locked_target(tmp_path, monkeypatch):
    """On Windows a file open in Excel cannot be replaced: the new one goes beside it."""
    target = tmp_path / "汇总.xlsx"
    target.write_bytes(b"open in Excel")
    real_replace = os.replace

    def replace(src, dst):
        if str(dst) == str(target):
            raise PermissionError(13, "file is open")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    written = atomic_write(target, lambda tmp: tmp.write_bytes(b"new"))
    assert written.name == "汇总 (1).xlsx" and written.read_bytes() == b"new"
    assert target.read_bytes() == b"open in Excel"
