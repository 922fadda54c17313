"""xf-excel: run a reporting campaign from Excel — forms out, returns in, checks,
consolidation county → city → region against targets, and the weekly briefing.

The core (config, forms, intake, validate, store, consolidate, master, report, pipeline)
never imports xlwings, click or a web framework; the fronts (cli, xl, server) are glue.
"""

from .config import Config, load_config
from .errors import ConfigError, IntakeError, RenderError, XfError
from .issues import Issue, IssueCode, Severity, ValidationResult

__version__ = "0.1.0"

__all__ = [
    "Config", "load_config", "XfError", "ConfigError", "IntakeError", "RenderError",
    "Issue", "IssueCode", "Severity", "ValidationResult", "__version__",
]
