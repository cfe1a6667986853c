"""Frame cache for training, produced with the decode recipe.

    python -m hbi.data.cache --data DIR --frames 8 --size 64 [--workers 2] [--chunk 100] [--verify 1]

writes DIR/cache/T{frames}_{size}/<split>.npy, uint8 [N,T,size,size,3] in jsonl order.

Fast path (proven bit-identical by tests/test_data_recipe.py and re-checked at run time): the clips
of a chunk are decoded by ONE ffmpeg process reading them through the concat demuxer with exactly
the recipe's filter and output (``-vf scale=S:S:flags=bilinear,format=rgb24 -f rawvideo -pix_fmt rgb24
pipe:1``).  Every clip starts with an IDR frame (closed GOP) and the scale filter is per-frame, so
the decoded frames are the frames ``decode_clip`` gets from each file; the long output is sliced by
the clips' frame counts and each slice is sub-sampled with ``uniform_indices``.  If the total frame
count does not match, the chunk falls back to one ``decode_clip`` per file.  ``--verify k`` decodes
k clips per chunk with ``decode_clip`` and fails loudly on any byte difference.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .recipe import DecodeError, decode_clip, frames_from_bytes, uniform_indices


def concat_command(list_file: str, size: int, ffmpeg: str = "ffmpeg") -> list[str]:
    return [ffmpeg, "-v", "error", "-nostdin", "-f", "concat", "-safe", "0", "-i", list_file,
            "-vf", f"scale={size}:{size}:flags=bilinear,format=rgb24",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]


def decode_chunk_fast(paths: list[str], n_frames: list[int], T: int, size: int,
                      ffmpeg: str = "ffmpeg") -> np.ndarray | None:
    """[K,T,size,size,3] via one concat decode, or None when the frame count does not add up."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for p in paths:
            ap = os.path.abspath(p).replace("'", "'\\''")
            f.write(f"file '{ap}'\n")
        lst = f.name
    try:
        proc = subprocess.run(concat_command(lst, size, ffmpeg), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False)
    finally:
        os.unlink(lst)
    if proc.returncode != 0 or not proc.stdout:
        return None
    try:
        frames = frames_from_bytes(proc.stdout, size, size)
    except DecodeError:
        return None
    if len(frames) != sum(n_frames):
        return None
    out = np.empty((len(paths), T, size, size, 3), np.uint8)
    o = 0
    for k, n in enumerate(n_frames):
        out[k] = frames[o:o + n][uniform_indices(n, T)]
        o += n
    return out


def decode_chunk(paths: list[str], n_frames: list[int], T: int, size: int, ffmpeg: str = "ffmpeg",
                 verify: int = 1, fast: bool = True) -> tuple[np.ndarray, bool]:
    out = decode_chunk_fast(paths, n_frames, T, size, ffmpeg) if fast else None
    used_fast = out is not None
    if out is None:
        out = np.stack([decode_clip(p, T, size, size, ffmpeg=ffmpeg) for p in paths])
    elif verify > 0:
        picks = np.linspace(0, len(paths) - 1, num=min(verify, len(paths))).round().astype(int)
        for k in sorted(set(picks.tolist())):
            ref = decode_clip(paths[k], T, size, size, ffmpeg=ffmpeg)
            if not np.array_equal(ref, out[k]):
                raise RuntimeError(f"fast-path decode differs from decode_clip for {paths[k]}")
    return out, used_fast


def _work(args):
    start, paths, n_frames, T, size, ffmpeg, verify = args
    arr, fast = decode_chunk(paths, n_frames, T, size, ffmpeg, verify)
    return start, arr, fast


def read_jsonl(path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def cache_path(data: Path, split: str, T: int, size: int) -> Path:
    return Path(data) / "cache" / f"T{T}_{size}" / f"{split}.npy"


def build_cache(data, T: int = 8, size: int = 64, splits=None, workers: int = 2, chunk: int = 100,
                ffmpeg: str = "ffmpeg", verify: int = 1, force: bool = False, progress: bool = True) -> dict:
    data = Path(data)
    meta = json.loads((data / "meta.json").read_text())
    splits = splits or list(meta["counts"].keys())
    report = {}
    pool = None
    if workers > 1:
        import multiprocessing as mp
        pool = mp.get_context("fork").Pool(workers)
    try:
        for split in splits:
            t0 = time.time()
            recs = read_jsonl(data / f"{split}.jsonl")
            out_path = cache_path(data, split, T, size)
            shape = (len(recs), T, size, size, 3)
            if out_path.exists() and not force:
                try:
                    old = np.load(out_path, mmap_mode="r")
                    if old.shape == shape and old.dtype == np.uint8:
                        report[split] = {"skipped": True, "shape": list(shape)}
                        continue
                except Exception:
                    pass
            out_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = out_path.with_suffix(".tmp.npy")
            arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
            tasks = []
            for i in range(0, len(recs), chunk):
                part = recs[i:i + chunk]
                paths = [str(data / "videos" / split / f"{r['id']}.mp4") for r in part]
                tasks.append((i, paths, [int(r["frames"]) for r in part], T, size, ffmpeg, verify))
            bar = None
            if progress:
                from tqdm import tqdm
                bar = tqdm(total=len(recs), unit="clip", desc=f"cache {split}", file=sys.stderr,
                           mininterval=2.0)
            n_fast = 0
            results = pool.imap_unordered(_work, tasks) if pool else map(_work, tasks)
            for start, a, fast in results:
                arr[start:start + len(a)] = a
                n_fast += int(fast)
                if bar is not None:
                    bar.update(len(a))
            if bar is not None:
                bar.close()
            arr.flush()
            del arr
            os.replace(tmp, out_path)
            report[split] = {"shape": list(shape), "seconds": round(time.time() - t0, 2),
                             "chunks": len(tasks), "fast_chunks": n_fast,
                             "bytes": out_path.stat().st_size}
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--splits", nargs="*", default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--verify", type=int, default=1, help="clips per chunk re-decoded with decode_clip")
    ap.add_argument("--ffmpeg", default="ffmpeg")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args(argv)
    t = time.time()
    rep = build_cache(a.data, a.frames, a.size, a.splits, a.workers, a.chunk, a.ffmpeg, a.verify, a.force)
    print(json.dumps({"report": rep, "wall_s": round(time.time() - t, 2)}))


if __name__ == "__main__":
    main()
