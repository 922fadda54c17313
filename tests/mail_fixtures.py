"""Test helpers for mail: a campaign whose units all have mailboxes, pointed at local servers."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import yaml

from xf_excel.config import Config, Contact, ImapSettings, MailSettings, SmtpSettings

OFFICE = "xfyb@example.gov.cn"
PASSWORD = "办公室-s3cret"
LOOPBACK = "127.0.0.1"


def unit_address(code: str) -> str:
    return f"fpb{code.lower()}@units.example.gov.cn"


def all_units_report(config: Config) -> Config:
    """The campaign with every one of the 16 member units reporting (127 units: 111 + 16), as
    the issue's office sends 127 forms."""
    data = config.model_dump(mode="json")
    members = [m["code"] for m in data["member_units"]]
    zones = next(i for i in data["indicators"] if i["id"] == "zones_online")
    zones["reported_by"]["units"] = members
    return _validated(data, config)


def with_mail(config: Config, *, ca_file: Optional[Path], smtp_port: Optional[int] = None,
              imap_port: Optional[int] = None, security: str = "tls", contacts: bool = True,
              **mail: object) -> Config:
    """The campaign with the office mailbox on loopback and (by default) a contact for every unit."""
    settings = MailSettings(
        address=OFFICE, ca_file=str(ca_file) if ca_file else None, timeout=20,
        smtp=SmtpSettings(host=LOOPBACK, port=smtp_port, security=security) if smtp_port else None,
        imap=ImapSettings(host=LOOPBACK, port=imap_port, security=security) if imap_port else None, **mail)
    update: dict = {"mail": settings}
    if contacts:
        update["contacts"] = {u.code: Contact(email=[unit_address(u.code)], person="张三" if u.kind == "county" else "")
                              for u in config.reporting_units()}
    return config.model_copy(update=update)


def write_config(config: Config, path: Path) -> Path:
    """config.yaml of this campaign, for a CLI run in a subprocess."""
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_none=True), allow_unicode=True),
                    encoding="utf-8")
    return path


def _validated(data: dict, config: Config) -> Config:
    fresh = Config.model_validate(data)
    fresh._folder = config.folder
    return fresh
