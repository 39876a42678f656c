"""Files read safely: a file's SHA-256, for the load's accounting, the store's record and a run's manifest;
YAML read with its keys as written, for the params and targets files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml


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


class KeysAsWritten(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML with each mapping's keys as written: unquoted, ``6.10:`` is the number 6.1 to YAML and its commentary
    would go to measure 6.1. A key given twice (which YAML lets the later win) is an error."""

    def construct_mapping(self, node, deep=False):
        keys = [k.value if isinstance(k, yaml.ScalarNode) else self.construct_object(k) for k, _ in node.value]
        twice = [k for k in keys if keys.count(k) > 1]
        if twice:
            raise yaml.constructor.ConstructorError(None, None, f"{twice[0]} is given twice", node.start_mark)
        return {k: self.construct_object(v, deep=deep) for k, (_, v) in zip(keys, node.value, strict=True)}
