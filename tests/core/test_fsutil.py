"""copy_into: the atomic copy under push, fetch and checkout."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from freight.errors import ObjectCorruptedError
from freight.fsutil import copy_into


@pytest.mark.parametrize("size", [0, 5, 9 << 20])  # 9 MiB: the in-kernel and pipelined paths
def test_copy_into_copies_every_byte_atomically(tmp_path: Path, size: int) -> None:
    src = tmp_path / "src"
    src.write_bytes(os.urandom(size))
    dest = tmp_path / "out" / "dest"
    dest.parent.mkdir()
    copy_into(str(src), str(dest), mode=0o444)
    assert dest.read_bytes() == src.read_bytes()
    assert stat.S_IMODE(dest.stat().st_mode) == 0o444
    assert os.listdir(dest.parent) == ["dest"]  # no temporary left behind
    md5 = hashlib.md5(src.read_bytes()).hexdigest()
    again = tmp_path / "out" / "verified"
    copy_into(str(src), str(again), mode=0o444, md5=md5)
    assert again.read_bytes() == src.read_bytes()


def test_copy_into_refuses_bytes_that_do_not_match(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"x" * (9 << 20))
    with pytest.raises(ObjectCorruptedError):
        copy_into(str(src), str(tmp_path / "dest"), mode=0o444, md5="0" * 32)
    assert sorted(os.listdir(tmp_path)) == ["src"]
