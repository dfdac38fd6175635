"""Which task failures are worth retrying: the default `retry_condition_fn` of the tasks.

A remote request that failed (a dropped connection, a throttled request, a server error),
some objects that failed to move (transfers are idempotent: a retry moves only what is
still missing) and a repository lock held by another process may pass on their own.
Everything else fails the same way every time, and is not retried: bad config or
arguments, unreadable metafiles, objects that exist nowhere, a remote request whose cause
is a missing path or a refused permission. (Per-object failures carry only a class name and
a message, so a push to a bucket that does not exist, where every object fails, is retried.)
"""

from __future__ import annotations

from typing import Any

import freight
from prefect.tasks import exponential_backoff

#: the tasks' default retry settings: 2 retries, 5 s then 10 s later
RETRIES = 2
RETRY_DELAYS = exponential_backoff(backoff_factor=5)


def is_transient(exc: BaseException) -> bool:
    """True for failures that a later attempt may not meet."""
    if isinstance(exc, freight.RemoteError):
        return not isinstance(exc.__cause__, FileNotFoundError | PermissionError)
    return isinstance(exc, freight.TransferError | freight.RepoLockedError)


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's `retry_condition_fn`: retry a failed run only for a transient error."""
    exc = state.data
    return isinstance(exc, BaseException) and is_transient(exc)
