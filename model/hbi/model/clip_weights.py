"""Load an OpenAI CLIP ViT-B/32 checkpoint (a local file a user has) into the `vit-b32` preset.

Nothing is downloaded: pass the path of CLIP's `ViT-B-32.pt` (a TorchScript archive) or of a plain
state dict with CLIP's key names. The image tower fills `video.frame`, the text tower fills `text`
(positional embeddings cut to L = max_words); CLIP's logit scale is not used. HBI's own modules keep
their random initialisation.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .hbi import HBIModel

TEXT_KEYS = ("token_embedding.", "positional_embedding", "transformer.", "ln_final.", "text_projection")


def read_clip_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    try:
        archive = torch.jit.load(str(path), map_location="cpu")
        return {k: v for k, v in archive.state_dict().items()}
    except (RuntimeError, ValueError):
        sd = torch.load(str(path), map_location="cpu", weights_only=True)
        return sd.get("state_dict", sd)


def load_clip_weights(model: HBIModel, path: str | Path) -> dict[str, int]:
    """Copy CLIP's towers into model; returns counts {"visual": n, "text": n} of tensors copied.

    Raises ValueError naming the first key whose shape does not fit (e.g. a ViT-B/16 checkpoint).
    """
    sd = read_clip_state_dict(path)
    counts = {"visual": 0, "text": 0}
    targets = {**{f"visual.{k}": v for k, v in model.video.frame.state_dict().items()}, **{k: v for k, v in model.text.state_dict().items()}}
    for key, value in sd.items():
        if key.startswith("visual."):
            part = "visual"
        elif key.startswith(TEXT_KEYS):
            part = "text"
        else:
            continue
        if key not in targets:
            raise ValueError(f"CLIP key {key!r} has no place in the {model.cfg.name} model")
        dst = targets[key]
        if key == "positional_embedding":
            value = value[: dst.shape[0]]
        if tuple(value.shape) != tuple(dst.shape):
            raise ValueError(f"CLIP key {key!r} has shape {tuple(value.shape)}, the model expects {tuple(dst.shape)}")
        with torch.no_grad():
            dst.copy_(value.to(dst.dtype))
        counts[part] += 1
    missing = [k for k in targets if k not in sd]
    if missing:
        raise ValueError(f"checkpoint lacks {len(missing)} CLIP tensors, e.g. {missing[0]!r}")
    return counts
