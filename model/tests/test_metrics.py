"""Tests for hbi.eval.metrics: retrieval, QA and captioning metrics.

Captioning scores are checked against pycocoevalcap 1.2 (the COCO caption evaluation
code) on captions drawn from a small seeded grammar, plus edge cases. Tests that need
Java (METEOR jar, PTB tokenizer) are skipped when ``java`` is not on PATH.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import threading
import zipfile

import numpy as np
import pytest
import torch

from hbi.eval.captioning import _lcs_len
from hbi.eval.metrics import (
    METEOR_1_5,
    METEOR_2005,
    bleu,
    caption_metrics,
    cider_d,
    meteor,
    qa_accuracy,
    ranks_of_correct,
    retrieval_metrics,
    rouge_l,
    t2v_v2t,
    tokenize,
)

pycoco = pytest.importorskip("pycocoevalcap")
from pycocoevalcap.bleu.bleu import Bleu  # noqa: E402
from pycocoevalcap.cider.cider import Cider  # noqa: E402
from pycocoevalcap.rouge.rouge import Rouge  # noqa: E402

HAS_JAVA = shutil.which("java") is not None
needs_java = pytest.mark.skipif(not HAS_JAVA, reason="java not installed")


# --------------------------------------------------------------------------- caption grammar

_SUBJ = ["a man", "a woman", "a dog", "a cat", "a boy", "a girl", "a chef", "a player",
         "the man", "the woman", "a horse", "a bird"]
_VERB = ["is riding", "is holding", "is throwing", "is cooking", "is painting", "is pushing",
         "is carrying", "is watching", "is cleaning", "is eating"]
_OBJ = ["a ball", "a bike", "a cake", "the ball", "a box", "a guitar", "a kite", "a book",
        "a red ball", "a small box", "a blue kite", "a green book"]
_PP = ["in a kitchen", "on a street", "in a park", "on a table", "at the beach", "with a friend",
       "in the snow", "on a beach", "near a tree", "under a bridge"]


def _sentence(rng: random.Random) -> str:
    s = f"{rng.choice(_SUBJ)} {rng.choice(_VERB)} {rng.choice(_OBJ)}"
    u = rng.random()
    if u < 0.6:
        s += " " + rng.choice(_PP)
    if u < 0.2:
        s += " " + rng.choice(_PP)
    return s


def _perturb(rng: random.Random, s: str) -> str:
    w = s.split()
    u = rng.random()
    if u < 0.3 and len(w) > 3:
        del w[rng.randrange(len(w))]
    elif u < 0.6:
        i, j = rng.randrange(len(w)), rng.randrange(len(w))
        w[i], w[j] = w[j], w[i]
    elif u < 0.8:
        w.insert(rng.randrange(len(w) + 1), rng.choice(["a", "the", "big", "ball", "on"]))
    return " ".join(w)


def make_corpus(seed: int, n_items: int, max_refs: int = 5, fixed_refs: bool = False):
    """gts {i: [refs]}, res {i: hyp}: 1..max_refs references built around a base
    sentence; hypotheses are 5 % empty, 10 % copies of a reference, 45 % perturbed
    references, 40 % unrelated sentences."""
    rng = random.Random(seed)
    gts, res = {}, {}
    for i in range(n_items):
        base = _sentence(rng)
        k = max_refs if fixed_refs else rng.randint(1, max_refs)
        refs = [base] + [_perturb(rng, base) if rng.random() < 0.5 else _sentence(rng) for _ in range(k - 1)]
        u = rng.random()
        if u < 0.05:
            hyp = ""
        elif u < 0.15:
            hyp = rng.choice(refs)
        elif u < 0.6:
            hyp = _perturb(rng, rng.choice(refs))
        else:
            hyp = _sentence(rng)
        gts[i], res[i] = refs, hyp
    return gts, res


def _listify(res):
    return {k: [v] for k, v in res.items()}


# The full METEOR jar (pycocoevalcap's Meteor()) needs ~25 s to load its paraphrase and
# synonym tables. When its test is selected, it is started in a background thread at the
# first test of this module, so that the loading overlaps with the other tests.
_FULL_METEOR_TEST = "test_meteor_close_to_pycocoevalcap_meteor"
_full_meteor: dict = {}


def _full_meteor_job() -> None:
    try:
        from pycocoevalcap.meteor.meteor import Meteor

        gts, res = make_corpus(0, 300)
        _full_meteor["result"] = Meteor().compute_score(gts, _listify(res))
    except BaseException as e:  # re-raised in the test
        _full_meteor["error"] = e


@pytest.fixture(scope="module", autouse=True)
def _start_full_meteor_early(request):
    if HAS_JAVA and any(item.name == _FULL_METEOR_TEST for item in request.session.items):
        t = threading.Thread(target=_full_meteor_job, daemon=True)
        t.start()
        _full_meteor["thread"] = t
    yield


# --------------------------------------------------------------------------- retrieval

SIM = np.array([
    [0.9, 0.1, 0.5, 0.2],   # gt 0: best                      -> rank 1
    [0.3, 0.3, 0.8, 0.3],   # gt 1: one higher, two tied      -> 2 (pessimistic 4)
    [0.1, 0.2, 0.3, 0.4],   # gt 0: worst                     -> 4
    [0.5, 0.6, 0.7, 0.7],   # gt 3: tied with column 2        -> 1 (pessimistic 2)
])
GT = np.array([0, 1, 0, 3])


def test_retrieval_hand_example():
    np.testing.assert_array_equal(ranks_of_correct(SIM, GT), [1, 2, 4, 1])
    m = retrieval_metrics(SIM, GT)
    assert m == {"R@1": 50.0, "R@5": 100.0, "R@10": 100.0, "MdR": 1.5, "MnR": 2.0}
    assert retrieval_metrics(SIM, GT, ks=(1, 2, 3))["R@2"] == 75.0
    assert retrieval_metrics(SIM, GT, ks=(1, 2, 3))["R@3"] == 75.0


def test_retrieval_ties_pessimistic():
    np.testing.assert_array_equal(ranks_of_correct(SIM, GT, ties="pessimistic"), [1, 4, 4, 2])
    m = retrieval_metrics(SIM, GT, ties="pessimistic")
    assert m["R@1"] == 25.0 and m["MdR"] == 3.0 and m["MnR"] == 2.75
    # a collapsed model: all similarities equal
    flat = np.zeros((5, 5))
    assert retrieval_metrics(flat, np.arange(5))["R@1"] == 100.0
    assert retrieval_metrics(flat, np.arange(5), ties="pessimistic")["MnR"] == 5.0


def test_retrieval_matches_argsort_and_accepts_torch():
    rng = np.random.default_rng(0)
    sim = rng.standard_normal((300, 250))
    gt = rng.integers(0, 250, 300)
    order = np.argsort(-sim, axis=1)
    expected = np.array([np.flatnonzero(order[i] == gt[i])[0] + 1 for i in range(300)])
    np.testing.assert_array_equal(ranks_of_correct(sim, gt), expected)
    m = retrieval_metrics(torch.from_numpy(sim).float(), torch.from_numpy(gt))
    assert m["MnR"] == pytest.approx(expected.mean())
    assert m["R@5"] == pytest.approx(100 * np.mean(expected <= 5))
    # identity similarity: perfect retrieval
    assert retrieval_metrics(np.eye(7), np.arange(7)) == {"R@1": 100.0, "R@5": 100.0, "R@10": 100.0,
                                                          "MdR": 1.0, "MnR": 1.0}


def test_retrieval_validation():
    with pytest.raises(ValueError):
        retrieval_metrics(np.array([[np.nan, 0.0]]), np.array([0]))
    with pytest.raises(ValueError):
        retrieval_metrics(SIM, np.array([0, 1, 2, 4]))
    with pytest.raises(ValueError):
        retrieval_metrics(SIM, GT[:3])
    with pytest.raises(ValueError):
        retrieval_metrics(SIM, GT, ties="random")


def test_t2v_v2t_multi_caption():
    # texts 0,1 -> video 0; text 2 -> video 1; texts 3,4 -> video 2
    t2v_idx = np.array([0, 0, 1, 2, 2])
    sim = np.array([
        [0.9, 0.1, 0.2],
        [0.2, 0.8, 0.1],
        [0.3, 0.7, 0.6],
        [0.1, 0.2, 0.3],
        [0.5, 0.4, 0.35],
    ])
    out = t2v_v2t(sim, t2v_idx)
    # t2v ranks: [1, 2, 1, 1, 3]
    assert out["t2v"] == {"R@1": 60.0, "R@5": 100.0, "R@10": 100.0, "MdR": 1.0, "MnR": 1.6}
    # v2t: v0 best correct text t0 (0.9) -> 1; v1: t2 (0.7) below t1 (0.8) -> 2;
    # v2: best correct t4 (0.35) below t2 (0.6) -> 2 (t3, also correct, does not count)
    assert out["v2t"]["R@1"] == pytest.approx(100 / 3)
    assert out["v2t"]["MdR"] == 2.0 and out["v2t"]["MnR"] == pytest.approx(5 / 3)
    # pessimistic ties: a wrong text tied with the best correct one counts
    sim2 = sim.copy()
    sim2[1, 2] = 0.35
    assert t2v_v2t(sim2, t2v_idx)["v2t"]["MnR"] == pytest.approx(5 / 3)
    assert t2v_v2t(sim2, t2v_idx, ties="pessimistic")["v2t"]["MnR"] == pytest.approx(6 / 3)
    with pytest.raises(ValueError):  # video 2 has no text
        t2v_v2t(sim, np.array([0, 0, 1, 1, 1]))


def test_t2v_v2t_one_text_per_video_is_transpose():
    rng = np.random.default_rng(1)
    sim = rng.standard_normal((40, 40))
    out = t2v_v2t(sim, np.arange(40))
    assert out["t2v"] == retrieval_metrics(sim, np.arange(40))
    assert out["v2t"] == retrieval_metrics(sim.T, np.arange(40))


# --------------------------------------------------------------------------- QA


def test_qa_accuracy_by_type():
    pred = ["Red", "two", "a dog", "yes", "3", "blue "]
    gold = ["red", "three", "a  dog", "no", "3", "Blue"]
    types = ["color", "count", "what", "yesno", "count", "color"]
    out = qa_accuracy(pred, gold, types)
    assert out["overall"] == pytest.approx(100 * 4 / 6)
    assert out["by_type"] == {"color": 100.0, "count": 50.0, "what": 100.0, "yesno": 0.0}
    assert out["counts"]["total"] == 6 and out["counts"]["correct"] == 4
    assert out["counts"]["by_type"]["count"] == {"total": 2, "correct": 1}
    strict = qa_accuracy(pred, gold, types, normalize=False)
    assert strict["overall"] == pytest.approx(100 * 1 / 6)  # only "3"
    with pytest.raises(ValueError):
        qa_accuracy(pred, gold[:-1], types)
    assert np.isnan(qa_accuracy([], [], [])["overall"])


# --------------------------------------------------------------------------- tokenizer and LCS


def test_tokenize_examples_and_idempotence():
    cases = {
        "A man is riding a horse.": "a man is riding a horse",
        "The dog's ball, red; blue: green!": "the dog 's ball red blue green",
        "They don't like \"quoted\" words": "they do n't like quoted words",
        "Two people -- walking (slowly) on the U.S. road...": "two people walking -lrb- slowly -rrb- on the u.s. road",
        "a cat  sits   on a mat .": "a cat sits on a mat",
        "": "",
    }
    for raw, tok in cases.items():
        assert tokenize(raw) == tok
        assert tokenize(tok) == tok


@needs_java
def test_tokenize_matches_ptbtokenizer():
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    gts, _ = make_corpus(7, 20)
    caps = [s.capitalize() + p for refs in gts.values() for s, p in zip(refs, [".", "", " .", "!", "?"])]
    caps += ["A 3.5 inch screen & $5 bill", "she said: 'hello' - bye", "The kids' toys", "Hello!!! What?!",
             "We're here, you've seen; I'll go, he'd know, I'm ok.", "Mr. Smith is here.", "cannot gonna",
             "a red-and-white bus", "e.g. this, i.e. that", "A man with a hat/cap", "a cat with a.",
             "St. Louis", "the dr. said"]
    out = PTBTokenizer().tokenize({i: [{"caption": c}] for i, c in enumerate(caps)})
    for i, c in enumerate(caps):
        assert tokenize(c) == out[i][0], c


def _lcs_dp(a, b):
    t = np.zeros((len(a) + 1, len(b) + 1), int)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            t[i, j] = t[i - 1, j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1, j], t[i, j - 1])
    return t[-1, -1]


def test_bit_parallel_lcs_matches_dp():
    rng = random.Random(0)
    for _ in range(300):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 15))]
        b = [rng.choice("abcde") for _ in range(rng.randint(0, 15))]
        assert _lcs_len(a, b) == _lcs_dp(a, b)


# --------------------------------------------------------------------------- pycocoevalcap agreement


def _check_against_coco(gts, res, tol=1e-9):
    ref_bleu, ref_bleu_items = Bleu(4).compute_score(gts, _listify(res), verbose=0)
    b, b_items = bleu(gts, res, per_item=True, tokenize=False)
    np.testing.assert_allclose(b, ref_bleu, rtol=0, atol=tol)
    np.testing.assert_allclose(b_items, np.array(ref_bleu_items).T, rtol=0, atol=tol)

    ref_rouge, ref_rouge_items = Rouge().compute_score(gts, _listify(res))
    r, r_items = rouge_l(gts, res, per_item=True, tokenize=False)
    assert r == pytest.approx(ref_rouge, abs=tol)
    np.testing.assert_allclose(r_items, ref_rouge_items, rtol=0, atol=tol)

    ref_cider, ref_cider_items = Cider().compute_score(gts, _listify(res))
    c, c_items = cider_d(gts, res, per_item=True, tokenize=False)
    assert c == pytest.approx(ref_cider, abs=tol)
    np.testing.assert_allclose(c_items, ref_cider_items, rtol=0, atol=tol)


@pytest.mark.parametrize("seed, n_items, max_refs", [(0, 300, 5), (1, 150, 2)])
def test_bleu_rouge_cider_match_pycocoevalcap(seed, n_items, max_refs):
    gts, res = make_corpus(seed, n_items, max_refs)
    _check_against_coco(gts, res)
    # our tokeniser leaves these strings unchanged, so the default path agrees too
    assert caption_metrics(gts, res)["CIDEr"] == pytest.approx(cider_d(gts, res, tokenize=False), abs=1e-12)


EDGE_CASES = {
    "empty_hyp": ({0: ["a man is riding a horse", "a person rides a horse"], 1: ["the dog runs"],
                   2: ["a cat is eating a cake"]},
                  {0: "", 1: "the dog runs fast", 2: "a cat is eating"}),
    "identical": ({0: ["a man is riding a horse"], 1: ["a dog is eating a cake", "the dog eats"],
                   2: ["a bird is on a tree"]},
                  {0: "a man is riding a horse", 1: "a dog is eating a cake", 2: "a bird is on a tree"}),
    "single_ref": ({0: ["a man is riding a horse"], 1: ["the dog runs in the park"], 2: ["two cats sleep"]},
                   {0: "a man rides a horse", 1: "the dog runs", 2: "a bird sings"}),
    "single_item": ({0: ["a man is riding a horse", "a man rides"]}, {0: "a man is riding"}),
    "all_empty": ({0: ["a man is riding a horse"], 1: ["the dog runs"]}, {0: "", 1: ""}),
    "one_word": ({0: ["dog"], 1: ["a cat"], 2: ["cat"]}, {0: "dog", 1: "cat", 2: "a"}),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases_match_pycocoevalcap(name):
    gts, res = EDGE_CASES[name]
    _check_against_coco(gts, res)


def test_edge_case_values():
    gts, res = EDGE_CASES["identical"]
    m = caption_metrics(gts, res)
    for k in ("BLEU-1", "BLEU-4", "METEOR", "ROUGE-L"):
        assert m[k] == pytest.approx(1.0, abs=1e-6), k
    gts, res = EDGE_CASES["all_empty"]
    m = caption_metrics(gts, res)
    assert all(v == 0.0 for v in m.values())
    assert cider_d(*EDGE_CASES["single_item"]) == 0.0  # idf is log(1) = 0 with one item
    with pytest.raises(ValueError):
        caption_metrics({0: ["a"]}, {1: "a"})
    with pytest.raises(ValueError):
        caption_metrics({0: []}, {0: "a"})


def test_caption_metrics_keys_and_raw_input():
    gts, res = make_corpus(3, 50)
    # (" ." rather than "." : PTB keeps "a." whole, like u.s. -- so does tokenize())
    raw_gts = {k: [s.capitalize() + " ." for s in v] for k, v in gts.items()}
    raw_res = {k: (v.upper() + " ." if v else v) for k, v in res.items()}
    a = caption_metrics(raw_gts, raw_res)
    b = caption_metrics(gts, res, tokenize=False)
    assert list(a) == ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"]
    for k in a:
        assert a[k] == pytest.approx(b[k], abs=1e-12)
    assert 0 < a["BLEU-4"] < a["BLEU-1"] < 1 and 0 < a["CIDEr"] < 10
    # one-element-list hypotheses (pycocoevalcap style) are accepted
    assert caption_metrics(gts, _listify(res), tokenize=False) == b
    m2005 = caption_metrics(gts, res, tokenize=False, meteor_params=METEOR_2005)["METEOR"]
    assert m2005 == pytest.approx(meteor(gts, res, tokenize=False, **METEOR_2005))


# --------------------------------------------------------------------------- METEOR


def test_meteor_hand_computed():
    gts, res = {0: ["a b x d e f"]}, {0: "a b c d e f"}
    # 5 matches in 2 chunks; with METEOR_1_5 "a" is a function word (weight 1-delta)
    p = (0.75 * 4 + 0.25 * 1) / (0.75 * 5 + 0.25 * 1)
    expected = p * (1 - 0.6 * (2 / 5) ** 0.2)
    assert meteor(gts, res) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.4066303113915869, abs=1e-12)  # the METEOR 1.5 jar's value
    assert meteor(gts, res, **METEOR_2005) == pytest.approx(5 / 6 * (1 - 0.5 * 0.4 ** 3), abs=1e-12)
    # fewest chunks among maximal alignments: "the the man" vs "man the the" -> 2 chunks
    assert meteor({0: ["man the the"]}, {0: "the the man"}, **METEOR_2005) == pytest.approx(1 - 0.5 * (2 / 3) ** 3)
    assert meteor({0: ["a man rides"]}, {0: "a man rides"}) == 1.0
    assert meteor({0: ["a man rides"]}, {0: ""}) == 0.0
    # max over references
    assert meteor({0: ["x y z", "a man rides"]}, {0: "a man rides"}) == 1.0


def _jar_dir() -> str:
    import pycocoevalcap.meteor.meteor as pm

    return os.path.dirname(os.path.abspath(pm.__file__))


def _java_meteor_exact(gts, res, params: str):
    """METEOR 1.5 jar with only its exact module: (corpus score, item scores)."""
    cmd = ["java", "-Xmx1G", "-jar", "meteor-1.5.jar", "-", "-", "-stdio", "-l", "en", "-norm",
           "-m", "exact", "-p", params]
    p = subprocess.Popen(cmd, cwd=_jar_dir(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        ids = list(gts)
        p.stdin.write("".join(" ||| ".join(["SCORE", *gts[i], res[i]]) + "\n" for i in ids))
        p.stdin.flush()
        stats = [p.stdout.readline().strip() for _ in ids]
        p.stdin.write("EVAL ||| " + " ||| ".join(stats) + "\n")
        p.stdin.flush()
        items = np.array([float(p.stdout.readline()) for _ in ids])
        return float(p.stdout.readline()), items
    finally:
        p.stdin.close()
        p.wait(timeout=60)


def _jar_function_words() -> frozenset[str]:
    with zipfile.ZipFile(os.path.join(_jar_dir(), "meteor-1.5.jar")) as z:
        return frozenset(z.read("function/english.words").decode().split())


@needs_java
@pytest.mark.parametrize("preset", ["1.5", "2005"])
def test_meteor_equals_java_exact_module(preset):
    """Same alignment and scoring as the jar when the jar uses only exact matching.

    The jar's function-word list is read from the jar for this comparison. METEOR_2005
    (no function-word weighting) corresponds to the jar's delta = 0.5."""
    gts, res = make_corpus(0, 300)
    if preset == "1.5":
        kw, params = dict(METEOR_1_5, function_words=_jar_function_words()), "0.85 0.2 0.6 0.75"
    else:
        kw, params = METEOR_2005, "0.9 3.0 0.5 0.5"
    j_corpus, j_items = _java_meteor_exact(gts, res, params)
    ours, items = meteor(gts, res, tokenize=False, per_item=True, **kw)
    np.testing.assert_allclose(items, j_items, rtol=0, atol=1e-9)
    assert ours == pytest.approx(j_corpus, abs=1e-9)


@needs_java
@pytest.mark.slow
def test_meteor_close_to_pycocoevalcap_meteor():
    """Our exact-only METEOR (default METEOR_1_5, own function-word list) against
    pycocoevalcap's Meteor() (jar with stem/synonym/paraphrase modules).

    Measured on this corpus: corpus score 0.3053 (ours) vs 0.3067 (jar), difference
    -0.0014; mean |item difference| 0.0047, 79 % of items identical, largest item
    difference 0.13 (seeds 1 and 2: corpus -0.0012 / -0.0036, MAD 0.0027 / 0.0034).
    The differences come from the modules we do not implement (they add partial
    matches) and from the function-word lists. The asserted tolerance, 0.01 for the
    corpus difference and for the mean item difference, is ~3x the worst measured
    gap; the classic 2005 parameters (0.66 here) fail it by far.
    """
    thread = _full_meteor.get("thread")
    if thread is None:
        _full_meteor_job()
    else:
        thread.join(timeout=300)
    if "error" in _full_meteor:
        raise _full_meteor["error"]
    j_corpus, j_items = _full_meteor["result"]
    gts, res = make_corpus(0, 300)
    ours, items = meteor(gts, res, tokenize=False, per_item=True)
    mad = float(np.mean(np.abs(items - np.array(j_items))))
    print(f"\nMETEOR ours {ours:.4f} jar {j_corpus:.4f} diff {ours - j_corpus:+.4f}; item MAD {mad:.4f}")
    assert abs(ours - j_corpus) < 0.01
    assert mad < 0.01
    assert abs(meteor(gts, res, tokenize=False, **METEOR_2005) - j_corpus) > 0.2
