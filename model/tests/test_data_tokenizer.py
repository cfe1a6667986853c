"""Word-level tokenizer over the closed synthclips vocabulary."""
import json

import numpy as np

from hbi.data import grammar as G
from hbi.data.tokenizer import build_tokenizer, encode_batch, load_tokenizer, save_tokenizer


def test_specials_and_vocab(tmp_path):
    tok = build_tokenizer(G.VOCAB)
    for i, s in enumerate(["[PAD]", "[UNK]", "[BOS]", "[EOS]"]):
        assert tok.token_to_id(s) == i
    assert tok.get_vocab_size() == len(G.VOCAB) + 4
    for w in G.ANSWERS:
        assert tok.token_to_id(w) is not None
    save_tokenizer(tok, tmp_path / "tokenizer.json")
    cfg = json.loads((tmp_path / "tokenizer.json").read_text())
    assert cfg["model"]["type"] == "WordLevel"
    tok2 = load_tokenizer(tmp_path / "tokenizer.json")
    text = "A red square moves left then a blue circle appears"
    assert tok2.encode(text).ids == tok.encode(text).ids


def test_round_trip_and_punctuation():
    tok = build_tokenizer(G.VOCAB)
    e = tok.encode("  What COLOUR is the Square?  ")
    assert e.tokens == ["[BOS]", "what", "colour", "is", "the", "square", "?", "[EOS]"]
    assert tok.decode(e.ids) == "what colour is the square ?"
    assert e.ids[0] == 2 and e.ids[-1] == 3


def test_encode_batch_unknown_padding_truncation():
    tok = build_tokenizer(G.VOCAB)
    texts = ["a red square grows", "a magenta hexagon moves left", " ".join(["red"] * 40)]
    ids, mask, unk = encode_batch(tok, texts, 12)
    assert ids.dtype == np.int64 and mask.dtype == np.int64 and ids.shape == (3, 12) == mask.shape
    assert unk == [[], ["magenta", "hexagon"], []]
    assert ids[0, :6].tolist() == [2, tok.token_to_id("a"), tok.token_to_id("red"), tok.token_to_id("square"),
                                   tok.token_to_id("grows"), 3]
    assert ids[0, 6:].tolist() == [0] * 6 and mask[0].tolist() == [1] * 6 + [0] * 6
    assert ids[1, 2] == 1 and ids[1, 3] == 1  # [UNK]
    assert ids[2, 0] == 2 and ids[2, -1] == 3 and mask[2].all()  # truncated, [EOS] kept last
    assert (ids[2, 1:-1] == tok.token_to_id("red")).all()
