from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from pathlib import Path

import pytest
from freight.hashing import PipedDigest, is_text, md5_file, md5_stream


def _vectors(fixtures: Path) -> list[dict[str, object]]:
    return json.loads((fixtures / "hashing" / "hash-vectors.json").read_text())


def _input(vector: dict[str, object]) -> bytes:
    if vector["input_hex"] is not None:
        return bytes.fromhex(str(vector["input_hex"]))
    return eval(str(vector["input_python_expr"]), {})  # fixture-provided bytes expression


def test_vectors_match_both_dvc_versions(fixtures: Path) -> None:
    vectors = _vectors(fixtures)
    assert len(vectors) >= 10
    for vector in vectors:
        data = _input(vector)
        assert md5_stream(io.BytesIO(data)) == vector["md5_dvc3"], vector["name"]
        legacy2 = md5_stream(io.BytesIO(data), dos2unix=True)
        assert legacy2 == vector["md5_dos2unix_dvc2_58_2"], vector["name"]
        legacy3 = md5_stream(io.BytesIO(data), dos2unix=True, per_chunk=True)
        assert legacy3 == vector["md5_dos2unix_dvc3_67_1"], vector["name"]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (b"", True),
        (b"plain text\r\n", True),
        (b"abc\x00def", False),
        (b"\x80\x81\x82" + b"a" * 9, True),  # 3 of 12 non-text bytes -> text
        (b"\x80\x81\x82\x83" + b"a" * 7, False),  # 4 of 11 -> binary
    ],
)
def test_is_text(block: bytes, expected: bool) -> None:
    assert is_text(block) is expected


def test_md5_file_legacy_collapses_crlf(tmp_path: Path) -> None:
    crlf, lf = tmp_path / "crlf", tmp_path / "lf"
    crlf.write_bytes(b"hello\r\nworld\r\n")
    lf.write_bytes(b"hello\nworld\n")
    assert md5_file(crlf, legacy=True) == md5_file(lf, legacy=True)
    assert md5_file(crlf, legacy=True) == "0f723ae7f9bf07744445e93ac5595156"
    assert md5_file(crlf) != md5_file(lf)


def test_piped_digest_hashes_every_chunk_in_order_and_stops_its_thread() -> None:

    chunks = [os.urandom(n) for n in (1 << 20, 300 << 10, 17, 1 << 20, 2 << 20, 5)]
    chunks.insert(3, memoryview(os.urandom(1 << 20)))  # mutable: hashed at once
    before = threading.active_count()
    piped = PipedDigest()
    for chunk in chunks:
        piped.update(chunk)
    assert piped.hexdigest() == hashlib.md5(b"".join(bytes(c) for c in chunks)).hexdigest()
    assert threading.active_count() == before
