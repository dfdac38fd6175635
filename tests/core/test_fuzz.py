"""Fuzzed input (issue 13): whatever bytes stand in a `.dvc` file, `dvc.yaml`, `dvc.lock`,
`.dvc/config` or a cached `.dir`, freight either works or raises a FreightError with a
one-line message naming the file, never another exception, and writes nothing.

Deterministic (derandomized, bounded examples), so it belongs to the regular suite.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
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

#: YAML-ish text: the shapes the parsers branch on, in random order and nesting
# fmt: off
TOKENS = st.sampled_from([
    "outs:", "- md5: ", "d41d8cd98f00b204e9800998ecf8427e", ".dir", "  path: ", "data", "../x",
    "/abs", "size: ", "-1", "1e99", "nfiles: ", "hash: md5", "stages:", "  s:", "    cmd: ",
    "    outs:", "    deps:", "      - ", "${x}", "${", "foreach: ", "do:", "matrix:", "vars:",
    "schema: '2.0'", "cache: false", "push: ", "remote: ", "[core]", "['remote \"r\"']",
    "    url = ", "remote = r", "[cache]", "type = ", "&a", "*a", "!!python/object:os.system",
    "{", "}", "[", "]", ":", "'", '"', "\t", "\n", "\n  ", " ", "\x00", "\ufeff", "\xe9",
    "\r\n", "\udcff", "- ", "null", "~", "[]", "{}", "yes",
])
# fmt: on
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


def test_fuzzed_dir_manifest_fails_cleanly(repo: Path) -> None:
    with Repo(repo) as r:
        r.add(["data"])
    oid = (repo / "data.dvc").read_text().split("md5: ")[1].split("\n")[0]
    manifest = repo / ".dvc" / "cache" / "files" / "md5" / oid[:2] / oid[2:]
    names = st.sampled_from(["a.txt", "../up", "/abs", "", ".", "b/../../c", "x\x00y", "é"])
    entry = st.fixed_dictionaries(
        {"md5": st.sampled_from(["60b725f10c9c85c70d97880dfe8191b3", "zz", ""]), "relpath": names}
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
