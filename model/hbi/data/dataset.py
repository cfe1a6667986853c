"""Loading a synthclips split: cached frames + jsonl records."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .cache import cache_path, read_jsonl


def load_meta(data) -> dict:
    return json.loads((Path(data) / "meta.json").read_text())


def load_split(data, split: str, T: int = 8, size: int = 64, mmap: bool = True):
    """-> (frames uint8 [N,T,size,size,3] (memory-mapped unless mmap=False), records in jsonl order)."""
    data = Path(data)
    records = read_jsonl(data / f"{split}.jsonl")
    p = cache_path(data, split, T, size)
    if not p.exists():
        raise FileNotFoundError(f"{p} missing: run python -m hbi.data.cache --data {data} "
                                f"--frames {T} --size {size}")
    frames = np.load(p, mmap_mode="r" if mmap else None)
    if frames.shape[0] != len(records) or frames.shape[1:] != (T, size, size, 3):
        raise ValueError(f"cache {p} has shape {frames.shape}, expected ({len(records)},{T},{size},{size},3)")
    return frames, records
