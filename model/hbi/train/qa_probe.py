"""Diagnostic: how much QA accuracy the *granularity of the frame tokens* allows, at equal budget.

The shipped `tiny` model reads each frame as one token (the conv stem's 4×4 map flattened into one D
vector), and its QA accuracy stalls near 58 % with shape questions at chance. This probe trains the
same conv stem, temporal transformer, text tower and QA head **for QA only**, from scratch, in two
variants that differ only in what the QA head may attend to:

- ``frame``: one token per frame, as shipped ([B,T,D]);
- ``spatial``: the 4×4 grid cells of each frame as tokens, with learned cell positions ([B,T·16,D]).

``--stem fine`` swaps the shipped 4×4-stride-4 patchify stem for a 2×2-stride-2 one with one more
stride-2 convolution (same 4×4 final grid, ≈ 1.6× the multiply-adds): whether a stem that resolves
small shapes lets the QA head answer shape questions at all.

Same data, steps, batch, learning rate and seed; checkpoint-free; accuracy on **val** by question
type. It answers "would spatial tokens in the `qa` graph's input lift QA?" before a full retrain.

    python -m hbi.train.qa_probe --data .data/synthclips --tokens frame spatial --steps 600 --out runs/qa-probe.json
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from hbi.data.dataset import load_meta
from hbi.eval.qa import qa_accuracy
from hbi.model.config import PRESETS
from hbi.model.encoders import ConvFrameEncoder, TextTransformer, Transformer, additive_mask
from hbi.model.heads import QALevel
from hbi.train.batches import Split, load_tokenised, trim


class FineConvStem(nn.Module):
    """[N,3,64,64] → a 4×4 grid like ConvFrameEncoder's, from a 2×2-stride-2 stem (32² first map)."""

    def __init__(self, out_dim: int, channels: tuple[int, ...] = (32, 48, 96, 128)) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, channels[0], 2, stride=2), nn.GroupNorm(8, channels[0]), nn.GELU()]
        for c_in, c in zip(channels[:-1], channels[1:]):
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.GroupNorm(8, c), nn.GELU()]
        self.features = nn.Sequential(*layers)
        self.proj = nn.Linear(channels[-1] * 4 * 4, out_dim)
        self.ln = nn.LayerNorm(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(self.proj(self.features(x).flatten(1)))


class QAProbe(nn.Module):
    """Conv stem → frame or grid-cell tokens → transformer → QA head reading them with the question."""

    def __init__(self, tokens: str, vocab: int, answers: int, stem: str = "coarse") -> None:
        super().__init__()
        cfg = PRESETS["tiny"].replace(vocab_size=vocab, answers=answers)
        self.cfg, self.tokens = cfg, tokens
        d = cfg.embed_dim
        self.register_buffer("mean", torch.tensor(cfg.pixel_mean).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(cfg.pixel_std).view(1, 3, 1, 1) * 255.0, persistent=False)
        if stem == "coarse":
            self.stem: nn.Module = ConvFrameEncoder(cfg.image_size, cfg.conv_channels, d)
        elif stem == "fine":
            self.stem = FineConvStem(d, (32, 48, 96, cfg.conv_channels[-1]))
        else:
            raise ValueError(f"stem must be 'coarse' or 'fine', not {stem!r}")
        side = cfg.image_size // (4 * 2 ** (len(cfg.conv_channels) - 1))
        self.cells = side * side
        if tokens == "spatial":
            self.cell_proj = nn.Linear(cfg.conv_channels[-1], d)
            self.cell_position = nn.Parameter(torch.randn(self.cells, d) * 0.02)
            self.cell_ln = nn.LayerNorm(d)
        elif tokens != "frame":
            raise ValueError(f"tokens must be 'frame' or 'spatial', not {tokens!r}")
        self.frame_position = nn.Parameter(torch.randn(cfg.frames, d) * 0.02)
        self.temporal = Transformer(d, cfg.temporal_layers, cfg.heads)
        self.text = TextTransformer(cfg)
        self.head = QALevel(d, cfg.heads, answers)

    def video_tokens(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 [B,T,H,W,3] → [B,T,D] (frame) or [B,T·cells,D] (spatial)."""
        b, t, h, w, _ = frames.shape
        x = (frames.reshape(b * t, h, w, 3).permute(0, 3, 1, 2).float() - self.mean) / self.std
        if self.tokens == "frame":
            x = self.stem(x).reshape(b, t, -1) + self.frame_position[:t]
        else:
            grid = self.stem.features(x)  # [B·T, C, side, side]
            cells = grid.flatten(2).transpose(1, 2)  # [B·T, cells, C]
            x = self.cell_ln(self.cell_proj(cells)) + self.cell_position
            x = x.reshape(b, t, self.cells, -1) + self.frame_position[:t, None, :]
            x = x.reshape(b, t * self.cells, -1)
        ones = torch.ones(x.shape[:2])
        return x + self.temporal(x, additive_mask(ones, self.cfg.heads))

    def forward(self, frames: torch.Tensor, qids: torch.Tensor, qmask: torch.Tensor) -> torch.Tensor:
        v = self.video_tokens(frames)
        q = self.text(qids, qmask.float())
        return self.head(q, qmask.float(), v, torch.ones(v.shape[:2]))


def batch(split: Split, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """QA rows → frames [B,T,H,W,3], question ids/mask [B,L], answers [B]."""
    clips = split.qa_clip[rows]
    frames = torch.from_numpy(np.ascontiguousarray(split.frames[clips]))
    ids, mask = trim(split.qa_ids[rows], split.qa_mask[rows])
    return frames, ids, mask, torch.from_numpy(split.qa_answer[rows])


@torch.no_grad()
def evaluate(model: QAProbe, split: Split, answers: list[str], size: int = 256) -> dict:
    """Val QA accuracy by type; each clip's tokens are computed once for all its questions."""
    model.eval()
    tokens = torch.cat([model.video_tokens(torch.from_numpy(np.ascontiguousarray(split.frames[start:start + size])))
                        for start in range(0, split.size, size)])
    preds: list[str] = []
    for start in range(0, len(split.qa_answer), size):
        rows = np.arange(start, min(start + size, len(split.qa_answer)))
        v = tokens[torch.from_numpy(split.qa_clip[rows])]
        ids, mask = trim(split.qa_ids[rows], split.qa_mask[rows])
        q = model.text(ids, mask.float())
        logits = model.head(q, mask.float(), v, torch.ones(v.shape[:2]))
        preds += [answers[i] for i in logits.argmax(-1).tolist()]
    model.train()
    gold = [answers[i] for i in split.qa_answer.tolist()]
    return qa_accuracy(preds, gold, split.qa_type)


def run(tokens: str, train: Split, val: Split, answers: list[str], args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = QAProbe(tokens, args.vocab, len(answers), args.stem)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    started = time.time()
    log = []
    bar = tqdm(range(1, args.steps + 1), desc=f"qa-probe {tokens}/{args.stem}", dynamic_ncols=True, mininterval=5, file=sys.stderr)
    running = None
    for step in bar:
        warm = max(1, args.steps // 20)
        lr = args.lr * min(1.0, step / warm) * 0.5 * (1 + math.cos(math.pi * max(0, step - warm) / max(1, args.steps - warm)))
        for g in opt.param_groups:
            g["lr"] = lr
        frames, ids, mask, gold = batch(train, rng.integers(0, len(train.qa_answer), size=args.batch))
        loss = F.cross_entropy(model(frames, ids, mask), gold)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        value = loss.item()
        running = value if running is None else 0.98 * running + 0.02 * value
        bar.set_postfix(loss=f"{running:.3f}", refresh=False)
        if step % args.eval_every == 0 or step == args.steps:
            res = evaluate(model, val, answers)
            log.append({"step": step, "seconds": round(time.time() - started, 1), "loss": running, "val_qa": res["overall"], "by_type": res["by_type"]})
            tqdm.write(f"[qa-probe] {tokens}/{args.stem} step {step}: val QA {res['overall']:.1f} {json.dumps({k: round(v, 1) for k, v in res['by_type'].items()})}", file=sys.stderr)
    params = sum(p.numel() for p in model.parameters())
    return {"tokens": tokens, "stem": args.stem, "parameters": params, "train_seconds": round(time.time() - started, 1), "log": log, "final": log[-1]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokens", nargs="+", default=["frame", "spatial"], choices=["frame", "spatial"])
    ap.add_argument("--stem", default="coarse", choices=["coarse", "fine"], help="coarse: the shipped 4×4-stride-4 stem; fine: 2×2 stride 2")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--train-clips", type=int, default=0, help="use only the first N training clips (0: all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True, help="JSON report")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    meta = load_meta(args.data)
    answers = meta["answers"]
    args.vocab = len(json.loads((Path(args.data) / "tokenizer.json").read_text())["model"]["vocab"])
    cfg = PRESETS["tiny"]
    train = load_tokenised(args.data, "train", cfg.frames, cfg.image_size, cfg.max_words, in_memory=True)
    if args.train_clips:
        keep = train.qa_clip < args.train_clips
        train.qa_clip, train.qa_ids, train.qa_mask, train.qa_answer = (train.qa_clip[keep], train.qa_ids[keep], train.qa_mask[keep], train.qa_answer[keep])
    val = load_tokenised(args.data, "val", cfg.frames, cfg.image_size, cfg.max_words)
    report = {"steps": args.steps, "batch": args.batch, "lr": args.lr, "seed": args.seed, "split": "val", "runs": [run(t, train, val, answers, args) for t in args.tokens]}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
