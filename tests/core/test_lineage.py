"""The lineage record: one URI rule across clones, the commit a metafile was read at,
whether it differs from it, and the remote of a transfer (without credentials)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from freight import Repo
from freight.lineage import public_url, read_origin

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(cwd)}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return proc.stdout.strip()


def origin_repo(tmp_path: Path, url: str) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    git(work, "remote", "add", "origin", url)
    return work


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:Org/proj.git",
        "https://github.com/Org/proj",
        "https://x-access-token:ghp_secret@github.com/Org/proj.git",
        "ssh://git@GitHub.com:2222/Org/proj.git/",
        "git+ssh://github.com/Org/proj",
    ],
)
def test_one_uri_for_every_form_of_a_git_remote(tmp_path: Path, url: str) -> None:
    root = origin_repo(tmp_path, url)
    origin = read_origin(root)
    assert origin.uri("data/images") == "freight://github.com/Org/proj/data/images"
    assert "secret" not in origin.base


def test_local_origin_and_no_origin(tmp_path: Path) -> None:
    root = origin_repo(tmp_path, "../origin.git")
    assert read_origin(root).uri("d") == f"freight://{tmp_path}/origin/d"
    bare = tmp_path / "plain"
    bare.mkdir()
    assert read_origin(bare).uri("my data/x") == f"freight://{bare}/my%20data/x"
    assert read_origin(bare).rev is None


def test_public_url_drops_user_info() -> None:
    assert public_url("https://user:pw@host:8080/a/b") == "https://host:8080/a/b"
    assert public_url("s3://bucket/prefix") == "s3://bucket/prefix"
    assert public_url("/srv/remote") == "/srv/remote"


def make_project(tmp_path: Path) -> Path:
    """A Git repository with a DVC project in `proj/`, one tracked file, one commit."""
    upstream = tmp_path / "upstream.git"
    upstream.mkdir()
    git(upstream, "init", "-q", "--bare", "-b", "main")
    work = tmp_path / "a"
    git(tmp_path, "clone", "-q", str(upstream), str(work))
    proj = work / "proj"
    proj.mkdir()
    Repo.init(proj).close()
    (proj / "data.txt").write_text("v1\n")
    with Repo(proj) as repo:
        repo.add(["data.txt"])
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "data")
    git(work, "push", "-q", "origin", "main")
    return work


def test_uri_and_rev_are_stable_across_clones(tmp_path: Path) -> None:
    first = make_project(tmp_path)
    second = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(tmp_path / "upstream.git"), str(second))
    head = git(first, "rev-parse", "HEAD")
    records = []
    for work in (first, second):
        with Repo(work / "proj") as repo:
            records.append(repo.status().lineage()["data.txt"])
    assert records[0] == records[1]
    assert records[0]["uri"] == f"freight://{tmp_path}/upstream/proj/data.txt"
    assert records[0]["rev"] == head
    assert records[0]["dirty"] is False
    assert str(first) not in records[0]["uri"]
    with Repo(second / "proj") as repo:  # the catalog names datasets by the same rule
        listed = repo.catalog().lineage()["data.txt"]
    assert (listed["uri"], listed["rev"], listed["dirty"]) == (records[0]["uri"], head, None)


def test_dirty_when_the_metafile_differs_from_the_commit(tmp_path: Path) -> None:
    work = make_project(tmp_path)
    proj = work / "proj"
    (proj / "data.txt").write_text("v2\n")
    (proj / "new.txt").write_text("new\n")
    with Repo(proj) as repo:
        added = repo.add(["data.txt", "new.txt"]).lineage()
        assert added["data.txt"]["dirty"] is True  # changed, not committed
        assert added["new.txt"]["dirty"] is True  # untracked
        git(work, "add", "-A")
        assert repo.status().lineage()["data.txt"]["dirty"] is True  # staged only
        git(work, "commit", "-q", "-m", "v2")
        after = repo.status().lineage()
    assert after["data.txt"]["dirty"] is False
    assert after["data.txt"]["rev"] == git(work, "rev-parse", "HEAD")


def test_rev_from_packed_refs_and_worktrees(tmp_path: Path) -> None:
    work = make_project(tmp_path)
    head = git(work, "rev-parse", "HEAD")
    git(work, "pack-refs", "--all")
    assert not (work / ".git/refs/heads/main").exists()
    assert read_origin(work / "proj").rev == head
    tree = tmp_path / "wt"
    git(work, "worktree", "add", "-q", "-b", "other", str(tree))
    origin = read_origin(tree / "proj")
    assert (origin.rev, origin.prefix) == (head, "proj")
    assert origin.uri("data.txt") == f"freight://{tmp_path}/upstream/proj/data.txt"


def test_transfers_name_their_remote_without_credentials(tmp_path: Path) -> None:
    work = make_project(tmp_path)
    proj = work / "proj"
    remote = tmp_path / "remote"
    (proj / ".dvc/config").write_text(
        f"[core]\n    remote = r\n['remote \"r\"']\n    url = {remote}\n"
    )
    with Repo(proj) as repo:
        pushed = repo.push().lineage()["data.txt"]
        status = repo.status().lineage()["data.txt"]
    assert (pushed["remote"], pushed["remote_url"]) == ("r", str(remote))
    assert "remote" not in status  # only transfers name a remote
    assert pushed["md5"] == status["md5"] and pushed["uri"] == status["uri"]
