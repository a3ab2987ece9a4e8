"""A minimal PNG writer (zlib + struct): the frames fallback of `video`, with no imaging dependency."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def encode_png(rgb: np.ndarray) -> bytes:
    """(H, W, 3) or (H, W) uint8 -> PNG bytes (8-bit RGB or grey, no filtering)."""
    img = np.ascontiguousarray(rgb, dtype=np.uint8)
    if img.ndim == 2:
        color = 0
    elif img.ndim == 3 and img.shape[2] == 3:
        color = 2
    else:
        raise ValueError(f"PNG frames must be (H, W) or (H, W, 3), got shape {img.shape}")
    h, w = img.shape[:2]
    rows = img.reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()   # filter byte 0 per row
    header = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6))
            + _chunk(b"IEND", b""))


def write_png(path: str | Path, rgb: np.ndarray) -> None:
    Path(path).write_bytes(encode_png(rgb))
