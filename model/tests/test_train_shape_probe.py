"""The shape probe: every stem maps 64x64 frames to the 4x4 map the shipped encoder flattens."""
import pytest
import torch

from hbi.model.heads import grouped_cross_entropy
from hbi.train.shape_probe import PROBE_GROUPS, STEMS, FrameProbe, stem_layers, visible_accuracy


@pytest.mark.parametrize("stem", STEMS)
def test_every_stem_ends_at_the_shipped_feature_map(stem):
    feats = stem_layers(stem, (48, 96, 128))(torch.zeros(2, 3, 64, 64))
    assert feats.shape == (2, 128, 4, 4)
    probe = FrameProbe(stem, sum(n for _, n in PROBE_GROUPS))
    assert probe(torch.randint(0, 256, (3, 64, 64, 3), dtype=torch.uint8)).shape == (3, sum(n for _, n in PROBE_GROUPS))


def test_unknown_stem_is_refused():
    with pytest.raises(ValueError, match="coarse"):
        stem_layers("huge", (48, 96, 128))


def test_visible_accuracy_counts_only_visible_objects():
    sizes = [3, 3]
    # two frames; group 0: frame 0 shows class 2 (predicted 2), frame 1 nothing visible (predicted 1)
    logits = torch.tensor([[0.0, 0.0, 5.0, 5.0, 0.0, 0.0], [0.0, 5.0, 0.0, 0.0, 0.0, 5.0]])
    targets = torch.tensor([[2, 0], [0, 1]])
    assert visible_accuracy(logits, targets, sizes, range(0, 1)) == 1.0  # frame 1's miss is not counted
    assert visible_accuracy(logits, targets, sizes, range(1, 2)) == 0.0  # predicted 2, truth 1
    assert grouped_cross_entropy(logits, targets, sizes).item() > 0
