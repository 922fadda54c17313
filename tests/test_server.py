"""The server in-process over HTTP, with payloads shaped as xlwings' VBA client sends them."""

from __future__ import annotations

import os

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # before xlwings is imported: its remote engine

import json
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from excel_front import PERIOD, alerts, seed_archive, set_cell
from xlwings_payload import vba_payload
from xf_excel.fronts.excel.server import create_app, is_loopback, read_token
from xf_excel.fronts.excel.workbook import build_workbook

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def built(config, tmp_path_factory) -> Path:
    return build_workbook(config, tmp_path_factory.mktemp("wb") / "xf-excel.xlsm")


@pytest.fixture(scope="module")
def payload(built) -> dict:
    payload = vba_payload(built)
    set_cell(payload, "首页", 4, 2, PERIOD)
    return payload


@pytest.fixture
def root(tmp_path, config, repo_root) -> Path:
    shutil.copy(repo_root / "config.yaml", tmp_path / "config.yaml")
    seed_archive(config, tmp_path / "data" / "xf.sqlite")
    (tmp_path / "收件箱").mkdir()
    return tmp_path


def client(root: Path, host: str = "127.0.0.1", token: str | None = TOKEN, **options) -> TestClient:
    app = create_app("config.yaml", "data/xf.sqlite", root=root, token=token, **options)
    return TestClient(app, client=(host, 50000))


def test_a_local_client_runs_a_button_and_gets_actions(root, payload):
    response = client(root).post("/xlwings/consolidate", json=payload)
    assert response.status_code == 200
    done = response.json()["actions"]
    assert any(a["func"] == "setValues" for a in done)
    assert "没有报表文件" in alerts(done)[0]


def test_a_remote_client_needs_the_token(root, payload):
    remote = client(root, host="10.1.2.3")
    assert remote.post("/xlwings/consolidate", json=payload).status_code == 401
    wrong = remote.post("/xlwings/consolidate", json=payload, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "XF_SERVER_TOKEN" in wrong.text
    right = remote.post("/xlwings/consolidate", json=payload, headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200
    bare = remote.post("/xlwings/brief", json=payload, headers={"Authorization": TOKEN})   # RunServerPython's AUTH as is
    assert bare.status_code == 200


def test_without_a_token_only_local_clients_are_served(root, payload):
    assert client(root, host="192.168.0.5", token=None).post("/xlwings/validate", json=payload).status_code == 403
    assert client(root, host="::1", token=None).post("/xlwings/validate", json=payload).status_code == 200


def test_oversize_requests_are_refused_before_parsing(root):
    small = client(root, max_body=1000)
    response = small.post("/xlwings/consolidate", content=b"{" + b" " * 2000 + b"}",
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "上限" in response.text


def test_no_traceback_in_any_response(root, payload):
    (root / "data" / "xf.sqlite").unlink()
    (root / "data" / "xf.sqlite").mkdir()            # the archive is broken: every button fails
    local = client(root)
    bodies = [local.post(f"/xlwings/{b}", json=payload).text for b in ("consolidate", "validate", "brief", "make_forms")]
    bodies.append(local.post("/xlwings/consolidate", content=b"not json").text)
    bodies.append(local.post("/xlwings/consolidate", json={"client": "VBA"}).text)
    bodies.append(local.post("/xlwings/format_disk", json=payload).text)
    for body in bodies:
        assert "Traceback" not in body and 'File "' not in body
    assert "无法使用档案库" in json.loads(bodies[0])["actions"][0]["args"][0]   # a folder where the archive should be
    assert "Traceback" in (root / "data" / "xf-excel.log").read_text(encoding="utf-8")


def test_two_concurrent_requests_are_serialised(root, payload, monkeypatch):
    from xf_excel.fronts.excel import buttons as xl

    spans: list[tuple[float, float]] = []
    real = xl.BUTTON_FUNCTIONS["selftest"]

    def slow(book, setup):
        start = time.monotonic()
        time.sleep(0.2)
        real(book, setup)
        spans.append((start, time.monotonic()))

    monkeypatch.setitem(xl.BUTTON_FUNCTIONS, "selftest", slow)
    local = client(root)
    codes: list[int] = []
    threads = [threading.Thread(target=lambda: codes.append(local.post("/xlwings/selftest", json=payload).status_code))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200, 200]
    (a_start, a_end), (b_start, b_end) = sorted(spans)
    assert b_start >= a_end                          # the second began only after the first ended


def test_loopback_and_token_helpers(tmp_path):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("testclient") and not is_loopback(None)
    (tmp_path / "token").write_text("abc\n", encoding="utf-8")
    assert read_token(tmp_path / "token", env={}) == "abc"
    assert read_token(None, env={"XF_SERVER_TOKEN": " xyz "}) == "xyz"
    assert read_token(None, env={}) is None


@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "/nowhere", 404), ("get", "/xlwings/consolidate", 405), ("put", "/xlwings/health", 405),
])
def test_the_frameworks_own_answers_are_chinese(root, method, path, status):
    response = getattr(client(root), method)(path)
    assert response.status_code == status
    assert re.search(r"[\u4e00-\u9fff]", response.text) and "Not Found" not in response.text
    assert "Method Not Allowed" not in response.text and "detail" not in response.text


def test_the_server_offers_the_undo_button(root):
    assert "undo" in client(root).get("/xlwings/health").json()["buttons"]
