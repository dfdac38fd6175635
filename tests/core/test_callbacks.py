"""LoggingCallback: readable, throttled progress lines through any `.info` logger."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from freight import LoggingCallback, Repo


class Lines:
    """A logger stand-in that records what `info` formats (any object with `info` works)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str, *args: Any) -> None:
        self.lines.append(msg % args)


def test_size_first_then_throttled_then_done() -> None:
    log = Lines()
    cb = LoggingCallback(log, "push", interval=3600)
    cb.set_size(20000)
    for _ in range(19999):
        cb.add_bytes(4096)
        cb.relative_update(1)
    assert log.lines == ["push: 0/20,000 files (0%)"]
    cb.add_bytes(4096)
    cb.relative_update(1)
    assert log.lines[-1].startswith("push: 20,000/20,000 files (100%), 78.1 MiB")
    cb.relative_update(0)  # nothing after the last line of a phase
    assert len(log.lines) == 2


def test_every_update_without_throttle_and_a_new_phase() -> None:
    log = Lines()
    cb = LoggingCallback(log, "pull", interval=0)
    cb.set_size(2)
    cb.relative_update(1)
    cb.relative_update(1)
    cb.set_size(3)  # the checkout after the fetch counts from zero
    cb.relative_update(3)
    cb.set_size(0)
    assert log.lines == [
        "pull: 0/2 files (0%)",
        "pull: 1/2 files (50%)",
        "pull: 2/2 files (100%)",
        "pull: 0/3 files (0%)",
        "pull: 3/3 files (100%)",
        "pull: nothing to do",
    ]


def test_threads_count_exactly_and_log_done_once() -> None:
    log = Lines()
    cb = LoggingCallback(log, "fetch", interval=3600)
    cb.set_size(8000)

    def work() -> None:
        for _ in range(1000):
            cb.add_bytes(1)
            cb.relative_update(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (cb.value, cb.bytes) == (8000, 8000)
    assert [line for line in log.lines if "100%" in line] == [log.lines[-1]]
    assert log.lines[-1].startswith("fetch: 8,000/8,000 files (100%), 7.8 KiB")


def test_a_real_push_logs_files_and_bytes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    with Repo.init(root, no_scm=True) as repo:
        remote = tmp_path / "r"
        (root / ".dvc/config").write_text(
            f"[core]\n    no_scm = True\n    remote = r\n['remote \"r\"']\n    url = {remote}\n"
        )
        data = root / "data"
        data.mkdir()
        for i in range(10):
            (data / f"{i}.bin").write_bytes(bytes([i]) * 1000)
    with Repo(root) as repo:
        repo.add(["data"])
        logger = logging.getLogger("test.progress")
        with caplog.at_level(logging.INFO, logger="test.progress"):
            repo.push(callback=LoggingCallback(logger, "push", interval=3600))
    lines = [r.getMessage() for r in caplog.records if r.name == "test.progress"]
    assert lines[0] == "push: 0/11 files (0%)"  # 10 files and their .dir
    assert lines[-1].startswith("push: 11/11 files (100%), 10.")  # 10,000 B + the .dir
