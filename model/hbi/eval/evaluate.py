"""Evaluation of a trained model on a split: retrieval (both directions), QA by type, captioning."""
from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from hbi.data.tokenizer import BOS_ID, EOS_ID, load_tokenizer
from hbi.eval.captioning import caption_metrics
from hbi.eval.decode import greedy
from hbi.eval.qa import qa_accuracy
from hbi.eval.retrieval import t2v_v2t
from hbi.model.hbi import HBIModel
from hbi.train.batches import Split, trim


@torch.no_grad()
def encode_split(model: HBIModel, split: Split, caption_index: int = 0, batch: int = 100) -> dict[str, torch.Tensor]:
    """Frame/word tokens, weights and global embeddings for every clip and its `caption_index` caption."""
    model.eval()
    out: dict[str, list] = {k: [] for k in ("f", "fw", "fm", "v", "w", "ww", "wm", "t")}
    n = split.size
    for s in range(0, n, batch):
        idx = np.arange(s, min(n, s + batch))
        frames = torch.from_numpy(np.ascontiguousarray(split.frames[idx]))
        fmask = torch.ones(len(idx), frames.shape[1])
        f, fw, v = model.encode_video(frames, fmask)
        ids = torch.from_numpy(split.caption_ids[idx, caption_index])
        mask = torch.from_numpy(split.caption_mask[idx, caption_index])
        w, ww, t = model.encode_text(ids, mask)
        for k, x in zip(out, (f, fw, fmask, v, w, ww, mask.float(), t)):
            out[k].append(x)
    return {k: torch.cat(x) for k, x in out.items()}


@torch.no_grad()
def score_matrix(model: HBIModel, enc: dict[str, torch.Tensor], chunk: int = 50) -> torch.Tensor:
    """Text × video scores [N,N]: the HBI interaction (mean over levels), or the global cosine for the baseline."""
    if not model.cfg.levels:
        return enc["t"] @ enc["v"].T
    rows = []
    for s in range(0, enc["w"].shape[0], chunk):
        sl = slice(s, s + chunk)
        rows.append(model.interaction(enc["w"][sl], enc["ww"][sl], enc["wm"][sl], enc["f"], enc["fw"], enc["fm"]))
    return torch.cat(rows)


@torch.no_grad()
def evaluate(model: HBIModel, split: Split, answers: list[str], tokenizer_path=None, captions: bool = True, qa: bool = True, progress: bool = True) -> dict:
    """All metrics of model/RESULTS.md on one split (caption 0 of each clip is its text query)."""
    model.eval()
    enc = encode_split(model, split)
    sim = score_matrix(model, enc).numpy()
    gt = np.arange(split.size)
    result: dict = {"retrieval": t2v_v2t(sim, gt), "global": t2v_v2t((enc["t"] @ enc["v"].T).numpy(), gt)}
    if qa and model.cfg.qa:
        preds = []
        for s in range(0, len(split.qa_clip), 200):
            sl = slice(s, s + 200)
            clip = split.qa_clip[sl]
            ids, mask = trim(split.qa_ids[sl], split.qa_mask[sl])
            q, _, _ = model.encode_text(ids, mask)
            logits = model.qa_logits(enc["f"][clip], enc["fm"][clip], q, mask.float())
            preds += [answers[i] for i in logits.argmax(-1).tolist()]
        gold = [answers[i] for i in split.qa_answer]
        result["qa"] = qa_accuracy(preds, gold, split.qa_type)
    if captions and model.cfg.caption and tokenizer_path is not None:
        tok = load_tokenizer(tokenizer_path)
        res, gts = {}, {}
        it = range(0, split.size, 100)
        for s in tqdm(it, desc="captioning", leave=False, disable=not progress):
            sl = slice(s, s + 100)
            f, fm = enc["f"][sl], enc["fm"][sl]
            ids = greedy(lambda t: model.caption_logits(f, fm, t), f.shape[0], BOS_ID, EOS_ID, model.cfg.max_words)
            for k, seq in enumerate(ids):
                res[s + k] = tok.decode(seq)
                gts[s + k] = split.records[s + k]["captions"]
        result["captioning"] = caption_metrics(gts, res)
        result["caption_examples"] = [{"id": split.records[i]["id"], "generated": res[i], "reference": gts[i][0]} for i in range(3)]
    return result
