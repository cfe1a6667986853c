"""synthclips generator CLI.

    python -m hbi.data.synthclips --out DIR --seed 0 [--train 20000 --val 1000 --test 1000 --comp 1000]
                                  [--workers 2] [--chunk 100]

Scenes, captions and QA are sampled in the main process (cheap, deterministic per seed); videos are
rendered in fixed chunks of ``--chunk`` clips.  Each chunk is encoded by ONE ffmpeg/x264 process as a
single stream with an IDR frame every 24 frames (closed GOP, no B-frames) and cut into one MP4 per
clip by the segment muxer, so the per-clip files are plain H.264 MP4s.  Chunk composition depends only
on the split sizes and ``--chunk``, never on ``--workers``, so output bytes are reproducible.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import grammar as G
from . import scenes as S
from .recipe import RECIPE
from .tokenizer import build_tokenizer, save_tokenizer

GENERATOR_VERSION = "synthclips/1.0"
SPLITS = ["train", "val", "test", "comp"]
CRF = 23


def encode_command(out_pattern: str, n_clips: int, ffmpeg: str = "ffmpeg", crf: int = CRF) -> list[str]:
    """x264 argv: raw rgb24 frames on stdin -> one MP4 per 24-frame clip (bit-exact, 1 thread)."""
    F = S.FRAMES
    seg_frames = ",".join(str(F * k) for k in range(1, n_clips))
    argv = [ffmpeg, "-v", "error", "-nostdin", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{S.W}x{S.H}", "-framerate", str(S.FPS),
            "-i", "pipe:0", "-an",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-threads", "1",
            "-pix_fmt", "yuv420p", "-g", str(F), "-keyint_min", str(F), "-sc_threshold", "0", "-bf", "0",
            "-x264-params", "open-gop=0",
            "-flags:v", "+bitexact+cgop", "-fflags", "+bitexact", "-map_metadata", "-1",
            "-f", "segment", "-reset_timestamps", "1", "-segment_format", "mp4"]
    if seg_frames:
        argv += ["-segment_frames", seg_frames]
    else:
        argv += ["-segment_time", "1000000"]
    argv += ["-segment_format_options", "fflags=+bitexact", out_pattern]
    return argv


def encode_chunk(out_dir: Path, split: str, records: list[dict], ffmpeg: str = "ffmpeg",
                 crf: int = CRF) -> int:
    """Render and encode one chunk; returns the number of clips written (0 if already complete)."""
    vdir = out_dir / "videos" / split
    finals = [vdir / f"{r['id']}.mp4" for r in records]
    if all(p.exists() and p.stat().st_size > 0 for p in finals):
        return 0
    tmp = vdir / f".tmp-{records[0]['id']}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    argv = encode_command(str(tmp / "%05d.mp4"), len(records), ffmpeg, crf)
    errf = open(tmp / "stderr.txt", "wb")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errf)
    try:
        for r in records:
            proc.stdin.write(S.render(r["scene"]).tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    rc = proc.wait()
    errf.close()
    err = (tmp / "stderr.txt").read_text(errors="replace")
    if rc != 0:
        raise RuntimeError(f"ffmpeg failed ({rc}) for chunk {records[0]['id']}: {err}")
    segs = sorted(p for p in tmp.iterdir() if p.suffix == ".mp4")
    if len(segs) != len(records):
        raise RuntimeError(f"expected {len(records)} segments, got {len(segs)} ({records[0]['id']}): {err}")
    for seg, final in zip(segs, finals):
        os.replace(seg, final)
    shutil.rmtree(tmp)
    return len(records)


def _work(args):
    out_dir, split, records, ffmpeg, crf = args
    return encode_chunk(Path(out_dir), split, records, ffmpeg, crf), len(records)


def all_vocab_words(records_by_split: dict) -> list[str]:
    """The closed vocabulary (grammar) - checked to cover every caption/question/answer."""
    words = set(G.VOCAB)
    for recs in records_by_split.values():
        for r in recs:
            texts = r["captions"] + [q["question"] for q in r["qa"]] + [q["answer"] for q in r["qa"]]
            for t in texts:
                extra = set(G.words_of(t)) - words
                if extra:
                    raise ValueError(f"words outside the closed vocabulary in {r['id']}: {sorted(extra)}")
    return list(G.VOCAB)


def write_metadata(out: Path, seed: int, records_by_split: dict) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    for split, recs in records_by_split.items():
        tmp = out / f"{split}.jsonl.tmp"
        with open(tmp, "w") as f:
            for r in recs:
                f.write(json.dumps(r, separators=(",", ":")) + "\n")
        os.replace(tmp, out / f"{split}.jsonl")
    vocab = all_vocab_words(records_by_split)
    tok = build_tokenizer(vocab)
    save_tokenizer(tok, out / "tokenizer.json")
    n_twins = {s: sum(1 for r in recs if r["twin"]) for s, recs in records_by_split.items()}
    meta = {
        "name": "synthclips", "generator_version": GENERATOR_VERSION, "seed": seed,
        "counts": {s: len(r) for s, r in records_by_split.items()},
        "twin_clips": n_twins,
        "fps": S.FPS, "frames": S.FRAMES, "width": S.W, "height": S.H,
        "colours": G.COLOURS, "shapes": G.SHAPES, "sizes": G.SIZES, "motions": G.MOTIONS,
        "vocabulary": vocab, "answers": G.ANSWERS, "question_types": G.QA_TYPES,
        "captions_per_clip": G.N_CAPTIONS, "max_caption_words": G.MAX_CAPTION_WORDS,
        "held_out_combos": [list(x) for x in S.HELD_OUT], "held_out_kind": "(colour, motion)",
        "tokenizer": "tokenizer.json", "decode_recipe": RECIPE,
        "video": {"codec": "h264 (libx264)", "pix_fmt": "yuv420p", "crf": CRF, "gop": S.FRAMES,
                  "bframes": 0, "path": "videos/<split>/<id>.mp4"},
    }
    with open(out / "meta.json", "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def generate(out: str | Path, seed: int = 0, counts: dict | None = None, workers: int = 2,
             chunk: int = 100, ffmpeg: str = "ffmpeg", videos: bool = True, progress: bool = True,
             crf: int = CRF) -> dict:
    out = Path(out)
    counts = counts or {"train": 20000, "val": 1000, "test": 1000, "comp": 1000}
    t0 = time.time()
    records = {s: S.build_split(seed, s, n) for s, n in counts.items() if n > 0}
    t_scenes = time.time() - t0
    meta = write_metadata(out, seed, records)
    t1 = time.time()
    if videos:
        tasks = []
        for split, recs in records.items():
            (out / "videos" / split).mkdir(parents=True, exist_ok=True)
            for i in range(0, len(recs), chunk):
                tasks.append((str(out), split, recs[i:i + chunk], ffmpeg, crf))
        total = sum(len(t[2]) for t in tasks)
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=total, unit="clip", desc="synthclips", file=sys.stderr, mininterval=2.0)
        written = 0
        if workers <= 1:
            results = map(_work, tasks)
            pool = None
        else:
            import multiprocessing as mp
            pool = mp.get_context("fork").Pool(workers)
            results = pool.imap_unordered(_work, tasks)
        try:
            for w, n in results:
                written += w
                if bar is not None:
                    bar.update(n)
        finally:
            if pool is not None:
                pool.close()
                pool.join()
            if bar is not None:
                bar.close()
        meta["timing"] = {"scenes_s": round(t_scenes, 2), "videos_s": round(time.time() - t1, 2),
                          "clips_written": written}
    return meta


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--val", type=int, default=1000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--comp", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=100, help="clips per ffmpeg encoder process")
    ap.add_argument("--ffmpeg", default="ffmpeg")
    ap.add_argument("--no-videos", action="store_true", help="only jsonl/meta/tokenizer")
    a = ap.parse_args(argv)
    counts = {"train": a.train, "val": a.val, "test": a.test, "comp": a.comp}
    t = time.time()
    meta = generate(a.out, a.seed, counts, a.workers, a.chunk, a.ffmpeg, not a.no_videos)
    print(json.dumps({"out": a.out, "counts": meta["counts"], "timing": meta.get("timing"),
                      "wall_s": round(time.time() - t, 2)}))


if __name__ == "__main__":
    main()
