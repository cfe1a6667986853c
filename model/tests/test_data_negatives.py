"""Hard-negative captions made from a caption's text (order, binding, motion) and their training loss."""
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from hbi.data import grammar as G
from hbi.data.negatives import KINDS, change_motion, negative_caption, steps_of_text, swap_binding, swap_order
from hbi.data.tokenizer import build_tokenizer, encode_batch, load_tokenizer, save_tokenizer
from hbi.model.config import TINY
from hbi.model.hbi import HBIModel, symmetric_infonce
from hbi.train.batches import Split, make_batch

from test_model_parts import small_batch


def words(text):
    return text.split()


def test_order_swaps_two_steps_and_keeps_the_markers():
    rng = np.random.default_rng(0)
    assert " ".join(swap_order(words("a red box rises then a blue ball falls"), rng)) == "a blue ball falls then a red box rises"
    assert " ".join(swap_order(words("first a red box rises and then the blue ball falls"), rng)) == \
        "first the blue ball falls and then a red box rises"
    # "B after A" says A acts first: the swap says the opposite
    assert " ".join(swap_order(words("a red box rises after a blue ball falls"), rng)) == "a blue ball falls after a red box rises"
    # simultaneous objects stay together in their step
    lead, segments, markers = steps_of_text(words("first a red box rises while a cyan disk drops after that the blue ball vanishes"))
    assert lead == ["first"] and markers == [("after", "that")]
    assert segments == [words("a red box rises while a cyan disk drops"), words("the blue ball vanishes")]
    three = "a red box rises then a blue ball falls then a cyan cross grows"
    for seed in range(10):
        out = swap_order(words(three), np.random.default_rng(seed))
        assert Counter(out) == Counter(words(three)) and out != words(three)
        assert out.count("then") == 2 and out.index("then") == 4  # markers keep their places (every clause is 4 words)
    assert swap_order(words("a red box rises while a blue ball falls"), rng) is None  # one step: no order


def test_binding_swaps_two_different_colours():
    rng = np.random.default_rng(0)
    assert " ".join(swap_binding(words("a red box rises as a blue ball falls"), rng)) == "a blue box rises as a red ball falls"
    assert swap_binding(words("a red box rises then a red ball falls"), rng) is None
    assert swap_binding(words("a red box rises"), rng) is None


def test_motion_replaces_one_phrase_with_another_motion():
    for seed in range(20):
        text = "a red box moves to the left then a blue ball stays in place"
        out = change_motion(words(text), np.random.default_rng(seed))
        assert out != words(text)
        kept_left = out[:7] == words("a red box moves to the left")
        kept_stay = out[-6:] == words("a blue ball stays in place")
        assert kept_left != kept_stay  # exactly one of the two phrases changed
    assert change_motion(words("the red box"), np.random.default_rng(0)) is None


def test_negative_caption_draws_among_the_kinds_that_apply():
    rng = np.random.default_rng(0)
    assert negative_caption("a red box rises", rng, ("order", "binding")) is None
    kinds = Counter(negative_caption("a red box rises then a blue ball falls", rng)[1] for _ in range(300))
    assert set(kinds) == set(KINDS) and min(kinds.values()) > 60
    text, kind = negative_caption("a red box rises then a blue ball falls", rng, ("order",))
    assert kind == "order" and text == "a blue ball falls then a red box rises"
    with pytest.raises(ValueError, match="unknown hard-negative kinds"):
        negative_caption("a red box rises", rng, ("colour",))


def test_negatives_of_grammar_captions_use_the_vocabulary():
    rng = np.random.default_rng(1)
    vocab = set(G.VOCAB)
    scene = {"n_steps": 2, "objects": [
        {"shape": "square", "colour": "purple", "size": "big", "motion": "right", "step": 1},
        {"shape": "triangle", "colour": "cyan", "size": "small", "motion": "shrink", "step": 0},
        {"shape": "circle", "colour": "red", "size": "small", "motion": "up", "step": 0}]}
    seen = Counter()
    for _ in range(200):
        cap = G.caption(scene, rng)
        neg = negative_caption(cap, rng)
        assert neg is not None and neg[0] != cap
        assert set(G.words_of(neg[0])) <= vocab
        seen[neg[1]] += 1
    assert set(seen) == set(KINDS)


def test_infonce_with_hard_negatives():
    torch.manual_seed(0)
    logits = torch.randn(4, 4)
    negatives = torch.randn(4, 4)
    plain = symmetric_infonce(logits)
    # negatives that are all marked invalid change nothing
    assert torch.allclose(symmetric_infonce(logits, negatives, torch.zeros(4)), plain, atol=1e-5)
    # a valid negative adds a wrong answer to every video's row: the loss can only grow
    valid = torch.tensor([1.0, 0.0, 1.0, 0.0])
    assert symmetric_infonce(logits, negatives, valid) > plain
    # the text→video half is unchanged: with the negatives far below, the loss is the plain one
    assert torch.allclose(symmetric_infonce(logits, negatives - 1e3, valid), plain, atol=1e-5)
    # a negative that outscores video i's own caption in its row costs more the higher it is
    hot = negatives.clone()
    hot[0, 2] = 10.0
    hotter = negatives.clone()
    hotter[0, 2] = 20.0
    assert symmetric_infonce(logits, hotter, valid) > symmetric_infonce(logits, hot, valid)


def _captioned_split(tmp_path: Path) -> Split:
    captions = [["a red box rises then a blue ball falls", "a red box rises"], ["a cyan disk drops", "a white cross grows"]]
    tok_path = tmp_path / "tokenizer.json"
    save_tokenizer(build_tokenizer(G.VOCAB), tok_path)

    tok = load_tokenizer(tok_path)
    ids, mask, _ = encode_batch(tok, [c for cs in captions for c in cs], 12)
    n = len(captions)
    return Split("train", np.zeros((n, 2, 4, 4, 3), np.uint8), [{"id": str(i), "captions": c} for i, c in enumerate(captions)],
                 ids.reshape(n, 2, -1), mask.reshape(n, 2, -1), np.zeros(0, np.int64), np.zeros((0, 12), np.int64),
                 np.zeros((0, 12), np.int64), np.zeros(0, np.int64), [], np.zeros(n + 1, np.int64), tokenizer=tok)


def test_batches_carry_a_negative_per_clip(tmp_path):
    split = _captioned_split(tmp_path)
    seen_valid = set()
    for seed in range(12):
        b = make_batch(split, np.array([0, 1]), np.random.default_rng(seed), heads=False, negatives=("order",))
        assert b["negative_ids"].shape[0] == 2 and b["negative_valid"].shape == (2,)
        assert b["negative_valid"][1] == 0  # one-step captions have no order to swap
        if b["negative_valid"][0] == 1:
            want, _, _ = encode_batch(split.tokenizer, ["a blue ball falls then a red box rises"], b["negative_ids"].shape[1])
            assert b["negative_ids"][0].tolist() == want[0].tolist()
        seen_valid.add(int(b["negative_valid"][0]))
    assert seen_valid == {0, 1}  # clip 0's caption is sometimes the one-step one
    assert "negative_ids" not in make_batch(split, np.array([0, 1]), np.random.default_rng(0), heads=False)


def test_model_trains_with_hard_negatives_at_every_level():
    torch.manual_seed(0)
    cfg = TINY.replace(vocab_size=40, answers=10)
    model = HBIModel(cfg)
    batch = small_batch(cfg, 4)
    plain = model.losses(batch)
    batch["negative_ids"] = torch.randint(4, cfg.vocab_size, batch["caption_ids"].shape, generator=torch.Generator().manual_seed(1))
    batch["negative_mask"] = batch["caption_mask"].clone()
    batch["negative_valid"] = torch.ones(4)
    hard = model.losses(batch)
    assert hard["global"] > plain["global"] and hard["contrastive"] > plain["contrastive"]
    assert torch.allclose(hard["qa"], plain["qa"])  # only the contrastive terms see the negatives
    (hard["global"] + hard["contrastive"]).backward()
    assert model.text.token_embedding.weight.grad.abs().sum() > 0
    batch["negative_valid"] = torch.zeros(4)
    off = model.losses(batch)
    assert torch.allclose(off["global"], plain["global"], atol=1e-5) and torch.allclose(off["contrastive"], plain["contrastive"], atol=1e-5)
