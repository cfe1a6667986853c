"""The fine-grained token-interaction similarity of METHOD.md §2 and the V2 reconstruction (§6).

    S(T,V) = ½ [ Σ_t w_t · max_v s_tv  +  Σ_v w_v · max_t s_tv ],   s_tv = cos(word t, frame v)

Padding never wins a max (masked with a large negative) and carries zero weight.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

NEG = -1e4


def pool_from_matrix(s: torch.Tensor, wmask: torch.Tensor, wweights: torch.Tensor, fmask: torch.Tensor, fweights: torch.Tensor) -> torch.Tensor:
    """Similarity from cosine matrices s [...,L,T] with masks/weights broadcastable to [...,L] / [...,T] → [...]."""
    best_frame = (s + (1.0 - fmask.unsqueeze(-2)) * NEG).amax(dim=-1)  # [...,L]
    best_word = (s + (1.0 - wmask.unsqueeze(-1)) * NEG).amax(dim=-2)  # [...,T]
    t2v = (wweights * wmask * best_frame).sum(-1)
    v2t = (fweights * fmask * best_word).sum(-1)
    return 0.5 * (t2v + v2t)


def token_similarity(
    words: torch.Tensor, wmask: torch.Tensor, wweights: torch.Tensor,
    frames: torch.Tensor, fmask: torch.Tensor, fweights: torch.Tensor,
) -> torch.Tensor:
    """All pairs: words [Q,L,D] (+mask/weights [Q,L]) × frames [V,T,D] (+[V,T]) → S [Q,V]."""
    s = cross_dot(F.normalize(words, dim=-1), F.normalize(frames, dim=-1))
    return pool_from_matrix(s, wmask[:, None], wweights[:, None], fmask[None], fweights[None])


def cross_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All-pairs dot products as one matmul: a [Q,L,D], b [V,T,D] → [Q,V,L,T]."""
    q, l, d = a.shape
    v, t, _ = b.shape
    return (a.reshape(q * l, d) @ b.reshape(v * t, d).T).view(q, l, v, t).permute(0, 2, 1, 3)


def paired_matrix(words: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Matched pairs only: words [B,L,D], frames [B,T,D] → cosine matrices [B,L,T]."""
    return torch.einsum("bld,btd->blt", F.normalize(words, dim=-1), F.normalize(frames, dim=-1))


class Reconstruction(nn.Module):
    """V2 representation reconstruction (METHOD.md §6, our reading of an unverified detail).

    Each modality's tokens become a gated sum of themselves and their attention read-out of the other
    modality: word' = word + tanh(g_w)·Attn(word → frames), frame' = frame + tanh(g_f)·Attn(frame → words).
    The gates start at 0, so training starts from the single-modal tokens. Because it depends on the
    pair, it runs only where pairs are scored (training batches and the `interaction` re-ranker).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.q_w, self.k_f, self.v_f = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.q_f, self.k_w, self.v_w = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.gate_w = nn.Parameter(torch.zeros(()))
        self.gate_f = nn.Parameter(torch.zeros(()))
        self.scale = 1.0 / math.sqrt(dim)

    def forward(self, words: torch.Tensor, wmask: torch.Tensor, frames: torch.Tensor, fmask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """words [Q,L,D], frames [V,T,D] → (words' [Q,V,L,D], frames' [Q,V,T,D])."""
        a = torch.einsum("qld,vtd->qvlt", self.q_w(words), self.k_f(frames)) * self.scale
        a = F.softmax(a + (1.0 - fmask)[None, :, None, :] * NEG, dim=-1)
        words_rec = words[:, None] + torch.tanh(self.gate_w) * torch.einsum("qvlt,vtd->qvld", a, self.v_f(frames))
        b = torch.einsum("vtd,qld->qvtl", self.q_f(frames), self.k_w(words)) * self.scale
        b = F.softmax(b + (1.0 - wmask)[:, None, None, :] * NEG, dim=-1)
        frames_rec = frames[None] + torch.tanh(self.gate_f) * torch.einsum("qvtl,qld->qvtd", b, self.v_w(words))
        return words_rec, frames_rec

    def paired(self, words: torch.Tensor, wmask: torch.Tensor, frames: torch.Tensor, fmask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Matched pairs only: words [B,L,D], frames [B,T,D] → reconstructed ([B,L,D], [B,T,D])."""
        a = torch.einsum("bld,btd->blt", self.q_w(words), self.k_f(frames)) * self.scale
        a = F.softmax(a + (1.0 - fmask)[:, None, :] * NEG, dim=-1)
        w = words + torch.tanh(self.gate_w) * torch.einsum("blt,btd->bld", a, self.v_f(frames))
        b = torch.einsum("btd,bld->btl", self.q_f(frames), self.k_w(words)) * self.scale
        b = F.softmax(b + (1.0 - wmask)[:, None, :] * NEG, dim=-1)
        f = frames + torch.tanh(self.gate_f) * torch.einsum("btl,bld->btd", b, self.v_w(words))
        return w, f


def reconstructed_similarity(
    rec: Reconstruction, words: torch.Tensor, wmask: torch.Tensor, wweights: torch.Tensor,
    frames: torch.Tensor, fmask: torch.Tensor, fweights: torch.Tensor,
) -> torch.Tensor:
    """S [Q,V] on reconstructed tokens of every pair, without materialising [Q,V,L,D] tensors.

    With r_l = Σ_u a_lu Vf_u and r_t = Σ_m b_tm Vw_m, every dot product and norm of the reconstructed
    tokens expands into [Q,V,L,T]-sized terms (Gram matrices contracted with the attention maps), so
    memory is independent of D and the cost is a few all-pairs matmuls. Equal to `rec(...)` followed
    by cosines (tested).
    """
    gw, gf = torch.tanh(rec.gate_w), torch.tanh(rec.gate_f)
    vf, vw = rec.v_f(frames), rec.v_w(words)  # [V,T,D], [Q,L,D]
    a = F.softmax(cross_dot(rec.q_w(words), rec.k_f(frames)) * rec.scale + (1.0 - fmask)[None, :, None, :] * NEG, dim=-1)  # [Q,V,L,T]
    b = F.softmax(cross_dot(rec.k_w(words), rec.q_f(frames)) * rec.scale + (1.0 - wmask)[:, None, :, None] * NEG, dim=-2)  # [Q,V,L(m),T]
    p = cross_dot(words, frames)  # w_l·f_t
    w_vw = words @ vw.transpose(1, 2)  # [Q,L,M]: w_l·Vw_m
    vf_f = vf @ frames.transpose(1, 2)  # [V,U,T]: Vf_u·f_t
    gram_f = vf @ vf.transpose(1, 2)  # [V,U,U]
    gram_w = vw @ vw.transpose(1, 2)  # [Q,M,M]
    w_vf = cross_dot(words, vf)  # [Q,V,L,U]: w_l·Vf_u
    vw_f = cross_dot(vw, frames)  # [Q,V,M,T]: Vw_m·f_t
    vw_vf = cross_dot(vw, vf)  # [Q,V,M,U]: Vw_m·Vf_u
    w_rt = torch.einsum("qlm,qvmt->qvlt", w_vw, b)  # w_l·r_t
    rl_f = torch.einsum("qvlu,vut->qvlt", a, vf_f)  # r_l·f_t
    rl_rt = torch.einsum("qvlu,qvmu,qvmt->qvlt", a, vw_vf, b)  # r_l·r_t
    dot = p + gf * w_rt + gw * rl_f + gw * gf * rl_rt
    w2 = (words * words).sum(-1)[:, None, :]  # [Q,1,L]
    w_rl = (a * w_vf).sum(-1)  # [Q,V,L]
    rl2 = (torch.einsum("qvlu,vuw->qvlw", a, gram_f) * a).sum(-1)
    norm_w = (w2 + 2 * gw * w_rl + gw * gw * rl2).clamp(min=1e-12).sqrt()
    f2 = (frames * frames).sum(-1)[None]  # [1,V,T]
    f_rt = (b * vw_f).sum(-2)  # [Q,V,T]
    rt2 = (torch.einsum("qml,qvlt->qvmt", gram_w, b) * b).sum(-2)
    norm_f = (f2 + 2 * gf * f_rt + gf * gf * rt2).clamp(min=1e-12).sqrt()
    s = dot / (norm_w[..., :, None] * norm_f[..., None, :])
    return pool_from_matrix(s, wmask[:, None], wweights[:, None], fmask[None], fweights[None])


def reconstructed_similarity_explicit(
    rec: Reconstruction, words: torch.Tensor, wmask: torch.Tensor, wweights: torch.Tensor,
    frames: torch.Tensor, fmask: torch.Tensor, fweights: torch.Tensor,
) -> torch.Tensor:
    """Reference form of `reconstructed_similarity` (materialises every pair's tokens; for tests)."""
    w, f = rec(words, wmask, frames, fmask)
    s = torch.einsum("qvld,qvtd->qvlt", F.normalize(w, dim=-1), F.normalize(f, dim=-1))
    return pool_from_matrix(s, wmask[:, None], wweights[:, None], fmask[None], fweights[None])
