"""The Python reference evaluation of a model on the demo library, for the platform's train/serve parity test.

    python -m hbi.export.demo_eval --run runs/shipped --demo ../examples/demo-library \
        --package ../models/hbi-synth-tiny

Decodes every demo clip from its MP4 file with the shared ffmpeg recipe (exactly what the platform
does at ingest), encodes clips and every caption with the PyTorch checkpoint, scores all captions
against all clips with the HBI interaction (the ranking the platform's `search` returns), and writes
`<demo>/reference-eval.json`: per caption its clip, the top-1 clip and score, the own clip's score and
rank; plus text→video R@1/R@5/R@10 over the library. The file names the package and the sha256 of
the graphs it stands for, so a test can tell when it is stale (re-run this after re-exporting).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from hbi.data.recipe import decode_clip
from hbi.data.tokenizer import encode_batch, load_tokenizer
from hbi.model.config import ModelConfig
from hbi.model.hbi import HBIModel

GRAPHS = ("video", "text", "interaction")


@torch.no_grad()
def reference_eval(model: HBIModel, demo: Path, tokenizer_path: Path, batch: int = 50) -> dict:
    """Scores of every demo caption against every demo clip → summary + per-caption records."""
    cfg = model.cfg
    model.eval()
    clips = json.loads((demo / "library.json").read_text())["clips"]
    frames = np.stack([decode_clip(str(demo / c["file"]), cfg.frames, cfg.image_size, cfg.image_size) for c in clips])
    fmask = torch.ones(len(clips), cfg.frames)
    enc = [model.encode_video(torch.from_numpy(frames[s:s + batch]), fmask[s:s + batch]) for s in range(0, len(clips), batch)]
    f, fw = torch.cat([e[0] for e in enc]), torch.cat([e[1] for e in enc])
    tok = load_tokenizer(tokenizer_path)
    captions = [(i, j, text) for i, c in enumerate(clips) for j, text in enumerate(c["captions"])]
    ids, mask, _ = encode_batch(tok, [t for _, _, t in captions], cfg.max_words)
    rows = []
    for s in range(0, len(captions), batch):
        i = torch.from_numpy(ids[s:s + batch])
        m = torch.from_numpy(mask[s:s + batch])
        w, ww, _ = model.encode_text(i, m)
        rows.append(model.interaction(w, ww, m.float(), f, fw, fmask))
    scores = torch.cat(rows).numpy().astype(np.float64)  # [captions, clips]
    records, ranks = [], []
    for k, (i, j, text) in enumerate(captions):
        order = np.argsort(-scores[k], kind="stable")
        rank = int(np.nonzero(order == i)[0][0]) + 1
        ranks.append(rank)
        top, second = int(order[0]), int(order[1])
        records.append({"clip": clips[i]["id"], "caption_index": j, "text": text, "top1": clips[top]["id"],
                        "top1_score": round(float(scores[k, top]), 7), "margin": round(float(scores[k, top] - scores[k, second]), 7),
                        "own_score": round(float(scores[k, i]), 7), "own_rank": rank})
    r = np.array(ranks)
    summary = {"clips": len(clips), "captions": len(captions),
               "t2v": {"R@1": round(100 * float((r <= 1).mean()), 2), "R@5": round(100 * float((r <= 5).mean()), 2),
                       "R@10": round(100 * float((r <= 10).mean()), 2), "MdR": float(np.median(r))}}
    return {"summary": summary, "captions": records}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="run folder holding best.pt (the checkpoint the package was exported from)")
    ap.add_argument("--demo", required=True, help="demo library folder (library.json + clips/)")
    ap.add_argument("--package", required=True, help="the exported model package (its manifest names the graphs' sha256)")
    ap.add_argument("--checkpoint", default="best.pt", help="best.pt, or heads.pt when stage 2 tuned the heads")
    args = ap.parse_args(argv)
    run, demo, package = Path(args.run), Path(args.demo), Path(args.package)
    ck = torch.load(run / args.checkpoint, map_location="cpu", weights_only=False)
    model = HBIModel(ModelConfig.from_dict(ck["config"]))
    model.load_state_dict(ck["model"])
    manifest = json.loads((package / "manifest.json").read_text())
    result = reference_eval(model, demo, package / "tokenizer.json")
    out = {"model": f"{manifest['name']}@{manifest['version']}",
           "graphs": {g: manifest["files"][f"{g}.onnx"]["sha256"] for g in GRAPHS},
           "command": " ".join(["python", "-m", "hbi.export.demo_eval", *(argv if argv is not None else sys.argv[1:])]),
           **result}
    (demo / "reference-eval.json").write_text(json.dumps(out, indent=1) + "\n")
    s = result["summary"]
    print(f"[demo-eval] {s['captions']} captions × {s['clips']} clips: t2v R@1 {s['t2v']['R@1']} R@5 {s['t2v']['R@5']} → {demo / 'reference-eval.json'}")


if __name__ == "__main__":
    main()
