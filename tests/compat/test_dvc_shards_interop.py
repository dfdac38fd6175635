"""Sharded push and fetch (concurrent shard processes) and the real DVC 3.67.1 agree.

A plan's shards run at once in separate processes, then the final ordinary push or fetch;
`dvc pull` / `dvc status -c` in a fresh clone must agree with the result, and DVC must be
kept out by the lock the shards hold.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from freight import Repo
from freight.lock import repo_lock
from test_dvc_interop import FREIGHT, IN_DIR, make_repo, run, workspace

pytestmark = pytest.mark.dvc
TARGETS = ["data", "foo.txt", "#h", "f 1.bin"]
SHARD = """
import json, sys
from freight import Repo
with Repo(sys.argv[1]) as repo:
    run = repo.push if sys.argv[2] == "push" else repo.fetch
    result = run(shard=json.loads(sys.argv[3]))
print(json.dumps([result.transferred, result.skipped, len(result.failed)]))
"""


def run_shards(
    root: Path, direction: str, shards: list[dict[str, object]], env: dict[str, str]
) -> list[list[int]]:
    """Every shard in its own process, all at once (the dicts go through JSON)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SHARD, str(root), direction, json.dumps(s)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in shards
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out))
    return results


def _cloud(tool: list[str], repo: Path, env: dict[str, str]) -> dict[str, str]:
    return json.loads(run([*tool, "status", "-c", "--json"], repo, env) or "{}")


def test_sharded_push_then_dvc_pull_and_sharded_fetch_then_dvc_status(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str]
) -> None:
    src = make_repo(tmp_path / "src", freight_env)
    for i in range(120):  # enough files for every shard to have some
        (src / "data" / "many" / f"{i:03d}.bin").parent.mkdir(parents=True, exist_ok=True)
        (src / "data" / "many" / f"{i:03d}.bin").write_bytes(bytes([i]) * (i * 53))
    run([*FREIGHT, "init", "-q"], src, freight_env)
    run([*FREIGHT, "add", "-q", "--", *TARGETS], src, freight_env)
    run([*FREIGHT, "remote", "add", "-d", "store", "../remote"], src, freight_env)
    run(["git", "add", "-A"], src, freight_env)
    run(["git", "commit", "-qm", "data"], src, freight_env)

    with Repo(src) as repo:
        plan = repo.plan("push", TARGETS, shards=4)
    assert plan.objects == len(set(IN_DIR.values())) + 120 + 3 - 1  # b"" of many/000 is "empty"
    results = run_shards(src, "push", plan.shards, freight_env)
    assert [r[0] for r in results] == list(plan.shard_objects) and sum(r[2] for r in results) == 0
    assert not list((tmp_path / "remote").rglob("*.dir"))  # no .dir from a shard
    # the files are there, the .dir is not: both tools see the directory as not pushed
    partial = [_cloud(tool, src, freight_env) for tool in ([dvc_bin], FREIGHT)]
    assert partial[0] == partial[1] == {"data": "new"}

    with repo_lock(src / ".dvc" / "tmp" / "lock", shared=True):  # a shard is running
        blocked = subprocess.run(
            [dvc_bin, "push"], cwd=src, env=freight_env, capture_output=True, text=True
        )
    assert blocked.returncode != 0 and "Unable to acquire lock" in blocked.stderr

    assert "1 file pushed" in run([*FREIGHT, "push", *TARGETS], src, freight_env)
    assert [_cloud(tool, src, freight_env) for tool in ([dvc_bin], FREIGHT)] == [{}, {}]

    theirs = tmp_path / "theirs"
    run(["git", "clone", "-q", str(src), str(theirs)], tmp_path, freight_env)
    run([dvc_bin, "pull"], theirs, freight_env)
    assert workspace(theirs) == workspace(src)
    assert "Cache and remote 'store' are in sync" in run(
        [dvc_bin, "status", "-c"], theirs, freight_env
    )

    ours = tmp_path / "ours"
    run(["git", "clone", "-q", str(src), str(ours)], tmp_path, freight_env)
    with Repo(ours) as repo:
        fetch_plan = repo.plan("fetch", shards=4)
    assert fetch_plan.objects == plan.objects
    results = run_shards(ours, "fetch", fetch_plan.shards, freight_env)
    assert [r[0] for r in results] == list(fetch_plan.shard_objects)
    assert "Everything is up to date." in run([*FREIGHT, "fetch"], ours, freight_env)
    run([*FREIGHT, "checkout"], ours, freight_env)
    assert workspace(ours) == workspace(src)
    assert "up to date" in run([dvc_bin, "status"], ours, freight_env)
    assert "are in sync" in run([dvc_bin, "status", "-c"], ours, freight_env)
    assert "Everything is up to date." in run([dvc_bin, "pull"], ours, freight_env)
