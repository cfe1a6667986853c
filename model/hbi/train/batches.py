"""Tokenised splits and the batch sampler (twins share a batch, so hard negatives meet in training)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hbi.data import grammar as G
from hbi.data import scenes as S
from hbi.data.negatives import negative_caption
from hbi.data.recipe import uniform_indices
from hbi.data.dataset import load_meta, load_split
from hbi.data.tokenizer import encode_batch, load_tokenizer

# Scene targets of the auxiliary scene loss (ModelConfig.scene_classes), one row of class indices per clip:
# for each colour its object's shape / motion / step / size (index 0: no object of that colour), for
# each shape its object's colour (0: none), then the object count and the count of moving objects.
SCENE_GROUPS: tuple[tuple[str, int], ...] = (
    *((f"shape_of_{c}", 1 + len(G.SHAPES)) for c in G.COLOURS),
    *((f"motion_of_{c}", 1 + len(G.MOTIONS)) for c in G.COLOURS),
    *((f"step_of_{c}", 4) for c in G.COLOURS),
    *((f"size_of_{c}", 1 + len(G.SIZES)) for c in G.COLOURS),
    *((f"colour_of_{s}", 1 + len(G.COLOURS)) for s in G.SHAPES),
    ("objects", len(G.COUNTS)),
    ("moving", len(G.COUNTS)),
)


# Per-frame scene targets (ModelConfig.frame_scene_classes), one row per sampled frame: for each colour
# the shape of its object when visible in that frame, and the column and row (of a 4 x 4 grid) of its
# centre (index 0: not visible); then, for each shape, whether an object of that shape is visible (the
# binding-free signal from which a frame encoder learns shapes soonest).
GRID = 4
FRAME_SCENE_GROUPS: tuple[tuple[str, int], ...] = tuple(
    (f"{what}_of_{c}", n) for what, n in (("shape", 1 + len(G.SHAPES)), ("column", 1 + GRID), ("row", 1 + GRID))
    for c in G.COLOURS) + tuple((f"visible_{s}", 2) for s in G.SHAPES)


# With a "diff" motion input each frame also sees the change to the next sampled frame; these groups ask,
# for each colour, what its object did between the two (G.MOTIONS; "stay": no change; index 0: not
# visible in either, or the last frame, which is followed by itself).
FRAME_CHANGE_GROUPS: tuple[tuple[str, int], ...] = tuple((f"change_of_{c}", 1 + len(G.MOTIONS)) for c in G.COLOURS)


def frame_scene_groups(changes: bool = False) -> tuple[tuple[str, int], ...]:
    """The per-frame scene groups, with the change groups appended when the frame encoder sees changes."""
    return FRAME_SCENE_GROUPS + FRAME_CHANGE_GROUPS if changes else FRAME_SCENE_GROUPS


def frame_change(before: tuple[float, float, float, float], after: tuple[float, float, float, float]) -> str | None:
    """What an object did between two sampled frames, from its (x, y, half extent, alpha) in each: the
    largest of its opacity, position and size changes, as one of G.MOTIONS; None when it is visible in
    neither. Thresholds: a quarter of full opacity, one pixel of 128 (image y grows downwards), half a
    pixel of half extent."""
    (x0, y0, r0, a0), (x1, y1, r1, a1) = before, after
    if a0 < 0.5 and a1 < 0.5:
        return None
    if a1 - a0 >= 0.25:
        return "appear"
    if a0 - a1 >= 0.25:
        return "disappear"
    dx, dy, dr = x1 - x0, y1 - y0, r1 - r0
    if max(abs(dx), abs(dy)) >= 1.0:
        if abs(dx) >= abs(dy):
            return "right" if dx > 0 else "left"
        return "down" if dy > 0 else "up"
    if abs(dr) >= 0.5:
        return "grow" if dr > 0 else "shrink"
    return "stay"


def present_only_flags(groups: tuple[tuple[str, int], ...]) -> tuple[bool, ...]:
    """Which scene groups name an attribute *of an object* (index 0: no such object), to be averaged
    over the objects that are there: every group but the counts and the per-frame visible_* flags."""
    return tuple(not (name in ("objects", "moving") or name.startswith("visible_")) for name, _ in groups)


def frame_scene_targets(scene: dict, T: int, changes: bool = False) -> np.ndarray:
    """Ground-truth scene → int64 [T, len(frame_scene_groups(changes))] for the T frames the decode recipe selects."""
    objs = {o["colour"]: o for o in scene["objects"]}
    out = np.zeros((T, len(frame_scene_groups(changes))), dtype=np.int64)
    nc = len(G.COLOURS)
    sampled = uniform_indices(S.FRAMES, T)
    if changes:
        base = len(FRAME_SCENE_GROUPS)
        for t in range(T - 1):
            for k, c in enumerate(G.COLOURS):
                if c in objs:
                    what = frame_change(*(S.obj_state(objs[c], scene["n_steps"], float(f)) for f in sampled[t:t + 2]))
                    out[t, base + k] = 0 if what is None else 1 + G.MOTIONS.index(what)
    for t, frame in enumerate(sampled):
        for k, c in enumerate(G.COLOURS):
            if c not in objs:
                continue
            x, y, _, alpha = S.obj_state(objs[c], scene["n_steps"], float(frame))
            if alpha < 0.5:
                continue
            out[t, k] = 1 + G.SHAPES.index(objs[c]["shape"])
            out[t, nc + k] = 1 + min(GRID - 1, max(0, int(x * GRID // S.W)))
            out[t, 2 * nc + k] = 1 + min(GRID - 1, max(0, int(y * GRID // S.H)))
            out[t, 3 * nc + G.SHAPES.index(objs[c]["shape"])] = 1
    return out


def scene_targets(scene: dict) -> np.ndarray:
    """Ground-truth scene → int64 [len(SCENE_GROUPS)] class indices (see SCENE_GROUPS)."""
    by_colour = {o["colour"]: o for o in scene["objects"]}
    by_shape = {o["shape"]: o for o in scene["objects"]}
    row: list[int] = []
    for key, options in (("shape", G.SHAPES), ("motion", G.MOTIONS), ("step", [0, 1, 2]), ("size", G.SIZES)):
        row += [1 + options.index(by_colour[c][key]) if c in by_colour else 0 for c in G.COLOURS]
    row += [1 + G.COLOURS.index(by_shape[s]["colour"]) if s in by_shape else 0 for s in G.SHAPES]
    row.append(len(scene["objects"]))
    row.append(sum(1 for o in scene["objects"] if o["motion"] in G.MOVES))
    return np.array(row, dtype=np.int64)


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
    scene: np.ndarray | None = None  # [N, len(SCENE_GROUPS)] scene targets (None unless loaded with scenes=True)
    frame_scene: np.ndarray | None = None  # [N, T, len(FRAME_SCENE_GROUPS)] per-frame scene targets
    tokenizer: object | None = None  # the split's tokenizer (hard-negative captions are tokenised per batch)

    @property
    def size(self) -> int:
        return len(self.records)


def load_tokenised(data: str | Path, split: str, frames: int, size: int, max_words: int, in_memory: bool = False,
                   scenes: bool = False, frame_changes: bool = False) -> Split:
    """Tokenised split; scenes: also the scene targets of the auxiliary losses (from each record's scene),
    with frame_changes the per-frame change groups (FRAME_CHANGE_GROUPS) too."""
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
    scene = per_frame = None
    if scenes:
        missing = [r["id"] for r in records if "scene" not in r]
        if missing:
            raise ValueError(f"split {split!r}: {len(missing)} records (e.g. {missing[0]}) have no ground-truth scene; "
                             "the scene losses need synthclips records (python -m hbi.data.synthclips)")
        scene = np.stack([scene_targets(r["scene"]) for r in records])
        per_frame = np.stack([frame_scene_targets(r["scene"], frames, frame_changes) for r in records])
    return Split(split, video, records, ids.reshape(n, per, -1), mask.reshape(n, per, -1), np.array(qa_clip),
                 qids, qmask, np.array(answer), qtype, np.array(first), scene, per_frame, tok)


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


def make_batch(split: Split, idx: np.ndarray, rng: np.random.Generator, heads: bool, questions: int = 1,
               scene: bool = False, frame_scene: bool = False, negatives: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """Training batch for clips idx: a random caption each, random questions, another caption as target.

    questions: how many of each clip's questions (distinct, at random; 0 = all of them). With more
    than one, `question_clip` [Q] maps each question to its clip's row. scene: add the clips' scene
    targets [B, len(SCENE_GROUPS)]; frame_scene: the per-frame ones [B, T, len(FRAME_SCENE_GROUPS)].
    negatives: hard-negative kinds (hbi.data.negatives): each clip's caption edited in one of them →
    negative_ids/mask [B,L] and negative_valid [B] (0 where no edit applies; the row then repeats the caption).
    """
    b = len(idx)
    per = split.caption_ids.shape[1]
    c = rng.integers(0, per, size=b)
    out = {
        "frames": torch.from_numpy(np.ascontiguousarray(split.frames[np.sort(idx)][np.argsort(np.argsort(idx))])),
        "frame_mask": torch.ones(b, split.frames.shape[1]),
    }
    out["caption_ids"], out["caption_mask"] = trim(split.caption_ids[idx, c], split.caption_mask[idx, c])
    if negatives:
        if split.tokenizer is None:
            raise ValueError(f"split {split.name!r} has no tokenizer for hard-negative captions: load it with load_tokenised")
        texts, valid = [], []
        for i, ci in zip(idx, c):
            own = split.records[i]["captions"][ci]
            neg = negative_caption(own, rng, negatives)
            texts.append(own if neg is None else neg[0])
            valid.append(neg is not None)
        ids, mask, _ = encode_batch(split.tokenizer, texts, split.caption_ids.shape[-1])
        out["negative_ids"], out["negative_mask"] = trim(ids, mask)
        out["negative_valid"] = torch.tensor(valid, dtype=torch.float32)
    if heads:
        if questions != 1:
            picks = []
            for i in idx:
                own = np.arange(split.qa_first[i], split.qa_first[i + 1])
                picks.append(own if questions <= 0 or questions >= len(own) else rng.choice(own, questions, replace=False))
            q = np.concatenate(picks)
            out["question_clip"] = torch.from_numpy(np.repeat(np.arange(b), [len(p) for p in picks]))
        else:
            q = split.qa_first[idx] + (rng.random(b) * (split.qa_first[idx + 1] - split.qa_first[idx])).astype(np.int64)
        out["question_ids"], out["question_mask"] = trim(split.qa_ids[q], split.qa_mask[q])
        out["answer"] = torch.from_numpy(split.qa_answer[q])
        c2 = rng.integers(0, per, size=b)
        out["target_ids"], _ = trim(split.caption_ids[idx, c2], split.caption_mask[idx, c2])
    if scene:
        if split.scene is None:
            raise ValueError(f"split {split.name!r} was loaded without scene targets: load_tokenised(..., scenes=True)")
        out["scene"] = torch.from_numpy(split.scene[idx])
    if frame_scene:
        if split.frame_scene is None:
            raise ValueError(f"split {split.name!r} was loaded without scene targets: load_tokenised(..., scenes=True)")
        out["frame_scene"] = torch.from_numpy(split.frame_scene[idx])
    return out
