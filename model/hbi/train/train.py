"""Training: `python -m hbi.train.train --data DIR --out runs/NAME [--ablation full] [--steps N] ...`

Seeded, resumable (`--resume` continues from OUT/last.pt with optimiser, schedule and RNG state),
with a progress bar and a JSON-lines log (OUT/log.jsonl). The checkpoint kept as OUT/best.pt is the
one with the best *validation* score (never test). The learning-rate schedule (linear warm-up then
cosine) is derived from --steps, not hard-wired to an epoch count.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from hbi.data.dataset import load_meta
from hbi.data.negatives import KINDS as NEGATIVE_KINDS
from hbi.eval.evaluate import evaluate
from hbi.model.config import ABLATIONS, PRESETS, ModelConfig
from hbi.model.encoders import CONV_STEMS, MOTION_INPUTS
from hbi.train.recipes import RECIPES, expand
from hbi.model.hbi import BANZHAF_TARGETS, HBIModel
from hbi.provenance import git_commit
from hbi.train.banzhaf_pretrain import load_or_pretrain
from hbi.train.frame_pretrain import pretrain_frames
from hbi.train.batches import SCENE_GROUPS, frame_scene_groups, load_tokenised, make_batch, present_only_flags, twin_batches


def build_config(preset: str, ablation: str, vocab: int, answers: int, heads: bool) -> ModelConfig:
    return PRESETS[preset].replace(vocab_size=vocab, answers=answers, qa=heads, caption=heads, **ABLATIONS[ablation])


def _floats(text: str, flag: str, n: int | None = None) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in text.split(","))
    except ValueError:
        out = ()
    if not out or (n is not None and len(out) != n):
        raise SystemExit(f"{flag} expects {n or 'some'} comma-separated numbers, got {text!r}")
    return out


def arch_overrides(args: argparse.Namespace) -> dict:
    """The architecture flags given on the command line as ModelConfig changes (none: the preset)."""
    out: dict = {}
    if args.conv_stem:
        out["conv_stem"] = args.conv_stem
    if args.conv_channels:
        out["conv_channels"] = tuple(int(v) for v in _floats(args.conv_channels, "--conv-channels"))
    if args.conv_pooled:
        out["conv_pooled"] = True
    if args.motion_input:
        out["motion_input"] = args.motion_input
    if args.word_ratios:
        out["word_ratios"] = _floats(args.word_ratios, "--word-ratios", 2)
    if args.frame_ratios:
        out["frame_ratios"] = _floats(args.frame_ratios, "--frame-ratios", 2)
    if args.banzhaf_target:
        out["banzhaf_target"] = args.banzhaf_target
    if args.time_code:
        out["time_code"] = True
    return out


def param_groups(model: HBIModel, weight_decay: float, time_code_lr: float = 1.0) -> list[dict]:
    """AdamW groups: matrices decay, vectors do not; the time code (zero at the start) has its own group,
    without decay and with its rate scaled by `time_code_lr` (the group's ``lr_scale``, read by the loop)."""
    code = model.video.time_code
    rest = [p for p in model.parameters() if p.requires_grad and p is not code]
    groups = [{"params": [p for p in rest if p.ndim >= 2], "weight_decay": weight_decay},
              {"params": [p for p in rest if p.ndim < 2], "weight_decay": 0.0}]
    if code is not None:
        groups.append({"params": [code], "weight_decay": 0.0, "lr_scale": time_code_lr})
    return groups


def lr_at(step: int, total: int, base: float, warmup: float = 0.05) -> float:
    w = max(1, int(total * warmup))
    if step < w:
        return base * (step + 1) / w
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - w) / max(1, total - w))))


def parse_loss_weights(items: list[str]) -> dict[str, float]:
    """["qa=3", "caption=0.5"] → {"qa": 3.0, "caption": 0.5}; a malformed item is a usage error."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise SystemExit(f"--loss-weight expects NAME=NUMBER (e.g. qa=3), got {item!r}")
    return out


def check_init_keys(path: str, missing: list[str], unexpected: list[str]) -> None:
    """--init-from may lack only the auxiliary scene heads (--scene-aux on a checkpoint trained
    without them, which start fresh) and the time code (--time-code, which starts at zero); any other
    difference is a checkpoint that does not fit."""
    may_start_fresh = ("scene_head.", "frame_scene_head.", "video.time_code")
    if unexpected or any(not k.startswith(may_start_fresh) for k in missing):
        raise SystemExit(f"--init-from {path} does not fit this model: missing {missing}, unexpected {unexpected}")


def val_score(res: dict) -> float:
    """Model selection on validation: text→video R@1 plus QA accuracy when the QA head is trained."""
    return res["retrieval"]["t2v"]["R@1"] + res.get("qa", {}).get("overall", 0.0)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="synthclips folder (python -m hbi.data.synthclips)")
    ap.add_argument("--out", required=True, help="run folder: checkpoints, log.jsonl, result.json")
    ap.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    ap.add_argument("--ablation", default="full", choices=list(ABLATIONS))
    ap.add_argument("--no-heads", action="store_true", help="train retrieval only (no QA head, no caption decoder)")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--test", action="store_true", help="after training, evaluate best.pt on test and comp")
    ap.add_argument("--banzhaf-target", default=None, choices=BANZHAF_TARGETS, help="L_BI's target: network = the pre-trained prediction network (METHOD), exact = the exact interaction, standardised per matrix (default: the preset's, network)")
    ap.add_argument("--banzhaf-cache", default=None, help="pre-trained Banzhaf predictor file (made when missing)")
    ap.add_argument("--init-from", default=None, help="start from this checkpoint's weights and config (fresh optimiser and schedule): a fine-tuning stage")
    ap.add_argument("--loss-weight", action="append", default=[], metavar="NAME=W", help="scale one loss term (e.g. qa=3); repeatable")
    ap.add_argument("--questions", type=int, default=1, metavar="K", help="questions per clip in each batch for the QA loss (distinct, at random; 0: all of them)")
    ap.add_argument("--conv-stem", default=None, choices=CONV_STEMS, help="the tiny frame encoder's conv stack (default: the preset's)")
    ap.add_argument("--conv-channels", default=None, metavar="C1,C2,C3", help="channels of the conv stages (default: the preset's)")
    ap.add_argument("--conv-pooled", action="store_true", help="add the max-pooled conv map to each frame token")
    ap.add_argument("--motion-input", default=None, choices=MOTION_INPUTS, help="what the frame encoder sees besides each frame: diff = the change to the next sampled frame (default: the preset's, none)")
    ap.add_argument("--word-ratios", default=None, metavar="A,E", help="action and event clusters as fractions of the level below (default: the preset's)")
    ap.add_argument("--frame-ratios", default=None, metavar="A,E", help="the same for frames")
    ap.add_argument("--time-code", action="store_true", help="add a learned code per frame position to the frame tokens after the temporal transformer (zero at the start; also with --init-from)")
    ap.add_argument("--time-code-lr", type=float, default=1.0, metavar="X", help="the time code's learning rate as a multiple of --lr (it starts at zero and has no weight decay)")
    ap.add_argument("--frame-pretrain", type=int, default=0, metavar="N", help="with --scene-aux: first N steps of the frame encoder alone on the per-frame scene targets (single frames of 256 clips per step), then the joint training")
    ap.add_argument("--scene-present-only", action="store_true", help="with --scene-aux: average each object-attribute group over the objects that are there, not over every colour")
    ap.add_argument("--scene-aux", action="store_true", help="add the auxiliary scene losses: the pooled frame tokens predict each object's shape, motion, order and size, and each frame token what is visible where, from the ground-truth scene (training only)")
    ap.add_argument("--hard-negatives", default="", metavar="KINDS", help="comma-separated hard-negative caption kinds (order, binding, motion; hbi.data.negatives): each clip's caption edited in one of them is one more wrong caption for every clip")
    ap.add_argument("--recipe", default=None, choices=sorted(RECIPES), help="a named recipe's flags (hbi.train.recipes), before the others: explicit flags override it")
    given = list(sys.argv[1:] if argv is None else argv)
    commit = git_commit()  # the code that runs: taken before anything can change under it
    args = ap.parse_args(expand(given))
    weights = parse_loss_weights(args.loss_weight)
    negatives = tuple(k.strip() for k in args.hard_negatives.split(",") if k.strip())
    bad = [k for k in negatives if k not in NEGATIVE_KINDS]
    if bad:
        raise SystemExit(f"--hard-negatives: unknown kinds {bad}; use a comma-separated subset of {', '.join(NEGATIVE_KINDS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    # Tiny Adam moments and attention probabilities drift into denormal floats, which are ~100x
    # slower on CPUs; flushing them to zero changes no result that matters and keeps steps fast.
    torch.set_flush_denormal(True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    meta = load_meta(args.data)
    answers = meta["answers"]
    vocab = len(json.loads((Path(args.data) / "tokenizer.json").read_text())["model"]["vocab"])
    heads = not args.no_heads
    init = torch.load(args.init_from, map_location="cpu", weights_only=False) if args.init_from else None
    cfg = ModelConfig.from_dict(init["config"]) if init else build_config(args.preset, args.ablation, vocab, len(answers), heads)
    if not init:
        cfg = cfg.replace(**arch_overrides(args))
    elif args.time_code:
        cfg = cfg.replace(time_code=True)  # a zero-initialised addition: the checkpoint's model unchanged at step 0
    if args.time_code_lr != 1.0 and not cfg.time_code:
        raise SystemExit("--time-code-lr sets the time code's rate, and this model has none: add --time-code")
    changes = cfg.motion_input == "diff"  # each frame token also learns what changed to the next frame
    if args.scene_aux:
        frame_groups = frame_scene_groups(changes)
        cfg = cfg.replace(scene_classes=tuple(n for _, n in SCENE_GROUPS), frame_scene_classes=tuple(n for _, n in frame_groups))
        if args.scene_present_only:
            cfg = cfg.replace(scene_present_only=present_only_flags(SCENE_GROUPS), frame_scene_present_only=present_only_flags(frame_groups))
    print(f"[train] {cfg.name}/{args.ablation} heads={heads} steps={args.steps} batch={args.batch} seed={args.seed}", file=sys.stderr)
    train = load_tokenised(args.data, "train", cfg.frames, cfg.image_size, cfg.max_words, in_memory=True,
                           scenes=bool(cfg.scene_classes or cfg.frame_scene_classes), frame_changes=changes and bool(cfg.frame_scene_classes))
    val = load_tokenised(args.data, "val", cfg.frames, cfg.image_size, cfg.max_words)

    model = HBIModel(cfg)
    if model.banzhaf_teacher is not None:
        cache = Path(args.banzhaf_cache or Path(args.data) / f"banzhaf_{cfg.name}.pt")
        model.banzhaf_teacher.load_state_dict(load_or_pretrain(cfg, cache).state_dict())
    if init:
        check_init_keys(args.init_from, *model.load_state_dict(init["model"], strict=False))
        print(f"[train] initialised from {args.init_from} (step {init.get('step')})", file=sys.stderr)
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay, args.time_code_lr), lr=args.lr)

    step, best, rng = 0, -1.0, np.random.default_rng(args.seed)
    epoch_batches: list[np.ndarray] = []
    if args.resume and (out / "last.pt").exists():
        ck = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, best, rng, epoch_batches = ck["step"], ck["best"], ck["rng"], ck["pending_batches"]
        torch.set_rng_state(ck["torch_rng"])
        print(f"[train] resumed at step {step} (best val {best:.2f})", file=sys.stderr)

    log = open(out / "log.jsonl", "a")
    started = time.time()
    pretrained = None
    if args.frame_pretrain and step == 0 and not init:
        pretrained = pretrain_frames(model, train, val, args.frame_pretrain, rng)
        pretrained["seconds"] = round(time.time() - started, 1)
        log.write(json.dumps({"frame_pretrain": pretrained}) + "\n")
        log.flush()
    bar = tqdm(total=args.steps, initial=step, desc=f"train {args.ablation}", dynamic_ncols=True, mininterval=5)
    model.train()
    running: dict[str, float] = {}
    while step < args.steps:
        if not epoch_batches:
            epoch_batches = twin_batches(train.records, args.batch, rng)
        idx = epoch_batches.pop(0)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr) * g.get("lr_scale", 1.0)
        losses = model.losses(make_batch(train, idx, rng, heads, args.questions, bool(cfg.scene_classes), bool(cfg.frame_scene_classes),
                                         negatives))
        loss = sum(weights.get(k, 1.0) * v for k, v in losses.items())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        for k, v in losses.items():
            running[k] = 0.98 * running.get(k, float(v)) + 0.02 * float(v)
        bar.update(1)
        bar.set_postfix({k: f"{v:.2f}" for k, v in running.items()}, refresh=False)
        if step % args.eval_every == 0 or step == args.steps:
            res = evaluate(model, val, answers, captions=False, progress=False)
            score = val_score(res)
            entry = {"step": step, "seconds": round(time.time() - started, 1), "losses": running, "val_t2v": res["retrieval"]["t2v"], "val_global_t2v_R@1": res["global"]["t2v"]["R@1"], "val_qa": res.get("qa", {}).get("overall"), "val_score": score}
            log.write(json.dumps(entry) + "\n")
            log.flush()
            tqdm.write(f"[train] step {step}: val t2v R@1 {res['retrieval']['t2v']['R@1']:.1f} (global {res['global']['t2v']['R@1']:.1f}) QA {entry['val_qa']}", file=sys.stderr)
            if score > best:
                best = score
                torch.save({"model": model.state_dict(), "config": cfg.to_dict(), "step": step, "val": entry}, out / "best.pt")
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "best": best, "rng": rng, "pending_batches": epoch_batches, "torch_rng": torch.get_rng_state(), "config": cfg.to_dict()}, out / "last.pt")
            model.train()
    bar.close()
    elapsed = time.time() - started
    summary: dict = {"preset": args.preset, "ablation": args.ablation, "heads": heads, "steps": args.steps, "batch": args.batch, "init_from": args.init_from, "loss_weights": weights, "questions_per_clip": args.questions, "hard_negatives": list(negatives), "scene_aux": bool(cfg.scene_classes), "frame_pretrain": pretrained, "lr": args.lr, "seed": args.seed, "train_seconds": round(elapsed, 1), "best_val_score": best, "command": " ".join(["python", "-m", "hbi.train.train", *given]), "expanded_command": " ".join(["python", "-m", "hbi.train.train", *expand(given)]), "data_seed": meta["seed"], "git_commit": commit}
    if args.test:
        ck = torch.load(out / "best.pt", map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        summary["best_step"] = ck["step"]
        for split in ("test", "comp"):
            data = load_tokenised(args.data, split, cfg.frames, cfg.image_size, cfg.max_words)
            summary[split] = evaluate(model, data, answers, tokenizer_path=Path(args.data) / "tokenizer.json", progress=False)
    (out / "result.json").write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
