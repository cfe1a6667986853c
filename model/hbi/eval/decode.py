"""Caption decoding loops over the `caption` graph: greedy and beam search (the platform mirrors these)."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

StepFn = Callable[[torch.Tensor], torch.Tensor]  # tokens [B,S] → logits [B,S,V]


@torch.no_grad()
def greedy(step: StepFn, batch: int, bos: int, eos: int, max_len: int) -> list[list[int]]:
    """Greedy decoding for `batch` sequences; returns token ids without [BOS] and [EOS]."""
    tokens = torch.full((batch, 1), bos, dtype=torch.long)
    done = torch.zeros(batch, dtype=torch.bool)
    for _ in range(max_len - 1):
        nxt = step(tokens)[:, -1].argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, eos), nxt)
        tokens = torch.cat([tokens, nxt[:, None]], 1)
        done |= nxt == eos
        if bool(done.all()):
            break
    return [strip(t.tolist(), eos) for t in tokens[:, 1:]]


@torch.no_grad()
def beam(step_one: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], item: torch.Tensor, bos: int, eos: int, max_len: int, width: int = 3, length_penalty: float = 0.0) -> list[int]:
    """Beam search for one item. step_one(item index tensor [K], tokens [K,S]) → logits [K,S,V].

    Scores are summed log-probabilities divided by length**length_penalty; finished beams are kept
    until `width` of them exist or no live beam can still win.
    """
    beams = torch.full((1, 1), bos, dtype=torch.long)
    scores = torch.zeros(1)
    finished: list[tuple[float, list[int]]] = []
    for _ in range(max_len - 1):
        logp = F.log_softmax(step_one(item.expand(beams.shape[0]), beams)[:, -1], -1)  # [K,V]
        cand = (scores[:, None] + logp).flatten()
        top = torch.topk(cand, min(width * 2, cand.numel()))
        v = logp.shape[1]
        new_beams, new_scores = [], []
        for s, idx in zip(top.values.tolist(), top.indices.tolist()):
            b, tok = divmod(idx, v)
            seq = beams[b].tolist() + [tok]
            if tok == eos:
                finished.append((s / (len(seq) - 1) ** length_penalty, seq))
            else:
                new_beams.append(seq)
                new_scores.append(s)
            if len(new_beams) == width:
                break
        best_done = max((f[0] for f in finished), default=float("-inf"))
        if len(finished) >= width or not new_beams or (new_scores and max(new_scores) < best_done and length_penalty == 0.0):
            break
        beams = torch.tensor(new_beams)
        scores = torch.tensor(new_scores)
    if not finished:
        finished = [(float(s), b.tolist()) for s, b in zip(scores, beams)]
    return strip(max(finished, key=lambda f: f[0])[1][1:], eos)


def strip(ids: list[int], eos: int) -> list[int]:
    return ids[: ids.index(eos)] if eos in ids else ids
