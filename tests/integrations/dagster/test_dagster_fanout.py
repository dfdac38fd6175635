"""A large output's transfer fanned out over the core's plan shards (dynamic outputs),
then the finishing step: the remote ends up as a plain push leaves it, and a sharded pull
into a fresh clone reproduces the data byte for byte."""

from __future__ import annotations

import random
from pathlib import Path

import dagster as dg
import freight
import pytest
from dagster_freight import FreightResource, freight_fanout_asset
from dagster_support import ORIGIN, clone, commit, git, materializations, tree


def test_sharded_push_then_pull(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    git(work, "remote", "add", "origin", ORIGIN)
    rng = random.Random(11)
    with freight.Repo.init(work) as repo:
        for i in range(60):
            path = work / "images" / f"{i % 3}" / f"img-{i:03d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(rng.randbytes(rng.randint(1, 4096)))
        repo.add(["images"])
    commit(work)
    sharded, plain = tmp_path / "sharded-remote", tmp_path / "plain-remote"
    with freight.Repo(work, config={"remote": {"p": {"url": str(plain)}}}) as repo:
        repo.push(remote="p").raise_for_failures()

    push = freight_fanout_asset(str(work), "images", shards=3, direction="push")
    resource = FreightResource(repo_path=str(work), remote_url=str(sharded))
    result = dg.materialize([push], resources={"freight": resource}, instance=instance)
    assert result.success
    shard_steps = {
        e.step_key for e in result.get_step_success_events() if "images_shard" in (e.step_key or "")
    }
    assert len(shard_steps) == 3
    (mat,) = materializations(result).values()
    md5 = mat.metadata["md5"].value
    assert md5 == mat.tags["dagster/data_version"] and md5.endswith(".dir")
    assert mat.metadata["shards"].value == 3 and mat.metadata["shard_objects"].value == 60
    assert tree(sharded) == tree(plain)  # the same objects, the `.dir` included

    fresh = clone(work, tmp_path / "fresh")
    pull = freight_fanout_asset(str(fresh), "images", shards=2)
    resource = FreightResource(repo_path=str(fresh), remote_url=str(sharded))
    result = dg.materialize([pull], resources={"freight": resource}, instance=instance)
    assert result.success
    assert tree(fresh / "images") == tree(work / "images")
    (mat,) = materializations(result).values()
    assert mat.metadata["md5"].value == md5 and mat.metadata["shard_objects"].value == 60

    with pytest.raises(ValueError, match="not an output"):
        freight_fanout_asset(str(fresh), "nope")
    with pytest.raises(ValueError, match="direction"):
        freight_fanout_asset(str(fresh), "images", direction="sideways")  # type: ignore[arg-type]
