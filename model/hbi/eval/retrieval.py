"""Retrieval metrics: Recall@K, median and mean rank, text->video and video->text.

Rank convention (used everywhere here): the rank of the correct item is 1-based and
counts the candidates that score *strictly higher*:

    rank = 1 + #{columns j : sim[i, j] > sim[i, correct]}     (ties="optimistic", default)

so an item tied with the correct one does not push it down. ``ties="pessimistic"``
instead counts tied wrong candidates too (rank = 1 + #{wrong j : sim[i, j] >= correct
score}); use it when similarity may be degenerate (a collapsed model whose
similarities are all equal scores R@1 = 100 % under the optimistic rule and the
worst possible rank under the pessimistic one). Non-finite similarities are
rejected.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ranks_of_correct", "metrics_from_ranks", "retrieval_metrics", "t2v_v2t"]

_BLOCK = 2048  # rows per block when comparing, bounds the boolean temporary to BLOCK x V


def _as_sim(sim) -> np.ndarray:
    s = np.asarray(sim.detach().cpu() if hasattr(sim, "detach") else sim)
    if s.ndim != 2:
        raise ValueError(f"sim must be 2-D [queries, candidates], got shape {s.shape}")
    if not np.issubdtype(s.dtype, np.floating):
        s = s.astype(np.float64)
    if not np.isfinite(s).all():
        raise ValueError("sim contains NaN or inf")
    return s


def _check_ties(ties: str) -> None:
    if ties not in ("optimistic", "pessimistic"):
        raise ValueError(f"ties must be 'optimistic' or 'pessimistic', got {ties!r}")


def ranks_of_correct(sim, gt, ties: str = "optimistic") -> np.ndarray:
    """1-based rank of the correct column of each row.

    Args:
        sim: similarity matrix, shape ``[Q, V]`` (higher = more similar).
        gt: shape ``[Q]``, index in ``[0, V)`` of the correct column of each row.
        ties: ``"optimistic"`` (rank = 1 + #strictly higher) or ``"pessimistic"``
            (rank = 1 + #other columns scoring >= the correct one).

    Returns:
        int64 array ``[Q]`` of ranks in ``[1, V]``.
    """
    _check_ties(ties)
    s = _as_sim(sim)
    g = np.asarray(gt)
    if g.shape != (s.shape[0],) or not np.issubdtype(g.dtype, np.integer):
        raise ValueError(f"gt must be an integer array of shape ({s.shape[0]},), got {g.dtype} {g.shape}")
    if g.size and (g.min() < 0 or g.max() >= s.shape[1]):
        raise ValueError("gt index out of range")
    rows = np.arange(s.shape[0])
    correct = s[rows, g]
    out = np.empty(s.shape[0], dtype=np.int64)
    for a in range(0, s.shape[0], _BLOCK):
        blk, c = s[a:a + _BLOCK], correct[a:a + _BLOCK, None]
        if ties == "optimistic":
            out[a:a + _BLOCK] = 1 + (blk > c).sum(axis=1)
        else:  # >= counts the correct column itself once
            out[a:a + _BLOCK] = (blk >= c).sum(axis=1)
    return out


def metrics_from_ranks(ranks, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """``{"R@k": % of ranks <= k for k in ks, "MdR": median rank, "MnR": mean rank}``.

    Args:
        ranks: shape ``[Q]``, 1-based ranks.
    """
    r = np.asarray(ranks, dtype=np.float64)
    if r.ndim != 1 or r.size == 0:
        raise ValueError("ranks must be a non-empty 1-D array")
    out = {f"R@{k}": float(100.0 * np.mean(r <= k)) for k in ks}
    out["MdR"] = float(np.median(r))
    out["MnR"] = float(np.mean(r))
    return out


def retrieval_metrics(sim, gt, ks: Sequence[int] = (1, 5, 10), ties: str = "optimistic") -> dict[str, float]:
    """Recall@K (percent), median rank and mean rank for one retrieval direction.

    Args:
        sim: ``np.ndarray [Q, V]`` similarities, rows = queries, columns = candidates
            (a CPU torch tensor works too).
        gt: ``np.ndarray [Q]`` (int), the index of the correct column for each row.
        ks: the K of the R@K entries.
        ties: tie rule, see the module docstring (default: 1 + #strictly greater).

    Returns:
        ``{"R@1", "R@5", "R@10": percent in [0, 100], "MdR", "MnR": 1-based ranks}``.
    """
    return metrics_from_ranks(ranks_of_correct(sim, gt, ties), ks)


def t2v_v2t(sim_text_video, text_to_video, ks: Sequence[int] = (1, 5, 10),
            ties: str = "optimistic") -> dict[str, dict[str, float]]:
    """Text->video and video->text retrieval when several texts describe one video.

    Args:
        sim_text_video: ``np.ndarray [Nt, Nv]``, similarity of text t and video v.
        text_to_video: ``np.ndarray [Nt]`` (int), the video each text describes.
            Every video must have at least one text.
        ks, ties: as in :func:`retrieval_metrics`.

    Returns:
        ``{"t2v": metrics over the Nt text queries, "v2t": metrics over the Nv video
        queries}``, each as returned by :func:`retrieval_metrics`.

    t2v: every text is a query whose only correct video is its own.
    v2t (standard multi-caption protocol): every video is a query; its rank is that
    of its *best-ranked* correct text, i.e. 1 + #texts of *other* videos scoring
    above the highest-scoring text of this video (other texts of the same video
    never count against it). With ``ties="pessimistic"`` other videos' texts tied
    with that score count too.
    """
    _check_ties(ties)
    s = _as_sim(sim_text_video)
    nt, nv = s.shape
    t2v_idx = np.asarray(text_to_video)
    if t2v_idx.shape != (nt,) or not np.issubdtype(t2v_idx.dtype, np.integer):
        raise ValueError(f"text_to_video must be an integer array of shape ({nt},)")
    if nt and (t2v_idx.min() < 0 or t2v_idx.max() >= nv):
        raise ValueError("text_to_video index out of range")
    n_texts = np.bincount(t2v_idx, minlength=nv)
    if (n_texts == 0).any():
        raise ValueError(f"{int((n_texts == 0).sum())} videos have no text; v2t is undefined for them")

    t2v = retrieval_metrics(s, t2v_idx, ks, ties)

    own = s[np.arange(nt), t2v_idx]                 # [Nt] score of each text with its video
    best = np.full(nv, -np.inf)
    np.maximum.at(best, t2v_idx, own)               # [Nv] best correct-text score per video
    st = s.T                                        # [Nv, Nt]
    ranks = np.empty(nv, dtype=np.int64)
    for a in range(0, nv, _BLOCK):
        blk = st[a:a + _BLOCK]
        b = best[a:a + _BLOCK, None]
        if ties == "optimistic":
            # no correct text can exceed the best correct one, so counting all texts is fine
            ranks[a:a + _BLOCK] = 1 + (blk > b).sum(axis=1)
        else:
            wrong = t2v_idx[None, :] != np.arange(a, a + blk.shape[0])[:, None]
            ranks[a:a + _BLOCK] = 1 + ((blk >= b) & wrong).sum(axis=1)
    v2t = metrics_from_ranks(ranks, ks)
    return {"t2v": t2v, "v2t": v2t}
