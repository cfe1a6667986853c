"""The exact Banzhaf interaction of the similarity game (closed form over word subsets) against full
enumeration, the level player counts against DPC-KNN's, and the level matrices read out of an
exported interaction graph against PyTorch's paired matrices."""
import numpy as np
import pytest
import torch

from hbi.eval.banzhaf_check import exact_banzhaf, level_counts, level_matrix_graph, rel_rms
from hbi.model.banzhaf import similarity_banzhaf_exact, similarity_banzhaf_mc
from hbi.model.config import TINY
from hbi.model.dpc_knn import cluster_counts
from hbi.model.hbi import HBIModel, level_capacity
from hbi.model.similarity import paired_matrix


@pytest.mark.parametrize("shape", [(1, 1), (2, 1), (1, 4), (3, 3), (6, 4), (11, 4), (2, 1), (9, 5)])
def test_exact_formula_equals_enumeration(shape):
    g = torch.Generator().manual_seed(sum(shape))
    m = torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1
    if shape[0] > 2:
        m[1] = m[0]  # tied words
    if shape[1] > 2:
        m[:, 2] = m[:, 1]  # tied frames
    want = similarity_banzhaf_exact(m).double().numpy()
    got = exact_banzhaf(m.numpy())
    assert np.abs(got - want).max() < 1e-6
    assert np.abs(want).max() > 1e-3


def test_monte_carlo_converges_to_the_exact_values():
    g = torch.Generator().manual_seed(0)
    m = torch.rand(20, 8, generator=g, dtype=torch.float64)  # 28 players: beyond enumeration
    exact = exact_banzhaf(m.numpy())
    errs = [rel_rms([similarity_banzhaf_mc(m, s, g).double().numpy()], [exact]) for s in (50, 3000)]
    assert errs[1] < errs[0] and errs[1] < 0.3


def test_level_counts_follow_dpc_knn():
    cfg = {"max_words": 32, "frames": 8, "word_ratios": [1 / 3, 1 / 6], "frame_ratios": [0.5, 0.25]}
    for nw in (3, 7, 12, 27, 32):
        want, w_mask, cap = [], torch.ones(1, nw), 32
        for r in cfg["word_ratios"]:
            c = max(1, int(np.ceil(cap * r - 1e-6)))
            n = int(cluster_counts(w_mask, r, c)[0])
            want.append(n)
            w_mask, cap = torch.ones(1, n), c
        got = level_counts(nw, 8, cfg)
        assert [w for w, _ in got[1:]] == want
        assert [f for _, f in got] == [8, 4, 1]
    assert level_capacity(32, cfg["word_ratios"][:1]) == 11


@pytest.mark.parametrize("reconstruction", [True, False], ids=["full", "no-reconstruction"])
def test_level_matrices_read_out_of_the_interaction_graph(tmp_path, reconstruction):
    import onnxruntime as ort

    from hbi.export.package import export_graphs

    torch.manual_seed(0)
    # without the reconstruction (row d of the ladder, the package 2.2.0) the exporter ends the cosine
    # matrix with another op than the full model's Div; both must be found
    model = HBIModel(TINY.replace(vocab_size=112, answers=28, caption=False, qa=False,
                                  reconstruction=reconstruction, self_distill=reconstruction)).eval()
    with torch.no_grad():  # open the reconstruction gates, as after training
        for lvl in model.level_modules if reconstruction else []:
            lvl.reconstruction.gate_w.fill_(0.7)
            lvl.reconstruction.gate_f.fill_(-0.4)
    export_graphs(model, tmp_path)
    names = level_matrix_graph(tmp_path, tmp_path / "levels.onnx")
    g = torch.Generator().manual_seed(2)
    w, f = torch.randn(1, 32, 128, generator=g), torch.randn(1, 8, 128, generator=g)
    wm = (torch.arange(32) < 13).float()[None]
    fm = torch.ones(1, 8)
    ww, fw = torch.softmax(torch.randn(1, 32, generator=g), -1) * wm, torch.softmax(torch.randn(1, 8, generator=g), -1)
    sess = ort.InferenceSession(str(tmp_path / "levels.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(names, {"word_tokens": w.numpy(), "word_weights": ww.numpy(), "word_mask": wm.numpy(),
                           "frame_tokens": f.numpy(), "frame_weights": fw.numpy(), "frame_mask": fm.numpy()})
    with torch.no_grad():
        words, frames = model.words_by_level(w, wm, ww, 3), model.frames_by_level(f, fm, fw, 3)
        counts = level_counts(13, 8, model.cfg.to_dict())
        for (wt, wmk, _), (ft, fmk, _), lvl, mat, (nw, nf) in zip(words, frames, model.level_modules, got, counts):
            rw, rf = lvl.reconstruction.paired(wt, wmk, ft, fmk) if reconstruction else (wt, ft)
            want = paired_matrix(rw, rf)[0, :nw, :nf].numpy()
            assert int(wmk.sum()) == nw and int(fmk.sum()) == nf
            assert np.abs(mat[0, 0, :nw, :nf] - want).max() < 1e-4


def test_a_fitted_standardised_predictor_learns_exact_interactions_at_any_spread(tmp_path):
    from hbi.eval.banzhaf_check import compare, predictor_for
    from hbi.train.banzhaf_fit import fit, save, standardised_examples

    rng = np.random.default_rng(0)
    # matrices like a trained model's: a narrow spread around an offset, and one word that best matches
    # one frame (what makes the interaction), at three shapes
    def matrices(n, lt, tv, spread):
        out = []
        for _ in range(n):
            m = 0.3 + spread * rng.standard_normal((lt, tv)) * 0.3
            m[rng.integers(lt), rng.integers(tv)] += spread
            out.append(m)
        return out

    mats = {"entity": matrices(80, 6, 4, 0.02), "action": matrices(80, 4, 2, 0.05), "event": matrices(80, 2, 2, 0.3)}
    net, report = fit(standardised_examples(mats), steps=250, batch=32)
    assert set(report["held_out"]) == set(mats)
    save(net, report, tmp_path / "p.pt")
    loaded, info = predictor_for({}, tmp_path / "p.pt")
    assert info["kind"] == "standardised"
    test = {k: v[:30] for k, v in {"entity": matrices(30, 6, 4, 0.01), "action": matrices(30, 4, 2, 0.1), "event": matrices(30, 2, 2, 0.6)}.items()}
    levels = compare(test, loaded, samples=(50,))
    # far better than predicting zero at every level, though the spreads differ from those it was fitted on
    assert all(levels[lvl]["network_rel_rms"] < 0.5 for lvl in test), {k: v["network_rel_rms"] for k, v in levels.items()}
