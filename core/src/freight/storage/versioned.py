"""Files under their workspace paths in a bucket with object versioning (spec §6.3).

A version-aware remote is not content-addressed: `data/a.txt` is stored at
`<url>/data/a.txt`, and the object's version id (S3 `VersionId`, GCS `generation`) is what
makes an old state reachable after the path was overwritten or deleted. s3fs and gcsfs,
opened with `version_aware=True`, address versions; each call below is one request, run
in parallel by the caller through `run_each`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, redact_url
from ..hashing import CHUNK
from . import Sink
from .fsspec import retrying


@dataclass(frozen=True)
class Stamp:
    """What the bucket says about one object version: its id and ETag (normalised)."""

    version_id: str
    etag: str | None


class VersionedStorage:
    """An s3fs or gcsfs filesystem (`kind` "s3" or "gs") made with `version_aware=True`."""

    def __init__(self, fs: Any, root: str, url: str, kind: str, *, jobs: int = 16) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url
        self.kind = kind
        self.jobs = jobs
        self.bucket = self.root.split("/", 1)[0]

    def path(self, key: str) -> str:
        return f"{self.root}/{key}" if key else self.root

    def _versioned_path(self, key: str, version_id: str) -> tuple[str, dict[str, str]]:
        if self.kind == "gs":
            return f"{self.path(key)}#{version_id}", {}
        return self.path(key), {"version_id": version_id}

    def check_versioning(self) -> None:
        """Raise ConfigError unless the bucket keeps old versions (checked before any write)."""
        if self.kind == "gs":
            meta = retrying(lambda: self.fs.call("GET", "b/{}", self.bucket, json_out=True))
            enabled = bool((meta.get("versioning") or {}).get("enabled"))
        else:
            enabled = bool(retrying(lambda: self.fs.is_bucket_versioned(self.bucket)))
        if not enabled:
            raise ConfigError(
                f"remote {redact_url(self.url)}: support for versioning could not be detected "
                f"(bucket '{self.bucket}' does not have object versioning enabled)"
            )

    def _stamp(self, info: dict[str, Any]) -> Stamp:
        if self.kind == "gs":
            return Stamp(str(info["generation"]), _b64_hex(info.get("etag")))
        version = info.get("VersionId")
        if not version or version == "null":
            raise ConfigError(
                f"remote {redact_url(self.url)}: support for versioning could not be detected "
                "(the server returned no version id)"
            )
        etag = info.get("ETag")
        return Stamp(str(version), etag.strip('"') if isinstance(etag, str) else None)

    def head(self, key: str, version_id: str | None = None) -> Stamp | None:
        """The current version of `key` (or that exact version); None if there is none."""
        kwargs: dict[str, Any] = {"refresh": True}
        if version_id is None:
            path = self.path(key)
        else:
            path, extra = self._versioned_path(key, version_id)
            kwargs.update(extra)
        try:
            info = retrying(lambda: self.fs.info(path, **kwargs))
        except FileNotFoundError:
            return None
        if info.get("type") == "directory":
            return None
        return self._stamp(info)

    def md5_of(self, stamp: Stamp) -> str | None:
        """The md5 the backend vouches for, when its ETag is one (S3 single-part, GCS)."""
        etag = stamp.etag
        if etag and len(etag) == 32 and "-" not in etag:
            return etag
        return None

    def put(self, local: str, key: str) -> Stamp:
        """Upload a file to `key` and read back the version the upload created."""
        path = self.path(key)
        retrying(lambda: self.fs.put_file(local, path))
        if self.kind == "gs":
            self.fs.invalidate_cache(path)
        stamp = self.head(key)
        if stamp is None:
            raise FileNotFoundError(f"{key} vanished right after it was uploaded")
        return stamp

    def get(self, key: str, version_id: str, sink: Sink) -> None:
        """Stream one exact version of `key` into `sink`."""
        path, kwargs = self._versioned_path(key, version_id)

        def reset() -> None:
            sink.seek(0)
            sink.truncate()

        def read() -> None:
            with self.fs.open(path, "rb", block_size=CHUNK, **kwargs) as stream:
                while chunk := stream.read(CHUNK):
                    sink.write(chunk)

        retrying(read, reset=reset)

    def delete(self, key: str) -> None:
        """Delete the current version (a delete marker: older versions stay readable)."""
        retrying(lambda: self.fs.rm_file(self.path(key)))

    def list(self, prefix: str) -> list[str]:
        """Keys of the current objects under `prefix` (a directory key)."""
        top = self.path(prefix)
        try:
            found = retrying(lambda: self.fs.find(top))
        except FileNotFoundError:
            return []
        cut = len(self.root) + 1
        return [p[cut:] for p in found if p.startswith(self.root + "/")]


def _b64_hex(value: Any) -> str | None:
    """GCS ETags are base64; DVC records them hex-decoded."""
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return value
