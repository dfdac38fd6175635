"""push/fetch/pull/status -c interoperate with the real DVC on a local-folder remote."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from test_dvc_interop import FREIGHT, make_repo, run, workspace

pytestmark = pytest.mark.dvc
TARGETS = ["data", "empty_dir", "foo.txt", "#h", "f 1.bin"]


def committed_repo(path: Path, tool: list[str], env: dict[str, str]) -> Path:
    repo = make_repo(path, env)
    run([*tool, "init", "-q"], repo, env)
    run([*tool, "add", "-q", "--", *TARGETS], repo, env)
    run([*tool, "remote", "add", "-d", "store", "../remote"], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "data"], repo, env)
    return repo


def clone(src: Path, dest: Path, env: dict[str, str]) -> Path:
    run(["git", "clone", "-q", str(src), str(dest)], src.parent, env)
    return dest


@pytest.mark.parametrize("direction", ["freight-to-dvc", "dvc-to-freight"])
def test_push_then_pull_with_the_other_tool(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str], direction: str
) -> None:
    pusher, puller = ([dvc_bin], FREIGHT) if direction == "dvc-to-freight" else (FREIGHT, [dvc_bin])
    src = committed_repo(tmp_path / "src", pusher, freight_env)
    out = run([*pusher, "push"], src, freight_env)
    assert out.strip().endswith("files pushed")
    dest = clone(src, tmp_path / "dest", freight_env)
    run([*puller, "pull"], dest, freight_env)
    expected = {k: v for k, v in workspace(src).items()}
    assert workspace(dest) == expected
    assert "up to date" in run([*pusher, "status"], dest, freight_env)
    assert "Everything is up to date." in run([*pusher, "push"], dest, freight_env)


def _cloud(tool: list[str], repo: Path, env: dict[str, str]) -> dict[str, str]:
    return json.loads(run([*tool, "status", "-c", "--json"], repo, env) or "{}")


def test_status_cloud_agrees_with_dvc_in_every_state(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str]
) -> None:
    repo = committed_repo(tmp_path / "src", FREIGHT, freight_env)
    both = [dvc_bin], FREIGHT
    first = [_cloud(tool, repo, freight_env) for tool in both]
    assert first[0] == first[1] and set(first[0].values()) == {"new"}
    run([*FREIGHT, "push", "data/sub"], repo, freight_env)  # granular: one file + the .dir? no .dir
    partial = [_cloud(tool, repo, freight_env) for tool in both]
    assert partial[0] == partial[1]
    run([*FREIGHT, "push"], repo, freight_env)
    assert "are in sync" in run([*FREIGHT, "status", "-c"], repo, freight_env)
    assert [_cloud(tool, repo, freight_env) for tool in both] == [{}, {}]
    obj = repo / ".dvc/cache/files/md5/b1/946ac92492d2347c6235b4d2611184"  # foo.txt
    os.chmod(obj, 0o644)
    obj.unlink()
    lost = hashlib.md5(b"hash").hexdigest()  # the loose file "#h"
    remote_obj = tmp_path / f"remote/files/md5/{lost[:2]}/{lost[2:]}"
    os.chmod(remote_obj, 0o644)
    remote_obj.unlink()
    shutil.rmtree(repo / ".dvc/tmp/freight/remotes")  # forget what the index remembers
    last = [_cloud(tool, repo, freight_env) for tool in both]
    assert last[0] == last[1] == {"foo.txt": "deleted", "#h": "new"}


def test_lost_directory_member_is_reported_where_dvc_trusts_the_dir(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str]
) -> None:
    """DVC assumes every file of a `.dir` on the remote is there; freight checks them."""
    repo = committed_repo(tmp_path / "src", FREIGHT, freight_env)
    run([*FREIGHT, "push"], repo, freight_env)
    remote_obj = tmp_path / "remote/files/md5/60/b725f10c9c85c70d97880dfe8191b3"  # data/a.txt
    os.chmod(remote_obj, 0o644)
    remote_obj.unlink()
    shutil.rmtree(repo / ".dvc/tmp/freight/remotes")
    assert _cloud([dvc_bin], repo, freight_env) == {}
    assert set(_cloud(FREIGHT, repo, freight_env).values()) == {"new"}
    assert "1 file pushed" in run([*FREIGHT, "push"], repo, freight_env)


def test_all_tags_and_branches_agree_with_dvc(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str]
) -> None:
    """`-T`/`-a` read older revisions from Git: freight pushes what `dvc status -c -T`
    wants, and `dvc push -a` leaves nothing for `freight status -c -a` to report."""
    repo = committed_repo(tmp_path / "src", FREIGHT, freight_env)
    # An absolute URL: DVC 3.67.1 resolves a relative local remote of another revision
    # against the filesystem root (`dvc push -a` wrote to /remote); freight always uses
    # the workspace's config, so its relative URLs mean the same in every revision.
    run([*FREIGHT, "remote", "modify", "store", "url", str(tmp_path / "remote")], repo, freight_env)
    run(["git", "commit", "-qam", "absolute remote"], repo, freight_env)
    run(["git", "tag", "v1"], repo, freight_env)
    (repo / "foo.txt").write_text("foo v2\n")
    run([*FREIGHT, "add", "-q", "foo.txt"], repo, freight_env)
    run(["git", "commit", "-qam", "v2"], repo, freight_env)
    run(["git", "checkout", "-q", "-b", "side"], repo, freight_env)
    (repo / "foo.txt").write_text("foo side\n")
    run([*FREIGHT, "add", "-q", "foo.txt"], repo, freight_env)
    run(["git", "commit", "-qam", "side"], repo, freight_env)
    run(["git", "checkout", "-q", "-"], repo, freight_env)
    run([*FREIGHT, "checkout", "-q"], repo, freight_env)

    def both(*flags: str) -> list[dict[str, str]]:
        cmd = ["status", "-c", "--json", *flags]
        return [
            json.loads(run([*tool, *cmd], repo, freight_env) or "{}")
            for tool in ([dvc_bin], FREIGHT)
        ]

    tags = both("-T")
    assert tags[0] == tags[1] and tags[0]
    run([*FREIGHT, "push", "-T"], repo, freight_env)
    assert both("-T") == [{}, {}]
    side = both("-a")
    assert side[0] == side[1] == {"foo.txt": "new"}
    run([dvc_bin, "push", "-a"], repo, freight_env)
    assert both("-A") == [{}, {}]
