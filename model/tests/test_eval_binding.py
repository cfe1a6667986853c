"""Evaluation that sees binding and time: oracle readers, expected R@1 with ties, twins that differ in
exactly one factor, twin accuracy, the question-only baseline, restricted captions, manifest metrics."""
import json

import numpy as np
import pytest

from hbi.data import grammar as G
from hbi.data import scenes as S
from hbi.eval import binding as B


def scenes(n, comp=False, seed=0):
    return [S.sample_scene(np.random.default_rng([seed, 99, k]), comp) for k in range(n)]


def test_oracle_r1_counts_ties():
    assert B.oracle_r1(["a", "b", "c"]) == pytest.approx(100.0)
    assert B.oracle_r1(["a", "a", "b"]) == pytest.approx(100.0 * (0.5 + 0.5 + 1) / 3)
    assert B.oracle_r1(["a"] * 4) == pytest.approx(25.0)


def test_expected_r1_of_score_matrices():
    assert B.expected_r1(np.eye(5)) == pytest.approx(100.0)
    assert B.expected_r1(np.ones((4, 4))) == pytest.approx(25.0)  # all tied: 1 in 4
    s = np.eye(3)
    s[0, 1] = 2.0  # query 0 prefers clip 1
    s[2, 0] = 1.0  # query 2 ties with clip 0
    assert B.expected_r1(s) == pytest.approx(100.0 * (0 + 1 + 0.5) / 3)


def test_oracle_that_sees_everything_gets_100_and_readers_nest():
    sc = scenes(40)
    full = [B.reading(s, "full_size") for s in sc]
    keep = [i for i in range(len(sc)) if full.count(full[i]) == 1]
    assert B.oracle_r1([full[i] for i in keep]) == pytest.approx(100.0)
    # a reader that sees less can only tie more: static ≤ motion ≤ full ≤ full_size
    r = [B.oracle_r1([B.reading(s, name) for s in sc]) for name in ("static", "motion", "full", "full_size")]
    assert r == sorted(r)
    assert r[0] < 100.0


@pytest.mark.parametrize("comp", [False, True])
def test_twins_differ_in_exactly_one_factor(comp):
    made = {k: 0 for k in B.KINDS}
    for k, s in enumerate(scenes(60, comp)):
        for kind in B.KINDS:
            tw = B.make_kind_twin(s, kind, np.random.default_rng([k, B.KIND_CODES[kind]]), comp)
            if tw is None:
                continue
            twin, touched = tw
            made[kind] += 1
            diff = B.scene_differences(s, twin)
            assert diff and diff <= B.ALLOWED_DIFF[kind], (kind, diff)
            assert ("motion" in diff) if kind == "motion" else diff == B.ALLOWED_DIFF[kind]
            for i, (o, p) in enumerate(zip(s["objects"], twin["objects"])):
                if i not in touched:
                    assert o == p  # untouched objects are identical
            if kind == "motion":
                (i,) = touched
                o, p = s["objects"][i], twin["objects"][i]
                assert p["start"] == o["start"] and p["size"] == o["size"] and B._in_bounds(p)
            assert S._split_ok(twin, comp) and S._overlap_ok(twin["objects"], twin["n_steps"])
            # the twin's caption from the same text seed differs from the clip's
            rng = [1, 2, k, 1]
            assert G.captions(twin, np.random.default_rng(rng))[0] != G.captions(s, np.random.default_rng(rng))[0]
    assert all(n > 0 for n in made.values()), made
    frames = S.render(twin)  # a twin renders like any scene
    assert frames.shape == (S.FRAMES, S.H, S.W, 3)


def test_twin_accuracy_of_oracles():
    sc = scenes(40)
    pairs = {kind: [] for kind in B.KINDS}
    for k, s in enumerate(sc):
        for kind in B.KINDS:
            tw = B.make_kind_twin(s, kind, np.random.default_rng([k, 5]), False)
            if tw:
                pairs[kind].append((s, tw[0]))
    for kind, lst in pairs.items():
        assert B.oracle_twin_accuracy(lst, "full") == pytest.approx(100.0)  # sees every factor
    assert B.oracle_twin_accuracy(pairs["motion"], "static") == pytest.approx(50.0)  # blind to motion: all ties
    assert B.oracle_twin_accuracy(pairs["order"], "motion") == pytest.approx(50.0)  # blind to time
    assert B.oracle_twin_accuracy(pairs["order"], "full") == pytest.approx(100.0)


def test_twin_accuracy_counts_both_sides_and_ties():
    assert B.twin_accuracy([(1.0, 0.0, 1.0, 0.0)]) == pytest.approx(100.0)
    assert B.twin_accuracy([(0.0, 1.0, 1.0, 0.0)]) == pytest.approx(50.0)
    assert B.twin_accuracy([(1.0, 1.0, 0.0, 1.0)]) == pytest.approx(25.0)


def test_twin_sides_tell_the_video_encoder_from_the_text_encoder():
    # (s(c_a, a), s(c_a, b), s(c_b, b), s(c_b, a)): both captions prefer their own clip ...
    assert B.twin_sides([(1.0, 0.0, 1.0, 0.0)]) == {"video": pytest.approx(100.0), "text": pytest.approx(100.0)}
    # ... caption a scores both clips highest (a text-side scale effect): video side right, text side half
    sides = B.twin_sides([(0.9, 0.5, 0.4, 0.1)])
    assert sides["video"] == pytest.approx(100.0) and sides["text"] == pytest.approx(50.0)
    assert B.twin_sides([(0.5, 0.5, 0.5, 0.5)]) == {"video": pytest.approx(50.0), "text": pytest.approx(50.0)}


def test_question_only_baseline():
    train = [{"qa": [{"question": "q1", "answer": "yes", "type": "yesno"}]},
             {"qa": [{"question": "q1", "answer": "yes", "type": "yesno"}, {"question": "q2", "answer": "red", "type": "colour"}]},
             {"qa": [{"question": "q1", "answer": "no", "type": "yesno"}]}]
    test = [{"qa": [{"question": "q1", "answer": "yes", "type": "yesno"}, {"question": "q1", "answer": "no", "type": "yesno"},
                    {"question": "q2", "answer": "red", "type": "colour"}, {"question": "q3", "answer": "red", "type": "colour"}]}]
    r = B.question_only_baseline(train, test)
    assert r["overall"] == pytest.approx(75.0)  # q1 → yes (1 of 2), q2 → red, unseen q3 → colour's majority red
    assert r["by_type"] == {"yesno": pytest.approx(50.0), "colour": pytest.approx(100.0)}
    assert r["unseen_questions"] == 1


def test_restricted_captions_keep_the_structure_and_drop_one_kind():
    recs = S.build_split(0, "test", 40)
    seeds = B.unit_text_seeds(recs, 0, "test")
    vocab = set(G.VOCAB)
    motion_words = {w for ps in G.MOTION_PHRASES.values() for p in ps for w in p.split()} - {"the", "to", "in", "not", "does"}
    for rec, ts in zip(recs, seeds):
        assert G.captions(rec["scene"], np.random.default_rng(ts)) == rec["captions"]
        mo = B.restricted_caption(rec["scene"], np.random.default_rng(ts), "motion_only")
        oo = B.restricted_caption(rec["scene"], np.random.default_rng(ts), "order_only")
        for text in (mo, oo):
            assert set(G.words_of(text)) <= vocab
        assert not set(G.words_of(mo)) & (set(G.COLOURS) | {w for ws in G.SHAPE_WORDS.values() for w in ws})
        assert not set(G.words_of(oo)) & motion_words
        assert G.words_of(mo).count("object") == len(rec["scene"]["objects"])
        assert G.words_of(oo).count("acts") == len(rec["scene"]["objects"])
        # caption 0's connectives (then / while / after / first ...) are kept
        conn = {"then", "while", "as", "after", "first", "finally", "next", "same"}
        assert [w for w in G.words_of(rec["captions"][0]) if w in conn] == [w for w in G.words_of(mo) if w in conn]


def test_write_manifest_metrics(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"metrics": {"test": {"retrieval": {"t2v": {"R@1": 1.0}}}}, "files": {}}))
    res = {"test": {"twins": {"motion": 60.0, "order": 55.0, "binding": 90.0, "pairs": {"motion": 3}},
                    "ceilings": {"oracle_static": 63.0}, "restricted_captions_t2v_R@1": {"motion_only": 0.1}}}
    B.write_manifest_metrics(tmp_path, res)
    m = json.loads((tmp_path / "manifest.json").read_text())["metrics"]["test"]
    assert m["twins"] == {"motion": 60.0, "order": 55.0, "binding": 90.0}
    assert m["twin_pairs"] == {"motion": 3}
    assert m["ceilings"] == {"oracle_static": 63.0}
    assert m["retrieval"] == {"t2v": {"R@1": 1.0}}  # untouched
    assert m["restricted_retrieval"] == {"motion_only": {"t2v": {"R@1": 0.1}}}


def test_a_package_without_an_interaction_graph_scores_by_its_global_embeddings(tmp_path):
    import torch

    from hbi.data.tokenizer import build_tokenizer, encode_batch, save_tokenizer
    from hbi.export.package import export_graphs
    from hbi.model.config import ABLATIONS, PRESETS
    from hbi.model.hbi import HBIModel

    tok = build_tokenizer("a red circle moves left blue square stays in place small green cross fades away".split())
    torch.manual_seed(0)
    model = HBIModel(PRESETS["tiny"].replace(vocab_size=tok.get_vocab_size(), **ABLATIONS["baseline"])).eval()
    export_graphs(model, tmp_path)
    assert not (tmp_path / "interaction.onnx").exists()
    save_tokenizer(tok, tmp_path / "tokenizer.json")
    (tmp_path / "manifest.json").write_text(json.dumps({"dims": {"max_words": model.cfg.max_words}}))
    scorer = B.PackageScorer(tmp_path)
    assert scorer.global_only
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, model.cfg.frames, model.cfg.image_size, model.cfg.image_size, 3), dtype=np.uint8)
    texts = ["a red circle moves left", "a blue square stays in place"]
    v, t = scorer.videos(frames), scorer.texts(texts)
    got = scorer.scores(t, v)
    ids, mask, _ = encode_batch(scorer.tok, texts, model.cfg.max_words)
    with torch.no_grad():
        _, _, gv = model.encode_video(torch.from_numpy(frames), torch.ones(3, model.cfg.frames))
        _, _, gt = model.encode_text(torch.from_numpy(ids), torch.from_numpy(mask))
    want = (gt @ gv.T).numpy()
    assert got.shape == (2, 3) and np.allclose(got, want, atol=1e-4)
    assert np.allclose(scorer.paired(t, v, np.array([0, 1]), np.array([2, 0])), want[[0, 1], [2, 0]], atol=1e-4)
