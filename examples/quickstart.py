"""freight quickstart: version a dataset, push it to a local-folder remote, pull it elsewhere.

Runs in a scratch directory with no Git, no DVC and no configuration:

1. `freight init --no-scm` a repository and generate a small dataset;
2. `freight add data`: objects go to the cache, `data.dvc` records md5/size/nfiles;
3. `freight remote add -d storage ../remote` and `freight push`;
4. a second workspace gets only the metafiles and config (what a `git clone` brings) and
   runs `freight pull`; every byte is compared with the original;
5. print what happened, including the lineage record the orchestrator integrations publish.
"""

from __future__ import annotations

import filecmp
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

from freight import Repo
from freight.cli import main as freight


def generate(folder: Path, files: int = 200) -> None:
    rng = random.Random(42)
    for i in range(files):
        path = folder / f"part-{i // 50:02d}" / f"sample-{i:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(0, 4096)))


def same_tree(a: Path, b: Path) -> bool:
    left = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    right = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return left == right and all(filecmp.cmp(a / p, b / p, shallow=False) for p in left)


def run(scratch: Path) -> None:
    first, second = scratch / "first", scratch / "second"
    first.mkdir()
    with Repo.init(first, no_scm=True) as repo:
        generate(first / "data")
        added = repo.add(["data"])
    print("added:", json.dumps(added.lineage()))
    print((first / "data.dvc").read_text())

    os.chdir(first)  # the CLI works on the repository of the current directory
    freight(["remote", "add", "-d", "storage", "../remote"])
    with Repo(first) as repo:
        pushed = repo.push()
    print(f"push: {pushed.transferred} objects ({pushed.bytes} bytes) to {scratch / 'remote'}")

    second.mkdir()
    shutil.copytree(first / ".dvc", second / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp"))
    shutil.copy(first / "data.dvc", second)
    with Repo(second) as repo:
        pulled = repo.pull()
        pulled.raise_for_failures()
        assert pulled.checkout is not None
        print(
            f"pull: {pulled.transferred} objects fetched, "
            f"{pulled.checkout.files_added} files added into {second / 'data'}"
        )
        print("status:", "clean" if repo.status().clean else repo.status().changes)
        print("lineage:", json.dumps(pulled.lineage()))
    if not same_tree(first / "data", second / "data"):
        sys.exit("quickstart: the pulled data differs from the original")
    print("verified: both workspaces hold identical data")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="freight-quickstart-") as tmp:
        run(Path(tmp))
