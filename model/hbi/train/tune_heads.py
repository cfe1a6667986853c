"""Stage 2: tune the task heads (QA head, caption decoder) on the frozen shared encoder.

`python -m hbi.train.tune_heads --data DIR --run runs/NAME [--steps N] [--batch B]`

Stage 1 (`hbi.train.train`) trains the encoders, the HBI levels and the heads jointly; there every
step spends most of its time in the video encoder, so the heads see few updates. Here the video and
text encoders are frozen: the frame tokens of every training and val clip and the word tokens of every
question are computed once, and the heads then train on them for many cheap steps (val QA, by question
type, is measured on the cached val tokens: the same numbers `hbi.eval.evaluate` gives). `--qa-head clip`
replaces the checkpoint's QA head with a fresh `clip` head (its clip summary started from the scene
head's first layer). The retrieval side (video/text/interaction graphs) is bit-identical before and
after, so the platform's indexed vectors stay valid.

Reads RUN/best.pt, writes RUN/heads.pt (the best heads on *validation* QA accuracy, never test),
RUN/heads-log.jsonl, and, with --test, adds `test`/`comp` results to RUN/result.json under
`heads_tuned`. Seeded; shows progress; re-running with the same arguments reproduces the result.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from hbi.data.dataset import load_meta
from hbi.eval.evaluate import evaluate
from hbi.eval.qa import qa_accuracy
from hbi.provenance import git_commit
from hbi.model.config import ModelConfig
from hbi.model.hbi import QA_HEADS, HBIModel
from hbi.model.heads import caption_loss
from hbi.train.batches import Split, load_tokenised, trim
from hbi.train.train import lr_at


@torch.no_grad()
def frame_tokens(model: HBIModel, split: Split, batch: int = 200, desc: str = "frames") -> torch.Tensor:
    """Frozen video encoder over a split → frame tokens [N,T,D] (the `video` graph's first output)."""
    model.eval()
    out = []
    for s in tqdm(range(0, split.size, batch), desc=desc, mininterval=5, file=sys.stderr):
        idx = np.arange(s, min(split.size, s + batch))
        frames = torch.from_numpy(np.ascontiguousarray(split.frames[idx]))
        out.append(model.encode_video(frames, torch.ones(len(idx), frames.shape[1]))[0])
    return torch.cat(out)


@torch.no_grad()
def question_tokens(model: HBIModel, split: Split, batch: int = 2000) -> tuple[torch.Tensor, torch.Tensor]:
    """Frozen text encoder over a split's questions → word tokens [Q,L,D] and mask [Q,L] (L: the longest)."""
    model.eval()
    n = max(2, int(split.qa_mask.sum(1).max()))
    mask = torch.from_numpy(np.ascontiguousarray(split.qa_mask[:, :n]))
    out = [model.encode_text(torch.from_numpy(np.ascontiguousarray(split.qa_ids[s:s + batch, :n])), mask[s:s + batch])[0]
           for s in range(0, len(split.qa_clip), batch)]
    return torch.cat(out), mask.float()


def with_qa_head(ck: dict, qa_head: str | None = None) -> HBIModel:
    """The checkpoint's model; with a QA head other than the checkpoint's, that head is built fresh
    (seeded init; the clip head's summary starts from the checkpoint's scene head when it has one) and
    every other weight is loaded from the checkpoint."""
    cfg = ModelConfig.from_dict(ck["config"])
    if qa_head is None or qa_head == cfg.qa_head:
        model = HBIModel(cfg)
        model.load_state_dict(ck["model"])
        return model
    model = HBIModel(cfg.replace(qa_head=qa_head))
    heads = ("qa_levels.", "qa_clip.")
    state = {k: v for k, v in ck["model"].items() if not k.startswith(heads)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    fresh = [k for k in missing if not k.startswith(heads)]
    if fresh or unexpected:
        raise ValueError(f"checkpoint does not fit the model apart from its QA head: missing {fresh}, unexpected {list(unexpected)}")
    note = ""
    if model.qa_clip is not None and model.scene_head is not None:
        model.qa_clip.init_from_scene(model.scene_head)
        note = ", its summary from the scene head"
    print(f"[heads] QA head {qa_head!r} starts fresh{note}; the rest is the checkpoint's", file=sys.stderr)
    return model


def head_parameters(model: HBIModel, captions: bool) -> list[torch.nn.Parameter]:
    """The trainable parameters of stage 2; everything else gets requires_grad=False."""
    for p in model.parameters():
        p.requires_grad_(False)
    mods = [model.qa_module()] + ([model.captioner] if captions else [])
    params = [p for m in mods if m is not None for p in m.parameters()]
    for p in params:
        p.requires_grad_(True)
    return params


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--run", required=True, help="stage-1 run folder holding best.pt")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--no-captions", action="store_true", help="tune the QA head only")
    ap.add_argument("--qa-head", default=None, choices=QA_HEADS, help="QA head to tune; one other than the checkpoint's starts fresh (default: the checkpoint's)")
    ap.add_argument("--test", action="store_true", help="evaluate the tuned model on test and comp")
    ap.add_argument("--evaluate-only", action="store_true", help="skip tuning: evaluate RUN/heads.pt on test and comp")
    args = ap.parse_args(argv)
    if args.evaluate_only:
        return evaluate_tuned(Path(args.run), args.data, args.threads)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    run = Path(args.run)
    ck = torch.load(run / "best.pt", map_location="cpu", weights_only=False)
    model = with_qa_head(ck, args.qa_head)
    cfg = model.cfg
    answers = load_meta(args.data)["answers"]
    train = load_tokenised(args.data, "train", cfg.frames, cfg.image_size, cfg.max_words)
    val = load_tokenised(args.data, "val", cfg.frames, cfg.image_size, cfg.max_words)
    print(f"[heads] frozen encoder from {run / 'best.pt'} (step {ck['step']}); caching frame tokens", file=sys.stderr)
    f_train = frame_tokens(model, train, desc="frame tokens (train)")
    f_val = frame_tokens(model, val, desc="frame tokens (val)")
    q_train, qm_train = question_tokens(model, train)
    q_val, qm_val = question_tokens(model, val)
    captions = not args.no_captions and model.captioner is not None
    params = head_parameters(model, captions)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.05)

    @torch.no_grad()
    def val_qa() -> dict:
        """QA accuracy on val from the cached tokens (the encoders are frozen, so this is what
        hbi.eval.evaluate would measure, at a fraction of the cost)."""
        model.eval()
        pred = []
        for s in range(0, len(val.qa_clip), 1000):
            f = f_val[val.qa_clip[s:s + 1000]]
            pred.append(model.qa_logits(f, torch.ones(f.shape[:2]), q_val[s:s + 1000], qm_val[s:s + 1000]).argmax(-1))
        pred = torch.cat(pred)
        return qa_accuracy([answers[i] for i in pred.tolist()], [answers[i] for i in val.qa_answer], val.qa_type)

    first = val_qa()
    best, best_by_type = first["overall"], first["by_type"]
    print(f"[heads] val QA before tuning {best:.2f}", file=sys.stderr)
    best_state = {k: v.clone() for k, v in model.state_dict().items()}
    log = open(run / "heads-log.jsonl", "w")
    log.write(json.dumps({"step": 0, "val_qa": best, "val_qa_by_type": first["by_type"]}) + "\n")
    started = time.time()
    nq = len(train.qa_clip)
    per = train.caption_ids.shape[1]
    running: dict[str, float] = {}
    bar = tqdm(range(1, args.steps + 1), desc="heads", mininterval=5, file=sys.stderr)
    for step in bar:
        model.train()
        for g in opt.param_groups:
            g["lr"] = lr_at(step - 1, args.steps, args.lr)
        q = rng.integers(0, nq, size=args.batch)
        clip = train.qa_clip[q]
        n = max(2, int(qm_train[q].sum(1).max()))
        f = f_train[clip]
        fm = torch.ones(f.shape[0], f.shape[1])
        losses = {"qa": torch.nn.functional.cross_entropy(model.qa_logits(f, fm, q_train[q, :n], qm_train[q, :n]), torch.from_numpy(train.qa_answer[q]))}
        if captions:
            c = rng.integers(0, per, size=args.batch)
            tgt, _ = trim(train.caption_ids[clip, c], train.caption_mask[clip, c])
            losses["caption"] = caption_loss(model.caption_logits(f, fm, tgt[:, :-1]), tgt[:, 1:])
        loss = sum(losses.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        for k, v in losses.items():
            running[k] = 0.98 * running.get(k, float(v.detach())) + 0.02 * float(v.detach())
        bar.set_postfix({k: f"{v:.3f}" for k, v in running.items()}, refresh=False)
        if step % args.eval_every == 0 or step == args.steps:
            res = val_qa()
            acc = res["overall"]
            entry = {"step": step, "seconds": round(time.time() - started, 1), "losses": dict(running), "val_qa": acc, "val_qa_by_type": res["by_type"]}
            log.write(json.dumps(entry) + "\n")
            log.flush()
            tqdm.write(f"[heads] step {step}: val QA {acc:.2f}", file=sys.stderr)
            if acc > best:
                best, best_by_type = acc, res["by_type"]
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    torch.save({"model": model.state_dict(), "config": model.cfg.to_dict(), "step": ck["step"], "val": ck.get("val"), "heads": {"steps": args.steps, "batch": args.batch, "lr": args.lr, "val_qa": best}}, run / "heads.pt")
    summary = {"steps": args.steps, "batch": args.batch, "lr": args.lr, "seed": args.seed, "captions": captions, "seconds": round(time.time() - started, 1), "best_val_qa": best, "best_val_qa_by_type": best_by_type, "git_commit": git_commit(),
               "command": " ".join(["python", "-m", "hbi.train.tune_heads", *(argv if argv is not None else sys.argv[1:])])}
    (run / "heads-summary.json").write_text(json.dumps(summary, indent=2))
    if args.test:
        summary = evaluate_tuned(run, args.data, args.threads)
    return summary


def evaluate_tuned(run: Path, data: str, threads: int = 0) -> dict:
    """Test/comp evaluation of RUN/heads.pt, stored in RUN/result.json under `heads_tuned`."""
    if threads:
        torch.set_num_threads(threads)
    ck = torch.load(run / "heads.pt", map_location="cpu", weights_only=False)
    cfg = ModelConfig.from_dict(ck["config"])
    model = HBIModel(cfg)
    model.load_state_dict(ck["model"])
    answers = load_meta(data)["answers"]
    summary = json.loads((run / "heads-summary.json").read_text())
    for split in ("test", "comp"):
        rows = load_tokenised(data, split, cfg.frames, cfg.image_size, cfg.max_words)
        summary[split] = evaluate(model, rows, answers, tokenizer_path=Path(data) / "tokenizer.json", progress=False)
    res_path = run / "result.json"
    result = json.loads(res_path.read_text()) if res_path.exists() else {}
    result["heads_tuned"] = summary
    res_path.write_text(json.dumps(result, indent=2))
    print(f"[heads] test QA {summary['test']['qa']['overall']:.2f}, CIDEr {summary['test'].get('captioning', {}).get('CIDEr')}", file=sys.stderr)
    return summary


if __name__ == "__main__":
    main()
