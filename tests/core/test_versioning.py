"""Pure parts of version-aware remotes and imports: push decisions, stage md5, `files:`."""

from __future__ import annotations

from pathlib import Path

import pytest
from freight.imports import stage_md5
from freight.metafiles import load_yaml, read_dvcfile
from freight.versioning import Action, decide


@pytest.mark.parametrize(
    ("exists", "current", "cached", "action"),
    [
        (True, None, False, Action.KEEP),  # the recorded version is there: nothing to do
        (False, "m", False, Action.ADOPT),  # the path already holds these bytes
        (False, "other", True, Action.UPLOAD),
        (False, None, True, Action.UPLOAD),
        (False, None, False, Action.MISSING),
    ],
)
def test_decide(exists: bool, current: str | None, cached: bool, action: Action) -> None:
    assert decide(exists, current, "m", cached) is action


@pytest.mark.parametrize("name", ["data.import.dvc", "ext_src.txt.dvc", "imported.txt.dvc"])
def test_stage_md5_matches_dvcs(fixtures: Path, name: str) -> None:
    stage = load_yaml(fixtures / "imports" / name, name)
    assert stage_md5(stage) == stage["md5"]


def test_files_form_reads_as_the_directory_it_stands_for(fixtures: Path) -> None:
    (out,) = read_dvcfile(fixtures / "version-aware", "d.dvc")
    assert out.oid == "6ea46d53348e675e87743182f72de908.dir"  # spec §2.5: same as plain add
    assert (out.nfiles, out.size) == (2, 4)
    assert out.files is not None and out.files[0].version is not None
    assert out.files[0].version.remote == "wt"
    (single,) = read_dvcfile(fixtures / "version-aware", "foo.txt.dvc")
    assert single.version is not None and single.version.etag == single.oid
