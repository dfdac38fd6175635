"""Symlinks and names (issue 13): what `add` and `checkout` do with symlinks that lead out
of the repository, and with names that differ only in case.

- A symlinked *file* (inside a tracked directory, or the output itself) is followed: its
  target's bytes are hashed and stored, and the link is replaced by a regular file (a
  copy, or a link into the cache). The target is never written, hard-linked or chmodded.
  DVC 3.67.1 does the same, except that with `cache.type = hardlink` it hard-links the
  target into the cache (the file outside becomes read-only and shares the cache's inode).
- A symlinked *directory* is neither followed nor recorded by `add` (inside a tracked
  directory), and `add` refuses one as the output or a parent of it, as DVC does.
  `checkout` never writes through one (the output, a parent or a directory inside it):
  PathError before anything is touched. DVC writes through it (with `--force` it also
  deletes the files it finds there).
- `push` and `fetch` never write an object through a symlinked folder of the remote or
  the cache (DVC does).
- Names that differ only in case (`A.txt`, `a.txt`) are both checked out on a
  case-sensitive filesystem and refused (PathError, both named) on a case-insensitive one.
  This kernel has none to mount (no vfat, no casefolding), so the refusal is tested
  through its seam, and on a real one only where one can be mounted.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from freight import PathError, Repo, UnsavedChangesError
from freight import checkout as checkout_mod
from freight.fsutil import case_insensitive
from freight.hashing import md5_bytes
from freight.tree import case_collisions
from workspaces import workspace

SECRET = b"secret outside\n"


def state_of(root: Path) -> dict[str, tuple[str, int, bytes]]:
    """Every entry below `root`: kind, mode and content (a link's target), never followed."""
    found: dict[str, tuple[str, int, bytes]] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                found[os.path.relpath(path, root)] = ("link", 0, os.fsencode(os.readlink(path)))
            elif stat.S_ISDIR(st.st_mode):
                found[os.path.relpath(path, root)] = ("dir", st.st_mode, b"")
            else:
                data = Path(path).read_bytes()
                found[os.path.relpath(path, root)] = ("file", st.st_mode, data)
    return found


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the repository, with a file and a subdirectory."""
    where = tmp_path / "outside"
    (where / "d").mkdir(parents=True)
    (where / "s.txt").write_bytes(SECRET)
    (where / "d" / "x.txt").write_bytes(b"kept outside\n")
    return where


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return workspace(tmp_path / "ws", {"data/in.txt": b"in\n", "data/sub/x.txt": b"x\n"})


def tree_of(root: Path, dvcfile: str) -> list[dict[str, str]]:
    """The cached `.dir` manifest a `.dvc` file names."""
    oid = (root / dvcfile).read_text().split("md5: ")[1].split("\n")[0]
    cached = root / ".dvc/cache/files/md5" / oid[:2] / oid[2:]
    entries: list[dict[str, str]] = json.loads(cached.read_bytes())
    return entries


# -- (a) symlinks inside a tracked directory that point outside it ---------------------------


def test_add_follows_file_symlinks_out_of_a_tracked_dir_and_skips_dir_symlinks(
    ws: Path, outside: Path
) -> None:
    (ws / "data/link.txt").symlink_to(outside / "s.txt")
    (ws / "data/linkdir").symlink_to(outside / "d")
    before = state_of(outside)
    with Repo(ws) as repo:
        repo.add(["data"])
    assert tree_of(ws, "data.dvc") == [
        {"md5": md5_bytes(b"in\n"), "relpath": "in.txt"},
        {"md5": md5_bytes(SECRET), "relpath": "link.txt"},
        {"md5": md5_bytes(b"x\n"), "relpath": "sub/x.txt"},
    ]
    assert not (ws / "data/link.txt").is_symlink()  # replaced by a copy, as DVC does
    assert (ws / "data/link.txt").read_bytes() == SECRET
    assert (ws / "data/linkdir").is_symlink()  # not recorded, left alone
    assert state_of(outside) == before


def test_add_with_hardlink_cache_copies_a_symlinked_target(ws: Path, outside: Path) -> None:
    # found: `add` hard-linked the symlink itself into the cache (os.link does not follow
    # it), then failed on its dangling copy; DVC hard-links the target, making it read-only
    (ws / ".dvc/config").write_text("[core]\n    no_scm = True\n[cache]\n    type = hardlink\n")
    (ws / "data/link.txt").symlink_to(outside / "s.txt")
    (ws / "top.txt").symlink_to(outside / "s.txt")
    before = state_of(outside)
    with Repo(ws) as repo:
        repo.add(["data", "top.txt"])
        assert repo.status().clean
    obj = ws / ".dvc/cache/files/md5" / md5_bytes(SECRET)[:2] / md5_bytes(SECRET)[2:]
    for path in (ws / "data/link.txt", ws / "top.txt"):
        assert not path.is_symlink()
        assert os.stat(path).st_ino == os.stat(obj).st_ino  # a hard link to the cache
    assert os.stat(outside / "s.txt").st_ino != os.stat(obj).st_ino
    assert state_of(outside) == before  # same bytes, same mode 0644


def test_checkout_replaces_a_file_symlink_and_never_writes_through_it(
    ws: Path, outside: Path
) -> None:
    with Repo(ws) as repo:
        repo.add(["data"])
        (ws / "data/in.txt").unlink()
        (ws / "data/in.txt").symlink_to(outside / "s.txt")  # content not in the cache
        before = state_of(outside)
        with pytest.raises(UnsavedChangesError, match=r"in\.txt"):
            repo.checkout()
        repo.checkout(force=True)
    assert not (ws / "data/in.txt").is_symlink()
    assert (ws / "data/in.txt").read_bytes() == b"in\n"
    assert state_of(outside) == before


def test_checkout_refuses_a_symlinked_dir_inside_a_tracked_dir(ws: Path, outside: Path) -> None:
    with Repo(ws) as repo:
        repo.add(["data"])
        shutil.rmtree(ws / "data/sub")
        (ws / "data/in.txt").unlink()
        (ws / "data/sub").symlink_to(outside / "d")
        before, mine = state_of(outside), state_of(ws / "data")
        for force in (False, True):
            with pytest.raises(PathError, match=r"'data/sub' is a symlink .* never writes"):
                repo.checkout(force=force)
    assert state_of(outside) == before  # DVC writes data/sub/x.txt into outside/d
    assert state_of(ws / "data") == mine  # refused before anything was touched


# -- (b) an output that is itself a symlink out of the repository ----------------------------


def test_add_of_a_symlinked_file_output_stores_its_target(ws: Path, outside: Path) -> None:
    (ws / "f.txt").symlink_to(outside / "s.txt")
    before = state_of(outside)
    with Repo(ws) as repo:
        repo.add(["f.txt"])
    text = (ws / "f.txt.dvc").read_text()
    assert f"md5: {md5_bytes(SECRET)}\n" in text and "path: f.txt\n" in text
    assert not (ws / "f.txt").is_symlink() and (ws / "f.txt").read_bytes() == SECRET
    assert state_of(outside) == before


def test_add_refuses_a_symlinked_dir_output_or_parent(ws: Path, outside: Path) -> None:
    (ws / "d").symlink_to(outside / "d")
    with Repo(ws) as repo:
        for target in ("d", "d/x.txt"):
            with pytest.raises(PathError, match="inside symlinked directories"):
                repo.add([target])
    assert not (ws / "d.dvc").exists() and not (ws / "d/x.txt.dvc").exists()


def test_checkout_onto_a_symlinked_file_output_replaces_the_link(ws: Path, outside: Path) -> None:
    (ws / "f.txt").write_bytes(b"mine\n")
    with Repo(ws) as repo:
        repo.add(["f.txt"])
        (ws / "f.txt").unlink()
        (ws / "f.txt").symlink_to(outside / "s.txt")
        before = state_of(outside)
        repo.checkout(force=True)
    assert not (ws / "f.txt").is_symlink() and (ws / "f.txt").read_bytes() == b"mine\n"
    assert state_of(outside) == before


def test_checkout_refuses_a_symlinked_dir_output_or_parent(ws: Path, outside: Path) -> None:
    (ws / "p/q.txt").parent.mkdir()
    (ws / "p/q.txt").write_bytes(b"q\n")
    with Repo(ws) as repo:
        repo.add(["data", "p/q.txt"])
        text = (ws / "p/q.txt.dvc").read_text().replace("path: q.txt", "path: p/q.txt")
        (ws / "q.dvc").write_text(text)  # the metafile out of the directory made a link
        shutil.rmtree(ws / "data")
        shutil.rmtree(ws / "p")
        (ws / "data").symlink_to(outside / "d")
        (ws / "p").symlink_to(outside)
        before = state_of(outside)
        with pytest.raises(PathError, match="'data' is a symlink"):
            repo.checkout(["data"], force=True)
        with pytest.raises(PathError, match="'p' is a symlink"):
            repo.checkout(["p/q.txt"], force=True)
    assert state_of(outside) == before  # DVC deletes outside/d/x.txt and writes there


# -- the cache's and a local remote's own folders -------------------------------------------


def test_push_and_fetch_never_write_through_a_symlinked_prefix_folder(
    ws: Path, outside: Path
) -> None:
    # found: both wrote the object into the link's target, outside the remote and the cache
    remote = ws.parent / "remote"
    (ws / ".dvc/config").write_text(
        f"[core]\n    no_scm = True\n    remote = r\n['remote \"r\"']\n    url = {remote}\n"
    )
    oid = md5_bytes(b"in\n")
    with Repo(ws) as repo:
        repo.add(["data"])
        (remote / "files/md5").mkdir(parents=True)
        (remote / "files/md5" / oid[:2]).symlink_to(outside / "d")
        before = state_of(outside)
        failed = {f.path: f.message for f in repo.push().failed}
        assert sorted(failed) == ["data", "data/in.txt"]  # no `.dir` before all its files
        assert f"'{remote}/files/md5/{oid[:2]}' is a symlink" in failed["data/in.txt"]
        (remote / "files/md5" / oid[:2]).unlink()
        assert repo.push().ok
    cached = ws / ".dvc/cache/files/md5" / oid[:2]
    shutil.rmtree(cached)
    cached.symlink_to(outside / "d")
    with Repo(ws) as repo:
        failed = {f.path: f.message for f in repo.fetch().failed}
        assert list(failed) == ["data/in.txt"]
        assert f"'{cached}' is a symlink" in failed["data/in.txt"]
    assert state_of(outside) == before


# -- (c) names that differ only in case ------------------------------------------------------

CASES = {"data/A.txt": b"upper\n", "data/a.txt": b"lower\n", "data/Sub/x": b"1", "data/sub/y": b"2"}


def test_case_collisions_pairs_files_and_directories() -> None:
    assert case_collisions(["d/A.txt", "d/a.txt", "d/Sub/x", "d/sub/y", "d/b"]) == [
        ("d/A.txt", "d/a.txt"),
        ("d/Sub", "d/sub"),
    ]
    assert case_collisions(["d/\u00c9", "d/e\u0301"]) == [("d/e\u0301", "d/\u00c9")]  # NFC
    assert case_collisions(["d/Stra\u00dfe", "d/STRASSE"]) == [("d/STRASSE", "d/Stra\u00dfe")]
    assert case_collisions(["d/a", "d/b/a", "d/b/c"]) == []


def test_case_insensitive_probe_leaves_nothing(tmp_path: Path) -> None:
    assert case_insensitive(tmp_path) is False  # Linux filesystems are case-sensitive
    assert list(tmp_path.iterdir()) == []


def _case_clash_repo(ws: Path) -> Path:
    for rel, data in CASES.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_bytes(data)
    with Repo(ws) as repo:
        repo.add(["data"])
    shutil.rmtree(ws / "data")
    return ws


def test_case_only_names_are_all_checked_out_on_a_case_sensitive_fs(tmp_path: Path) -> None:
    ws = _case_clash_repo(workspace(tmp_path / "ws", {}))
    with Repo(ws) as repo:
        result = repo.checkout()
    assert result.files_added == 4
    assert {rel: (ws / rel).read_bytes() for rel in CASES} == CASES


def test_case_only_names_are_refused_where_the_fs_folds_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal through its seam: this kernel can mount no case-insensitive filesystem
    (no vfat, no casefolding), so `case_insensitive` (tested for real above, on this
    filesystem) is replaced by its answer on one."""
    ws = _case_clash_repo(workspace(tmp_path / "ws", {}))
    probed: list[str] = []
    monkeypatch.setattr(checkout_mod, "case_insensitive", lambda d: probed.append(str(d)) or True)
    with Repo(ws) as repo, pytest.raises(PathError) as info:
        repo.checkout()
    assert "'data/A.txt' and 'data/a.txt' differ only in case" in str(info.value)
    assert "\n" not in str(info.value)
    assert probed == [str(ws)]  # `data` does not exist: its parent's filesystem decides
    assert not (ws / "data").exists()


# -- the same inputs through the real DVC ----------------------------------------------------


def _dvc(
    dvc_bin: str, cwd: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dvc_bin, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.dvc
def test_dvc_adds_symlinks_as_freight_does(
    tmp_path: Path, outside: Path, dvc_bin: str, freight_env: dict[str, str]
) -> None:
    made = {}
    for tool in ("dvc", "freight"):
        ws = workspace(tmp_path / tool, {"data/in.txt": b"in\n"})
        (ws / "data/link.txt").symlink_to(outside / "s.txt")
        (ws / "data/linkdir").symlink_to(outside / "d")
        (ws / "f.txt").symlink_to(outside / "s.txt")
        (ws / "d").symlink_to(outside / "d")
        if tool == "dvc":
            assert _dvc(dvc_bin, ws, freight_env, "add", "data", "f.txt").returncode == 0
            refused = _dvc(dvc_bin, ws, freight_env, "add", "d")
            assert refused.returncode != 0
            assert "Cannot add files inside symlinked directories" in refused.stderr
        else:
            with Repo(ws) as repo:
                repo.add(["data", "f.txt"])
                with pytest.raises(PathError, match="inside symlinked directories"):
                    repo.add(["d"])
        made[tool] = {
            "dvcfiles": ((ws / "data.dvc").read_bytes(), (ws / "f.txt.dvc").read_bytes()),
            "tree": tree_of(ws, "data.dvc"),
            "links": sorted(p.name for p in (ws / "data").iterdir() if p.is_symlink()),
        }
    assert made["dvc"] == made["freight"]
    assert made["freight"]["links"] == ["linkdir"]


@pytest.mark.dvc
def test_dvc_checks_out_through_a_symlinked_dir_where_freight_refuses(
    tmp_path: Path, outside: Path, dvc_bin: str, freight_env: dict[str, str]
) -> None:
    """The documented difference: DVC follows a symlinked output directory on checkout
    (deleting what it finds there with --force); freight refuses, touching nothing."""
    ws = workspace(tmp_path / "ws", {"data/1.txt": b"1\n"})
    assert _dvc(dvc_bin, ws, freight_env, "add", "data").returncode == 0
    shutil.rmtree(ws / "data")
    (ws / "data").symlink_to(outside / "d")
    with Repo(ws) as repo, pytest.raises(PathError, match="'data' is a symlink"):
        repo.checkout(force=True)
    assert sorted(os.listdir(outside / "d")) == ["x.txt"]
    assert _dvc(dvc_bin, ws, freight_env, "checkout", "--force").returncode == 0
    assert sorted(os.listdir(outside / "d")) == ["1.txt"]  # x.txt deleted, 1.txt written
