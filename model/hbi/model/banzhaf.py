"""Banzhaf interaction between word and frame players (METHOD.md §4).

    B(i,j) = Σ_{C ⊆ N∖{i,j}} 2^-(n-2) · [ v(C∪{i,j}) − v(C∪{i}) − v(C∪{j}) + v(C) ]

`banzhaf_exact` enumerates every coalition (n ≤ ~16), `banzhaf_monte_carlo` samples coalitions with
p = ½, and `BanzhafPredictor` is the ≈13.7k-parameter network trained with MSE to map a similarity
matrix straight to B. The value of a coalition in the similarity game is the §2 score computed on the
coalition's tokens only, with uniform token weights (so that B depends on the matrix alone, which is
what the predictor sees); a coalition without a word or without a frame is worth 0.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .similarity import NEG

ValueFn = Callable[[torch.Tensor], torch.Tensor]  # coalitions bool [K,n] → values [K]


def all_coalitions(n: int) -> torch.Tensor:
    """Every subset of n players as a bool tensor [2^n, n]; row m has player p iff bit p of m is set."""
    m = torch.arange(2**n)[:, None]
    return (m >> torch.arange(n)[None]) & 1 == 1


def banzhaf_exact(value_fn: ValueFn, n: int, pairs: list[tuple[int, int]]) -> torch.Tensor:
    """Exact Banzhaf interaction of each (i, j) in pairs → [len(pairs)]. Cost: 2^n evaluations."""
    if n > 20:
        raise ValueError(f"exact Banzhaf enumerates 2^n coalitions; n={n} is too many (use Monte Carlo)")
    values = value_fn(all_coalitions(n)).double()
    masks = torch.arange(2**n)
    out = []
    for i, j in pairs:
        bi, bj = 1 << i, 1 << j
        rest = masks[(masks & (bi | bj)) == 0]  # the 2^(n-2) coalitions C ⊆ N∖{i,j}
        out.append((values[rest | bi | bj] - values[rest | bi] - values[rest | bj] + values[rest]).mean())
    return torch.stack(out).float()


def banzhaf_monte_carlo(value_fn: ValueFn, n: int, pairs: list[tuple[int, int]], samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Unbiased Monte Carlo estimate: each other player joins C with p = ½; `samples` draws per pair."""
    draws = torch.rand(samples, n, generator=generator) < 0.5  # [S,n]
    rows = []
    for i, j in pairs:
        c = draws.clone()
        c[:, i] = False
        c[:, j] = False
        with_i, with_j, with_ij = c.clone(), c.clone(), c.clone()
        with_i[:, i] = True
        with_j[:, j] = True
        with_ij[:, i] = True
        with_ij[:, j] = True
        v = value_fn(torch.cat([with_ij, with_i, with_j, c])).view(4, samples)
        rows.append((v[0] - v[1] - v[2] + v[3]).mean())
    return torch.stack(rows)


def similarity_game(matrix: torch.Tensor) -> ValueFn:
    """The game on a word×frame cosine matrix [Lt,Tv]: players 0..Lt-1 are words, then frames."""
    lt = matrix.shape[0]

    def value(coalitions: torch.Tensor) -> torch.Tensor:
        wm = coalitions[:, :lt].float()
        fm = coalitions[:, lt:].float()
        return similarity_values(matrix, wm, fm)

    return value


def similarity_values(matrix: torch.Tensor, wm: torch.Tensor, fm: torch.Tensor) -> torch.Tensor:
    """matrix [...,Lt,Tv]; word/frame presence [...,K,Lt] / [...,K,Tv] → coalition values [...,K]."""
    m = matrix.unsqueeze(-3)  # [...,1,Lt,Tv]
    best_frame = (m + (1.0 - fm.unsqueeze(-2)) * NEG).amax(-1)
    best_word = (m + (1.0 - wm.unsqueeze(-1)) * NEG).amax(-2)
    nw, nf = wm.sum(-1), fm.sum(-1)
    t2v = (wm * best_frame).sum(-1) / nw.clamp(min=1.0)
    v2t = (fm * best_word).sum(-1) / nf.clamp(min=1.0)
    return 0.5 * (t2v + v2t) * ((nw > 0) & (nf > 0)).float()


def similarity_banzhaf_mc(matrix: torch.Tensor, samples: int = 100, generator: torch.Generator | None = None) -> torch.Tensor:
    """Monte Carlo Banzhaf interaction of every (word, frame) pair of matrix [Lt,Tv] → [Lt,Tv], vectorised."""
    lt, tv = matrix.shape
    n = lt + tv
    draws = (torch.rand(samples, n, generator=generator) < 0.5).float()
    w0 = draws[:, :lt][:, None, None, :].expand(samples, lt, tv, lt).clone()
    f0 = draws[:, lt:][:, None, None, :].expand(samples, lt, tv, tv).clone()
    eye_w = torch.eye(lt)[None, :, None, :]  # marks word i in row i
    eye_f = torch.eye(tv)[None, None, :, :]  # marks frame j in column j
    w_without = w0 * (1 - eye_w)
    f_without = f0 * (1 - eye_f)
    w_with = torch.maximum(w_without, eye_w.expand_as(w_without))
    f_with = torch.maximum(f_without, eye_f.expand_as(f_without))
    wm = torch.stack([w_with, w_with, w_without, w_without]).reshape(-1, lt)
    fm = torch.stack([f_with, f_without, f_with, f_without]).reshape(-1, tv)
    v = similarity_values(matrix, wm, fm).view(4, samples, lt, tv)
    return (v[0] - v[1] - v[2] + v[3]).mean(0)


def similarity_banzhaf_exact(matrix: torch.Tensor) -> torch.Tensor:
    """Exact Banzhaf interaction of every (word, frame) pair of a small matrix [Lt,Tv] → [Lt,Tv]."""
    lt, tv = matrix.shape
    pairs = [(i, lt + j) for i in range(lt) for j in range(tv)]
    return banzhaf_exact(similarity_game(matrix), lt + tv, pairs).view(lt, tv)


@torch.no_grad()
def similarity_banzhaf_exact_batch(matrix: torch.Tensor, wmask: torch.Tensor, fmask: torch.Tensor) -> torch.Tensor:
    """Exact Banzhaf interaction of every valid (word, frame) cell of a batch of similarity games
    [B,L,T] (+ masks [B,L], [B,T]) → [B,L,T] in float64, 0 outside the valid cells. For training
    targets (L_BI) at the deployed shapes: T ≤ ~10 frames, any number of words.

    The game is `similarity_game`'s on each matrix cut to its valid players. Instead of the 2^(L+T)
    coalitions it enumerates only the 2^T frame sets F and takes the expectation over the word subsets
    in closed form (each other word present with p = ½): with g(F)_i = E_W'[v(W'+i, F) − v(W', F)],

        B(i, j) = 2^-(T_valid - 1) · Σ_{F ⊆ valid frames} g(F)_i · (+1 if j ∈ F else −1)

    Text→video: a word's best frame in F, a_i, enters v as a mean over the words present, so
    E[v_t2v(W'+i)] = a_i·E[1/(1+K)] + ā_i·E[K/(1+K)] and E[v_t2v(W')] = (1 − 2^-n)·ā_i, K ~ Bin(n, ½)
    the number of the n other words drawn and ā_i the mean of a over them. Video→text: a frame's best
    word among those drawn is its r-th best overall with probability 2^-r, so E[max] is a weighted sum
    over each column sorted once. Matches `banzhaf_exact` enumeration (model/tests).
    """
    m = matrix.detach().to(torch.float64)
    wm = wmask.to(torch.float64)
    fm = fmask.to(torch.float64)
    b, lt, tv = m.shape
    sets = all_coalitions(tv).to(m.device, torch.float64)  # [S,T], S = 2^T frame sets
    n_sets = sets.shape[0]
    inside = (sets[None] <= fm[:, None, :]).all(-1).to(torch.float64)  # [B,S] F ⊆ valid frames
    size = sets.sum(-1)  # [S]
    nonempty = (size > 0).to(torch.float64)
    # text→video: each word's best frame in F
    a = (m[:, None] + (1.0 - sets[None, :, None, :]) * NEG).amax(-1) * nonempty[None, :, None]  # [B,S,L]
    n_other = (wm.sum(1) - 1.0).clamp(min=0.0)  # [B]
    c1 = (torch.pow(2.0, n_other + 1) - 1.0) / ((n_other + 1.0) * torch.pow(2.0, n_other))  # E[1/(1+K)]
    a_sum = (a * wm[:, None, :]).sum(-1, keepdim=True)
    a_bar = torch.where(n_other[:, None, None] > 0, (a_sum - a) / n_other.clamp(min=1.0)[:, None, None], torch.zeros_like(a))
    t2v_in = a * c1[:, None, None] + a_bar * (1.0 - c1)[:, None, None]
    t2v_out = (1.0 - torch.pow(0.5, n_other))[:, None, None] * a_bar
    # video→text: per frame column, E[max over a random subset of the other words], with / without word i
    ranked = torch.where(wm[:, :, None] > 0, m, torch.full_like(m, -math.inf))
    v, order = ranked.sort(dim=1, descending=True, stable=True)  # [B,L,T]
    v = torch.where(torch.isfinite(v), v, torch.zeros_like(v))
    weight = torch.pow(0.5, torch.arange(1, lt + 1, dtype=torch.float64, device=m.device))[None, :, None]
    prefix = torch.cat([torch.zeros_like(v[:, :1]), torch.cumsum(weight * v, 1)], 1)  # [B,L+1,T]
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(1, lt + 1, device=m.device)[None, :, None].expand(b, lt, tv).contiguous())
    above = prefix.gather(1, rank - 1)
    here = prefix.gather(1, rank)
    e_out = above + 2.0 * (prefix[:, -1:] - here)
    e_in = above + m * torch.pow(0.5, (rank - 1).to(torch.float64))
    per_set = sets.T / size.clamp(min=1.0)  # [T,S]: mean over the frames of F
    v2t = ((e_in - e_out) * fm[:, None, :]) @ per_set  # [B,L,S]
    g = 0.5 * ((t2v_in - t2v_out) + v2t.transpose(1, 2)) * nonempty[None, :, None]  # [B,S,L]
    sign = (2.0 * sets - 1.0)[None] * inside[:, :, None]  # [B,S,T]
    scale = torch.pow(0.5, (fm.sum(1) - 1.0).clamp(min=0.0))  # 2^-(T_valid - 1)
    out = torch.einsum("bsl,bst->blt", g, sign) * scale[:, None, None]
    return out * wm[:, :, None] * fm[:, None, :]


def standardised_softmax_target(interaction: torch.Tensor, wmask: torch.Tensor, fmask: torch.Tensor) -> torch.Tensor:
    """Exact interactions [B,L,T] rescaled to zero mean and unit spread over each matrix's valid cells
    (float32): the logits whose softmax is L_BI's target. Raw interactions are orders of magnitude
    apart between levels (≈ 4e-4 at the entity level, 0.6 at the event level; model/RESULTS.md), and a
    softmax of values that small is uniform, teaching nothing."""
    cell = (wmask[:, :, None] * fmask[:, None, :]).to(interaction.dtype)
    count = cell.sum((1, 2)).clamp(min=1.0)
    mu = (interaction * cell).sum((1, 2)) / count
    sd = ((((interaction - mu[:, None, None]) * cell) ** 2).sum((1, 2)) / count).sqrt()
    z = (interaction - mu[:, None, None]) / sd.clamp(min=1e-12)[:, None, None]
    return (z * cell).to(torch.float32)


class BanzhafPredictor(nn.Module):
    """Maps a similarity matrix [B,L,T] (+ masks) to predicted Banzhaf interactions [B,L,T].

    3×3 conv to 64 channels, single-head self-attention over the L×T cells (residual), 3×3 conv back
    to one channel: 13,697 parameters. Outputs are in units of `target_scale` (set at pre-training).
    """

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(1, channels, 3, padding=1)
        self.q, self.k, self.v = nn.Linear(channels, channels), nn.Linear(channels, channels), nn.Linear(channels, channels)
        self.conv_out = nn.Conv2d(channels, 1, 3, padding=1)
        self.register_buffer("target_scale", torch.ones(()))
        self.scale = 1.0 / math.sqrt(channels)

    def forward(self, matrix: torch.Tensor, wmask: torch.Tensor, fmask: torch.Tensor) -> torch.Tensor:
        cell = (wmask[:, :, None] * fmask[:, None, :]).float()  # [B,L,T]
        b, lt, tv = matrix.shape
        x = self.conv_in((matrix * cell)[:, None])  # [B,C,L,T]
        tokens = x.flatten(2).transpose(1, 2)  # [B,LT,C]
        att = self.q(tokens) @ self.k(tokens).transpose(1, 2) * self.scale
        att = F.softmax(att + (1.0 - cell.flatten(1))[:, None, :] * NEG, dim=-1)
        tokens = tokens + att @ self.v(tokens)
        x = tokens.transpose(1, 2).reshape(b, -1, lt, tv)
        return self.conv_out(x)[:, 0] * cell


def banzhaf_kl(predicted: torch.Tensor, matrix: torch.Tensor, wmask: torch.Tensor, fmask: torch.Tensor, tau: float = 0.1) -> torch.Tensor:
    """L_BI for one level (METHOD.md §5), both directions.

    predicted: the frozen predictor's B̂ on the detached matrix [B,L,T] (the target); matrix: the
    trainable cosine matrix [B,L,T]. For every valid word, KL(softmax_frames(B̂) ‖ softmax_frames(M/τ));
    for every valid frame, the same over words. Each direction is normalised over its own axis of
    one pair (never over the batch — a pitfall of the public code).
    """
    cell = wmask[:, :, None] * fmask[:, None, :]
    loss = matrix.new_zeros(())
    for axis, rows_valid in ((2, wmask), (1, fmask)):
        key_mask = fmask[:, None, :] if axis == 2 else wmask[:, :, None]
        target = F.softmax(predicted + (1.0 - key_mask) * NEG, dim=axis)
        logp = F.log_softmax(matrix / tau + (1.0 - key_mask) * NEG, dim=axis)
        kl = (target * (torch.log(target.clamp(min=1e-8)) - logp) * cell).sum(axis)
        loss = loss + (kl * rows_valid).sum() / rows_valid.sum().clamp(min=1.0)
    return 0.5 * loss


def constant_game_interaction(n_words: torch.Tensor, n_frames: torch.Tensor) -> torch.Tensor:
    """Banzhaf interaction of every (word, frame) pair in the game on an all-ones matrix with n_words ×
    n_frames valid players: a coalition is worth 1 when it holds a word and a frame, so
    B = P(no other frame) · P(no other word) = 2^-(n_words + n_frames - 2) in every cell."""
    return torch.pow(0.5, (n_words + n_frames - 2).clamp(min=0).float())


class StandardisedBanzhafPredictor(nn.Module):
    """A BanzhafPredictor made equivariant to the two symmetries of the similarity game.

    The game's value (a mean of maxima) moves with the matrix: adding c to every cell adds c to the
    value of every coalition with a word and a frame, and scaling the matrix by s > 0 scales every
    value by s. So for the valid cells' mean μ and standard deviation σ of a matrix m, with
    z = (m − μ) / σ:

        B(m) = σ · B(z) + μ · B(constant 1 game) = σ · B(z) + μ · 2^-(L + T - 2)

    The network only predicts B(z), on matrices of unit spread: trained models' matrices differ by
    orders of magnitude in spread between levels (and between models), which a network fitted to one
    scale cannot follow (model/RESULTS.md: 12,087 % relative RMS at the entity level). Outputs are in
    the units of the matrix (true interactions), not of a target scale.
    """

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.net = BanzhafPredictor(channels)
        self.register_buffer("z_scale", torch.ones(()))  # RMS of the B(z) targets it was fitted to

    def standardise(self, matrix: torch.Tensor, wmask: torch.Tensor, fmask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z, μ, σ) of each matrix [B,L,T] over its valid cells (σ ≥ 1e-6)."""
        cell = (wmask[:, :, None] * fmask[:, None, :]).float()
        count = cell.sum((1, 2)).clamp(min=1.0)
        mu = (matrix * cell).sum((1, 2)) / count
        var = (((matrix - mu[:, None, None]) * cell) ** 2).sum((1, 2)) / count
        sigma = var.sqrt().clamp(min=1e-6)
        return (matrix - mu[:, None, None]) / sigma[:, None, None] * cell, mu, sigma

    def predict_z(self, z: torch.Tensor, wmask: torch.Tensor, fmask: torch.Tensor) -> torch.Tensor:
        return self.net(z, wmask, fmask) * self.z_scale

    def forward(self, matrix: torch.Tensor, wmask: torch.Tensor, fmask: torch.Tensor) -> torch.Tensor:
        z, mu, sigma = self.standardise(matrix, wmask, fmask)
        cell = (wmask[:, :, None] * fmask[:, None, :]).float()
        const = constant_game_interaction(wmask.sum(1), fmask.sum(1))
        return (sigma[:, None, None] * self.predict_z(z, wmask, fmask) + (mu * const)[:, None, None]) * cell
