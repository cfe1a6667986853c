"""Model configuration: size presets (`tiny`, `vit-b32`) and the ablation switches."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelConfig:
    """Every architectural choice of the HBI model, with the `tiny` defaults.

    The ablation rows of model/RESULTS.md differ only in the five switches at the bottom.
    """

    name: str = "tiny"
    # video
    frames: int = 8  # T: frames sampled per clip (uniform, see hbi.data.recipe)
    image_size: int = 64  # H = W fed to the frame encoder
    frame_encoder: str = "conv"  # "conv" (tiny, CPU-trainable) or "vit" (CLIP ViT layout)
    conv_channels: tuple[int, ...] = (48, 96, 128)
    conv_stem: str = "patchify"  # "patchify" (4x4 stride 4, GroupNorm) or "maxpool" (VGG-style, BatchNorm)
    conv_pooled: bool = False  # add the max over the last conv map's cells to the frame token
    # what each frame's encoder sees besides the frame: "none", or "diff": the change to the next
    # sampled frame as three more input channels (motion at the pixel level, bound to its colour)
    motion_input: str = "none"
    vit_patch: int = 32
    vit_width: int = 768
    vit_layers: int = 12
    vit_heads: int = 12
    temporal_layers: int = 2  # temporal transformer over frame tokens (paper: 4)
    # a learned code per frame position added to the frame tokens after the temporal transformer (zero
    # at the start): a direct "when" component, so that each word's best frame can depend on the time
    time_code: bool = False
    # text
    vocab_size: int = 256
    max_words: int = 32  # L, including [BOS]/[EOS]
    text_width: int = 128
    text_layers: int = 2
    text_heads: int = 4
    text_causal: bool = False  # CLIP uses a causal text transformer; tiny attends both ways
    # shared
    embed_dim: int = 128  # D
    heads: int = 4  # heads of the small HBI attention modules
    pixel_mean: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
    pixel_std: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)
    # hierarchy: clusters of each level as a fraction of the *valid* tokens of the level below it
    # (never of the padded length): words 30 → 10 → 5, frames 8 → 4 → 2 for full-length inputs
    word_ratios: tuple[float, float] = (1 / 3, 1 / 2)  # action, event
    frame_ratios: tuple[float, float] = (1 / 2, 1 / 2)
    knn: int = 3
    # heads
    answers: int = 64
    # "levels": question tokens cross-attend to each level's frames (mean, MLP; levels fused 0.4/0.4/0.2);
    # "clip": a clip summary (pooled + per-frame) modulated by the pooled question (hbi.model.heads.QAClip)
    qa_head: str = "levels"
    caption_layers: int = 2
    # ablation switches
    fine_grained: bool = True  # token-level similarity (entity level); off = global embeddings only
    hierarchy: bool = True  # action + event levels with DPC-KNN merging and self-distillation
    banzhaf: bool = True  # Banzhaf-interaction KL (L_BI)
    # L_BI's target: "network" = the frozen pre-trained prediction network's B̂ (METHOD §5); "exact" = the
    # exact interaction (hbi.model.banzhaf.similarity_banzhaf_exact_batch, 2^T frame sets, cheap at T ≤ 8),
    # standardised per matrix (the raw values are ~1e-3 at the entity level: their softmax is uniform)
    banzhaf_target: str = "network"
    reconstruction: bool = True  # V2 representation reconstruction (cross-modal gated fusion)
    self_distill: bool = True  # with the hierarchy: the entity level teaches the coarser levels (KL)
    qa: bool = True
    caption: bool = True
    # auxiliary scene loss (training only, no exported graph): class counts of the scene targets read
    # from the pooled frame tokens (hbi.train.batches.SCENE_GROUPS); empty = off
    scene_classes: tuple[int, ...] = ()
    # the same per frame, read from each frame token (hbi.train.batches.FRAME_SCENE_GROUPS); empty = off
    frame_scene_classes: tuple[int, ...] = ()
    # per group of each scene head: average only over the objects that are there (see grouped_cross_entropy)
    scene_present_only: tuple[bool, ...] = ()
    frame_scene_present_only: tuple[bool, ...] = ()

    @property
    def levels(self) -> tuple[str, ...]:
        """Levels of players that are scored; empty for the global-only baseline."""
        if not self.fine_grained:
            return ()
        return ("entity", "action", "event") if self.hierarchy else ("entity",)

    def replace(self, **changes: object) -> "ModelConfig":
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "ModelConfig":
        fields = {f.name for f in dataclasses.fields(ModelConfig)}
        clean = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in fields}
        return ModelConfig(**clean)


TINY = ModelConfig()

# CLIP ViT-B/32 dimensions: 224², patch 32, visual width 768 x 12, text width 512 x 12, D = 512,
# T = 12, L = 32, CLIP's BPE vocabulary (49,408) and a causal text transformer.
VIT_B32 = ModelConfig(
    name="vit-b32",
    frames=12,
    image_size=224,
    frame_encoder="vit",
    vit_patch=32,
    vit_width=768,
    vit_layers=12,
    vit_heads=12,
    temporal_layers=4,
    vocab_size=49408,
    max_words=32,
    text_width=512,
    text_layers=12,
    text_heads=8,
    text_causal=True,
    embed_dim=512,
    heads=8,
    word_ratios=(6 / 24, 3 / 6),  # 24 → 6 → 3 as in the paper
    frame_ratios=(3 / 12, 2 / 3),  # 12 → 3 → 2
    answers=1500,
    caption_layers=3,
)

PRESETS: dict[str, ModelConfig] = {"tiny": TINY, "vit-b32": VIT_B32}

# The ablation ladder of model/RESULTS.md, each a set of switches applied to a preset.
ABLATIONS: dict[str, dict[str, bool]] = {
    "baseline": dict(fine_grained=False, hierarchy=False, banzhaf=False, reconstruction=False, self_distill=False),
    "fine-grained": dict(fine_grained=True, hierarchy=False, banzhaf=False, reconstruction=False, self_distill=False),
    "hierarchy": dict(fine_grained=True, hierarchy=True, banzhaf=False, reconstruction=False, self_distill=False),
    "banzhaf": dict(fine_grained=True, hierarchy=True, banzhaf=True, reconstruction=False, self_distill=False),
    "full": dict(fine_grained=True, hierarchy=True, banzhaf=True, reconstruction=True, self_distill=True),
}
