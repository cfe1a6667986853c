"""synthclips generator: determinism, grammar, twins, held-out combos, on-disk format."""
import json
from collections import Counter

import numpy as np
import pytest

from hbi.data import grammar as G
from hbi.data import scenes as S
from hbi.data.synthclips import generate
from hbi.data.tokenizer import build_tokenizer, encode_batch

SMALL = {"train": 6, "val": 3, "test": 3, "comp": 3}


@pytest.fixture(scope="module")
def gen_dirs(tmp_path_factory):
    a = tmp_path_factory.mktemp("a")
    b = tmp_path_factory.mktemp("b")
    c = tmp_path_factory.mktemp("c")
    generate(a, 0, SMALL, workers=1, chunk=4, progress=False)
    generate(b, 0, SMALL, workers=2, chunk=4, progress=False)  # worker count must not matter
    generate(c, 1, {"train": 6, "val": 0, "test": 0, "comp": 0}, workers=1, chunk=4, progress=False)
    return a, b, c


@pytest.fixture(scope="module")
def val_recs():
    return S.build_split(0, "val", 400)


def test_scenes_deterministic_and_seeded():
    a = S.build_split(0, "test", 120)
    b = S.build_split(0, "test", 120)
    c = S.build_split(1, "test", 120)
    assert json.dumps(a) == json.dumps(b)
    assert [r["captions"] for r in a] != [r["captions"] for r in c]
    assert [r["scene"] for r in a] != [r["scene"] for r in c]
    f1, f2 = S.render(a[3]["scene"]), S.render(b[3]["scene"])
    assert f1.shape == (24, 128, 128, 3) and f1.dtype == np.uint8
    assert np.array_equal(f1, f2)
    assert not np.array_equal(f1, S.render(c[3]["scene"]))


def test_grammar_closed_vocab_and_lengths(val_recs):
    vocab = set(G.VOCAB)
    assert 90 <= len(vocab) <= 150
    tok = build_tokenizer(G.VOCAB)
    texts = []
    for r in val_recs:
        assert len(r["captions"]) == G.N_CAPTIONS
        assert len(set(r["captions"])) >= 3
        for c in r["captions"]:
            assert len(G.words_of(c)) <= G.MAX_CAPTION_WORDS
        for q in r["qa"]:
            assert q["answer"] in G.ANSWERS and q["type"] in G.QA_TYPES
        texts += r["captions"] + [q["question"] for q in r["qa"]]
        for o in r["scene"]["objects"]:  # every object is mentioned (colour + a shape word)
            for c in r["captions"]:
                w = G.words_of(c)
                assert o["colour"] in w
                assert any(s in w for s in G.SHAPE_WORDS[o["shape"]])
    ids, mask, unk = encode_batch(tok, texts, 30)
    assert not any(unk)
    assert mask.sum(1).max() <= 30 and (ids[np.arange(len(ids)), mask.sum(1) - 1] == 3).all()
    assert G.ANSWERS == sorted(G.ANSWERS)
    types = Counter(q["type"] for r in val_recs for q in r["qa"])
    assert set(types) == set(G.QA_TYPES)
    yn = Counter(q["answer"] for r in val_recs for q in r["qa"] if q["answer"] in ("yes", "no"))
    assert 0.35 < yn["yes"] / (yn["yes"] + yn["no"]) < 0.65


def test_captions_mostly_identify_clip():
    recs = S.build_split(0, "test", 1000)
    sig = Counter(tuple(sorted((o["colour"], o["shape"], o["motion"], o["step"]) for o in r["scene"]["objects"]))
                  for r in recs)
    unique = sum(1 for r in recs if sig[tuple(sorted((o["colour"], o["shape"], o["motion"], o["step"])
                                                    for o in r["scene"]["objects"]))] == 1)
    assert unique / len(recs) > 0.85


def _strip(o):
    return {k: v for k, v in o.items() if k not in ("colour", "step")}


def test_twins_differ_in_exactly_one_binding(val_recs):
    by_id = {r["id"]: r for r in val_recs}
    n_twin = sum(1 for r in val_recs if r["twin"])
    assert 0.4 < n_twin / len(val_recs) < 0.6
    kinds = Counter()
    for r in val_recs:
        if not r["twin"]:
            continue
        t = by_id[r["twin"]]
        assert t["twin"] == r["id"] and t["split"] == r["split"] and t["twin_kind"] == r["twin_kind"]
        a, b = r["scene"], t["scene"]
        assert {k: v for k, v in a.items() if k != "objects"} == {k: v for k, v in b.items() if k != "objects"}
        assert len(a["objects"]) == len(b["objects"])
        assert [_strip(o) for o in a["objects"]] == [_strip(o) for o in b["objects"]]
        diff = [i for i, (x, y) in enumerate(zip(a["objects"], b["objects"])) if x != y]
        assert sorted(diff) == sorted(r["twin_objects"]) and len(diff) == 2
        i, j = diff
        oa, ob = a["objects"], b["objects"]
        if r["twin_kind"] == "colour":
            assert oa[i]["colour"] == ob[j]["colour"] and oa[j]["colour"] == ob[i]["colour"]
            assert oa[i]["step"] == ob[i]["step"] and oa[i]["motion"] != oa[j]["motion"]
        else:
            assert r["twin_kind"] == "order"
            assert oa[i]["step"] == ob[j]["step"] and oa[j]["step"] == ob[i]["step"] != oa[i]["step"]
            assert oa[i]["colour"] == ob[i]["colour"]
        assert r["captions"] != t["captions"]
        kinds[r["twin_kind"]] += 1
    assert kinds["colour"] > 0 and kinds["order"] > 0


def test_held_out_combos_only_in_comp():
    held = {tuple(x) for x in S.HELD_OUT}
    colours = {c for c, _ in held}
    motions = {m for _, m in held}
    assert colours == set(G.COLOURS) and len(motions) == len(held)
    for split in ("train", "val", "test"):
        for r in S.build_split(0, split, 600 if split == "train" else 150):
            assert not {(o["colour"], o["motion"]) for o in r["scene"]["objects"]} & held
    for r in S.build_split(0, "comp", 150):
        assert {(o["colour"], o["motion"]) for o in r["scene"]["objects"]} & held


def test_generate_files_deterministic(gen_dirs):
    a, b, c = gen_dirs
    meta = json.loads((a / "meta.json").read_text())
    assert meta["counts"] == SMALL and meta["seed"] == 0
    assert meta["answers"] == sorted(meta["answers"]) and meta["tokenizer"] == "tokenizer.json"
    assert (a / "tokenizer.json").read_bytes() == (b / "tokenizer.json").read_bytes()
    for split, n in SMALL.items():
        la = (a / f"{split}.jsonl").read_text().splitlines()
        assert la == (b / f"{split}.jsonl").read_text().splitlines()
        assert len(la) == n
        for line in la:
            r = json.loads(line)
            assert set(r) >= {"id", "split", "captions", "qa", "scene", "twin", "fps", "frames",
                              "width", "height"}
            assert (r["fps"], r["frames"], r["width"], r["height"]) == (8, 24, 128, 128)
            pa = a / "videos" / split / f"{r['id']}.mp4"
            pb = b / "videos" / split / f"{r['id']}.mp4"
            assert pa.stat().st_size > 1000
            assert pa.read_bytes() == pb.read_bytes()
    assert not list((a / "videos" / "train").glob(".tmp*"))
    ta = (a / "train.jsonl").read_text()
    assert ta != (c / "train.jsonl").read_text()
    assert (a / "videos/train/train-000000.mp4").read_bytes() != (c / "videos/train/train-000000.mp4").read_bytes()


def test_generate_is_restartable(gen_dirs, tmp_path):
    a, _, _ = gen_dirs
    meta = generate(tmp_path, 0, {"train": 6, "val": 0, "test": 0, "comp": 0}, workers=1, chunk=4,
                    progress=False)
    assert meta["timing"]["clips_written"] == 6
    p = tmp_path / "videos/train/train-000005.mp4"
    p.unlink()
    meta = generate(tmp_path, 0, {"train": 6, "val": 0, "test": 0, "comp": 0}, workers=1, chunk=4,
                    progress=False)
    assert meta["timing"]["clips_written"] == 2  # only the incomplete chunk is redone
    assert p.read_bytes() == (a / "videos/train/train-000005.mp4").read_bytes()
