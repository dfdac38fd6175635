"""`FreightResource`: a repository and its remote, as Dagster configuration.

The resource turns its fields into the in-memory config overlay of `freight.Repo` (DVC's
option names; validated by the core like a config file, never written), so credentials
filled from `dg.EnvVar(...)` go from Dagster's environment to the core and nowhere else:
Dagster stores an `EnvVar` field as the variable's name, not its value. Each verb opens
the repository, makes one call to the core and returns the core's result.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal
from urllib.parse import urlsplit

import dagster as dg
import freight
from pydantic import Field

#: the DVC options `login`/`password` stand for, per URL scheme ("" = a local folder)
CREDENTIAL_OPTIONS: Mapping[str, tuple[str, str]] = {
    "s3": ("access_key_id", "secret_access_key"),
    "azure": ("account_name", "account_key"),
    "az": ("account_name", "account_key"),
    "oss": ("oss_key_id", "oss_key_secret"),
    **{s: ("user", "password") for s in ("ssh", "sftp", "http", "https", "webdav", "webdavs")},
    "webhdfs": ("user", "password"),
}
#: the remote's name in the overlay when only `remote_url` is given
DEFAULT_NAME = "freight"
Targets = Sequence[str] | None


class FreightResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """A freight repository and the remote its verbs use.

    Give either `remote` (a remote of the repository's own config, which `remote_url`,
    `remote_options` and the credentials may complete) or `remote_url` alone (a remote
    defined only here); with neither, the repository's default remote. Fill `login` and
    `password` from `dg.EnvVar(...)`.
    """

    repo_path: str = Field(description="The DVC repository (its root or any path inside).")
    remote: str | None = Field(
        default=None, description="A remote of the repository's config (default: its default)."
    )
    remote_url: str | None = Field(
        default=None,
        description="The remote's URL (s3://bucket/path, a local folder, ...), defined in memory.",
    )
    remote_options: dict[str, str] = Field(
        default_factory=dict,
        description="Other DVC remote options under DVC's names (endpointurl, region, jobs).",
    )
    login: str | None = Field(
        default=None,
        description="S3 access key id, Azure account name, or SSH/WebDAV/HTTP user (EnvVar).",
    )
    password: str | None = Field(
        default=None,
        description="S3 secret access key, Azure account key, or SSH/WebDAV/HTTP password "
        "(EnvVar).",
    )
    jobs: int | None = Field(default=None, description="Parallel requests to the remote.")

    @property
    def remote_name(self) -> str | None:
        """The remote the verbs use (None: the repository's default)."""
        if self.remote:
            return self.remote.lower()
        return DEFAULT_NAME if self.remote_url else None

    def overlay(self) -> dict[str, Any]:
        """The `config=` of `freight.Repo`: this resource's remote, options and credentials."""
        options: dict[str, Any] = dict(self.remote_options)
        if self.remote_url:
            options["url"] = self.remote_url
        options.update(self._credentials())
        name = self.remote_name
        if name is None:
            if not options:
                return {}
            name = self._default_remote()
        overlay: dict[str, Any] = {"remote": {name: options}}
        if self.remote_url:
            overlay["core"] = {"remote": name}
        return overlay

    def _credentials(self) -> dict[str, str]:
        if not (self.login or self.password):
            return {}
        scheme = self._scheme()
        if scheme not in CREDENTIAL_OPTIONS:
            raise freight.ConfigError(
                f"a '{scheme or 'local'}' remote takes no login/password: give its options "
                "in remote_options, under DVC's names"
            )
        user, secret = CREDENTIAL_OPTIONS[scheme]
        found = {user: self.login, secret: self.password}
        return {key: value for key, value in found.items() if value}

    def _scheme(self) -> str:
        url = self.remote_url
        if not url:
            with freight.Repo(self.repo_path) as repo:
                url = repo.config.remote(self.remote_name).url
        return urlsplit(url).scheme.lower() if "://" in url else ""

    def _default_remote(self) -> str:
        with freight.Repo(self.repo_path) as repo:
            name = repo.default_remote
        if name is None:
            raise freight.RemoteNotFoundError(
                f"'{self.repo_path}' has no default remote: set remote or remote_url"
            )
        return name

    @contextmanager
    def open(self) -> Iterator[freight.Repo]:
        """The repository with this resource's overlay (closed on exit)."""
        with freight.Repo(self.repo_path, config=self.overlay()) as repo:
            yield repo

    def catalog(self) -> freight.Catalog:
        """The project's outputs, stages and edges, from its metafiles alone."""
        with freight.Repo(self.repo_path) as repo:
            return repo.catalog()

    def add(self, targets: Sequence[str], *, label: str = "add") -> freight.AddResult:
        with self.open() as repo:
            return repo.add(targets, callback=progress(label))

    def push(
        self, targets: Targets = None, *, shard: Mapping[str, Any] | None = None
    ) -> freight.TransferResult:
        """Upload what the remote lacks (`shard`: exactly one shard of a plan)."""
        with self.open() as repo:
            if shard is not None:
                return repo.push(shard=shard, jobs=self.jobs, callback=progress("push shard"))
            return repo.push(
                targets, remote=self.remote_name, jobs=self.jobs, callback=progress("push")
            )

    def fetch(
        self, targets: Targets = None, *, shard: Mapping[str, Any] | None = None
    ) -> freight.TransferResult:
        """Download what the cache lacks (`shard`: exactly one shard of a plan)."""
        with self.open() as repo:
            if shard is not None:
                return repo.fetch(shard=shard, jobs=self.jobs, callback=progress("fetch shard"))
            return repo.fetch(
                targets, remote=self.remote_name, jobs=self.jobs, callback=progress("fetch")
            )

    def pull(self, targets: Targets = None, *, force: bool = False) -> freight.TransferResult:
        """`fetch`, then `checkout` of the same targets."""
        with self.open() as repo:
            return repo.pull(
                targets,
                remote=self.remote_name,
                jobs=self.jobs,
                force=force,
                callback=progress("pull"),
            )

    def checkout(self, targets: Targets = None, *, force: bool = False) -> freight.CheckoutResult:
        with self.open() as repo:
            return repo.checkout(targets, force=force, callback=progress("checkout"))

    def status(self, targets: Targets = None) -> freight.StatusResult:
        """Workspace vs metafiles vs cache."""
        with self.open() as repo:
            return repo.status(targets)

    def cloud_status(self, targets: Targets = None) -> freight.CloudStatusResult:
        """Cache vs the remote: which objects it lacks."""
        with self.open() as repo:
            return repo.cloud_status(targets, remote=self.remote_name, jobs=self.jobs)

    def plan(
        self, direction: Literal["push", "fetch"], targets: Targets, *, shards: int
    ) -> freight.TransferPlan:
        """What a push/fetch of `targets` must move, split into `shards` JSON-safe shards."""
        with self.open() as repo:
            return repo.plan(
                direction, targets, remote=self.remote_name, shards=shards, jobs=self.jobs
            )


def progress(label: str) -> freight.LoggingCallback:
    """Throttled progress lines in the run log (`pull: 120/400 files (30%), ...`)."""
    return freight.LoggingCallback(dg.get_dagster_logger(), label)
