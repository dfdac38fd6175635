"""How long Airflow takes to parse a DAG that renders a 1,000-output project.

    .tools/bin/uv run --frozen python integrations/airflow/benchmarks/render_parse.py [N]

Makes a scratch repository with N `.dvc` files (default 1,000) and a `dvc.yaml` +
`dvc.lock` chaining them in pairs (N/2 stages, so the catalog has edges), then reports,
best of 5 after a warm-up: the catalog alone; building the DAG (one FreightTaskGroup of
N push tasks with their dependencies and assets); and Airflow's own parse of the DAG
file (`DagBag`, what the DAG processor does on every parse, imports already warm).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

DAG_FILE = """
import datetime
from airflow.sdk import DAG
from freight_provider.task_group import FreightTaskGroup

with DAG("render_bench", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
    FreightTaskGroup("outputs", repo_path={repo!r}, verb="push")
"""


def make_project(root: Path, n: int) -> None:
    (root / ".dvc").mkdir(parents=True)
    (root / ".dvc" / "config").write_text("")
    stages, locks = [], []
    for i in range(n // 2):
        src, out = f"raw/part-{i:04d}.csv", f"features/part-{i:04d}.csv"
        md5 = hashlib.md5(src.encode()).hexdigest()
        (root / "raw").mkdir(exist_ok=True)
        (root / f"{src}.dvc").write_text(
            f"outs:\n- md5: {md5}\n  size: 100\n  hash: md5\n  path: part-{i:04d}.csv\n"
        )
        stages.append(f"  s{i}:\n    cmd: cp {src} {out}\n    deps: [{src}]\n    outs: [{out}]\n")
        out_md5 = hashlib.md5(out.encode()).hexdigest()
        locks.append(
            f"  s{i}:\n    cmd: cp {src} {out}\n    deps:\n    - path: {src}\n      md5: {md5}\n"
            f"      size: 100\n    outs:\n    - path: {out}\n      hash: md5\n"
            f"      md5: {out_md5}\n      size: 100\n"
        )
    (root / "dvc.yaml").write_text("stages:\n" + "".join(stages))
    (root / "dvc.lock").write_text("schema: '2.0'\nstages:\n" + "".join(locks))


def best(fn, runs: int = 5) -> float:  # type: ignore[no-untyped-def]
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="freight-render-bench-"))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(tmp / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp}/airflow.db",
        }
    )
    repo = tmp / "project"
    make_project(repo, n)
    dags = tmp / "dags"
    dags.mkdir()
    (dags / "render_bench.py").write_text(DAG_FILE.format(repo=str(repo)))

    import freight
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DAG
    from freight_provider.task_group import FreightTaskGroup

    def catalog() -> None:
        with freight.Repo(repo) as opened:
            assert len(opened.catalog().outputs) == n

    def build() -> None:
        with DAG("render_bench", schedule=None) as dag:
            FreightTaskGroup("outputs", repo_path=str(repo), verb="push")
        assert len(dag.task_dict) == n

    def parse() -> None:
        bag = DagBag(dag_folder=str(dags))
        assert not bag.import_errors, bag.import_errors
        assert len(bag.dags["render_bench"].task_dict) == n

    print(f"{n} outputs, {n // 2} stages")
    print(f"catalog:              {best(catalog) * 1000:7.1f} ms")
    print(f"DAG with task group:  {best(build) * 1000:7.1f} ms")
    print(f"DagBag parse of file: {best(parse) * 1000:7.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
