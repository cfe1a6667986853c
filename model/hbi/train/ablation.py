"""The ablation ladder of model/RESULTS.md: every row trained with the same budget, then a table.

    python -m hbi.train.ablation --data DIR --out runs/ablation [--steps 300] [--seeds 0 1 2]

Rows: baseline (global mean-pooled embeddings, CLIP4Clip-style) → +fine-grained interaction →
+hierarchy → +Banzhaf KL → +reconstruction (full HBI). The first and last rows run for every seed,
the middle rows for the first seed. Runs that already have a result.json are reused (resumable).
Retrieval only (no QA/caption heads) to keep the ladder affordable on a CPU; checkpoints are chosen
on val, numbers are reported on test-1k and comp-1k.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from hbi.train import train

ROWS = [("baseline", "baseline"), ("fine-grained", "+ fine-grained interaction"), ("hierarchy", "+ hierarchy (action/event levels)"),
        ("banzhaf", "+ Banzhaf KL"), ("full", "+ reconstruction (full HBI)")]
METRICS = ("R@1", "R@5", "R@10", "MdR", "MnR")


def fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def table(results: dict[str, list[dict]]) -> str:
    lines = []
    for split, title in (("test", "test-1k"), ("comp", "compositional-1k")):
        lines += [f"**{title}**", "", "| configuration | seeds | t2v R@1 | t2v R@5 | t2v R@10 | t2v MdR | t2v MnR | v2t R@1 | v2t R@5 | v2t R@10 |", "|---|---|---|---|---|---|---|---|---|---|"]
        for key, label in ROWS:
            runs = results.get(key, [])
            if not runs:
                continue
            t2v = [r[split]["retrieval"]["t2v"] for r in runs]
            v2t = [r[split]["retrieval"]["v2t"] for r in runs]
            cells = [fmt([m[k] for m in t2v]) for k in METRICS] + [fmt([m[k] for m in v2t]) for k in ("R@1", "R@5", "R@10")]
            lines.append(f"| {label} | {len(runs)} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default="runs/ablation")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    out = Path(args.out)
    results: dict[str, list[dict]] = {}
    for key, _ in ROWS:
        seeds = args.seeds if key in ("baseline", "full") else args.seeds[:1]
        for seed in seeds:
            run = out / f"{key}-s{seed}"
            if not (run / "result.json").exists():
                train.main(["--data", args.data, "--out", str(run), "--ablation", key, "--no-heads", "--steps", str(args.steps), "--batch", str(args.batch),
                            "--seed", str(seed), "--eval-every", str(max(1, args.steps // 3)), "--threads", str(args.threads), "--test"])
            results.setdefault(key, []).append(json.loads((run / "result.json").read_text()))
            (out / "table.md").write_text(table(results))
    (out / "summary.json").write_text(json.dumps({k: [{s: r[s]["retrieval"] for s in ("test", "comp")} | {"seed": r["seed"], "train_seconds": r["train_seconds"]} for r in v] for k, v in results.items()}, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
