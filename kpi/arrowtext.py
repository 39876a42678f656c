"""Arrow text columns read at the level of their buffers (offsets and bytes), for the scans of a load that
would cost far more value by value: padding, rising ids, the layout of a date and time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def value_offsets(chunk: pa.Array) -> tuple[np.ndarray, pa.Buffer | None]:
    """A text chunk's value offsets (its own, from its slice's start) and its data buffer."""
    _, offsets, data = chunk.buffers()
    return np.frombuffer(offsets, dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4), data


def text_chunks(col: pa.ChunkedArray):
    """The column's chunks that hold values, as text (``pa.string``: 32-bit offsets)."""
    for chunk in col.chunks:
        if len(chunk):
            yield chunk if chunk.type == pa.string() else chunk.cast(pa.string())
