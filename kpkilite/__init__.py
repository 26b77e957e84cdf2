"""kpkilite: cluster PKI in pure Python (cfssl-compatible), Kubernetes CronJob
schedules and label selectors.

Importing the package is cheap: it loads no crypto backend and no domain
module. Import the module you need (``kpkilite.signing``, ``kpkilite.cron``,
``kpkilite.labels``, ...).
"""

from __future__ import annotations

from .errors import (
    BackendError,
    CSRSpecError,
    FileError,
    InputError,
    KpkiliteError,
    KpkiliteWarning,
    LabelError,
    PEMError,
    ScheduleError,
    SelectorError,
    SigningConfigError,
    SigningError,
)

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "CSRSpecError",
    "FileError",
    "InputError",
    "KpkiliteError",
    "KpkiliteWarning",
    "LabelError",
    "PEMError",
    "ScheduleError",
    "SelectorError",
    "SigningConfigError",
    "SigningError",
    "__version__",
]
