"""freight quickstart: version a generated dataset and restore it in a second workspace.

Runs in a scratch directory (no Git, no DVC, no configuration needed):

1. `freight init --no-scm` a repository and generate a small dataset;
2. `freight add` it: objects go to the cache, `data.dvc` records md5/size/nfiles;
3. create a second workspace holding only the metafiles, sharing the first one's cache
   through `cache.dir` (a DVC shared-cache set-up), and `checkout` the data there;
4. verify every byte and print what happened, including the lineage record the
   orchestrator integrations publish.
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

    second.mkdir()
    shutil.copy(first / "data.dvc", second)
    with Repo.init(second, no_scm=True):
        pass
    # The CLI is the same program a user runs: `freight config cache.dir ...`.

    os.chdir(second)
    freight(["config", "cache.dir", str(first / ".dvc" / "cache")])
    with Repo(second) as repo:
        result = repo.checkout()
        print(f"checkout: {result.files_added} files added into {second / 'data'}")
        print("status:", "clean" if repo.status().clean else repo.status().changes)
    if not same_tree(first / "data", second / "data"):
        sys.exit("quickstart: the restored data differs from the original")
    print("verified: both workspaces hold identical data")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="freight-quickstart-") as tmp:
        run(Path(tmp))
