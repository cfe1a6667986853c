"""Named training recipes: one place that says how the shipped model's stage 1 is trained, so the
shipped script, the ablation ladder and a hand-run experiment cannot drift apart.

    python -m hbi.train.train --recipe shipped --data DIR --out RUN [--seed 1] [--ablation baseline] ...

``--recipe NAME`` stands for the recipe's flags, placed before the others on the command line: a flag
given explicitly after it wins (argparse keeps the last value), so ``--recipe shipped --steps 300``
is the shipped recipe at 300 steps. ``shipped`` is the recipe of the package in models/: the
model that sees each frame's change to the next (issue 15), with exact Banzhaf targets for L_BI (2.1.0
is this recipe as it stands; 2.2.0 is it with ``--ablation banzhaf --threads 1``, row (d) of the ladder:
no self-distillation or reconstruction — see model/scripts/train-shipped.sh);
``motion`` is the same with the prediction network's targets (the package 2.0.0); ``static`` the package
before it (1.0.0, 2026-11-28), which saw frames only. ``<name>-no-scene`` is the same model and budget without
any ground-truth scene supervision (no scene losses, no frame pre-training on scene targets): what
real footage, which has no scene annotations, allows.
"""
from __future__ import annotations

# The package of 2026-11-28 (before issue 15): the VGG-style max-pool frame encoder with a pooled
# "what" path (it learns shape; the 4x4 patchify default does not at this budget), words merged to ~1/3
# then ~1/6 of the level below, frames 8 -> 4 -> 1 (a degenerate event level), 700 joint steps.
STATIC_ARCHITECTURE = ["--conv-stem", "maxpool", "--conv-channels", "32,64,128", "--conv-pooled",
                        "--word-ratios", "0.3333333333333333,0.16666666666666666", "--frame-ratios", "0.5,0.25"]
STATIC_BUDGET = ["--steps", "700", "--batch", "64", "--eval-every", "350", "--questions", "3", "--threads", "2"]
# The architecture of the packages since 2.0.0 (2026-12-06), which read motion and order (issue 15): the same encoder also sees each frame's change
# to the next sampled frame, frames 8 -> 4 -> 2 (a real event level), 1000 joint steps.
MOTION_ARCHITECTURE = ["--conv-stem", "maxpool", "--conv-channels", "32,64,128", "--conv-pooled",
                       "--word-ratios", "0.3333333333333333,0.16666666666666666", "--frame-ratios", "0.5,0.5",
                       "--motion-input", "diff"]
MOTION_BUDGET = ["--steps", "1000", "--batch", "64", "--eval-every", "500", "--questions", "3", "--threads", "2"]
# Ground-truth scene supervision: the scene losses (over the objects that are there) and 300 steps of
# frame pre-training on the per-frame scene targets (with a diff motion input, the change targets too).
SCENE = ["--scene-aux", "--scene-present-only", "--frame-pretrain", "300"]
# L_BI's target: the exact Banzhaf interaction, standardised per matrix, instead of the prediction
# network's (model/RESULTS.md, "exact targets, trained": test R@1 83.4 vs 79.2, binding twins 91.9 vs 76.9)
EXACT_BANZHAF = ["--banzhaf-target", "exact"]

RECIPES: dict[str, list[str]] = {
    "shipped": MOTION_ARCHITECTURE + MOTION_BUDGET + EXACT_BANZHAF + SCENE,
    "shipped-no-scene": MOTION_ARCHITECTURE + MOTION_BUDGET + EXACT_BANZHAF,
    "motion": MOTION_ARCHITECTURE + MOTION_BUDGET + SCENE,
    "motion-no-scene": MOTION_ARCHITECTURE + MOTION_BUDGET,
    "static": STATIC_ARCHITECTURE + STATIC_BUDGET + SCENE,
    "static-no-scene": STATIC_ARCHITECTURE + STATIC_BUDGET,
}


def expand(argv: list[str]) -> list[str]:
    """`argv` with each ``--recipe NAME`` (or ``--recipe=NAME``) replaced by the recipe's flags, moved
    to the front so that explicit flags override them; SystemExit naming the recipes on an unknown one."""
    recipe: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--recipe" or arg.startswith("--recipe="):
            name = arg.split("=", 1)[1] if "=" in arg else (argv[i + 1] if i + 1 < len(argv) else "")
            i += 1 if "=" in arg else 2
            if name not in RECIPES:
                raise SystemExit(f"unknown --recipe {name!r}: use one of {', '.join(sorted(RECIPES))}")
            recipe += RECIPES[name]
            continue
        rest.append(arg)
        i += 1
    return recipe + rest
