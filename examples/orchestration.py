"""freight's API for orchestrators, end to end, on a local-folder remote.

What an Airflow DAG, a Prefect flow or a Dagster job does with freight, without one:

1. a Git repository with a DVC project and a dataset of 400 files;
2. a remote defined only in memory (`Repo(path, config=...)`: nothing is written to disk);
3. the catalog an orchestrator renders into tasks/assets, with each dataset's stable URI;
4. a push planned into 2 shards, passed through JSON as an orchestrator passes them, and run
   by 2 worker processes at the same time; then a final push that uploads the `.dir` and
   checks everything;
5. a second clone fetched the same way and compared byte for byte;
6. the lineage record each step published.
"""

from __future__ import annotations

import filecmp
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from freight import LoggingCallback, Repo

ORIGIN = "https://github.com/example/freight-orchestration-example.git"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "example",
    "GIT_AUTHOR_EMAIL": "e@example.com",
    "GIT_COMMITTER_NAME": "example",
    "GIT_COMMITTER_EMAIL": "e@example.com",
}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True, capture_output=True
    )


def overlay(remote: Path) -> dict[str, Any]:
    """What an integration builds from an Airflow Connection, a Prefect block or a Dagster
    resource (credentials would go here too)."""
    return {"core": {"remote": "store"}, "remote": {"store": {"url": str(remote)}}}


def worker(direction: str, project: str, remote: str, shard: dict[str, Any]) -> dict[str, Any]:
    """One mapped task: open the repository, run one shard, return a JSON-safe summary."""
    with Repo(project, config=overlay(Path(remote))) as repo:
        run = repo.push if direction == "push" else repo.fetch
        result = run(shard=shard)
    result.raise_for_failures()
    return {"shard": shard["shard"], "transferred": result.transferred, "bytes": result.bytes}


def fan_out(direction: str, project: Path, remote: Path, shards: list[dict[str, Any]]) -> None:
    with ProcessPoolExecutor(max_workers=len(shards)) as pool:
        futures = [pool.submit(worker, direction, str(project), str(remote), s) for s in shards]
        for future in futures:
            print(f"  {direction} shard:", json.dumps(future.result()))


def make_project(scratch: Path) -> Path:
    work = scratch / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    git(work, "remote", "add", "origin", ORIGIN)
    Repo.init(work).close()
    rng = random.Random(7)
    for i in range(400):
        path = work / "data" / "images" / f"{i // 100}" / f"img-{i:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(1, 8192)))
    with Repo(work) as repo:
        repo.add(["data/images"])
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "images")
    return work


def main(scratch: Path) -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stdout)
    log = logging.getLogger("pipeline")
    remote = scratch / "remote"
    work = make_project(scratch)
    with Repo(work, config=overlay(remote)) as repo:
        record = repo.catalog().lineage()["data/images"]
        print("catalog:", json.dumps({k: record[k] for k in ("uri", "md5", "nfiles", "rev")}))
        plan = repo.plan("push", ["data/images"], shards=2)
        print(f"plan: {plan.objects} objects, {plan.bytes} bytes, shards {plan.shard_objects}")
        fan_out("push", work, remote, json.loads(json.dumps(plan.shards)))
        done = repo.push(["data/images"], callback=LoggingCallback(log, "final push"))
        done.raise_for_failures()
        print("push lineage:", json.dumps(done.lineage()["data/images"]))
    clone = scratch / "clone"
    git(scratch, "clone", "-q", str(work), str(clone))
    git(clone, "remote", "set-url", "origin", ORIGIN)  # as if cloned from GitHub
    with Repo(clone, config=overlay(remote)) as repo:
        plan = repo.plan("fetch", ["data/images"], shards=2)
        fan_out("fetch", clone, remote, plan.shards)
        pulled = repo.pull(["data/images"], callback=LoggingCallback(log, "final pull"))
        pulled.raise_for_failures()
        print("pull lineage:", json.dumps(pulled.lineage()["data/images"]))
    same = filecmp.dircmp(work / "data" / "images", clone / "data" / "images")
    uris = {done.lineage()["data/images"]["uri"], pulled.lineage()["data/images"]["uri"]}
    if not _identical(same) or pulled.transferred != 0 or len(uris) != 1:
        sys.exit("the clone does not hold the pushed data under the same URI")
    print("verified: the clone holds identical data; the final pull moved nothing new")


def _identical(cmp: filecmp.dircmp[str]) -> bool:
    _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
    if cmp.left_only or cmp.right_only or mismatch or errors:
        return False
    return all(_identical(sub) for sub in cmp.subdirs.values())


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="freight-orchestration-") as tmp:
        main(Path(tmp))
