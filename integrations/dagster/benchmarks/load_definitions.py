"""How long building the Dagster definitions of a 1,000-output project takes.

    .tools/bin/uv run --frozen python integrations/dagster/benchmarks/load_definitions.py [N]

Makes a scratch repository with N `.dvc` files (default 1,000) and a `dvc.yaml` +
`dvc.lock` chaining them in pairs (N/2 stages, so the catalog has edges), then reports,
best of 5 after a warm-up: the catalog alone; `freight_assets` (N asset specs, 2N check
specs, N observation specs); and `Definitions` with them resolved into the asset graph
(what a code location does when it loads). Nothing is read but the metafiles.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path


def make_project(root: Path, n: int) -> None:
    (root / ".dvc").mkdir(parents=True)
    (root / ".dvc" / "config").write_text("")
    (root / "raw").mkdir()
    stages, locks = [], []
    for i in range(n // 2):
        src, out = f"raw/part-{i:04d}.csv", f"features/part-{i:04d}.csv"
        md5 = hashlib.md5(src.encode()).hexdigest()
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


def best(fn: Callable[[], None], runs: int = 5) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(n: int) -> None:
    repo = Path(tempfile.mkdtemp(prefix="freight-dagster-bench-")) / "project"
    make_project(repo, n)

    import dagster as dg
    import freight
    from dagster_freight import FreightResource, freight_assets

    warnings.filterwarnings("ignore", category=dg.BetaWarning)

    def catalog() -> None:
        with freight.Repo(repo) as opened:
            assert len(opened.catalog().outputs) == n

    def assets() -> None:
        (pulled,) = freight_assets(str(repo))
        assert len(pulled.specs) == n and len(list(pulled.check_specs)) == 2 * n

    def definitions() -> None:
        resource = FreightResource(repo_path=str(repo), remote_url="s3://bucket/path")
        defs = dg.Definitions(
            assets=freight_assets(str(repo), observe=True), resources={"freight": resource}
        )
        assert len(defs.resolve_asset_graph().get_all_asset_keys()) == 2 * n

    print(f"{n} outputs, {n // 2} stages")
    print(f"catalog:                          {best(catalog) * 1000:7.1f} ms")
    print(f"freight_assets (with checks):     {best(assets) * 1000:7.1f} ms")
    print(f"Definitions + asset graph, observe: {best(definitions) * 1000:5.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
