"""A known secret, given in an overlay (or a config file), never shows anywhere.

Every verb runs through succeeding and failing paths against real servers (moto's S3 on
127.0.0.1, a read-only HTTP server, local folders). Everything a user, a log or a later
process could see is collected and searched: every exception (str, repr, args, traceback,
causes, a partial failure's result), all log records at DEBUG of every logger (freight's
and the backends'), progress lines, captured stdout/stderr (also at the file-descriptor
level, where native code writes), reprs of the repository, its config and every result,
`to_dict()` and `lineage()` of results, and every file below the test's directory (the
repositories with `.dvc/tmp`, the local remotes and HOME).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from freight import FreightError, LoggingCallback, PartialFailureError, Repo
from storage_servers import Server, free_port, make_bucket, s3_client
from workspaces import clone, workspace

SECRET = "Sup3r-S3cret-" + uuid.uuid4().hex
FILES = {"data/a.txt": b"a\n", "data/sub/b.txt": b"b\n", "solo.bin": b"solo"}
FREIGHT = [sys.executable, "-m", "freight"]
PROGRESS = logging.getLogger("freight.test.progress")


class Witness:
    """Collects everything that could be shown, to search it for the secret at the end."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def see(self, *things: Any) -> None:
        for thing in things:
            self.texts += [repr(thing), str(thing)]

    def exception(self, exc: BaseException) -> None:
        self.texts.append("".join(traceback.format_exception(exc)))
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            self.see(current, current.args)
            if isinstance(current, PartialFailureError):
                self.result(current.result)
            current = current.__cause__ or current.__context__

    def result(self, result: Any) -> None:
        self.see(result)
        if hasattr(result, "to_dict"):
            self.texts.append(json.dumps(result.to_dict(), default=repr))
        if hasattr(result, "lineage"):
            self.texts.append(json.dumps(result.lineage(), default=repr))

    def repo(self, repo: Repo) -> None:
        self.see(repo, repo.config, vars(repo), dict(repo.config.remotes), repo.config.raw)
        for remote in repo.config.remotes.values():
            self.see(remote)

    def ok(self, verb: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a verb that must succeed."""
        result = verb(*args, **kwargs)
        self.result(result)
        return result

    def fails(self, verb: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a verb that must fail, by a FreightError or a result reporting failures."""
        try:
            result = verb(*args, **kwargs)
        except FreightError as exc:
            self.exception(exc)
            return exc
        self.result(result)
        failed = getattr(result, "failed", ()) or getattr(result, "missing", ())
        checkout = getattr(result, "checkout", None)
        assert failed or (checkout is not None and checkout.failed), f"{verb} did not fail"
        return result

    def either(self, verb: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run a verb whose outcome is not the point (only what it shows is)."""
        try:
            self.result(verb(*args, **kwargs))
        except FreightError as exc:
            self.exception(exc)

    def fails_to_open(self, root: Path, overlay: dict[str, Any]) -> None:
        with pytest.raises(FreightError) as info:
            Repo(root, config=overlay)
        self.exception(info.value)


@pytest.fixture
def witness(
    tmp_path: Path,
    freight_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> Iterator[Witness]:
    """A Witness; on teardown, the secret is searched for in all it saw and more."""
    caplog.set_level(logging.DEBUG)
    seen = Witness()
    yield seen
    out, err = capfd.readouterr()
    logged = caplog.get_records("setup") + caplog.get_records("call")
    records = [f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text}" for r in logged]
    texts = {"collected": seen.texts, "stdout/stderr": [out, err], "log records": records}
    for where, items in texts.items():
        leaks = [item for item in items if SECRET in item]
        assert not leaks, f"the secret shows in {where}: {leaks[0][:2000]}"
    assert any(r.name == PROGRESS.name for r in logged)
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(".dvc/tmp" in p.as_posix() for p in files)
    leaked = [p for p in files if SECRET.encode() in p.read_bytes() and p.name != "config.local"]
    assert not leaked, f"the secret is written to {leaked}"


def progress(label: str) -> LoggingCallback:
    return LoggingCallback(PROGRESS, label, interval=0)


def s3_overlay(server: Server, bucket: str, **options: Any) -> dict[str, Any]:
    """An overlay-only remote `vault` (the default) holding the secret."""
    remote = {
        "url": f"s3://{bucket}/store",
        "endpointurl": server.endpoint,
        "access_key_id": "testing",
        "secret_access_key": SECRET,
        "region": "us-east-1",
        **options,
    }
    return {"core": {"remote": "vault"}, "remote": {"vault": remote}}


@pytest.mark.parametrize("extra", [{}, {"acl": "private"}], ids=["obstore", "s3fs"])
def test_succeeding_verbs_never_show_the_secret(
    tmp_path: Path, moto_s3: Server, witness: Witness, extra: dict[str, str]
) -> None:
    bucket = make_bucket(moto_s3)
    overlay = s3_overlay(moto_s3, bucket, **extra)
    src = workspace(tmp_path / "src", {**FILES, "extra.txt": b"extra"})
    with Repo(src, config=overlay) as repo:
        witness.repo(repo)
        witness.ok(repo.add, ["data", "solo.bin", "extra.txt"], callback=progress("add"))
        witness.ok(repo.status, callback=progress("status"))
        assert witness.ok(repo.status, cloud=True).changes
        plan = repo.plan("push", shards=2, callback=progress("plan"))
        witness.see(plan)
        for shard in plan.shards:  # as an orchestrator hands them on: through JSON
            witness.texts.append(json.dumps(shard))
            witness.ok(repo.push, shard=json.loads(json.dumps(shard)), callback=progress("shard"))
        assert witness.ok(repo.push, callback=progress("push")).ok
        assert witness.ok(repo.status, cloud=True).clean
        witness.ok(repo.fetch, callback=progress("fetch"))
        (src / "solo.bin").unlink()
        assert witness.ok(repo.checkout, callback=progress("checkout")).added == ("solo.bin",)
        (src / "extra.txt.dvc").unlink()
        gc = witness.ok(repo.gc, cloud=True)
        assert (gc.removed_cache, gc.removed_remote) == (1, 1)
    dest = clone(src, tmp_path / "dest")
    with Repo(dest, config=overlay) as repo:
        plan = repo.plan("fetch", shards=2)
        witness.see(plan)
        for shard in plan.shards:
            witness.texts.append(json.dumps(shard))
            witness.ok(repo.fetch, shard=shard, callback=progress("shard"))
        pulled = witness.ok(repo.pull, callback=progress("pull"))
        assert pulled.ok and pulled.checkout is not None
        witness.repo(repo)
    assert (dest / "data/sub/b.txt").read_bytes() == b"b\n"


def test_failing_verbs_never_show_the_secret(
    tmp_path: Path, moto_s3: Server, http_server: Server, witness: Witness
) -> None:
    bucket = make_bucket(moto_s3)
    overlay = s3_overlay(moto_s3, bucket)
    src = workspace(tmp_path / "src", FILES)
    with Repo(src, config=overlay) as repo:
        witness.ok(repo.add, ["data", "solo.bin"])
        witness.ok(repo.push)
        witness.fails(repo.update, ["solo.bin"])  # not a worktree remote
        witness.fails(repo.push, ["nowhere.txt"])
        witness.fails(repo.push, remote="nope")

    # objects lost on the remote: pull, fetch and status -c report them
    client = s3_client(moto_s3)
    for item in client.list_objects_v2(Bucket=bucket)["Contents"]:
        if not item["Key"].endswith(".dir"):
            client.delete_object(Bucket=bucket, Key=item["Key"])
    for extra in ({}, {"acl": "private"}):
        dest = clone(src, tmp_path / f"dest{len(extra)}")
        with Repo(dest, config=s3_overlay(moto_s3, bucket, **extra)) as repo:
            witness.fails(repo.pull, callback=progress("pull"))
            witness.fails(repo.fetch, ["solo.bin"])
            witness.ok(repo.status, cloud=True)
            witness.fails(repo.checkout)  # the lost objects are not in the cache either
            result = repo.checkout()
            witness.fails(result.raise_for_failures)

    # nothing listens at the endpoint
    closed = s3_overlay(moto_s3, bucket)
    closed["remote"]["vault"]["endpointurl"] = f"http://127.0.0.1:{free_port()}"
    with Repo(src, config=closed) as repo:
        witness.repo(repo)
        (src / "solo.bin").write_bytes(b"changed")
        witness.ok(repo.add, ["solo.bin"])
        witness.fails(repo.push, ["solo.bin"], callback=progress("push"))
        witness.fails(repo.status, ["solo.bin"], cloud=True)
        witness.fails(repo.gc, cloud=True)

    # a read-only HTTP remote with credentials, one in its URL's user info
    assert http_server.root is not None
    port = http_server.endpoint.rsplit(":", 1)[1]
    for n, (url, options) in enumerate(
        [
            (f"{http_server.endpoint}/{tmp_path.name}", {"user": "u", "password": SECRET}),
            (f"http://u:{SECRET}@127.0.0.1:{port}/{tmp_path.name}", {}),
        ]
    ):
        web = {"core": {"remote": "web"}, "remote": {"web": {"url": url, **options}}}
        with Repo(src, config=web) as repo:
            witness.repo(repo)
            witness.fails(repo.push)  # read-only
        with Repo(clone(src, tmp_path / f"web{n}"), config=web) as repo:
            witness.fails(repo.fetch, callback=progress("fetch"))  # nothing is there
            witness.ok(repo.status, cloud=True)


def test_import_and_update_failures_never_show_the_secret(
    tmp_path: Path, moto_s3: Server, witness: Witness, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = make_bucket(moto_s3)  # not versioned: imports are refused
    client = s3_client(moto_s3)
    client.put_object(Bucket=bucket, Key="src/file.txt", Body=b"x")
    src = workspace(tmp_path / "src", FILES)
    with Repo(src, config=s3_overlay(moto_s3, bucket)) as repo:
        witness.ok(repo.add, ["data", "solo.bin"], callback=progress("add"))
        # credentials in fs_config would be committed with the .dvc file: refused, unnamed
        fs_config = {"endpointurl": moto_s3.endpoint, "secret_access_key": SECRET}
        witness.fails(repo.import_url, f"s3://{bucket}/src/file.txt", fs_config=fs_config)
        # from the environment, as the README says; the bucket has no versioning
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        for url in (f"s3://{bucket}/src/file.txt", f"s3://{bucket}/missing"):
            witness.fails(repo.import_url, url, fs_config={"endpointurl": moto_s3.endpoint})
        witness.fails(repo.update, ["data"], remote="vault")
        repo.close()
        worktree = s3_overlay(moto_s3, bucket, worktree=True)
        with Repo(src, config=worktree) as versioned:
            witness.repo(versioned)
            witness.fails(versioned.push, callback=progress("push"))
            witness.fails(versioned.update, ["data"], callback=progress("update"))


@pytest.mark.parametrize(
    "options",
    [
        {"use_ssl": SECRET},
        {"jobs": SECRET},
        {"read_timeout": SECRET},
        {"secret_access_key": 12345, "password": SECRET},
        {"use_ssl": [SECRET, SECRET]},
        {"secret_access_key": {"nested": SECRET}},
        {"url": "foo://host/x", "secret_access_key": SECRET},
        {"url": None, "secret_access_key": SECRET},
    ],
    ids=["bool", "int", "int2", "extra-key", "list", "dict", "scheme", "no-url"],
)
def test_invalid_overlays_never_show_the_secret(
    tmp_path: Path, moto_s3: Server, witness: Witness, options: dict[str, Any]
) -> None:
    src = workspace(tmp_path / "src", {})
    overlay = s3_overlay(moto_s3, "bucket")
    overlay["remote"]["vault"].update(options)
    overlay["remote"]["vault"] = {k: v for k, v in overlay["remote"]["vault"].items() if v}
    witness.fails_to_open(src, overlay)
    PROGRESS.info("nothing to report")


def test_cli_never_shows_a_secret_from_config_local(
    tmp_path: Path, moto_s3: Server, freight_env: dict[str, str], witness: Witness
) -> None:
    bucket = make_bucket(moto_s3)
    src = workspace(tmp_path / "src", FILES)
    (src / ".dvc/config").write_text(
        "[core]\n    no_scm = true\n    remote = r\n"
        f"['remote \"r\"']\n    url = s3://{bucket}/store\n"
        f"    endpointurl = {moto_s3.endpoint}\n    access_key_id = testing\n"
        "    region = us-east-1\n"
        "['remote \"web\"']\n    url = http://127.0.0.1:1/x\n    user = u\n"
    )
    local = src / ".dvc/config.local"
    local.write_text(
        f"['remote \"r\"']\n    secret_access_key = {SECRET}\n"
        f"['remote \"web\"']\n    password = {SECRET}\n"
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*FREIGHT, *args], cwd=src, env=freight_env, capture_output=True, text=True
        )
        witness.texts += [proc.stdout, proc.stderr]
        return proc

    assert cli("add", "data", "solo.bin").returncode == 0
    assert cli("push").returncode == 0
    assert cli("status", "-c").returncode == 0
    for listing in (
        ["config", "-l"],
        ["config", "-l", "--show-origin"],
        ["config", "--local", "-l"],
        ["config", "remote.r.secret_access_key"],
        ["config", "--local", "remote.web.password"],
        ["remote", "list"],
        ["remote", "default"],
    ):
        proc = cli(*listing)
        assert proc.returncode == 0, proc.stderr
    assert "***" in cli("config", "remote.r.secret_access_key").stdout
    assert cli("push", "-r", "web").returncode != 0  # read-only
    cli("status", "-c", "-r", "web")  # nothing listens (fsspec's HTTP reads that as "absent")
    assert cli("remote", "modify", "r", "use_ssl", SECRET).returncode != 0
    assert cli("config", "remote.r.jobs", SECRET).returncode != 0
    closed = f"http://127.0.0.1:{free_port()}"
    assert cli("remote", "modify", "--local", "r", "endpointurl", closed).returncode == 0
    (src / "solo.bin").write_bytes(b"changed")
    assert cli("add", "solo.bin").returncode == 0
    assert cli("push").returncode != 0
    assert cli("status", "-c").returncode != 0
    assert SECRET in local.read_text()  # still there: it is the user's own file
    with Repo(src) as repo:  # and from the Python API, with the secret in the file
        witness.repo(repo)
        witness.ok(repo.status, callback=progress("status"))
        witness.fails(repo.push, callback=progress("push"))


def test_credentials_in_urls_never_reach_a_backend(
    tmp_path: Path, webdav: Server, witness: Witness
) -> None:
    """A password in a URL's user info is sent as basic auth, never inside a request URL
    (backends quote those in their errors); a wrong one fails without showing it."""
    src = workspace(tmp_path / "src", FILES)
    host = webdav.endpoint.split("://", 1)[1]
    good = f"webdav://test:test@{host}/{tmp_path.name}/store"
    with Repo(src, config={"remote": {"dav": {"url": good}}}) as repo:
        witness.ok(repo.add, ["data", "solo.bin"])
        assert witness.ok(repo.push, remote="dav", callback=progress("push")).ok
    for remote in (
        {"url": f"webdav://test:{SECRET}@{host}/{tmp_path.name}/other"},
        {"url": f"{webdav.endpoint}/{tmp_path.name}/other", "user": "test", "password": SECRET},
    ):
        with Repo(src, config={"remote": {"dav": remote}}) as repo:
            witness.repo(repo)
            witness.fails(repo.push, remote="dav", callback=progress("push"))
            witness.either(repo.status, cloud=True, remote="dav")
    closed = f"http://u:{SECRET}@127.0.0.1:{free_port()}/store"
    with Repo(clone(src, tmp_path / "dest"), config={"remote": {"web": {"url": closed}}}) as repo:
        witness.fails(repo.fetch, remote="web", callback=progress("fetch"))
