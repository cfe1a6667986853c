"""Diagnostic: can the `tiny` frame encoder learn *shape*? (model/RESULTS.md, "Why shape is not learned")

    python -m hbi.train.shape_probe --data DIR --task frames --stem coarse --batches clips --steps 800
    python -m hbi.train.shape_probe --data DIR --task single --steps 400

The frame encoder alone (no temporal model, no text), trained from scratch on ground truth:

- ``--task frames``: per-frame scene targets — for each colour the shape and the 4x4-grid column and
  row of its object in that frame (``FRAME_SCENE_GROUPS`` without the binding-free ``visible_*``
  groups); reports val accuracy of *shape of each colour* and *column of each colour* over the
  objects visible in a frame. ``--batches clips``: 64 clips x their 8 frames per step;
  ``single``: 512 frames of 512 different clips.
- ``--task single``: clips with one object that is visible throughout, one frame each, a 5-way shape
  label (batch 128); reports val accuracy.

Stems: ``coarse`` (the 4x4-stride-4 ``patchify`` stack), ``fine`` (two 3x3 stride-2 convs), ``overlap``
(8x8 stride 4, padding 2), ``deep`` (coarse + a 3x3 conv at 16x16), ``maxpool`` (the VGG-style
``conv_features("maxpool", (32, 64, 128))`` stack); ``--pooled`` adds the max-pooled "what" path to the
token. One thread by default; progress on stderr. The frames task averages every group over all rows,
so the "absent" rows dominate its loss, unless ``--present-only`` averages each group over the visible
objects only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hbi.data import grammar as G
from hbi.data.dataset import load_split
from hbi.model.config import TINY
from hbi.model.encoders import ConvFrameEncoder, conv_features
from hbi.model.heads import grouped_cross_entropy
from hbi.train.batches import FRAME_SCENE_GROUPS, frame_scene_targets
from hbi.train.frame_pretrain import visible_accuracy

STEMS = ("coarse", "fine", "overlap", "deep", "maxpool")
# the probe's groups: shape / column / row of each colour (no visible_* groups)
PROBE_GROUPS = [(i, n) for i, (name, n) in enumerate(FRAME_SCENE_GROUPS) if not name.startswith("visible_")]


def stem_layers(stem: str, channels: tuple[int, ...]) -> nn.Sequential:
    """The conv feature stack of each probed stem; all end at a 4x4 map of channels[-1] from 64x64."""
    c = channels

    def block(c_in: int, c_out: int, k: int, s: int, p: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, k, stride=s, padding=p), nn.GroupNorm(8, c_out), nn.GELU()]

    if stem == "maxpool":
        return conv_features("maxpool", (32, 64, 128))
    if stem == "coarse":
        first = block(3, c[0], 4, 4, 0)
    elif stem == "fine":
        first = block(3, 32, 3, 2, 1) + block(32, c[0], 3, 2, 1)
    elif stem == "overlap":
        first = block(3, c[0], 8, 4, 2)
    elif stem == "deep":
        first = block(3, c[0], 4, 4, 0) + block(c[0], c[0], 3, 1, 1)
    else:
        raise ValueError(f"unknown stem {stem!r}: use one of {', '.join(STEMS)}")
    rest = [m for a, b in zip(c[:-1], c[1:]) for m in block(a, b, 3, 2, 1)]
    return nn.Sequential(*first, *rest)


class FrameProbe(nn.Module):
    """uint8 frames [N,64,64,3] → logits [N, K] (K: the probe's classes), through one probed stem."""

    def __init__(self, stem: str, classes: int, pooled: bool = False) -> None:
        super().__init__()
        cfg = TINY
        self.register_buffer("mean", torch.tensor(cfg.pixel_mean).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(cfg.pixel_std).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.encoder = ConvFrameEncoder(cfg.image_size, cfg.conv_channels, cfg.embed_dim, pooled=pooled)
        self.encoder.features = stem_layers(stem, cfg.conv_channels)
        d = cfg.embed_dim
        self.head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, classes))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = (frames.permute(0, 3, 1, 2).float() - self.mean) / self.std
        return self.head(self.encoder(x))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--task", choices=("frames", "single"), default="frames")
    ap.add_argument("--stem", choices=STEMS, default="coarse")
    ap.add_argument("--batches", choices=("clips", "single"), default="clips", help="--task frames: 64 clips x 8 frames, or 512 frames of different clips")
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--present-only", action="store_true", help="--task frames: average each group over the visible objects only (grouped_cross_entropy(present_only=...))")
    ap.add_argument("--pooled", action="store_true", help="add the max-pooled 'what' path to the frame token")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="JSON report (optional)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    T = TINY.frames
    train_frames, train_recs = load_split(args.data, "train", T, TINY.image_size)
    val_frames, val_recs = load_split(args.data, "val", T, TINY.image_size)
    if args.task == "frames":
        sizes = [n for _, n in PROBE_GROUPS]
        keep = [i for i, _ in PROBE_GROUPS]
        tr_t = np.stack([frame_scene_targets(r["scene"], T)[:, keep] for r in train_recs])  # [N,T,G]
        n_val = 256
        va_x = torch.from_numpy(np.ascontiguousarray(val_frames[:n_val])).reshape(-1, *val_frames.shape[2:])
        va_y = torch.from_numpy(np.stack([frame_scene_targets(r["scene"], T)[:, keep] for r in val_recs[:n_val]])).reshape(-1, len(keep))
        nc = len(G.COLOURS)
        shape_groups, column_groups = range(0, nc), range(nc, 2 * nc)
    else:
        sizes = [len(G.SHAPES)]

        def singles(recs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
            idx = [i for i, r in enumerate(recs) if len(r["scene"]["objects"]) == 1
                   and r["scene"]["objects"][0]["motion"] not in ("appear", "disappear")]
            return np.array(idx), np.array([G.SHAPES.index(recs[i]["scene"]["objects"][0]["shape"]) for i in idx])

        tr_idx, tr_y = singles(train_recs)
        va_idx, va_lab = singles(val_recs)
        va_x = torch.from_numpy(np.stack([val_frames[i, T // 2] for i in va_idx]))
        va_y = torch.from_numpy(va_lab)
    present = tuple([True] * len(sizes)) if args.present_only and args.task == "frames" else ()
    model = FrameProbe(args.stem, sum(sizes), pooled=args.pooled)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    history: list[dict] = []
    started = time.time()
    for step in range(1, args.steps + 1):
        if args.task == "frames" and args.batches == "clips":
            idx = np.sort(rng.choice(len(train_recs), 64, replace=False))
            x = torch.from_numpy(np.ascontiguousarray(train_frames[idx])).reshape(-1, *train_frames.shape[2:])
            y = torch.from_numpy(tr_t[idx]).reshape(-1, tr_t.shape[-1])
        elif args.task == "frames":
            idx = np.sort(rng.choice(len(train_recs), 512, replace=False))
            t = rng.integers(0, T, len(idx))
            x = torch.from_numpy(np.stack([train_frames[i, j] for i, j in zip(idx, t)]))
            y = torch.from_numpy(tr_t[idx, t])
        else:
            pick = rng.choice(len(tr_idx), 128)
            t = rng.integers(0, T, len(pick))
            x = torch.from_numpy(np.stack([train_frames[tr_idx[k], j] for k, j in zip(pick, t)]))
            y = torch.from_numpy(tr_y[pick])
        logits = model(x)
        loss = grouped_cross_entropy(logits, y, sizes, present_only=present) if args.task == "frames" else F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % args.eval_every == 0 or step == args.steps:
            model.eval()
            with torch.no_grad():
                lg = model(va_x)
            model.train()
            if args.task == "frames":
                entry = {"step": step, "loss": round(float(loss), 4), "shape_of_colour": visible_accuracy(lg, va_y, sizes, shape_groups),
                         "column_of_colour": visible_accuracy(lg, va_y, sizes, column_groups)}
            else:
                entry = {"step": step, "loss": round(float(loss), 4), "shape": float((lg.argmax(-1) == va_y).float().mean())}
            entry["seconds"] = round(time.time() - started, 1)
            history.append(entry)
            print(f"[shape-probe] {args.task}/{args.stem}/{args.batches} " + json.dumps(entry), file=sys.stderr, flush=True)
    report = {"task": args.task, "stem": args.stem, "pooled": args.pooled, "present_only": args.present_only, "batches": args.batches, "steps": args.steps, "lr": args.lr, "seed": args.seed, "history": history}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
