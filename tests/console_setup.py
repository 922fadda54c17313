"""Shared set-up of the browser console's tests: a server folder (config, archive, inbox), the
app, returns built in code, a live server on loopback and Debian's chromium."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import yaml

from fuzzing import filled_return
from xf_excel.fronts.excel.server import create_app
from xf_excel.fronts.web.uploads import UploadLimits

TOKEN = "console-token-42"
PERIOD = 2
NOW = dt.datetime(2020, 9, 14, 9, 30)                # period 2, 2.5 hours before its deadline
GOOD, BAD, OTHER = "450103", "450105", "450108"      # 南宁市青秀区, 江南区, 良庆区 (clean simulated returns)
HTML_UNIT = "450109"                                 # renamed below to a name holding HTML
HTML_NAME = '<img src=x onerror="window.pwned=1">邕宁区'
SCRIPT_FILE = "<script>window.pwned=2</script>青秀区.xlsx"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def server_folder(root: Path, repo_root: Path) -> Path:
    """A server's folder: config.yaml (one county's name holding HTML), an empty inbox."""
    root.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((repo_root / "config.yaml").read_text(encoding="utf-8"))
    for county in config["counties"]:
        if county["code"] == HTML_UNIT:
            county["name"] = HTML_NAME
    (root / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (root / "收件箱" / f"第{PERIOD}期").mkdir(parents=True)
    return root


def app_for(root: Path, *, token: Optional[str] = TOKEN, login_local: bool = False,
            limits: Optional[UploadLimits] = None):
    console = {"clock": lambda: NOW, "login_local": login_local}
    if limits:
        console["limits"] = limits
    return create_app("config.yaml", "data/xf.sqlite", root=root, token=token, console=console)


def small_inbox(config, folder: Path) -> list[tuple[str, bytes]]:
    """A week's small inbox: two clean returns (one under a name holding a script tag), one
    return with an error, and the first file again under another name."""
    good = filled_return(config, GOOD, folder / "forms", period=PERIOD, header={"填报人": "韦芳", "联系电话": "13907710001"})
    other = filled_return(config, OTHER, folder / "forms", period=PERIOD)
    bad = filled_return(config, BAD, folder / "forms", period=PERIOD, values={"建成专柜数": "很多"})
    return [(SCRIPT_FILE, good), ("第2期_南宁市_良庆区.xlsx", other), ("第2期_南宁市_江南区.xlsx", bad),
            ("第2期_南宁市_青秀区（再发一次）.xlsx", good)]


def write_files(files: list[tuple[str, bytes]], folder: Path) -> list[Path]:
    """The files on disk, for a browser's file chooser (names a file system allows)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, content in files:
        path = folder / name.replace("/", "／")
        path.write_bytes(content)
        paths.append(path)
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(app) -> Iterator[str]:
    """The app served by uvicorn on a loopback port, in a thread; yields its base address."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def browser_missing() -> Optional[str]:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright 未安装：./run test 会按 requirements.lock 安装"
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return "Debian 的 chromium 未安装：./run test 会以 root 按 system-packages.txt 安装"
    return None
