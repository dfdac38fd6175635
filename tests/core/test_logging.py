"""The library logs through `logging` under `freight.*` and never prints (only the CLI does)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from freight import Repo

CORE = Path(__file__).resolve().parents[2] / "core" / "src" / "freight"


def test_no_print_outside_the_cli() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        if "cli" in path.relative_to(CORE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_verbs_are_silent_and_log_under_freight(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    Repo.init(root, no_scm=True).close()
    (root / ".dvc/config").write_text(
        f"[core]\n    no_scm = True\n    remote = r\n['remote \"r\"']\n    url = {tmp_path / 'r'}\n"
    )
    (root / "data").mkdir()
    for i in range(3):
        (root / "data" / f"{i}.txt").write_text(str(i))
    with caplog.at_level(logging.DEBUG), Repo(root) as repo:
        repo.add(["data"])
        repo.status()
        repo.push()
        repo.status(cloud=True)
        (root / "data" / "0.txt").unlink()
        repo.checkout(force=True)
        repo.fetch()
        repo.pull()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    names = {r.name for r in caplog.records}
    assert "freight.transfer" in names
    ours = [r for r in caplog.records if Path(r.pathname).is_relative_to(CORE)]
    assert ours and all(r.name.startswith("freight.") for r in ours)  # never the root logger
