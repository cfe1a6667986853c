"""Fit the Banzhaf predictor to a trained model's own similarity matrices, on exact targets (issue 15,
item 4).

    python -m hbi.train.banzhaf_fit --data .data/synthclips --package ../models/hbi-synth-tiny \
        --clips 2000 --out runs/banzhaf-fit/predictor.pt
    python -m hbi.eval.banzhaf_check --data .data/synthclips --package ../models/hbi-synth-tiny \
        --predictor runs/banzhaf-fit/predictor.pt --out runs/banzhaf-fit/check.json

The pre-trained predictor (hbi.train.banzhaf_pretrain) learns from synthetic random matrices with
100-sample Monte Carlo targets; on a trained model's matrices it is off by orders of magnitude
(model/RESULTS.md). This fits a `StandardisedBanzhafPredictor` instead: the matched pairs' matrices
of every level for the first --clips *train* clips (caption 0), read out of the package's own
interaction graph, each standardised (z = (m − μ)/σ over its valid cells) with its exact interaction
B(z) (`exact_banzhaf`, exact at every deployed shape) as the target. Each level's loss is divided by
the mean square of its targets, so every level counts alike (the check reports relative RMS per
level). The check then runs on *test* clips: held-out clips, same model.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from hbi.eval.banzhaf_check import LEVELS, exact_banzhaf, model_matrices
from hbi.model.banzhaf import StandardisedBanzhafPredictor

KIND = "standardised"


def standardised_examples(mats: dict[str, list[np.ndarray]]) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Per level: (z, exact B(z)) for every matrix, z standardised over its cells (float64)."""
    out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for lvl, lst in mats.items():
        rows = []
        for m in lst:
            z = (m - m.mean()) / max(float(m.std()), 1e-6)
            rows.append((z, exact_banzhaf(z)))
        out[lvl] = rows
    return out


def fit(examples: dict[str, list[tuple[np.ndarray, np.ndarray]]], steps: int = 3000, batch: int = 64, lr: float = 3e-3,
        seed: int = 0, held_out: float = 0.1) -> tuple[StandardisedBanzhafPredictor, dict]:
    """MSE on B(z) / z_scale, each level weighted by 1 / its targets' mean square; batches of one shape
    (padding-free). Returns the predictor and its held-out relative RMS on B(z) per level."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = StandardisedBanzhafPredictor()
    train: dict[tuple[str, int, int], list] = {}
    held: dict[str, list] = {}
    weight: dict[str, float] = {}
    all_targets = []
    for lvl, rows in examples.items():
        order = rng.permutation(len(rows))
        cut = int(len(rows) * held_out)
        held[lvl] = [rows[i] for i in order[:cut]]
        weight[lvl] = 1.0 / max(float(np.mean(np.concatenate([b.ravel() for _, b in rows]) ** 2)), 1e-12)
        for i in order[cut:]:
            z, b = rows[i]
            train.setdefault((lvl, *z.shape), []).append((z, b))
            all_targets.append(b.ravel())
    z_scale = float(np.sqrt(np.mean(np.concatenate(all_targets) ** 2))) or 1.0
    net.z_scale.fill_(z_scale)
    groups = list(train.items())
    sizes = np.array([len(g) for _, g in groups], np.float64)
    opt = torch.optim.AdamW(net.net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    bar = tqdm(range(steps), desc="banzhaf fit", dynamic_ncols=True, mininterval=5, file=sys.stderr)
    running = None
    for _ in bar:
        (lvl, _, _), rows = groups[int(rng.choice(len(groups), p=sizes / sizes.sum()))]
        pick = rng.choice(len(rows), size=min(batch, len(rows)), replace=False)
        z = torch.from_numpy(np.stack([rows[i][0] for i in pick])).float()
        b = torch.from_numpy(np.stack([rows[i][1] for i in pick])).float()
        ones_w, ones_f = torch.ones(z.shape[:2]), torch.ones(z.shape[0], z.shape[2])
        loss = weight[lvl] * F.mse_loss(net.predict_z(z, ones_w, ones_f), b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running = float(loss) if running is None else 0.98 * running + 0.02 * float(loss)
        bar.set_postfix(loss=f"{running:.3f}", refresh=False)
    bar.close()
    net.eval()
    report: dict = {"steps": steps, "batch": batch, "lr": lr, "seed": seed, "z_scale": z_scale, "train_loss": running, "held_out": {}}
    with torch.no_grad():
        for lvl, rows in held.items():
            if not rows:
                continue
            err = ref = 0.0
            for z, b in rows:
                zt = torch.from_numpy(z).float()[None]
                p = net.predict_z(zt, torch.ones(1, z.shape[0]), torch.ones(1, z.shape[1]))[0].double().numpy()
                err += float(((p - b) ** 2).sum())
                ref += float((b**2).sum())
            report["held_out"][lvl] = {"matrices": len(rows), "rel_rms_on_z": math.sqrt(err / max(ref, 1e-300))}
    return net, report


def save(net: StandardisedBanzhafPredictor, report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"kind": KIND, "state": net.state_dict(), "report": report}, path)


def load(path: Path) -> StandardisedBanzhafPredictor | None:
    """The fitted predictor saved at `path`, or None when the file holds a plain BanzhafPredictor."""
    blob = torch.load(path, map_location="cpu", weights_only=False)
    if not (isinstance(blob, dict) and blob.get("kind") == KIND):
        return None
    net = StandardisedBanzhafPredictor()
    net.load_state_dict(blob["state"])
    return net.eval()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--package", required=True, help="model package whose interaction graph gives the matrices")
    ap.add_argument("--clips", type=int, default=2000, help="train clips (caption 0) whose matrices are fitted")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True, help="predictor file (.pt); the report goes beside it (.json)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    started = time.time()
    cache = out.parent / f"matrices-train-{args.clips}.npz"
    if cache.exists():
        z = np.load(cache)
        mats = {lvl: [z[f"{lvl}_{i}"] for i in range(args.clips)] for lvl in LEVELS}
    else:
        mats = model_matrices(Path(args.package), Path(args.data), "train", args.clips, out.parent)
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **{f"{lvl}_{i}": m for lvl, lst in mats.items() for i, m in enumerate(lst)})
    t0 = time.time()
    examples = standardised_examples(mats)
    exact_seconds = time.time() - t0
    net, report = fit(examples, steps=args.steps, seed=args.seed)
    report |= {"package": args.package, "clips": args.clips, "split": "train", "exact_seconds": round(exact_seconds, 1),
               "wall_seconds": round(time.time() - started, 1)}
    save(net, report, out)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
