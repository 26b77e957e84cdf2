"""Helpers shared by several test modules (imported as ``_helpers``: pytest puts tests/ on
sys.path)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Dict, Tuple

from hypothesis import strategies as st

Snapshot = Dict[str, Tuple[Any, ...]]


def snapshot(directory: Path) -> Snapshot:
    """Every entry under ``directory``: type+mode, inode, size, mtime_ns, bytes or link target."""
    out: Snapshot = {}
    for path in sorted(directory.rglob("*")):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            body: Any = os.readlink(path)
        elif stat.S_ISREG(info.st_mode):
            body = path.read_bytes()
        else:
            body = None
        out[str(path.relative_to(directory))] = (
            info.st_mode, info.st_ino, info.st_size, info.st_mtime_ns, body)
    return out


def mutate(der: bytes, data: st.DataObject) -> bytes:
    """``der`` with one to three bytes changed, dropped or inserted, as hypothesis draws."""
    out = bytearray(der)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(out) - 1))
        how = data.draw(st.sampled_from(["set", "drop", "insert"]))
        if how == "set":
            out[at] = data.draw(st.integers(0, 255))
        elif how == "drop":
            del out[at]
        else:
            out.insert(at, data.draw(st.integers(0, 255)))
    return bytes(out)
