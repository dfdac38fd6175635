"""The `remote` and `credentials` arguments of every task, as a `freight.Repo` and a remote.

`remote` is one of:

- None: the repository's default remote;
- a `FreightRemote` block: its URL, options and secrets become an in-memory remote, made
  the default;
- a string: a remote of the repository's config if the config has one of that name,
  otherwise the name of a saved `FreightRemote` block.

`credentials` (optional) is a credential block users already have (prefect-aws,
prefect-gcp, prefect-azure; see `prefect_freight.credentials`); its options complete the
remote chosen above. Nothing here is ever written to disk.
"""

from __future__ import annotations

from typing import Any, cast

import freight
from prefect.blocks.core import Block

from prefect_freight.blocks import FreightRemote
from prefect_freight.credentials import remote_options

RemoteArg = str | FreightRemote | None


def open_repo(
    repo_path: str, remote: RemoteArg = None, credentials: Block | None = None
) -> tuple[freight.Repo, str | None]:
    """The repository with the overlay `remote`/`credentials` stand for, and the name of
    the remote to pass to its verbs (None: the default). Close the repository after use.

    Raises ValueError (one line, naming the problem, never a secret) for a remote or
    credentials that cannot be used; `freight.ConfigError` for an invalid option.
    """
    try:
        return _open(repo_path, remote, credentials)
    except freight.NotARepoError as exc:  # the core's message does not name the path
        raise freight.NotARepoError(f"{repo_path}: {exc}") from None


def _open(
    repo_path: str, remote: RemoteArg, credentials: Block | None
) -> tuple[freight.Repo, str | None]:
    block = _block(repo_path, remote)
    overlay: dict[str, Any] = block.overlay() if block is not None else {}
    name = block.remote_name if block is not None else remote
    if credentials is not None:
        options = remote_options(credentials)
        if name is None:
            name = _default_remote(repo_path)
        assert isinstance(name, str)
        section = overlay.setdefault("remote", {}).setdefault(name.lower(), {})
        section.update(options)
    repo = freight.Repo(repo_path, config=overlay or None)
    return repo, name if isinstance(name, str) else None


def _block(repo_path: str, remote: RemoteArg) -> FreightRemote | None:
    if remote is None or isinstance(remote, FreightRemote):
        return remote
    if not isinstance(remote, str) or not remote:
        raise ValueError(
            "remote must be a remote's name, a FreightRemote block or a block name, "
            f"not {type(remote).__name__}"
        )
    with freight.Repo(repo_path) as repo:
        if remote.lower() in repo.config.remotes:
            return None
    try:
        return cast(FreightRemote, FreightRemote.load(remote))  # sync: tasks are sync
    except ValueError:
        raise ValueError(
            f"remote '{remote}' is neither a remote of {repo_path}'s config nor a saved "
            "FreightRemote block"
        ) from None


def _default_remote(repo_path: str) -> str:
    with freight.Repo(repo_path) as repo:
        name = repo.default_remote
    if name is None:
        raise ValueError(
            f"credentials need a remote to apply to: {repo_path} has no default remote; "
            "pass remote= (a remote's name or a FreightRemote block)"
        )
    return name
