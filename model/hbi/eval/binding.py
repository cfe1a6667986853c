"""Evaluation that sees binding and time (issue 15, item 1).

    python -m hbi.eval.binding --data .data/synthclips --package ../models/hbi-synth-tiny [--write-manifest]

On synthclips (test-1k and comp-1k, caption 0 of each clip as the query):

- **ceilings**: retrieval by an oracle "reader" that sees only some attributes of each clip's scene —
  each object's colour and shape (`static`), + its motion (`motion`), the full signature (+ the step
  it acts in: `full`; `full_size` also sees the size, which a caption states only half the time).
  Clips with identical readings tie; expected R@1 with random tie-breaks is the mean over
  queries of 1 / (number of clips that read the same). Also the question-only QA baseline (the most
  common train answer for each question string; a question never seen in train gets its type's most
  common train answer) and the oracle ceilings of the two restricted caption forms below.
- **twins**: for every clip, twins generated from its scene that differ in exactly one factor:
  `motion` (one object's motion, with its path; its start, size, colour, shape and step unchanged),
  `order` (the steps of two objects in different steps swapped) and `binding` (the colours of two
  objects with different motions swapped). Each is rendered, encoded and decoded exactly like the
  benchmark's clips. Twin accuracy: how often a clip's caption 0 scores the clip above its twin, counted
  from both sides of each pair (the twin's caption — same text seed — must score the twin above the
  clip); a tie counts ½.
- **restricted captions**: retrieval (1,000 × 1,000, t2v R@1) with captions that state only one kind of
  information, built from the scene with caption 0's template choices: `motion_only` names every object
  "an object" / "the object" (motions and their order stay: "an object rises then the object shrinks");
  `order_only` keeps the objects and their order but every motion becomes "acts" ("the red square acts
  then a blue circle acts"). Their oracle ceilings read (motion, step) and (colour, shape, step).

The model side runs the package's ONNX graphs (video, text, interaction) with ONNX Runtime, so the
figures are those of the shipped package itself.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import multiprocessing as mp
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from hbi.data import grammar as G
from hbi.data import scenes as S

KINDS = ("motion", "order", "binding")
KIND_CODES = {"motion": 1, "order": 2, "binding": 3}


# ---------------------------------------------------------------- oracle readers
def _obj_key(o: dict, reader: str) -> tuple:
    if reader == "static":
        return (o["colour"], o["shape"])
    if reader == "motion":
        return (o["colour"], o["shape"], o["motion"])
    if reader == "full":
        return (o["colour"], o["shape"], o["motion"], o["step"])
    if reader == "full_size":
        return (o["colour"], o["shape"], o["size"], o["motion"], o["step"])
    if reader == "motion_only":
        return (o["motion"], o["step"])
    if reader == "order_only":
        return (o["colour"], o["shape"], o["step"])
    raise ValueError(f"unknown reader {reader!r}")


READERS = ("static", "motion", "full", "full_size", "motion_only", "order_only")


def reading(scene: dict, reader: str) -> tuple:
    """What a reader that sees only some attributes knows of a scene (a multiset of per-object keys)."""
    return tuple(sorted(_obj_key(o, reader) for o in scene["objects"]))


def oracle_r1(readings: list) -> float:
    """Expected t2v R@1 (%) when query i's caption is read as readings[i] and every clip with the same
    reading ties with the right one (random tie-break): mean of 1 / |{j : readings[j] == readings[i]}|."""
    if not readings:
        raise ValueError("no readings")
    counts = Counter(readings)
    return 100.0 * float(np.mean([1.0 / counts[r] for r in readings]))


def expected_r1(sim: np.ndarray) -> float:
    """Expected t2v R@1 (%) of a score matrix [Q,V] whose right column is the diagonal, ties broken at
    random: a query scores 1/(1 + #tied) when nothing is strictly higher, else 0."""
    sim = np.asarray(sim)
    right = np.diag(sim)[:, None]
    higher = (sim > right).sum(1)
    tied = (sim == right).sum(1)  # includes the right column
    return 100.0 * float(np.mean(np.where(higher == 0, 1.0 / tied, 0.0)))


# ---------------------------------------------------------------- question-only baseline
def question_only_baseline(train: Iterable[dict], test: Iterable[dict]) -> dict:
    """QA accuracy (%) of answering each question with its most common train answer (by question
    string; unseen questions: the most common answer of their type). Ties between answers: the
    alphabetically first, so the result is deterministic."""
    by_q: dict[str, Counter] = defaultdict(Counter)
    by_t: dict[str, Counter] = defaultdict(Counter)
    for rec in train:
        for qa in rec["qa"]:
            by_q[qa["question"]][qa["answer"]] += 1
            by_t[qa["type"]][qa["answer"]] += 1

    def best(c: Counter) -> str:
        top = max(c.values())
        return min(a for a, n in c.items() if n == top)

    majority_q = {q: best(c) for q, c in by_q.items()}
    majority_t = {t: best(c) for t, c in by_t.items()}
    total, correct, unseen = 0, 0, 0
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for rec in test:
        for qa in rec["qa"]:
            if qa["question"] in majority_q:
                guess = majority_q[qa["question"]]
            else:
                unseen += 1
                guess = majority_t.get(qa["type"], "")
            ok = int(guess == qa["answer"])
            total, correct = total + 1, correct + ok
            per[qa["type"]][0] += 1
            per[qa["type"]][1] += ok
    return {"overall": 100.0 * correct / total, "by_type": {t: 100.0 * c / n for t, (n, c) in per.items()},
            "questions": total, "unseen_questions": unseen}


# ---------------------------------------------------------------- twins
def _in_bounds(o: dict) -> bool:
    rmax = max(o["r_start"], o["r_end"]) * 1.05 + S.MARGIN
    lo, hi = rmax, S.W - rmax
    return all(lo - 1e-6 <= v <= hi + 1e-6 for p in (o["start"], o["end"]) for v in p)


def _with_motion(o: dict, motion: str) -> dict | None:
    """Object o with another motion and the path that motion implies from the same start; None when
    that would also change its stated size (grow is always "small", shrink "big") or leave the frame."""
    if motion == "grow" and o["size"] != "small" or motion == "shrink" and o["size"] != "big":
        return None
    p = dict(o, motion=motion)
    p["r_start"], p["r_end"] = S._radii(o["size"], motion)
    dx = {"left": -S.TRAVEL, "right": S.TRAVEL}.get(motion, 0.0)
    dy = {"up": -S.TRAVEL, "down": S.TRAVEL}.get(motion, 0.0)
    x0, y0 = o["start"]
    p["start"] = [x0, y0]
    p["end"] = [round(x0 + dx, 2), round(y0 + dy, 2)]
    return p if _in_bounds(p) else None


def make_kind_twin(scene: dict, kind: str, rng: np.random.Generator, comp: bool) -> tuple[dict, list[int]] | None:
    """A twin of `scene` differing in exactly one factor of `kind` (see the module docstring), or None
    when the scene has none that is valid (split rule, no overlap, objects stay in the frame)."""
    objs = scene["objects"]
    n = len(objs)
    cands: list[tuple] = []
    if kind == "motion":
        for i in range(n):
            for m in G.MOTIONS:
                if m != objs[i]["motion"] and (m != "stay" or scene["n_steps"] == 1):
                    cands.append((i, m))
    else:
        for i in range(n):
            for j in range(i + 1, n):
                if kind == "order" and objs[i]["step"] != objs[j]["step"]:
                    cands.append((i, j))
                if kind == "binding" and objs[i]["motion"] != objs[j]["motion"]:
                    cands.append((i, j))
        if kind not in ("order", "binding"):
            raise ValueError(f"unknown twin kind {kind!r}")
    for k in (rng.permutation(len(cands)) if cands else []):
        c = cands[int(k)]
        if kind == "motion":
            i, m = c
            p = _with_motion(objs[i], m)
            if p is None:
                continue
            tw = copy.deepcopy(scene)
            tw["objects"][i] = p
            touched = [i]
        else:
            tw = S._swap_order(scene, *c) if kind == "order" else S._swap_colour(scene, *c)
            touched = list(c)
        if not S._split_ok(tw, comp) or not S._overlap_ok(tw["objects"], tw["n_steps"]):
            continue
        return tw, touched
    return None


def scene_differences(a: dict, b: dict) -> set[str]:
    """Which per-object attributes differ between two scenes of the same objects (for the tests and as
    a guard): any of colour, shape, size, motion, step, path (start/end/radii), n_steps, rest."""
    diff: set[str] = set()
    if a["n_steps"] != b["n_steps"]:
        diff.add("n_steps")
    if len(a["objects"]) != len(b["objects"]):
        return diff | {"objects"}
    for o, p in zip(a["objects"], b["objects"]):
        for key in ("colour", "shape", "size", "motion", "step"):
            if o[key] != p[key]:
                diff.add(key)
        if (o["start"], o["end"], o["r_start"], o["r_end"]) != (p["start"], p["end"], p["r_start"], p["r_end"]):
            diff.add("path")
    rest = {k for k in a if k not in ("objects", "n_steps") and a[k] != b.get(k)}
    return diff | ({"rest"} if rest else set())


ALLOWED_DIFF = {"motion": {"motion", "path"}, "order": {"step"}, "binding": {"colour"}}


def unit_text_seeds(records: list[dict], seed: int, split: str) -> list[list[int]]:
    """The caption text seed of every record ([seed, split code, unit, 1]; a twin pair is one unit),
    checked against the stored captions."""
    code = S.SPLIT_CODES[split]
    seeds, unit, i = [], 0, 0
    while i < len(records):
        group = 2 if records[i]["twin"] is not None else 1
        seeds += [[seed, code, unit, 1]] * group
        i, unit = i + group, unit + 1
    for rec, ts in zip(records[:50], seeds[:50]):
        if G.captions(rec["scene"], np.random.default_rng(ts)) != rec["captions"]:
            raise RuntimeError(f"text seed of {rec['id']} not recovered: is this synthclips seed {seed}?")
    return seeds


def restricted_caption(scene: dict, rng: np.random.Generator, form: str) -> str:
    """Caption 0's structure with one kind of information only (`motion_only` / `order_only`). Uses
    the grammar's own templates and draws in the same order as `grammar.caption` (the same rng gives
    the same template choices)."""
    if form not in ("motion_only", "order_only"):
        raise ValueError(f"unknown caption form {form!r}")

    def np_(o: dict) -> str:
        det = "a" if rng.random() < 0.75 else "the"
        shape = G._pick(rng, G.SHAPE_WORDS[o["shape"]])
        if rng.random() < 0.5:  # grammar.caption's size draws (the size is never stated here)
            G._pick(rng, G.SIZE_WORDS[o["size"]])
        if form == "motion_only":
            return "an object" if det == "a" else "the object"
        return f"{G._an(o['colour']) if det == 'a' else 'the'} {o['colour']} {shape}"

    def clause(o: dict) -> str:
        subject = np_(o)
        phrase = G._pick(rng, G.MOTION_PHRASES[o["motion"]])
        return f"{subject} {phrase if form == 'motion_only' else 'acts'}"

    objs = scene["objects"]
    texts = []
    for st in G.steps_of(scene):
        cl = [clause(objs[i]) for i in st]
        texts.append(cl[0] if len(cl) == 1 else G._pick(rng, G.SIM_2 if len(cl) == 2 else G.SIM_3).format(A=cl[0], B=cl[1], C=cl[-1]))
    if len(texts) == 1:
        return texts[0]
    if len(texts) == 2:
        rev_ok = all(len(st) == 1 for st in G.steps_of(scene))
        k = int(rng.integers(len(G.SEQ_2) + (1 if rev_ok else 0)))
        tpl = G.SEQ_2[k] if k < len(G.SEQ_2) else G.SEQ_2_REV[0]
        return tpl.format(A=texts[0], B=texts[1])
    return G._pick(rng, G.SEQ_3).format(A=texts[0], B=texts[1], C=texts[2])


def twin_accuracy(pairs: list[tuple[float, float, float, float]]) -> float:
    """pairs of (s(c_a, a), s(c_a, b), s(c_b, b), s(c_b, a)) → % of the 2·N comparisons where a caption
    scores its own clip above the twin (ties ½)."""
    if not pairs:
        return float("nan")
    p = np.asarray(pairs, np.float64)
    won = (p[:, 0] > p[:, 1]).astype(float) + 0.5 * (p[:, 0] == p[:, 1]) + (p[:, 2] > p[:, 3]) + 0.5 * (p[:, 2] == p[:, 3])
    return 100.0 * float(won.sum() / (2 * len(p)))


def twin_sides(pairs: list[tuple[float, float, float, float]]) -> dict[str, float]:
    """Which encoder misses a kind of twin: the same four scores as twin_accuracy read the other way too.
    ``video`` — a caption scores its own clip above the twin (twin accuracy itself); ``text`` — a clip
    scores its own caption above the twin's (% of 2·N comparisons, ties ½). A model blind to a factor in
    its text encoder loses both; in its video encoder alone, also both; the two differ where the score's
    scale differs between captions (the interaction graph's per-text weights)."""
    if not pairs:
        return {"video": float("nan"), "text": float("nan")}
    p = np.asarray(pairs, np.float64)
    return {"video": twin_accuracy(pairs),
            "text": twin_accuracy([(a, d, c, b) for a, b, c, d in p.tolist()])}


def oracle_twin_accuracy(pairs: list[tuple[dict, dict]], reader: str) -> float:
    """Twin accuracy of an oracle reader: a pair is told apart when the two scenes read differently."""
    scores = []
    for a, b in pairs:
        same = reading(a, reader) == reading(b, reader)
        scores.append((1.0, 1.0, 1.0, 1.0) if same else (1.0, 0.0, 1.0, 0.0))
    return twin_accuracy(scores)


def _unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    return x / np.linalg.norm(x, axis=-1, keepdims=True).clip(min=1e-12)


# ---------------------------------------------------------------- rendering the twins
def _encode(args) -> None:
    from hbi.data.synthclips import encode_chunk

    out, sub, recs = args
    encode_chunk(Path(out), sub, recs)


def twin_frames(out: Path, sub: str, scenes: list[dict], frames: int = 8, size: int = 64, workers: int = 2) -> np.ndarray:
    """Render + H.264-encode the scenes exactly like the benchmark (synthclips.encode_chunk), then decode
    them with the shared recipe (the cache's one-ffmpeg-per-chunk path, checked against decode_clip on
    one clip per chunk). Cached as out/<sub>.npy."""
    from hbi.data.cache import decode_chunk_fast
    from hbi.data.recipe import decode_clip

    npy = out / f"{sub}.T{frames}_{size}.npy"
    if npy.exists():
        arr = np.load(npy)
        if arr.shape == (len(scenes), frames, size, size, 3):
            return arr
    recs = [{"id": f"{sub}-{i:06d}", "scene": sc} for i, sc in enumerate(scenes)]
    (out / "videos" / sub).mkdir(parents=True, exist_ok=True)
    tasks = [(str(out), sub, recs[i:i + 100]) for i in range(0, len(recs), 100)]
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            list(pool.imap_unordered(_encode, tasks))
    else:
        list(map(_encode, tasks))
    arr = np.empty((len(recs), frames, size, size, 3), np.uint8)
    for s in range(0, len(recs), 100):
        paths = [str(out / "videos" / sub / f"{r['id']}.mp4") for r in recs[s:s + 100]]
        got = decode_chunk_fast(paths, [S.FRAMES] * len(paths), frames, size)
        if got is None:
            got = np.stack([decode_clip(p, frames, size, size) for p in paths])
        elif not np.array_equal(got[0], decode_clip(paths[0], frames, size, size)):
            raise RuntimeError(f"fast decode differs from decode_clip for {paths[0]}")
        arr[s:s + len(paths)] = got
    np.save(npy, arr)
    return arr


# ---------------------------------------------------------------- the package's graphs
class PackageScorer:
    """The package's video, text and interaction graphs through ONNX Runtime. A package without an
    `interaction` graph (a global-embedding-only model: ablation row a) scores by the cosine of the
    two graphs' global embeddings, as that model was trained to."""

    def __init__(self, package: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        from hbi.data.tokenizer import load_tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.manifest = json.loads((package / "manifest.json").read_text())
        graphs = [g for g in ("video", "text", "interaction") if g in ("video", "text") or (package / f"{g}.onnx").exists()]
        self.s = {g: ort.InferenceSession(str(package / f"{g}.onnx"), opts, providers=["CPUExecutionProvider"]) for g in graphs}
        self.global_only = "interaction" not in self.s
        self.tok = load_tokenizer(package / "tokenizer.json")
        self.max_words = self.manifest["dims"]["max_words"]

    def videos(self, frames: np.ndarray, batch: int = 100) -> dict[str, np.ndarray]:
        outs: dict[str, list] = {"f": [], "fw": [], "fm": [], "g": []}
        for s in range(0, len(frames), batch):
            x = np.ascontiguousarray(frames[s:s + batch])
            fm = np.ones(x.shape[:2], np.float32)
            f, fw, g = self.s["video"].run(None, {"frames": x, "frame_mask": fm})
            outs["f"].append(f), outs["fw"].append(fw), outs["fm"].append(fm), outs["g"].append(g)
        return {k: np.concatenate(v) for k, v in outs.items()}

    def texts(self, texts: list[str], batch: int = 200) -> dict[str, np.ndarray]:
        from hbi.data.tokenizer import encode_batch

        ids, mask, unknown = encode_batch(self.tok, texts, self.max_words)
        bad = [(t, u) for t, u in zip(texts, unknown) if u]
        if bad:
            raise ValueError(f"words outside the vocabulary: {bad[:3]}")
        outs: dict[str, list] = {"w": [], "ww": [], "g": []}
        for s in range(0, len(texts), batch):
            w, ww, g = self.s["text"].run(None, {"input_ids": ids[s:s + batch], "attention_mask": mask[s:s + batch]})
            outs["w"].append(w), outs["ww"].append(ww), outs["g"].append(g)
        return {"w": np.concatenate(outs["w"]), "ww": np.concatenate(outs["ww"]), "wm": mask.astype(np.float32), "g": np.concatenate(outs["g"])}

    def scores(self, t: dict, v: dict, rows: np.ndarray | None = None, cols: np.ndarray | None = None, chunk: int = 50) -> np.ndarray:
        """scores [Q,V] of texts t (rows) × videos v (cols)."""
        rows = np.arange(len(t["w"])) if rows is None else rows
        cols = np.arange(len(v["f"])) if cols is None else cols
        if self.global_only:
            return _unit(t["g"][rows]) @ _unit(v["g"][cols]).T
        out = []
        for s in range(0, len(rows), chunk):
            r = rows[s:s + chunk]
            out.append(self.s["interaction"].run(None, {"word_tokens": t["w"][r], "word_weights": t["ww"][r], "word_mask": t["wm"][r],
                                                        "frame_tokens": v["f"][cols], "frame_weights": v["fw"][cols], "frame_mask": v["fm"][cols]})[0])
        return np.concatenate(out)

    def paired(self, t: dict, v: dict, rows: np.ndarray, cols: np.ndarray, chunk: int = 64) -> np.ndarray:
        """scores of the matched pairs (t[rows[i]], v[cols[i]]) only → [N]."""
        out = []
        for s in range(0, len(rows), chunk):
            r, c = rows[s:s + chunk], cols[s:s + chunk]
            m = self.scores(t, v, r, c, chunk=len(r))
            out.append(np.diag(m))
        return np.concatenate(out) if out else np.zeros(0)


# ---------------------------------------------------------------- one split
def load_records(data: Path, split: str) -> list[dict]:
    with open(data / f"{split}.jsonl") as f:
        return [json.loads(line) for line in f]


def split_twins(records: list[dict], split: str, seed: int) -> dict[str, list[tuple[int, dict]]]:
    """For each kind: [(clip index, twin scene)] for every clip that has a valid twin of that kind."""
    comp = split == "comp"
    out: dict[str, list[tuple[int, dict]]] = {}
    for kind in KINDS:
        lst = []
        for i, rec in enumerate(records):
            rng = np.random.default_rng([seed, S.SPLIT_CODES[split], i, 7, KIND_CODES[kind]])
            tw = make_kind_twin(rec["scene"], kind, rng, comp)
            if tw is None:
                continue
            diff = scene_differences(rec["scene"], tw[0])
            if not diff or not diff <= ALLOWED_DIFF[kind]:
                raise RuntimeError(f"{kind} twin of {rec['id']} differs in {sorted(diff)}")
            lst.append((i, tw[0]))
        out[kind] = lst
    return out


def evaluate_split(data: Path, split: str, scorer: PackageScorer | None, train: list[dict], seed: int = 0,
                   work: Path | None = None, log: Callable[[str], None] = print) -> dict:
    """The `twins` and `ceilings` sections of metrics.<split> (model figures need a scorer)."""
    records = load_records(data, split)
    seeds = unit_text_seeds(records, seed, split)
    ceilings: dict = {f"oracle_{r}": oracle_r1([reading(rec["scene"], r) for rec in records]) for r in ("static", "motion", "full", "full_size")}
    ceilings["question_only_qa"] = question_only_baseline(train, records)
    restricted = {form: [restricted_caption(rec["scene"], np.random.default_rng(ts), form) for rec, ts in zip(records, seeds)] for form in ("motion_only", "order_only")}
    for form in restricted:
        ceilings[f"oracle_{form}"] = oracle_r1([reading(rec["scene"], form) for rec in records])
    twins_by_kind = split_twins(records, split, seed)
    for kind, lst in twins_by_kind.items():
        pairs = [(records[i]["scene"], tw) for i, tw in lst]
        ceilings[f"twins_{kind}"] = {r: oracle_twin_accuracy(pairs, r) for r in ("static", "motion", "full")}
    twins: dict = {"pairs": {k: len(v) for k, v in twins_by_kind.items()}}
    result = {"twins": twins, "ceilings": ceilings}
    if scorer is None:
        return result
    frames = np.load(data / "cache" / "T8_64" / f"{split}.npy", mmap_mode="r")
    t0 = time.time()
    vids = scorer.videos(frames)
    caps = scorer.texts([rec["captions"][0] for rec in records])
    sim = scorer.scores(caps, vids)
    result["retrieval_t2v_R@1"] = expected_r1(sim)
    log(f"[{split}] retrieval expected R@1 {result['retrieval_t2v_R@1']:.1f} ({time.time() - t0:.0f} s)")
    restricted_r1 = {}
    for form, texts in restricted.items():
        restricted_r1[form] = expected_r1(scorer.scores(scorer.texts(texts), vids))
        log(f"[{split}] {form} captions: R@1 {restricted_r1[form]:.1f} (oracle {ceilings['oracle_' + form]:.1f})")
    result["restricted_captions_t2v_R@1"] = restricted_r1
    work = work or data / "twins"
    for kind, lst in twins_by_kind.items():
        idx = np.array([i for i, _ in lst])
        tw_frames = twin_frames(work, f"{split}-{kind}", [tw for _, tw in lst])
        tw_vids = scorer.videos(tw_frames)
        tw_caps = scorer.texts([G.captions(tw, np.random.default_rng(seeds[i]))[0] for i, tw in lst])
        both = {k: np.concatenate([vids[k][idx], tw_vids[k]]) for k in vids}  # [clips; twins]
        both_caps = {k: np.concatenate([caps[k][idx], tw_caps[k]]) for k in caps}
        n = len(idx)
        a, b = np.arange(n), np.arange(n) + n
        s_aa = scorer.paired(both_caps, both, a, a)
        s_ab = scorer.paired(both_caps, both, a, b)
        s_bb = scorer.paired(both_caps, both, b, b)
        s_ba = scorer.paired(both_caps, both, b, a)
        twins[kind] = twin_accuracy(list(zip(s_aa, s_ab, s_bb, s_ba)))
        # The global embeddings' cosine between each clip and its twin, and between their two captions
        # (1: the encoder maps both to the same point, blind to the factor).
        cosine = {side: float(np.mean(np.sum(_unit(x[k][:n]) * _unit(x[k][n:]), -1))) for side, x, k in (("video", both, "g"), ("text", both_caps, "g"))}
        twins.setdefault("diagnosis", {})[kind] = {"sides": twin_sides(list(zip(s_aa, s_ab, s_bb, s_ba))), "global_cosine": cosine}
        log(f"[{split}] {kind} twins: {twins[kind]:.1f} % over {n} pairs (text side {twins['diagnosis'][kind]['sides']['text']:.1f}; "
            f"global cosine of the twins: video {cosine['video']:.3f}, text {cosine['text']:.3f})")
    return result


def write_manifest_metrics(package: Path, results: dict) -> None:
    """Adds metrics.<split>.twins (motion / order / binding, %), .twin_pairs (counts), .ceilings and
    .restricted_retrieval (motion-only / order-only captions, t2v R@1) to the package's manifest. manifest.json is not among its own `files`, so no sha256 changes."""
    path = package / "manifest.json"
    manifest = json.loads(path.read_text())
    for split, res in results.items():
        m = manifest.setdefault("metrics", {}).setdefault(split, {})
        if all(k in res["twins"] for k in KINDS):
            m["twins"] = {k: res["twins"][k] for k in KINDS}  # % of comparisons won
        m["twin_pairs"] = res["twins"]["pairs"]
        m["ceilings"] = res["ceilings"]
        if "restricted_captions_t2v_R@1" in res:
            m["restricted_retrieval"] = {form: {"t2v": {"R@1": r1}} for form, r1 in res["restricted_captions_t2v_R@1"].items()}
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="synthclips folder (jsonl of train/test/comp, test/comp frame cache T8_64)")
    ap.add_argument("--package", default=None, help="model package whose graphs are scored (omit: ceilings only)")
    ap.add_argument("--splits", nargs="*", default=["test", "comp"])
    ap.add_argument("--seed", type=int, default=0, help="the benchmark's data seed")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="JSON report path")
    ap.add_argument("--write-manifest", action="store_true", help="record the figures in the package's manifest metrics")
    args = ap.parse_args(argv)
    data = Path(args.data)
    scorer = PackageScorer(Path(args.package), args.threads) if args.package else None
    train = load_records(data, "train")
    results = {s: evaluate_split(data, s, scorer, train, args.seed) for s in args.splits}
    text = json.dumps(results, indent=1)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    print(text)
    if args.write_manifest:
        if not args.package:
            raise SystemExit("--write-manifest needs --package")
        write_manifest_metrics(Path(args.package), results)
    return results


if __name__ == "__main__":
    main()
