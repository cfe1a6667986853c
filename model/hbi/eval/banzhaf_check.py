"""Banzhaf estimators against exact values on the shipped model's own similarity matrices (issue 15, item 4).

    python -m hbi.eval.banzhaf_check --data .data/synthclips --package ../models/hbi-synth-tiny [--clips 200]

**Exact values at every deployed shape.** Enumerating coalitions costs 2^(words+frames) value
evaluations: feasible for the action (≤ 11 words + 4 frames) and event (≤ 2 + 1) levels, not for the
entity level (up to 32 words + 8 frames). But the similarity game has structure that makes the exact
Banzhaf interaction cheap: for a word i and a frame j,

    B(i,j) = E_{F' ⊆ frames∖j} E_{W' ⊆ words∖i} [v(W'+i, F'+j) − v(W'+i, F') − v(W', F'+j) + v(W', F')]

(each player in with p = ½). Enumerate the ≤ 2^(T−1) frame subsets F'; for a fixed frame set F the
expectation over the random word set W' is closed-form: with a_t = max_{f∈F} m_tf and K = |W'| ~
Binomial(L−1, ½), the text→video half is E[(a_i + Σ_{t∈W'} a_t)/(1+K)] = Σ_k P(K=k)(a_i + k·ā)/(1+k)
(ā the mean of a over the other words), or P(K ≥ 1)·ā without i; the video→text half needs E[max of a
random subset] per frame column, which is Σ_r 2^(−r)·v_(r) over the column sorted descending (v_(r)
the r-th largest), plus 2^(−(L−1))·m_if with i forced in. `exact_banzhaf` does this in float64 and is
checked against full enumeration (`similarity_banzhaf_exact`) in tests/test_eval_banzhaf_check.py.

**The matrices.** The matched pair's word×frame cosine matrices at each level, on reconstructed
tokens — the matrices L_BI feeds to the predictor in training — read out of the package's
`interaction` graph (the tensor that its score pools at each level is exactly that matrix when the
graph is given one caption and its clip). Rows/columns: the valid words (BOS/EOS included, as the
model sees them) and frames of each level; merged levels have the DPC-KNN cluster counts.

**The estimators.** Monte Carlo (`similarity_banzhaf_mc`, p = ½) at 50, 100 and 500 samples, and the
prediction network. The network is not part of the package (training only); it is re-made here with
the shipped run's own deterministic pre-training (`banzhaf_pretrain.pretrain`, seed 0, the shipped
config's level shapes), or loaded with --predictor.

Error: relative RMS = sqrt(Σ (B̂ − B)²) / sqrt(Σ B²) over all cells of all matrices of a level (1.0 is
the error of predicting 0 everywhere). For the network also the error after the best single scale
factor per level and the correlation with the exact values.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from hbi.model.banzhaf import BanzhafPredictor, StandardisedBanzhafPredictor, similarity_banzhaf_exact_batch, similarity_banzhaf_mc

LEVELS = ("entity", "action", "event")


def _per_frame_set(m: np.ndarray, fset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a frame set F (bool [T]) and every word i: (E_{W'} v(W'+i, F), E_{W'} v(W', F)) → two [L]
    vectors, W' a random subset (p = ½) of the other words."""
    L = m.shape[0]
    if not fset.any():
        return np.zeros(L), np.zeros(L)
    n_o = L - 1
    k = np.arange(n_o + 1)
    pk = np.array([math.comb(n_o, int(x)) for x in k], np.float64) * 0.5**n_o  # P(|W'| = k)
    sub = m[:, fset]  # [L,F]
    a = sub.max(1)  # each word's best frame in F
    a_bar = (a.sum() - a) / n_o if n_o else np.zeros(L)  # mean over the other words
    t2v_in = a * (pk / (1.0 + k)).sum() + a_bar * (pk * k / (1.0 + k)).sum()
    t2v_out = (1.0 - 0.5**n_o) * a_bar
    # video→text: per frame column, E[max over a random subset of the other words], with/without word i
    order = np.argsort(-sub, axis=0, kind="stable")  # [L,F] rows by descending value
    v = np.take_along_axis(sub, order, 0)  # sorted column, v[r-1] = r-th largest
    w = 0.5 ** np.arange(1, L + 1)[:, None]
    prefix = np.vstack([np.zeros((1, sub.shape[1])), np.cumsum(w * v, 0)])  # prefix[r] = Σ_{s≤r} 2^-s v_s
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(1, L + 1)[:, None].repeat(sub.shape[1], 1), 0)  # 1-based rank of word i
    above = np.take_along_axis(prefix, rank - 1, 0)  # Σ over the words ranked above i
    here = np.take_along_axis(prefix, rank, 0)
    e_out = above + 2.0 * (prefix[-1][None] - here)  # the ranks below i move up by one
    e_in = above + sub * 0.5 ** (rank - 1)  # max(c, ·) is c once nothing above i is drawn
    return 0.5 * (t2v_in + e_in.mean(1)), 0.5 * (t2v_out + e_out.mean(1))


def exact_banzhaf(m: np.ndarray) -> np.ndarray:
    """Exact Banzhaf interaction of every (word i, frame j) of the similarity game on m [L,T] → [L,T].

    Same game as hbi.model.banzhaf.similarity_game: v(W,F) = ½[mean_{t∈W} max_{f∈F} m_tf +
    mean_{f∈F} max_{t∈W} m_tf], 0 when W or F is empty. Cost O(2^T·L·T·log L), float64."""
    m = np.asarray(m, np.float64)
    L, T = m.shape
    sets = ((np.arange(2**T)[:, None] >> np.arange(T)[None]) & 1).astype(bool)  # [2^T,T]
    g_in, g_out = np.zeros((2**T, L)), np.zeros((2**T, L))
    for s_ in range(2**T):
        g_in[s_], g_out[s_] = _per_frame_set(m, sets[s_])
    g = g_in - g_out  # [2^T,L]
    out = np.zeros((L, T))
    for j in range(T):
        without = np.flatnonzero(~sets[:, j])  # F' ⊆ frames∖j
        out[:, j] = (g[without | (1 << j)] - g[without]).mean(0)
    return out


def rel_rms(est: list[np.ndarray], exact: list[np.ndarray]) -> float:
    num = sum(float(((e - x) ** 2).sum()) for e, x in zip(est, exact))
    den = sum(float((x**2).sum()) for x in exact)
    return math.sqrt(num / max(den, 1e-300))


# ---------------------------------------------------------------- the package's level matrices
def level_matrix_graph(package: Path, out: Path) -> list[str]:
    """A copy of interaction.onnx that also outputs the per-level cosine matrices [Q,V,L,T] (the
    tensors pooled into each level's score). Returns their output names, entity → event."""
    import onnx

    model = onnx.load(str(package / "interaction.onnx"))
    consumers: dict[str, list] = {}
    for node in model.graph.node:
        for x in node.input:
            consumers.setdefault(x, []).append(node)
    # pool_from_matrix: s + (1 − fmask)·NEG → ReduceMax over T, and s + (1 − wmask)·NEG → ReduceMax over L.
    # Found by its consumers, not by the node that makes it: the exporter ends the cosine matrix with a Div
    # in the full model and with a Transpose when the graph has no reconstruction (row d, 2.2.0).
    found = []
    for node in model.graph.node:
        for name in node.output:
            adds = [c for c in consumers.get(name, []) if c.op_type == "Add"]
            if len(adds) == 2 and all(any(cc.op_type == "ReduceMax" for cc in consumers.get(a.output[0], [])) for a in adds):
                found.append(name)
    if len(found) != 3:
        raise RuntimeError(f"expected 3 level matrices in interaction.onnx, found {len(found)}")
    for name in found:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    onnx.save(model, str(out))
    return found


def level_counts(n_words: int, n_frames: int, cfg: dict) -> list[tuple[int, int]]:
    """Valid players (words, frames) at each level, as hbi.model.dpc_knn.cluster_counts makes them."""
    from hbi.model.hbi import level_capacity

    out = [(n_words, n_frames)]
    w, f = n_words, n_frames
    for k in range(2):
        wcap = max(1, math.ceil(level_capacity(cfg["max_words"], cfg["word_ratios"][:k]) * cfg["word_ratios"][k] - 1e-6))
        fcap = max(1, math.ceil(level_capacity(cfg["frames"], cfg["frame_ratios"][:k]) * cfg["frame_ratios"][k] - 1e-6))
        w = int(min(max(math.ceil(w * cfg["word_ratios"][k] - 1e-6), 1), wcap))
        f = int(min(max(math.ceil(f * cfg["frame_ratios"][k] - 1e-6), 1), fcap))
        out.append((w, f))
    return out


def model_matrices(package: Path, data: Path, split: str, clips: int, work: Path) -> dict[str, list[np.ndarray]]:
    """The matched pairs' cosine matrices at each level for the first `clips` clips of a split
    (caption 0), cut to the valid players."""
    import onnxruntime as ort

    from hbi.eval.binding import PackageScorer, load_records

    scorer = PackageScorer(package)
    cfg = scorer.manifest["config"]
    work.mkdir(parents=True, exist_ok=True)
    names = level_matrix_graph(package, work / "interaction-levels.onnx")
    sess = ort.InferenceSession(str(work / "interaction-levels.onnx"), providers=["CPUExecutionProvider"])
    records = load_records(data, split)[:clips]
    frames = np.load(data / "cache" / "T8_64" / f"{split}.npy", mmap_mode="r")[:clips]
    v = scorer.videos(np.ascontiguousarray(frames))
    t = scorer.texts([r["captions"][0] for r in records])
    out: dict[str, list[np.ndarray]] = {k: [] for k in LEVELS}
    for c in range(len(records)):
        res = sess.run(names, {"word_tokens": t["w"][c:c + 1], "word_weights": t["ww"][c:c + 1], "word_mask": t["wm"][c:c + 1],
                               "frame_tokens": v["f"][c:c + 1], "frame_weights": v["fw"][c:c + 1], "frame_mask": v["fm"][c:c + 1]})
        counts = level_counts(int(t["wm"][c].sum()), int(v["fm"][c].sum()), cfg)
        for lvl, mat, (nw, nf) in zip(LEVELS, res, counts):
            out[lvl].append(np.asarray(mat[0, 0, :nw, :nf], np.float64))
    return out


def predictor_for(cfg_dict: dict, path: Path | None) -> tuple[BanzhafPredictor | StandardisedBanzhafPredictor, dict]:
    from hbi.model.config import ModelConfig
    from hbi.train.banzhaf_pretrain import pretrain

    if path is not None and path.exists():
        from hbi.train.banzhaf_fit import load

        fitted = load(path)  # hbi.train.banzhaf_fit: standardised, fitted on a model's own matrices
        if fitted is not None:
            return fitted, {"loaded": str(path), "kind": "standardised"}
        net = BanzhafPredictor()
        net.load_state_dict(torch.load(path, map_location="cpu"))
        return net.eval(), {"loaded": str(path)}
    net, report = pretrain(ModelConfig.from_dict(cfg_dict))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), path)
    return net.eval(), report


@torch.no_grad()
def predict(net: BanzhafPredictor | StandardisedBanzhafPredictor, m: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(m.astype(np.float32))[None]
    wm, fm = torch.ones(1, m.shape[0]), torch.ones(1, m.shape[1])
    if isinstance(net, StandardisedBanzhafPredictor):  # its outputs are true interactions already
        return net(x, wm, fm)[0].double().numpy()
    return (net(x, wm, fm)[0] * net.target_scale).double().numpy()


def training_exact(mats: list[np.ndarray]) -> list[np.ndarray]:
    """The matrices padded into one batch and run through similarity_banzhaf_exact_batch, as in training."""
    lt, tv = max(m.shape[0] for m in mats), max(m.shape[1] for m in mats)
    x, wm, fm = torch.zeros(len(mats), lt, tv), torch.zeros(len(mats), lt), torch.zeros(len(mats), tv)
    for b, m in enumerate(mats):
        x[b, : m.shape[0], : m.shape[1]] = torch.from_numpy(m.astype(np.float32))
        wm[b, : m.shape[0]], fm[b, : m.shape[1]] = 1, 1
    out = similarity_banzhaf_exact_batch(x, wm, fm).numpy()
    return [out[b, : m.shape[0], : m.shape[1]] for b, m in enumerate(mats)]


def compare(mats: dict[str, list[np.ndarray]], net: BanzhafPredictor | StandardisedBanzhafPredictor, samples=(50, 100, 500), seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    report = {}
    for lvl, lst in mats.items():
        t0 = time.time()
        exact = [exact_banzhaf(m) for m in lst]
        row = {"matrices": len(lst), "shape_max": [max(m.shape[0] for m in lst), max(m.shape[1] for m in lst)],
               "players_max": max(sum(m.shape) for m in lst), "exact_seconds": round(time.time() - t0, 1),
               "exact_rms": math.sqrt(np.mean(np.concatenate([x.ravel() for x in exact]) ** 2))}
        for s in samples:
            est = [similarity_banzhaf_mc(torch.from_numpy(m), s, g).double().numpy() for m in lst]
            row[f"mc{s}_rel_rms"] = rel_rms(est, exact)
        pred = [predict(net, m) for m in lst]
        row["network_rel_rms"] = rel_rms(pred, exact)
        # what L_BI gets with --banzhaf-target exact: the batched interaction training computes
        t0 = time.time()
        batched = training_exact(lst)
        row["training_exact_seconds"] = round(time.time() - t0, 3)
        row["training_exact_rel_rms"] = rel_rms(batched, exact)
        # scale-free views (L_BI only uses softmax(B̂) over each row/column, so one common scale matters
        # less than the pattern): the error after the best single scale factor for the level, and the
        # correlation of predicted and exact values over all cells
        p_all, x_all = np.concatenate([q.ravel() for q in pred]), np.concatenate([x.ravel() for x in exact])
        scale = float((p_all * x_all).sum() / max((p_all**2).sum(), 1e-300))
        row["network_best_scale"] = scale
        row["network_rel_rms_at_best_scale"] = rel_rms([q * scale for q in pred], exact)
        row["network_correlation"] = float(np.corrcoef(p_all, x_all)[0, 1]) if len(x_all) > 1 and x_all.std() > 0 else float("nan")
        row["zero_rel_rms"] = 1.0
        report[lvl] = row
    return report


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--package", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--predictor", default=None, help="Banzhaf predictor state dict (made by pre-training when missing)")
    ap.add_argument("--samples", type=int, nargs="*", default=[50, 100, 500], help="Monte Carlo sample counts")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    package, data = Path(args.package), Path(args.data)
    work = Path(args.out).parent if args.out else Path("runs/banzhaf-check")
    cache = work / f"matrices-{args.split}-{args.clips}.npz"
    if cache.exists():
        z = np.load(cache)
        mats = {lvl: [z[f"{lvl}_{i}"] for i in range(args.clips)] for lvl in LEVELS}
    else:
        mats = model_matrices(package, data, args.split, args.clips, work)
        np.savez(cache, **{f"{lvl}_{i}": m for lvl, lst in mats.items() for i, m in enumerate(lst)})
    cfg = json.loads((package / "manifest.json").read_text())["config"]
    net, pre = predictor_for(cfg, Path(args.predictor) if args.predictor else None)
    report = {"split": args.split, "clips": args.clips, "predictor": pre, "levels": compare(mats, net, tuple(args.samples))}
    text = json.dumps(report, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return report


if __name__ == "__main__":
    main()
