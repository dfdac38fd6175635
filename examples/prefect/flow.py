"""An example Prefect flow with freight: pull the raw data of a commit, derive features,
track and push them; every step publishes the content hashes as assets and artifacts.

    pull(data/raw)  ->  featurize  ->  add(data/features.csv)  ->  push

`pull` references the asset `freight://.../data/raw` (its md5 on the event), `add` and
`push` materialize `freight://.../data/features.csv`, and since `featurize` consumes the
pull's result, Prefect records data/raw as the upstream of the features. The remote is a
saved `FreightRemote` block, passed by name.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect_freight.tasks import add, pull, push


@task
def featurize(repo_path: str, pulled: dict[str, Any]) -> str:
    """The user's step: one row of features per raw row (the pull's result is its input,
    which is how Prefect learns that the features derive from the raw data)."""
    raw = Path(repo_path) / "data" / "raw"
    out = Path(repo_path) / "data" / "features.csv"
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["part", "row", "value", "square"])
        for part in sorted(raw.glob("*.csv")):
            for row in csv.reader(part.read_text().splitlines()):
                writer.writerow([part.stem, row[1], row[2], int(row[2]) ** 2])
    return "data/features.csv"


@flow(name="freight-features")
def features_flow(repo_path: str, remote: str) -> dict[str, Any]:
    """Pull the raw data, derive the features, track and push them; returns the push."""
    pulled = pull(repo_path, "data/raw", remote=remote)
    features = featurize(repo_path, pulled)
    added = add(repo_path, features)
    pushed: dict[str, Any] = push(repo_path, features, remote=remote, wait_for=[added])
    return pushed
