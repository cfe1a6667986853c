"""Token merging by density-peak clustering with k nearest neighbours (DPC-KNN, METHOD.md §3).

Cluster counts come from each sample's *valid* token count (never the padded length) and padding
never becomes a centre or a member. Every op here exports to ONNX (topk, gather, argmin, one-hot by
comparison), so the `interaction` graph can merge tokens at serving time exactly as in training.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .encoders import Attention

BIG = 1e4
QUANTUM = 1e-4  # grid of the keys DPC-KNN compares (log scale: relative differences below 1e-4 are ties)


def cluster_counts(mask: torch.Tensor, ratio: float, max_clusters: int) -> torch.Tensor:
    """mask [B,N] → clusters per sample [B] = clamp(ceil(valid·ratio), 1, max_clusters)."""
    valid = mask.float().sum(-1)
    return torch.clamp(torch.ceil(valid * ratio - 1e-6), min=1.0, max=float(max_clusters))


def quantise(v: torch.Tensor, step: float = QUANTUM) -> torch.Tensor:
    """v rounded to a grid of `step`: the key every discrete choice below compares, so that two
    runtimes whose float results differ in the last bits (ONNX Runtime vs PyTorch) make the same choice
    unless a value sits within rounding error of a grid line."""
    return torch.round(v / step)


def rank_desc(key: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """key [B,N] (already quantised), valid [B,N] → rank [B,N] (0 = best): larger key first, equal keys
    by position, invalid tokens after every valid one. A strict total order, so the ranks are a
    permutation of 0..N-1 in either runtime (no reliance on how topk/argmax order equal values)."""
    n = key.shape[1]
    pos = torch.arange(n, device=key.device)
    kj, ki = key[:, None, :], key[:, :, None]
    earlier = (pos[None, :] < pos[:, None]).float()[None]  # [1,i,j]: j before i
    vj, vi = valid[:, None, :], valid[:, :, None]
    beats = vj * (1.0 - vi) + vj * vi * ((kj > ki).float() + (kj == ki).float() * earlier) + (1.0 - vj) * (1.0 - vi) * earlier
    return beats.sum(-1)  # [B,i]: how many tokens j come before i


def dpc_knn(x: torch.Tensor, mask: torch.Tensor, counts: torch.Tensor, max_clusters: int, k: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Density-peak clustering.

    x [B,N,D], mask [B,N] (1 valid), counts [B] (float, clusters wanted per sample).
    Returns (assign [B,N,C] one-hot float, zero rows for padding; centre_mask [B,C]; centres [B,C] token indices).
    d_ij = ‖x_i − x_j‖/√D; ρ_i = exp(−mean d² over the k nearest valid neighbours); δ_i = distance to
    the nearest denser token (the densest gets its largest distance); centres = top-C by ρ·δ.

    Every discrete choice (which token is denser, which are the centres, which centre is nearest) is
    made on quantised keys (log ρ, log ρδ, log d² on a 1e-4 grid) with ties broken by position, and d²
    is computed from the differences, so duplicate tokens are exactly 0 apart. Computed instead as
    ‖a‖² + ‖b‖² − 2a·b, d² of near-duplicate tokens was cancellation noise of ~1e-6·‖x‖² whose square
    root (δ) decided the centres: ONNX Runtime and PyTorch chose different centres and the merged
    tokens, hence the scores, differed by up to 1e-1 (model/RESULTS.md, "ONNX parity of the event level").
    """
    b, n, d = x.shape
    x = x.detach().float()
    valid = (mask > 0).float()
    d2 = ((x[:, :, None, :] - x[:, None, :, :]) ** 2).sum(-1) / d  # exact 0 for equal tokens, symmetric
    dist = torch.sqrt(d2 + 1e-12)
    eye = torch.eye(n, device=x.device)[None]
    invalid_pair = (1.0 - valid[:, None, :]) * BIG
    kk = max(1, min(k, n - 1))
    near = torch.topk(d2 + invalid_pair + eye * BIG, kk, dim=-1, largest=False).values  # [B,N,k]
    ok = (near < BIG / 2).float()
    log_density = -(near * ok).sum(-1) / ok.sum(-1).clamp(min=1.0)
    # j is denser than i: a larger quantised log-density, or the same one and an earlier position.
    rank_rho = rank_desc(quantise(log_density), valid)
    denser = (rank_rho[:, None, :] < rank_rho[:, :, None]).float() * valid[:, None, :]  # [B,i,j]
    delta_near = (dist + (1.0 - denser) * BIG).amin(-1)
    delta_max = (dist * valid[:, None, :]).amax(-1)
    has_denser = denser.sum(-1) > 0
    delta = torch.where(has_denser, delta_near, delta_max)
    # centres: the C best by ρ·δ, compared as log ρ + log δ on the grid
    rank = rank_desc(quantise(log_density + torch.log(delta)), valid)  # [B,N]
    slot = (rank[:, :, None] == torch.arange(max_clusters, device=x.device, dtype=rank.dtype)[None, None]).float()  # [B,N,C]
    centres = slot.argmax(1)  # [B,C]: the token ranked c (one exists for every c < N)
    centre_mask = (torch.arange(max_clusters, device=x.device)[None].float() < counts[:, None]).float()
    to_centre = torch.gather(d2, 2, centres[:, None, :].expand(b, n, max_clusters))  # [B,N,C]
    key = quantise(torch.log(to_centre + 1e-12)) + (1.0 - centre_mask[:, None, :]) * BIG * BIG
    nearest = key.argmin(-1)  # [B,N]: the nearest centre; equally near → the best-ranked (first) one
    assign = (nearest[:, :, None] == torch.arange(max_clusters, device=x.device)[None, None]).float()
    return assign * valid[:, :, None], centre_mask, centres


class TokenMerge(nn.Module):
    """One level up the hierarchy: DPC-KNN clusters → score-weighted mean → cross-attention to all inputs."""

    def __init__(self, dim: int, heads: int, ratio: float, max_tokens: int, k: int = 3) -> None:
        super().__init__()
        self.ratio, self.k, self.heads = ratio, k, heads
        self.max_clusters = max(1, math.ceil(max_tokens * ratio - 1e-6))
        self.score = nn.Linear(dim, 1)
        self.ln_q, self.ln_kv = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B,N,D], mask [B,N] → merged tokens [B,C,D] and their mask [B,C]."""
        if x.shape[1] < self.max_clusters:  # a batch trimmed shorter than C: pad (padding never clusters)
            x = F.pad(x, (0, 0, 0, self.max_clusters - x.shape[1]))
            mask = F.pad(mask, (0, self.max_clusters - mask.shape[1]))
        counts = cluster_counts(mask, self.ratio, self.max_clusters)
        assign, centre_mask, _ = dpc_knn(x, mask, counts, self.max_clusters, self.k)
        logit = self.score(x).squeeze(-1)
        logit = logit - logit.masked_fill(mask <= 0, -BIG).amax(-1, keepdim=True).detach()
        weight = assign * torch.exp(logit.clamp(max=0.0))[:, :, None]  # [B,N,C]
        merged = torch.einsum("bnc,bnd->bcd", weight, x) / weight.sum(1).clamp(min=1e-6)[:, :, None]
        attn_mask = ((mask <= 0).float() * -BIG)[:, None, :].expand(-1, self.max_clusters, -1)
        attn_mask = attn_mask.repeat_interleave(self.heads, dim=0)
        kv = self.ln_kv(x)
        merged = merged + self.attn(self.ln_q(merged), kv, kv, need_weights=False, attn_mask=attn_mask)[0]
        return merged * centre_mask[:, :, None], centre_mask
