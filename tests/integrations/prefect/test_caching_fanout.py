"""The hash-keyed cache policy (hit for unchanged data, miss after a change) and a push and
fetch sharded over mapped task runs in threads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import TASK_SOURCE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_freight import DataHash, FreightRemote
from prefect_freight.fanout import fetch_sharded, push_sharded
from prefect_freight.tasks import add, checkout, push
from prefect_support import clone, commit, make_repo, run_async, tree, write

CALLS: list[str] = []


@task(cache_policy=DataHash() + TASK_SOURCE, persist_result=True)
def measure(repo_path: str, targets: list[str]) -> int:
    """A downstream step over tracked data: counts the bytes it reads."""
    CALLS.append(repo_path)
    return sum(p.stat().st_size for t in targets for p in (Path(repo_path) / t).rglob("*"))


@flow
def analyse(repo_path: str) -> Any:
    return measure(repo_path, ["data"], return_state=True)


@flow
def track(repo_path: str) -> Any:
    return add(repo_path, ["data"])


def test_data_hash_cache_hits_for_unchanged_data_and_misses_after_a_change(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", {"data/a.txt": b"aaaa", "data/b.txt": b"bb"})
    track(str(repo))
    first, second = analyse(str(repo)), analyse(str(repo))
    assert first.name == "Completed" and second.name == "Cached"
    assert second.result() == first.result() == 6 and len(CALLS) == 1

    write(repo, {"data/a.txt": b"changed!"})  # not added yet: the md5 does not describe it
    assert analyse(str(repo)).name == "Completed" and len(CALLS) == 2
    track(str(repo))  # a new md5
    changed, again = analyse(str(repo)), analyse(str(repo))
    assert changed.name == "Completed" and changed.result() == 10
    assert again.name == "Cached" and len(CALLS) == 3


@flow(task_runner=ThreadPoolTaskRunner(max_workers=3))  # type: ignore[arg-type]
def sharded_push(repo_path: str, remote: FreightRemote) -> dict[str, Any]:
    return push_sharded(repo_path, shards=3, remote=remote)


@flow(task_runner=ThreadPoolTaskRunner(max_workers=3))  # type: ignore[arg-type]
def sharded_pull(repo_path: str, remote: FreightRemote) -> dict[str, Any]:
    fetched = fetch_sharded(repo_path, "data", shards=3, remote=remote)
    checkout(repo_path, "data", wait_for=[fetched])
    return fetched


@flow
def plain_push(repo_path: str, remote: FreightRemote) -> dict[str, Any]:
    return push(repo_path, remote=remote)


def test_mapped_shards_give_the_remote_a_plain_push_gives(tmp_path: Path) -> None:
    files = {f"data/part-{i:02d}.bin": bytes([i]) * (50 + 7 * i) for i in range(30)}
    src = make_repo(tmp_path / "src", {**files, "model.bin": b"m" * 300})
    track(str(src))
    add.fn(str(src), "model.bin")
    sharded, plain = tmp_path / "sharded", tmp_path / "plain"
    done = sharded_push(str(src), FreightRemote(url=str(sharded)))
    plain_push(str(src), FreightRemote(url=str(plain)))
    assert tree(sharded) == tree(plain) and len(tree(plain)) == 32  # 31 files, 1 .dir
    assert done["transferred"] == 1 and done["skipped"] == 31  # the shards moved the rest
    names = run_async(task_run_names)
    assert names.count("freight-push") >= 4  # 3 mapped shards and the finishing push

    commit(src)
    dest = clone(src, tmp_path / "dest")
    fetched = sharded_pull(str(dest), FreightRemote(url=str(sharded)))
    assert tree(dest / "data") == tree(src / "data")
    assert fetched["lineage"]["data"]["md5"].endswith(".dir")


async def task_run_names(client: Any) -> list[str]:
    return [t.name.rsplit("-", 1)[0] for t in await client.read_task_runs(limit=200)]
