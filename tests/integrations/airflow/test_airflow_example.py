"""The Airflow example runs as documented (its own process: its own AIRFLOW_HOME)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_example_runs_and_verifies(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "airflow" / "run_example.py")],
        env={**env, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "verified: data/features " in proc.stdout
    assert "asset event freight://github.com/example/freight-airflow-example/data/features" in (
        proc.stdout
    )
    assert "features_consumer: features md5 " in proc.stdout
