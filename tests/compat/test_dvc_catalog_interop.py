"""Pipelines load as the real DVC 3.67.1 loads them: the same outputs, the same status
words, the same objects pushed; and the legacy formats DVC 3 refuses still load in freight.

The repositories are written as text here, in the formats DVC documents (spec §3).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from freight import Repo

pytestmark = pytest.mark.dvc

FREIGHT = [sys.executable, "-m", "freight"]


def run(cmd: list[str], cwd: Path, env: dict[str, str], ok: bool = True) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if ok:
        assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def entry(path: str, data: bytes, indent: str = "    ", legacy: bool = False) -> str:
    hashed = "" if legacy else f"{indent}  hash: md5\n"
    return (
        f"{indent}- path: {path}\n{hashed}{indent}  md5: {md5(data)}\n{indent}  size: {len(data)}\n"
    )


def cache(root: Path, data: bytes) -> None:
    oid = md5(data)
    path = root / ".dvc/cache/files/md5" / oid[:2] / oid[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


DATA = {
    "raw.txt": b"raw\n",
    "prep.py": b"print('prep')\n",
    "prepared.txt": b"prepared\n",
    "report.json": b"{}\n",
    "model.bin": b"model",
    "unsaved.bin": b"unsaved",
    "metrics.json": b'{"acc": 1}\n',
    "m_small.bin": b"small",
    "mat_1_p.txt": b"1p",
    "mat_2_p.txt": b"2p",
    "goneout.bin": b"orphan",
    "old.bin": b"stale",
    "sub/w/o.txt": b"sub output",
}
MISSING = {"report.json", "goneout.bin", "old.bin"}  # not in the workspace
UNCACHED = {"report.json", "metrics.json"}  # cache: false

DVC_YAML = """\
vars:
- conf.yaml
stages:
  prepare:
    cmd: python prep.py
    deps:
    - raw.txt
    - prep.py
    outs:
    - ${prep.out}
    - ${report}:
        cache: false
  train:
    cmd: python train.py ${train}
    deps:
    - prepared.txt
    outs:
    - model.bin:
        desc: the model
        type: model
        labels: [a, b]
        meta: {owner: me}
    - unsaved.bin:
        push: false
    metrics:
    - metrics.json:
        cache: false
  never_run:
    cmd: echo later
    outs:
    - later.bin
  loop:
    foreach: ${models}
    do:
      cmd: echo ${item}
      outs:
      - m_${item}.bin
  mat:
    matrix:
      x: [1, 2]
      y: [p]
    cmd: echo ${item.x}
    outs:
    - mat_${item.x}_${item.y}.txt
"""


def lock_stage(name: str, cmd: str, deps: list[str], outs: list[str]) -> str:
    text = f"  {name}:\n    cmd: {cmd}\n"
    if deps:
        text += "    deps:\n" + "".join(entry(d, DATA[d]) for d in deps)
    return text + "    outs:\n" + "".join(entry(o, DATA[o]) for o in outs)


def pipeline_repo(root: Path, dvc_bin: str, env: dict[str, str]) -> Path:
    """Every rule at once: interpolated paths (params.yaml, vars file, dict into cmd), a
    missing `cache: false` output, lock entries of a removed stage and of a removed output,
    stages never run, foreach/matrix, a sub-pipeline with `wdir`, a lock without dvc.yaml."""
    root.mkdir()
    run(["git", "init", "-q"], root, env)
    run([dvc_bin, "init", "-q"], root, env)
    for rel, data in DATA.items():
        if rel not in MISSING:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        if rel not in UNCACHED:
            cache(root, data)
    (root / "raw.txt.dvc").write_text(
        f"outs:\n- md5: {md5(DATA['raw.txt'])}\n  size: 4\n  hash: md5\n  path: raw.txt\n"
    )
    (root / "params.yaml").write_text(
        "prep:\n  out: prepared.txt\nmodels: [small, big]\ntrain: {epochs: 3, fast: true}\n"
    )
    (root / "conf.yaml").write_text("report: report.json\n")
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n"
        + lock_stage(
            "prepare", "python prep.py", ["prep.py", "raw.txt"], ["prepared.txt", "report.json"]
        )
        + lock_stage(
            "train",
            "python train.py --epochs 3 --fast",
            ["prepared.txt"],
            ["metrics.json", "model.bin", "old.bin", "unsaved.bin"],
        )
        + lock_stage("gone", "echo gone", [], ["goneout.bin"])
        + lock_stage("loop@small", "echo small", [], ["m_small.bin"])
        + lock_stage("mat@1-p", "echo 1", [], ["mat_1_p.txt"])
        + lock_stage("mat@2-p", "echo 2", [], ["mat_2_p.txt"])
    )
    (root / "sub").mkdir(exist_ok=True)
    (root / "sub/dvc.yaml").write_text(
        "stages:\n  s:\n    cmd: echo\n    wdir: w\n    deps:\n    - ../../raw.txt\n"
        "    outs:\n    - o.txt\n"
    )
    (root / "sub/dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    deps:\n"
        + entry("../../raw.txt", DATA["raw.txt"])
        + "    outs:\n"
        + entry("o.txt", DATA["sub/w/o.txt"])
    )
    (root / "other").mkdir()
    shutil.copy(root / "sub/dvc.lock", root / "other/dvc.lock")  # no dvc.yaml beside it
    return root


def changed_outs(status: dict[str, Any]) -> dict[str, dict[str, str]]:
    """`dvc status --json` reduced to what freight reports: output states per stage."""
    found: dict[str, dict[str, str]] = {}
    for group, items in status.items():
        for item in items:
            if isinstance(item, dict) and "changed outs" in item:
                found[group] = item["changed outs"]
    return found


@pytest.fixture
def repo(tmp_path: Path, dvc_bin: str, freight_env: dict[str, str]) -> Path:
    return pipeline_repo(tmp_path / "repo", dvc_bin, freight_env)


def test_status_words_match_dvc(repo: Path, dvc_bin: str, freight_env: dict[str, str]) -> None:
    theirs = changed_outs(json.loads(run([dvc_bin, "status", "--json"], repo, freight_env)))
    ours = changed_outs(json.loads(run([*FREIGHT, "status", "--json"], repo, freight_env)))
    assert ours == theirs
    assert run([*FREIGHT, "status"], repo, freight_env) == run(
        [dvc_bin, "status"], repo, freight_env
    )
    # the rules, as DVC applies them
    assert theirs["prepare"] == {"report.json": "deleted"}  # (2) missing cache: false output
    assert "gone" not in theirs  # (3) lock entry of a stage dvc.yaml no longer has
    assert "old.bin" not in json.dumps(theirs)  # ... and of an output it no longer declares
    assert theirs["never_run"] == {"later.bin": "deleted"}  # (4) no lock entry yet
    assert theirs["loop@big"] == {"m_big.bin": "deleted"}
    assert not any(k.startswith("other") for k in theirs)  # a dvc.lock without dvc.yaml


def test_catalog_lists_what_dvc_lists(
    repo: Path, dvc_bin: str, freight_env: dict[str, str]
) -> None:
    listed = json.loads(run([dvc_bin, "ls", "--dvc-only", "-R", "--json", "."], repo, freight_env))
    theirs = {e["path"]: e["md5"] for e in listed if e["isout"]}
    with Repo(repo) as ours:
        catalog = ours.catalog()
    assert {o.path: o.oid for o in catalog.outputs if o.cache} == theirs
    assert {o.path for o in catalog.outputs if not o.cache} == UNCACHED
    stages = {s.address for s in catalog.stages}
    assert stages == {
        "prepare",
        "train",
        "never_run",
        "loop@small",
        "loop@big",
        "mat@1-p",
        "mat@2-p",
        "sub/dvc.yaml:s",
    }
    model = catalog.output("model.bin")
    assert (model.desc, model.type, model.labels, model.meta_value) == (
        "the model",
        "model",
        ("a", "b"),
        {"owner": "me"},
    )
    assert catalog.stage("train").cmd == "python train.py --epochs 3 --fast"
    assert [o.path for o in catalog.upstream("model.bin", transitive=True)] == [
        "prepared.txt",
        "raw.txt",
    ]
    assert {o.path for o in catalog.downstream("raw.txt")} == {
        "prepared.txt",
        "report.json",
        "sub/w/o.txt",
    }


def remote_objects(path: Path) -> set[str]:
    return {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}


def test_push_sends_what_dvc_sends(
    repo: Path, tmp_path: Path, dvc_bin: str, freight_env: dict[str, str]
) -> None:
    """Only outputs that are cached, have a hash in the lock, and (for push) are not
    `push: false` travel: never the orphaned or stale lock entries (spec §3.4)."""
    theirs, ours = tmp_path / "theirs", tmp_path / "ours"
    run([dvc_bin, "remote", "add", "theirs", str(theirs)], repo, freight_env)
    run([dvc_bin, "remote", "add", "ours", str(ours)], repo, freight_env)
    run([dvc_bin, "push", "-r", "theirs"], repo, freight_env)
    run([*FREIGHT, "push", "-r", "ours"], repo, freight_env)
    assert remote_objects(ours) == remote_objects(theirs)
    sent = remote_objects(ours)
    for name in ("goneout.bin", "old.bin", "unsaved.bin"):
        oid = md5(DATA[name])
        assert f"files/md5/{oid[:2]}/{oid[2:]}" not in sent, name
    assert len(sent) == 7  # raw, prepared, model, m_small, mat x2, sub/w/o.txt


LEGACY_DVC2_LOCK = (
    "schema: '2.0'\nstages:\n  copy:\n    cmd: cp a.txt b.txt\n    deps:\n"
    + entry("a.txt", b"a\n", legacy=True)
    + "    outs:\n"
    + entry("b.txt", b"b\n", legacy=True)
)


def test_dvc2_lock_without_hash_reads_alike(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str]
) -> None:
    root = tmp_path / "r"
    root.mkdir()
    run(["git", "init", "-q"], root, freight_env)
    run([dvc_bin, "init", "-q"], root, freight_env)
    (root / "a.txt").write_bytes(b"a\n")
    (root / "dvc.yaml").write_text(
        "stages:\n  copy:\n    cmd: cp a.txt b.txt\n"
        "    deps:\n    - a.txt\n    outs:\n    - b.txt\n"
    )
    (root / "dvc.lock").write_text(LEGACY_DVC2_LOCK)
    theirs = changed_outs(json.loads(run([dvc_bin, "status", "--json"], root, freight_env)))
    ours = changed_outs(json.loads(run([*FREIGHT, "status", "--json"], root, freight_env)))
    assert ours == theirs == {"copy": {"b.txt": "not in cache"}}
    with Repo(root) as repo:
        (out,) = repo.catalog().outputs
    assert (out.legacy, out.hash_name) == (True, "md5-dos2unix")


DVC1_LOCK = """\
prepare:
  cmd: python prepare.py
  deps:
  - path: data.xml
    md5: a304afb96060aad90176268345e10355
  outs:
  - path: prepared
    md5: 20b786b6e6f80e2b3fcf17827ad18597.dir
"""
DVC0_STAGE = """\
md5: fd75c91bb60baf9bf36e4f64f0c1c7e0
cmd: python train.py
wdir: .
deps:
- md5: 53184cb9a5fcf12de2460a1545ea50d4
  path: train.py
outs:
- md5: 47b3781954c760e1bd19ac9e56e141b1
  path: model.pkl
  cache: true
  metric: false
  persist: false
"""


@pytest.mark.parametrize(
    ("name", "text", "yaml"),
    [
        (
            "dvc.lock",
            DVC1_LOCK,
            "stages:\n  prepare:\n    cmd: python prepare.py\n"
            "    deps:\n    - data.xml\n    outs:\n    - prepared\n",
        ),
        ("train.dvc", DVC0_STAGE, None),
    ],
    ids=["dvc1-lock", "dvc0-stage-file"],
)
def test_formats_dvc3_refuses_load_in_freight(
    tmp_path: Path,
    dvc_bin: str,
    freight_env: dict[str, str],
    name: str,
    text: str,
    yaml: str | None,
) -> None:
    """DVC 3.67.1 rejects these (schema validation) but public repositories still hold
    them: freight reads their outputs, as legacy (md5-dos2unix) hashes."""
    root = tmp_path / "r"
    root.mkdir()
    run(["git", "init", "-q"], root, freight_env)
    run([dvc_bin, "init", "-q"], root, freight_env)
    (root / name).write_text(text)
    if yaml:
        (root / "dvc.yaml").write_text(yaml)
    assert "validation failed" in run([dvc_bin, "status"], root, freight_env, ok=False)
    status = json.loads(run([*FREIGHT, "status", "--json"], root, freight_env))
    with Repo(root) as repo:
        catalog = repo.catalog()
    (out,) = catalog.outputs
    assert out.legacy and out.oid is not None
    assert status == {catalog.stages[0].address: [{"changed outs": {out.path: "not in cache"}}]}


GENERATED = """\
vars:
- conf.json:sizes
- {suffix: bin}
stages:
  scal:
    foreach: [a, 1, true, 2.5]
    do:
      cmd: echo ${item}
      outs:
      - s_${item}.${suffix}
  maps:
    foreach:
    - {n: p}
    - {n: q}
    do:
      cmd: echo ${item.n}
      outs:
      - m_${item.n}
  dict:
    foreach: ${models}
    do:
      cmd: echo ${key}
      wdir: ${item.dir}
      outs:
      - d_${key}_${item.v}
  mat:
    matrix:
      x: ${sizes}
      y: [{z: 1}, b]
    cmd: echo ${item.x}
    outs:
    - x_${item.x}_${key}
  own:
    cmd: echo
    vars:
    - local.yaml
    outs:
    - ${local_out}
    - ${models.k1.dir}/${sizes[1]}.txt
"""


def test_generated_names_and_paths_match_dvc(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str]
) -> None:
    """Nothing has run: DVC reports every output `deleted`, so its status lists exactly
    the stage names and output paths it resolved."""
    root = tmp_path / "r"
    root.mkdir()
    run(["git", "init", "-q"], root, freight_env)
    run([dvc_bin, "init", "-q"], root, freight_env)
    (root / "params.yaml").write_text("models:\n  k1: {v: 1, dir: w1}\n  k2: {v: 2, dir: w2}\n")
    (root / "conf.json").write_text('{"sizes": [16, 32], "other": 0}')
    (root / "local.yaml").write_text("local_out: own.txt\n")
    for folder in ("w1", "w2"):
        (root / folder).mkdir()
    (root / "dvc.yaml").write_text(GENERATED)
    theirs = changed_outs(json.loads(run([dvc_bin, "status", "--json"], root, freight_env)))
    ours = changed_outs(json.loads(run([*FREIGHT, "status", "--json"], root, freight_env)))
    assert ours == theirs
    assert len(theirs) == 13
