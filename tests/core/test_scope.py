"""What push/fetch/status -c/gc work on: Git revisions (-a/-T/-A), -R and --with-deps."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from freight import Repo
from freight.cli import main
from freight.errors import GitError, PathError


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return proc.stdout


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


@pytest.fixture
def history(tmp_path: Path, freight_env: dict[str, str]) -> tuple[Path, Path]:
    """A Git repo whose `data.txt` has three versions: v1 on tag `v1`, v2 on branch
    `side`, v3 in the workspace on `main`; plus `old.txt`, deleted after the first commit."""
    root, remote = tmp_path / "repo", tmp_path / "remote"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    repo = Repo.init(root)
    (root / ".dvc/config").write_text(
        f"[core]\n    remote = r\n['remote \"r\"']\n    url = {remote}\n"
    )
    (root / "data.txt").write_text("v1\n")
    (root / "old.txt").write_text("old\n")
    repo.add(["data.txt", "old.txt"])
    commit(root, "v1")
    git(root, "tag", "v1")
    git(root, "rm", "-q", "old.txt.dvc")
    commit(root, "drop old")
    git(root, "checkout", "-q", "-b", "side")
    (root / "data.txt").write_text("v2\n")
    repo.add(["data.txt"])
    commit(root, "v2")
    git(root, "checkout", "-q", "main")
    (root / "data.txt").write_text("v3\n")
    repo.add(["data.txt"])
    commit(root, "v3")
    repo.close()
    return root, remote


def objects(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file())


def pushed(remote: Path) -> set[str]:
    return {p.read_text() for p in remote.rglob("*") if p.is_file()}


def test_push_reads_revisions_from_git(history: tuple[Path, Path]) -> None:
    root, remote = history
    with Repo(root) as repo:
        assert repo.push().transferred == 1
        assert pushed(remote) == {"v3\n"}
        assert repo.push(all_tags=True).transferred == 2  # v1 and old, from tag v1
        assert pushed(remote) == {"v1\n", "v3\n", "old\n"}
        assert repo.cloud_status(all_branches=True).changes == {"data.txt": "new"}
        assert repo.push(all_branches=True).transferred == 1
        assert repo.cloud_status(all_commits=True).clean


def test_fetch_all_commits_fills_the_cache_and_gc_keeps_history(
    history: tuple[Path, Path],
) -> None:
    root, _ = history
    with Repo(root) as repo:
        assert repo.push(all_commits=True).transferred == 4
        repo.gc(all_commits=True)
        assert objects(repo.cache.root) == 4
        repo.gc()  # only the workspace: v1, v2 and old go
        assert objects(repo.cache.root) == 1
        fetched = repo.fetch(all_commits=True)
        assert (fetched.transferred, fetched.ok) == (3, True)


def test_revision_flags_need_git(tmp_path: Path) -> None:
    with Repo.init(tmp_path, no_scm=True) as repo, pytest.raises(GitError, match="not in a Git"):
        repo.cloud_status(all_tags=True)


def test_malformed_metafile_in_history_names_the_revision(history: tuple[Path, Path]) -> None:
    root, _ = history
    git(root, "checkout", "-q", "-b", "broken")
    (root / "data.txt.dvc").write_text("outs: [\n")
    commit(root, "broken")
    git(root, "checkout", "-q", "main")
    with Repo(root) as repo, pytest.raises(Exception, match=r"data.txt.dvc \(in revision \w+\)"):
        repo.push(all_branches=True)


def test_cli_push_all_tags(
    history: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = history
    monkeypatch.chdir(root)
    assert main(["push", "-T"]) == 0
    assert "3 files pushed" in capsys.readouterr().out
    assert main(["push", "-a", "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["status", "-a"]) == 254


def pipeline(root: Path) -> None:
    """prepare -> train, and an unrelated `other` stage, recorded in dvc.yaml/dvc.lock."""
    (root / "sub").mkdir()
    for name, data in (("raw", "r"), ("prep", "p"), ("model", "m"), ("other", "o")):
        (root / name).write_text(data)
    (root / "sub/part.txt").write_text("s")
    (root / "dvc.yaml").write_text(
        "stages:\n"
        "  prepare:\n    cmd: x\n    deps:\n    - raw\n    outs:\n    - prep\n"
        "  train:\n    cmd: y\n    deps:\n    - prep\n    outs:\n    - model\n"
        "  other:\n    cmd: z\n    outs:\n    - other\n"
    )

    def entry(path: str, text: str) -> str:
        import hashlib

        md5 = hashlib.md5(text.encode()).hexdigest()
        return f"    - path: {path}\n      hash: md5\n      md5: {md5}\n      size: {len(text)}\n"

    (root / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n"
        "  prepare:\n    cmd: x\n    deps:\n"
        + entry("raw", "r")
        + "    outs:\n"
        + entry("prep", "p")
        + "  train:\n    cmd: y\n    deps:\n"
        + entry("prep", "p")
        + "    outs:\n"
        + entry("model", "m")
        + "  other:\n    cmd: z\n    outs:\n"
        + entry("other", "o")
    )


def test_with_deps_and_recursive(tmp_path: Path) -> None:
    root, remote = tmp_path / "repo", tmp_path / "remote"
    repo = Repo.init(root, no_scm=True)
    (root / ".dvc/config").write_text(
        f"[core]\n    no_scm = True\n    remote = r\n['remote \"r\"']\n    url = {remote}\n"
    )
    pipeline(root)
    repo.add(["raw", "sub/part.txt"])
    repo.close()
    with Repo(root) as repo:
        assert repo.status(["train"]).changes == {"train": {"model": "not in cache"}}
        assert {o.path for o in repo.status(["train"], with_deps=True).outputs} == {
            "model",
            "prep",
            "raw",
        }
        assert repo.status(["train"], cloud=True).changes == {"model": "missing"}
        assert repo.cloud_status(["train"], with_deps=True).changes == {
            "model": "missing",
            "prep": "missing",
            "raw": "new",
        }
        assert set(repo.cloud_status(["sub"], recursive=True).changes) == {"sub/part.txt"}
        with pytest.raises(PathError):
            repo.cloud_status(["sub"])
        assert repo.push(["sub"], recursive=True).transferred == 1
