"""Stage 0 (--frame-pretrain): the frame encoder and the per-frame scene head learn from single frames
of rendered scenes; nothing else in the model moves; it needs the scene head."""
import numpy as np
import pytest
import torch

from hbi.data import scenes as S
from hbi.data.recipe import uniform_indices
from hbi.model.config import TINY
from hbi.model.hbi import HBIModel
from hbi.train.batches import FRAME_SCENE_GROUPS, SCENE_GROUPS, frame_scene_groups, Split, frame_scene_targets, present_only_flags
from hbi.train.frame_pretrain import head_accuracy, pretrain_frames, val_frames


def _resize64(frames: np.ndarray) -> np.ndarray:
    """[T,128,128,3] → [T,64,64,3] by 2x2 means (the test's stand-in for the ffmpeg scale)."""
    return frames.reshape(frames.shape[0], 64, 2, 64, 2, 3).mean((2, 4)).astype(np.uint8)


def _split(n: int, seed: int, changes: bool = False) -> Split:
    rng = np.random.default_rng(seed)
    scenes = [S.sample_scene(rng, comp=False) for _ in range(n)]
    frames = np.stack([_resize64(S.render(s)[uniform_indices(S.FRAMES, 8)]) for s in scenes])
    q = 1
    return Split("train", frames, [{"id": str(i), "scene": s} for i, s in enumerate(scenes)],
                 np.ones((n, 1, 5), np.int64), np.ones((n, 1, 5), np.int64), np.zeros(q, np.int64), np.ones((q, 5), np.int64),
                 np.ones((q, 5), np.int64), np.zeros(q, np.int64), ["colour"], np.array([0] + [q] * n),
                 frame_scene=np.stack([frame_scene_targets(s, 8, changes) for s in scenes]))


def _model(**kw) -> HBIModel:
    cfg = TINY.replace(conv_stem="maxpool", conv_channels=(32, 64, 128), conv_pooled=True, scene_classes=tuple(n for _, n in SCENE_GROUPS),
                       frame_scene_classes=tuple(n for _, n in FRAME_SCENE_GROUPS), frame_scene_present_only=present_only_flags(FRAME_SCENE_GROUPS), **kw)
    return HBIModel(cfg)


def test_frame_pretraining_moves_only_the_frame_encoder_and_its_head_and_lowers_the_loss():
    torch.manual_seed(0)
    train, val = _split(12, 0), _split(4, 1)
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    vf, _, vt = val_frames(train, clips=12)
    head_loss = lambda: float(model.frame_scene_head.loss(model.video.frame_tokens(torch.from_numpy(vf))[:, None], torch.ones(len(vf), 1), torch.from_numpy(vt)[:, None]))
    model.eval()
    start = head_loss()
    out = pretrain_frames(model, train, val, steps=30, rng=np.random.default_rng(0), batch=12)
    model.eval()
    assert head_loss() < 0.8 * start  # it fits the training frames
    assert 0.0 <= out["val_shape_of_colour"] <= 1.0 and 0.0 <= out["val_column_of_colour"] <= 1.0
    after = model.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert moved and all(k.startswith(("video.frame.", "frame_scene_head.")) for k in moved)
    assert any(k.startswith("video.frame.features") for k in moved) and any(k.startswith("frame_scene_head.") for k in moved)


def test_visible_accuracy_is_one_for_the_truth_and_counts_visible_objects_only():
    train = _split(3, 2)
    vf, _, vt = val_frames(train, clips=3)
    model = _model()
    sizes = [n for _, n in FRAME_SCENE_GROUPS]
    truth = torch.cat([torch.nn.functional.one_hot(torch.from_numpy(vt[:, g]), n).float() * 10 for g, n in enumerate(sizes)], dim=-1)
    model.frame_scene_head.mlp = torch.nn.Sequential(torch.nn.Flatten(), _Const(truth))
    assert head_accuracy(model, vf, vt, "shape") == 1.0
    assert head_accuracy(model, vf, vt, "column") == 1.0


class _Const(torch.nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return self.value


def test_frame_pretraining_needs_the_scene_head():
    model = HBIModel(TINY)
    with pytest.raises(SystemExit, match="--scene-aux"):
        pretrain_frames(model, _split(2, 0), _split(2, 1), steps=1, rng=np.random.default_rng(0))


def test_frame_pretraining_with_a_diff_motion_input_learns_the_change_groups_too():
    torch.manual_seed(0)
    train, val = _split(12, 0, changes=True), _split(4, 1)
    groups = frame_scene_groups(True)
    model = HBIModel(TINY.replace(conv_stem="maxpool", conv_channels=(32, 64, 128), motion_input="diff",
                                  scene_classes=tuple(n for _, n in SCENE_GROUPS), frame_scene_classes=tuple(n for _, n in groups),
                                  frame_scene_present_only=present_only_flags(groups)))
    vf, vn, vt = val_frames(train, clips=12, changes=True)
    assert vt.shape[1] == len(groups) and vn.shape == vf.shape
    assert np.array_equal(vn.reshape(12, 8, *vf.shape[1:])[:, :7], vf.reshape(12, 8, *vf.shape[1:])[:, 1:])
    head_loss = lambda: float(model.frame_scene_head.loss(model.video.frame_tokens(torch.from_numpy(vf), torch.from_numpy(vn))[:, None],
                                                          torch.ones(len(vf), 1), torch.from_numpy(vt)[:, None]))
    model.eval()
    start = head_loss()
    out = pretrain_frames(model, train, val, steps=30, rng=np.random.default_rng(0), batch=12)
    model.eval()
    assert head_loss() < 0.8 * start
    assert 0.0 <= out["val_change_of_colour"] <= 1.0
