"""Shared fixtures: the repository's config.yaml, loaded once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xf_excel.config import Config, load_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def config() -> Config:
    """The 2020 Guangxi campaign as configured in the repository."""
    return load_config(ROOT / "config.yaml")


@pytest.fixture(scope="session")
def soffice() -> str:
    """Path of LibreOffice's soffice; skips the test where it is not installed."""
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if not path:
        pytest.skip("LibreOffice (soffice) 未安装：./run test 会在 Debian 上以 root 安装它")
    return path


@pytest.fixture(scope="session")
def master_xlsm(config, tmp_path_factory) -> Path:
    """The master .xlsm as `xf-excel workbook` builds it (built once per session)."""
    from xf_excel.fronts.excel.workbook import build_workbook

    return build_workbook(config, tmp_path_factory.mktemp("master-xlsm") / "xf-excel.xlsm")


@pytest.fixture(scope="session")
def corpus_files() -> Path:
    """The corpus of real spreadsheets (tests/corpus/README.md); skips the test where it could not be downloaded."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("corpus_fetch", ROOT / "tests" / "corpus" / "fetch.py")
    fetch = sys.modules["corpus_fetch"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch)
    if not fetch.complete():
        pytest.skip("测试语料库未下载（tests/corpus/files）：./run test 联网时会自动下载；"
                    "也可运行 python tests/corpus/fetch.py，看它为何下载失败")
    return fetch.FILES
