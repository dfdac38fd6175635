"""`Repo.catalog()`: outputs, stages and the lineage graph, from metafiles alone; and the
DVC loading rules it shares with status, push and fetch."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from freight import Catalog, Edge, Output, Repo, Stage
from freight.errors import MetafileError


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def lock_entry(path: str, text: str) -> str:
    return f"    - path: {path}\n      hash: md5\n      md5: {md5(text)}\n      size: {len(text)}\n"


def dvcfile(path: str, text: str, extra: str = "") -> str:
    name = path.rsplit("/", 1)[-1]
    return f"outs:\n- md5: {md5(text)}\n  size: {len(text)}\n  hash: md5\n  path: {name}\n{extra}"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """raw (a .dvc dir) -> prepare -> features/ -> train -> model.bin, metrics.json;
    report reads model.bin; `never` never ran; sub/dvc.yaml (wdir) reads features/a."""
    root = tmp_path / "repo"
    Repo.init(root, no_scm=True).close()
    (root / "raw").mkdir()
    (root / "raw.dvc").write_text(
        dvcfile("raw", "x", "  desc: raw data\n  labels: [src]\n").replace(
            md5("x"), md5("x") + ".dir"
        )
    )
    (root / "params.yaml").write_text("feat: features\n")
    (root / "dvc.yaml").write_text(
        "stages:\n"
        "  prepare:\n    cmd: prep\n    deps:\n    - raw/part1.csv\n    - prep.py\n"
        "    outs:\n    - ${feat}\n"
        "  train:\n    cmd: [train, --fast]\n    desc: fit it\n    deps:\n    - features\n"
        "    outs:\n    - model.bin:\n        type: model\n        meta: {framework: torch}\n"
        "    metrics:\n    - metrics.json:\n        cache: false\n"
        "  report:\n    cmd: report\n    frozen: true\n    deps:\n    - model.bin\n"
        "    outs:\n    - report.html:\n        push: false\n"
        "  never:\n    cmd: later\n    outs:\n    - later.bin\n"
    )
    (root / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n"
        "  prepare:\n    cmd: prep\n    outs:\n" + lock_entry("features", "f") + "  train:\n"
        "    cmd: train --fast\n    outs:\n"
        + lock_entry("model.bin", "m")
        + lock_entry("metrics.json", "{}")
        + "  report:\n    cmd: report\n    outs:\n"
        + lock_entry("report.html", "r")
        + "  gone:\n    cmd: gone\n    outs:\n"
        + lock_entry("gone.bin", "g")
    )
    (root / "sub").mkdir()
    (root / "sub/dvc.yaml").write_text(
        "stages:\n  s:\n    cmd: s\n    wdir: ..\n    deps:\n    - features/a\n"
        "    outs:\n    - sub/out.txt\n"
    )
    return root


def test_catalog_outputs_stages_and_edges(project: Path) -> None:
    with Repo(project) as repo:
        catalog = repo.catalog()
    assert isinstance(catalog, Catalog)
    paths = [o.path for o in catalog.outputs]  # directory order, as DVC walks
    assert set(paths) == {
        "raw",
        "features",
        "model.bin",
        "metrics.json",
        "report.html",
        "later.bin",
        "sub/out.txt",
    }
    pipeline = [p for p in paths if p not in ("raw", "sub/out.txt")]
    assert pipeline == ["features", "model.bin", "metrics.json", "report.html", "later.bin"]
    assert "gone.bin" not in {o.path for o in catalog.outputs}
    train = catalog.stage("train")
    assert train == Stage(
        name="train",
        dvcfile="dvc.yaml",
        wdir=".",
        cmd=("train", "--fast"),
        deps=("features",),
        outs=("model.bin", "metrics.json"),
        desc="fit it",
        recorded=True,
    )
    assert catalog.stage("report").frozen
    assert not catalog.stage("never").recorded
    assert catalog.stage("sub/dvc.yaml:s").wdir == "."
    assert set(catalog.edges) == {
        Edge("raw", "prepare", "features"),  # a dep inside an output
        Edge("features", "train", "model.bin"),
        Edge("features", "train", "metrics.json"),
        Edge("model.bin", "report", "report.html"),
        Edge("features", "sub/dvc.yaml:s", "sub/out.txt"),
    }
    raw, model = catalog.output("raw"), catalog.output("model.bin")
    assert (raw.desc, raw.labels, raw.is_dir, raw.stage) == ("raw data", ("src",), True, None)
    assert (model.type, model.meta_value, model.stage) == ("model", {"framework": "torch"}, "train")
    assert catalog.output("later.bin").oid is None
    assert not catalog.output("metrics.json").cache
    assert not catalog.output("report.html").push


def test_graph_queries(project: Path) -> None:
    with Repo(project) as repo:
        catalog = repo.catalog()

    def paths(outputs: tuple[Output, ...]) -> list[str]:
        return [o.path for o in outputs]

    assert paths(catalog.upstream("model.bin")) == ["features"]
    assert paths(catalog.upstream("report.html", transitive=True)) == [
        "model.bin",
        "features",
        "raw",
    ]
    assert paths(catalog.upstream("raw")) == []
    assert paths(catalog.upstream("features/a/b.csv")) == ["raw"]  # inside an output
    assert paths(catalog.downstream("features")) == ["model.bin", "metrics.json", "sub/out.txt"]
    assert set(paths(catalog.downstream("raw", transitive=True))) == {
        "features",
        "model.bin",
        "metrics.json",
        "report.html",
        "sub/out.txt",
    }
    assert paths(catalog.downstream("prep.py")) == ["features"]  # a script, not an output
    assert paths(catalog.downstream("prep.py", transitive=True))[:1] == ["features"]
    producer = catalog.producer("features/x")
    assert producer is not None and producer.address == "prepare"
    assert catalog.producer("raw") is None
    with pytest.raises(KeyError):
        catalog.output("nope")


def test_catalog_is_frozen_json_safe_and_gives_lineage(project: Path) -> None:
    with Repo(project) as repo:
        catalog = repo.catalog()
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.outputs = ()  # type: ignore[misc]
    data = json.loads(json.dumps(catalog.to_dict()))
    model = next(o for o in data["outputs"] if o["path"] == "model.bin")
    assert model == {
        "path": "model.bin",
        "md5": md5("m"),
        "size": 1,
        "nfiles": None,
        "hash": "md5",
        "metafile": "dvc.lock",
        "stage": "train",
        "cache": True,
        "push": True,
        "remote": None,
        "desc": None,
        "type": "model",
        "labels": [],
        "meta": {"framework": "torch"},
        "uri": f"freight://{project}/model.bin",  # no Git origin: the workspace names it
    }
    assert next(s for s in data["stages"] if s["name"] == "train")["cmd"] == ["train", "--fast"]
    assert {"source": "model.bin", "stage": "report", "target": "report.html"} in data["edges"]
    lineage = catalog.lineage()
    assert lineage["model.bin"]["md5"] == md5("m")
    assert lineage["model.bin"]["uri"] == catalog.uri("model.bin") == model["uri"]
    assert set(lineage) == {o.path for o in catalog.outputs}
    assert len({*catalog.outputs}) == len(catalog.outputs)  # outputs stay hashable


@pytest.fixture
def audit() -> Iterator[list[tuple[str, str]]]:
    """Every file opened, process started and socket connected while the list is live."""
    events: list[tuple[str, str]] = []
    active = [True]

    def hook(event: str, args: tuple[object, ...]) -> None:
        if not active[0]:
            return
        if event == "open" and isinstance(args[0], (str, bytes, Path)):
            events.append(("open", str(args[0])))
        elif event in ("subprocess.Popen", "os.exec", "os.posix_spawn", "socket.connect"):
            events.append((event, str(args[0])))

    sys.addaudithook(hook)  # cannot be removed: `active` switches it off
    yield events
    active[0] = False


def test_catalog_reads_only_metafiles(project: Path, audit: list[tuple[str, str]]) -> None:
    (project / "features").mkdir()
    (project / "features/a").write_text("data")
    (project / "model.bin").write_text("model")
    repo = Repo(project)
    audit.clear()
    repo.catalog()
    opened = {Path(p).name for kind, p in audit if kind == "open"}
    assert [e for e in audit if e[0] != "open"] == []  # no Git, no network
    assert opened <= {".dvcignore", "raw.dvc", "dvc.yaml", "dvc.lock", "params.yaml"}, opened
    repo.close()


def test_status_follows_dvc_rules(project: Path) -> None:
    """(2) a missing `cache: false` output is `deleted`; (3) lock entries of removed stages
    are not reported; (4) stages without a lock entry report their outputs `deleted`."""
    with Repo(project) as repo:
        changes = repo.status().changes
    assert changes["train"] == {"model.bin": "not in cache", "metrics.json": "deleted"}
    assert changes["never"] == {"later.bin": "deleted"}
    assert changes["sub/dvc.yaml:s"] == {"sub/out.txt": "deleted"}
    assert "gone" not in changes and "gone.bin" not in json.dumps(changes)


def test_push_skips_unhashed_uncached_and_orphaned(project: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    (project / ".dvc/config").write_text(
        f"[core]\n    no_scm = True\n    remote = r\n['remote \"r\"']\n    url = {remote}\n"
    )
    for name, text in (("model.bin", "m"), ("report.html", "r"), ("gone.bin", "g")):
        (project / name).write_text(text)
    with Repo(project) as repo:
        for name in ("model.bin", "report.html", "gone.bin"):
            oid = md5((project / name).read_text())
            path = repo.cache.root / "files/md5" / oid[:2] / oid[2:]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text((project / name).read_text())
        pushed = repo.push()
    assert pushed.transferred == 1  # model.bin: report.html is push: false, gone.bin orphaned
    assert {p.read_text() for p in remote.rglob("*") if p.is_file()} == {"m"}


def test_targets_name_pipeline_files_and_stages(project: Path) -> None:
    with Repo(project) as repo:
        assert {o.path for o in repo.status(["dvc.yaml"]).outputs} == {
            "features",
            "model.bin",
            "metrics.json",
            "report.html",
            "later.bin",
        }
        assert [o.path for o in repo.status(["sub/dvc.yaml"]).outputs] == ["sub/out.txt"]
        assert [o.path for o in repo.status(["sub/dvc.yaml:s"]).outputs] == ["sub/out.txt"]
        assert [o.path for o in repo.status(["dvc.yaml:train"]).outputs] == [
            "model.bin",
            "metrics.json",
        ]
        assert {o.path for o in repo.status(["report"], with_deps=True).outputs} == {
            "report.html",
            "model.bin",
            "features",
            "raw",
        }


def test_a_broken_pipeline_fails_with_one_line(project: Path) -> None:
    (project / "sub/dvc.yaml").write_text("stages:\n  s:\n    cmd: x\n    outs:\n    - ${nope}\n")
    with Repo(project) as repo, pytest.raises(MetafileError) as info:
        repo.catalog()
    assert str(info.value) == "sub/dvc.yaml: stage 's': cannot resolve '${nope}'"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_history_reads_variables_at_each_revision(tmp_path: Path) -> None:
    """`push -A` resolves `${...}` with the params.yaml of each commit, not the workspace's."""
    root, remote = tmp_path / "repo", tmp_path / "remote"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    Repo.init(root).close()
    (root / ".dvc/config").write_text(
        f"[core]\n    remote = r\n['remote \"r\"']\n    url = {remote}\n"
    )
    (root / "dvc.yaml").write_text("stages:\n  s:\n    cmd: x\n    outs:\n    - ${out}\n")
    with Repo(root) as repo:
        for version in ("one", "two"):
            (root / "params.yaml").write_text(f"out: {version}.txt\n")
            (root / "dvc.lock").write_text(
                "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    outs:\n"
                + lock_entry(f"{version}.txt", version)
            )
            (root / f"{version}.txt").write_text(version)
            oid = md5(version)
            obj = repo.cache.root / "files/md5" / oid[:2] / oid[2:]
            obj.parent.mkdir(parents=True, exist_ok=True)
            obj.write_text(version)
            git(root, "add", "-A")
            git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", version)
        assert repo.push(all_commits=True).transferred == 2
    assert {p.read_text() for p in remote.rglob("*") if p.is_file()} == {"one", "two"}
