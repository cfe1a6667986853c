"""Build the demo library (examples/demo-library): test-split clips with their captions and QA.

    python -m hbi.export.demo --data .data/synthclips --out ../examples/demo-library --count 200

Only test-split clips are used (never seen in training or model selection). library.json holds,
per clip: id, file, captions, qa and the ground-truth scene; the platform ingests the folder on
first start.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from hbi.data.cache import read_jsonl


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--split", default="test")
    args = ap.parse_args(argv)
    data, out = Path(args.data), Path(args.out)
    (out / "clips").mkdir(parents=True, exist_ok=True)
    records = read_jsonl(data / f"{args.split}.jsonl")[: args.count]
    clips = []
    for r in records:
        src = data / "videos" / args.split / f"{r['id']}.mp4"
        shutil.copy(src, out / "clips" / src.name)
        clips.append({"id": r["id"], "file": f"clips/{src.name}", "captions": r["captions"], "qa": r["qa"], "scene": r["scene"], "twin": r.get("twin")})
    meta = json.loads((data / "meta.json").read_text())
    library = {"name": "synthclips demo library", "source": f"synthclips {meta['generator_version']} seed {meta['seed']}, split {args.split}",
               "fps": meta["fps"], "frames": meta["frames"], "width": meta["width"], "height": meta["height"], "clips": clips}
    (out / "library.json").write_text(json.dumps(library, indent=1) + "\n")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"[demo] {len(clips)} clips, {size / 1e6:.2f} MB in {out}")


if __name__ == "__main__":
    main()
