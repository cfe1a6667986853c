"""The ablation ladder of model/RESULTS.md (issue 15, item 3): separately trained rows at the shipped
recipe and budget, then a table of R@1, twin accuracy and QA per row.

    python -m hbi.train.ablation --data .data/synthclips --out runs/ablation --rows a e --seeds 0 1 2
    python -m hbi.train.ablation --data .data/synthclips --out runs/ablation --table   # the table only

Rows (each a set of ModelConfig switches, hbi.model.config.ABLATIONS, on one recipe of hbi.train.recipes,
`--recipe`, default `shipped`; QA head and caption decoder included):

- ``a`` global embedding only (mean-pooled, CLIP4Clip-style); ``b`` + fine-grained token similarity at
  one level; ``c`` + the three-level hierarchy with DPC-KNN; ``d`` + the Banzhaf interaction;
  ``e`` full HBI (+ self-distillation and V2 reconstruction).
- ``a0`` and ``e0``: rows a and e with the recipe's ``-no-scene`` twin, without any ground-truth
  scene supervision.

Rows may be run one at a time, across sessions: each (row, seed) trains into OUT/<row>-s<seed>/ with
its output in train.log, then is exported to a package there and scored by hbi.eval.binding (twins);
OUT/<row>-s<seed>/row.json records the command, commit, seed, wall time, log and figures. A row with a
row.json is never trained again; one stopped half-way resumes from its last checkpoint, and one stopped
after training (OUT/<row>-s<seed>/progress.json records when it started and when training ended) goes on
with the export and the twin scoring; its wall time is training plus scoring, without the pause.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from hbi.provenance import git_commit

# key → (ablation switches, scene supervision, label)
ROWS: dict[str, tuple[str, bool, str]] = {
    "a": ("baseline", True, "(a) global embedding only"),
    "b": ("fine-grained", True, "(b) + fine-grained token similarity, one level"),
    "c": ("hierarchy", True, "(c) + three-level hierarchy, DPC-KNN"),
    "d": ("banzhaf", True, "(d) + Banzhaf interaction"),
    "e": ("full", True, "(e) full: + self-distillation, V2 reconstruction"),
    "a0": ("baseline", False, "(a) without ground-truth scene supervision"),
    "e0": ("full", False, "(e) without ground-truth scene supervision"),
}
TWIN_KINDS = ("motion", "order", "binding")


def row_recipe(key: str, recipe: str) -> str:
    """The recipe a row trains with: `recipe`, or its -no-scene twin for the rows without scene supervision."""
    return recipe if ROWS[key][1] else f"{recipe}-no-scene"


def train_command(data: str, run: Path, key: str, seed: int, extra: list[str], recipe: str = "shipped") -> list[str]:
    ablation = ROWS[key][0]
    return [sys.executable, "-m", "hbi.train.train", "--recipe", row_recipe(key, recipe), "--ablation", ablation, "--data", data,
            "--out", str(run), "--seed", str(seed), "--test", "--resume", *extra]


def figures(result: dict, binding: dict | None) -> dict:
    """The row's numbers: t2v R@1 (test, comp), QA overall / direction / order, twin accuracy per kind."""
    out: dict = {}
    for split in ("test", "comp"):
        res = result.get(split, {})
        qa = res.get("qa", {})
        by_type = qa.get("by_type", qa)
        twins = ((binding or {}).get(split) or {}).get("twins", {})
        out[split] = {"t2v_R@1": res.get("retrieval", {}).get("t2v", {}).get("R@1"),
                      "qa": qa.get("overall"), "qa_direction": by_type.get("direction"), "qa_order": by_type.get("order"),
                      **{f"twins_{k}": twins.get(k) for k in TWIN_KINDS}}
    return out


def run_row(data: str, out: Path, key: str, seed: int, extra: list[str], threads: int, recipe: str = "shipped") -> dict:
    run = out / f"{key}-s{seed}"
    done = run / "row.json"
    if done.exists():
        return json.loads(done.read_text())
    run.mkdir(parents=True, exist_ok=True)
    commit = git_commit()
    command = train_command(data, run, key, seed, extra, recipe)
    # progress.json: when the row started and when its training ended (epoch seconds), so a row stopped
    # after training (say in the twin scoring) resumes at export and keeps its true wall times
    state_path = run / "progress.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    state.setdefault("started", time.time())
    state_path.write_text(json.dumps(state) + "\n")
    with open(run / "train.log", "a") as log:
        if "trained" not in state:
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True)
            state["trained"] = time.time()
            state_path.write_text(json.dumps(state) + "\n")
        scoring = time.time()
        package = run / "package"
        for step in ([sys.executable, "-m", "hbi.export.package", "--run", str(run), "--checkpoint", "best.pt", "--data", data, "--out", str(package)],
                     [sys.executable, "-m", "hbi.eval.binding", "--data", data, "--package", str(package), "--threads", str(threads),
                      "--out", str(run / "binding.json")]):
            log.write(f"$ {' '.join(step)}\n")
            log.flush()
            subprocess.run(step, stdout=log, stderr=subprocess.STDOUT, check=True)
    result = json.loads((run / "result.json").read_text())
    binding = json.loads((run / "binding.json").read_text())
    row = {"row": key, "label": ROWS[key][2], "ablation": ROWS[key][0], "recipe": row_recipe(key, recipe), "seed": seed,
           "command": " ".join(["python", *command[1:]]), "expanded_command": result.get("expanded_command"),
           "git_commit": commit, "train_commit": result.get("git_commit"), "wall_seconds": round(state["trained"] - state["started"] + time.time() - scoring, 1),
           "train_wall_seconds": round(state["trained"] - state["started"], 1), "log": str(run / "train.log"), "best_step": result.get("best_step"),
           **figures(result, binding)}
    done.write_text(json.dumps(row, indent=2) + "\n")
    return row


RECORDED = ("row.json", "result.json", "binding.json", "log.jsonl", "progress.json")


def record_row(run: Path, dest: Path) -> Path:
    """Copies a finished row's record (row.json, result.json, binding.json, log.jsonl, progress.json and
    train.log with each progress bar reduced to its last state) into dest/<row>-s<seed>/ — small text
    files meant to be committed (model/ablation/), unlike the run folder's checkpoints."""
    target = dest / run.name
    target.mkdir(parents=True, exist_ok=True)
    for name in RECORDED:
        if (run / name).exists():
            (target / name).write_text((run / name).read_text())
    lines = [line.split("\r")[-1] for line in (run / "train.log").read_bytes().decode(errors="replace").split("\n")]
    (target / "train.log").write_text("\n".join(lines))
    return target


def fmt(values: list) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def table(rows: list[dict]) -> str:
    """Markdown table, one line per row key (seeds pooled as mean ± sd)."""
    by_key: dict[str, list[dict]] = {}
    for row in rows:
        by_key.setdefault(row["row"], []).append(row)
    lines = ["| row | seeds | test t2v R@1 | comp t2v R@1 | twins motion | twins order | twins binding | QA | QA direction | QA order | wall min / seed |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for key in ROWS:
        runs = by_key.get(key)
        if not runs:
            continue
        test = [r["test"] for r in runs]
        cells = [fmt([t["t2v_R@1"] for t in test]), fmt([r["comp"]["t2v_R@1"] for r in runs]),
                 *(fmt([t[f"twins_{k}"] for t in test]) for k in TWIN_KINDS),
                 fmt([t["qa"] for t in test]), fmt([t["qa_direction"] for t in test]), fmt([t["qa_order"] for t in test]),
                 fmt([r["wall_seconds"] / 60 for r in runs])]
        lines.append(f"| {ROWS[key][2]} | {', '.join(str(r['seed']) for r in runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def collect(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*-s*/row.json"))]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default="runs/ablation")
    ap.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    ap.add_argument("--recipe", default="shipped", help="the recipe every row trains with (hbi.train.recipes; rows a0/e0 its -no-scene twin)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="for rows a and e; the others run the first seed")
    ap.add_argument("--threads", type=int, default=2, help="threads of the twin scoring")
    ap.add_argument("--table", action="store_true", help="print the table of the finished rows and stop")
    ap.add_argument("--record", default="ablation", help="folder the finished rows' records are copied to, for committing (default: model/ablation)")
    ap.add_argument("extra", nargs="*", help="after --: more training flags for every row (e.g. -- --steps 300 for a smoke run)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if not args.table:
        for key in args.rows:
            seeds = args.seeds if key in ("a", "e") else args.seeds[:1]
            for seed in seeds:
                print(f"[ablation] row {key} seed {seed}: training (output in {out / f'{key}-s{seed}' / 'train.log'})", file=sys.stderr)
                row = run_row(args.data, out, key, seed, args.extra, args.threads, args.recipe)
                print(f"[ablation] row {key} seed {seed}: test t2v R@1 {row['test']['t2v_R@1']}, twins "
                      f"{[row['test'][f'twins_{k}'] for k in TWIN_KINDS]}, QA {row['test']['qa']}, {row['wall_seconds'] / 60:.1f} min", file=sys.stderr)
    rows = collect(out)
    for done in sorted(out.glob("*-s*/row.json")):
        record_row(done.parent, Path(args.record) / out.name)
    text = table(rows)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
