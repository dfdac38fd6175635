"""Project catalog speed: freight's `Repo.catalog()` vs DVC listing the same outputs.

    .tools/bin/uv run python benchmarks/catalog.py [--files 1000] [--stages 1000] [--runs 7]

Generates (once) a Git + DVC repository in `benchmarks/.work/catalog-<files>-<stages>`:
`--files` `.dvc` files (in folders of 100) and a `dvc.yaml` of `--stages` stages, each
reading one of the tracked files and a script, with its `dvc.lock`. The data files are not
created: listing outputs needs only the metafiles. Then times, as medians of `--runs`:

- freight in a fresh process (`python -c "...Repo(p).catalog()"`: interpreter, import and
  catalog), and the catalog alone as measured inside that process;
- freight in-process, after import (what an orchestrator that re-parses a DAG pays);
- `dvc ls --dvc-only -R --json .` and `dvc data status --json` (fewer runs: they are slow),
  DVC being the pinned `dvc[s3]==3.67.1` in an isolated `uv tool` environment.

Speed is measured here, never in the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

from bench import WORK, find_tools

CHILD = """
import sys, time
start = time.perf_counter()
from freight import Repo
imported = time.perf_counter()
with Repo(sys.argv[1]) as repo:
    catalog = repo.catalog()
done = time.perf_counter()
print(imported - start, done - imported, len(catalog.outputs), len(catalog.edges))
"""


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def generate(files: int, stages: int) -> Path:
    """The repository (made once; `.done` marks a complete one)."""
    root = WORK / f"catalog-{files}-{stages}"
    if (root / ".done").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    from freight import Repo

    Repo.init(root).close()
    for i in range(files):
        folder = root / "data" / f"{i // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05d}.csv.dvc").write_text(
            f"outs:\n- md5: {md5(str(i))}\n  size: {i}\n  hash: md5\n  path: f{i:05d}.csv\n"
        )
    definition, lock = ["stages:"], ["schema: '2.0'", "stages:"]
    for i in range(stages):
        dep = f"data/{(i % files) // 100:03d}/f{i % files:05d}.csv"
        definition += [
            f"  s{i}:",
            f"    cmd: python run.py {i}",
            "    deps:",
            f"    - {dep}",
            "    - run.py",
            "    outs:",
            f"    - out/o{i}.bin",
        ]
        lock += [f"  s{i}:", f"    cmd: python run.py {i}", "    deps:"]
        for path in (dep, "run.py"):
            lock += [f"    - path: {path}", "      hash: md5", f"      md5: {md5(path)}"]
            lock += ["      size: 3"]
        lock += ["    outs:", f"    - path: out/o{i}.bin", "      hash: md5"]
        lock += [f"      md5: {md5('o' + str(i))}", "      size: 3"]
    (root / "dvc.yaml").write_text("\n".join(definition) + "\n")
    (root / "dvc.lock").write_text("\n".join(lock) + "\n")
    (root / "run.py").write_text("pass\n")
    (root / ".done").touch()
    return root


def wall(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--stages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dvc-runs", type=int, default=3)
    parser.add_argument("--no-dvc", action="store_true")
    args = parser.parse_args()
    root = generate(args.files, args.stages)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    rows: list[tuple[str, float, int]] = []

    fresh, inner, counts = [], [], ""
    for _ in range(args.runs):
        elapsed, out = wall([sys.executable, "-c", CHILD, str(root)], root, env)
        _, catalog, outputs, edges = out.split()
        fresh.append(elapsed)
        inner.append(float(catalog))
        counts = f"{outputs} outputs, {edges} edges"
    runs = args.runs
    rows.append(("freight: fresh process (python + import + catalog)", median(fresh), runs))
    rows.append(("freight: catalog() inside that process", median(inner), runs))

    from freight import Repo

    warm = []
    for _ in range(args.runs):
        start = time.perf_counter()
        with Repo(root) as repo:
            repo.catalog()
        warm.append(time.perf_counter() - start)
    rows.append(("freight: Repo(path).catalog() in-process, after import", median(warm), runs))

    if not args.no_dvc:
        dvc = find_tools(["dvc"])["dvc"]
        for label, cmd in (
            ("dvc ls --dvc-only -R --json .", [*dvc, "ls", "--dvc-only", "-R", "--json", "."]),
            ("dvc data status --json", [*dvc, "data", "status", "--json"]),
        ):
            times = []
            for _ in range(args.dvc_runs):
                elapsed, out = wall(cmd, root, env)
                times.append(elapsed)
            if label.startswith("dvc ls"):
                counts += f"; dvc ls: {sum(1 for e in json.loads(out) if e['isout'])} outputs"
            rows.append((label, median(times), args.dvc_runs))

    print(f"{args.files} .dvc files + dvc.yaml/dvc.lock of {args.stages} stages ({counts})\n")
    print("| what | median ms | runs |\n|---|---|---|")
    for label, seconds, runs in rows:
        print(f"| {label} | {seconds * 1000:.0f} | {runs} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
