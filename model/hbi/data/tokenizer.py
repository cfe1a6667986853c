"""Word-level Hugging Face tokenizer over the closed synthclips vocabulary."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordLevel

SPECIALS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


def build_tokenizer(vocab_words: Iterable[str]) -> Tokenizer:
    words = sorted({w.strip().lower() for w in vocab_words if w.strip()} - set(SPECIALS))
    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for w in words:
        vocab[w] = len(vocab)
    tok = Tokenizer(WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.Strip(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Punctuation("isolated")])
    tok.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", BOS_ID), ("[EOS]", EOS_ID)])
    tok.add_special_tokens(SPECIALS)
    return tok


def save_tokenizer(tok: Tokenizer, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(path))


def load_tokenizer(path) -> Tokenizer:
    return Tokenizer.from_file(str(path))


def encode_batch(tok: Tokenizer, texts: list[str], max_len: int):
    """-> input_ids int64 [B,L], attention_mask int64 [B,L], unknown words per text.

    Pads with [PAD]=0 up to L = max_len (fixed shape); a text longer than max_len is truncated
    with [EOS] kept as its last token.
    """
    if max_len < 2:
        raise ValueError("max_len must be >= 2 ([BOS] and [EOS])")
    encs = tok.encode_batch(list(texts))
    seqs, unknown = [], []
    for text, e in zip(texts, encs):
        ids = list(e.ids)
        unk = [text[a:b] for i, (a, b) in zip(e.ids, e.offsets) if i == UNK_ID]
        unknown.append(unk)
        if len(ids) > max_len:
            ids = ids[:max_len - 1] + [EOS_ID]
        seqs.append(ids)
    L = max_len
    ids_arr = np.full((len(seqs), L), PAD_ID, dtype=np.int64)
    mask = np.zeros((len(seqs), L), dtype=np.int64)
    for b, s in enumerate(seqs):
        ids_arr[b, :len(s)] = s
        mask[b, :len(s)] = 1
    return ids_arr, mask, unknown
