"""xf-excel: run a reporting campaign from Excel — forms out, returns in, checks,
consolidation county → city → region against targets, and the weekly briefing.

Stages as subpackages: config/ → intake/ → checks/ → archive/ → consolidate → outputs/ →
pipeline (the use cases) → fronts/ (cli, excel/) and demo/. The core never imports xlwings,
click or a web framework; the fronts are glue that calls only the pipeline.

The names below are loaded when first used (PEP 562): importing one stage — the reader
workers import `intake.safeguard` — must not pay for the config models (pydantic).
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING

__version__ = "0.1.0"

_HOMES = {
    "Config": ".config", "load_config": ".config",
    "XfError": ".errors", "ConfigError": ".errors", "IntakeError": ".errors", "RenderError": ".errors",
    "Issue": ".issues", "IssueCode": ".issues", "Severity": ".issues",
}

__all__ = [*_HOMES, "__version__"]

if _TYPE_CHECKING:
    from .config import Config, load_config
    from .errors import ConfigError, IntakeError, RenderError, XfError
    from .issues import Issue, IssueCode, Severity


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
