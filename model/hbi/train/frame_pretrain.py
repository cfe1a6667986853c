"""Stage 0 (optional, `train.py --frame-pretrain N`): the frame encoder learns what is where first.

In joint training the frame encoder gets its gradient mostly from the contrastive, QA and caption
losses, and within 600 joint steps it learns where each colour's object is but not its shape (val
shape-of-colour at chance, model/RESULTS.md). Trained alone on the per-frame scene targets — for each
colour the shape, column and row of its object, for each shape whether it is visible — with batches
of single frames from many different clips, the same encoder learns shape-of-colour in a few hundred
steps. This stage does exactly that before the joint training starts, through the model's own
`frame_scene_head` (the per-frame auxiliary head of `--scene-aux`), which then keeps the signal alive
during joint training. Training only; no exported graph changes.
"""
from __future__ import annotations

import sys

import numpy as np
import torch
from tqdm import tqdm

from hbi.model.hbi import HBIModel
from hbi.train.batches import Split, frame_scene_groups, frame_scene_targets


def visible_accuracy(logits: torch.Tensor, targets: torch.Tensor, sizes: list[int], groups: range) -> float:
    """Accuracy over the entries of `groups` whose target is not 0 (an object is visible): logits
    [N, sum(sizes)], targets int64 [N, len(sizes)]."""
    blocks = logits.split(sizes, dim=-1)
    ok = total = 0
    for g in groups:
        seen = targets[:, g] > 0
        ok += int((blocks[g].argmax(-1)[seen] == targets[:, g][seen]).sum())
        total += int(seen.sum())
    return ok / max(1, total)


def head_accuracy(model: HBIModel, frames: np.ndarray, targets: np.ndarray, what: str,
                  following: np.ndarray | None = None) -> float:
    """Share of the visible objects whose `what` ("shape" / "column") the per-frame scene head gets
    right from the frame encoder's tokens: frames [N,H,W,3] uint8 (and each one's next sampled frame,
    for a ``diff`` motion input), targets [N, len(FRAME_SCENE_GROUPS)]."""
    groups_of = frame_scene_groups(targets.shape[1] > len(frame_scene_groups(False)))
    sizes = [n for _, n in groups_of]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        nxt = None if following is None else torch.from_numpy(np.ascontiguousarray(following))
        logits = model.frame_scene_head.mlp(model.video.frame_tokens(torch.from_numpy(np.ascontiguousarray(frames)), nxt))
    model.train(was_training)
    groups = [g for g, (name, _) in enumerate(groups_of) if name.startswith(f"{what}_of_")]
    return visible_accuracy(logits, torch.from_numpy(targets), sizes, range(groups[0], groups[-1] + 1))


def val_frames(val: Split, clips: int = 128, changes: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every frame of the first `clips` val clips [N*T,H,W,3], each one's next frame (the last its
    own) and their per-frame targets."""
    n = min(clips, val.size)
    t = val.frames.shape[1]
    clip_frames = np.ascontiguousarray(val.frames[:n])
    frames = clip_frames.reshape(-1, *val.frames.shape[2:])
    following = np.concatenate([clip_frames[:, 1:], clip_frames[:, -1:]], axis=1).reshape(frames.shape)
    targets = np.stack([frame_scene_targets(r["scene"], t, changes) for r in val.records[:n]]).reshape(n * t, -1)
    return frames, following, targets


def pretrain_frames(model: HBIModel, train: Split, val: Split, steps: int, rng: np.random.Generator,
                    batch: int = 256, lr: float = 1e-3) -> dict:
    """`steps` AdamW steps of the frame encoder + frame_scene_head on single frames of `batch`
    different clips; returns the val accuracies after (shape and column of each colour's object)."""
    if model.frame_scene_head is None or train.frame_scene is None:
        raise SystemExit("--frame-pretrain needs the per-frame scene head and targets: add --scene-aux")
    params = list(model.video.frame.parameters()) + list(model.frame_scene_head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    model.train()
    n, t = train.frames.shape[:2]
    ones = torch.ones(batch, 1)
    bar = tqdm(range(steps), desc="frame pre-training", dynamic_ncols=True, mininterval=5)
    running = None
    for _ in bar:
        idx = rng.choice(n, size=min(batch, n), replace=False)
        ts = rng.integers(0, t, size=len(idx))
        x = torch.from_numpy(np.stack([train.frames[i, j] for i, j in zip(idx, ts)]))
        nxt = torch.from_numpy(np.stack([train.frames[i, min(j + 1, t - 1)] for i, j in zip(idx, ts)]))
        y = torch.from_numpy(train.frame_scene[idx, ts])[:, None, :]
        loss = model.frame_scene_head.loss(model.video.frame_tokens(x, nxt)[:, None, :], ones[: len(idx)], y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running = float(loss) if running is None else 0.95 * running + 0.05 * float(loss)
        bar.set_postfix(loss=f"{running:.3f}", refresh=False)
    bar.close()
    changes = model.cfg.motion_input == "diff" and len(model.cfg.frame_scene_classes) > len(frame_scene_groups(False))
    vf, vn, vt = val_frames(val, changes=changes)
    out = {"steps": steps, "batch": batch, "lr": lr, "loss": round(running or 0.0, 4),
           "val_shape_of_colour": round(head_accuracy(model, vf, vt, "shape", vn), 4),
           "val_column_of_colour": round(head_accuracy(model, vf, vt, "column", vn), 4)}
    if changes:
        out["val_change_of_colour"] = round(head_accuracy(model, vf, vt, "change", vn), 4)
    print(f"[train] frame pre-training: {out}", file=sys.stderr)
    return out

