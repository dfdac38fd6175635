"""Version-aware and worktree remotes on real servers with object versioning: moto (S3)
and fake-gcs-server (GCS generations). azurite has no blob versioning, so freight refuses
version-aware Azure remotes (tested below) instead of shipping an untested path."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conformance.test_remotes import _configure
from freight import Repo
from freight.errors import ConfigError
from freight.metafiles import read_dvcfile
from storage_servers import Server, make_bucket, make_gcs_bucket, s3_client

FILES = {"foo.txt": b"foo\n", "d/a.txt": b"a\n", "d/sub/b.txt": b"b\n"}
Setup = Callable[[Path], None]


def _remote(url: str, options: dict[str, str], secrets: dict[str, str]) -> Setup:
    return _configure(url, options, secrets, name="va")


def _s3(server: Server, bucket: str, **extra: str) -> Setup:
    opts = {k: v for k, v in server.dvc_options.items() if "key" not in k}
    secrets = {k: v for k, v in server.dvc_options.items() if "key" in k}
    return _remote(f"s3://{bucket}/proj", {**opts, **extra}, secrets)


@pytest.fixture(params=["s3", "gcs"])
def versioned(
    request: pytest.FixtureRequest, moto_s3: Server, fake_gcs: Server
) -> tuple[str, Setup]:
    """(kind, setup) for a versioned bucket with a `version_aware` remote `va`."""
    if request.param == "s3":
        return "s3", _s3(moto_s3, make_bucket(moto_s3, versioned=True), version_aware="true")
    bucket = make_gcs_bucket(fake_gcs, versioned=True)
    return "gcs", _remote(
        f"gs://{bucket}/proj",
        {**fake_gcs.dvc_options, "version_aware": "true"},
        {},
    )


def workspace(root: Path, setup: Setup, files: dict[str, bytes]) -> Repo:
    Repo.init(root, no_scm=True).close()
    setup(root)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return Repo(root)


def clone(src: Path, dest: Path, setup: Setup, metafiles: dict[str, bytes] | None = None) -> Repo:
    """A fresh workspace holding `src`'s metafiles (or the given old ones), and no data."""
    repo = workspace(dest, setup, {})
    for name in ("foo.txt.dvc", "d.dvc"):
        data = metafiles[name] if metafiles else (src / name).read_bytes()
        (dest / name).write_bytes(data)
    return repo


def test_push_records_versions_and_old_commits_pull_old_bytes(
    tmp_path: Path, versioned: tuple[str, Setup]
) -> None:
    kind, setup = versioned
    src = workspace(tmp_path / "src", setup, FILES)
    src.add(["foo.txt", "d"])
    pushed = src.push()
    assert (pushed.ok, pushed.transferred) == (True, 3)
    text = (tmp_path / "src/foo.txt.dvc").read_text()
    assert "cloud:\n    va:\n      etag: d3b07384d113edec49eaa6238ad5ff00\n" in text
    d = (tmp_path / "src/d.dvc").read_text()
    assert "files:\n  - relpath: a.txt\n    md5: 60b725f10c9c85c70d97880dfe8191b3\n" in d
    assert "nfiles" not in d and ".dir" not in d
    lineage = pushed.lineage()
    assert set(lineage["d"]["versions"]) == {"a.txt", "sub/b.txt"}
    assert lineage["foo.txt"]["version_id"]
    old = {n: (tmp_path / "src" / n).read_bytes() for n in ("foo.txt.dvc", "d.dvc")}

    again = src.push()  # nothing changed: nothing sent, metafiles untouched
    assert (again.transferred, again.skipped) == (0, 3)
    assert {n: (tmp_path / "src" / n).read_bytes() for n in old} == old
    assert src.status(cloud=True).clean

    (tmp_path / "src/foo.txt").write_bytes(b"foo v2\n")  # a new commit, pushed
    src.add(["foo.txt"])
    assert src.push().transferred == 1
    assert (tmp_path / "src/foo.txt.dvc").read_bytes() != old["foo.txt.dvc"]
    _delete_current(kind, tmp_path / "src", "d/a.txt")  # and someone deletes a file

    dest = clone(tmp_path / "src", tmp_path / "old", setup, old)  # a clone of the old commit
    pulled = dest.pull()
    assert pulled.ok, (pulled.failed, pulled.missing)
    assert pulled.transferred == 3
    for rel, data in FILES.items():
        assert (tmp_path / "old" / rel).read_bytes() == data
    assert dest.status().clean
    assert {n: (tmp_path / "old" / n).read_bytes() for n in old} == old


def _delete_current(kind: str, root: Path, rel: str) -> None:
    with Repo(root) as repo:
        storage = repo._open_versioned(None, None)
        assert storage is not None
        storage.storage.delete(f"{rel}")


def test_bucket_without_versioning_is_refused_before_any_upload(
    tmp_path: Path, moto_s3: Server
) -> None:
    bucket = make_bucket(moto_s3)
    repo = workspace(tmp_path / "w", _s3(moto_s3, bucket, version_aware="true"), FILES)
    repo.add(["foo.txt"])
    before = (tmp_path / "w/foo.txt.dvc").read_bytes()
    with pytest.raises(ConfigError, match="versioning could not be detected"):
        repo.push()
    assert (tmp_path / "w/foo.txt.dvc").read_bytes() == before
    assert s3_client(moto_s3).list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def pushed(tmp_path: Path, server: Server, **mode: str) -> tuple[str, Setup, Repo]:
    """A versioned bucket and a workspace whose FILES were added and pushed to it."""
    bucket = make_bucket(server, versioned=True)
    setup = _s3(server, bucket, **mode)
    src = workspace(tmp_path / "src", setup, FILES)
    src.add(["foo.txt", "d"])
    assert src.push().ok
    return bucket, setup, src


def test_lost_version_and_wrong_bytes_fail_only_their_files(
    tmp_path: Path, moto_s3: Server
) -> None:
    bucket, setup, src = pushed(tmp_path, moto_s3, version_aware="true")
    client = s3_client(moto_s3)
    listed = client.list_object_versions(Bucket=bucket, Prefix="proj/foo.txt")["Versions"]
    client.delete_object(Bucket=bucket, Key="proj/foo.txt", VersionId=listed[0]["VersionId"])
    d = (tmp_path / "src/d.dvc").read_text()  # a.txt's entry now claims other bytes
    d = d.replace("60b725f10c9c85c70d97880dfe8191b3", "ffffffffffffffffffffffffffffffff")
    (tmp_path / "src/d.dvc").write_text(d)

    dest = clone(tmp_path / "src", tmp_path / "dest", setup)
    pulled = dest.pull()
    assert not pulled.ok
    reasons = {f.path: f.kind for f in pulled.failed}
    assert reasons == {"foo.txt": "ObjectNotFoundError", "d/a.txt": "ObjectCorruptedError"}
    assert (tmp_path / "dest/d/sub/b.txt").read_bytes() == b"b\n"  # the rest still arrives
    assert not (tmp_path / "dest/foo.txt").exists()
    assert not (tmp_path / "dest/d/a.txt").exists()
    assert src.cloud_status(["foo.txt"]).changes == {"foo.txt": "new"}


def test_entries_without_versions_are_reported_not_fetched(tmp_path: Path, moto_s3: Server) -> None:
    setup = _s3(moto_s3, make_bucket(moto_s3, versioned=True), version_aware="true")
    src = workspace(tmp_path / "src", setup, FILES)
    src.add(["foo.txt", "d"])  # committed, never pushed
    dest = clone(tmp_path / "src", tmp_path / "dest", setup)
    fetched = dest.fetch()
    assert fetched.transferred == 0
    assert {m.path for m in fetched.missing} == {"foo.txt", "d"}
    assert "missing cloud version information" in fetched.missing[0].message


def test_worktree_push_mirrors_deletions_without_destroying_versions(
    tmp_path: Path, moto_s3: Server
) -> None:
    bucket = make_bucket(moto_s3, versioned=True)
    setup = _s3(moto_s3, bucket, worktree="true")
    src = workspace(tmp_path / "src", setup, FILES)
    src.add(["d"])
    assert src.push().ok
    old = (tmp_path / "src/d.dvc").read_bytes()
    (tmp_path / "src/d/sub/b.txt").unlink()
    src.add(["d"])
    assert src.push().ok
    client = s3_client(moto_s3)
    current = {o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert current == {"proj/d/a.txt"}  # the remote mirrors the workspace
    dest = clone(tmp_path / "src", tmp_path / "dest", setup, {"d.dvc": old, "foo.txt.dvc": b""})
    (tmp_path / "dest/foo.txt.dvc").unlink()
    assert dest.pull().ok  # the old commit still gets b.txt: its version was kept
    assert (tmp_path / "dest/d/sub/b.txt").read_bytes() == b"b\n"


def test_refusals(tmp_path: Path, moto_s3: Server, azurite: Server) -> None:
    setup = _s3(moto_s3, make_bucket(moto_s3, versioned=True), version_aware="true")
    repo = workspace(tmp_path / "w", setup, FILES)
    repo.add(["foo.txt"])
    with pytest.raises(ConfigError, match="Multiple rev push is unsupported"):
        repo.push(all_branches=True)
    with pytest.raises(ConfigError, match="'gc -c' is unsupported"):
        repo.gc(cloud=True)
    shutil.rmtree(tmp_path / "w")
    az = _remote("azure://c/proj", {"version_aware": "true"}, azurite.dvc_options)
    repo = workspace(tmp_path / "w", az, FILES)
    repo.add(["foo.txt"])
    with pytest.raises(ConfigError, match="supported on s3:// and gs://"):
        repo.push()


def test_update_records_and_fetches_the_worktree_remotes_current_state(
    tmp_path: Path, moto_s3: Server
) -> None:
    bucket, setup, src = pushed(tmp_path, moto_s3, worktree="true")
    client = s3_client(moto_s3)  # the bucket changes behind freight's back
    client.put_object(Bucket=bucket, Key="proj/d/a.txt", Body=b"a, edited\n")
    client.put_object(Bucket=bucket, Key="proj/d/new.txt", Body=b"new\n")
    client.delete_object(Bucket=bucket, Key="proj/d/sub/b.txt")
    client.put_object(Bucket=bucket, Key="proj/foo.txt", Body=b"foo, edited\n")

    updated = src.update(["d", "foo.txt"])
    assert updated.ok, (updated.failed, updated.checkout)
    assert updated.transferred == 3  # a.txt, new.txt and foo.txt; b.txt is gone
    assert (tmp_path / "src/d/a.txt").read_bytes() == b"a, edited\n"
    assert (tmp_path / "src/d/new.txt").read_bytes() == b"new\n"
    assert not (tmp_path / "src/d/sub/b.txt").exists()
    assert (tmp_path / "src/foo.txt").read_bytes() == b"foo, edited\n"
    assert src.status().clean and src.status(cloud=True).clean
    assert "sub/b.txt" not in (tmp_path / "src/d.dvc").read_text()

    dest = clone(tmp_path / "src", tmp_path / "dest", setup)
    assert dest.pull().ok
    assert (tmp_path / "dest/d/new.txt").read_bytes() == b"new\n"
    assert src.update(["d"]).transferred == 0  # nothing new: nothing downloaded


def test_update_refuses_remotes_that_are_not_worktrees(tmp_path: Path, moto_s3: Server) -> None:
    setup = _s3(moto_s3, make_bucket(moto_s3, versioned=True), version_aware="true")
    repo = workspace(tmp_path / "w", setup, FILES)
    repo.add(["foo.txt"])
    with pytest.raises(ConfigError, match="worktree remote"):
        repo.update(["foo.txt"])


def test_import_url_pulls_the_recorded_versions_in_a_fresh_clone(
    tmp_path: Path, moto_s3: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # never in fs_config: it is committed
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = make_bucket(moto_s3, versioned=True)
    client = s3_client(moto_s3)
    for key, body in (("a.txt", b"a\n"), ("sub/b.txt", b"b\n")):
        client.put_object(Bucket=bucket, Key=f"src/{key}", Body=body)
    config = {"endpointurl": moto_s3.endpoint}
    repo = workspace(tmp_path / "src", lambda _root: None, {})
    with pytest.raises(ConfigError, match="refusing to write secret_access_key"):
        repo.import_url(f"s3://{bucket}/src", "data", fs_config={"secret_access_key": "x"})
    imported = repo.import_url(f"s3://{bucket}/src", "data", fs_config=config)
    assert imported.ok and imported.transferred == 2
    old = (tmp_path / "src/data.dvc").read_bytes()
    client.put_object(Bucket=bucket, Key="src/a.txt", Body=b"a, edited\n")
    client.delete_object(Bucket=bucket, Key="src/sub/b.txt")
    assert repo.push().transferred == 0  # imports are never pushed

    dest = workspace(tmp_path / "dest", lambda _root: None, {})  # no remote at all
    (tmp_path / "dest/data.dvc").write_bytes(old)
    pulled = dest.pull()
    assert pulled.ok, (pulled.failed, pulled.missing)
    assert (tmp_path / "dest/data/a.txt").read_bytes() == b"a\n"
    assert (tmp_path / "dest/data/sub/b.txt").read_bytes() == b"b\n"

    updated = repo.update(["data"])
    assert updated.ok
    assert (tmp_path / "src/data/a.txt").read_bytes() == b"a, edited\n"
    assert not (tmp_path / "src/data/sub").exists()
    with pytest.raises(ConfigError, match="by version"):
        repo.import_url(f"s3://{bucket}/src", "again", version_aware=False)


def test_second_remote_replaces_versions_and_comments_survive(
    tmp_path: Path, moto_s3: Server
) -> None:
    """Spec E58: pushing to a second version-aware remote records that remote's versions
    (never another remote's id under its name); rewrites keep comments and unknown keys."""
    first, second = (make_bucket(moto_s3, versioned=True) for _ in range(2))
    src = workspace(tmp_path / "src", _s3(moto_s3, first, version_aware="true"), FILES)
    src.add(["foo.txt"])
    dvcfile = tmp_path / "src/foo.txt.dvc"
    dvcfile.write_text("# keep me\n" + dvcfile.read_text() + "meta:\n  owner: me\n")
    assert src.push().ok
    other = _configure(
        f"s3://{second}/proj",
        {k: v for k, v in moto_s3.dvc_options.items() if "key" not in k}
        | {"version_aware": "true"},
        {k: v for k, v in moto_s3.dvc_options.items() if "key" in k},
        name="vb",
    )
    other(tmp_path / "src")
    src.close()
    src = Repo(tmp_path / "src")
    assert src.push(remote="vb").transferred == 1
    text = dvcfile.read_text()
    assert text.startswith("# keep me\n") and "meta:\n  owner: me\n" in text
    assert "    vb:\n" in text and "    va:\n" not in text
    versions = s3_client(moto_s3).list_object_versions(Bucket=second, Prefix="proj/foo.txt")
    assert versions["Versions"][0]["VersionId"] in text


def test_stage_outputs_in_dvc_lock_get_versions_too(tmp_path: Path, moto_s3: Server) -> None:
    setup = _s3(moto_s3, make_bucket(moto_s3, versioned=True), version_aware="true")
    src = workspace(tmp_path / "src", setup, {"model.bin": b"weights\n", "d/a.txt": b"a\n"})
    src.add(["model.bin", "d"])  # puts the objects in the cache; the stage records them
    entries = {}
    for name in ("model.bin", "d"):
        (out,) = read_dvcfile(tmp_path / "src", f"{name}.dvc")
        (tmp_path / "src" / f"{name}.dvc").unlink()
        size = f"      size: {out.size}\n" + (f"      nfiles: {out.nfiles}\n" if out.nfiles else "")
        entries[name] = f"    - path: {name}\n      hash: md5\n      md5: {out.oid}\n{size}"
    (tmp_path / "src/dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: x\n    outs:\n    - model.bin\n    - d\n"
    )
    lock = "schema: '2.0'\nstages:\n  train:\n    cmd: x\n    outs:\n"
    (tmp_path / "src/dvc.lock").write_text(lock + entries["model.bin"] + entries["d"])
    assert src.push().transferred == 2
    text = (tmp_path / "src/dvc.lock").read_text()
    assert text.count("version_id:") == 2 and "files:" in text
    dest = workspace(tmp_path / "dest", setup, {})
    for name in ("dvc.yaml", "dvc.lock"):
        (tmp_path / "dest" / name).write_bytes((tmp_path / "src" / name).read_bytes())
    assert dest.pull().ok
    assert (tmp_path / "dest/model.bin").read_bytes() == b"weights\n"
    assert (tmp_path / "dest/d/a.txt").read_bytes() == b"a\n"
