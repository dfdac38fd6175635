"""The reliability campaign (issue 13): seeded faults against freight and the real DVC.

    .tools/bin/uv run --frozen python benchmarks/campaign.py --seed N [--cases K] [--s3]
        [--dvc-cases K] [--only PATTERN ...] [--files N] [--no-dvc] [--keep]

Every row of `tests/campaign_scenarios.SCENARIOS` runs its cases (K scaled by the row's
share: the concurrent rows are heavier) in child processes: SIGKILL at seeded random points
of add/push/fetch/checkout/pull/gc and of a sharded push, a second command while a live run
holds the lock, 8 concurrent pushes of overlapping data, 6 concurrent fetches into one
shared cache. `--s3` adds the rows on an S3 server (SeaweedFS on 127.0.0.1, started with the
tests' launcher). The real dvc 3.67.1 comes from the isolated `uv tool` environment the
compat tests use. Prints a markdown table (scenario | cases tried | passed | bytes lost, for
freight and for dvc), then what failed, case by case. Exits non-zero if freight lost data
or failed a case, so the command can gate a release.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the scenarios and the servers live there

import campaign_exhaustion  # noqa: E402, F401 - registers the resource-exhaustion rows
import campaign_fuzz  # noqa: E402, F401 - registers the fuzzed-input rows
import campaign_network  # noqa: E402, F401 - registers the network-fault rows
from campaign_scenarios import SCENARIOS, Env, Row, find_dvc, run_scenario, scratch_env  # noqa: E402


@contextlib.contextmanager
def s3_server(wanted: bool) -> Iterator[object | None]:
    if not wanted:
        yield None
        return
    from storage_servers import run_seaweedfs

    with run_seaweedfs() as server:
        yield server


def cell(row: Row | None) -> str:
    if row is None:
        return "| – | – | – "
    if row.tried == 0:
        return "| not run | | "
    return f"| {row.tried} | {row.passed} | {row.bytes_lost:,} "


def table(rows: list[Row]) -> str:
    labels = list(dict.fromkeys(r.scenario for r in rows))
    by = {(r.scenario, r.tool): r for r in rows}
    lines = [
        "| scenario | freight tried | freight passed | freight bytes lost "
        "| dvc tried | dvc passed | dvc bytes lost |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label in labels:
        lines.append(f"| {label} {cell(by.get((label, 'freight')))}{cell(by.get((label, 'dvc')))}|")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--cases", type=int, default=10, help="cases per kill scenario")
    parser.add_argument("--dvc-cases", type=int, help="cases per dvc scenario (default: --cases)")
    parser.add_argument("--s3", action="store_true", help="also the rows on an S3 server")
    parser.add_argument("--no-dvc", action="store_true", help="freight's rows only")
    parser.add_argument("--only", nargs="*", default=["*"], help="row keys (globs) to run")
    parser.add_argument("--files", type=int, default=240, help="files in each dataset")
    parser.add_argument("--workdir", type=Path, default=HERE / ".work" / "campaign")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()

    started = time.monotonic()
    workdir = args.workdir / f"seed-{args.seed}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    os.umask(0o022)  # the usual umask: what DVC's shared-cache modes are compared under
    keys = [
        k
        for k, s in SCENARIOS.items()
        if any(fnmatch.fnmatch(k, pattern) for pattern in args.only)
        and (args.s3 or not s.s3)
        and not (args.no_dvc and s.tool == "dvc")
    ]
    rows: list[Row] = []
    with s3_server(args.s3) as server:
        env = Env(args.seed, scratch_env(workdir), s3=server, nfiles=args.files)  # type: ignore[arg-type]
        if any(SCENARIOS[k].tool == "dvc" for k in keys):
            env.dvc = find_dvc()
        for key in keys:
            scenario = SCENARIOS[key]
            base = args.dvc_cases if scenario.tool == "dvc" and args.dvc_cases else args.cases
            cases = max(1, round(base * scenario.share))
            row = run_scenario(key, cases, workdir, env)
            rows.append(row)
            print(
                f"{key}: {row.passed}/{row.tried} passed, {row.bytes_lost} bytes lost, "
                f"{row.killed} killed part-way ({row.seconds:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    elapsed = time.monotonic() - started
    print(
        f"Seed {args.seed}, {args.cases} cases per kill row (dvc: {args.dvc_cases or args.cases}), "
        f"{'local and S3 (SeaweedFS)' if args.s3 else 'local'} remotes, "
        f"{args.files} files per dataset; total {elapsed / 60:.1f} min.\n"
    )
    print(table(rows))
    failed = [r for r in rows if r.notes]
    if failed:
        print("\nWhat failed:\n")
        for row in failed:
            for note in row.notes:
                print(f"- {row.tool}, {row.scenario}: {note}")
    if not args.keep and not failed:  # a failed case's directory is kept to look at
        shutil.rmtree(workdir, ignore_errors=True)
    bad = [r for r in rows if r.tool == "freight" and (r.notes or r.passed != r.tried)]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
