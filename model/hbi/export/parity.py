"""parity.json: PyTorch outputs of every graph on real demo clips, replayed through ONNX Runtime by tests.

The frames are decoded from the demo library's MP4 files with the shared ffmpeg recipe, so the
fixture also pins the decode (their sha256 is stored). The platform's own parity tests read it too.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from hbi.data.recipe import decode_clip
from hbi.data.tokenizer import BOS_ID, encode_batch, load_tokenizer
from hbi.model.hbi import HBIModel


def parity_inputs(model: HBIModel, demo: Path, tokenizer_path: Path, clips: int = 2) -> tuple[dict, dict[str, np.ndarray]]:
    """(description of the inputs, named input arrays) built from the first `clips` demo clips."""
    cfg = model.cfg
    library = json.loads((demo / "library.json").read_text())["clips"][:clips]
    frames = np.stack([decode_clip(str(demo / c["file"]), cfg.frames, cfg.image_size, cfg.image_size) for c in library])
    tok = load_tokenizer(tokenizer_path)
    captions = [c["captions"][0] for c in library]
    questions = [c["qa"][0]["question"] for c in library]
    ids, mask, _ = encode_batch(tok, captions, cfg.max_words)
    qids, qmask, _ = encode_batch(tok, questions, cfg.max_words)
    prefix = np.concatenate([np.full((len(library), 1), BOS_ID), ids[:, 1:4]], axis=1).astype(np.int64)
    desc = {"clips": [{"id": c["id"], "file": c["file"], "frames_sha256": hashlib.sha256(f.tobytes()).hexdigest()} for c, f in zip(library, frames)],
            "captions": captions, "questions": questions, "caption_prefix": prefix.tolist()}
    arrays = {"frames": frames, "frame_mask": np.ones((len(library), cfg.frames), np.float32), "input_ids": ids, "attention_mask": mask,
              "question_ids": qids, "question_mask": qmask, "tokens": prefix}
    return desc, arrays


@torch.no_grad()
def torch_outputs(model: HBIModel, a: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Every graph's outputs for the parity inputs, computed in PyTorch."""
    t = {k: torch.from_numpy(v) for k, v in a.items()}
    f, fw, v = model.encode_video(t["frames"], t["frame_mask"])
    w, ww, e = model.encode_text(t["input_ids"], t["attention_mask"])
    q, _, _ = model.encode_text(t["question_ids"], t["question_mask"])
    out = {"video": {"frame_tokens": f, "frame_weights": fw, "video_embedding": v}, "text": {"word_tokens": w, "word_weights": ww, "text_embedding": e}}
    if model.cfg.levels:
        out["interaction"] = {"scores": model.interaction(w, ww, t["attention_mask"].float(), f, fw, t["frame_mask"])}
    if model.cfg.qa:
        out["qa"] = {"answer_logits": model.qa_logits(f, t["frame_mask"], q, t["question_mask"].float())}
    if model.cfg.caption:
        out["caption"] = {"logits": model.caption_logits(f, t["frame_mask"], t["tokens"])}
    return {g: {k: x.numpy() for k, x in o.items()} for g, o in out.items()}


def write_parity(model: HBIModel, demo: Path, path: Path, tokenizer_path: Path, answers: list[str]) -> None:
    desc, arrays = parity_inputs(model, demo, tokenizer_path)
    outs = torch_outputs(model, arrays)
    desc["outputs"] = {g: {k: np.round(x.astype(np.float64), 7).tolist() for k, x in o.items()} for g, o in outs.items()}
    desc["tolerance"] = 1e-4
    path.write_text(json.dumps(desc))
