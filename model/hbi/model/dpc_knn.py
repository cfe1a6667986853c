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


def cluster_counts(mask: torch.Tensor, ratio: float, max_clusters: int) -> torch.Tensor:
    """mask [B,N] → clusters per sample [B] = clamp(ceil(valid·ratio), 1, max_clusters)."""
    valid = mask.float().sum(-1)
    return torch.clamp(torch.ceil(valid * ratio - 1e-6), min=1.0, max=float(max_clusters))


def dpc_knn(x: torch.Tensor, mask: torch.Tensor, counts: torch.Tensor, max_clusters: int, k: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Density-peak clustering.

    x [B,N,D], mask [B,N] (1 valid), counts [B] (float, clusters wanted per sample).
    Returns (assign [B,N,C] one-hot float, zero rows for padding; centre_mask [B,C]; centres [B,C] token indices).
    d_ij = ‖x_i − x_j‖/√D; ρ_i = exp(−mean d² over the k nearest valid neighbours); δ_i = distance to
    the nearest denser token (the densest gets its largest distance); centres = top-C by ρ·δ.
    """
    b, n, d = x.shape
    x = x.detach().float()
    valid = (mask > 0).float()
    sq = (x * x).sum(-1)
    d2 = ((sq[:, :, None] + sq[:, None, :] - 2.0 * x @ x.transpose(1, 2)) / d).clamp(min=0.0)
    dist = torch.sqrt(d2 + 1e-12)
    eye = torch.eye(n, device=x.device)[None]
    invalid_pair = (1.0 - valid[:, None, :]) * BIG
    kk = max(1, min(k, n - 1))
    near = torch.topk(d2 + invalid_pair + eye * BIG, kk, dim=-1, largest=False).values  # [B,N,k]
    ok = (near < BIG / 2).float()
    density = torch.exp(-(near * ok).sum(-1) / ok.sum(-1).clamp(min=1.0))
    # Deterministic tie-break: among equal densities the earlier token counts as denser.
    density = density - 1e-6 * torch.arange(n, device=x.device, dtype=x.dtype)[None] / n
    denser = (density[:, None, :] > density[:, :, None]).float() * valid[:, None, :]  # [B,i,j]: j denser than i
    delta_near = (dist + (1.0 - denser) * BIG).amin(-1)
    delta_max = (dist * valid[:, None, :]).amax(-1)
    has_denser = denser.sum(-1) > 0
    delta = torch.where(has_denser, delta_near, delta_max)
    score = density * delta * valid + (valid - 1.0) * BIG
    centres = torch.topk(score, max_clusters, dim=-1).indices  # [B,C], sorted by score
    centre_mask = (torch.arange(max_clusters, device=x.device)[None].float() < counts[:, None]).float()
    to_centre = torch.gather(dist, 2, centres[:, None, :].expand(b, n, max_clusters))  # [B,N,C]
    to_centre = to_centre + (1.0 - centre_mask[:, None, :]) * BIG
    nearest = to_centre.argmin(-1)  # [B,N]
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
