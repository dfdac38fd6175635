"""push/pull interoperate with the real DVC (dvc[s3]) on a real S3 server (moto server)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from storage_servers import Server, make_bucket, s3_client
from test_dvc_interop import FREIGHT, make_repo, run, workspace

pytestmark = pytest.mark.dvc
TARGETS = ["data", "foo.txt", "f 1.bin"]


def s3_repo(path: Path, tool: list[str], server: Server, bucket: str, env: dict[str, str]) -> Path:
    repo = make_repo(path, env)
    run([*tool, "init", "-q"], repo, env)
    run([*tool, "add", "-q", "--", *TARGETS], repo, env)
    configure(repo, tool, server, bucket, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "data"], repo, env)
    return repo


def configure(
    repo: Path, tool: list[str], server: Server, bucket: str, env: dict[str, str]
) -> None:
    run([*tool, "remote", "add", "-d", "s3", f"s3://{bucket}/store"], repo, env)
    for key, value in server.dvc_options.items():
        level = ["--local"] if "key" in key else []
        run([*tool, "remote", "modify", *level, "s3", key, value], repo, env)


@pytest.mark.parametrize("direction", ["freight-to-dvc", "dvc-to-freight"])
def test_s3_push_then_pull_with_the_other_tool(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str], moto_s3: Server, direction: str
) -> None:
    pusher, puller = ([dvc_bin], FREIGHT) if direction == "dvc-to-freight" else (FREIGHT, [dvc_bin])
    bucket = make_bucket(moto_s3)
    src = s3_repo(tmp_path / "src", pusher, moto_s3, bucket, freight_env)
    assert run([*pusher, "push"], src, freight_env).strip().endswith("files pushed")
    dest = tmp_path / "dest"
    run(["git", "clone", "-q", str(src), str(dest)], tmp_path, freight_env)
    for key, value in moto_s3.dvc_options.items():  # config.local is not cloned
        if "key" in key:
            run([*puller, "remote", "modify", "--local", "s3", key, value], dest, freight_env)
    before = [
        run([*tool, "status", "-c", "--json"], dest, freight_env) for tool in (pusher, puller)
    ]
    assert json.loads(before[0]) == json.loads(before[1])
    run([*puller, "pull"], dest, freight_env)
    assert workspace(dest) == workspace(src)
    assert "Everything is up to date." in run([*pusher, "push"], dest, freight_env)
    for tool in (FREIGHT, [dvc_bin]):
        assert "are in sync" in run([*tool, "status", "-c"], dest, freight_env)


def version_aware_repo(
    path: Path, tool: list[str], server: Server, bucket: str, env: dict[str, str]
) -> Path:
    repo = s3_repo(path, tool, server, bucket, env)
    run([*tool, "remote", "modify", "s3", "version_aware", "true"], repo, env)
    run(["git", "commit", "-qam", "version_aware"], repo, env)
    return repo


def metafiles(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.glob("?*.dvc")) if p.is_file()}


@pytest.mark.parametrize("direction", ["freight-to-dvc", "dvc-to-freight"])
def test_version_aware_push_then_pull_with_the_other_tool(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str], moto_s3: Server, direction: str
) -> None:
    pusher, puller = ([dvc_bin], FREIGHT) if direction == "dvc-to-freight" else (FREIGHT, [dvc_bin])
    bucket = make_bucket(moto_s3, versioned=True)
    src = version_aware_repo(tmp_path / "src", pusher, moto_s3, bucket, freight_env)
    run([*pusher, "push"], src, freight_env)
    assert b"version_id" in metafiles(src)["data.dvc"]
    run(["git", "commit", "-qam", "pushed"], src, freight_env)
    dest = tmp_path / "dest"
    run(["git", "clone", "-q", str(src), str(dest)], tmp_path, freight_env)
    for key, value in moto_s3.dvc_options.items():
        if "key" in key:
            run([*puller, "remote", "modify", "--local", "s3", key, value], dest, freight_env)
    before = metafiles(dest)
    run([*puller, "pull"], dest, freight_env)
    assert workspace(dest) == workspace(src)
    assert metafiles(dest) == before  # pulling never rewrites metafiles


def test_version_aware_metafiles_are_byte_identical_to_dvcs(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str], moto_s3: Server
) -> None:
    """The same data pushed to the same place: freight finds the objects DVC uploaded
    (same bytes, so nothing is sent again) and records exactly what DVC recorded."""
    bucket = make_bucket(moto_s3, versioned=True)
    by_dvc = version_aware_repo(tmp_path / "dvc", [dvc_bin], moto_s3, bucket, freight_env)
    run([dvc_bin, "push"], by_dvc, freight_env)
    by_freight = version_aware_repo(tmp_path / "freight", FREIGHT, moto_s3, bucket, freight_env)
    assert metafiles(by_freight) != metafiles(by_dvc)
    out = run([*FREIGHT, "push"], by_freight, freight_env)
    assert "Everything is up to date." in out
    assert metafiles(by_freight) == metafiles(by_dvc)


def test_import_url_version_aware_writes_what_dvc_writes(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str], moto_s3: Server
) -> None:
    """The same objects imported by both tools give byte-identical import stages (version
    ids, etags, stage md5), before and after `update` picks up a new version."""
    bucket = make_bucket(moto_s3, versioned=True)
    client = s3_client(moto_s3)
    for key, body in (("file.txt", b"hello\n"), ("dir/a.txt", b"a\n"), ("dir/sub/b.txt", b"b\n")):
        client.put_object(Bucket=bucket, Key=f"src/{key}", Body=body)
    env = {**freight_env, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    config = ["--fs-config", f"endpointurl={moto_s3.endpoint}"]
    repos = {}
    for name, tool in (("dvc", [dvc_bin]), ("freight", FREIGHT)):
        repo = tmp_path / name
        repo.mkdir()
        run(["git", "init", "-q"], repo, env)
        run([*tool, "init", "-q"], repo, env)
        for src, out in (("file.txt", "file.txt"), ("dir", "data")):
            url = f"s3://{bucket}/src/{src}"
            run([*tool, "import-url", "--version-aware", url, out, *config], repo, env)
        repos[name] = repo
    assert metafiles(repos["freight"]) == metafiles(repos["dvc"])
    assert workspace(repos["freight"]) == workspace(repos["dvc"])
    assert b"push: false" in metafiles(repos["freight"])["data.dvc"]
    for pusher, puller in (("freight", [dvc_bin]), ("dvc", FREIGHT)):  # clones pull by version
        run(["git", "add", "-A"], repos[pusher], env)
        run(["git", "commit", "-qm", "import"], repos[pusher], env)
        clone = tmp_path / f"{pusher}-clone"
        run(["git", "clone", "-q", str(repos[pusher]), str(clone)], tmp_path, env)
        run([*puller, "pull"], clone, env)
        assert workspace(clone) == workspace(repos[pusher])

    client.put_object(Bucket=bucket, Key="src/file.txt", Body=b"hello, again\n")
    for name, tool in (("dvc", [dvc_bin]), ("freight", FREIGHT)):
        run([*tool, "update", "file.txt.dvc"], repos[name], env)
    assert metafiles(repos["freight"]) == metafiles(repos["dvc"])
    assert (repos["freight"] / "file.txt").read_bytes() == b"hello, again\n"
    assert "up to date" in run([dvc_bin, "status"], repos["freight"], env)


def test_re_adding_a_pushed_directory_keeps_versions_like_dvc(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str], moto_s3: Server
) -> None:
    """After a version-aware push, a file is removed and the directory added again: both
    tools keep the `files:` form with the versions of the unchanged files, byte for byte."""
    bucket = make_bucket(moto_s3, versioned=True)
    base = version_aware_repo(tmp_path / "base", [dvc_bin], moto_s3, bucket, freight_env)
    run([dvc_bin, "push"], base, freight_env)
    results = {}
    for name, tool in (("dvc", [dvc_bin]), ("freight", FREIGHT)):
        copy = tmp_path / name
        shutil.copytree(base, copy, symlinks=True)
        (copy / "data" / "a.txt").unlink()
        (copy / "data" / "new file.txt").write_text("new\n")
        run([*tool, "add", "-q", "data"], copy, freight_env)
        results[name] = (copy / "data.dvc").read_bytes()
    assert b"files:" in results["dvc"]
    assert results["freight"] == results["dvc"]
