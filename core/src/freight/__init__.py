"""freight: move DVC-versioned data between a workspace and remote storage, without DVC.

The public surface: `Repo` and its verbs, their results, the errors, and `Callback`.

Every name is imported on first use (PEP 562), so `import freight` and the command line's
`--version` and `--help` do not pay for YAML, config parsing and the transfer machinery.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # as `typing.TYPE_CHECKING`, without importing typing (~5 ms)
if TYPE_CHECKING:
    from typing import Any

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

# The submodule defining each public name (errors unless listed).
_HOMES = {
    "DEFAULT_CALLBACK": "callbacks",
    "Callback": "callbacks",
    "LoggingCallback": "callbacks",
    "Catalog": "catalog",
    "Edge": "catalog",
    "Output": "model",
    "Stage": "model",
    "TransferPlan": "plans",
    "Repo": "repo",
    "AddResult": "results",
    "ArtifactRef": "results",
    "CheckoutResult": "results",
    "CloudStatusResult": "results",
    "Failure": "results",
    "StatusResult": "results",
    "TransferResult": "results",
}


if not TYPE_CHECKING:  # hidden from type checkers, which see the imports above instead

    def __getattr__(name: str) -> Any:
        if name not in __all__ or name == "__version__":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(f".{_HOMES.get(name, 'errors')}", __name__), name)
        globals()[name] = value  # later look-ups skip this hook
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
