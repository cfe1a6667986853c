"""The QA-granularity probe: both variants read the same stem; only the tokens the QA head sees differ."""
import torch

from hbi.train.qa_probe import QAProbe


def test_frame_and_spatial_variants_see_t_and_t_times_cells_tokens():
    torch.manual_seed(0)
    frames = torch.randint(0, 256, (2, 8, 64, 64, 3), dtype=torch.uint8)
    ids = torch.tensor([[1, 5, 6, 2, 0], [1, 7, 2, 0, 0]])
    mask = (ids > 0).long()
    for tokens, count, stem in (("frame", 8, "coarse"), ("spatial", 8 * 16, "coarse"), ("frame", 8, "fine"), ("spatial", 8 * 16, "fine")):
        probe = QAProbe(tokens, vocab=16, answers=10, stem=stem)
        assert probe.video_tokens(frames).shape == (2, count, probe.cfg.embed_dim)
        logits = probe(frames, ids, mask)
        assert logits.shape == (2, 10)
        assert torch.isfinite(logits).all()


def test_unknown_token_kind_is_refused():
    try:
        QAProbe("pixels", vocab=16, answers=10)
    except ValueError as error:
        assert "frame" in str(error)
    else:
        raise AssertionError("expected ValueError")
