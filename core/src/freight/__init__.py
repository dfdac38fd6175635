"""freight: move DVC-versioned data between a workspace and remote storage, without DVC.

The public surface: `Repo` and its verbs, their results, the errors, and `Callback`.
"""

from __future__ import annotations

from .callbacks import DEFAULT_CALLBACK, Callback, LoggingCallback
from .errors import (
    CheckoutError,
    ConfigError,
    FreightError,
    LinkError,
    MetafileError,
    NotARepoError,
    ObjectCorruptedError,
    ObjectNotFoundError,
    PartialFailureError,
    PathError,
    RemoteError,
    RemoteNotFoundError,
    RepoLockedError,
    TransferError,
    UnsavedChangesError,
)
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
    "CheckoutError",
    "CheckoutResult",
    "CloudStatusResult",
    "ConfigError",
    "Failure",
    "FreightError",
    "LinkError",
    "LoggingCallback",
    "MetafileError",
    "NotARepoError",
    "ObjectCorruptedError",
    "ObjectNotFoundError",
    "PartialFailureError",
    "PathError",
    "RemoteError",
    "RemoteNotFoundError",
    "Repo",
    "RepoLockedError",
    "StatusResult",
    "TransferError",
    "TransferResult",
    "UnsavedChangesError",
    "__version__",
]
