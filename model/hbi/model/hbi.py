"""The HBI model: shared encoders, hierarchy of players, interaction score, heads and training losses."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .banzhaf import BanzhafPredictor, banzhaf_kl, similarity_banzhaf_exact_batch, standardised_softmax_target
from .config import ModelConfig
from .dpc_knn import TokenMerge
from .encoders import TextTransformer, TokenWeights, VideoEncoder
from .heads import CaptionDecoder, FrameSceneHead, QAClip, QALevel, SceneHead, caption_loss
from .similarity import Reconstruction, paired_matrix, pool_from_matrix, reconstructed_similarity, token_similarity

QA_LEVEL_WEIGHTS = {"entity": 0.4, "action": 0.4, "event": 0.2}
QA_HEADS = ("levels", "clip")
BANZHAF_TARGETS = ("network", "exact")


def level_capacity(tokens: int, ratios: tuple[float, ...]) -> int:
    """Most tokens a level can hold: the input length cut by each lower level's ratio in turn."""
    for r in ratios:
        tokens = max(1, math.ceil(tokens * r - 1e-6))
    return tokens


class Level(nn.Module):
    """The per-level modules: merging (above entity), token weights, reconstruction, temperature."""

    def __init__(self, cfg: ModelConfig, name: str, index: int) -> None:
        super().__init__()
        d = cfg.embed_dim
        self.name = name
        if index > 0:
            self.merge_words = TokenMerge(d, cfg.heads, cfg.word_ratios[index - 1], level_capacity(cfg.max_words, cfg.word_ratios[: index - 1]), cfg.knn)
            self.merge_frames = TokenMerge(d, cfg.heads, cfg.frame_ratios[index - 1], level_capacity(cfg.frames, cfg.frame_ratios[: index - 1]), cfg.knn)
            self.word_weights = TokenWeights(d)
            self.frame_weights = TokenWeights(d)
        self.reconstruction = Reconstruction(d) if cfg.reconstruction else None
        self.logit_scale = nn.Parameter(torch.tensor(math.log(20.0)))


class HBIModel(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.embed_dim
        self.video = VideoEncoder(cfg)
        self.text = TextTransformer(cfg)
        self.word_weights = TokenWeights(d)
        self.frame_weights = TokenWeights(d)
        self.global_video = nn.Linear(d, d)
        self.global_text = nn.Linear(d, d)
        self.global_scale = nn.Parameter(torch.tensor(math.log(20.0)))
        # Built for every preset; levels that the ablation switches off are simply never called.
        self.level_modules = nn.ModuleList([Level(cfg, n, i) for i, n in enumerate(("entity", "action", "event"))])
        if cfg.banzhaf_target not in BANZHAF_TARGETS:
            raise ValueError(f"banzhaf_target must be one of {BANZHAF_TARGETS}, got {cfg.banzhaf_target!r}")
        self.banzhaf_teacher = BanzhafPredictor() if cfg.banzhaf and cfg.banzhaf_target == "network" else None
        if self.banzhaf_teacher is not None:
            self.banzhaf_teacher.requires_grad_(False)
        if cfg.qa_head not in QA_HEADS:
            raise ValueError(f"qa_head must be one of {QA_HEADS}, got {cfg.qa_head!r}")
        self.qa_levels = nn.ModuleList([QALevel(d, cfg.heads, cfg.answers) for _ in range(3)]) if cfg.qa and cfg.qa_head == "levels" else None
        self.qa_clip = QAClip(d, cfg.answers, cfg.frames) if cfg.qa and cfg.qa_head == "clip" else None
        self.captioner = CaptionDecoder(cfg.vocab_size, cfg.max_words, d, cfg.heads, cfg.caption_layers) if cfg.caption else None
        self.scene_head = SceneHead(d, cfg.scene_classes, cfg.scene_present_only) if cfg.scene_classes else None
        self.frame_scene_head = FrameSceneHead(d, cfg.frame_scene_classes, cfg.frame_scene_present_only) if cfg.frame_scene_classes else None

    # ---- encoders (the `video` and `text` graphs) ----
    def encode_video(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """frames uint8 [B,T,H,W,3], mask [B,T] → frame_tokens [B,T,D], frame_weights [B,T], video_embedding [B,D]."""
        tokens = self.video(frames, frame_mask)
        weights = self.frame_weights(tokens, frame_mask)
        pooled = (tokens * frame_mask[:, :, None]).sum(1) / frame_mask.sum(1, keepdim=True).clamp(min=1.0)
        return tokens, weights, F.normalize(self.global_video(pooled), dim=-1)

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """ids/mask int64 [B,L] → word_tokens [B,L,D], word_weights [B,L], text_embedding [B,D]."""
        mask = attention_mask.float()
        tokens = self.text(input_ids, mask)
        weights = self.word_weights(tokens, mask)
        pooled = (tokens * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)
        return tokens, weights, F.normalize(self.global_text(pooled), dim=-1)

    # ---- hierarchy ----
    def words_by_level(self, tokens: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor, levels: int = 3) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Entity words, then merged phrases and sentence parts: [(tokens, mask, weights)] per level."""
        return self.by_level(tokens, mask, weights, "words", levels)

    def frames_by_level(self, tokens: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor, levels: int = 3) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Entity frames, then merged clips (action) and segments (event)."""
        return self.by_level(tokens, mask, weights, "frames", levels)

    def by_level(self, tokens: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor, kind: str, levels: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        out = [(tokens, mask, weights)]
        for lvl in self.level_modules[1:levels]:
            merge, weigh = (lvl.merge_words, lvl.word_weights) if kind == "words" else (lvl.merge_frames, lvl.frame_weights)
            tokens, mask = merge(tokens, mask)
            out.append((tokens, mask, weigh(tokens, mask)))
        return out

    def level_scores(self, words: list, frames: list) -> list[torch.Tensor]:
        """All pairs at each enabled level → [S_l [Q,V]] (before temperature)."""
        scores = []
        for lvl, (w, wm, ww), (f, fm, fw) in zip(self.level_modules, words, frames):
            if lvl.reconstruction is not None:
                scores.append(reconstructed_similarity(lvl.reconstruction, w, wm, ww, f, fm, fw))
            else:
                scores.append(token_similarity(w, wm, ww, f, fm, fw))
        return scores

    def interaction(self, word_tokens, word_weights, word_mask, frame_tokens, frame_weights, frame_mask) -> torch.Tensor:
        """The `interaction` graph: HBI similarity of Q texts × V videos → [Q,V], the mean over levels."""
        n = len(self.cfg.levels)
        if n == 0:
            raise ValueError("the global-only baseline has no interaction graph")
        words = self.words_by_level(word_tokens, word_mask, word_weights, n)
        frames = self.frames_by_level(frame_tokens, frame_mask, frame_weights, n)
        return torch.stack(self.level_scores(words, frames)).mean(0)

    # ---- heads ----
    def qa_logits(self, frame_tokens, frame_mask, question_tokens, question_mask, question_clip=None) -> torch.Tensor:
        """The `qa` graph → answer_logits [B,A]. The levels head fuses its level logits 0.4 / 0.4 / 0.2
        (entity only: 1); the clip head reads the entity-level frames and the question tokens.

        question_clip (training only): int64 [Q] row of frame_tokens [V,T,D] that each of the Q
        questions asks about; the frame hierarchy is then built once per clip, not once per question.
        """
        if self.qa_clip is not None:
            if question_clip is not None:
                frame_tokens, frame_mask = frame_tokens[question_clip], frame_mask[question_clip]
            return self.qa_clip(question_tokens, question_mask, frame_tokens, frame_mask)
        assert self.qa_levels is not None
        n = 3 if self.cfg.hierarchy else 1
        ones_q = torch.ones_like(question_mask)
        ones_f = torch.ones_like(frame_mask)
        words = self.words_by_level(question_tokens, question_mask, ones_q, n)
        frames = self.frames_by_level(frame_tokens, frame_mask, ones_f, n)
        if question_clip is not None:
            frames = [(f[question_clip], fm[question_clip], fw[question_clip]) for f, fm, fw in frames]
        names = ("entity", "action", "event")[:n]
        total = sum(QA_LEVEL_WEIGHTS[name] for name in names)
        logits = 0
        for name, head, (q, qm, _), (f, fm, _) in zip(names, self.qa_levels, words, frames):
            logits = logits + QA_LEVEL_WEIGHTS[name] / total * head(q, qm, f, fm)
        return logits

    def qa_module(self) -> nn.Module | None:
        """The QA head's parameters, whichever head the config builds (None without QA)."""
        return self.qa_clip if self.qa_clip is not None else self.qa_levels

    def caption_logits(self, frame_tokens, frame_mask, tokens) -> torch.Tensor:
        """The `caption` graph → next-token logits [B,S,V]."""
        assert self.captioner is not None
        return self.captioner(frame_tokens, frame_mask, tokens)

    # ---- training ----
    def losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One training step's losses. batch: frames [B,T,H,W,3] uint8, frame_mask [B,T], caption_ids/mask
        [B,L], and when the heads are on: question_ids/mask [B,L], answer [B], target_ids [B,L]."""
        cfg = self.cfg
        fmask = batch["frame_mask"].float()
        wmask = batch["caption_mask"].float()
        f_tok, f_w, v_emb = self.encode_video(batch["frames"], fmask)
        w_tok, w_w, t_emb = self.encode_text(batch["caption_ids"], batch["caption_mask"])
        # Hard-negative captions (hbi.data.negatives): more wrong captions for every clip, video→text only.
        hard = "negative_ids" in batch
        if hard:
            nmask = batch["negative_mask"].float()
            n_tok, n_w, n_emb = self.encode_text(batch["negative_ids"], batch["negative_mask"])
            n_valid = batch["negative_valid"]
        out: dict[str, torch.Tensor] = {}
        g_scale = self.global_scale.exp().clamp(max=100.0)
        out["global"] = symmetric_infonce(t_emb @ v_emb.T * g_scale, n_emb @ v_emb.T * g_scale if hard else None,
                                          n_valid if hard else None)
        n = len(cfg.levels)
        if n:
            words = self.words_by_level(w_tok, wmask, w_w, n)
            frames = self.frames_by_level(f_tok, fmask, f_w, n)
            scores = self.level_scores(words, frames)
            scales = [lvl.logit_scale.exp().clamp(max=100.0) for lvl in self.level_modules[:n]]
            logits = [s * k for s, k in zip(scores, scales)]
            negs = [s * k for s, k in zip(self.level_scores(self.words_by_level(n_tok, nmask, n_w, n), frames), scales)] if hard else [None] * n
            out["contrastive"] = sum(symmetric_infonce(lg, ng, n_valid if hard else None) for lg, ng in zip(logits, negs)) / n
            if cfg.hierarchy and cfg.self_distill:
                teacher = logits[0].detach()
                out["self_distill"] = 2.0 * sum(distill_kl(teacher, lg) for lg in logits[1:]) / (n - 1)
            if cfg.banzhaf:
                out["banzhaf"] = self.banzhaf_loss(words, frames) / n
        if cfg.qa and "question_ids" in batch:
            q_tok, _, _ = self.encode_text(batch["question_ids"], batch["question_mask"])
            qa = self.qa_logits(f_tok, fmask, q_tok, batch["question_mask"].float(), batch.get("question_clip"))
            out["qa"] = F.cross_entropy(qa, batch["answer"])
        if self.scene_head is not None and "scene" in batch:
            out["scene"] = self.scene_head.loss(f_tok, fmask, batch["scene"])
        if self.frame_scene_head is not None and "frame_scene" in batch:
            out["frame_scene"] = self.frame_scene_head.loss(f_tok, fmask, batch["frame_scene"])
        if cfg.caption and "target_ids" in batch:
            ids = batch["target_ids"]
            out["caption"] = caption_loss(self.caption_logits(f_tok, fmask, ids[:, :-1]), ids[:, 1:])
        return out

    def banzhaf_loss(self, words: list, frames: list) -> torch.Tensor:
        """L_BI summed over levels, on the matched pairs' word×frame matrices; the target is the frozen
        prediction network's B̂ or the exact interaction, standardised (ModelConfig.banzhaf_target)."""
        exact = self.cfg.banzhaf_target == "exact"
        assert exact or self.banzhaf_teacher is not None
        total = words[0][0].new_zeros(())
        for lvl, (w, wm, _), (f, fm, _) in zip(self.level_modules, words, frames):
            if lvl.reconstruction is not None:
                w, f = lvl.reconstruction.paired(w, wm, f, fm)
            m = paired_matrix(w, f)
            with torch.no_grad():
                if exact:
                    target = standardised_softmax_target(similarity_banzhaf_exact_batch(m, wm, fm), wm, fm)
                else:
                    target = self.banzhaf_teacher(m.detach(), wm, fm)
            total = total + banzhaf_kl(target, m, wm, fm)
        return total


def symmetric_infonce(logits: torch.Tensor, negatives: torch.Tensor | None = None, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE over a batch whose matched pairs lie on the diagonal of logits [texts B, videos B].

    negatives [N, B]: the logits of N more captions that match no video (hard negatives), each an extra
    wrong answer in every video's row of the video→text term; valid [N] (1: a real negative) leaves the
    others out. The text→video term is unchanged: a negative caption has no video to find.
    """
    target = torch.arange(logits.shape[0], device=logits.device)
    v2t = logits.T
    if negatives is not None:
        extra = negatives.T
        if valid is not None:
            extra = extra.masked_fill(valid[None, :] <= 0, -1e4)
        v2t = torch.cat([v2t, extra], dim=1)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(v2t, target))


def distill_kl(teacher: torch.Tensor, student: torch.Tensor) -> torch.Tensor:
    """Self-distillation: KL(softmax(teacher) ‖ softmax(student)) over rows and over columns [B,B]."""
    rows = F.kl_div(F.log_softmax(student, 1), F.log_softmax(teacher, 1), log_target=True, reduction="batchmean")
    cols = F.kl_div(F.log_softmax(student, 0).T, F.log_softmax(teacher, 0).T, log_target=True, reduction="batchmean")
    return 0.5 * (rows + cols)
