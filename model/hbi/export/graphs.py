"""The five serving graphs as modules with the model-package contract's inputs and outputs."""
from __future__ import annotations

import torch
from torch import nn

from hbi.model.hbi import HBIModel


class VideoGraph(nn.Module):
    """frames uint8 [B,T,H,W,3], frame_mask float32 [B,T] → frame_tokens, frame_weights, video_embedding."""

    def __init__(self, model: HBIModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor):
        return self.model.encode_video(frames, frame_mask)


class TextGraph(nn.Module):
    """input_ids, attention_mask int64 [B,L] → word_tokens, word_weights, text_embedding."""

    def __init__(self, model: HBIModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        return self.model.encode_text(input_ids, attention_mask)


class InteractionGraph(nn.Module):
    """Q texts' word tokens/weights/mask × V videos' frame tokens/weights/mask → scores [Q,V]."""

    def __init__(self, model: HBIModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, word_tokens, word_weights, word_mask, frame_tokens, frame_weights, frame_mask):
        return self.model.interaction(word_tokens, word_weights, word_mask, frame_tokens, frame_weights, frame_mask)


class QAGraph(nn.Module):
    """frame tokens + mask, question word tokens + mask → answer_logits [B,A]."""

    def __init__(self, model: HBIModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, frame_tokens, frame_mask, question_tokens, question_mask):
        return self.model.qa_logits(frame_tokens, frame_mask, question_tokens, question_mask)


class CaptionGraph(nn.Module):
    """frame tokens + mask, tokens so far int64 [B,S] → next-token logits [B,S,V]."""

    def __init__(self, model: HBIModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, frame_tokens, frame_mask, tokens):
        return self.model.caption_logits(frame_tokens, frame_mask, tokens)


def graph_specs(model: HBIModel) -> dict[str, dict]:
    """Module, example inputs, names and dynamic axes of every graph (the contract in one table)."""
    cfg = model.cfg
    t, h, w, l, d = cfg.frames, cfg.image_size, cfg.image_size, cfg.max_words, cfg.embed_dim
    g = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (2, t, h, w, 3), dtype=torch.uint8, generator=g)
    fmask = torch.ones(2, t)
    ids = torch.randint(4, cfg.vocab_size, (2, l), generator=g)
    amask = torch.ones(2, l, dtype=torch.long)
    amask[1, l // 2:] = 0
    tok = torch.randn(2, l, d, generator=g)
    wts = torch.softmax(torch.randn(2, l, generator=g), -1)
    ftok = torch.randn(3, t, d, generator=g)
    fw = torch.softmax(torch.randn(3, t, generator=g), -1)
    specs: dict[str, dict] = {
        "video": dict(module=VideoGraph(model), args=(frames, fmask), inputs=["frames", "frame_mask"],
                      outputs=["frame_tokens", "frame_weights", "video_embedding"],
                      dynamic={"frames": {0: "B"}, "frame_mask": {0: "B"}, "frame_tokens": {0: "B"}, "frame_weights": {0: "B"}, "video_embedding": {0: "B"}}),
        "text": dict(module=TextGraph(model), args=(ids, amask), inputs=["input_ids", "attention_mask"],
                     outputs=["word_tokens", "word_weights", "text_embedding"],
                     dynamic={"input_ids": {0: "B"}, "attention_mask": {0: "B"}, "word_tokens": {0: "B"}, "word_weights": {0: "B"}, "text_embedding": {0: "B"}}),
    }
    if cfg.levels:
        specs["interaction"] = dict(module=InteractionGraph(model), args=(tok, wts, amask.float(), ftok, fw, torch.ones(3, t)),
                                    inputs=["word_tokens", "word_weights", "word_mask", "frame_tokens", "frame_weights", "frame_mask"],
                                    outputs=["scores"],
                                    dynamic={"word_tokens": {0: "Q"}, "word_weights": {0: "Q"}, "word_mask": {0: "Q"}, "frame_tokens": {0: "V"}, "frame_weights": {0: "V"}, "frame_mask": {0: "V"}, "scores": {0: "Q", 1: "V"}})
    if cfg.qa:
        specs["qa"] = dict(module=QAGraph(model), args=(ftok[:2], torch.ones(2, t), tok, amask.float()),
                           inputs=["frame_tokens", "frame_mask", "question_tokens", "question_mask"], outputs=["answer_logits"],
                           dynamic={"frame_tokens": {0: "B"}, "frame_mask": {0: "B"}, "question_tokens": {0: "B"}, "question_mask": {0: "B"}, "answer_logits": {0: "B"}})
    if cfg.caption:
        specs["caption"] = dict(module=CaptionGraph(model), args=(ftok[:2], torch.ones(2, t), ids[:, :5]),
                                inputs=["frame_tokens", "frame_mask", "tokens"], outputs=["logits"],
                                dynamic={"frame_tokens": {0: "B"}, "frame_mask": {0: "B"}, "tokens": {0: "B", 1: "S"}, "logits": {0: "B", 1: "S"}})
    # The wrappers are new modules (in training mode by default), and torch.onnx.export restores the
    # mode of the module it exported, recursively: a wrapper left in training mode would switch the
    # whole model to training mode after the first export (BatchNorm then uses and updates batch
    # statistics). Every wrapper, and so the model, stays in eval mode.
    for sp in specs.values():
        sp["module"].eval()
    return specs
