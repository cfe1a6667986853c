"""Similarity formula, DPC-KNN merging, reconstruction, and gradient flow through the whole model."""
import math

import pytest

import torch

from hbi.model.config import ABLATIONS, TINY
from hbi.model.dpc_knn import TokenMerge, cluster_counts, dpc_knn
from hbi.model.hbi import HBIModel
from hbi.model.similarity import Reconstruction, reconstructed_similarity, reconstructed_similarity_explicit, token_similarity


def test_similarity_formula_on_a_hand_computed_example():
    # Two words, two frames (plus one padded frame), axis-aligned so cosines are easy.
    words = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    frames = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]])
    wmask, fmask = torch.ones(1, 2), torch.tensor([[1.0, 1.0, 0.0]])
    ww, fw = torch.tensor([[0.25, 0.75]]), torch.tensor([[0.5, 0.5, 0.0]])
    r = 1 / math.sqrt(2)
    # cos: word0-frame0 1, word0-frame1 r, word1-frame0 0, word1-frame1 r (frame2 is padding)
    t2v = 0.25 * 1 + 0.75 * r
    v2t = 0.5 * 1 + 0.5 * r
    got = token_similarity(words, wmask, ww, frames, fmask, fw)
    assert torch.allclose(got, torch.tensor([[0.5 * (t2v + v2t)]]), atol=1e-6)


def test_padding_never_wins_a_max():
    words = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    frames = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    base = token_similarity(words, torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]]), frames, torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]]))
    assert torch.allclose(base, torch.zeros(1, 1), atol=1e-6)  # the matching word/frame pair is padding


def test_factorised_reconstruction_equals_the_explicit_form():
    torch.manual_seed(0)
    rec = Reconstruction(16)
    with torch.no_grad():
        rec.gate_w.fill_(0.8)
        rec.gate_f.fill_(-0.5)
    w, f = torch.randn(3, 7, 16), torch.randn(4, 5, 16)
    wm = (torch.arange(7)[None] < torch.tensor([[7], [4], [2]])).float()
    fm = (torch.arange(5)[None] < torch.tensor([[5], [3], [5], [1]])).float()
    ww, fw = wm / wm.sum(1, keepdim=True), fm / fm.sum(1, keepdim=True)
    a = reconstructed_similarity(rec, w, wm, ww, f, fm, fw)
    b = reconstructed_similarity_explicit(rec, w, wm, ww, f, fm, fw)
    assert torch.allclose(a, b, atol=1e-5)


def test_dpc_knn_recovers_planted_clusters():
    torch.manual_seed(0)
    centres = torch.tensor([[5.0, 0, 0, 0], [0, 5.0, 0, 0], [0, 0, 5.0, 0]])
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    x = (centres[labels] + 0.1 * torch.randn(10, 4))[None]
    assign, centre_mask, _ = dpc_knn(x, torch.ones(1, 10), torch.tensor([3.0]), 3, k=2)
    assert centre_mask.tolist() == [[1.0, 1.0, 1.0]]
    got = assign[0].argmax(-1)
    # same planted cluster ⇔ same found cluster
    assert torch.equal(got[:, None] == got[None, :], labels[:, None] == labels[None, :])


def test_dpc_knn_ignores_padding():
    torch.manual_seed(1)
    x = torch.randn(1, 8, 4)
    x[0, 5:] = 100.0  # padding far away (would be its own dense cluster if counted)
    mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0, 0.0]])
    counts = cluster_counts(mask, 0.5, 4)
    assert counts.tolist() == [3.0]  # from 5 valid tokens, never from the padded 8
    assign, centre_mask, centres = dpc_knn(x, mask, counts, 4, k=3)
    assert assign[0, 5:].sum() == 0  # padding joins no cluster
    assert set(centres[0, :3].tolist()) <= {0, 1, 2, 3, 4}  # and is never a centre
    assert centre_mask.tolist() == [[1.0, 1.0, 1.0, 0.0]]
    assert torch.allclose(assign[0, :5].sum(-1), torch.ones(5))  # every valid token in exactly one cluster


def test_token_merge_output_masks_and_shapes():
    merge = TokenMerge(16, 4, ratio=1 / 3, max_tokens=12)
    x = torch.randn(2, 12, 16)
    mask = (torch.arange(12)[None] < torch.tensor([[12], [4]])).float()
    merged, mmask = merge(x, mask)
    assert merged.shape == (2, 4, 16)
    assert mmask.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert torch.all(merged[1, 2:] == 0)


def small_batch(cfg, b=6):
    g = torch.Generator().manual_seed(0)
    lens = torch.randint(4, 12, (b, 1), generator=g)
    return dict(frames=torch.randint(0, 256, (b, cfg.frames, cfg.image_size, cfg.image_size, 3), dtype=torch.uint8, generator=g),
                frame_mask=torch.ones(b, cfg.frames), caption_ids=torch.randint(4, cfg.vocab_size, (b, 12), generator=g),
                caption_mask=(torch.arange(12)[None] < lens).long(), question_ids=torch.randint(4, cfg.vocab_size, (b, 8), generator=g),
                question_mask=torch.ones(b, 8, dtype=torch.long), answer=torch.randint(0, cfg.answers, (b,), generator=g),
                target_ids=torch.randint(4, cfg.vocab_size, (b, 12), generator=g))


def test_gradients_reach_every_trainable_module():
    torch.manual_seed(0)
    cfg = TINY.replace(vocab_size=40, answers=10)
    model = HBIModel(cfg)
    with torch.no_grad():  # open the reconstruction gates so their projections get gradient too
        for lvl in model.level_modules:
            lvl.reconstruction.gate_w.fill_(0.5)
            lvl.reconstruction.gate_f.fill_(0.5)
    losses = model.losses(small_batch(cfg))
    assert set(losses) == {"global", "contrastive", "self_distill", "banzhaf", "qa", "caption"}
    sum(losses.values()).backward()
    silent = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)]
    assert silent == []
    assert all(not p.requires_grad for p in model.banzhaf_teacher.parameters())  # the teacher stays frozen


@pytest.mark.parametrize("heads", [False, True], ids=["retrieval-only", "with-qa-and-captions"])
def test_every_ablation_row_trains(heads):
    for name, switches in ABLATIONS.items():
        cfg = TINY.replace(vocab_size=40, answers=10, qa=heads, caption=heads, **switches)
        model = HBIModel(cfg)
        losses = model.losses(small_batch(cfg, 4))
        assert ("contrastive" in losses) == (name != "baseline")
        assert ("banzhaf" in losses) == switches["banzhaf"]
        assert ("self_distill" in losses) == (switches["hierarchy"] and switches["self_distill"])
        assert ("qa" in losses) == heads
        sum(losses.values()).backward()


def test_motion_input_diff_sees_the_change_to_the_next_frame_and_never_padding():
    from hbi.model.encoders import VideoEncoder

    torch.manual_seed(0)
    enc = VideoEncoder(TINY.replace(conv_stem="maxpool", conv_channels=(32, 64, 128), motion_input="diff")).eval()
    assert enc.frame.features[0].in_channels == 6
    frames = torch.randint(0, 256, (2, 8, 64, 64, 3), dtype=torch.uint8)
    mask = torch.ones(2, 8)
    with torch.no_grad():
        base = enc(frames, mask)
        # a frame's token depends on the frame after it (the change), not only on itself
        moved = frames.clone()
        moved[0, 4] = torch.roll(frames[0, 4], shifts=5, dims=1)
        per_frame = enc.frame_tokens(frames[0], torch.cat([frames[0, 1:], frames[0, -1:]]))
        per_frame_moved = enc.frame_tokens(moved[0], torch.cat([moved[0, 1:], moved[0, -1:]]))
        assert not torch.allclose(per_frame[3], per_frame_moved[3])  # frame 3 sees frame 4 change
        assert torch.allclose(per_frame[2], per_frame_moved[2])  # frame 2 does not
        # the last valid frame of a short clip is followed by itself: what is in the padding is never seen
        short = mask.clone()
        short[1, 5:] = 0
        junk = frames.clone()
        junk[1, 5:] = 255 - junk[1, 5:]
        a, b = enc(frames, short), enc(junk, short)
        assert torch.allclose(a[1, :5], b[1, :5], atol=1e-5)
        assert base.shape == (2, 8, TINY.embed_dim)
    with pytest.raises(ValueError, match="motion_input"):
        VideoEncoder(TINY.replace(motion_input="flow"))


def test_time_code_starts_at_zero_and_adds_one_learned_code_per_frame_position():
    from hbi.model.encoders import VideoEncoder

    torch.manual_seed(0)
    base = VideoEncoder(TINY).eval()
    timed = VideoEncoder(TINY.replace(time_code=True)).eval()
    missing, unexpected = timed.load_state_dict(base.state_dict(), strict=False)
    assert missing == ["time_code"] and not unexpected  # a checkpoint without it loads (fine-tuning)
    frames = torch.randint(0, 256, (2, 8, 64, 64, 3), dtype=torch.uint8)
    mask = torch.ones(2, 8)
    mask[1, 6:] = 0
    with torch.no_grad():
        want = base(frames, mask)
        assert torch.equal(timed(frames, mask), want)  # at zero: the checkpoint's model exactly
        timed.time_code.normal_()
        got = timed(frames, mask)
        # frame t gains code t whatever the clip: the same frames reversed in time get other codes
        assert torch.allclose(got - want, timed.time_code.expand(2, 8, -1), atol=1e-5)
        back = timed(frames.flip(1), mask)
        assert torch.allclose(back - base(frames.flip(1), mask), timed.time_code.expand(2, 8, -1), atol=1e-5)
    assert base.time_code is None
