"""Pre-training of the Banzhaf prediction network (METHOD.md §4) on the shapes of every level.

The targets are Monte Carlo Banzhaf interactions of synthetic similarity matrices whose shapes cover
all three levels (entity, action, event) of the model that will use it — the public code trained one
network on 24×12 matrices and reused it everywhere, a pitfall we avoid. Matrices come from random
unit tokens with planted word↔frame matches, so their statistics resemble real cosine matrices.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from hbi.model.banzhaf import BanzhafPredictor, similarity_banzhaf_mc
from hbi.model.config import ModelConfig


def level_shapes(cfg: ModelConfig) -> list[tuple[int, int]]:
    """(max words, frames) of each level: entity, then each merged level."""
    from hbi.model.hbi import level_capacity

    return [(level_capacity(cfg.max_words, cfg.word_ratios[:i]), level_capacity(cfg.frames, cfg.frame_ratios[:i])) for i in range(3)]


def synthetic_matrix(lt: int, tv: int, dim: int, g: torch.Generator) -> torch.Tensor:
    """A cosine matrix [lt,tv] of random tokens where some frames echo some words (noisy copies)."""
    words = F.normalize(torch.randn(lt, dim, generator=g), dim=-1)
    frames = F.normalize(torch.randn(tv, dim, generator=g), dim=-1)
    for j in range(tv):
        if torch.rand((), generator=g) < 0.7:
            i = int(torch.randint(0, lt, (), generator=g))
            mix = float(torch.rand((), generator=g)) * 0.8 + 0.2
            frames[j] = F.normalize(mix * words[i] + (1 - mix) * frames[j], dim=0)
    return words @ frames.T


def make_dataset(cfg: ModelConfig, count: int, samples: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(matrix [L,T] padded to the level's max, word mask, frame mask, MC Banzhaf target) tuples."""
    g = torch.Generator().manual_seed(seed)
    shapes = level_shapes(cfg)
    data = []
    for k in tqdm(range(count), desc="banzhaf targets", leave=False):
        lmax, tmax = shapes[k % len(shapes)]
        lt = int(torch.randint(max(1, lmax // 4), lmax + 1, (), generator=g))
        tv = int(torch.randint(max(1, (tmax + 1) // 2), tmax + 1, (), generator=g))
        m = synthetic_matrix(lt, tv, 32, g)
        target = similarity_banzhaf_mc(m, samples, g)
        pm = torch.zeros(lmax, tmax)
        pt = torch.zeros(lmax, tmax)
        pm[:lt, :tv] = m
        pt[:lt, :tv] = target
        wm = (torch.arange(lmax) < lt).float()
        fm = (torch.arange(tmax) < tv).float()
        data.append((pm, wm, fm, pt))
    return data


def pretrain(cfg: ModelConfig, count: int = 800, samples: int = 100, epochs: int = 40, seed: int = 0) -> tuple[BanzhafPredictor, dict]:
    """Fit a BanzhafPredictor with MSE; returns it and its held-out fit (MSE vs predicting zero)."""
    torch.manual_seed(seed)
    data = make_dataset(cfg, count, samples, seed)
    held = data[: count // 10]
    train = data[count // 10:]
    scale = torch.cat([d[3][d[1].bool()][:, d[2].bool()].flatten() for d in train]).std().clamp(min=1e-6)
    net = BanzhafPredictor()
    net.target_scale.fill_(float(scale))
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * math.ceil(len(train) / 32)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    by_shape: dict[tuple[int, int], list] = {}
    for d in train:
        by_shape.setdefault(tuple(d[0].shape), []).append(d)
    bar = tqdm(total=steps, desc="banzhaf pretrain", leave=False)
    for _ in range(epochs):
        for group in by_shape.values():
            perm = torch.randperm(len(group))
            for s in range(0, len(group), 32):
                items = [group[int(i)] for i in perm[s:s + 32]]
                m, wm, fm, t = (torch.stack(x) for x in zip(*items))
                loss = F.mse_loss(net(m, wm, fm), t / scale, reduction="sum") / (wm[:, :, None] * fm[:, None, :]).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
                if sched.last_epoch < steps - 1:
                    sched.step()
                bar.update(1)
    bar.close()
    net.eval()
    with torch.no_grad():
        err = zero = 0.0
        for m, wm, fm, t in held:
            p = net(m[None], wm[None], fm[None])[0] * scale
            err += float(((p - t) ** 2).sum())
            zero += float((t**2).sum())
    report = {"heldout_mse_ratio_vs_zero": err / max(zero, 1e-12), "target_scale": float(scale), "count": count, "samples": samples}
    return net, report


def load_or_pretrain(cfg: ModelConfig, path: Path, **kwargs) -> BanzhafPredictor:
    """Cached pre-training: the predictor depends only on the level shapes and the seed."""
    if path.exists():
        net = BanzhafPredictor()
        net.load_state_dict(torch.load(path, map_location="cpu"))
        return net
    net, report = pretrain(cfg, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    print(f"banzhaf predictor pre-trained: {report}")
    return net
