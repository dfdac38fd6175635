"""Real storage servers on 127.0.0.1, started once per test session and stopped by PID.

A server that cannot start fails the tests that need it (never skips them): everything a
server needs is installed by the project's own dev dependencies.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Server:
    """A running server: where it listens and the DVC remote options to reach it."""

    name: str
    endpoint: str
    dvc_options: dict[str, str] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    tail = log.read_text(errors="replace")[-3000:]
    pytest.fail(f"server did not become ready (exit {proc.poll()}); log tail:\n{tail}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[Server]:
    """moto's S3 server (a separate process, not an in-process mock)."""
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="moto-")) / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait(
            lambda: urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).status == 200,
            proc,
            log,
            60,
        )
        yield Server(
            "moto",
            endpoint,
            {
                "endpointurl": endpoint,
                "access_key_id": "testing",
                "secret_access_key": "testing",
                "region": "us-east-1",
            },
        )
    finally:
        _stop(proc)


def make_bucket(server: Server) -> str:
    """A fresh bucket on an S3 server; returns its name."""
    import boto3

    name = "t" + uuid.uuid4().hex[:12]
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=name)
    return name


os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # never reach for real cloud metadata
