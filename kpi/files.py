"""Files read safely: a file's SHA-256, for the load's accounting, the store's record and a run's manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256(path: Path | str) -> str:
    """The SHA-256 of a file, read in blocks (not mapped: a file cut short while it is read is an error, not a
    crash of the process)."""
    h = hashlib.sha256()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    with open(path, "rb") as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()
