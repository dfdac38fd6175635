"""The example: `dagster definitions validate` accepts it, and its runner materialises
everything on the local-folder remote and verifies the data versions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "dagster"


def test_definitions_validate(tmp_path: Path) -> None:
    home = tmp_path / "dagster-home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.pop("FREIGHT_DAGSTER_REPO", None)
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-f", str(EXAMPLE / "definitions.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation successful" in proc.stdout + proc.stderr


def test_run_example() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE / "run_example.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verified: 3 data versions equal the metafiles' md5" in proc.stdout
    assert "data/raw: data version " in proc.stdout and "checks: 4/4 passed" in proc.stdout
