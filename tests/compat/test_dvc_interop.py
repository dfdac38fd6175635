"""freight and the real DVC 3.67.1 on the same data: identical files, each reads the other's.

DVC runs from an isolated tool environment (see the `dvc_bin` fixture), never imported.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.dvc

# Names DVC and freight must spell identically in .dvc files, .dir objects and .gitignore.
TOP_LEVEL = {
    "foo.txt": b"hello\n",
    "0123": b"digits",
    "#h": b"hash",
    "yes": b"bool?",
    "-dash": b"dash",
    "a: b.txt": b"colon",
    "'q": b"quote",
    "f 1.bin": b"\x00\x01",
}
IN_DIR = {
    "a.txt": b"a\n",
    "empty": b"",
    "sub/b.txt": b"b\r\nline2\r\n",
    "with space/dup a.txt": b"a\n",
    "ünï/ç.bin": b"x",
    "a/b": b"1\n",
    "a-b/c": b"2\n",
    "deep/er/and/deeper/x.txt": b"deep",
    "sp ace ": b"trailing space",
    "😀": b"emoji",
    "back\\slash": b"backslash",
    "yes": b"yes",
    "A": b"upper",
    "_x": b"underscore",
}


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


FREIGHT = [sys.executable, "-m", "freight"]


def make_repo(path: Path, env: dict[str, str]) -> Path:
    path.mkdir()
    run(["git", "init", "-q"], path, env)
    for rel, content in TOP_LEVEL.items():
        (path / rel).write_bytes(content)
    for rel, content in IN_DIR.items():
        (path / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / "data" / rel).write_bytes(content)
    (path / "data" / "empty dir" / "nested").mkdir(parents=True)
    (path / "empty_dir").mkdir()
    return path


def tree_listing(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        p.relative_to(root).as_posix(): (stat.S_IMODE(p.stat().st_mode), p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def workspace(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.relative_to(root).as_posix().startswith((".dvc/", ".git/"))
    }


TARGETS = ["data", "empty_dir", *TOP_LEVEL]


@pytest.fixture
def pair(tmp_path: Path, dvc_bin: str, freight_env: dict[str, str]) -> tuple[Path, Path]:
    """Two identical repos: one added by freight, one by DVC."""
    ours = make_repo(tmp_path / "freight", freight_env)
    theirs = make_repo(tmp_path / "dvc", freight_env)
    run([*FREIGHT, "init", "-q"], ours, freight_env)
    run([dvc_bin, "init", "-q"], theirs, freight_env)
    run([*FREIGHT, "add", "-q", "--", *TARGETS], ours, freight_env)
    run([dvc_bin, "add", "-q", "--", *TARGETS], theirs, freight_env)
    return ours, theirs


def test_add_writes_what_dvc_writes(pair: tuple[Path, Path]) -> None:
    ours, theirs = pair
    assert workspace(ours) == workspace(theirs)  # .dvc files, .gitignore, .dvcignore, data
    assert tree_listing(ours / ".dvc/cache") == tree_listing(theirs / ".dvc/cache")
    for name in (".dvc/config", ".dvc/.gitignore"):
        assert (ours / name).read_bytes() == (theirs / name).read_bytes()
    staged = subprocess.run(
        ["git", "diff", "--cached", "--name-only"],
        cwd=ours,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert staged == [".dvc/.gitignore", ".dvc/config", ".dvcignore"]


def test_dvc_reads_freight_repo(
    pair: tuple[Path, Path], dvc_bin: str, freight_env: dict[str, str]
) -> None:
    ours, _ = pair
    assert "Data and pipelines are up to date." in run([dvc_bin, "status"], ours, freight_env)
    before = workspace(ours)
    shutil.rmtree(ours / "data")
    os.unlink(ours / "foo.txt")
    run([dvc_bin, "checkout"], ours, freight_env)
    assert workspace(ours) == before


def test_freight_reads_dvc_repo(pair: tuple[Path, Path], freight_env: dict[str, str]) -> None:
    _, theirs = pair
    assert run([*FREIGHT, "status"], theirs, freight_env) == "Data and pipelines are up to date.\n"
    before = workspace(theirs)
    shutil.rmtree(theirs / "data")
    os.unlink(theirs / "foo.txt")
    out = run([*FREIGHT, "checkout"], theirs, freight_env)
    assert out == "M\tdata/\nA\tfoo.txt\n" or out == "A\tdata/\nA\tfoo.txt\n"
    assert workspace(theirs) == before
    assert "up to date" in run([*FREIGHT, "status"], theirs, freight_env)


def test_status_words_match_dvc(
    pair: tuple[Path, Path], dvc_bin: str, freight_env: dict[str, str]
) -> None:
    ours, _ = pair
    (ours / "foo.txt").write_bytes(b"changed\n")
    os.unlink(ours / "yes")
    (ours / "data" / "extra").write_bytes(b"new file")
    os.chmod(ours / ".dvc/cache/files/md5/b0/26324c6904b2a9cb4b88d6d61c81d1", 0o644)
    os.unlink(ours / ".dvc/cache/files/md5/b0/26324c6904b2a9cb4b88d6d61c81d1")  # "1\n", a/b
    (ours / "f 1.bin").write_bytes(b"\x00\x01")  # rewritten, same content: not modified
    expected = run([dvc_bin, "status", "--json"], ours, freight_env)
    got = run([*FREIGHT, "status", "--json"], ours, freight_env)
    assert json.loads(got) == json.loads(expected)
    assert run([*FREIGHT, "status"], ours, freight_env) == run(
        [dvc_bin, "status"], ours, freight_env
    )


def test_dvc2_fixture_repo_is_clean_and_checks_out(
    tmp_path: Path, fixtures: Path, dvc_bin: str, freight_env: dict[str, str]
) -> None:
    repo = tmp_path / "legacy"
    shutil.copytree(fixtures / "dvc2" / "workspace", repo)
    for name in ("ld.dvc", "crlf.txt.dvc"):
        shutil.copy(fixtures / "dvc2" / "repo" / name, repo / name)
    run(["git", "init", "-q"], repo, freight_env)
    run([*FREIGHT, "init", "-q"], repo, freight_env)
    shutil.copytree(fixtures / "dvc2" / "cache-objects", repo / ".dvc" / "cache")
    assert "up to date" in run([*FREIGHT, "status"], repo, freight_env)
    assert "up to date" in run([dvc_bin, "status"], repo, freight_env)
    before = workspace(repo)
    shutil.rmtree(repo / "ld")
    os.unlink(repo / "crlf.txt")
    run([*FREIGHT, "checkout"], repo, freight_env)
    assert workspace(repo) == before
    assert "up to date" in run([dvc_bin, "status"], repo, freight_env)
