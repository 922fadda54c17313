"""xf-excel: run a reporting campaign from Excel — forms out, returns in, checks,
consolidation county → city → region against targets, and the weekly briefing.

Stages as subpackages: config/ → intake/ → checks/ → archive/ → consolidate → outputs/ →
pipeline (the use cases) → fronts/ (cli, excel/) and demo/. The core never imports xlwings,
click or a web framework; the fronts are glue that calls only the pipeline.
"""

from .config import Config, load_config
from .errors import ConfigError, IntakeError, RenderError, XfError
from .issues import Issue, IssueCode, Severity

__version__ = "0.1.0"

__all__ = [
    "Config", "load_config", "XfError", "ConfigError", "IntakeError", "RenderError",
    "Issue", "IssueCode", "Severity", "__version__",
]
