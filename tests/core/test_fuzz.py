"""Fuzzed input (issue 13): whatever bytes stand in a `.dvc` file, `dvc.yaml`, `dvc.lock`,
`.dvc/config` or a cached `.dir`, freight either works or raises a FreightError with a
one-line message naming the file, never another exception, and writes nothing.

Deterministic (derandomized, bounded examples), so it belongs to the regular suite.
"""

from __future__ import annotations

import operator
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from freight import FreightError, Repo
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from workspaces import workspace

FUZZ = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: YAML-ish text: the shapes the parsers branch on, in random order and nesting (the
#: plain lists here are also drawn from by tests/campaign_fuzz.py, with a seeded stream)
# fmt: off
METAFILE_TOKENS = [
    "outs:", "- md5: ", "d41d8cd98f00b204e9800998ecf8427e", ".dir", "  path: ", "data", "../x",
    "/abs", "size: ", "-1", "1e99", "nfiles: ", "hash: md5", "stages:", "  s:", "    cmd: ",
    "    outs:", "    deps:", "      - ", "${x}", "${", "foreach: ", "do:", "matrix:", "vars:",
    "schema: '2.0'", "cache: false", "push: ", "remote: ", "[core]", "['remote \"r\"']",
    "    url = ", "remote = r", "[cache]", "type = ", "&a", "*a", "!!python/object:os.system",
    "{", "}", "[", "]", ":", "'", '"', "\t", "\n", "\n  ", " ", "\x00", "\ufeff", "\xe9",
    "\r\n", "\udcff", "- ", "null", "~", "[]", "{}", "yes",
]
# fmt: on
TOKENS = st.sampled_from(METAFILE_TOKENS)
TEXTS = st.lists(TOKENS, max_size=40).map("".join)
BLOBS = st.one_of(TEXTS.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=200))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "tmp" not in p.relative_to(root).parts
    }


def _check(root: Path, action: Callable[[Repo], object], name: str) -> None:
    before = _snapshot(root)
    message = "worked"
    try:
        with Repo(root) as repo:
            action(repo)
    except FreightError as exc:  # anything else fails the test with its traceback
        message = str(exc)
    assert message
    assert "\n" not in message.strip() or message.startswith("Checkout failed"), message

    def kept(files: dict[str, bytes]) -> dict[str, bytes]:
        return {k: v for k, v in files.items() if k != name and not k.startswith(name + "/")}

    assert kept(_snapshot(root)) == kept(before)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return workspace(tmp_path / "ws", {"data/a.txt": b"a\n"})


def _write(root: Path, name: str, data: bytes) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_bytes(data)


@pytest.mark.parametrize("name", ["data.dvc", "dvc.yaml", "dvc.lock", "params.yaml"])
def test_fuzzed_metafiles_fail_cleanly(repo: Path, name: str) -> None:
    @FUZZ
    @given(BLOBS)
    @example(b"\x00")  # found: libyaml's two-line message for a control character
    def run(data: bytes) -> None:
        _write(repo, name, data)
        _check(repo, lambda r: r.status(), name)
        _check(repo, lambda r: r.catalog(), name)
        _check(repo, lambda r: r.checkout(), name)

    run()


def test_fuzzed_config_fails_cleanly(repo: Path) -> None:
    @FUZZ
    @given(BLOBS)
    @example(b"outs:\nouts:")  # found: configobj's two-line "several errors" message
    def run(data: bytes) -> None:
        _write(repo, ".dvc/config", data)
        _check(repo, lambda r: r.status(), ".dvc/config")

    run()


DIR_RELPATHS = ["a.txt", "../up", "/abs", "", ".", "b/../../c", "x\x00y", "é"]
DIR_MD5S = ["60b725f10c9c85c70d97880dfe8191b3", "zz", ""]


def test_fuzzed_dir_manifest_fails_cleanly(repo: Path) -> None:
    with Repo(repo) as r:
        r.add(["data"])
    oid = (repo / "data.dvc").read_text().split("md5: ")[1].split("\n")[0]
    manifest = repo / ".dvc" / "cache" / "files" / "md5" / oid[:2] / oid[2:]
    entry = st.fixed_dictionaries(
        {"md5": st.sampled_from(DIR_MD5S), "relpath": st.sampled_from(DIR_RELPATHS)}
    )
    docs = st.one_of(
        st.lists(entry, max_size=4).map(lambda e: repr(e).replace("'", '"').encode()),
        BLOBS,
    )

    @FUZZ
    @given(docs)
    def run(data: bytes) -> None:
        os.chmod(manifest, 0o644)
        manifest.write_bytes(data)
        shutil.rmtree(repo / "data", ignore_errors=True)
        _check(repo, lambda r: r.checkout(), "data")
        assert not (repo.parent / "up").exists() and not (repo.parent / "c").exists()

    run()


# -- what a remote listing (and the cache's prefix folders) may hold --------------------------

#: object-like names and everything near them: non-hex, uppercase, short and long hex,
#: `.dir` variants, freight's and DVC's temporaries, `..`, spaces, unicode, control bytes
HEX_ALPHABET = "0123456789abcdefABCDEFg"
HEX_SUFFIXES = ["", ".dir", ".DIR", ".dir.dir", ".dirx", "dir", ".tmp", ".dir.tmp", " "]
HEXISH = st.builds(
    operator.add,
    st.text(HEX_ALPHABET, min_size=28, max_size=34),
    st.sampled_from(HEX_SUFFIXES),
)
# fmt: off
ODD_NAME_LIST = [
    "README", "runs", ".dir", "x.dir", "..x", "a..b", "...", " ", " lead", "trail ", "sp ace",
    "\xe9t\xe9", "\u65e5\u672c", "\u202egnp.exe", "line\nbreak", "tab\there", ".freight-x.tmp",
    ".tmpXYZ.tmp", "-rf", "*", "00", "ab", "files", "md5", os.fsdecode(b"\xff\xfe"), "a" * 255,
]
#: where odd entries go (`{real}`: the prefix folder of a real object)
PREFIX_LIST = [
    "", "files", "files/md5", "files/md5/ab", "files/md5/AB", "files/md5/a", "files/md5/abc",
    "files/md5/g0", "ab", "files/md5/ab/cd", "files/md5/{real}", "{real}",
]
# fmt: on
KIND_LIST = ["file", "dir", "dir with file", "link out", "link out dir", "dangling"]
#: what happens to a real object: its file becomes a directory, a garbage file, a symlink
#: out; or its prefix folder (or `files/`) becomes a symlink to a folder of object names,
#: or a file
BREAK_LIST = ["dir", "garbage", "link out", "prefix link out", "prefix file", "files link out"]
ODD_NAMES = st.one_of(
    st.sampled_from(ODD_NAME_LIST),
    HEXISH,
    st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=12),
)
PREFIXES = st.sampled_from(PREFIX_LIST)
KINDS = st.sampled_from(KIND_LIST)
#: a key of 1000+ characters: deep folders of long names
HUGE = st.lists(st.text("abcdef0123456789", min_size=150, max_size=250), min_size=5, max_size=8)
ODD = st.tuples(
    st.sampled_from(["remote", "cache"]),
    st.one_of(PREFIXES, HUGE.map("/".join)),
    ODD_NAMES,
    KINDS,
)
BREAK = st.tuples(
    st.sampled_from(["remote", "cache"]),
    st.integers(0, 1 << 16),
    st.sampled_from(BREAK_LIST),
)
#: what gc may delete and push/fetch may write: object names of either layout, their folders
OBJECT_KEY = re.compile(r"(files/md5/)?[0-9a-f]{2}(/[0-9a-f]{30}(\.dir)?)?")
FUZZ_LISTING = settings(FUZZ, max_examples=120)


def entries(root: Path) -> dict[str, tuple[str, bytes]]:
    """Every entry below `root` (never followed): kind and content or link target."""
    found: dict[str, tuple[str, bytes]] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                found[rel] = ("link", os.fsencode(os.readlink(path)))
            elif os.path.isdir(path):
                found[rel] = ("dir", b"")
            else:
                found[rel] = ("file", Path(path).read_bytes())
    return found


def remote_config(remote: Path) -> str:
    return f"[core]\n    no_scm = True\n    remote = r\n['remote \"r\"']\n    url = {remote}\n"


@dataclass
class Listing:
    """A repository with a pushed directory of 70 files (enough for `status -c` and push to
    list the remote's prefixes instead of asking key by key) and a file, its local remote,
    and pristine copies of the remote and the cache to reset them from."""

    base: Path
    keys: list[str]

    @property
    def ws(self) -> Path:
        return self.base / "ws"

    def area(self, name: str) -> Path:
        return self.base / "remote" if name == "remote" else self.ws / ".dvc" / "cache"

    def reset(self) -> None:
        for name in ("remote", "cache"):
            shutil.rmtree(self.area(name))
            shutil.copytree(self.base / f"pristine-{name}", self.area(name), symlinks=True)
        shutil.rmtree(self.ws / ".dvc" / "tmp" / "freight" / "remotes", ignore_errors=True)
        shutil.rmtree(self.base / "outside", ignore_errors=True)
        (self.base / "outside" / "od").mkdir(parents=True)
        (self.base / "outside" / "victim").write_bytes(b"not yours\n")
        (self.base / "outside" / "od" / ("0" * 30)).write_bytes(b"object-named, outside\n")


@pytest.fixture
def listing(tmp_path: Path) -> Listing:
    files = {f"data/f{i:02}": f"{i}\n".encode() for i in range(70)}
    ws = workspace(tmp_path / "ws", {**files, "solo.bin": b"solo\n"})
    (ws / ".dvc/config").write_text(remote_config(tmp_path / "remote"))
    with Repo(ws) as repo:
        repo.add(["data", "solo.bin"])
        repo.push()
    keys = sorted(k for k in entries(tmp_path / "remote") if k.count("/") == 3)
    for n, key in enumerate(keys[:6]):  # push has some to upload, fetch some to download
        where = tmp_path / "remote" if n % 2 else ws / ".dvc" / "cache"
        if not key.endswith(".dir"):
            (where / key).unlink()
    for name in ("remote", "cache"):
        src = tmp_path / "remote" if name == "remote" else ws / ".dvc" / "cache"
        shutil.copytree(src, tmp_path / f"pristine-{name}", symlinks=True)
    return Listing(tmp_path, keys)


def _linked(root: Path, rel: str) -> bool:
    """Whether a folder between `root` and `rel` below it is a symlink."""
    parts = Path(rel).parts
    return any((root / Path(*parts[:i])).is_symlink() for i in range(1, len(parts)))


def make_odd(root: Path, rel: str, kind: str, outside: Path) -> bool:
    """Create an odd entry at `rel` below `root`; False where it cannot be made there (an
    existing file or a symlink in the way, a name the filesystem refuses)."""
    path = root / rel
    if _linked(root, rel):
        return False  # it would be made outside
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(path):
            return False
        if kind == "file":
            path.write_bytes(b"odd\n")
        elif kind.startswith("dir"):
            path.mkdir()
            if kind == "dir with file":
                (path / ("1" * 30)).write_bytes(b"inside\n")
        elif kind == "link out":
            path.symlink_to(outside / "victim")
        elif kind == "link out dir":
            path.symlink_to(outside / "od")
        else:
            path.symlink_to(outside / "nowhere")
    except OSError:
        return False
    return True


def break_object(root: Path, key: str, how: str, outside: Path) -> str:
    """Damage the object `key` (or its prefix folder) below `root`; the key of what changed."""
    path = root / key
    target = path.parent if how.startswith("prefix") else path
    if how == "files link out":
        target = root / "files"
    if _linked(root, str(target.relative_to(root))):
        return str(target.relative_to(root))  # under a link made before: left alone
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif os.path.lexists(target):
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    if how == "dir":
        (target / "inner").mkdir(parents=True)
    elif how == "garbage":
        target.write_bytes(b"garbage\n")
    elif how == "link out":
        target.symlink_to(outside / "victim")
    elif how in ("prefix link out", "files link out"):
        target.symlink_to(outside / "od")
    else:
        target.write_bytes(b"a file where a folder goes\n")
    return str(target.relative_to(root))


def _clean(lst: Listing, action: Callable[[Repo], object]) -> None:
    """Run `action`: it works, or fails with a one-line FreightError naming a path."""
    try:
        with Repo(lst.ws) as repo:
            result = action(repo)
    except FreightError as exc:  # anything else fails the test with its traceback
        message = str(exc)
        assert "\n" not in message.strip(), message
        assert "/" in message and ".freight-" not in message, message  # names the file
        return
    for failure in (*getattr(result, "failed", ()), *getattr(result, "missing", ())):
        assert "\n" not in failure.message.strip(), failure
        assert ".freight-" not in failure.message, failure  # a temporary is no file to look at


def test_fuzzed_remote_listing_is_ignored_or_fails_cleanly(listing: Listing) -> None:
    keys = listing.keys
    real = sorted({k.split("/")[2] for k in keys})

    @FUZZ_LISTING
    @given(st.lists(ODD, max_size=6), st.lists(BREAK, max_size=2), st.integers(0, 255))
    @example([("remote", "files/md5/{real}", "ABCDEF" * 5, "file")], [], 0)
    @example([("cache", "{real}", "abcdef" * 5 + ".DIR", "link out")], [], 1)
    @example([("remote", "files/md5/{real}", "0" * 30, "dir with file")], [], 2)
    # found: push and fetch wrote through a symlinked prefix folder, outside the remote/cache
    @example([], [("remote", 0, "prefix link out"), ("cache", 1, "prefix link out")], 0)
    # found: a folder where an object goes failed the push naming freight's temporary
    @example([], [("cache", 3, "dir"), ("remote", 3, "dir")], 0)
    @example([], [("remote", 0, "files link out"), ("cache", 0, "files link out")], 0)
    def run(
        odd: list[tuple[str, str, str, str]], broken: list[tuple[str, int, str]], r: int
    ) -> None:
        listing.reset()
        outside = listing.base / "outside"
        damaged = {
            (area, break_object(listing.area(area), keys[pick % len(keys)], how, outside))
            for area, pick, how in broken
        }
        made: dict[tuple[str, str], tuple[str, bytes]] = {}
        for area, prefix, name, kind in odd:
            rel = os.path.join(prefix.format(real=real[r % len(real)]), name)
            if make_odd(listing.area(area), rel, kind, outside):
                made[(area, rel)] = entries(listing.area(area)).get(rel, ("", b""))
        before = {n: entries(listing.area(n)) for n in ("remote", "cache")}
        work, outer = entries(listing.ws), entries(outside)

        _clean(listing, lambda r: r.cloud_status())
        _clean(listing, lambda r: r.push())
        _clean(listing, lambda r: r.fetch())
        _clean(listing, lambda r: r.cloud_status())
        _clean(listing, lambda r: r.gc(cloud=True))  # -w: the workspace's outputs are kept

        assert entries(outside) == outer  # nothing outside written, deleted or chmodded
        inside = {k: v for k, v in entries(listing.ws).items() if not k.startswith(".dvc")}
        assert inside == {k: v for k, v in work.items() if not k.startswith(".dvc")}
        for name in ("remote", "cache"):
            after = entries(listing.area(name))
            for (area, rel), entry in made.items():  # gc never deletes an odd key
                if area == name and not (OBJECT_KEY.fullmatch(rel) and entry[0] != "dir"):
                    assert after.get(rel) == entry, (name, rel)
            changed = {k for k in {*before[name], *after} if before[name].get(k) != after.get(k)}
            for key in changed:  # only object names (and their folders) come and go
                assert OBJECT_KEY.fullmatch(key) or (name, key) in damaged, (name, key)

    run()
