"""Training aids of the shipped recipe: several questions per clip and the auxiliary scene loss."""
import numpy as np
import pytest
import torch

from hbi.data import grammar as G
from hbi.model.config import TINY
from hbi.model.heads import grouped_cross_entropy
from hbi.model.hbi import HBIModel
from hbi.data import scenes as S
from hbi.train.batches import FRAME_CHANGE_GROUPS, FRAME_SCENE_GROUPS, SCENE_GROUPS, frame_change, frame_scene_groups, Split, frame_scene_targets, make_batch, present_only_flags, scene_targets

from test_model_parts import small_batch

SCENE = {"objects": [
    {"shape": "square", "colour": "purple", "size": "big", "motion": "right", "step": 1},
    {"shape": "triangle", "colour": "cyan", "size": "big", "motion": "shrink", "step": 0},
]}


def test_scene_targets_bind_each_attribute_to_its_object():
    row = scene_targets(SCENE)
    names = [n for n, _ in SCENE_GROUPS]
    assert len(row) == len(SCENE_GROUPS)
    assert all(0 <= int(v) < n for v, (_, n) in zip(row, SCENE_GROUPS))
    t = dict(zip(names, row.tolist()))
    assert t["shape_of_purple"] == 1 + G.SHAPES.index("square")
    assert t["shape_of_cyan"] == 1 + G.SHAPES.index("triangle")
    assert t["shape_of_red"] == 0  # no red object
    assert t["motion_of_purple"] == 1 + G.MOTIONS.index("right")
    assert t["motion_of_cyan"] == 1 + G.MOTIONS.index("shrink")
    assert t["step_of_purple"] == 2 and t["step_of_cyan"] == 1 and t["step_of_white"] == 0
    assert t["size_of_cyan"] == 1 + G.SIZES.index("big")
    assert t["colour_of_triangle"] == 1 + G.COLOURS.index("cyan") and t["colour_of_circle"] == 0
    assert t["objects"] == G.COUNTS.index("two") and t["moving"] == G.COUNTS.index("one")


def _split(n_clips=4, per_clip=(3, 5, 2, 4)):
    first = np.concatenate([[0], np.cumsum(per_clip)])
    q = int(first[-1])
    return Split("train", np.zeros((n_clips, 2, 4, 4, 3), np.uint8), [{"id": str(i)} for i in range(n_clips)],
                 np.ones((n_clips, 2, 5), np.int64), np.ones((n_clips, 2, 5), np.int64),
                 np.repeat(np.arange(n_clips), per_clip), np.arange(q * 6).reshape(q, 6) + 10, np.ones((q, 6), np.int64),
                 np.arange(q), ["colour"] * q, first, np.stack([scene_targets(SCENE)] * n_clips))


def test_several_questions_per_clip_map_back_to_their_clip():
    split = _split()
    idx = np.array([2, 0, 3])
    rng = np.random.default_rng(0)
    every = make_batch(split, idx, rng, heads=True, questions=0)
    assert every["question_clip"].tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 2]  # 2, 3 and 4 questions
    assert every["answer"].tolist() == [8, 9, 0, 1, 2, 10, 11, 12, 13]  # answer i is question i here
    three = make_batch(split, idx, rng, heads=True, questions=3, scene=True)
    clip_of = split.qa_clip[three["answer"].numpy()]
    assert (clip_of == idx[three["question_clip"].numpy()]).all()  # every question belongs to its row's clip
    assert len(three["answer"]) == 2 + 3 + 3 and len(set(three["answer"].tolist())) == 8  # distinct
    assert three["scene"].shape == (3, len(SCENE_GROUPS))
    one = make_batch(split, idx, rng, heads=True)
    assert "question_clip" not in one and len(one["answer"]) == 3


def test_qa_with_question_clip_equals_repeating_the_frames():
    torch.manual_seed(0)
    cfg = TINY.replace(vocab_size=40, answers=10)
    model = HBIModel(cfg).eval()
    b = small_batch(cfg, 3)
    clip = torch.tensor([0, 0, 2, 1, 2, 2])
    f = model.encode_video(b["frames"], b["frame_mask"])[0]
    qids = torch.randint(4, 40, (6, 7))
    q = model.encode_text(qids, torch.ones(6, 7, dtype=torch.long))[0]
    with torch.no_grad():
        shared = model.qa_logits(f, b["frame_mask"], q, torch.ones(6, 7), clip)
        repeated = model.qa_logits(f[clip], b["frame_mask"][clip], q, torch.ones(6, 7))
    assert torch.allclose(shared, repeated, atol=1e-5)


def test_scene_loss_trains_the_video_encoder_and_is_off_by_default():
    torch.manual_seed(0)
    assert "scene" not in HBIModel(TINY.replace(vocab_size=40, answers=10)).losses(small_batch(TINY.replace(vocab_size=40, answers=10)))
    cfg = TINY.replace(vocab_size=40, answers=10, scene_classes=tuple(n for _, n in SCENE_GROUPS))
    model = HBIModel(cfg)
    batch = small_batch(cfg, 4)
    batch["scene"] = torch.from_numpy(np.stack([scene_targets(SCENE)] * 4))
    losses = model.losses(batch)
    # at initialisation the loss is near the mean log of the groups' class counts
    expected = float(np.mean([np.log(n) for _, n in SCENE_GROUPS]))
    assert abs(losses["scene"].item() - expected) < 0.5
    losses["scene"].backward()
    assert model.video.frame.proj.weight.grad.abs().sum() > 0
    assert model.text.token_embedding.weight.grad is None  # the scene loss reads video only


def test_frame_scene_targets_follow_the_rendered_timeline():
    # one step: a red circle moves right across the frame while a blue square appears
    scene = {"n_steps": 1, "objects": [
        {"shape": "circle", "colour": "red", "size": "small", "motion": "right", "step": 0,
         "r_start": 12.0, "r_end": 12.0, "start": [20.0, 100.0], "end": [84.0, 100.0]},
        {"shape": "square", "colour": "blue", "size": "big", "motion": "appear", "step": 0,
         "r_start": 18.0, "r_end": 18.0, "start": [100.0, 20.0], "end": [100.0, 20.0]},
    ]}
    t = frame_scene_targets(scene, 8)
    col = {name: t[:, g].tolist() for g, (name, _) in enumerate(FRAME_SCENE_GROUPS)}
    assert t.shape == (8, len(FRAME_SCENE_GROUPS))
    assert col["shape_of_red"] == [1 + G.SHAPES.index("circle")] * 8
    assert col["row_of_red"] == [4] * 8  # y = 100 of 128: bottom row of 4
    assert col["column_of_red"][0] == 1 and col["column_of_red"][-1] == 3  # x 20 → 84: left to right of centre
    assert col["column_of_red"] == sorted(col["column_of_red"])
    blue = col["shape_of_blue"]  # invisible until it appears, then visible for good
    assert blue[0] == 0 and blue[-1] == 1 + G.SHAPES.index("square") and blue == sorted(blue)
    assert col["column_of_blue"][-1] == 4 and col["row_of_blue"][-1] == 1
    assert all(v == 0 for c in ("green", "white") for v in col[f"shape_of_{c}"])  # absent colours
    assert col["visible_circle"] == [1] * 8 and col["visible_triangle"] == [0] * 8
    assert col["visible_square"] == [1 if v else 0 for v in blue]
    assert S.FRAMES == 24  # the timeline the targets sample (uniform_indices of the decode recipe)
    # with frame changes: the same columns first, then what each object did before the next frame
    both = frame_scene_targets(scene, 8, changes=True)
    assert both.shape == (8, len(frame_scene_groups(True))) and np.array_equal(both[:, :t.shape[1]], t)
    change = {name: both[:, len(FRAME_SCENE_GROUPS) + k].tolist() for k, (name, _) in enumerate(FRAME_CHANGE_GROUPS)}
    assert change["change_of_red"][:7] == [1 + G.MOTIONS.index("right")] * 7 and change["change_of_red"][7] == 0
    kinds = {G.MOTIONS[v - 1] for v in change["change_of_blue"] if v}
    assert "appear" in kinds and kinds <= {"appear", "stay"}  # appears once, then stays put
    assert change["change_of_green"] == [0] * 8  # absent colours


def test_frame_change_names_the_largest_change():
    still = (50.0, 50.0, 10.0, 1.0)
    assert frame_change(still, still) == "stay"
    assert frame_change(still, (48.0, 50.5, 10.0, 1.0)) == "left"
    assert frame_change(still, (50.5, 47.0, 10.0, 1.0)) == "up"  # image y grows downwards
    assert frame_change(still, (50.0, 53.0, 10.0, 1.0)) == "down"
    assert frame_change(still, (50.0, 50.0, 11.0, 1.0)) == "grow"
    assert frame_change(still, (50.0, 50.0, 10.0, 0.2)) == "disappear"
    assert frame_change((50.0, 50.0, 10.0, 0.0), (50.0, 50.0, 10.0, 0.6)) == "appear"
    assert frame_change((50.0, 50.0, 10.0, 0.0), (60.0, 50.0, 10.0, 0.3)) is None  # visible in neither


def test_frame_scene_loss_reads_every_frame_token():
    torch.manual_seed(0)
    cfg = TINY.replace(vocab_size=40, answers=10, frame_scene_classes=tuple(n for _, n in FRAME_SCENE_GROUPS))
    model = HBIModel(cfg)
    batch = small_batch(cfg, 2)
    batch["frame_scene"] = torch.zeros(2, cfg.frames, len(FRAME_SCENE_GROUPS), dtype=torch.long)
    loss = model.losses(batch)["frame_scene"]
    expected = float(np.mean([np.log(n) for _, n in FRAME_SCENE_GROUPS]))
    assert abs(loss.item() - expected) < 0.5
    loss.backward()
    assert model.video.frame.proj.weight.grad.abs().sum() > 0


def test_grouped_cross_entropy_averages_groups_over_the_weighted_rows_only():
    torch.manual_seed(0)
    logits, targets = torch.randn(4, 5), torch.tensor([[0, 1], [2, 0], [1, 1], [0, 0]])
    sizes = (3, 2)
    by_hand = torch.stack([torch.nn.functional.cross_entropy(logits[:2, :3], targets[:2, 0]),
                           torch.nn.functional.cross_entropy(logits[:2, 3:], targets[:2, 1])]).mean()
    weighted = grouped_cross_entropy(logits, targets, sizes, torch.tensor([1.0, 1.0, 0.0, 0.0]))
    assert torch.allclose(weighted, by_hand)  # rows 2 and 3 (padding frames) do not count
    assert torch.allclose(grouped_cross_entropy(logits[:2], targets[:2], sizes), by_hand)


def test_present_only_groups_average_over_the_objects_that_are_there():
    torch.manual_seed(0)
    logits, targets = torch.randn(4, 5), torch.tensor([[0, 1], [2, 0], [1, 1], [0, 0]])
    sizes = (3, 2)
    ce = torch.nn.functional.cross_entropy
    # group 0 present-only: rows 1 and 2 (target > 0); group 1 as before: all rows
    by_hand = torch.stack([ce(logits[1:3, :3], targets[1:3, 0]), ce(logits[:, 3:], targets[:, 1])]).mean()
    assert torch.allclose(grouped_cross_entropy(logits, targets, sizes, present_only=(True, False)), by_hand)
    # with a frame weight too: row 2 is padding, so group 0 keeps row 1 only
    w = torch.tensor([1.0, 1.0, 0.0, 1.0])
    by_hand = torch.stack([ce(logits[1:2, :3], targets[1:2, 0]), ce(logits[[0, 1, 3], 3:], targets[[0, 1, 3], 1])]).mean()
    assert torch.allclose(grouped_cross_entropy(logits, targets, sizes, w, (True, False)), by_hand)
    # a present-only group with no object at all adds 0 (not NaN)
    none = torch.zeros_like(targets)
    assert torch.isfinite(grouped_cross_entropy(logits, none, sizes, present_only=(True, True)))


def test_present_only_flags_leave_counts_and_visibility_on_every_row():
    flags = dict(zip((n for n, _ in SCENE_GROUPS), present_only_flags(SCENE_GROUPS)))
    assert flags["shape_of_red"] and flags["colour_of_circle"] and not flags["objects"] and not flags["moving"]
    fflags = dict(zip((n for n, _ in FRAME_SCENE_GROUPS), present_only_flags(FRAME_SCENE_GROUPS)))
    assert fflags["shape_of_red"] and fflags["column_of_red"] and not fflags["visible_circle"]


def test_scene_heads_take_present_only_from_the_config():
    cfg = TINY.replace(scene_classes=tuple(n for _, n in SCENE_GROUPS), frame_scene_classes=tuple(n for _, n in FRAME_SCENE_GROUPS),
                       scene_present_only=present_only_flags(SCENE_GROUPS), frame_scene_present_only=present_only_flags(FRAME_SCENE_GROUPS))
    model = HBIModel(cfg)
    assert model.scene_head.present_only == cfg.scene_present_only
    assert model.frame_scene_head.present_only == cfg.frame_scene_present_only


def test_scene_batches_need_a_split_loaded_with_scenes():
    split = _split()
    split.scene = split.frame_scene = None
    with pytest.raises(ValueError, match="scenes=True"):
        make_batch(split, np.array([0, 1]), np.random.default_rng(0), heads=True, scene=True)
