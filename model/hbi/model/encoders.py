"""Frame, temporal and text encoders (METHOD.md §1).

Parameter names of `VisionTransformer` and `TextTransformer` follow OpenAI CLIP's state dict, so a
CLIP ViT-B/32 checkpoint loads into the `vit-b32` preset (see hbi.model.clip_weights).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    """Multi-head attention with nn.MultiheadAttention's parameter names and maths (batch first).

    Written out so that every shape is taken from the inputs at run time: traced ONNX graphs stay
    dynamic in batch and sequence length (torch's fused module bakes some of them in). State dicts
    are interchangeable with nn.MultiheadAttention(batch_first=True) and with CLIP's.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, need_weights: bool = False, attn_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        """q [B,N,W], k/v [B,M,W], attn_mask additive [B*heads,N,M] or [N,M] → ([B,N,W], None)."""
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        h = self.heads
        hd = q.shape[-1] // h
        qh = F.linear(q, w_q, b_q).unflatten(-1, (h, hd)).transpose(1, 2)  # [B,h,N,hd]
        kh = F.linear(k, w_k, b_k).unflatten(-1, (h, hd)).transpose(1, 2)
        vh = F.linear(v, w_v, b_v).unflatten(-1, (h, hd)).transpose(1, 2)
        att = (qh * hd**-0.5) @ kh.transpose(-1, -2)  # [B,h,N,M]
        if attn_mask is not None:
            att = att + (attn_mask.unflatten(0, (-1, h)) if attn_mask.dim() == 3 else attn_mask)
        out = F.softmax(att, dim=-1) @ vh
        return self.out_proj(out.transpose(1, 2).flatten(2)), None


class ResidualAttentionBlock(nn.Module):
    """Pre-norm transformer block with CLIP's parameter names (attn, ln_1, mlp.c_fc/c_proj, ln_2)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.attn = Attention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, width * 4))
        self.mlp.add_module("gelu", QuickGELU())
        self.mlp.add_module("c_proj", nn.Linear(width * 4, width))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: [B,N,W]; attn_mask: additive float mask [B*heads,N,N] or [N,N], or None."""
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, attn_mask)
        return x


def additive_mask(key_valid: torch.Tensor, heads: int, causal: bool = False) -> torch.Tensor:
    """Attention mask from key validity [B,N] (1 valid): float [B*heads,N,N], -1e4 where masked.

    A large finite negative (not -inf) keeps rows of all-padding sequences finite.
    """
    b, n = key_valid.shape
    m = (1.0 - key_valid.float())[:, None, :].expand(b, n, n) * -1e4
    if causal:
        tri = torch.triu(torch.ones(n, n, device=key_valid.device), diagonal=1) * -1e4
        m = m + tri
    return m.repeat_interleave(heads, dim=0)


class VisionTransformer(nn.Module):
    """CLIP's image encoder: patches + class token → transformer → projected class token [B,D]."""

    def __init__(self, image_size: int, patch: int, width: int, layers: int, heads: int, out_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        scale = width**-0.5
        grid = image_size // patch
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: normalised images [N,3,H,W] → class-token features [N,D]."""
        x = self.conv1(x).flatten(2).transpose(1, 2)  # [N, grid², width]
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[:, 0, :]) @ self.proj


CONV_STEMS = ("patchify", "maxpool")
MOTION_INPUTS = ("none", "diff")


def conv_features(stem: str, channels: tuple[int, ...], in_channels: int = 3) -> nn.Sequential:
    """The conv feature stack of ConvFrameEncoder: [N,3,H,W] → [N, channels[-1], H/2^(k+1), W/2^(k+1)]
    for k = len(channels) (a 4×4 map from 64×64 with three stages).

    - ``patchify``: a 4×4 stride-4 stem (as in ConvNeXt) then stride-2 3×3 convs, GroupNorm, GELU;
      ≈ 3 MMAC per 64² frame. Learns where things are quickly but *which shape* very slowly
      (model/RESULTS.md, "Why shape is not learned").
    - ``maxpool``: a 4×4 stride-2 conv then 3×3 convs, each stage BatchNorm, ReLU and a 2×2 max-pool
      (a VGG-style stack); ≈ 11 MMAC per 64² frame with channels (32, 64, 128). Learns shape an order
      of magnitude faster.
    """
    layers: list[nn.Module] = []
    if stem == "patchify":
        layers += [nn.Conv2d(in_channels, channels[0], 4, stride=4), nn.GroupNorm(8, channels[0]), nn.GELU()]
        for c_in, c in zip(channels[:-1], channels[1:]):
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.GroupNorm(8, c), nn.GELU()]
    elif stem == "maxpool":
        layers += [nn.Conv2d(in_channels, channels[0], 4, stride=2, padding=1), nn.BatchNorm2d(channels[0]), nn.ReLU(), nn.MaxPool2d(2)]
        for c_in, c in zip(channels[:-1], channels[1:]):
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
    else:
        raise ValueError(f"unknown conv stem {stem!r}: use one of {', '.join(CONV_STEMS)}")
    return nn.Sequential(*layers)


class ConvFrameEncoder(nn.Module):
    """A small CNN for the `tiny` preset: [N,3,H,W] → [N,D].

    The conv stack (`conv_features`) ends at a 4×4 map that is flattened (not pooled) so the token
    keeps *where* things are, which the motion words (left, right, up, down) depend on; with
    ``pooled`` the max over the map's cells (position-free "what" features) is projected and added.
    """

    def __init__(self, image_size: int, channels: tuple[int, ...], out_dim: int, pooled: bool = False, stem: str = "patchify",
                 in_channels: int = 3) -> None:
        super().__init__()
        self.features = conv_features(stem, channels, in_channels)
        side = image_size // (4 * 2 ** (len(channels) - 1))
        self.proj = nn.Linear(channels[-1] * side * side, out_dim)
        self.pool_proj = nn.Linear(channels[-1], out_dim) if pooled else None
        self.ln = nn.LayerNorm(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        y = self.proj(f.flatten(1))
        if self.pool_proj is not None:
            y = y + self.pool_proj(f.flatten(2).amax(-1))
        return self.ln(y)


class VideoEncoder(nn.Module):
    """uint8 frames [B,T,H,W,3] → frame tokens [B,T,D] (per-frame encoder + residual temporal transformer)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.embed_dim
        self.register_buffer("mean", torch.tensor(cfg.pixel_mean).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(cfg.pixel_std).view(1, 3, 1, 1) * 255.0, persistent=False)
        if cfg.frame_encoder == "vit":
            self.frame = VisionTransformer(cfg.image_size, cfg.vit_patch, cfg.vit_width, cfg.vit_layers, cfg.vit_heads, d)
        elif cfg.frame_encoder == "conv":
            self.frame = ConvFrameEncoder(cfg.image_size, cfg.conv_channels, d, pooled=cfg.conv_pooled, stem=cfg.conv_stem,
                                          in_channels=6 if cfg.motion_input == "diff" else 3)
        else:
            raise ValueError(f"unknown frame_encoder {cfg.frame_encoder!r}: use 'conv' or 'vit'")
        if cfg.motion_input not in MOTION_INPUTS:
            raise ValueError(f"unknown motion_input {cfg.motion_input!r}: use one of {', '.join(MOTION_INPUTS)}")
        if cfg.motion_input == "diff" and cfg.frame_encoder != "conv":
            raise ValueError("motion_input 'diff' needs the conv frame encoder")
        self.frame_position = nn.Parameter(torch.zeros(cfg.frames, d))
        nn.init.normal_(self.frame_position, std=0.02)
        self.temporal = Transformer(d, cfg.temporal_layers, cfg.heads)
        # zero at the start, so a model fine-tuned with it begins exactly where its checkpoint was
        self.time_code = nn.Parameter(torch.zeros(cfg.frames, d)) if cfg.time_code else None

    def frame_tokens(self, frames: torch.Tensor, following: torch.Tensor | None = None) -> torch.Tensor:
        """uint8 frames [N,H,W,3] → per-frame tokens [N,D] (before the temporal transformer).

        With ``motion_input == "diff"`` the encoder also sees ``following`` − ``frames`` (each frame's
        next sampled frame, uint8 [N,H,W,3]; the frame itself where there is none, so no change)."""
        x = frames.permute(0, 3, 1, 2).float()
        if self.cfg.motion_input == "diff":
            nxt = x if following is None else following.permute(0, 3, 1, 2).float()
            # both in the graph: callers pass ffmpeg's rgb24; the change is scaled like the frame
            return self.frame(torch.cat([(x - self.mean) / self.std, (nxt - x) / self.std], dim=1))
        x = (x - self.mean) / self.std  # normalisation lives in the graph: callers pass ffmpeg's rgb24
        return self.frame(x)

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """frames: uint8 [B,T,H,W,3]; frame_mask: [B,T] (1 valid) → frame tokens [B,T,D]."""
        b, t, h, w, _ = frames.shape
        following = None
        if self.cfg.motion_input == "diff":
            # each frame's next valid frame; the last valid frame (and padding) is followed by itself
            nxt = torch.cat([frames[:, 1:], frames[:, -1:]], dim=1)
            has_next = torch.cat([frame_mask[:, 1:], torch.zeros_like(frame_mask[:, :1])], dim=1) > 0
            following = torch.where(has_next[:, :, None, None, None], nxt, frames).reshape(b * t, h, w, 3)
        x = self.frame_tokens(frames.reshape(b * t, h, w, 3), following).reshape(b, t, -1)
        h_in = x + self.frame_position[:t]
        out = x + self.temporal(h_in, additive_mask(frame_mask, self.cfg.heads))
        return out if self.time_code is None else out + self.time_code[:t]


class TextTransformer(nn.Module):
    """Token ids [B,L] → per-word features [B,L,D] (CLIP's text tower layout, all positions kept)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.positional_embedding = nn.Parameter(torch.empty(cfg.max_words, cfg.text_width))
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        self.transformer = Transformer(cfg.text_width, cfg.text_layers, cfg.text_heads)
        self.ln_final = nn.LayerNorm(cfg.text_width)
        self.text_projection = nn.Parameter(torch.empty(cfg.text_width, cfg.embed_dim))
        nn.init.normal_(self.text_projection, std=cfg.text_width**-0.5)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        n = input_ids.shape[1]
        x = self.token_embedding(input_ids) + self.positional_embedding[:n]
        x = self.transformer(x, additive_mask(attention_mask, self.cfg.text_heads, self.cfg.text_causal))
        return self.ln_final(x) @ self.text_projection


class TokenWeights(nn.Module):
    """Token importance (METHOD.md §1): an MLP scores each token, softmax over the valid ones → [B,N]."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, dim // 2), nn.GELU(), nn.Linear(dim // 2, 1))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = self.mlp(tokens).squeeze(-1).masked_fill(mask <= 0, -1e4)
        return F.softmax(logits, dim=-1) * (mask > 0).float()
