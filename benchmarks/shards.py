"""Sharded push and fetch (transfer plans fanned out over processes) vs plain freight.

    .tools/bin/uv run python benchmarks/shards.py [--size 20000x4KiB] [--shards 1,2,4]
        [--remote local,seaweedfs]

One workspace with the dataset added. For each remote (a local folder; a bucket on a
SeaweedFS S3 server on 127.0.0.1 that the script starts and stops), each run goes to a
fresh remote location and each fetch into a fresh, empty cache directory: a plain
`freight push`, then `freight fetch`; then for each shard count, `plan` (one process), the
shard processes all at once, and the final ordinary `push` (it uploads the `.dir`), then
the same for fetch (the plan downloads the `.dir`; the final `fetch` finds nothing to do);
then plain push and fetch again, to show how much the machine drifted during the run.
Every step is a child process, timed by wall clock. With fewer cores than shards the
shards share the cores: read the figures against `os.cpu_count()`, printed first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import WORK, Remote, find_tools, generate, reset, seaweedfs  # benchmarks/ is on the path

PLAN = """
import json, sys
from pathlib import Path
from freight import Repo
with Repo(sys.argv[1]) as repo:
    plan = repo.plan(sys.argv[2], shards=int(sys.argv[3]))
for i, shard in enumerate(plan.shards):
    Path(sys.argv[4], f"shard-{i}.json").write_text(json.dumps(shard))
print(plan.objects, plan.bytes, list(plan.shard_objects))
"""
SHARD = """
import json, sys
from freight import Repo
with Repo(sys.argv[1]) as repo:
    run = repo.push if sys.argv[2] == "push" else repo.fetch
    result = run(shard=json.loads(open(sys.argv[3]).read()))
assert result.ok and not result.missing, (result.failed[:3], result.missing[:3])
print(result.transferred)
"""


@dataclass
class Row:
    remote: str
    op: str
    shards: int  # 0: plain freight
    plan: float = 0.0
    work: float = 0.0
    final: float = 0.0

    @property
    def total(self) -> float:
        return self.plan + self.work + self.final


def timed(cmds: list[list[str]], cwd: Path) -> float:
    """Run the commands at once; wall time until the last one ends (each must succeed)."""
    start = time.perf_counter()
    procs = [
        subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for cmd in cmds
    ]
    outputs = [proc.communicate(timeout=3600)[0] for proc in procs]
    wall = time.perf_counter() - start
    for cmd, proc, out in zip(cmds, procs, outputs, strict=True):
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[:4])} failed:\n{out.decode(errors='replace')[-2000:]}")
    return wall


def setup(repo: Path, src: Path, freight: list[str]) -> None:
    reset([repo])
    repo.mkdir(parents=True)
    subprocess.run([*freight, "init", "--no-scm", "-q"], cwd=repo, check=True)
    subprocess.run(["cp", "-rp", str(src), str(repo / "data")], check=True)
    subprocess.run([*freight, "add", "-q", "data"], cwd=repo, check=True)


def point(repo: Path, freight: list[str], url: str, target: Remote | None) -> None:
    """Make `r` the default remote at `url` (a fresh location: nothing there yet)."""
    config = repo / ".dvc" / "config"
    config.write_text("[core]\n    no_scm = True\n")
    (repo / ".dvc" / "config.local").unlink(missing_ok=True)
    settings = [["remote", "add", "-d", "r", url]]
    if target:
        settings += [["remote", "modify", "r", k, v] for k, v in target.options.items()]
        settings += [["remote", "modify", "--local", "r", k, v] for k, v in target.secrets.items()]
    for args in settings:
        subprocess.run([*freight, *args], cwd=repo, check=True, capture_output=True)


def sharded(repo: Path, op: str, n: int, freight: list[str], row: Row) -> None:
    plans = WORK / "plans"
    reset([plans])
    plans.mkdir(parents=True)
    py = sys.executable
    row.plan = timed([[py, "-c", PLAN, str(repo), op, str(n), str(plans)]], repo)
    shards = [[py, "-c", SHARD, str(repo), op, str(plans / f"shard-{i}.json")] for i in range(n)]
    row.work = timed(shards, repo)
    row.final = timed([[*freight, op, "-q"]], repo)


def bench_remote(name: str, src: Path, counts: list[int], target: Remote | None) -> list[Row]:
    freight = find_tools(["freight"])["freight"]
    repo = WORK / f"shards-{name}"
    setup(repo, src, freight)
    rows: list[Row] = []
    base = target.url if target else str(WORK / f"shards-{name}-remote")
    caches = WORK / f"shards-{name}-caches"
    reset([caches, *([] if target else [Path(base)])])
    # plain first and last: the difference between the two shows how much the machine
    # drifted during the run (other load, the filesystem's deferred work)
    for run, n in enumerate([0, *counts, 0]):
        point(repo, freight, f"{base}/run-{run}", target)
        for op in ("push", "fetch"):
            if op == "fetch":  # into a new, empty cache (the workspace keeps the data)
                with open(repo / ".dvc" / "config", "a") as config:
                    config.write(f"[cache]\n    dir = {caches / f'run-{run}'}\n")
            row = Row(name, op, n)
            if n == 0:
                row.work = timed([[*freight, op, "-q"]], repo)
            else:
                sharded(repo, op, n, freight, row)
            rows.append(row)
            label = f"{n} shard{'s' if n != 1 else ''}" if n else "plain"
            print(
                f"  {name:9} {op:5} {label:9} plan {row.plan:6.2f}  shards {row.work:6.2f}  "
                f"final {row.final:6.2f}  total {row.total:6.2f} s",
                flush=True,
            )
    reset([repo, caches, *([] if target else [Path(base)])])
    return rows


def table(rows: list[Row], size: str) -> str:
    lines = [
        f"| {size} | op | mode | plan s | shards s | final s | total s | vs plain |",
        "|---|---|---|---|---|---|---|---|",
    ]
    plain: dict[tuple[str, str], float] = {}
    for r in rows:  # the first plain run of each remote and op
        if r.shards == 0:
            plain.setdefault((r.remote, r.op), r.total)
    for r in rows:
        mode = f"{r.shards} shard process{'es' if r.shards != 1 else ''}" if r.shards else "plain"
        ratio = plain[(r.remote, r.op)] / r.total if r.total else 0.0
        cells = [f"{x:.2f}" if r.shards else "" for x in (r.plan, r.work, r.final)]
        if not r.shards:
            cells[1] = f"{r.work:.2f}"
        lines.append(
            f"| {r.remote} | {r.op} | {mode} | {' | '.join(cells)} | {r.total:.2f} | {ratio:.2f}x |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="20000x4KiB")
    parser.add_argument("--shards", default="1,2,4")
    parser.add_argument("--remote", default="local,seaweedfs")
    parser.add_argument("--json", type=Path, help="also write raw results here")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    counts = [int(n) for n in args.shards.split(",")]
    print(f"{args.size}: generating; {os.cpu_count()} CPU cores", flush=True)
    src = generate(args.size)
    rows: list[Row] = []
    for name in args.remote.split(","):
        with contextlib.ExitStack() as stack:
            target = stack.enter_context(seaweedfs()) if name == "seaweedfs" else None
            rows.extend(bench_remote(name, src, counts, target))
    print()
    print(table(rows, args.size))
    if args.json:
        data = [{**vars(r), "total": r.total} for r in rows]
        args.json.write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
