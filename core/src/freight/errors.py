"""The one exception hierarchy of freight.

    FreightError
    ├── NotARepoError
    ├── ConfigError (+ValueError)
    │   └── RemoteNotFoundError
    ├── MetafileError (+ValueError)        a .dvc / dvc.lock / .dir that cannot be used
    ├── PathError (+ValueError)            a target outside the repo or a forbidden name
    ├── ObjectNotFoundError (+FileNotFoundError)
    ├── ObjectCorruptedError               an object whose bytes do not match its oid
    ├── RemoteError                        a remote request failed (backend error as cause)
    ├── LinkError (+OSError)               no configured link type works
    ├── DiskError (+OSError)               a local write failed: disk full, permissions, ...
    ├── RepoLockedError                    another process holds the repo lock
    ├── GitError                           Git history was asked for and cannot be read
    ├── UnsavedChangesError                refusing to overwrite data that is not in the cache
    ├── PlanError (+ValueError)            a transfer plan or shard that cannot be used
    │   └── StalePlanError                 the workspace changed since the plan was made
    └── PartialFailureError (result)       some items of an operation failed
        ├── CheckoutError
        └── TransferError                  some objects failed to upload/download

Messages are meant for users: the CLI prints ``str(err)`` without a traceback, so every
message names the file or object concerned and, where there is one, the remedy.
"""

from __future__ import annotations

import contextlib
import errno
import re
from collections.abc import Iterator
from typing import Any

#: `scheme://user:password@` in a backend's message
_USERINFO = re.compile(r"(\w+://)[^/\s@]+:[^/\s@]*@")


class FreightError(Exception):
    """Root of every error freight raises on purpose."""

    #: process exit code the CLI uses for this error (DVC's codes where DVC has one)
    exit_code = 255


class NotARepoError(FreightError):
    """No `.dvc` directory was found at or above the given path."""

    exit_code = 253


class ConfigError(FreightError, ValueError):
    """A config file or option is invalid, or a config write was refused."""

    exit_code = 251


class RemoteNotFoundError(ConfigError):
    """A remote name is not defined, or no default remote is set."""


class MetafileError(FreightError, ValueError):
    """A `.dvc`, `dvc.yaml`, `dvc.lock` or `.dir` object cannot be used."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class PathError(FreightError, ValueError):
    """A target is outside the repository, not tracked, or has a name freight refuses."""


class ObjectNotFoundError(FreightError, FileNotFoundError):
    """An object is not in the cache (or on the remote)."""


class ObjectCorruptedError(FreightError):
    """An object's bytes do not hash to its oid."""

    def __init__(self, oid: str, actual: str, where: str) -> None:
        super().__init__(f"object {oid} is corrupted in {where} (its content hashes to {actual})")
        self.oid = oid
        self.actual = actual
        self.where = where


class RemoteError(FreightError):
    """A remote operation failed; `__cause__` holds the backend's exception."""

    exit_code = 1

    def __init__(self, url: str, key: str, cause: BaseException) -> None:
        # backends put multi-line debug dumps in their messages: keep the first line
        detail = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        scrubbed = _USERINFO.sub(r"\1***@", detail)
        super().__init__(
            f"{redact_url(url)}/{key}: {scrubbed}" if key else f"{redact_url(url)}: {scrubbed}"
        )
        self.url = redact_url(url)
        self.key = key
        # a backend message that quotes credentials in a URL is not kept, even as a cause
        self.__cause__ = cause if scrubbed == detail and not _USERINFO.search(str(cause)) else None


class LinkError(FreightError, OSError):
    """None of the configured link types can create a workspace file."""


class DiskError(FreightError, OSError):
    """A local file operation failed: the disk is full, a permission is missing, too many
    files are open. Writes are atomic, so nothing partial was left under a final name."""

    exit_code = 1

    @classmethod
    def of(cls, exc: OSError) -> DiskError:
        """One line naming the file and the remedy, instead of a traceback."""
        what = exc.strerror or type(exc).__name__
        where = f": '{exc.filename}'" if exc.filename else ""
        remedy = _REMEDIES.get(exc.errno or 0, "")
        err = cls(f"{what}{where}{remedy}")
        err.errno, err.filename = exc.errno, exc.filename
        return err

    def __str__(self) -> str:  # OSError's would prefix "[Errno N]" once errno is set
        return str(self.args[0]) if self.args else ""

    @property
    def stops_run(self) -> bool:
        """Whether every other file of the run would fail the same way (the disk is full,
        the filesystem read-only, no file descriptor left): a batch stops at the first one
        and reports it alone, instead of one line per remaining file."""
        return self.errno in SYSTEMIC

    def about(self, what: str) -> DiskError:
        """This error with `what` (the item that failed) in front of its message."""
        err = DiskError(f"{what}: {self}")
        err.errno, err.filename = self.errno, self.filename
        return err


_REMEDIES = {
    errno.ENOSPC: " (free some space, then run the command again)",
    errno.EDQUOT: " (the disk quota is used up; free some space, then run the command again)",
    errno.EMFILE: " (too many open files: raise `ulimit -n` or lower --jobs)",
    errno.ENFILE: " (the system's open-file table is full: lower --jobs)",
    errno.EACCES: " (permission denied: check the owner and mode of that path)",
    errno.EROFS: " (the filesystem is read-only)",
    errno.EFBIG: " (the file-size limit was reached: see `ulimit -f`)",
}
#: errors of a local file operation that every other file of the run would hit too
SYSTEMIC = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE, errno.EROFS, errno.EACCES, errno.EPERM}
)


@contextlib.contextmanager
def disk_errors() -> Iterator[None]:
    """Turn a stray OSError from local file operations into a DiskError."""
    try:
        yield
    except FreightError:
        raise
    except OSError as exc:
        raise DiskError.of(exc) from exc


class GitError(FreightError):
    """Git history was asked for (`-a/-T/-A`) and cannot be read."""


class RepoLockedError(FreightError):
    """Another freight or DVC process holds the repository lock."""


class UnsavedChangesError(FreightError):
    """An operation would overwrite or delete workspace data that is not in the cache."""

    def __init__(self, paths: list[str]) -> None:
        lines = "\n".join(paths)
        super().__init__(
            "Can't remove the following unsaved files without confirmation. "
            f"Use `--force` to force.\n{lines}"
        )
        self.paths = paths


class PlanError(FreightError, ValueError):
    """A transfer plan cannot be made, or a shard dict is malformed, foreign or misused."""


class StalePlanError(PlanError):
    """The outputs or the remote a shard was planned for changed: plan again. Raised before
    anything moves."""


def redact_url(url: str) -> str:
    """`url` without any password in its user-info part (never print secrets)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, _, host = rest.partition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in userinfo else url


class PartialFailureError(FreightError):
    """Some items failed; ``result`` holds what succeeded and what did not."""

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result


class CheckoutError(PartialFailureError):
    """Some outputs could not be checked out (for example, objects missing from the cache)."""


class TransferError(PartialFailureError):
    """Some objects failed to upload or download (see `result.failed`)."""

    exit_code = 1
