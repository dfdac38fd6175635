from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_runs_and_verifies(freight_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        env=freight_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "verified: both workspaces hold identical data" in proc.stdout
    assert "200 files added" in proc.stdout
    assert "push: 201 objects" in proc.stdout
