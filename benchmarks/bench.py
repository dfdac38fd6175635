"""freight vs DVC on the same machine, in one run.

    .tools/bin/uv run python benchmarks/bench.py [--sizes 20000x4KiB,...] [--ops ...]
        [--remote local|seaweedfs]

For every dataset and tool: a fresh Git + DVC repo, then `add`, clean `status`, `checkout`
into an emptied workspace, `push` to the remote (a local folder, or a bucket on a SeaweedFS
S3 server on 127.0.0.1 that the script starts and stops), a no-op `push`, `status -c`,
`fetch` into an emptied cache and `pull` into an emptied workspace and cache. Each command
runs as a child process; wall time, CPU (user + sys) and peak RSS come from `wait4`.
Floors for comparison: hashing every byte (hashlib md5) and `cp -r` of the dataset.
DVC is the pinned `dvc[s3]==3.67.1`, run from an isolated `uv tool` environment.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA, WORK = HERE / ".data", HERE / ".work"
DVC_VERSION = "3.67.1"
DEFAULT_SIZES = "1x1GiB,1000x1MiB,20000x4KiB,100000x256B"
OPS = ("add", "status", "checkout", "push", "push-noop", "status-c", "fetch", "pull")
REPORTED = (*OPS, "status-api")  # status-api: Repo.status() repeated in one process
UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


@dataclass
class Run:
    dataset: str
    tool: str
    op: str
    wall: float
    cpu: float
    rss_mib: float


def parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)(B|KiB|MiB|GiB)", text)
    if not match:
        raise SystemExit(f"bad size {text!r}: expected NxSIZE such as 20000x4KiB")
    return int(match.group(1)), int(match.group(2)) * UNITS[match.group(3)]


def generate(name: str) -> Path:
    """Deterministic dataset in `.data/<name>/data`, 256 files per directory, old mtimes."""
    count, size = parse_size(name)
    root = DATA / name / "data"
    if (DATA / name / ".done").exists():
        return root
    shutil.rmtree(DATA / name, ignore_errors=True)
    rng = random.Random(count * 7919 + size)
    old = time.time() - 3600
    for i in range(count):
        path = root / f"{i // 65536:02x}" / f"{(i // 256) % 256:02x}" / f"{i:07d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as stream:
            left = size
            while left:
                chunk = min(left, 1 << 24)
                stream.write(rng.randbytes(chunk))
                left -= chunk
        os.utime(path, (old, old))
    (DATA / name / ".done").touch()
    return root


GNU_TIME = shutil.which("time") if Path("/usr/bin/time").exists() else None


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Run `cmd`; (wall s, CPU s, peak RSS MiB) of the command itself.

    Peak RSS comes from GNU time where it exists: a child forked from this (larger)
    process would otherwise report this process's RSS as its own peak.
    """
    rss_file = WORK / "last.rss"
    wrapped = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *cmd] if GNU_TIME else cmd
    with open(WORK / "last.log", "wb") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = (WORK / "last.log").read_text(errors="replace")[-2000:]
        raise SystemExit(f"{' '.join(cmd)} failed ({code}) in {cwd}:\n{tail}")
    rss_kib = int(rss_file.read_text().split()[-1]) if GNU_TIME else usage.ru_maxrss
    return wall, usage.ru_utime + usage.ru_stime, rss_kib / 1024


def find_tools(wanted: list[str]) -> dict[str, list[str]]:
    tools = {}
    if "freight" in wanted:
        exe = shutil.which("freight") or str(Path(sys.executable).parent / "freight")
        tools["freight"] = [exe]
    if "dvc" in wanted:
        uv = (
            os.environ.get("FREIGHT_UV") or shutil.which("uv") or str(HERE.parent / ".tools/bin/uv")
        )
        out = subprocess.run(
            [
                uv,
                "tool",
                "run",
                "--from",
                f"dvc[s3]=={DVC_VERSION}",
                "python",
                "-c",
                "import sys; print(sys.prefix)",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        tools["dvc"] = [str(Path(out) / "bin" / "dvc")]
    return tools


TRASH = WORK / ".trash"


def reset(paths: list[Path]) -> None:
    """Move `paths` aside; they are deleted only when the whole run is over (`empty_trash`).

    ext4 does not reuse an inode freed in the last 5 s (305 s while its inode-table block
    waits in the journal), and each new file scans past those: creating 100,000 files
    right after deleting 100,000 took 60 s instead of 15 s here (perf: 70 % of the time in
    ext4's `recently_deleted`). Deleting between steps would time the harness's own `rm`,
    and unevenly: the faster tool runs its next step sooner after the delete.
    """
    TRASH.mkdir(parents=True, exist_ok=True)
    for path in paths:
        if path.is_dir():
            path.rename(TRASH / f"{len(os.listdir(TRASH))}-{path.name}")


def empty_trash() -> bool:
    """Delete what `reset` moved aside; whether there was anything."""
    if not TRASH.is_dir():
        return False
    subprocess.run(["chmod", "-R", "u+w", str(TRASH)], check=True)
    shutil.rmtree(TRASH)
    return True


#: how long a run waits after deleting a previous run's trees before it times anything:
#: measured 2026-12-06, `cp -r` of 20,000 files took 0.35 s on a quiet disk and 4.2-8.5 s
#: within seconds of deleting 100,000-file trees, with or without a `sync` and 6 s of waiting
SETTLE = 320.0


@dataclass(frozen=True)
class Remote:
    """Where pushes go: a URL and the `remote modify` options (secrets to config.local)."""

    url: str
    options: dict[str, str]
    secrets: dict[str, str]


def bench_tool(
    name: str, tool: str, exe: list[str], ops: list[str], src: Path, target: Remote | None
) -> list[Run]:
    repo, remote = WORK / f"{tool}-{name}", WORK / f"{tool}-{name}-remote"
    reset([repo, remote])
    repo.mkdir(parents=True)
    env = {
        # bytecode caches as on a normal install (both tools; the first command writes them)
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(repo / ".site"),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*exe, "init", "-q"], cwd=repo, env=env, check=True)
    (repo / ".gitignore").write_text("/.site\n")
    url = f"{target.url}/{tool}-{name}" if target else str(remote)
    settings = [["remote", "add", "-d", "r", url]]
    if target:
        settings += [["remote", "modify", "r", k, v] for k, v in target.options.items()]
        settings += [["remote", "modify", "--local", "r", k, v] for k, v in target.secrets.items()]
    for args in settings:
        subprocess.run([*exe, *args], cwd=repo, env=env, check=True, capture_output=True)
    subprocess.run(["cp", "-rp", str(src), str(repo / "data")], check=True)
    cache = repo / ".dvc" / "cache"
    steps = {
        "add": ([], ["add", "data"]),
        "status": ([], ["status"]),
        "checkout": ([repo / "data"], ["checkout"]),
        "push": ([], ["push"]),
        "push-noop": ([], ["push"]),
        "status-c": ([], ["status", "-c"]),
        "fetch": ([cache], ["fetch"]),
        "pull": ([repo / "data", cache], ["pull"]),
    }
    runs = []
    for op in OPS:
        doomed, args = steps[op]
        reset(doomed)
        os.sync()  # the previous step's writes reach the disk now, not during this one
        if op == "status":  # warm once: the reported figure is the second, clean run
            timed([*exe, *args], repo, env)
        wall, cpu, rss = timed([*exe, *args], repo, env)
        if op in ops:
            runs.append(Run(name, tool, op, wall, cpu, rss))
            print(
                f"  {tool:8} {op:10} {wall:8.2f} s  cpu {cpu:7.2f} s  rss {rss:7.1f} MiB",
                flush=True,
            )
        if op == "status" and tool == "freight" and "status-api" in ops:
            runs.append(api_status(name, repo, env))
    reset([repo, remote])
    return runs


API_STATUS = """
import gc, json, os, resource, sys, time
from freight import Repo
walls, fds, rss = [], [], []
with Repo(sys.argv[1]) as repo:
    for _ in range(int(sys.argv[2])):
        start = time.perf_counter()
        assert repo.status().clean
        walls.append(time.perf_counter() - start)
        gc.collect()
        fds.append(len(os.listdir("/proc/self/fd")))
        rss.append(int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
print(json.dumps({"walls": walls, "fds": fds, "rss": rss}))
"""
API_CALLS = 10


def api_status(name: str, repo: Path, env: dict[str, str]) -> Run:
    """`Repo.status()` called API_CALLS times in one process (an orchestrator's worker):
    the median call, and whether descriptors or memory grow from call to call."""
    proc = subprocess.run(
        [sys.executable, "-c", API_STATUS, str(repo), str(API_CALLS)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(proc.stdout)
    walls = sorted(got["walls"])
    median = walls[len(walls) // 2]
    grew_fds = got["fds"][-1] - got["fds"][1]
    grew_mib = (got["rss"][-1] - got["rss"][1]) / (1 << 20)
    print(
        f"  freight  status-api {median:8.2f} s  per call ({API_CALLS} calls in one process; "
        f"from call 2 to {API_CALLS}: {grew_fds:+d} fds, {grew_mib:+.1f} MiB RSS)",
        flush=True,
    )
    return Run(name, "freight", "status-api", median, 0.0, got["rss"][-1] / (1 << 20))


def startup(tools: dict[str, list[str]]) -> list[Run]:
    """`--version` of each tool: the median of five runs."""
    out = []
    for tool, exe in tools.items():
        walls = sorted(timed([*exe, "--version"], WORK, dict(os.environ))[0] for _ in range(5))
        out.append(Run("start-up", tool, "--version", walls[2], 0.0, 0.0))
        print(f"  {tool:8} --version  {walls[2]:8.2f} s", flush=True)
    return out


def floors(name: str, src: Path) -> list[Run]:
    code = (
        "import hashlib,os,sys\nfor d,_,fs in os.walk(sys.argv[1]):\n for f in fs:\n"
        "  h=hashlib.md5()\n  with open(os.path.join(d,f),'rb') as s:\n"
        "   while b:=s.read(1<<20): h.update(b)\n"
    )
    out = []
    wall, cpu, rss = timed([sys.executable, "-c", code, str(src)], WORK, dict(os.environ))
    out.append(Run(name, "floor", "md5 all", wall, cpu, rss))
    dest = WORK / "cp-floor"
    reset([dest])
    os.sync()
    wall, cpu, rss = timed(["cp", "-r", str(src), str(dest)], WORK, dict(os.environ))
    out.append(Run(name, "floor", "cp -r", wall, cpu, rss))
    reset([dest])
    for run in out:
        print(f"  {run.tool:8} {run.op:10} {run.wall:8.2f} s", flush=True)
    return out


def table(runs: list[Run]) -> str:
    lines = [
        "| dataset | op | freight s | dvc s | dvc/freight | freight CPU s | dvc CPU s "
        "| freight RSS MiB | dvc RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    by = {(r.dataset, r.tool, r.op): r for r in runs}
    for dataset in dict.fromkeys(r.dataset for r in runs):
        for op in [*REPORTED, "--version", "md5 all", "cp -r"]:
            f, d = by.get((dataset, "freight", op)), by.get((dataset, "dvc", op))
            fl = by.get((dataset, "floor", op))
            if fl:
                lines.append(f"| {dataset} | floor: {op} | {fl.wall:.2f} | | | | | | |")
            if not f and not d:
                continue
            ratio = f"{d.wall / f.wall:.1f}x" if f and d and f.wall else ""
            cells = [f"{x.wall:.2f}" if x else "" for x in (f, d)]
            cpu = [f"{x.cpu:.2f}" if x else "" for x in (f, d)]
            rss = [f"{x.rss_mib:.0f}" if x else "" for x in (f, d)]
            lines.append(
                f"| {dataset} | {op} | {cells[0]} | {cells[1]} | {ratio} | "
                f"{cpu[0]} | {cpu[1]} | {rss[0]} | {rss[1]} |"
            )
    return "\n".join(lines)


@contextlib.contextmanager
def seaweedfs() -> Iterator[Remote]:
    """A SeaweedFS S3 server with a fresh bucket, through the test suite's launcher."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from storage_servers import make_bucket, run_seaweedfs

    with run_seaweedfs() as server:
        bucket = make_bucket(server)
        options = {k: v for k, v in server.dvc_options.items() if "key" not in k}
        secrets = {k: v for k, v in server.dvc_options.items() if "key" in k}
        yield Remote(f"s3://{bucket}", options, secrets)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"default: {DEFAULT_SIZES}")
    parser.add_argument("--ops", default=",".join(REPORTED), help="operations to report")
    parser.add_argument("--tools", default="freight,dvc")
    parser.add_argument("--json", type=Path, help="also write raw results here")
    parser.add_argument("--remote", choices=("local", "seaweedfs"), default="local")
    parser.add_argument(
        "--no-settle",
        dest="settle",
        action="store_false",
        help=f"do not wait {SETTLE:.0f} s after deleting a previous run's trees",
    )
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    if empty_trash() and args.settle:  # a previous run's: ext4 then needs minutes (`reset`)
        print(f"deleted a previous run's trees: waiting {SETTLE:.0f} s before timing", flush=True)
        time.sleep(SETTLE)
    tools = find_tools(args.tools.split(","))
    runs: list[Run] = startup(tools)
    with contextlib.ExitStack() as stack:
        target = stack.enter_context(seaweedfs()) if args.remote == "seaweedfs" else None
        for name in args.sizes.split(","):
            print(f"{name}: generating", flush=True)
            src = generate(name)
            runs.extend(floors(name, src))
            for tool, exe in tools.items():
                runs.extend(bench_tool(name, tool, exe, args.ops.split(","), src, target))
    empty_trash()
    print()
    print(table(runs))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
