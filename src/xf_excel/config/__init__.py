"""The campaign as configuration: config.yaml's models (`models`) and the rule expression
language its rules, computed indicators and targets are written in (`expr`).

The models are re-exported here, since every stage speaks of `Config`, `Unit`, `Indicator`…
"""

from . import expr
from .models import *  # noqa: F403 - the models are this package's vocabulary
from .models import __all__ as _models

__all__ = ["expr", *_models]
