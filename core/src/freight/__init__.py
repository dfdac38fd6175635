"""freight: move DVC-versioned data between a workspace and remote storage, without DVC.

The public surface: `Repo` and its verbs, their results, the errors, and `Callback`.
"""

from __future__ import annotations

from .callbacks import DEFAULT_CALLBACK, Callback, LoggingCallback
from .catalog import Catalog, Edge
from .errors import (
    CheckoutError,
    ConfigError,
    DiskError,
    FreightError,
    LinkError,
    MetafileError,
    NotARepoError,
    ObjectCorruptedError,
    ObjectNotFoundError,
    PartialFailureError,
    PathError,
    PlanError,
    RemoteError,
    RemoteNotFoundError,
    RepoLockedError,
    StalePlanError,
    TransferError,
    UnsavedChangesError,
)
from .model import Output, Stage
from .plans import TransferPlan
from .repo import Repo
from .results import (
    AddResult,
    ArtifactRef,
    CheckoutResult,
    CloudStatusResult,
    Failure,
    StatusResult,
    TransferResult,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_CALLBACK",
    "AddResult",
    "ArtifactRef",
    "Callback",
    "Catalog",
    "CheckoutError",
    "CheckoutResult",
    "CloudStatusResult",
    "ConfigError",
    "DiskError",
    "Edge",
    "Failure",
    "FreightError",
    "LinkError",
    "LoggingCallback",
    "MetafileError",
    "NotARepoError",
    "ObjectCorruptedError",
    "ObjectNotFoundError",
    "Output",
    "PartialFailureError",
    "PathError",
    "PlanError",
    "RemoteError",
    "RemoteNotFoundError",
    "Repo",
    "RepoLockedError",
    "Stage",
    "StalePlanError",
    "StatusResult",
    "TransferError",
    "TransferPlan",
    "TransferResult",
    "UnsavedChangesError",
    "__version__",
]
