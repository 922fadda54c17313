"""The browser console (`/` of `xf-excel serve`): the weekly routine for offices whose Excel
cannot run the buttons (WPS, blocked macros, Defender's child-process rule).

Server-rendered pages (Jinja2, every value escaped) with a little JavaScript that only
improves them (drag and drop, upload progress, live progress of a job, copy buttons,
instant filters); every page and action works without it. Every action calls the same
pipeline use cases as the buttons and the command line, as a job (`jobs.py`) under the same
lock as the buttons. Who may do what: `security.py`.

Folders are the server's own and never come from the browser: period N's inbox is
`<inbox>/第N期`, its outputs go to `<out>/第N期/` (汇总表, 退回/, 简报/, 填报表/ and the zips);
a download names a kind of folder and a file name that must be one of that folder's files.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import urllib.parse
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Optional

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined

from ... import pipeline
from ...config import Config, load_config
from ...errors import XfError
from . import views
from .jobs import Job, Jobs
from .security import (CSRF_FIELD, CSRF_HEADER, SECURITY_HEADERS, SESSION_COOKIE, Access, Sessions, cross_site,
                       csrf_ok, token_matches)
from .uploads import TooMuch, UploadLimits, mb, read_uploads

__all__ = ["ConsoleSetup", "add_console"]

log = logging.getLogger("xf_excel.console")
MAX_FORM_BYTES = 64 << 10
SENT_FOLDER = "发件"                       # attachments of the mail sent, as the buttons keep them
OUTPUT_KINDS = ("period", "feedback", "briefing", "summary")


@dataclass(frozen=True)
class ConsoleSetup:
    """Where the console finds and writes things, and who may use it."""

    config_path: Path
    archive_path: Path
    inbox: Path                                   # the server's inbox folder; period N reads inbox/第N期
    out: Path                                     # outputs; period N writes to out/第N期
    token: Optional[str] = None
    login_local: bool = False                     # sign in on the server's own machine too (a shared PC)
    limits: UploadLimits = field(default_factory=UploadLimits)
    log: Callable[[str, str], Path] = lambda title, text: Path()
    clock: Callable[[], dt.datetime] = dt.datetime.now

    def period_inbox(self, period: int) -> Path:
        return self.inbox / f"第{period}期"

    def period_out(self, period: int) -> Path:
        return self.out / f"第{period}期"

    def folder(self, period: int, kind: str) -> Path:
        """The folder of one kind of output (`OUTPUT_KINDS`) of a period (the campaign-end report's
        is the campaign's, whichever period is shown)."""
        base = self.period_out(period)
        return {"period": base, "feedback": base / pipeline.FEEDBACK_FOLDER,
                "briefing": base / pipeline.BRIEFING_FOLDER, "summary": self.out / pipeline.SUMMARY_FOLDER}[kind]


class _Configs:
    """config.yaml parsed once per version of the file."""

    def __init__(self, path: Path):
        self.path, self._key, self._config = path, None, None
        self._guard = threading.Lock()

    def get(self) -> Config:
        try:
            stat = self.path.stat()
        except OSError:
            return load_config(self.path)         # the ConfigError names the missing file
        key = (stat.st_mtime_ns, stat.st_size)
        with self._guard:
            if key != self._key:
                self._config, self._key = load_config(self.path), key
            return self._config


def add_console(app: FastAPI, setup: ConsoleSetup, lock: threading.Lock) -> None:
    """Serve the console at `/` of `app` (static files under /static)."""
    Console(app, setup, lock)


class Console:
    """The routes of the console, bound to one setup."""

    def __init__(self, app: FastAPI, setup: ConsoleSetup, lock: threading.Lock):
        self.setup = setup
        self.configs = _Configs(setup.config_path)
        self.sessions = Sessions()
        self.jobs = Jobs(lock, setup.log)
        self.templates = Environment(loader=PackageLoader("xf_excel.fronts.web", "templates"), autoescape=True,
                                     undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        static = resources.files("xf_excel.fronts.web") / "static"
        app.mount("/static", StaticFiles(directory=str(static)), name="static")
        app.middleware("http")(self.headers)
        app.exception_handler(XfError)(self.cannot)
        self.routes(app)

    # ---- plumbing ------------------------------------------------------------------------------

    async def headers(self, request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "max-age=600"
        return response

    async def cannot(self, request: Request, exc: XfError):
        """A page that cannot be shown (config.yaml broken, archive unreadable): say why, in Chinese."""
        access = Access.of(request, self.sessions, self.setup.login_local)
        if not access.allowed:
            return self.message(request, access, "请先登录。", 401, back="/login")
        return self.message(request, access, f"无法完成：{exc}", 500)

    def render(self, request: Request, access: Access, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        session = access.session or self.sessions.new()
        config = self._config_or_none()
        html = self.templates.get_template(name).render(
            csrf=session.csrf, csrf_field=CSRF_FIELD, signed_in=session.signed_in,
            campaign=config.campaign.name if config else "xf-excel", **context)
        response = HTMLResponse(html, status_code=status)
        if access.session is None:
            response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https", path="/")
        return response

    def _config_or_none(self) -> Optional[Config]:
        try:
            return self.configs.get()
        except XfError:
            return None

    def message(self, request: Request, access: Access, text: str, status: int, back: str = "/") -> HTMLResponse:
        return self.render(request, access, "message.html", status=status, text=text, back=back)

    def gate(self, request: Request) -> tuple[Access, Optional[Response]]:
        """The request's access, and the answer when it may not see the console."""
        access = Access.of(request, self.sessions, self.setup.login_local)
        if access.allowed:
            return access, None
        if not self.setup.token:
            if self.setup.login_local:
                return access, self.message(request, access, "本服务器要求登录，但未设置口令：请信息化人员设置口令后重启服务。", 403)
            return access, self.message(request, access, "本服务器未设置口令，只接受本机访问。请在服务器上打开本页面，"
                                        "或请信息化人员按 README 设置口令后用口令登录。", 403)
        target = urllib.parse.quote(request.url.path, safe="/")
        return access, RedirectResponse(f"/login?next={target}", status_code=303)

    async def guard_post(self, request: Request, given: Optional[str]) -> tuple[Access, Optional[Response]]:
        """A POST: allowed, from our own pages, with the session's CSRF token."""
        access, refusal = self.gate(request)
        if refusal is not None:
            return access, self.message(request, access, "请先登录。", 401, back="/login") \
                if isinstance(refusal, RedirectResponse) else refusal
        if cross_site(request):
            log.warning("cross-site POST refused from %s to %s", access.client, request.url.path)
            return access, self.message(request, access, "已拒绝来自其他网站的请求。请直接在本控制台页面上操作。", 403)
        if not csrf_ok(access.session, given):
            return access, self.message(request, access, "页面已过期或请求来源无法确认，操作未执行。请刷新页面后重试。", 403)
        return access, None

    async def small_form(self, request: Request) -> Optional[dict[str, str]]:
        """An urlencoded form of our pages (a few fields), None when it is too large."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
            return None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return None
        pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return dict(pairs)

    def period_or_none(self, config: Config, period: int) -> Optional[int]:
        return period if any(p.number == period for p in config.periods) else None

    # ---- routes ----------------------------------------------------------------------------------

    def routes(self, app: FastAPI) -> None:  # noqa: C901 - one place that lists every route
        app.get("/", response_class=HTMLResponse)(self.home)
        app.get("/go")(self.go)
        app.get("/login", response_class=HTMLResponse)(self.login_page)
        app.post("/login")(self.login)
        app.post("/logout")(self.logout)
        app.get("/p/{period}", response_class=HTMLResponse)(self.overview)
        app.get("/p/{period}/status", response_class=HTMLResponse)(self.status)
        app.get("/p/{period}/issues", response_class=HTMLResponse)(self.issues)
        app.get("/p/{period}/briefing", response_class=HTMLResponse)(self.briefing)
        app.get("/p/{period}/files/{kind}/{name}")(self.download)
        app.post("/p/{period}/upload")(self.upload)
        app.post("/p/{period}/{action}")(self.action)
        app.get("/jobs/{job_id}", response_class=HTMLResponse)(self.job_page)
        app.get("/jobs/{job_id}/state")(self.job_state)

    async def home(self, request: Request):
        access, refusal = self.gate(request)
        if refusal is not None:
            return refusal
        config = self.configs.get()
        return RedirectResponse(f"/p/{pipeline.current_period(config, self.setup.clock())}", status_code=303)

    async def go(self, request: Request, period: int = 0):
        """The period picker without JavaScript."""
        return RedirectResponse(f"/p/{int(period)}", status_code=303)

    async def login_page(self, request: Request, next: str = "/"):
        access = Access.of(request, self.sessions, self.setup.login_local)
        if not self.setup.token:
            return self.message(request, access, "本服务器未设置口令，只接受本机访问。", 403)
        return self.render(request, access, "login.html", next=_local_path(next), error="")

    async def login(self, request: Request):
        access = Access.of(request, self.sessions, self.setup.login_local)
        form = await self.small_form(request) or {}
        target = _local_path(form.get("next", "/"))
        if cross_site(request) or not csrf_ok(access.session, form.get(CSRF_FIELD)):
            return self.message(request, access, "页面已过期或请求来源无法确认，请刷新登录页面后重试。", 403, back="/login")
        if self.sessions.login_blocked(access.client):
            return self.render(request, access, "login.html", status=429, next=target,
                               error="口令错误次数过多，请10分钟后再试。")
        if not token_matches(form.get("token", ""), self.setup.token):
            self.sessions.login_failed(access.client)
            log.warning("wrong console token from %s", access.client)
            return self.render(request, access, "login.html", status=401, next=target, error="口令不正确。")
        if access.session:
            self.sessions.drop(access.session)
        session = self.sessions.new(signed_in=True)      # a new id: a session fixed beforehand is worthless
        log.info("console sign-in from %s", access.client)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    async def logout(self, request: Request):
        form = await self.small_form(request) or {}
        access, refusal = await self.guard_post(request, form.get(CSRF_FIELD))
        if refusal is not None:
            return refusal
        if access.session:
            self.sessions.drop(access.session)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # ---- pages -----------------------------------------------------------------------------------

    def _page(self, request: Request, period: int):
        """(access, config, consolidation) for a period page, or the answer instead."""
        access, refusal = self.gate(request)
        if refusal is not None:
            return None, refusal
        config = self.configs.get()
        if self.period_or_none(config, period) is None:
            return None, self.message(request, access, f"没有第{period}期；请从期次列表中选择。", 404)
        return (access, config, self.consolidation(config, period)), None

    def consolidation(self, config: Config, period: int):
        """The period as the archive holds it now (reminders worded for this moment)."""
        now = self.setup.clock()
        if not self.setup.archive_path.exists():
            return pipeline.empty_consolidation(config, period, at=now)
        return pipeline.consolidate_period(config, period, self.setup.archive_path, now=now)

    def _common(self, config: Config, consolidation, period: int, page: str) -> dict[str, Any]:
        now = self.setup.clock()
        return {"period": period, "page": page, "glance": views.glance(consolidation, now),
                "periods": [{"number": p.number, "label": f"第{p.number}期（截至{p.cutoff.month}月{p.cutoff.day}日）"}
                            for p in config.periods],
                "now": f"{now:%Y-%m-%d %H:%M}"}

    async def overview(self, request: Request, period: int):
        found, refusal = self._page(request, period)
        if refusal is not None:
            return refusal
        access, config, consolidation = found
        inbox = self.setup.period_inbox(period)
        return self.render(
            request, access, "overview.html", **self._common(config, consolidation, period, "overview"),
            progress=views.progress_rows(consolidation), outputs=self._outputs(period),
            inbox=str(inbox), inbox_files=_count_files(inbox), limits={
                "files": self.setup.limits.max_files, "file": mb(self.setup.limits.max_file_bytes),
                "total": mb(self.setup.limits.max_total_bytes), "file_bytes": self.setup.limits.max_file_bytes,
                "total_bytes": self.setup.limits.max_total_bytes},
            issues=len(consolidation.issues),
            mail={"fetch": bool(config.mail and config.mail.imap), "send": bool(config.mail and config.mail.smtp),
                  "kinds": [(f"send-{kind}", views.SEND_WORDS[kind]) for kind in pipeline.SEND_KINDS]})

    async def status(self, request: Request, period: int, show: str = "all", city: str = ""):
        found, refusal = self._page(request, period)
        if refusal is not None:
            return refusal
        access, config, consolidation = found
        feedback = self.setup.folder(period, "feedback")
        rows = views.status_rows(consolidation, self.setup.clock(), _file_names(feedback),
                                 lambda code: pipeline.feedback_filename(config, code, period))
        counts = {key: len(views.filtered(rows, key, city)) for key, _, _ in views.FILTERS}
        return self.render(
            request, access, "status.html", **self._common(config, consolidation, period, "status"),
            rows=rows, visible={r.code for r in views.filtered(rows, show, city)}, all_rows=len(rows), show=show,
            city=city, counts=counts,
            filters=[(key, label) for key, label, _ in views.FILTERS],
            cities=[(c.code, c.name) for c in config.cities] + [("member", "成员单位")])

    async def issues(self, request: Request, period: int):
        found, refusal = self._page(request, period)
        if refusal is not None:
            return refusal
        access, config, consolidation = found
        return self.render(request, access, "issues.html", **self._common(config, consolidation, period, "issues"),
                           rows=views.issue_rows(config, consolidation.issues))

    async def briefing(self, request: Request, period: int):
        found, refusal = self._page(request, period)
        if refusal is not None:
            return refusal
        access, config, consolidation = found
        folder = self.setup.folder(period, "briefing")
        markdown = _newest(folder, ".md")
        return self.render(request, access, "briefing.html", **self._common(config, consolidation, period, "briefing"),
                           markdown=markdown.read_text(encoding="utf-8") if markdown else "",
                           files=[f for f in self._outputs(period) if f["kind"] == "briefing"])

    async def download(self, request: Request, period: int, kind: str, name: str):
        access, refusal = self.gate(request)
        if refusal is not None:
            return refusal
        config = self.configs.get()
        if self.period_or_none(config, period) is None or kind not in OUTPUT_KINDS:
            return self.message(request, access, "没有这个文件。", 404)
        folder = self.setup.folder(period, kind)
        # the name must be one of the folder's own files: a name from the browser never becomes a path
        match = next((entry for entry in _entries(folder) if entry.name == name), None)
        if match is None:
            return self.message(request, access, f"文件“{name}”不存在（可能已被重新生成），请回到本期页面重新下载。", 404,
                                back=f"/p/{period}")
        return FileResponse(match.path, filename=match.name, content_disposition_type="attachment")

    def _outputs(self, period: int) -> list[dict[str, str]]:
        """The files a period's outputs folders hold now, to download again."""
        found = []
        for kind in ("period", "briefing", "summary"):
            for entry in _entries(self.setup.folder(period, kind)):
                if entry.name.endswith((".xlsx", ".zip", ".docx", ".md")):
                    found.append({"kind": kind, "name": entry.name, "url": self.file_url(period, kind, entry.name)})
        return found

    def file_url(self, period: int, kind: str, name: str) -> str:
        return f"/p/{period}/files/{kind}/{urllib.parse.quote(name)}"

    def _url_of(self, period: int, path: Path) -> str:
        """The download address of a file a job wrote (it lies in one of the period's folders)."""
        for kind in OUTPUT_KINDS:
            if path.parent.resolve() == self.setup.folder(period, kind).resolve():
                return self.file_url(period, kind, path.name)
        return ""

    # ---- actions ----------------------------------------------------------------------------------

    async def upload(self, request: Request, period: int):
        access, refusal = self.gate(request)
        wants_json = "application/json" in request.headers.get("accept", "")
        header_token = request.headers.get(CSRF_HEADER)
        if refusal is None and (cross_site(request) or (header_token is not None
                                                        and not csrf_ok(access.session, header_token))):
            refusal = self.message(request, access, "已拒绝：请求来源无法确认。请刷新页面后重试。", 403)
        if refusal is not None:
            return _as_json(refusal) if wants_json else refusal
        config = self.configs.get()
        if self.period_or_none(config, period) is None:
            return self.message(request, access, f"没有第{period}期。", 404)
        try:
            batch = await read_uploads(request, self.setup.limits)
        except TooMuch as exc:
            return self._refused(request, access, str(exc), 413, period, wants_json)
        if header_token is None and not csrf_ok(access.session, batch.fields.get(CSRF_FIELD)):
            return self._refused(request, access, "页面已过期或请求来源无法确认，文件未收取。请刷新页面后重试。", 403, period,
                                 wants_json)
        if not batch.files:
            return self._refused(request, access, "没有选择文件。请把报表文件拖到框内，或点击“选择文件”。", 400, period,
                                 wants_json)
        feedback = self.setup.folder(period, "feedback")
        files = batch.files

        def work(job: Job) -> dict[str, Any]:
            report = pipeline.intake_uploads(config, files, period, self.setup.archive_path, feedback,
                                             progress=job.progress, received_at=self.setup.clock())
            return views.intake_outcome(report, lambda path: self._url_of(period, path))

        job = self.jobs.start(f"收取上传的 {len(files)} 个文件", period, "intake", work)
        return self._started(job, wants_json)

    def _refused(self, request, access, text: str, status: int, period: int, wants_json: bool) -> Response:
        if wants_json:
            return JSONResponse({"error": text}, status_code=status)
        return self.message(request, access, text, status, back=f"/p/{period}")

    def _started(self, job: Job, wants_json: bool) -> Response:
        url = f"/jobs/{job.id}"
        return JSONResponse({"job": url}) if wants_json else RedirectResponse(url, status_code=303)

    async def action(self, request: Request, period: int, action: str):
        form = await self.small_form(request)
        access, refusal = await self.guard_post(request, (form or {}).get(CSRF_FIELD))
        if refusal is not None:
            return refusal
        config = self.configs.get()
        works = self._actions(config, period)
        if self.period_or_none(config, period) is None or action not in works:
            return self.message(request, access, "没有这个操作。", 404)
        title, work = works[action]
        return self._started(self.jobs.start(title, period, action, work), False)

    def _actions(self, config: Config, period: int) -> dict[str, tuple[str, Callable[[Job], dict[str, Any]]]]:
        setup, out = self.setup, self.setup.period_out(period)

        def inbox(job: Job) -> dict[str, Any]:
            folder = setup.period_inbox(period)
            if not folder.is_dir():
                raise _NoInbox(f"服务器收件文件夹 {folder} 不存在；请先建立该文件夹并把收到的报表保存进去，或直接在本页上传文件")
            report = pipeline.intake_inbox(config, folder, period, setup.archive_path, setup.folder(period, "feedback"),
                                           progress=job.progress)
            return views.intake_outcome(report, lambda path: self._url_of(period, path))

        def master(job: Job) -> dict[str, Any]:
            consolidation, workbook = pipeline.rebuild_master(config, period, setup.archive_path, out,
                                                              output_folder=str(out))
            return {"kind": "files", "files": [(workbook.name, self._url_of(period, workbook))],
                    "notes": [f"汇总表已按档案库中的数据生成：未报送 {len(consolidation.reporting_in('missing'))} 个单位，"
                              f"退回待重报 {len(consolidation.reporting_in('rejected'))} 个单位。"]}

        def undo(job: Job) -> dict[str, Any]:
            result = pipeline.undo_intake(config, period, setup.archive_path)
            return {"kind": "files", "files": [], "notes": result.lines()}

        def brief(job: Job) -> dict[str, Any]:
            result = pipeline.brief_period(config, period, setup.archive_path, setup.folder(period, "briefing"))
            shown = [p for p in result.paths if p.suffix in (".docx", ".md")]
            return {"kind": "files", "files": [(p.name, self._url_of(period, p)) for p in shown],
                    "notes": list(result.notes), "preview": f"/p/{period}/briefing"}

        def summary(job: Job) -> dict[str, Any]:
            result = pipeline.summarize_campaign(config, setup.archive_path, setup.folder(period, "summary"))
            shown = [p for p in result.paths if p.suffix in (".docx", ".md")]
            unmet = [f"未完成的目标任务：{'、'.join(result.unmet)}。"] if result.unmet else []
            return {"kind": "files", "files": [(p.name, self._url_of(period, p)) for p in shown],
                    "notes": [f"活动总结按第{result.period}期（最后一期）汇总数据生成。", *unmet, *result.notes]}

        def forms(job: Job) -> dict[str, Any]:
            bundle = pipeline.make_forms_bundle(config, period, out, setup.archive_path, progress=job.progress)
            return {"kind": "files", "files": [(p.name, self._url_of(period, p)) for _, p in bundle.zips],
                    "notes": [f"已生成第{period}期填报表 {len(bundle.forms.paths)} 份（每个单位一份，按市打包）。",
                              *bundle.forms.notes]}

        actions = {"inbox": ("收取服务器收件文件夹", inbox), "master": ("汇总", master), "brief": ("生成简报", brief),
                   "summary": ("生成总结", summary), "forms": ("生成填报表", forms), "undo": ("撤销上次收取", undo)}
        actions.update(self._mail_actions(config, period))
        return actions

    def _mail_actions(self, config: Config, period: int) -> dict[str, tuple[str, Callable[[Job], dict[str, Any]]]]:
        """收取邮箱 and 发送填报表/退回/催报, where config.yaml sets up the office mailbox."""
        setup, mail = self.setup, config.mail
        actions: dict[str, tuple[str, Callable[[Job], dict[str, Any]]]] = {}
        if mail and mail.imap:
            def fetch(job: Job) -> dict[str, Any]:
                fetched = pipeline.fetch_mail(config, period, setup.archive_path, setup.folder(period, "feedback"),
                                              progress=job.progress)
                return views.fetch_outcome(fetched, lambda path: self._url_of(period, path))
            actions["fetch"] = ("收取邮箱", fetch)
        if mail and mail.smtp:
            for kind in pipeline.SEND_KINDS:
                def send(job: Job, kind: str = kind) -> dict[str, Any]:
                    report = pipeline.send_mail(config, period, kind, setup.archive_path, setup.out / SENT_FOLDER,
                                                progress=job.progress)
                    return views.send_outcome(report)
                actions[f"send-{kind}"] = (f"发送{views.SEND_WORDS[kind]}", send)
        return actions

    async def job_page(self, request: Request, job_id: str):
        access, refusal = self.gate(request)
        if refusal is not None:
            return refusal
        job = self.jobs.get(job_id)
        if job is None:
            return self.message(request, access, "这项操作的记录已不在（服务器重启过）。请回到本期页面查看结果。", 404)
        config = self.configs.get()
        consolidation = self.consolidation(config, job.period)
        return self.render(request, access, "job.html", **self._common(config, consolidation, job.period, "job"),
                           job=job)

    async def job_state(self, request: Request, job_id: str):
        access, refusal = self.gate(request)
        if refusal is not None:
            return JSONResponse({"error": "请先登录"}, status_code=401)
        job = self.jobs.get(job_id)
        if job is None:
            return JSONResponse({"error": "没有这项操作"}, status_code=404)
        return JSONResponse(job.to_dict())


class _NoInbox(XfError):
    """The server's inbox folder for the period does not exist."""


def _as_json(response: Response) -> Response:
    status = response.status_code
    text = {401: "请先登录", 403: "已拒绝：请求来源无法确认，请刷新页面后重试"}.get(status, "请求未被接受")
    return JSONResponse({"error": text}, status_code=status)


def _local_path(target: str) -> str:
    """A redirect target of our own: a path on this server, never another site."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _entries(folder: Path) -> list[os.DirEntry]:
    """The regular files of a folder (no links, no sub-folders), by name."""
    try:
        with os.scandir(folder) as scan:
            return sorted((e for e in scan if e.is_file(follow_symlinks=False)), key=lambda e: e.name)
    except OSError:
        return []


def _file_names(folder: Path) -> set[str]:
    return {e.name for e in _entries(folder)}


def _newest(folder: Path, suffix: str) -> Optional[Path]:
    found = [e for e in _entries(folder) if e.name.endswith(suffix)]
    return Path(max(found, key=lambda e: e.stat().st_mtime).path) if found else None


def _count_files(folder: Path) -> Optional[int]:
    if not folder.is_dir():
        return None
    return sum(1 for p in folder.rglob("*") if p.is_file())
