"""Task heads on the shared encoder: video question answering and caption decoding (METHOD.md §6)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .encoders import Attention, QuickGELU
from .similarity import NEG


class CrossBlock(nn.Module):
    """Pre-norm cross-attention + MLP block: queries [B,N,D] read a memory [B,M,D] (masked)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln_q, self.ln_m, self.ln_2 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 4), QuickGELU(), nn.Linear(dim * 4, dim))

    def forward(self, q: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor) -> torch.Tensor:
        m = ((1.0 - memory_mask) * NEG)[:, None, :].expand(-1, q.shape[1], -1).repeat_interleave(self.heads, 0)
        mem = self.ln_m(memory)
        q = q + self.attn(self.ln_q(q), mem, mem, need_weights=False, attn_mask=m)[0]
        return q + self.mlp(self.ln_2(q))


def masked_mean_max(f: torch.Tensor, fmask: torch.Tensor) -> torch.Tensor:
    """Frame tokens [B,T,D] with mask [B,T] → [masked mean, masked max] [B,2D] (padded frames ignored)."""
    m = fmask[:, :, None].to(f.dtype)
    return torch.cat([(f * m).sum(1) / m.sum(1).clamp(min=1.0), f.masked_fill(m <= 0, NEG).amax(1)], dim=-1)


class QALevel(nn.Module):
    """Question tokens attend to the level's frame tokens; masked mean → answer logits [B,A]."""

    def __init__(self, dim: int, heads: int, answers: int) -> None:
        super().__init__()
        self.cross = CrossBlock(dim, heads)
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, answers))

    def forward(self, q: torch.Tensor, qmask: torch.Tensor, f: torch.Tensor, fmask: torch.Tensor) -> torch.Tensor:
        h = self.cross(q, f, fmask)
        pooled = (h * qmask[:, :, None]).sum(1) / qmask.sum(1, keepdim=True).clamp(min=1.0)
        return self.out(pooled)


class QAClip(nn.Module):
    """The "clip" QA head: a clip summary modulated by the question (`qa_head = "clip"`).

    summary = GELU(Linear(LN([masked mean, masked max] of frames [B,2D])) + Linear(LN(frames in their
    places, flattened [B,T·D], padded frames zeroed))) [B,2D] — the first part has the scene head's layout,
    so it can start from a trained scene readout (`init_from_scene`); the second tells *when* (which way
    an object moves, what happens first). The question tokens [B,L,D] are pooled by a learned attention
    into q [B,D]; FiLM: h = Linear(summary) ⊙ (1 + γ(q)) + β(q) [B,H]; an MLP maps h to answer logits [B,A].
    """

    def __init__(self, dim: int, answers: int, frames: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or 4 * dim
        self.summary_norm, self.summary = nn.LayerNorm(2 * dim), nn.Linear(2 * dim, 2 * dim)
        self.frames_norm, self.frames = nn.LayerNorm(frames * dim), nn.Linear(frames * dim, 2 * dim)
        self.question_norm, self.question_pool = nn.LayerNorm(dim), nn.Linear(dim, 1)
        self.film = nn.Linear(dim, 2 * hidden)
        self.project = nn.Linear(2 * dim, hidden)
        self.out = nn.Sequential(nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, answers))

    def init_from_scene(self, scene: "SceneHead") -> None:
        """Start the summary from a trained scene head's first LayerNorm + Linear (same [mean, max] input)."""
        self.summary_norm.load_state_dict(scene.mlp[0].state_dict())
        self.summary.load_state_dict(scene.mlp[1].state_dict())

    def forward(self, q: torch.Tensor, qmask: torch.Tensor, f: torch.Tensor, fmask: torch.Tensor) -> torch.Tensor:
        """q [B,L,D], qmask [B,L], f [B,T,D], fmask [B,T] → answer logits [B,A]."""
        pooled = masked_mean_max(f, fmask)
        placed = (f * fmask[:, :, None].to(f.dtype)).flatten(1)
        s = F.gelu(self.summary(self.summary_norm(pooled)) + self.frames(self.frames_norm(placed)))
        qn = self.question_norm(q)
        att = self.question_pool(qn).squeeze(-1).masked_fill(qmask <= 0, NEG).softmax(-1)
        gamma, beta = self.film((att[:, :, None] * qn).sum(1)).chunk(2, dim=-1)
        return self.out(self.project(s) * (1.0 + gamma) + beta)


def grouped_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, sizes: tuple[int, ...] | list[int],
                          weight: torch.Tensor | None = None, present_only: tuple[bool, ...] = ()) -> torch.Tensor:
    """Mean over groups of each group's cross-entropy: logits [N, sum(sizes)], targets int64 [N, groups];
    weight [N] (e.g. a frame mask) averages each group over the weighted rows only. A group flagged in
    present_only [groups] is averaged over the rows whose target is not 0 ("no such object") only, so
    that the attribute of the objects that are there is not drowned by the many easy "absent" rows (a
    group with no such row adds 0)."""
    per = []
    for g, lg in enumerate(logits.split(list(sizes), dim=-1)):
        ce = F.cross_entropy(lg, targets[:, g], reduction="none")
        w = torch.ones_like(ce) if weight is None else weight.to(ce.dtype)
        if present_only and present_only[g]:
            w = w * (targets[:, g] > 0).to(ce.dtype)
        per.append((ce * w).sum() / w.sum().clamp(min=1.0))
    return torch.stack(per).mean()


class SceneHead(nn.Module):
    """Auxiliary scene readout (training only): pooled frame tokens → logits of each scene target group.

    The masked mean and max of the frame tokens [B,T,D] go through an MLP to one block of logits per
    group (e.g. "the shape of the red object": none/square/circle/…); the loss is the mean of the
    groups' cross-entropies. It asks the frame tokens to carry which attribute goes with which object,
    which the QA head and the caption decoder then read.
    """

    def __init__(self, dim: int, classes: tuple[int, ...], present_only: tuple[bool, ...] = ()) -> None:
        super().__init__()
        self.classes = tuple(int(c) for c in classes)
        self.present_only = tuple(bool(p) for p in present_only)
        self.mlp = nn.Sequential(nn.LayerNorm(2 * dim), nn.Linear(2 * dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, sum(self.classes)))

    def forward(self, f: torch.Tensor, fmask: torch.Tensor) -> torch.Tensor:
        """f [B,T,D], fmask [B,T] → logits [B, sum(classes)]."""
        return self.mlp(masked_mean_max(f, fmask))

    def loss(self, f: torch.Tensor, fmask: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """targets int64 [B, groups] → mean cross-entropy over groups."""
        return grouped_cross_entropy(self(f, fmask), targets, self.classes, present_only=self.present_only)


class FrameSceneHead(nn.Module):
    """Auxiliary per-frame scene readout (training only): each frame token [B,T,D] → logits per group.

    Dense supervision for the frame encoder: what each object looks like and where it is, frame by
    frame. The loss is the mean cross-entropy over groups and valid frames.
    """

    def __init__(self, dim: int, classes: tuple[int, ...], present_only: tuple[bool, ...] = ()) -> None:
        super().__init__()
        self.classes = tuple(int(c) for c in classes)
        self.present_only = tuple(bool(p) for p in present_only)
        self.mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, sum(self.classes)))

    def loss(self, f: torch.Tensor, fmask: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """f [B,T,D], fmask [B,T], targets int64 [B,T,groups] → mean cross-entropy."""
        logits = self.mlp(f).flatten(0, 1)
        return grouped_cross_entropy(logits, targets.flatten(0, 1), self.classes, fmask.reshape(-1), self.present_only)


class CaptionDecoder(nn.Module):
    """Transformer decoder: causal self-attention over tokens so far + cross-attention to frame tokens.

    tokens [B,S] (starting with [BOS]) → next-token logits [B,S,V]. The decoding loop (greedy/beam)
    lives outside, in Python for evaluation and in TypeScript on the platform.
    """

    def __init__(self, vocab: int, max_len: int, dim: int, heads: int, layers: int) -> None:
        super().__init__()
        self.heads = heads
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.zeros(max_len, dim))
        nn.init.normal_(self.embed.weight, std=0.02)
        nn.init.normal_(self.pos, std=0.01)
        self.self_ln = nn.ModuleList([nn.LayerNorm(dim) for _ in range(layers)])
        self.self_attn = nn.ModuleList([Attention(dim, heads) for _ in range(layers)])
        self.cross = nn.ModuleList([CrossBlock(dim, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, frame_tokens: torch.Tensor, frame_mask: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        s = tokens.shape[1]
        x = self.embed(tokens) + self.pos[:s]
        causal = torch.triu(torch.ones(s, s, device=tokens.device), diagonal=1) * NEG
        for ln, attn, cross in zip(self.self_ln, self.self_attn, self.cross):
            h = ln(x)
            x = x + attn(h, h, h, need_weights=False, attn_mask=causal)[0]
            x = cross(x, frame_tokens, frame_mask)
        return self.head(self.ln(x))


def caption_loss(logits: torch.Tensor, targets: torch.Tensor, pad_id: int = 0) -> torch.Tensor:
    """Token cross-entropy ignoring padding: logits [B,S,V], targets [B,S]."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=pad_id)
