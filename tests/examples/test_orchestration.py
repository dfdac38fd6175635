from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_orchestration_example_shards_and_verifies(freight_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "orchestration.py")],
        env=freight_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "verified: the clone holds identical data" in proc.stdout
    assert "plan: 400 objects" in proc.stdout
    assert proc.stdout.count("push shard:") == 2 and proc.stdout.count("fetch shard:") == 2
    assert "freight://github.com/example/freight-orchestration-example/data/images" in proc.stdout
