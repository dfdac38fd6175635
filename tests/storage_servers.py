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


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [int(sock.getsockname()[1]) for sock in socks]
    for sock in socks:
        sock.close()
    return ports


def _admin_port_pair() -> int:
    """weed 4.48's worker dials the admin gRPC port at admin port + 10000: find a free pair."""
    for port in range(21000, 55000, 97):
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair for the SeaweedFS admin server")


def _s3_ready(endpoint: str) -> bool:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.list_buckets()
    return True


@pytest.fixture(scope="session")
def seaweedfs_s3() -> Iterator[Server]:
    """SeaweedFS (`weed mini`): a real S3 server written in Go, data on disk."""
    data = Path(tempfile.mkdtemp(prefix="seaweedfs-"))
    mp, mg, vp, vg, fp, fg, sp, sg = _free_ports(8)
    ap = _admin_port_pair()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    cmd = [
        str(BIN / "weed"),
        f"-logdir={data}",
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={mp}",
        f"-master.port.grpc={mg}",
        f"-volume.port={vp}",
        f"-volume.port.grpc={vg}",
        f"-filer.port={fp}",
        f"-filer.port.grpc={fg}",
        f"-s3.port={sp}",
        f"-s3.port.grpc={sg}",
        f"-admin.port={ap}",
        f"-admin.port.grpc={ap + 10000}",
        "-volume.preStopSeconds=0",
        f"-s3.localSocket={data}/s3.sock",
        f"-filer.localSocket={data}/filer.sock",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-master.telemetry=false",
    ]
    log = data / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{sp}"
    try:
        _wait(lambda: _s3_ready(endpoint), proc, log, 90)
        yield Server(
            "seaweedfs",
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
        for sock in (
            f"/tmp/seaweedfs-admin-grpc-{ap + 10000}.sock",
            f"/tmp/seaweedfs-s3-grpc-{sg}.sock",
        ):
            Path(sock).unlink(missing_ok=True)


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
