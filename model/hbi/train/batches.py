"""Tokenised splits and the batch sampler (twins share a batch, so hard negatives meet in training)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hbi.data.dataset import load_meta, load_split
from hbi.data.tokenizer import encode_batch, load_tokenizer


@dataclass
class Split:
    """One split, tokenised once: frames [N,T,H,W,3] uint8, caption ids/mask [N,C,L], QA rows."""

    name: str
    frames: np.ndarray
    records: list[dict]
    caption_ids: np.ndarray  # [N,C,L] int64
    caption_mask: np.ndarray  # [N,C,L] int64
    qa_clip: np.ndarray  # [Q] clip index of each question
    qa_ids: np.ndarray  # [Q,L]
    qa_mask: np.ndarray  # [Q,L]
    qa_answer: np.ndarray  # [Q] answer index
    qa_type: list[str]
    qa_first: np.ndarray  # [N+1] offsets of each clip's questions in the QA rows

    @property
    def size(self) -> int:
        return len(self.records)


def load_tokenised(data: str | Path, split: str, frames: int, size: int, max_words: int, in_memory: bool = False) -> Split:
    tok = load_tokenizer(Path(data) / "tokenizer.json")
    answers = {a: i for i, a in enumerate(load_meta(data)["answers"])}
    video, records = load_split(data, split, frames, size, mmap=not in_memory)
    caps = [c for r in records for c in r["captions"]]
    per = len(records[0]["captions"])
    ids, mask, _ = encode_batch(tok, caps, max_words)
    qa_clip, questions, answer, qtype, first = [], [], [], [], [0]
    for i, r in enumerate(records):
        for qa in r["qa"]:
            qa_clip.append(i)
            questions.append(qa["question"])
            answer.append(answers[qa["answer"]])
            qtype.append(qa["type"])
        first.append(len(qa_clip))
    qids, qmask, _ = encode_batch(tok, questions, max_words)
    n = len(records)
    return Split(split, video, records, ids.reshape(n, per, -1), mask.reshape(n, per, -1), np.array(qa_clip),
                 qids, qmask, np.array(answer), qtype, np.array(first))


def twin_batches(records: list[dict], batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of batches: twin pairs stay adjacent (so they land in one batch), groups shuffled."""
    index = {r["id"]: i for i, r in enumerate(records)}
    seen: set[int] = set()
    groups: list[list[int]] = []
    for i, r in enumerate(records):
        if i in seen:
            continue
        g = [i]
        t = r.get("twin")
        if t is not None and t in index and index[t] not in seen:
            g.append(index[t])
        seen.update(g)
        groups.append(g)
    order = [i for gi in rng.permutation(len(groups)) for i in groups[gi]]
    return [np.array(order[s:s + batch]) for s in range(0, len(order) - batch + 1, batch)]


def trim(ids: np.ndarray, mask: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop padding columns beyond the longest text of the batch (saves compute; results unchanged)."""
    n = max(2, int(mask.sum(1).max()))
    return torch.from_numpy(np.ascontiguousarray(ids[:, :n])), torch.from_numpy(np.ascontiguousarray(mask[:, :n]))


def make_batch(split: Split, idx: np.ndarray, rng: np.random.Generator, heads: bool) -> dict[str, torch.Tensor]:
    """Training batch for clips idx: a random caption each, a random question, another caption as target."""
    b = len(idx)
    per = split.caption_ids.shape[1]
    c = rng.integers(0, per, size=b)
    out = {
        "frames": torch.from_numpy(np.ascontiguousarray(split.frames[np.sort(idx)][np.argsort(np.argsort(idx))])),
        "frame_mask": torch.ones(b, split.frames.shape[1]),
    }
    out["caption_ids"], out["caption_mask"] = trim(split.caption_ids[idx, c], split.caption_mask[idx, c])
    if heads:
        q = split.qa_first[idx] + (rng.random(b) * (split.qa_first[idx + 1] - split.qa_first[idx])).astype(np.int64)
        out["question_ids"], out["question_mask"] = trim(split.qa_ids[q], split.qa_mask[q])
        out["answer"] = torch.from_numpy(split.qa_answer[q])
        c2 = rng.integers(0, per, size=b)
        out["target_ids"], _ = trim(split.caption_ids[idx, c2], split.caption_mask[idx, c2])
    return out
