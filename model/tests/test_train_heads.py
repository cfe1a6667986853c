"""Stage 2 (hbi.train.tune_heads): only the task heads learn; the retrieval side stays bit-identical."""
import torch

from hbi.model.config import TINY
from hbi.model.hbi import HBIModel
from hbi.train.tune_heads import head_parameters

from test_model_parts import small_batch


def test_tuning_the_heads_leaves_the_encoders_and_levels_untouched():
    torch.manual_seed(0)
    cfg = TINY.replace(vocab_size=40, answers=10)
    model = HBIModel(cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    params = head_parameters(model, captions=False)
    opt = torch.optim.AdamW(params, lr=1e-2)
    batch = small_batch(cfg)
    for _ in range(3):
        f = model.encode_video(batch["frames"], batch["frame_mask"].float())[0]
        with torch.no_grad():
            q = model.encode_text(batch["question_ids"], batch["question_mask"])[0]
        loss = torch.nn.functional.cross_entropy(
            model.qa_logits(f.detach(), batch["frame_mask"].float(), q, batch["question_mask"].float()), batch["answer"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith("qa_levels.") for n in changed)
    assert {n for n, _ in model.qa_levels.named_parameters(prefix="qa_levels")} >= changed


def test_a_fresh_clip_qa_head_keeps_every_other_weight_starts_from_the_scene_head_and_only_it_learns():
    from hbi.train.batches import SCENE_GROUPS
    from hbi.train.tune_heads import with_qa_head

    torch.manual_seed(0)
    cfg = TINY.replace(vocab_size=40, answers=10, scene_classes=tuple(n for _, n in SCENE_GROUPS))
    levels = HBIModel(cfg)
    ck = {"config": cfg.to_dict(), "model": levels.state_dict()}
    model = with_qa_head(ck, "clip")
    assert model.cfg.qa_head == "clip" and model.qa_levels is None and model.qa_module() is model.qa_clip
    mine = model.state_dict()
    for k, v in levels.state_dict().items():
        if not k.startswith("qa_levels."):
            assert torch.equal(mine[k], v), k
    assert torch.equal(model.qa_clip.summary.weight, levels.scene_head.mlp[1].weight)
    assert torch.equal(model.qa_clip.summary_norm.bias, levels.scene_head.mlp[0].bias)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.AdamW(head_parameters(model, captions=False), lr=1e-2)
    batch = small_batch(cfg)
    for _ in range(3):
        f = model.encode_video(batch["frames"], batch["frame_mask"].float())[0]
        q = model.encode_text(batch["question_ids"], batch["question_mask"])[0]
        loss = torch.nn.functional.cross_entropy(model.qa_logits(f, batch["frame_mask"].float(), q, batch["question_mask"].float()), batch["answer"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith("qa_clip.") for n in changed)
    assert not torch.equal(model.qa_clip.summary.weight, levels.scene_head.mlp[1].weight)
    # the checkpoint's own head again: loaded as it is, nothing fresh
    again = with_qa_head({"config": model.cfg.to_dict(), "model": model.state_dict()}, "clip")
    assert all(torch.equal(again.state_dict()[k], v) for k, v in model.state_dict().items())


def test_a_checkpoint_that_does_not_fit_apart_from_its_qa_head_is_refused():
    import pytest

    from hbi.train.tune_heads import with_qa_head

    cfg = TINY.replace(vocab_size=40, answers=10)
    state = HBIModel(cfg).state_dict()
    state.pop("global_scale")
    with pytest.raises(ValueError, match="global_scale"):
        with_qa_head({"config": cfg.to_dict(), "model": state}, "clip")


def test_clip_qa_head_ignores_padding_and_reads_frame_order_and_the_question():
    from hbi.model.heads import QAClip

    torch.manual_seed(0)
    head = QAClip(dim=16, answers=5, frames=6).eval()
    q, f = torch.randn(2, 7, 16), torch.randn(2, 6, 16)
    qm, fm = torch.ones(2, 7), torch.ones(2, 6)
    qm[0, 4:] = 0
    fm[1, 5:] = 0
    out = head(q, qm, f, fm)
    assert out.shape == (2, 5)
    q2, f2 = q.clone(), f.clone()
    q2[0, 4:] = 100.0  # padded question words
    f2[1, 5:] = -100.0  # padded frames
    assert torch.allclose(head(q2, qm, f2, fm), out, atol=1e-5)
    # the frames are read in their places: reversing them changes the answer logits
    assert not torch.allclose(head(q, qm, f.flip(1), fm), out, atol=1e-3)
    # and the question matters
    assert not torch.allclose(head(q.flip(0), qm.flip(0), f, fm), out, atol=1e-3)


def test_cached_question_tokens_equal_encoding_each_question_alone():
    import numpy as np

    from hbi.train.batches import Split
    from hbi.train.tune_heads import question_tokens

    torch.manual_seed(0)
    cfg = TINY.replace(vocab_size=40, answers=10)
    model = HBIModel(cfg).eval()
    ids = np.zeros((5, cfg.max_words), np.int64)
    lengths = [4, 7, 3, 9, 5]
    for i, n in enumerate(lengths):
        ids[i, :n] = np.random.default_rng(i).integers(3, 40, n)
    mask = (ids > 0).astype(np.int64)
    split = Split("val", None, [{}] * 2, None, None, np.array([0, 0, 1, 1, 1]), ids, mask, np.zeros(5, np.int64), ["colour"] * 5, np.array([0, 2, 5]))
    tokens, qmask = question_tokens(model, split, batch=2)
    assert tokens.shape == (5, 9, cfg.embed_dim) and qmask.shape == (5, 9)
    for i, n in enumerate(lengths):
        alone = model.encode_text(torch.from_numpy(ids[i:i + 1, :n]), torch.from_numpy(mask[i:i + 1, :n]))[0]
        assert torch.allclose(tokens[i, :n], alone[0], atol=1e-5)
        assert qmask[i].sum() == n
